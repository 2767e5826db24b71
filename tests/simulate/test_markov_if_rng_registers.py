"""The register-state generator, packed alias tables and table bin lookup of the stepped
kernels, each against an independent form: the array-state generator, the unpacked alias draw,
the binomial law (chi-square), a binary search and NumPy.

Chi-square tests at level 1e-4 on 200 000 draws (as in test_markov_if_rng.py): a wrong
column, an inverted coin or a lost alias moves the statistic by far more than that.
"""

import math

import numpy as np
import pytest
from numba import njit
from scipy import stats

from simulate.markov_if.kernels_fixed import (
    apply_kicks,
    bin_fast,
    bin_index,
    bin_lookup,
    fanout_setup,
    fanout_tables,
    sample_state,
)
from simulate.markov_if.rng import (
    alias_draw_at,
    alias_pack,
    alias_pick,
    alias_rows_flat,
    binom_tail,
    binom_tail_u,
    seed_state,
    uniform,
    xo_load,
    xo_store,
    xo_uniform,
)

from .test_markov_if_rng import _chi2_discrete

M = 200_000


@njit
def _uniform_pairs(s_arr, s_reg, m):
    a = np.empty(m)
    b = np.empty(m)
    s0, s1, s2, s3 = xo_load(s_reg)
    for i in range(m):
        a[i] = uniform(s_arr)
        s0, s1, s2, s3, b[i] = xo_uniform(s0, s1, s2, s3)
    xo_store(s_reg, s0, s1, s2, s3)
    return a, b


def test_register_state_gives_the_array_state_sequence():
    s1, s2 = seed_state(11), seed_state(11)
    a, b = _uniform_pairs(s1, s2, 10_000)
    assert np.array_equal(a, b) and np.array_equal(s1, s2)
    assert np.all((a >= 0) & (a < 1)) and len(np.unique(a)) == len(a)


@njit
def _row_draws(s_a, s_b, m, pp, h, K):
    """Binomial(h, pp) from the flat alias rows: unpacked (alias_draw_at + binom_tail) with
    stream a, packed (alias_pick + binom_tail_u, the tau-leap kernel's path) with stream b."""
    units = np.array([pp])
    prob, al, c, pk = alias_rows_flat(True, units, h + 1, K)
    tab = alias_pack(prob, al)
    W = K + 1
    x = np.empty(m, np.int64)
    y = np.empty(m, np.int64)
    s0, s1, s2, s3 = xo_load(s_b)
    for i in range(m):
        k = alias_draw_at(s_a, prob, al, h * W, K)
        if k == K:
            k = binom_tail(s_a, K, h, pp, c[h], pk[h])
        x[i] = k
        s0, s1, s2, s3, u = xo_uniform(s0, s1, s2, s3)
        k = alias_pick(u, tab, h * W, K)
        if k == K:
            s0, s1, s2, s3, u = xo_uniform(s0, s1, s2, s3)
            k = binom_tail_u(u, K, h, pp, c[h], pk[h])
        y[i] = k
    xo_store(s_b, s0, s1, s2, s3)
    return x, y


@pytest.mark.parametrize("pp, h, K", [(0.0689, 20, 16), (0.3, 60, 6), (0.022, 1, 16)])
def test_packed_alias_rows_same_draws_and_law(pp, h, K):
    # (0.3, 60, 6): mean 18 with 6 tabulated outcomes, so most draws go through the tail
    x, y = _row_draws(seed_state(12), seed_state(12), M, pp, h, K)
    assert np.array_equal(x, y)            # same uniforms -> same outcomes
    assert _chi2_discrete(y, lambda k: stats.binom.pmf(k, h, pp), np.arange(h + 1)) > 1e-4


