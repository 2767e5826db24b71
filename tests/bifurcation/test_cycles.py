"""Cycle continuation: closed-form and independently computed references (fast tests).

References (all independent of collocation):
- Hopf normal form ż = (β + iω) z + σ z|z|² − z|z|⁴: cycle radius r² = (σ + sqrt(σ² + 4β))/2,
  period 2π/ω, radial multiplier exp(T·2r²(σ − 2r²)); LPC at β = −σ²/4, r² = σ/2.
- Van der Pol μ = 1: period 6.663286859323130 (published value, e.g. Strogatz's exercises and
  numerous references; here also recomputed by shooting in the mesh check).
- SNIC example θ' = μ − cos θ on the attracting circle r = 1: period 2π/sqrt(μ² − 1).
- Neimark–Sacker example (cycle_problems.ns_system): NS at β = c/γ, angle ω2·2π/ω1.
- Rössler (a = b = 0.2): first PD in c by the Poincaré return map alone (see
  cycle_problems.rossler_pd_reference; value recomputed in test_cycles_slow.py):
  c_PD = 2.8324450433683572 (`python -c "from cycle_problems import rossler_pd_reference as r;
  print(r())"` in tests/bifurcation, 28 s of CPU).
"""

import numpy as np
import pytest

from bifurcation import ODESystem, SpecialPoint
from bifurcation.cycles import OrbitGuess, continue_cycles, mesh_check
from bifurcation.cycles.collocation import Collocation
from simulate.validation import ParameterError

from .cycle_problems import (
    SHIFT,
    circle_guess,
    hopf_radius,
    hopf_system,
    ns_system,
    rossler_system,
    snic,
    vdp_system,
)

ROSSLER_PD_REFERENCE = 2.8324450433683572


class _Holder:
    def __init__(self, system):
        self.system = system


def _circle_guess(system, beta, sigma, omega):
    r = hopf_radius(beta, sigma)
    T = 2 * np.pi / omega
    t = np.linspace(0, T, 101)
    x = SHIFT + np.column_stack([r * np.cos(omega * t), r * np.sin(omega * t)])
    return OrbitGuess(system, t, x)


