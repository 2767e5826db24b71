"""Switching analysis against closed forms: telegraph process, birth-death MFPT, scaling fits."""

import numpy as np
import pytest

from bifurcation.switching import (
    dwell_times,
    fit_dwell_scaling,
    mean_first_passage_times,
    metastable_states,
    switching_rates,
    telegraph,
    transition_graph,
)


def test_switching_rate_intervals_have_nominal_coverage():
    # exponential dwell times of known rate: the exact chi-square interval must cover the
    # true rate in ~95% of 400 repetitions; binomial(400, 0.95) gives [364, 396] at 99.9%.
    rng = np.random.default_rng(7)
    rate, covered = 0.04, 0
    for _ in range(400):
        est = switching_rates({0: rng.exponential(1 / rate, size=40)})[0]
        covered += est.ci[0] <= rate <= est.ci[1]
    assert 364 <= covered <= 396


def test_pipeline_recovers_telegraph_rates():
    rates = (0.02, 0.05)  # per ms
    rng = np.random.default_rng(11)
    t, true, _ = telegraph(rates, 10000.0, 0.1, seed=12)
    # two noisy features; misclassification per point ~ Phi(-4.7), so no flicker filter needed.
    # Milestoning delays the label after a switch while the point lies outside the new core
    # (radius 0.25 x centre distance = 0.354; P(|2-D noise of sd 0.15| > 0.354) =
    # exp(-0.354^2 / (2 * 0.15^2)) = 0.062): ~0.066 samples per switch, ~290 switches,
    # ~19 of 20000 samples (0.1 %, Poisson sd 0.02 %). Bound: mean + 4 sd = 0.2 %.
    feat = np.column_stack([true + 0.15 * rng.standard_normal(len(t)),
                            -true + 0.15 * rng.standard_normal(len(t))])
    lab = metastable_states(feat[::5], t[::5], n_states=2)
    assert np.mean(lab == true[::5]) > 0.998
    est = switching_rates(dwell_times(lab, t[::5]))
    # visits shorter than the 0.5 ms sampling step are missed: a bias of about
    # rate * 0.5 ms <= 2.5 %, small against the ~15 % statistical width of the intervals.
    for s in (0, 1):
        assert est[s].ci[0] <= rates[s] <= est[s].ci[1]
        assert est[s].n >= 100  # expected 10000 ms / (50 + 20) ms ~ 143 visits each


def test_too_few_switches_warns_with_what_is_needed():
    t = np.arange(0, 100.0, 1.0)
    lab = (np.sin(t / 10) > 0).astype(int)
    with pytest.warns(UserWarning, match="at least 30"):
        switching_rates(dwell_times(lab, t))


def test_transition_graph_counts_visits():
    lab = np.array([0, 0, 1, 1, 1, 0, 2, 2, 0])
    g = transition_graph(lab)
    assert g[0][1]["count"] == 1 and g[1][0]["count"] == 1
    assert g[0][2]["count"] == 1 and g[2][0]["count"] == 1
    assert g.nodes[0]["visits"] == 3


def test_mfpt_birth_death_closed_form():
    # symmetric walk on {0..L}, rate k each way, reflecting at 0, target L:
    # tau_i = (L(L+1) - i(i+1)) / (2k)
    L, k = 12, 0.7
    Q = np.zeros((L + 1, L + 1))
    for i in range(L + 1):
        if i + 1 <= L:
            Q[i, i + 1] = k
        if i - 1 >= 0:
            Q[i, i - 1] = k
        Q[i, i] = -Q[i].sum()
    tau = mean_first_passage_times(Q, [L])
    i = np.arange(L + 1)
    np.testing.assert_allclose(tau, (L * (L + 1) - i * (i + 1)) / (2 * k), rtol=1e-12)