@njit
def _fanout_draws(s, m, n_spk, p, N):
    """New kicks onto each of N neurons of population 0 from n_spk spikes of population 0 by
    the kernels' fan-out path (fanout_tables + apply_kicks), repeated m times."""
    sizes = np.array([N], np.int64)
    fo_prob, fo_alias, fo_tab, pmf, w1, w2, w, spikers, nsp, zero = fanout_setup(sizes)
    pop = np.zeros(N, np.int64)
    pm = np.full((1, 1), p)
    H = np.zeros((1, N), np.int64)
    conn = np.zeros((1, 1), np.uint8)
    out = np.empty(m * N, np.int64)
    nsp[0] = n_spk
    for k in range(m):
        H[:, :] = 0
        fanout_tables(nsp, pm, False, fo_prob, fo_alias, fo_tab, w, pmf, w1, w2)
        apply_kicks(s, H, zero, pop, nsp, n_spk, spikers, pm, False, conn, fo_tab, w)
        out[k * N:(k + 1) * N] = H[0]
    return out


@pytest.mark.parametrize("n_spk, p", [(1, 0.8), (3, 0.8), (40, 0.15)])
def test_fanout_kicks_are_binomial(n_spk, p):
    x = _fanout_draws(seed_state(13), M // 100, n_spk, p, 100)
    assert _chi2_discrete(x, lambda k: stats.binom.pmf(k, n_spk, p),
                          np.arange(n_spk + 1)) > 1e-4
    assert abs(x.mean() - n_spk * p) < 5 * math.sqrt(n_spk * p * (1 - p) / len(x))


@njit
def _bins(edges, v):
    lut, inv_g = bin_lookup(edges)
    a = np.empty(v.shape[0], np.int64)
    b = np.empty(v.shape[0], np.int64)
    for i in range(v.shape[0]):
        a[i] = bin_index(edges, v[i])
        b[i] = bin_fast(edges, lut, inv_g, v[i])
    return a, b


@pytest.mark.parametrize("edges", [
    np.concatenate([[-66.0], np.arange(-36.0, 100.1, 4.0)]),       # the MA layout
    np.array([-66.0, -65.9, -10.0, 0.0, 1e-9, 3.3, 50.0, 99.99, 100.0]),   # irregular
    np.linspace(-66.0, 100.0, 168),
])
def test_table_bin_lookup_equals_binary_search(edges):
    rng = np.random.default_rng(0)
    v = np.concatenate([rng.uniform(-70, 105, 50_000), edges, np.nextafter(edges, -np.inf),
                        np.nextafter(edges, np.inf), [-1e9, 1e9]])
    a, b = _bins(edges, v)
    assert np.array_equal(a, b)


def test_sample_state_against_numpy():
    rng = np.random.default_rng(1)
    sizes = np.array([30, 50, 20], np.int64)
    P, N = len(sizes), int(sizes.sum())
    pop = np.repeat(np.arange(P), sizes)
    V = rng.uniform(-66, 100, N)
    ref = (rng.random(N) < 0.2).astype(np.uint8)
    H = rng.integers(0, 40, (P, N)).astype(np.int64)
    edges = np.concatenate([[-66.0], np.arange(-36.0, 100.1, 4.0)])
    nb = len(edges) - 1
    hist = np.zeros((P, nb), np.int32)
    refc = np.zeros(P, np.int32)
    km = np.zeros(P * P)
    kv = np.zeros(P * P)
    coarse = np.zeros(N, np.int16)
    sample_state(V, ref, H, pop, P, edges, hist, refc, km, kv, True, edges, coarse, sizes)
    for q in range(P):
        sel = pop == q
        on = sel & (ref == 0)
        want = np.histogram(np.clip(V[on], edges[0], edges[-1]), edges)[0]
        assert np.array_equal(hist[q], want)
        assert refc[q] == np.sum(sel & (ref == 1))
        for r in range(P):
            assert km[q * P + r] == pytest.approx(H[r, sel].mean(), rel=1e-14)
            assert kv[q * P + r] == pytest.approx(H[r, sel].var(), rel=1e-12)
    want_c = np.where(ref == 1, nb, np.clip(np.searchsorted(edges, V, "right") - 1, 0, nb - 1))
    assert np.array_equal(coarse, want_c)
