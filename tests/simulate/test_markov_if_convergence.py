"""Tau-leap converges to the event-driven (exact) process as Δt → 0 (slow).

Design (statistics in :mod:`simulate.markov_if.convergence`): at the defaults, TRIALS
independent trials (seeds 1000 + k) of 3 s per configuration (exact; tau-leap at Δt = 0.1,
0.05, 0.025, 0.0125 ms), burn-in 200 ms, run on 2 local processes (same numbers on any
number). Per trial: E and I rates and the time-averaged voltage-bin + refractory occupation
of each population. Trials are independent, so the mean's 95 % interval is
t_{0.975, n−1}·sd/√n (no within-run autocorrelation enters). With a per-trial SD of ≈ 0.5 Hz
(docs/markov_if.md) TRIALS = 32 gives SE ≈ 0.09 Hz (0.17 % of the E rate).

Checks:
- every 95 % half-width is at most 1 % of the rate (the design's precision requirement);
- at Δt = 0.025 the tau-leap rate differs from exact by at most 3 %, *including* the 95 %
  interval of the difference;
- first-order convergence to the right limit: a weighted fit a + bΔt + cΔt² over the four
  steps (the quadratic term absorbs curvature over the range 0.0125 … 0.1 ms; 1 degree of
  freedom left; the linear fit over 0.1 … 0.025 is printed for comparison) has an
  intercept a within 3 combined standard errors of the exact rate, and the fit's χ² (1 dof)
  is below its 0.1 % upper quantile 10.8;
- voltage histograms, compared the same way: the bias-corrected squared distance D(Δt)
  between the tau-leap and exact occupation vectors shrinks as first order predicts,
  D(Δt) ≈ D(0.1)·(Δt/0.1)²: at Δt = 0.025 and 0.0125 the measured D lies within 3 combined
  SE of that prediction.
"""

import numpy as np
import pytest
from scipy import stats

from simulate.markov_if.convergence import hist_distance, mean_ci, poly_fit, run_trials

TRIALS = 32
T_TRIAL = 3000.0
BURN = 200.0
DTS = (0.1, 0.05, 0.025, 0.0125)
SEEDS = [1000 + k for k in range(TRIALS)]


@pytest.mark.slow
def test_tau_leap_converges_to_exact():
    ex_r, ex_o = run_trials("exact", 0.1, SEEDS, T_TRIAL, BURN, workers=2)
    ex, ex_h = mean_ci(ex_r)
    tl = {dt: run_trials("tau-leap", dt, SEEDS, T_TRIAL, BURN, workers=2) for dt in DTS}
    t975 = stats.t.ppf(0.975, TRIALS - 1)
    report = {"exact": (ex, ex_h)}
    assert np.all(ex_h <= 0.01 * ex), (ex, ex_h)
    for dt in DTS:
        m, h = mean_ci(tl[dt][0])
        report[dt] = (m, h)
        assert np.all(h <= 0.01 * m), (dt, m, h)
    # difference at 0.025 with its interval (independent samples: half-widths add in quadrature)
    m25, h25 = report[0.025]
    diff_hw = np.hypot(h25, ex_h)
    assert np.all(np.abs(m25 - ex) + diff_hw <= 0.03 * ex), (m25, ex, diff_hw)
    d = np.array(DTS)
    for j in range(ex.shape[0]):                       # E, I
        y = np.array([report[v][0][j] for v in DTS])
        se = np.array([report[v][1][j] for v in DTS]) / t975
        coef, cov, chi2, dof = poly_fit(d, y, se, degree=2)
        lin = poly_fit(d[:3], y[:3], se[:3], degree=1)
        ex_se = ex_h[j] / t975
        print(f"pop {j}: exact {ex[j]:.3f} ± {ex_se:.3f}; tau-leap {np.round(y, 3)} "
              f"± {np.round(se, 3)}; quadratic a={coef[0]:.3f} ± {np.sqrt(cov[0, 0]):.3f} "
              f"b={coef[1]:.2f} c={coef[2]:.1f} chi2={chi2:.2f}; linear(0.1..0.025) "
              f"a={lin[0][0]:.3f} ± {np.sqrt(lin[1][0, 0]):.3f} chi2={lin[2]:.2f}")
        assert abs(coef[0] - ex[j]) < 3 * np.hypot(np.sqrt(cov[0, 0]), ex_se), (j, coef, ex)
        assert chi2 < stats.chi2.ppf(0.999, dof), (j, chi2)
    # voltage histograms (plus refractory fraction) per population
    for q in range(ex_o.shape[1]):
        dist = {dt: hist_distance(tl[dt][1][:, q], ex_o[:, q]) for dt in DTS}
        print(f"pop {q}: D(dt) = " + ", ".join(f"{dt}: {D:.3g} ± {s:.2g}"
                                               for dt, (D, s) in dist.items()))
        D1, s1 = dist[0.1]
        for dt in (0.025, 0.0125):
            f = (dt / 0.1) ** 2
            D, s = dist[dt]
            assert abs(D - f * D1) <= 3 * np.hypot(s, f * s1), (q, dt, dist)
