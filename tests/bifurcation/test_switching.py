"""Switching analysis against closed forms: telegraph process, birth-death MFPT, scaling fits."""

import numpy as np
import pytest

from bifurcation.switching import (
    dwell_times,
    fit_dwell_scaling,
    mean_first_passage_times,
    metastable_states,
    switching_rates,
    transition_graph,
)


def _telegraph(rates, t_end, dt, rng):
    """Two-state Markov jump process sampled on a grid, plus Gaussian feature noise."""
    t = np.arange(0.0, t_end, dt)
    labels = np.empty(len(t), dtype=int)
    s, t_next = 0, rng.exponential(1 / rates[0])
    for i, ti in enumerate(t):
        while ti >= t_next:
            s = 1 - s
            t_next += rng.exponential(1 / rates[s])
        labels[i] = s
    return t, labels


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
    t, true = _telegraph(rates, 10000.0, 0.1, rng)
    # two noisy features; misclassification per point ~ Phi(-4.7), so no flicker filter needed
    feat = np.column_stack([true + 0.15 * rng.standard_normal(len(t)),
                            -true + 0.15 * rng.standard_normal(len(t))])
    lab = metastable_states(feat[::5], t[::5], n_states=2)
    assert np.mean(lab == true[::5]) > 0.999
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
