"""Attractor census, Lyapunov exponents: checks against closed forms and published values."""

import numpy as np
import pytest
from numba import njit

from bifurcation import ODESystem
from bifurcation.attractors import BoxSampler, attractor_census, wilson_interval
from bifurcation.lyapunov import largest_lyapunov_exponent


def _bistable(x, p):
    # x' = (x - c)(1 - (x - c)^2), y' = -(y - c): stable equilibria at x = c +- 1, y = c.
    c = p[0]
    u = x[0] - c
    return np.array([u - u ** 3, -(x[1] - c)])


def test_census_bistable_basin_fractions_match_closed_form():
    c = 0.7  # shifted, so that a solver returning zeros cannot pass
    sys = ODESystem(_bistable, 2, {"c": c})
    # uniform box: x - c in [-2, 1] -> basin of +1 is (0, 1]: fraction 1/3 exactly.
    sampler = BoxSampler([c - 2.0, c - 1.0], [c + 1.0, c + 1.0])
    census = attractor_census(sys, sampler, n_samples=150, t_transient=40.0, t_record=5.0,
                              workers=1, seed=3)
    assert census.n_failed == 0
    kinds = [a.kind for a in census.attractors]
    assert kinds == ["equilibrium", "equilibrium"]
    xs = sorted(a.x[0] for a in census.attractors)
    np.testing.assert_allclose(xs, [c - 1.0, c + 1.0], atol=1e-6)
    plus = next(a for a in census.attractors if a.x[0] > c)
    assert plus.ci[0] <= 1 / 3 <= plus.ci[1]
    assert sum(a.count for a in census.attractors) == 150


def _subcritical_hopf(x, p):
    # Bautin-type normal form around (x0, y0): r' = r(beta + 2 r^2 - r^4), theta' = omega.
    beta, omega, x0, y0 = p
    u, v = x[0] - x0, x[1] - y0
    r2 = u * u + v * v
    g = beta + 2.0 * r2 - r2 * r2
    return np.array([u * g - omega * v, v * g + omega * u])


def test_census_cycle_around_stable_equilibrium():
    beta, omega, x0, y0 = -0.75, 1.3, 0.4, -0.2
    sys = ODESystem(_subcritical_hopf, 2, {"beta": beta, "omega": omega, "x0": x0, "y0": y0})
    # r^2 = (2 -+ sqrt(4 + 4 beta)) / 2: unstable cycle r_u^2 = 0.5, stable cycle r_s^2 = 1.5.
    r_u, r_s = np.sqrt(0.5), np.sqrt(1.5)
    half = 1.5
    sampler = BoxSampler([x0 - half, y0 - half], [x0 + half, y0 + half])
    census = attractor_census(sys, sampler, n_samples=120, t_transient=40.0, t_record=32.0,
                              max_k=2, workers=1, seed=1)
    by_kind = {a.kind: a for a in census.attractors}
    assert set(by_kind) == {"equilibrium", "cycle"}
    eq, cyc = by_kind["equilibrium"], by_kind["cycle"]
    np.testing.assert_allclose(eq.x, [x0, y0], atol=1e-6)
    assert cyc.period_k == 1
    assert cyc.period == pytest.approx(2 * np.pi / omega, rel=1e-3)
    assert cyc.y_range[1] == pytest.approx(x0 + r_s, abs=2e-3)
    # basin of the equilibrium: the disc r < r_u; fraction of the box = pi r_u^2 / (2 half)^2
    frac_eq = np.pi * r_u ** 2 / (2 * half) ** 2
    n_ok = census.n_samples - census.n_failed
    lo, hi = wilson_interval(eq.count, n_ok)
    assert lo <= frac_eq <= hi


def test_census_warns_on_too_few_samples():
    sys = ODESystem(_bistable, 2, {"c": 0.0})
    with pytest.warns(UserWarning, match="too few"):
        attractor_census(sys, BoxSampler([-1, -1], [1, 1]), n_samples=5, t_transient=5.0,
                         t_record=1.0, workers=1)