def test_hopf_normal_form_branch_matches_closed_form():
    sys_ = hopf_system(beta=0.5, omega=2.0, sigma=-1.0)
    br = continue_cycles(_circle_guess(sys_, 0.5, -1.0, 2.0), "beta", (0.05, 2.0), ntst=10,
                         max_points=60)
    assert br.kind == "PO" and br.success
    assert [e.reason for e in br.endpoints] == ["bound", "bound"]
    b = br.params["beta"]
    assert b.min() == pytest.approx(0.05, abs=1e-12) and b.max() == pytest.approx(2.0, abs=1e-12)
    r = hopf_radius(b, -1.0)
    assert np.max(np.abs(br.amplitude - 2 * r)) < 1e-5
    assert np.max(np.abs(br.periods - np.pi)) < 1e-5
    assert np.max(np.abs(br.state_max - (SHIFT + r[:, None]))) < 1e-5
    assert np.max(np.abs(br.states - SHIFT)) < 1e-5  # period means = centre
    T = np.pi
    mu_r = np.exp(T * 2 * r**2 * (-1.0 - 2 * r**2))
    assert np.max(np.abs(br.multipliers[:, 1].real - mu_r)) < 1e-5
    assert np.all(br.stable)
    assert br.data["trivial_multiplier_error"].max() < 1e-7
    t, x = br.orbit(3)
    assert t[0] == 0 and t[-1] == pytest.approx(br.periods[3])
    assert np.allclose(np.hypot(*(x - SHIFT).T), r[3], atol=1e-6)
    chk = mesh_check(br, len(br) // 2)
    assert chk.passed, chk.message


def test_hopf_start_subcritical_lpc_closed_form():
    sigma, omega = 0.8, 1.5
    sys_ = hopf_system(beta=0.0, omega=omega, sigma=sigma)
    # Kuznetsov's l1 for this system: (1/2ω) Re<p, C(q,q,q̄)> = 2σ/ω (with <q,q> = 1)
    hb = SpecialPoint("HB", dict(sys_.params), SHIFT.copy(),
                      {"omega": omega, "l1": 2 * sigma / omega}, _Holder(sys_))
    br = continue_cycles(hb, "beta", (-1.0, 0.5), ntst=10, max_points=80)
    hs = br.data["hopf_start"]
    # normal-form prediction of the first parameter shift, exact up to O(ε⁴)
    assert hs["dmu"] == pytest.approx(hs["dmu_predicted"], rel=1e-2)
    lpc = br.points("LPC")
    assert len(lpc) == 1
    assert lpc[0].params["beta"] == pytest.approx(-sigma**2 / 4, abs=1e-8)
    sol = lpc[0].data["solution"]
    rr = np.hypot(*(sol.U - SHIFT).T)
    assert np.allclose(rr, np.sqrt(sigma / 2), atol=1e-7)
    assert lpc[0].data["period"] == pytest.approx(2 * np.pi / omega, rel=1e-9)
    assert "multipliers" in lpc[0].data
    # unstable small cycles before the fold, stable large ones after
    i = lpc[0].index
    assert not br.stable[: i].any() and br.stable[i + 2:].all()
    assert br.endpoints[-1].reason == "bound"


def test_hopf_start_without_q_or_l1():
    sys_ = hopf_system(beta=0.0, omega=2.0, sigma=-1.0)
    hb = SpecialPoint("HB", dict(sys_.params), SHIFT.copy(), {}, _Holder(sys_))
    br = continue_cycles(hb, "beta", (-0.5, 0.3), ntst=8, max_points=40)
    b = br.params["beta"]
    assert np.all(b > 0)
    assert np.max(np.abs(br.amplitude - 2 * hopf_radius(b, -1.0))) < 1e-5
    assert br.endpoints[-1].reason == "bound"


def test_van_der_pol_period_published_and_shooting():
    s = vdp_system(1.0)
    g = OrbitGuess.from_simulation(s, [2.0, 0.0], 60.0)
    br = continue_cycles(g, "mu", (0.5, 3.0), ntst=30, max_points=40, ds=0.1)
    i = int(np.argmin(np.abs(br.params["mu"] - 1.0)))
    assert br.params["mu"][i] == 1.0  # the start
    assert br.periods[i] == pytest.approx(6.663286859323130, rel=1e-8)
    for k in (0, i, len(br) - 1):
        chk = mesh_check(br, k)
        assert chk.passed, chk.message


def test_van_der_pol_multipliers_liouville():
    """Product of multipliers = exp(∫ div f dt) (Liouville), div f = μ(1 − x²)."""
    s = vdp_system(3.0)
    g = OrbitGuess.from_simulation(s, [2.0, 0.0], 80.0)
    br = continue_cycles(g, "mu", (2.9, 3.0), ntst=40, max_points=3)
    sol = br.solutions[-1]
    c = Collocation(s, sol.mesh)
    uc, _ = c.at_gauss(sol.U)
    integral = sol.T * np.sum(sol.mesh.h[:, None] * c.w[None, :] * sol.p[0] * (1 - uc[..., 0] ** 2))
    prod = np.prod(br.multipliers[-1]).real
    assert prod == pytest.approx(np.exp(integral), rel=1e-6)
    # the trivial multiplier is 1 up to the discretisation error (NTST = 40, μ = 3)
    assert br.data["trivial_multiplier_error"][-1] < 1e-5
    assert mesh_check(br, len(br) - 1).passed


def test_snic_period_closed_form_and_period_endpoint():
    sn = ODESystem(snic, 2, {"mu": 1.5})
    g = OrbitGuess.from_simulation(sn, [1.0, 0.0], 60.0)
    br = continue_cycles(g, "mu", (1.0, 3.0), ntst=30, max_points=150, direction="backward",
                         period_max=30.0)
    m = br.params["mu"]
    assert np.max(np.abs(br.periods / (2 * np.pi / np.sqrt(m**2 - 1)) - 1)) < 1e-5
    assert br.endpoints[-1].reason == "period"
    assert br.success
    assert br.periods[-1] > 30.0


def test_neimark_sacker_closed_form():
    s, off = ns_system()
    br = continue_cycles(circle_guess(s, off, np.sqrt(0.3), 1.0), "beta", (0.2, 0.8), ntst=10,
                         max_points=60, direction="forward")
    ns = br.points("NS")
    assert len(ns) == 1
    assert ns[0].params["beta"] == pytest.approx(0.5, abs=1e-8)
    assert ns[0].data["theta"] == pytest.approx(0.37 * 2 * np.pi, abs=1e-7)
    assert ns[0].data["period"] == pytest.approx(2 * np.pi, rel=1e-7)  # NTST = 10: error ~1e-9
    assert not br.points("PD") and not br.points("LPC")
    i = ns[0].index
    assert br.stable[: i + 1].all() and not br.stable[i + 1:].any()


def test_rossler_first_period_doubling_and_doubled_branch():
    s = rossler_system(2.5)
    g = OrbitGuess.from_simulation(s, [1.0, 1.0, 0.0], 300.0)
    br = continue_cycles(g, "c", (2.5, 3.2), ntst=40, max_points=60, direction="forward",
                         ds=0.05)
    pd = br.points("PD")
    assert len(pd) == 1
    assert pd[0].params["c"] == pytest.approx(ROSSLER_PD_REFERENCE, abs=1e-4)
    mu = pd[0].data["multipliers"]
    assert np.min(np.abs(mu + 1)) < 1e-8
    assert pd[0].data["criticality"] == "supercritical"
    chk = mesh_check(pd[0], 0)
    assert chk.passed, chk.message
    # onto the doubled branch: period ≈ 2 T_PD near the PD point, stable just past it
    br2 = continue_cycles(pd[0], "c", (2.5, 3.2), max_points=15)
    assert br2.periods[0] == pytest.approx(2 * pd[0].data["period"], rel=1e-3)
    assert np.all(br2.params["c"] > pd[0].params["c"])
    assert br2.stable[1:4].all()


def test_bad_inputs_are_reported():
    sys_ = hopf_system()
    g = _circle_guess(sys_, 0.5, -1.0, 2.0)
    with pytest.raises(ParameterError, match="param"):
        continue_cycles(g, "nope", (0, 1))
    with pytest.raises(ParameterError, match="bounds"):
        continue_cycles(g, "beta", (1.0, 0.0))
    with pytest.raises(ParameterError, match="beta"):
        continue_cycles(g, "beta", (0.6, 1.0))
    with pytest.raises(ParameterError, match="ntst"):
        continue_cycles(g, "beta", (0.1, 1.0), ntst=0)
    with pytest.raises(ParameterError, match="unknown setting"):
        continue_cycles(g, "beta", (0.1, 1.0), dss=0.1)
    with pytest.raises(ParameterError, match="HB"):
        continue_cycles(SpecialPoint("LP", {}, np.zeros(2)), "beta", (0, 1))
    with pytest.raises(ParameterError, match="shape"):
        OrbitGuess(sys_, np.arange(10.0), np.zeros((10, 3)))


def test_floquet_sparse_path_stiff_closed_form():
    """40 states: Hopf NF cycle plus 38 linear decaying states z_i' = −k_i (z_i − c_i),
    k_i from 0.05 to 50 (stiff). Multipliers: exp(−k_i T) and the radial one, exactly;
    the Jacobian is 5 % full, so the sparse per-interval path is used."""
    k = np.logspace(np.log10(0.05), np.log10(50.0), 38)
    cz = np.linspace(-1, 1, 38)

    def f(x, p):
        return np.concatenate([hopf_system().rhs_func(x[:2], p), -k * (x[2:] - cz)])

    sys_ = ODESystem(f, 40, {"beta": 0.5, "omega": 2.0, "sigma": -1.0})
    r = hopf_radius(0.5, -1.0)
    t = np.linspace(0, np.pi, 101)
    x = np.tile(np.concatenate([SHIFT, cz]), (len(t), 1))
    x[:, 0] += r * np.cos(2 * t)
    x[:, 1] += r * np.sin(2 * t)
    br = continue_cycles(OrbitGuess(sys_, t, x), "beta", (0.45, 0.5), ntst=10, max_points=3,
                         direction="backward")
    T = np.pi
    for i in range(len(br)):
        b = br.params["beta"][i]
        rr = hopf_radius(b, -1.0)
        exact = np.sort(np.concatenate([np.exp(-k * T), [np.exp(T * 2 * rr**2 * (-1 - 2 * rr**2)),
                                                         1.0]]))[::-1]
        mu = br.multipliers[i]
        assert np.max(np.abs(mu.imag)) < 1e-8
        big = exact > 1e-3
        assert np.allclose(np.sort(mu.real)[::-1][big], exact[big], rtol=1e-6, atol=1e-9)
        assert br.data["trivial_multiplier_error"][i] < 1e-8


def test_condensed_linear_solver_matches_sparse_and_closed_form():
    """Condensation of parameters gives the same Newton steps as the sparse LU."""
    import scipy.sparse.linalg as spla

    from bifurcation.cycles.collocation import uniform_mesh
    from bifurcation.cycles.solver import _condensed, _matrix

    s = rossler_system(2.5)
    c = Collocation(s, uniform_mesh(7, 4), 2)
    rng = np.random.default_rng(1)
    U = np.array([1.0, 1.0, 0.0]) + 0.3 * rng.standard_normal((c.M, 3))
    _, F = c.residual(U, 6.0, s.p0)
    last = rng.standard_normal(U.size + 2)
    ph = c.phase_row(U + 0.1)
    K, _ = _matrix(c, U, 6.0, s.p0, 2, ph, last, F)
    b = rng.standard_normal(U.size + 2)
    x_sparse = spla.splu(K).solve(b)
    x_cond = _condensed(c, U, 6.0, s.p0, 2, ph, last, F).solve(b)
    assert np.allclose(x_cond, x_sparse, rtol=1e-10, atol=1e-12)
    sys_ = hopf_system(beta=0.5, omega=2.0, sigma=-1.0)
    br = continue_cycles(_circle_guess(sys_, 0.5, -1.0, 2.0), "beta", (0.3, 0.7), ntst=8,
                         max_points=20, linear_solver="condensed")
    r = hopf_radius(br.params["beta"], -1.0)
    assert np.max(np.abs(br.amplitude - 2 * r)) < 1e-5
    assert np.max(np.abs(br.periods - np.pi)) < 1e-5


def test_blas_threads_are_limited_during_the_run(monkeypatch):
    """The run holds BLAS at ``blas_threads`` threads (threaded BLAS on a busy machine made
    the gamma case's cycle branch ~10x more expensive); the limit is lifted afterwards."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import bifurcation.cycles.continuation as cc

    seen = []
    real = cc.continue_from_solution

    def spy(*args, **kwargs):
        seen.append([d["num_threads"] for d in threadpoolctl.threadpool_info()
                     if d.get("user_api") == "blas"])
        return real(*args, **kwargs)

    monkeypatch.setattr(cc, "continue_from_solution", spy)
    sys_ = hopf_system()
    g = _circle_guess(sys_, 0.5, -1.0, 2.0)
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        before = [d["num_threads"] for d in threadpoolctl.threadpool_info()
                  if d.get("user_api") == "blas"]
        br = continue_cycles(g, "beta", (0.1, 1.0), max_points=2)
        after = [d["num_threads"] for d in threadpoolctl.threadpool_info()
                 if d.get("user_api") == "blas"]
    assert before == [2] * len(before) and seen and seen[0]
    assert all(n == 1 for n in seen[0])
    assert after == before
    assert br.settings["blas_threads"] == 1
    with pytest.raises(ParameterError, match="blas_threads"):
        continue_cycles(g, "beta", (0.1, 1.0), blas_threads=0)
