"""Tau-leap converges to the event-driven (exact) process as Δt → 0 (slow).

Design: at the defaults, E and I rates (Hz, after a 200 ms burn-in) from 24 independent
trials of 3 s per configuration (exact; tau-leap at Δt = 0.1, 0.05, 0.025 ms). Trials are
independent, so the mean's 95 % interval is t_{0.975, 23}·sd/√24; the design requires its
half-width to be at most 1 % of the rate (asserted, it is what makes the comparison sharp).

Checks:
- at Δt = 0.025 the tau-leap rate is within ±3 % of the exact rate (the O(Δt) bias measured
  in docs/markov_if.md is well below that; the statistical part is ≤ 1.4 % of the rate:
  √2 · 1 %);
- a weighted linear fit rate(Δt) = a + bΔt over the three steps has an intercept a that
  agrees with the exact rate within 3 combined standard errors (first-order convergence to
  the right limit), and the Δt = 0.025 value is closer to exact than the Δt = 0.1 value or
  both are within their combined 95 % interval.
"""

import numpy as np
import pytest
from scipy import stats

import simulate

TRIALS = 24
T_TRIAL = 3000.0
BURN = 200.0
DTS = (0.1, 0.05, 0.025)


def rates(method, dt):
    out = []
    for k in range(TRIALS):
        net = simulate.MarkovIFNetwork(method=method, dt=dt)
        tr = net.run(t_end=T_TRIAL, seed=1000 + k, progress=False, spikes=False,
                     record_dt=T_TRIAL)
        tr.t_burn = BURN
        out.append([tr.rates_hz["E"], tr.rates_hz["I"]])
    x = np.array(out)
    half = stats.t.ppf(0.975, TRIALS - 1) * x.std(0, ddof=1) / np.sqrt(TRIALS)
    return x.mean(0), half


@pytest.mark.slow
def test_tau_leap_converges_to_exact():
    ex, ex_h = rates("exact", 0.1)
    assert np.all(ex_h <= 0.01 * ex), (ex, ex_h)
    tl = {dt: rates("tau-leap", dt) for dt in DTS}
    for dt in DTS:
        assert np.all(tl[dt][1] <= 0.01 * tl[dt][0]), (dt, tl[dt])
    m25 = tl[0.025][0]
    assert np.all(np.abs(m25 - ex) <= 0.03 * ex), (m25, ex)
    d = np.array(DTS)
    for j in range(2):                       # E, I
        y = np.array([tl[v][0][j] for v in DTS])
        se = np.array([tl[v][1][j] for v in DTS]) / stats.t.ppf(0.975, TRIALS - 1)
        A = np.vstack([np.ones_like(d), d]).T / se[:, None]
        coef, *_ = np.linalg.lstsq(A, y / se, rcond=None)
        cov = np.linalg.inv(A.T @ A)
        ex_se = ex_h[j] / stats.t.ppf(0.975, TRIALS - 1)
        assert abs(coef[0] - ex[j]) < 3 * np.hypot(np.sqrt(cov[0, 0]), ex_se), (j, coef, ex)
        closer = abs(y[-1] - ex[j]) <= abs(y[0] - ex[j])
        both_ok = abs(y[0] - ex[j]) <= np.hypot(tl[0.1][1][j], ex_h[j])
        assert closer or both_ok, (j, y, ex)