@njit(cache=True)
def _lorenz(x, p):
    s, r, b = p[0], p[1], p[2]
    return np.array([s * (x[1] - x[0]), x[0] * (r - x[2]) - x[1], x[0] * x[1] - b * x[2]])


@njit(cache=True)
def _lorenz_jac(x, p):
    s, r, b = p[0], p[1], p[2]
    return np.array([[-s, s, 0.0], [r - x[2], -1.0, -x[0]], [x[1], x[0], -b]])


def test_lorenz_largest_lyapunov_exponent_published_value():
    # Published: lambda_1 = 0.9056 (Sprott 2003; Viswanath 1998) at sigma=10, rho=28, b=8/3.
    sys = ODESystem(_lorenz, 3, {"sigma": 10.0, "rho": 28.0, "beta": 8 / 3}, jac=_lorenz_jac)
    res = largest_lyapunov_exponent(sys, [1.0, 1.0, 20.0], t_end=1e4, dt=0.01)
    assert res.method == "rk4-compiled"
    assert res.stderr < 0.005
    assert abs(res.value - 0.9056) <= 0.01


@njit(cache=True)
def _hopf_nf(x, p):
    # supercritical Hopf normal form: stable cycle of radius sqrt(beta), omega = p[1]
    beta, omega = p[0], p[1]
    r2 = x[0] * x[0] + x[1] * x[1]
    return np.array([x[0] * (beta - r2) - omega * x[1], x[1] * (beta - r2) + omega * x[0]])


@njit(cache=True)
def _hopf_nf_jac(x, p):
    beta, omega = p[0], p[1]
    r2 = x[0] * x[0] + x[1] * x[1]
    return np.array([
        [beta - r2 - 2 * x[0] * x[0], -2 * x[0] * x[1] - omega],
        [-2 * x[0] * x[1] + omega, beta - r2 - 2 * x[1] * x[1]],
    ])


def test_lyapunov_exponent_vanishes_on_stable_cycle():
    sys = ODESystem(_hopf_nf, 2, {"beta": 1.0, "omega": 2.0}, jac=_hopf_nf_jac)
    # on a cycle the tangent vector's norm stays bounded, so the estimate is O(1/T)
    res = largest_lyapunov_exponent(sys, [1.0, 0.0], t_end=2e3, dt=0.01)
    assert abs(res.value) <= 5e-3


def test_census_early_stop_matches_full_runs():
    # the Bautin census again with early stopping: same attractors and basin, shorter runs
    beta, omega, x0, y0 = -0.75, 1.3, 0.4, -0.2
    sys = ODESystem(_subcritical_hopf, 2, {"beta": beta, "omega": omega, "x0": x0, "y0": y0})
    sampler = BoxSampler([x0 - 1.5, y0 - 1.5], [x0 + 1.5, y0 + 1.5])
    census = attractor_census(sys, sampler, n_samples=60, t_transient=40.0, t_record=32.0,
                              max_k=2, workers=1, seed=1, early_stop=True, chunk=4.0)
    by_kind = {a.kind: a for a in census.attractors}
    assert set(by_kind) == {"equilibrium", "cycle"}
    # runs stopped at different phases and times are merged into one cycle (range and mean
    # state are taken over the last full period)
    assert len(census.attractors) == 2
    cyc = by_kind["cycle"]
    assert cyc.period_k == 1
    assert cyc.period == pytest.approx(2 * np.pi / omega, rel=1e-3)
    assert census.n_failed == 0
    assert np.all(census.t_stop <= 72.0 + 1e-9)
    # cycles are recognised after 3 returns, long before the 72 time units of a full run
    cyc_stop = census.t_stop[np.array(census.kinds) == "cycle"]
    assert np.median(cyc_stop) < 40.0