def test_fit_dwell_scaling_tells_exponential_from_power_law():
    N = np.array([100.0, 200, 400, 800])
    T_exp = 3.0 * np.exp(0.004 * N)
    fit = fit_dwell_scaling(N, T_exp, stderr=0.05 * T_exp)
    assert fit["exponential"]["b"] == pytest.approx(0.004, rel=1e-9)
    assert fit["exponential"]["chi2"] < 1e-12 < fit["power"]["chi2"]
    T_pow = 2.0 * N ** 1.5
    fit = fit_dwell_scaling(N, T_pow, stderr=0.05 * T_pow)
    assert fit["power"]["b"] == pytest.approx(1.5, rel=1e-9)
    assert fit["power"]["chi2"] < 1e-12 < fit["exponential"]["chi2"]


def test_telegraph_generator_dwell_statistics():
    # the shared synthetic reference: dwell means 1/rate, alternating states
    t, lab, sw = telegraph((0.02, 0.05), 2e5, 1.0, seed=3)
    d = np.diff(sw)
    d0, d1 = d[1::2], d[0::2][1:]   # visit k starts at sw[k-1]; state after sw[k] is (k+1) % 2
    # ~2900 visits each: the means are within 4 SE = 4 mean / sqrt(n) (~7 %)
    assert abs(d0.mean() * 0.02 - 1) < 4 / np.sqrt(len(d0))
    assert abs(d1.mean() * 0.05 - 1) < 4 / np.sqrt(len(d1))
    assert lab[0] == 0 and set(np.unique(lab)) == {0, 1}


def _lumpable_chain(block_sizes, coarse, rng):
    """Random non-reversible chain that lumps exactly onto ``coarse`` (m x m).

    Row l in block I: (1 - sum_{J != I} coarse[I, J]) times a random distribution inside I,
    plus coarse[I, J] times a random distribution over block J. Every row of block I then
    sends exactly coarse[I, J] to block J, so the block indicators span a T-invariant
    subspace whose restriction is ``coarse``: G-PCCA must return them (crispness 1) and
    coarse_T = coarse exactly.
    """
    edges = np.concatenate([[0], np.cumsum(block_sizes)])
    n = edges[-1]
    T = np.zeros((n, n))
    for I in range(len(block_sizes)):
        for row in range(edges[I], edges[I + 1]):
            for J in range(len(block_sizes)):
                w = rng.random(block_sizes[J]) ** 2
                T[row, edges[J]:edges[J + 1]] = coarse[I, J] * w / w.sum()
    return T, np.repeat(np.arange(len(block_sizes)), block_sizes)


def test_gpcca_recovers_lumpable_nonreversible_blocks():
    from bifurcation.gpcca import gpcca

    rng = np.random.default_rng(5)
    eps = 0.02
    # cyclic leakage 0 -> 1 -> 2 -> 0 (plus a little back): non-reversible, complex eigenvalues
    coarse = np.array([[1 - 1.5 * eps, eps, 0.5 * eps],
                       [0.5 * eps, 1 - 1.5 * eps, eps],
                       [eps, 0.5 * eps, 1 - 1.5 * eps]])
    T, blocks = _lumpable_chain([5, 7, 6], coarse, rng)
    assert np.max(np.abs(T - T.T)) > 0.01   # far from symmetric
    r = gpcca(T, 3)
    assert np.iscomplexobj(r.eigenvalues) and np.max(np.abs(r.eigenvalues.imag)) > 1e-3
    # the selected eigenvalues are those of the coarse matrix (closed form)
    np.testing.assert_allclose(np.sort_complex(r.eigenvalues),
                               np.sort_complex(np.linalg.eigvals(coarse)), atol=1e-10)
    # memberships crisp and equal to the blocks (up to a permutation)
    perm = np.array([np.bincount(r.assignment[blocks == b], minlength=3).argmax()
                     for b in range(3)])
    assert sorted(perm) == [0, 1, 2]
    np.testing.assert_array_equal(r.assignment, perm[blocks])
    assert r.crispness == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(r.chi.sum(axis=1), 1.0, atol=1e-12)
    assert r.chi.min() >= 0
    np.testing.assert_allclose(r.coarse_T[np.ix_(perm, perm)], coarse, atol=1e-6)


