"""Closed-loop checks of the fitted model on the Markov IF network at the defaults (slow).

The full study (several p_ei, bootstrap Hopf interval, the analytic MA in the same table) is
``python -m reduce.estimation.closed_loop``; results in docs/estimation.md.
"""

import warnings

import numpy as np
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
        m = TransitionRateEstimator("ma", features="kicks", t_burn=300.0).fit([tr])\
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


def test_fitted_chain_rate_and_spectrum_peak(fitted_default):
    """The finite-N chain (N_E = 300, N_I = 100) against the network: mean rates within 5%
    and gamma peak of the E rate spectrum within 10% (Welch resolution at 1 ms bins and
    1024-point segments: 0.98 Hz; peaks near 65 Hz). The variance of the rate is reported
    in docs/estimation.md (a finding, not asserted here)."""
    from reduce.estimation.validation import activity_statistics

    tr, m = fitted_default
    run = m.chain().run(1000.0, seed=5, dt=0.1, t_burn=200.0)
    for q in ("E", "I"):
        assert abs(run.rates_hz[q] - tr.rates_hz[q]) / tr.rates_hz[q] < 0.05
    s_net = activity_statistics(tr, "E", t_burn=300.0)
    s_ch = activity_statistics(run, "E", t_burn=200.0)
    assert abs(s_ch["peak_hz"] - s_net["peak_hz"]) / s_net["peak_hz"] < 0.10
    assert np.isfinite(s_ch["rate_var_hz2"])
