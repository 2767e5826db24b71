"""Brunel (models.md §5) and balanced binary (§7) mean-field theories."""

from __future__ import annotations

import numpy as np
import pytest

from reduce.meanfield.binary import BinaryBalancedTheory
from reduce.meanfield.brunel import BrunelTheory
from reduce.meanfield.siegert import siegert_rate
from simulate.validation import ParameterError


def test_brunel_mu_sigma_closed_form():
    th = BrunelTheory(g=5.0, eta=2.0)
    assert th.nu_thr == pytest.approx(10.0, rel=1e-15)       # θ/(J C_E τ) = 20/(0.1·1000·20)/ms
    nu = 20.0
    mu, sig = th.mu_sigma(nu)
    # μ = C_E J τ[ν_ext + ν(1 − gγ)], σ² = J² C_E τ[ν_ext + ν(1 + g²γ)]  (rates per ms)
    assert mu == pytest.approx(1000 * 0.1 * 20 * (0.02 + 0.02 * (1 - 1.25)), rel=1e-14)
    assert sig**2 == pytest.approx(0.01 * 1000 * 20 * (0.02 + 0.02 * (1 + 6.25)), rel=1e-14)
    fp = th.self_consistent()
    assert fp.n == 1 and fp.stable[0]
    nu = fp.rates_hz[0]
    mu, sig = th.mu_sigma(nu)
    assert 1000 * siegert_rate(mu, sig) == pytest.approx(nu, rel=1e-10)


def test_brunel_linear_limit_approached_at_large_g_eta_and_small_noise():
    # ν ≈ (ν_ext − ν_thr)/(gγ − 1) needs the mean input at threshold to within a gap that is
    # small against (η − 1)θ: the relative error is ≈ (μ − θ)/((η − 1)θ) with μ − θ ~ σ.
    # Along g = 4η (ν_lim = 10 Hz fixed), J = 0.1/s, C_E = 1000 s (σ ∝ s^{-1/2}) it vanishes:
    # measured 0.30, 0.055, 0.013, 0.0034. (At fixed J, C_E the error stays ≈ 0.23 because
    # σ grows ∝ η: see docs/meanfield.md.)
    errs = []
    for s, eta in ((1, 2.0), (10, 4.0), (100, 8.0), (1000, 16.0)):
        th = BrunelTheory(g=4 * eta, eta=eta, J=0.1 / s, C_E=1000.0 * s)
        assert th.linear_limit() == pytest.approx(10.0, rel=1e-12)
        fp = th.self_consistent()
        errs.append(abs(fp.rates_hz[0] / th.linear_limit() - 1))
    assert np.all(np.diff(errs) < 0) and errs[-1] < 0.01


def test_brunel_one_and_two_population_agree():
    th = BrunelTheory(g=6.0, eta=3.0)
    fp = th.self_consistent()
    two = th.two_population_fixed_point()
    assert two["status"] == "ok"
    assert two["rates_hz"]["E"] == pytest.approx(fp.rates_hz[0], rel=1e-9)
    assert two["rates_hz"]["I"] == pytest.approx(fp.rates_hz[0], rel=1e-9)
    # differing inhibition onto I: I fires less than E
    t2 = th.with_params(g_I=6.5).two_population_fixed_point()
    assert t2["status"] == "ok" and t2["rates_hz"]["I"] < t2["rates_hz"]["E"]
    ode = th.ode()
    assert abs(ode.rhs(fp.rates_hz)[0]) < 1e-8


def test_brunel_bad_input():
    with pytest.raises(ParameterError, match="v_r"):
        BrunelTheory(v_r=30.0)
    with pytest.raises(ParameterError, match="g\\*gamma"):
        BrunelTheory(g=3.0).linear_limit()
    with pytest.raises(ParameterError, match="J = 0"):
        BrunelTheory(J=0.0)


def test_binary_balanced_solution_and_finite_K_convergence():
    th = BinaryBalancedTheory()
    b = th.balanced()
    # closed form of models.md §7 with E=1, I=0.8, J_E=2, J_I=1.8, m0=0.1
    assert b["E"] == pytest.approx((1 * 1.8 - 0.8 * 2) * 0.1 / 0.2, rel=1e-14)
    assert b["I"] == pytest.approx((1 - 0.8) * 0.1 / 0.2, rel=1e-14)
    errs = []
    Ks = [1e3, 1e4, 1e5, 1e6, 1e7]
    for K in Ks:
        fp = th.with_params(K=K).fixed_point()
        assert fp["status"] == "ok"
        errs.append(abs(fp["m"]["E"] - b["E"]) + abs(fp["m"]["I"] - b["I"]))
    # deviation O(1/sqrt(K)): the slope of log err vs log K is close to -1/2
    slope = np.polyfit(np.log(Ks), np.log(errs), 1)[0]
    assert -0.6 < slope < -0.4


def test_binary_no_balanced_state_is_an_error():
    with pytest.raises(ParameterError, match="no balanced state"):
        BinaryBalancedTheory(E=0.5, I=0.8).balanced()
    with pytest.raises(ParameterError, match="m0"):
        BinaryBalancedTheory(m0=0.0)


def test_brunel_ode_continues_with_the_bifurcation_engine():
    # the ODE's equilibria along eta (continuation) equal the scan + Brent solutions
    import bifurcation

    th = BrunelTheory(g=6.0, eta=2.0)
    ode = th.ode()
    nu0 = th.self_consistent().rates_hz[0]
    br = bifurcation.continue_equilibria(ode, np.array([nu0]), param="eta", bounds=(2.0, 4.0),
                                         max_points=200)
    etas = br.params["eta"]
    assert etas.max() > 3.9
    for k in np.linspace(0, etas.size - 1, 5).astype(int):
        ref = th.with_params(eta=float(etas[k])).self_consistent().rates_hz[0]
        assert br.states[k, 0] == pytest.approx(ref, rel=1e-6)
    assert np.all(br.stable)


def test_binary_fast_tracking_relaxation_scales_with_sqrt_K():
    # balanced state: relaxation rates grow like √K (van Vreeswijk & Sompolinsky's fast
    # tracking); measured ratio of the slowest rate between K = 1e6 and 1e4: 10.3 (√100 = 10)
    th = BinaryBalancedTheory()
    f4 = th.with_params(K=1e4).fixed_point()
    f6 = th.with_params(K=1e6).fixed_point()
    assert f4["stable"] and f6["stable"]
    r = np.max(f6["eigenvalues"].real) / np.max(f4["eigenvalues"].real)
    assert 9.0 < r < 11.5
