"""Markov approximation (models.md §2): bins, bookkeeping, closures, derivatives, consistency.

References used here are independent of the compiled kernels: numerical quadrature of the
closure convolutions, a vectorised NumPy/SciPy implementation of the field (``field_numpy``)
and its complex-step Jacobian, fourth-order finite differences, and Euler-convergence theory.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import norm

import reduce
import simulate
from bifurcation.system import ODESystem
from reduce.markov_approx.bins import default_edges, make_layout
from reduce.markov_approx.closure import lobatto, row_maxent, row_uniform_widest
from reduce.markov_approx.map import field_numpy, map_run, step_numpy
from simulate.validation import ParameterError


@pytest.fixture(scope="module")
def ma():
    return reduce.MarkovApproximation()


def random_state(ma, rng, occ=(0.0, 10.0), rel=0.95, mom=(0.0, 3.0)):
    """Admissible random ODE state: n >= 0, |Z_k| <= rel * n_k * width_k / 2."""
    lay = ma.layout
    x = np.zeros(lay.n_ode)
    for q in range(lay.P):
        n = rng.uniform(*occ, lay.K)
        x[lay.occ(q)] = n
        x[lay.ztot(q)] = n * rng.uniform(-rel, rel, lay.K) * 0.5 * ma.bins.widths
        for r in range(lay.P):
            x[lay.mom(q, r)] = rng.uniform(*mom)
            x[lay.mom(q, r) + 1] = rng.uniform(*mom)
    return x


def extreme_states(ma, rng):
    """Random and extreme states: large / tiny kick variance, means at edges and midpoints,
    near-empty bins (n = 1e-6 ε .. 100 ε, around the regularisation ε = ``ma.eps``)."""
    lay = ma.layout
    out = {"random": random_state(ma, rng)}
    x = random_state(ma, rng, mom=(50.0, 400.0))
    out["large-variance"] = x
    x = random_state(ma, rng, mom=(0.0, 1e-12))
    out["tiny-kicks"] = x
    # regularised in-bin means at the edges: V̄ - c = ±(1 - δ)·width/2 with δ = 1e-14..1e-10
    # (just inside the closure's clamp at 1 - 1e-15), i.e. Z = (V̄ - c)(n² + ε²)/n; this
    # places the mean at the edge whatever ε is (Z = ±n·width/2 would leave it a relative
    # ε²/n² inside)
    x = random_state(ma, rng, occ=(0.1, 10.0))
    for q in range(lay.P):
        n = x[lay.occ(q)]
        rel = (1.0 - 10.0 ** rng.uniform(-14, -10, lay.K)) * np.where(
            np.arange(lay.K) % 2, 1.0, -1.0)
        x[lay.ztot(q)] = rel * 0.5 * ma.bins.widths * (n * n + ma.eps ** 2) / n
    out["means-at-edges"] = x
    x = random_state(ma, rng)
    for q in range(lay.P):
        x[lay.ztot(q)] = 0.0
    out["means-at-midpoints"] = x
    x = random_state(ma, rng)
    for q in range(lay.P):
        n = x[lay.occ(q)]
        lg = np.log10(ma.eps)
        n[::3] = 10.0 ** rng.uniform(lg - 6, lg + 2, len(n[::3]))
        x[lay.occ(q)] = n
        x[lay.ztot(q)] = n * rng.uniform(-0.9, 0.9, lay.K) * 0.5 * ma.bins.widths
    out["near-empty"] = x
    return out


# ----------------------------------------------------------------------------- bins
def test_default_layout_matches_published():
    e = default_edges(100.0, 66.0)
    assert len(e) == 36  # 35 bins
    assert e[0] == -66.0 and e[1] == -36.0 and e[-1] == 100.0
    assert np.allclose(np.diff(e[1:]), 4.0)
    lay = make_layout(None, 100.0, 66.0)
    assert lay.reset_bin == int(np.flatnonzero(e == 0.0)[0])  # reset at lower edge of [0, 4)


def test_coarse_layouts_work():
    net = simulate.MarkovIFNetwork()
    for edges in ([-66.0, 0.0, 100.0], [-66.0, 0.0, 50.0, 90.0, 100.0]):
        ma = reduce.MarkovApproximation(net, bins=edges)
        ode = ma.ode()
        assert ode.n_states == 2 * 2 * (len(edges) - 1) + 8
        x = ma.initial_state()
        f = ode.rhs(x)
        assert np.all(np.isfinite(f))
        Pm, _ = ma.transitions(random_state(ma, np.random.default_rng(0)))
        assert np.max(np.abs(Pm.sum(-1) - 1.0)) <= 1e-14


@pytest.mark.parametrize("edges, what", [
    ([-60.0, 0.0, 100.0], "-M_r"),
    ([-66.0, 0.0, 90.0], "threshold"),
    ([-66.0, 10.0, 0.0, 100.0], "strictly increasing"),
    ([-66.0, 100.0], "at least 3 edges"),
    ([-66.0, np.nan, 100.0], "finite"),
])
def test_bad_layout_errors(edges, what):
    with pytest.raises(ParameterError, match=what):
        reduce.MarkovApproximation(bins=edges)


@pytest.mark.parametrize("h", [0.0, -0.1, float("nan")])
def test_bad_horizon(h):
    with pytest.raises(ParameterError, match="h"):
        reduce.MarkovApproximation(h=h)


def test_bad_choices():
    with pytest.raises(ParameterError, match="variance"):
        reduce.MarkovApproximation(variance="white")
    with pytest.raises(ParameterError, match="closure"):
        reduce.MarkovApproximation(closure="gauss")
    with pytest.raises(ParameterError, match="p_ei"):
        reduce.MarkovApproximation().param_vector({"p_ei": 1.5})
    with pytest.raises(ParameterError, match="unknown parameter"):
        reduce.MarkovApproximation().param_vector({"p_xx": 0.5})


def test_nonfinite_state_rejected(ma):
    ode = ma.ode()
    x = ma.initial_state()
    x[3] = np.nan
    with pytest.raises(ParameterError, match=r"E\.n\[3\].*not finite"):
        ode.rhs(x)
    x[3] = np.inf
    with pytest.raises(ParameterError, match="not finite"):
        ode.jacobian(x)
    with pytest.raises(ParameterError, match="shape"):
        ode.rhs(np.zeros(10))


# ----------------------------------------------------------------------------- closures
@pytest.mark.parametrize("vrel, mu, sigma", [(0.3, 0.7, 0.9), (-1.9, 2.0, 3.0), (1.2, -1.0, 0.5)])
def test_uniform_widest_closure_vs_quadrature(vrel, mu, sigma):
    """Closed form of the published closure against direct numerical integration."""
    edges = default_edges()
    k = 20
    a, b = edges[k], edges[k + 1]
    c, eta = 0.5 * (a + b), 0.5 * (b - a)
    lo, hi = (-eta, 2 * vrel + eta) if vrel <= 0 else (2 * vrel - eta, eta)
    C = np.empty(len(edges))
    G = np.empty(len(edges))
    row_uniform_widest(edges, k, vrel, mu, sigma, C, G)
    for e in range(k - 4, k + 6):
        y = edges[e] - c
        ref_C = integrate.quad(lambda u, y=y: norm.cdf((y - u - mu) / sigma), lo, hi,
                               epsabs=1e-13, epsrel=1e-12)[0] / (hi - lo)
        # E[(Y - c) 1{Y<e}] = ∫ [(u+μ)Φ(z) - σφ(z)] du/(hi-lo)
        ref_G = integrate.quad(lambda u, y=y: (u + mu) * norm.cdf((y - u - mu) / sigma)
                               - sigma * norm.pdf((y - u - mu) / sigma), lo, hi,
                               epsabs=1e-13, epsrel=1e-12)[0] / (hi - lo)
        assert C[e] == pytest.approx(ref_C, abs=1e-12)
        assert G[e] == pytest.approx(ref_G, abs=1e-11)


def test_maxent_closure_mean_and_sums():
    """Lobatto weights, the closure mean, and C/G against a direct sum over the nodes."""
    s, b = lobatto(5)
    assert np.allclose(s, [-1, -np.sqrt(3 / 7), 0, np.sqrt(3 / 7), 1])
    assert np.allclose(b * 180, [9, 49, 64, 49, 9])  # (1/10, 49/90, 32/45, ...) / 2
    edges = default_edges()
    k, vrel, mu, sigma = 17, -1.3, 0.8, 1.1
    C = np.empty(36)
    G = np.empty(36)
    dC = np.zeros((36, 3))
    dG = np.zeros((36, 3))
    row_maxent(edges, k, vrel, mu, sigma, s, b, True, C, G, dC, dG)
    eta = 2.0
    # weights ∝ β exp(θ s) with mean vrel: solve with brentq independently
    from scipy.optimize import brentq

    def mean(th):
        w = b * np.exp(th * s)
        return (w * s).sum() / w.sum() * eta - vrel
    th = brentq(mean, -50, 50, xtol=1e-15)
    w = b * np.exp(th * s)
    w /= w.sum()
    c = 0.5 * (edges[k] + edges[k + 1])
    for e in range(36):
        z = (edges[e] - c - eta * s - mu) / sigma
        assert C[e] == pytest.approx((w * norm.cdf(z)).sum(), abs=1e-13)
        assert G[e] == pytest.approx((w * ((eta * s + mu) * norm.cdf(z)
                                           - sigma * norm.pdf(z))).sum(), abs=1e-12)


# ----------------------------------------------------------------------------- bookkeeping
@pytest.mark.parametrize("closure", ["maxent", "uniform-widest"])
@pytest.mark.parametrize("variance", ["published", "shot-noise"])
def test_rows_sum_to_one_and_stay_in_range(closure, variance):
    ma = reduce.MarkovApproximation(closure=closure, variance=variance)
    rng = np.random.default_rng(3)
    for name, x in extreme_states(ma, rng).items():
        Pm, Dm = ma.transitions(x)
        err = np.max(np.abs(Pm.sum(-1) - 1.0))
        assert err <= 1e-14, (name, err)
        assert Pm.min() >= -1e-15, name
        # partial means lie inside the destination bin: |D_kj| <= P_kj * width_j / 2
        half = 0.5 * ma.bins.widths
        excess = np.abs(Dm) - Pm[:, :, :-1] * half[None, None, :]
        # round-off budget: the uniform closed form G = σ/(r-l)[A(z_l) - A(z_r)] cancels
        # terms |A| ~ |y||z| <= ~100 σ for edges inside the ±10σ window, amplified by
        # σ/(r-l) <= ~10 (|V̄ - c| <= 0.95 η): ~1000 ulp × max(1, σ²);
        # σ² bounded by λh + Σ h S² (s/τ² + m/τ + h s/τ²) with g <= 1
        a = ma.network_arrays()
        v = ma.state_view(x)
        sig2 = max(a["lam"][q] * 0.1 + sum(
            0.1 * a["S"][q, r] ** 2 * (v[pq + pr].kick_var / a["tau"][q, r] ** 2
                                       + v[pq + pr].kick_mean / a["tau"][q, r]
                                       + 0.1 * v[pq + pr].kick_var / a["tau"][q, r] ** 2)
            for r, pr in enumerate("EI")) for q, pq in enumerate("EI"))
        assert excess.max() <= 1000 * 2.2e-16 * max(1.0, sig2), (name, excess.max())


def test_tiny_variance_rows():
    """lam -> small: σ² ≈ λh tiny, rows still sum to 1 and move mass by about μ."""
    ma = reduce.MarkovApproximation({"lam": 1e-6})
    rng = np.random.default_rng(4)
    x = random_state(ma, rng, mom=(0.0, 1e-9))
    Pm, _ = ma.transitions(x)
    assert np.max(np.abs(Pm.sum(-1) - 1.0)) <= 1e-14
    assert Pm.min() >= -1e-15


def test_drop_mass_loses_exactly_the_mass_below_reversal(ma):
    x = random_state(ma, np.random.default_rng(5), mom=(0.0, 400.0))
    Pc, _ = ma.transitions(x)
    Pd, _ = ma.transitions(x, drop_mass=True)
    lost = 1.0 - Pd.sum(-1)
    assert lost.min() >= -1e-15
    assert np.allclose(lost, Pc[:, :, 0] - Pd[:, :, 0], atol=1e-15)
    assert lost.max() > 1e-6  # a large inhibitory variance pushes mass below -M_r


def test_map_conserves_neurons_1e5_steps_coarse():
    """1e5 map steps (coarse 8-bin layout, fast) keep N to round-off; drop_mass does not."""
    edges = [-66.0, -36.0, 0.0, 20.0, 40.0, 60.0, 80.0, 90.0, 100.0]
    ma = reduce.MarkovApproximation(bins=edges)
    x0 = ma.to_map_state(ma.initial_state())
    N = ma.spec.sizes.astype(float)
    p = ma.param_vector()
    for closure in ("uniform-widest", "maxent"):
        xe, flux, _ = map_run(x0, p, 100_000, 0.1, False, *ma.kernel_arrays(closure), 100_000)
        v = ma.state_view(xe)
        tot = np.array([v[q].occupancy.sum() + v[q].refractory for q in ("E", "I")])
        # round-off: ~1e5 steps x eps x N (random-walk growth gives much less)
        assert np.max(np.abs(tot - N) / N) <= 1e5 * 2.2e-16, tot - N
        assert flux[-1000:].mean() > 0
    # the released code's dropped mass: with strong inhibition mass falls below -M_r and is
    # lost (E loses neurons), while the default clamps it
    ms = reduce.MarkovApproximation({"s_ei": 30.0, "p_ei": 1.0}, bins=edges)
    xs = ms.to_map_state(ms.initial_state())
    ps = ms.param_vector()
    lost = []
    for drop in (False, True):
        xe, _, _ = map_run(xs, ps, 5000, 0.1, drop, *ms.kernel_arrays("uniform-widest"), 5000)
        v = ms.state_view(xe)
        lost.append(300.0 - (v.E.occupancy.sum() + v.E.refractory))
    assert abs(lost[0]) <= 1e-10 and lost[1] > 1e-3, lost


def test_numba_field_matches_numpy(ma):
    rng = np.random.default_rng(6)
    ode = ma.ode()
    for name, x in extreme_states(ma, rng).items():
        f = ode.rhs(x)
        g, _ = field_numpy(ma, x)
        assert np.max(np.abs(f - g)) <= 1e-11 * max(1.0, np.abs(f).max()), name
    mu = reduce.MarkovApproximation(closure="uniform-widest")
    xm = mu.to_map_state(random_state(mu, rng))
    a, _, _ = map_run(xm, mu.param_vector(), 1, 0.1, False, *mu.kernel_arrays(), 1)
    b = step_numpy(mu, xm)
    assert np.max(np.abs(a - b)) <= 1e-11 * np.abs(b).max()


# ----------------------------------------------------------------------------- derivatives
def complex_step_jacobian(ma, x, p=None):
    n = len(x)
    J = np.zeros((n, n))
    for j in range(n):
        d = 1e-30 * max(1.0, abs(x[j]))
        xc = x.astype(complex)
        xc[j] += 1j * d
        J[:, j] = field_numpy(ma, xc, p)[0].imag / d
    return J


@pytest.mark.parametrize("which", ["random", "large-variance", "means-at-edges",
                                   "near-empty"])
def test_jacobian_vs_complex_step(ma, which):
    """Analytic Jacobian vs complex-step derivative of the independent NumPy field."""
    x = extreme_states(ma, np.random.default_rng(7))[which]
    ode = ma.ode()
    J = ode.jacobian(x)
    Jc = complex_step_jacobian(ma, x)
    assert np.linalg.norm(J - Jc) / np.linalg.norm(J) <= 1e-7


def test_jacobian_vs_fd4_shot_noise():
    """Shot-noise variance: analytic Jacobian vs 4th-order central differences of rhs."""
    ma = reduce.MarkovApproximation(variance="shot-noise")
    ode = ma.ode()
    x = random_state(ma, np.random.default_rng(8), occ=(1.0, 10.0))
    J = ode.jacobian(x)
    n = len(x)
    Jr = np.zeros((n, n))
    for j in range(n):
        hh = 1e-3 * max(1.0, abs(x[j]))
        e = np.zeros(n)
        e[j] = hh
        Jr[:, j] = (-ode.rhs(x + 2 * e) + 8 * ode.rhs(x + e) - 8 * ode.rhs(x - e)
                    + ode.rhs(x - 2 * e)) / (12 * hh)
    assert np.linalg.norm(J - Jr) / np.linalg.norm(J) <= 1e-7


def test_three_populations():
    net = simulate.MarkovIFNetwork(topology="two-assembly", p_ee_x=0.1, s_ee_x=0.5)
    ma = reduce.MarkovApproximation(net)
    ode = ma.ode()
    assert ode.n_states == 2 * 3 * 35 + 2 * 9
    assert {"rate_E1", "rate_E2", "rate_I", "rate_E"} <= set(ode.outputs)
    assert "p_ee_x" in ode.param_index and "s_ee_x" in ode.param_index
    x = random_state(ma, np.random.default_rng(9))
    Pm, _ = ma.transitions(x)
    assert np.max(np.abs(Pm.sum(-1) - 1.0)) <= 1e-14
    J = ode.jacobian(x)
    Jc = complex_step_jacobian(ma, x)
    assert np.linalg.norm(J - Jc) / np.linalg.norm(J) <= 1e-7


# ----------------------------------------------------------------------------- system
def test_ode_system_contract(ma):
    ode = ma.ode()
    assert isinstance(ode, ODESystem)
    assert ode.n_states == 148
    for k in ("p_ei", "s_ee", "tau_ee", "lam", "h", "tau_r", "p_ii", "s_ei", "tau_m"):
        assert k in ode.param_index
    x = random_state(ma, np.random.default_rng(10), occ=(1, 10))
    f0 = ode.rhs(x)
    f1 = ode.with_params(p_ei=0.95).rhs(x)
    assert not np.allclose(f0, f1)
    # rates output = 1000 F / N, F = Σ n_k P_fire / h
    Pm, _ = ma.transitions(x)
    v = ma.state_view(x)
    F = (v.E.occupancy * Pm[0, :, -1]).sum() / 0.1
    assert ode.eval_outputs(x)["rate_E"] == pytest.approx(1000 * F / 300, rel=1e-12)
    assert ode.state_names[0] == "E.n[0]" and ode.state_names[-1] == "II.s"


def test_state_view(ma):
    x = random_state(ma, np.random.default_rng(11))
    v = ma.state_view(x)
    assert np.array_equal(v.E.occupancy, x[:35])
    assert v["EI"].kick_mean == x[ma.layout.mom(0, 1)]
    assert v["IE"].kick_var == x[ma.layout.mom(1, 0) + 1]
    W = v.I.voltage_total
    assert np.allclose(W, v.I.centred_total + ma.bins.centres * v.I.occupancy)
    assert v.E.refractory == pytest.approx(300 - x[:35].sum())
    m = v.E.mean_voltage
    assert np.all((m >= ma.bins.edges[:-1] - 1e-9) & (m <= ma.bins.edges[1:] + 1e-9))
    with pytest.raises(KeyError):
        v["X"]


def test_variance_choices_formulae():
    """σ² of the two variance choices against the formulas of models.md §2."""
    from reduce.markov_approx.transitions import input_moments

    for variance in ("published", "shot-noise"):
        ma = reduce.MarkovApproximation(variance=variance)
        a = ma.network_arrays()
        mom = np.array([[[2.0, 3.0], [1.5, 4.0]], [[0.5, 0.7], [0.2, 0.1]]])
        vbar = 17.0
        mu, sig, _, _ = input_moments(vbar, 0, mom, a["lam"], a["S"], a["tau"],
                                      ma.spec.excitatory, 0.1, 0.0, 100.0, 66.0,
                                      0 if variance == "published" else 1)
        h, g = 0.1, (vbar + 66) / 166
        S, tau = a["S"][0], a["tau"][0]
        mu_ref = 7 * h + h * S[0] * 2.0 / tau[0] - h * g * S[1] * 1.5 / tau[1]
        if variance == "published":
            v_ref = 7 * h + h * S[0]**2 * 3.0 / tau[0]**2 + h * g**2 * S[1]**2 * 4.0 / tau[1]**2
        else:
            v_ref = (7 * h + h * S[0]**2 * 2.0 / tau[0] + h**2 * S[0]**2 * 3.0 / tau[0]**2
                     + g**2 * (h * S[1]**2 * 1.5 / tau[1] + h**2 * S[1]**2 * 4.0 / tau[1]**2))
        assert mu == pytest.approx(mu_ref, rel=1e-14)
        assert sig**2 == pytest.approx(v_ref, rel=1e-14)


# ----------------------------------------------------------------------------- consistency
def test_euler_substeps_converge_to_ode_first_order():
    """m Euler sub-steps of h/m (construction at horizon h fixed) -> ODE(h), error ∝ 1/m."""
    from scipy.integrate import solve_ivp

    ma = reduce.MarkovApproximation()
    ode = ma.ode()
    p = ma.param_vector()
    res = ma.simulate(40.0, form="map", closure="maxent")  # a state inside the dynamics
    x0 = res.x[-1][: ma.layout.n_ode].copy()
    T = 1.0
    ref = solve_ivp(lambda t, y: ode.rhs_func(y, p), (0, T), x0, method="DOP853",
                    rtol=1e-12, atol=1e-12).y[:, -1]
    errs = []
    ms = [1, 2, 4, 8, 16]
    for m in ms:
        dt = 0.1 / m
        xe, _, _ = map_run(ma.to_map_state(x0), p, int(round(T / dt)), dt, False,
                           *ma.kernel_arrays("maxent"), 10**9)
        errs.append(np.linalg.norm(xe[: ma.layout.n_ode] - ref))
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    # first order: error halves with m doubled (ratio -> 2 as m grows)
    assert np.all(ratios[-2:] > 1.8) and np.all(ratios[-2:] < 2.2), (errs, ratios)


def test_equilibrium_newton_quadratic_and_jacobian_regular():
    """Newton with the analytic Jacobian from the map's time average converges quadratically
    to the (unstable) equilibrium at the defaults; its Jacobian is regular (reduced
    coordinates remove the conservation-law zero eigenvalue)."""
    ma = reduce.MarkovApproximation()
    ode = ma.ode()
    p = ode.p0
    res = ma.simulate(200.0, form="map", closure="maxent")
    x = res.x[500:, : ma.layout.n_ode].mean(0)
    norms = []
    for _ in range(25):
        f = ode.rhs(x, p)
        norms.append(np.linalg.norm(f))
        if norms[-1] < 1e-9:
            break
        dx = np.linalg.solve(ode.jacobian(x, p), -f)
        lam = 1.0
        while lam > 1e-4:
            xn = x + lam * dx
            if np.linalg.norm(ode.rhs(xn, p)) < (1 - 0.1 * lam) * norms[-1]:
                break
            lam /= 2
        x = xn
    assert norms[-1] < 1e-9, norms
    # quadratic convergence: once below 1e-2, each residual is at most ~r² (C = 10)
    r = [v for v in norms if v < 1e-2]
    assert len(r) >= 2 and all(b <= max(10.0 * a * a, 1e-9) for a, b in zip(r, r[1:])), norms
    J = ode.jacobian(x, p)
    sv = np.linalg.svd(J, compute_uv=False)
    assert sv[-1] > 1e-6 * sv[0], sv[-3:]
    # the full-coordinate system (with R) would have a zero eigenvalue per population;
    # here the equilibrium is isolated: all occupancies >= 0 and rates positive
    v = ma.state_view(x)
    assert v.E.occupancy.min() > -1e-9 and v.I.occupancy.min() > -1e-9
    rates = ma.rates_hz(x)
    assert 1.0 < rates["E"] < rates["I"] < 200.0


def test_fast_flux_matches_full_construction():
    for closure in ("maxent", "uniform-widest"):
        ma = reduce.MarkovApproximation(closure=closure)
        rng = np.random.default_rng(12)
        for name, x in extreme_states(ma, rng).items():
            Pm, _ = ma.transitions(x)
            v = ma.state_view(x)
            F = np.array([(v[q].occupancy * Pm[i, :, -1]).sum() / 0.1
                          for i, q in enumerate("EI")])
            assert np.allclose(ma.flux(x), F, rtol=1e-12, atol=1e-12), name