def test_sharp_pulses_sampled_off_grid_are_period_one():
    # Sharp pulses (width 0.15) on a 0.1 grid incommensurate with the period: the sampled
    # peak heights jitter by far more than tol_cycle (the MA's MFE cycle); the peak
    # comparison allows each peak's sampling uncertainty, so the train is a period-1 cycle
    # (closed form: period P); alternating heights 1 and 0.9 remain period 2.
    from bifurcation.attractors import classify_trajectory

    P, w = 32.463, 0.15
    t = np.arange(0.0, 400.0, 0.1)
    phase = (t % P) - P / 2
    y1 = np.exp(-phase ** 2 / (2 * w * w))
    raw_peaks = [y1[(t >= k * P) & (t < (k + 1) * P)].max() for k in range(12)]
    assert np.ptp(raw_peaks) > 0.01          # the sampling jitter is real (10 x tol_cycle)
    from bifurcation.attractors import _peaks_between, section_crossings

    refined, _ = _peaks_between(t, y1, section_crossings(t, y1, 0.5))
    assert np.ptp(refined) > 0.005           # and the parabola alone does not remove it
    x1 = np.column_stack([y1, np.cos(2 * np.pi * t / P)])
    out = classify_trajectory(t, x1, y1, max_k=4)
    assert out["kind"] == "cycle" and out["period_k"] == 1
    assert out["period"] == pytest.approx(P, rel=1e-3)
    height = np.where((t // P) % 2 == 0, 1.0, 0.9)
    y2 = height * y1
    out = classify_trajectory(t, np.column_stack([y2, x1[:, 1]]), y2, max_k=4)
    assert out["kind"] == "cycle" and out["period_k"] == 2
    assert out["period"] == pytest.approx(2 * P, rel=1e-3)


def _linear(x, p):
    return np.array([-p[0] * x[0], -p[1] * x[1]])


def _linear_jac(x, p):
    return np.array([[-p[0], 0.0], [0.0, -p[1]]])


def test_lyapunov_separation_method_closed_forms():
    # x' = diag(-1, -3) x: lambda_1 = -1 exactly; Hopf normal form cycle: lambda_1 = 0.
    sys = ODESystem(_linear, 2, {"a": 1.0, "b": 3.0}, jac=_linear_jac)
    res = largest_lyapunov_exponent(sys, [1.0, 1.0], t_end=20.0, t_transient=2.0,
                                    renorm_interval=0.5, method="separation")
    assert res.method == "separation"
    assert res.value == pytest.approx(-1.0, abs=1e-3)
    hopf = ODESystem(lambda x, p: _hopf_nf(x, p), 2, {"beta": 1.0, "omega": 2.0},
                     jac=lambda x, p: _hopf_nf_jac(x, p))
    res = largest_lyapunov_exponent(hopf, [1.0, 0.0], t_end=200.0, t_transient=5.0,
                                    renorm_interval=1.0, method="separation")
    # bounded separation along the cycle: |lambda| = O(1/T) = O(5e-3)
    assert abs(res.value) <= 5e-3
    with pytest.raises(Exception, match="rk4-compiled"):
        largest_lyapunov_exponent(sys, [1.0, 1.0], t_end=5.0, method="rk4-compiled")


def _slow_focus(x, p):
    # x + iy' = (-a + i w)(x + iy): a stable focus damped at rate a
    a, w = p
    return np.array([-a * x[0] - w * x[1], w * x[0] - a * x[1]])


def test_contracting_run_is_not_called_quasi_periodic():
    # decaying oscillation: peaks shrink by exp(-a 2 pi / w) = 0.73 per turn, so it is not a
    # cycle; its Lyapunov exponent is -a = -0.05 (closed form), so it is not quasi-periodic
    # either: it has not settled (counted as failed, with a warning)
    sys = ODESystem(_slow_focus, 2, {"a": 0.05, "w": 1.0})
    with pytest.warns(UserWarning, match="did not settle"):
        census = attractor_census(sys, BoxSampler([0.5, 0.5], [1.0, 1.0]), n_samples=30,
                                  t_transient=10.0, t_record=40.0, max_k=2, workers=1,
                                  lyapunov_time=20.0, lyapunov_dt=1.0,
                                  lyapunov_method="separation")
    assert census.n_failed == 30 and not census.attractors
    assert set(census.kinds) == {"unresolved"}
