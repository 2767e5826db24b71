"""Samplers of simulate.markov_if.rng against their exact distributions (chi-square / KS).

Each check draws 200 000 variates with a fixed seed and applies a goodness-of-fit test at level
1e-4 (bins with expected count < 5 pooled away), plus exact mean/variance checks at 5 standard
errors. A wrong normalisation, an off-by-one in an inversion or a broken alias table moves
these statistics by far more than that.
"""

import math

import numpy as np
import pytest
from numba import njit
from scipy import stats

from simulate.markov_if.kernels_fixed import _ZFN, _ZKN, _ZWN
from simulate.markov_if.rng import (
    alias_build,
    alias_draw,
    binom_alias_draw,
    binom_alias_rows,
    binom_pmf,
    binomial,
    binomial_pow,
    next_u64,
    poisson,
    poisson_alias_draw,
    poisson_alias_rows,
    poisson_tab,
    seed_state,
    uniform,
    zig_slow,
)

M = 200_000


@njit
def _normals(s, m, kn, wn, fn):
    out = np.empty(m)
    for i in range(m):
        u64 = next_u64(s)
        iz = int(u64 & np.uint64(127))
        hz = np.int64(np.int32(np.uint32(u64 >> np.uint64(32))))
        if abs(hz) < kn[iz]:
            out[i] = hz * wn[iz]
        else:
            out[i] = zig_slow(s, hz, iz, kn, wn, fn)
    return out


@njit
def _uniforms(s, m):
    out = np.empty(m)
    for i in range(m):
        out[i] = uniform(s)
    return out


@njit
def _poissons(s, m, mu, tabbed):
    out = np.empty(m, np.int64)
    invk = np.empty(1024)
    invk[0] = 0.0
    for k in range(1, 1024):
        invk[k] = 1.0 / k
    e = math.exp(-mu)
    for i in range(m):
        out[i] = poisson_tab(s, mu, e, invk) if tabbed else poisson(s, mu)
    return out


@njit
def _binomials(s, m, n, p, how):
    out = np.empty(m, np.int64)
    pmf = np.empty(n + 1)
    prob = np.empty(n + 1)
    al = np.empty(n + 1, np.int64)
    w1 = np.empty(n + 1, np.int64)
    w2 = np.empty(n + 1, np.int64)
    binom_pmf(n, p, pmf)
    alias_build(pmf, n, prob, al, w1, w2)
    qn = (1.0 - p) ** n
    for i in range(m):
        if how == 0:
            out[i] = binomial(s, n, p)
        elif how == 1:
            out[i] = alias_draw(s, prob, al, n)
        else:
            out[i] = binomial_pow(s, n, p, qn)
    return out


def _chi2_discrete(x, pmf_fn, support):
    obs = np.bincount(x - support[0], minlength=len(support))[: len(support)]
    exp = pmf_fn(support) * len(x)
    assert obs.sum() == len(x)            # nothing outside the support
    keep = exp >= 5
    o = np.append(obs[keep], obs[~keep].sum())
    e = np.append(exp[keep], exp[~keep].sum())
    if e[-1] < 5:
        o, e = o[:-1], e[:-1]
    e = e * o.sum() / e.sum()
    return stats.chisquare(o, e).pvalue


def test_uniform_and_ziggurat_normal():
    s = seed_state(1)
    u = _uniforms(s, M)
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    z = _normals(s, M, _ZKN, _ZWN, _ZFN)
    assert stats.kstest(z, "norm").pvalue > 1e-4
    assert abs(z.mean()) < 5 / math.sqrt(M)
    assert abs(z.var() - 1) < 5 * math.sqrt(2 / M)
    # tails beyond the ziggurat base (r = 3.44) are produced at the right frequency
    tail = np.mean(np.abs(z) > 3.442619855899)
    p_tail = 2 * stats.norm.sf(3.442619855899)
    assert abs(tail - p_tail) < 5 * math.sqrt(p_tail / M)


@pytest.mark.parametrize("mu, tabbed", [(0.05, True), (0.7, True), (7.0, True), (25.0, True),
                                        (0.7, False), (45.0, False), (95.0, False)])
def test_poisson(mu, tabbed):
    x = _poissons(seed_state(2), M, mu, tabbed)
    hi = int(mu + 12 * math.sqrt(mu) + 12)
    assert _chi2_discrete(x, lambda k: stats.poisson.pmf(k, mu), np.arange(0, hi)) > 1e-4
    assert abs(x.mean() - mu) < 5 * math.sqrt(mu / M)


