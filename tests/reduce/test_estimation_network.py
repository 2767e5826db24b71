"""Closed-loop checks of the fitted model on the Markov IF network at the defaults (slow).

The full study (several p_ei, bootstrap Hopf interval, the analytic MA in the same table) is
``python -m reduce.estimation.closed_loop``; results in docs/estimation.md.
"""

import warnings

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fitted_default():
    import simulate
    from reduce.estimation import TransitionRateEstimator

    tr = simulate.MarkovIFNetwork().run(t_end=3000.0, seed=11, coarse=True, record_dt=0.1,
                                        progress=False)
    tr.t_burn = 300.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = TransitionRateEstimator("ma", features="kicks2", t_burn=300.0).fit([tr])\
            .fetch_model()
    return tr, m


def test_fitted_ode_rates_within_5_percent_of_the_network(fitted_default):
    """Free-running ODE (from the data mean, 1500 ms, rates after 300 ms) against the
    network it was fitted on. Budget: 5% (issue 8). The network's own rate estimate over
    2.7 s has a statistical error well below 1% (measured across seeds: see docs)."""
    from reduce.estimation.validation import integrate_ode

    tr, m = fitted_default
    run = integrate_ode(m.ode(), m.x0(), 1500.0, dt_out=0.1, t_burn=300.0)
    for q in ("E", "I"):
        rel = abs(run.rates_hz[q] - tr.rates_hz[q]) / tr.rates_hz[q]
        assert rel < 0.05, (q, run.rates_hz, tr.rates_hz)


def test_fitted_chain_rates_variance_and_spectral_peak(fitted_default):
    """The finite-N chain (default scheme "step": discrete time with the lag as step;
    N_E = 300, N_I = 100, 3000 ms) of the kicks2 model against the network it was fitted on.

    Mean rates within 5 % (chain statistical error over 2.8 s: < 1 %; budget 5 % as for the
    ODE). Rate variance (1-ms bins) within the issue's 20 %. Margin: over 8 independent fits
    x 4 chain seeds (benchmarks/estimation_chain_fluct.py, docs/estimation.md) the step
    chain's relative error was -5.2 % (95 % CI -6.6 to -3.9) for E and -2.2 % (-4.7 to +0.2)
    for I. One comparison (one network run of 2.7 s, one chain run of 2.8 s) scatters
    around that mean: over the 32 single comparisons sd 2.4 % (E) and 3.7 % (I), range
    -11.2 to -1.3 % (E) and -9.8 to +5.5 % (I) (the network's own variance estimate scatters
    by 1.7 % / 2.6 % between runs, one chain run by 2.1 % / 2.8 %). The 20 % bound is 6 sd
    (E) and 4.8 sd (I) from the expected value: a failure means the chain or the
    fit changed, not bad luck. Spectral peak within two 2-Hz grid steps of the network's
    (measured: 0 to 2.5 Hz below)."""
    from reduce.estimation.validation import activity_statistics

    tr, m = fitted_default
    run = m.chain().run(3000.0, seed=5, dt=0.1, t_burn=200.0)
    assert run.scheme == "step"
    for q in ("E", "I"):
        assert abs(run.rates_hz[q] - tr.rates_hz[q]) / tr.rates_hz[q] < 0.05
    s_net = {q: activity_statistics(tr, q, t_burn=300.0) for q in ("E", "I")}
    s_ch = {q: activity_statistics(run, q, t_burn=200.0) for q in ("E", "I")}
    rel = {q: s_ch[q]["rate_var_hz2"] / s_net[q]["rate_var_hz2"] - 1 for q in ("E", "I")}
    for q in ("E", "I"):
        assert abs(rel[q]) < 0.2, (rel, s_ch, s_net)
    assert abs(s_ch["E"]["peak_hz"] - s_net["E"]["peak_hz"]) <= 4.0 + 1e-9, (s_ch, s_net)


def test_generator_estimand_on_the_exact_simulator_counts_every_spike():
    """Event logs of the exact simulator: the generator fit must see every spike as a jump
    into R (independent reference: the recorded spike times), and its exposures must add
    up to N x duration per population (exact bookkeeping)."""
    import simulate
    from reduce.estimation import TransitionRateEstimator

    tr = simulate.MarkovIFNetwork(method="exact").run(
        t_end=150.0, seed=2, coarse=True, events=True, record_dt=0.5, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = TransitionRateEstimator("ma", features=None, estimand="generator", min_count=1)\
            .fit([tr]).fetch_model()
    st = tr["samples/t"]
    ts, ids = tr["spikes/t"], tr["spikes/i"]
    for qi, q in enumerate(m.populations):
        into_r = sum(int(m.counts[c]) for c, (qq, _a, b) in enumerate(m.keys)
                     if qq == qi and b == len(m.labels) - 1)
        off, n = tr.offsets[q], tr.sizes[q]
        sel = (ts >= st[0]) & (ts < st[-1]) & (ids >= off) & (ids < off + n)
        assert into_r == int(sel.sum())
        assert abs(m.occupancy_exposure[qi].sum() - n * (st[-1] - st[0])) < 1e-6 * n * st[-1]
