"""Procedural connectivity (simulate.lif.connectivity): degrees, delays, permutations."""

from __future__ import annotations

import math

import numpy as np

from simulate.lif.connectivity import build_csr, build_pathways, in_degrees, perm, perm_inv


def test_feistel_is_a_permutation_and_inverts():
    for n in (1, 2, 7, 1000, 4097):
        key = np.uint64(12345 + n)
        p = np.array([perm(x, key, n) for x in range(n)])
        assert sorted(p.tolist()) == list(range(n))
        assert all(perm_inv(p[x], key, n) == x for x in range(n))


def test_fixed_in_degree_exact_no_multapses_delays_in_range():
    sizes, K, k_i, dt = [500, 400], 50, 13, 0.1
    paths = build_pathways(sizes, [[K, k_i], [K, k_i]], [(0.0, 10.0), (0.0, 1.0)], 7)
    n = sum(sizes)
    assert np.all(in_degrees(n, paths, dt, (0, 500), (0, n)) == K)
    assert np.all(in_degrees(n, paths, dt, (500, 900), (0, n)) == k_i)
    ptr, idx, dly = build_csr(n, paths, dt)
    for j in range(0, n, 37):
        t = idx[ptr[j]:ptr[j + 1]]
        assert np.unique(t).size == t.size
    out_e = np.diff(ptr)[:500]
    # out-degree n_post / block size, +-1 per pathway
    assert abs(out_e.mean() - K * n / 500) < 1e-9 and out_e.max() - out_e.min() <= 2
    d_e = dly[:ptr[500]].astype(float)
    d_i = dly[ptr[500]:].astype(float)
    assert d_e.min() >= 1 and d_e.max() <= 100 and d_i.max() <= 10
    # uniform on [0, 10] ms rounded to steps (min 1): mean 50 steps, SE = 28.9/sqrt(n)
    assert abs(d_e.mean() - 50.0) < 4 * 28.9 / math.sqrt(d_e.size) + 0.01


def test_shared_inputs_like_random_sets():
    """Two neurons share K * (K/n_pre) inputs on average (as for random K-subsets)."""
    n_pre, K = 1000, 100
    paths = build_pathways([n_pre, 200], [[K, 0], [0, 0]], [(1, 1), (1, 1)], 3)
    ptr, idx, _ = build_csr(n_pre + 200, paths, 1.0)
    adj = np.zeros((n_pre, n_pre), bool)
    pre = np.repeat(np.arange(n_pre + 200), np.diff(ptr))
    adj[idx, pre] = True
    shared = (adj[:200].astype(int) @ adj[:200].T.astype(int))[np.triu_indices(200, 1)]
    # block construction: Binomial(K, 1/block) with block = 10 -> mean 10, SE ~ 3/sqrt(19900)
    assert abs(shared.mean() - K * K / n_pre) < 0.2


def test_heterogeneous_in_degree_matches_drawn_degrees():
    sizes = [2000, 500]
    paths = build_pathways(sizes, [[100, 25], [100, 25]], [(0, 1), (0, 1)], 1, cv_k=0.3)
    deg = in_degrees(2500, paths, 0.1, (0, 2000), (0, 2500))
    drawn = paths.kin[: sizes[0]]
    np.testing.assert_array_equal(deg[:2000], drawn)
    # gamma with CV 0.3, 2000 draws: CV estimate SE ~ 0.3/sqrt(2*2000)
    assert abs(deg.std() / deg.mean() - 0.3) < 4 * 0.3 / math.sqrt(4000) + 0.01


def test_bernoulli_rule_mean_out_degree():
    paths = build_pathways([3200, 800], None, [(0, 0), (0, 0)], 5, rule="bernoulli",
                           prob=[[0.02, 0.02], [0.02, 0.02]])
    ptr, idx, dly = build_csr(4000, paths, 0.1)
    out = np.diff(ptr)
    # Binomial(4000, 0.02): mean 80, variance 78.4
    assert abs(out.mean() - 80.0) < 4 * math.sqrt(78.4 / 4000)
    assert abs(out.var() - 78.4) < 4 * 78.4 * math.sqrt(2 / 4000)
    assert np.all(dly == 1)