@pytest.mark.parametrize("n, p", [(1, 0.8), (3, 0.3), (17, 0.8), (130, 0.6), (300, 0.8),
                                  (40, 0.02)])
@pytest.mark.parametrize("how", [0, 1, 2])
def test_binomial_samplers(n, p, how):
    if how == 2 and p > 0.5:
        pytest.skip("binomial_pow is used with p <= 1/2 only (tau-leap release)")
    x = _binomials(seed_state(3 + how), M, n, p, how)
    assert _chi2_discrete(x, lambda k: stats.binom.pmf(k, n, p), np.arange(0, n + 1)) > 1e-4
    assert abs(x.mean() - n * p) < 5 * math.sqrt(n * p * (1 - p) / M) + 1e-12


def test_degenerate_cases():
    assert np.all(_binomials(seed_state(5), 100, 5, 0.0, 0) == 0)
    assert np.all(_binomials(seed_state(5), 100, 5, 1.0, 0) == 5)
    assert np.all(_binomials(seed_state(5), 100, 5, 1.0, 1) == 5)
    assert np.all(_poissons(seed_state(5), 100, 0.0, False) == 0)


@njit
def _alias_rows_draws(s, m, unit, h, K, kind):
    n_rows = h + 1
    prob = np.empty((n_rows, K + 1))
    al = np.empty((n_rows, K + 1), np.int64)
    c = np.empty(n_rows)
    pk = np.empty(n_rows)
    w = np.empty(K + 1)
    w1 = np.empty(K + 1, np.int64)
    w2 = np.empty(K + 1, np.int64)
    if kind == 0:
        poisson_alias_rows(unit, n_rows, K, prob, al, c, pk, w, w1, w2)
    else:
        binom_alias_rows(unit, n_rows, K, prob, al, c, pk, w, w1, w2)
    out = np.empty(m, np.int64)
    for i in range(m):
        if kind == 0:
            out[i] = poisson_alias_draw(s, prob[h], al[h], K, h * unit, c[h], pk[h])
        else:
            out[i] = binom_alias_draw(s, prob[h], al[h], K, h, unit, c[h], pk[h])
    return out


@pytest.mark.parametrize("unit, h, K", [(0.0714, 10, 24), (0.0714, 255, 24), (0.5, 30, 8),
                                        (0.022, 3, 24)])
def test_poisson_alias_rows_with_exact_tail(unit, h, K):
    # (0.5, 30, 8): mean 15 with only 8 tabulated outcomes: most draws take the tail path
    mu = unit * h
    x = _alias_rows_draws(seed_state(7), M, unit, h, K, 0)
    hi = int(mu + 12 * math.sqrt(mu) + 12)
    assert _chi2_discrete(x, lambda k: stats.poisson.pmf(k, mu), np.arange(0, hi)) > 1e-4
    assert abs(x.mean() - mu) < 5 * math.sqrt(mu / M)


@pytest.mark.parametrize("r, n, K", [(0.0689, 12, 16), (0.0689, 200, 16), (0.3, 60, 6),
                                     (0.18, 1, 16)])
def test_binomial_alias_rows_with_exact_tail(r, n, K):
    x = _alias_rows_draws(seed_state(8), M, r, n, K, 1)
    assert _chi2_discrete(x, lambda k: stats.binom.pmf(k, n, r), np.arange(0, n + 1)) > 1e-4
    assert abs(x.mean() - n * r) < 5 * math.sqrt(n * r * (1 - r) / M)


def test_exact_kernel_exponential_ziggurat():
    # the event-driven kernel's own generator (splitmix64 + exponential ziggurat)
    from simulate.markov_if.kernels_exact import _FE, _KE, _WE, _exp1, _u01

    @njit
    def draws(st, m, ke, we, fe):
        out = np.empty(m)
        uu = np.empty(m)
        for i in range(m):
            out[i] = _exp1(st, ke, we, fe)
            uu[i] = _u01(st)
        return out, uu

    x, u = draws(np.array([4242], np.uint64), M, _KE, _WE, _FE)
    assert stats.kstest(x, "expon").pvalue > 1e-4
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    assert abs(x.mean() - 1) < 5 / math.sqrt(M)
    assert abs((x ** 2).mean() - 2) < 5 * math.sqrt(20 / M)
    r = 7.69711747013104972          # beyond the ziggurat base: the memoryless tail branch
    big = np.concatenate([draws(np.array([s], np.uint64), M, _KE, _WE, _FE)[0]
                          for s in range(1, 6)])
    p_tail = math.exp(-r)
    assert abs(np.mean(big > r) - p_tail) < 5 * math.sqrt(p_tail / len(big))
