"""Tau-leap converges to the event-driven (exact) process as Δt → 0 (slow).

Design (statistics in :mod:`simulate.markov_if.convergence`; study and findings in
docs/markov_if.md): at the defaults, TRIALS independent trials (seeds 1000 + k) of 3 s per
configuration — exact; tau-leap at Δt = 0.1, 0.05, 0.025 ms (the issue's steps) and at
0.00625 ms (to see the limit) — burn-in 200 ms, run on 3 local processes (the same numbers on
any number). Per trial: E and I rates and the time-averaged voltage-bin + refractory
occupation of each population. Trials are independent, so the mean's 95 % interval is
t_{0.975, n−1}·sd/√n (no within-run autocorrelation enters); with a per-trial SD of ≈ 0.5 Hz,
TRIALS = 32 gives SE ≈ 0.09 Hz (0.17 % of the E rate).

Checks:
- every 95 % half-width is at most 1 % of the rate (the design's precision requirement);
- at Δt = 0.025 the tau-leap rate differs from exact by at most 3 %, *including* the 95 %
  interval of the difference;
- the limit is the exact process: at Δt = 0.00625 the E and I rates agree with exact within
  3 combined standard errors (≈ 0.7 % of the rate), and the bias-corrected squared distance
  between the occupation vectors is within 3 SE of 0.
The Δt-trend over 0.1 … 0.025 is fitted and printed (weighted linear fit), not asserted: at
the defaults the rate is not a linear (nor quadratic) function of Δt over 0.0125 … 0.1 ms
(docs/markov_if.md, "Tau-leap versus exact"), so a fitted intercept there is no test of
the limit; the direct comparison at a smaller step is.
"""

import numpy as np
import pytest
from scipy import stats

from simulate.markov_if.convergence import hist_distance, mean_ci, poly_fit, run_trials

TRIALS = 32
T_TRIAL = 3000.0
BURN = 200.0
DTS = (0.1, 0.05, 0.025)
DT_LIMIT = 0.00625
SEEDS = [1000 + k for k in range(TRIALS)]


@pytest.mark.slow
def test_tau_leap_converges_to_exact():
    ex_r, ex_o = run_trials("exact", 0.1, SEEDS, T_TRIAL, BURN, workers=3)
    ex, ex_h = mean_ci(ex_r)
    tl = {dt: run_trials("tau-leap", dt, SEEDS, T_TRIAL, BURN, workers=3)
          for dt in DTS + (DT_LIMIT,)}
    t975 = stats.t.ppf(0.975, TRIALS - 1)
    report = {dt: mean_ci(tl[dt][0]) for dt in tl}
    print(f"exact {np.round(ex, 3)} ± {np.round(ex_h, 3)} (95 %)")
    for dt, (m, h) in report.items():
        dist = [hist_distance(tl[dt][1][:, q], ex_o[:, q]) for q in range(ex_o.shape[1])]
        print(f"tau-leap {dt}: {np.round(m, 3)} ± {np.round(h, 3)}; offset "
              f"{np.round(100 * (m - ex) / ex, 2)} %; histogram D "
              + ", ".join(f"{D:.3g} ± {s:.2g}" for D, s in dist))
    assert np.all(ex_h <= 0.01 * ex), (ex, ex_h)
    for dt, (m, h) in report.items():
        assert np.all(h <= 0.01 * m), (dt, m, h)
    # difference at 0.025 with its interval (independent samples: half-widths add in quadrature)
    m25, h25 = report[0.025]
    assert np.all(np.abs(m25 - ex) + np.hypot(h25, ex_h) <= 0.03 * ex), (m25, ex)
    # the trend over the steps, reported
    d = np.array(DTS)
    for j in range(ex.shape[0]):
        y = np.array([report[v][0][j] for v in DTS])
        se = np.array([report[v][1][j] for v in DTS]) / t975
        coef, cov, chi2, _ = poly_fit(d, y, se, degree=1)
        print(f"pop {j}: linear fit a = {coef[0]:.3f} ± {np.sqrt(cov[0, 0]):.3f}, "
              f"b = {coef[1]:.2f} ± {np.sqrt(cov[1, 1]):.2f} Hz/ms, chi2 = {chi2:.2f} (1 dof)")
    # the limit: rates and histograms at the smallest step agree with exact
    m_lim, h_lim = report[DT_LIMIT]
    assert np.all(np.abs(m_lim - ex) <= 3 * np.hypot(h_lim, ex_h) / t975), (m_lim, ex)
    for q in range(ex_o.shape[1]):
        D, s = hist_distance(tl[DT_LIMIT][1][:, q], ex_o[:, q])
        assert abs(D) <= 3 * s, (q, D, s)
