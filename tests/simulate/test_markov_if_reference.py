"""Fast numba kernels against the slow NumPy reference (independent code and random stream).

Two-sample comparison over independent runs: for each scheme, K runs of the fast kernel and K
runs of :func:`simulate.markov_if.reference.simulate_reference` (different seeds), each
reduced to per-run statistics after a burn-in (E and I rates, time-averaged pending-kick
means EE and EI, mean E voltage from the histogram, refractory fraction of E). Runs are
independent, so a Welch t-test applies to each statistic; with 6 statistics × 2 schemes a
per-test level of 1e-3 keeps the family-wise false-alarm rate near 1 % (and the seeds are
fixed, so the outcome is reproducible). The slow variant uses more and longer runs.
"""

import numpy as np
import pytest
from scipy import stats

import simulate
from simulate.markov_if.engine import default_hist_edges
from simulate.markov_if.reference import simulate_reference

CENTRES = 0.5 * (default_hist_edges()[1:] + default_hist_edges()[:-1])


def fast_stats(net, t_end, burn, seed):
    tr = net.run(t_end=t_end, seed=seed, progress=False)
    tr.t_burn = burn
    r = tr.rates_hz
    sel = tr["samples/t"] >= burn
    h = tr["samples/hist/E"][sel]
    return np.array([
        r["E"], r["I"],
        tr["samples/kick_mean/EE"][sel].mean(), tr["samples/kick_mean/EI"][sel].mean(),
        (h @ CENTRES).sum() / h.sum(),
        tr["samples/refractory/E"][sel].mean() / 300.0,
    ])


def ref_stats(net, method, t_end, burn, seed):
    n_steps = int(round(t_end / net.spec.dt))
    out = simulate_reference(net.spec, method, n_steps, seed, record_steps=10)
    k0 = int(round(burn / net.spec.dt))
    c = out["counts"][k0:]
    dur = (n_steps - k0) * net.spec.dt
    sel = out["t_samples"] >= burn
    h = out["hist"][sel, 0]
    return np.array([
        1000 * c[:, 0].sum() / (300 * dur), 1000 * c[:, 1].sum() / (100 * dur),
        out["kick_mean"][sel, 0, 0].mean(), out["kick_mean"][sel, 0, 1].mean(),
        (h @ CENTRES).sum() / h.sum(),
        out["refractory"][sel, 0].mean() / 300.0,
    ])


def compare(method, K, t_end, burn):
    net = simulate.MarkovIFNetwork(method=method)
    fast = np.array([fast_stats(net, t_end, burn, 100 + k) for k in range(K)])
    ref = np.array([ref_stats(net, method, t_end, burn, 900 + k) for k in range(K)])
    pvals = [stats.ttest_ind(fast[:, j], ref[:, j], equal_var=False).pvalue
             for j in range(fast.shape[1])]
    return fast.mean(0), ref.mean(0), np.array(pvals)


@pytest.mark.parametrize("method", ["fixed-step", "tau-leap"])
def test_fast_kernel_matches_reference(method):
    f, r, p = compare(method, K=4, t_end=250.0, burn=80.0)
    assert np.all(p > 1e-3), (f, r, p)
    # sanity: the statistics are not degenerate (rates of tens of Hz, kicks pending)
    assert 10 < f[0] < 150 and f[2] > 1


@pytest.mark.slow
@pytest.mark.parametrize("method", ["fixed-step", "tau-leap"])
def test_fast_kernel_matches_reference_long(method):
    f, r, p = compare(method, K=12, t_end=1000.0, burn=100.0)
    assert np.all(p > 1e-3), (f, r, p)