def test_gpcca_perturbed_chain_stays_close():
    from bifurcation.gpcca import gpcca

    rng = np.random.default_rng(8)
    eps = 0.01
    coarse = np.array([[1 - eps, eps], [2 * eps, 1 - 2 * eps]])
    T, blocks = _lumpable_chain([8, 8], coarse, rng)
    # a perturbation of size delta that breaks lumpability: memberships move by O(delta/gap)
    delta = 1e-3
    T = (1 - delta) * T + delta * rng.dirichlet(np.ones(16), size=16)
    r = gpcca(T, 2)
    perm = np.array([np.bincount(r.assignment[blocks == b], minlength=2).argmax()
                     for b in range(2)])
    np.testing.assert_array_equal(r.assignment, perm[blocks])
    # eigen-gap 1 - lambda_3 ~ 0.5 (random within-block rows), so the memberships deviate
    # from 0/1 by ~delta/0.5 = 2e-3; crispness within a few of those of 1.
    assert r.crispness > 0.99
    assert np.min(np.max(r.chi, axis=1)) > 0.98
    with pytest.raises(Exception, match="m = "):
        gpcca(T, 16)


def test_gpcca_states_agree_with_core_sets_on_telegraph():
    from bifurcation.switching import gpcca_states

    rates = (0.02, 0.05)   # per ms
    t, true, _ = telegraph(rates, 20000.0, 1.0, seed=21)
    rng = np.random.default_rng(22)
    feat = np.column_stack([true + 0.2 * rng.standard_normal(len(t)),
                            -true + 0.2 * rng.standard_normal(len(t))])
    core = metastable_states(feat, t, n_states=2)
    g = gpcca_states(feat, t, n_states=2, n_micro=20, seed=1)
    # G-PCCA labels follow the microstates: a point is misassigned when the 0.2-sd noise
    # carries it past the midpoint, P = Phi(-0.5 * sqrt(2) / 0.2) = 2e-4, ~4 of 20000 points
    # (4 Poisson sd: 12 points, 0.06 %).
    assert np.mean(g["labels"] == true) > 0.9994
    # the core sets (radius 0.354) lose samples after each switch to milestoning: a point is
    # outside the new core with P = exp(-0.354^2 / (2 * 0.2^2)) = 0.21, i.e. 0.26 samples per
    # switch, ~550 switches -> ~145 points (0.72 %, Poisson sd 0.06 %); bound mean + 4 sd.
    assert np.mean(g["labels"] == core) > 1 - 0.0072 - 4 * np.sqrt(145) / len(t)
    assert g["result"].crispness > 0.9
    # the MFPT of the microstate chain between the sets is the mean dwell 1/rate: the chain
    # has ~ 20000 * 2 / (50 + 20) ~ 570 transitions, 4 SE of a rate from ~285 events ~ 24 %;
    # the one-step (1 ms) chain adds a discretisation bias of about dt = 1 ms (< 5 %).
    est = switching_rates(dwell_times(g["labels"], t))
    for s, target in ((0, 1), (1, 0)):
        mf = g["mfpt"][s, target]
        assert abs(mf * rates[s] - 1) < 0.24, (s, mf)
        assert est[s].ci[0] <= rates[s] <= est[s].ci[1]


def test_gpcca_matches_pygpcca_peer():
    pygpcca = pytest.importorskip("pygpcca")
    from bifurcation.gpcca import gpcca

    rng = np.random.default_rng(9)
    coarse = np.array([[0.97, 0.02, 0.01], [0.01, 0.97, 0.02], [0.02, 0.01, 0.97]])
    T, _ = _lumpable_chain([4, 5, 6], coarse, rng)
    T = 0.999 * T + 0.001 * rng.dirichlet(np.ones(15), size=15)
    ours = gpcca(T, 3)
    peer = pygpcca.GPCCA(T, eta=np.full(15, 1 / 15), z="LM").optimize(3)
    assert abs(ours.crispness - peer.optimization_crispness) < 1e-3
