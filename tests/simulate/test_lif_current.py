"""CurrentLIFNetwork (Brunel 2000, models.md §5) against closed forms.

Tolerances: 4 combined standard errors over independent neurons (statistical) plus a stated
systematic budget.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import erfcx

import simulate
from simulate.lif.current import CurrentLIFNetwork
from simulate.spike_stats import rate_distribution
from simulate.validation import ParameterError


def siegert_rate(mu, sigma, tau, theta, v_r, tau_rp):
    yt, yr = (theta - mu) / sigma, (v_r - mu) / sigma
    integral, _ = quad(lambda x: erfcx(-x), yr, yt, limit=200)
    return 1.0 / (tau_rp + tau * math.sqrt(math.pi) * integral)


@pytest.mark.parametrize("nu_x", [9.0, 10.0])
def test_single_neuron_vs_siegert(nu_x):
    """K = 1000 inputs of J = 0.1 mV at nu_x: mu = K J tau nu, sigma^2 = J^2 K tau nu.

    Systematic budget (diffusion approximation of shot noise with jumps J): the rate change
    from shifting the threshold by one jump J either way (the leading finite-jump correction
    is an effective threshold shift of order J/2). Plus the step dt = 0.01 ms: relative
    2 nu dt < 1e-3. Statistical: 4 SE over 100 neurons.
    """
    K, J, tau = 1000, 0.1, 20.0
    lam = K * nu_x / 1000.0
    mu, sig = J * tau * lam, math.sqrt(J * J * tau * lam)
    nu = 1000 * siegert_rate(mu, sig, tau, 20.0, 10.0, 2.0)
    d_s = max(abs(1000 * siegert_rate(mu, sig, tau, 20.0 + s, 10.0, 2.0) - nu) for s in (-J, J))
    n, t_end = 100, 4000.0
    net = CurrentLIFNetwork(n_e=n, n_i=1, K=K, recurrent=False, nu_x=nu_x, dt=0.01)
    traj = net.run(t_end, seed=7, progress=False, record_dt=10.0)
    sel = traj["spikes/i"] < n
    r = rate_distribution((traj["spikes/t"][sel], traj["spikes/i"][sel], {"E": n}), 200.0,
                          t_end)["E"]
    se = r.std(ddof=1) / math.sqrt(n)
    assert abs(r.mean() - nu) <= d_s + 1e-3 * nu + 4 * se, (r.mean(), nu, d_s, se)


def test_leak_and_jumps_exact():
    """No external input; V0 = 15 mV decays as 15 e^{-t/tau} (closed form, e_l = 0)."""
    net = CurrentLIFNetwork(n_e=4, n_i=1, K=1, recurrent=False, nu_x=0.0, v_init=(15.0, 15.0))
    traj = net.run(30.0, seed=0, progress=False, record_v=[1])
    t = traj["samples/t"]
    np.testing.assert_allclose(traj["samples/v_trace"][:, 0], 15.0 * np.exp(-t / 20.0),
                               atol=1e-10)


def test_defaults_are_brunels():
    net = CurrentLIFNetwork()
    assert net.sizes == {"E": 10000, "I": 2500}
    p = net.params
    assert (p["K"], p["J"], p["g"], p["eta"], p["delay"], p["tau_rp"]) == (1000, 0.1, 5.0, 2.0,
                                                                          1.5, 2.0)
    # nu_thr = theta / (J C_E tau) = 20 / (0.1 * 1000 * 20 ms) = 10 Hz
    assert net.nu_thr_hz == pytest.approx(10.0)
    assert net.nu_x_hz == pytest.approx(20.0)


def test_small_network_runs_and_is_deterministic():
    net = CurrentLIFNetwork(n_e=800, K=80, J=0.25, g=6.0, eta=4.0)
    t1 = net.run(200.0, seed=3, progress=False)
    t2 = net.run(200.0, seed=3, progress=False)
    np.testing.assert_array_equal(t1["spikes/i"], t2["spikes/i"])
    assert t1.model == "current-lif" and t1["spikes/t"].size > 0
    assert simulate.CurrentLIFNetwork is CurrentLIFNetwork


@pytest.mark.parametrize("kw, words", [
    ({"J": 0.0}, ["J", "(0, 100]"]),
    ({"K": 20000}, ["K = 20000", "n_e"]),
    ({"delay": 0.01}, ["delay", "dt"]),
    ({"v_r": 30.0}, ["v_r", "20"]),
    ({"eta": 2.0, "nu_x": 5.0}, ["either eta or nu_x"]),
    ({"nu_x": 50000.0}, ["nu_x", "Hz"]),
    ({"tau": -1.0}, ["tau", "ms"]),
])
def test_bad_input(kw, words):
    with pytest.raises(ParameterError) as err:
        CurrentLIFNetwork(**kw)
    for w in words:
        assert w in str(err.value)


def test_with_params():
    net = CurrentLIFNetwork(n_e=1000, K=100, nu_x=15.0)
    assert net.with_params(n_e=2000).sizes == {"E": 2000, "I": 500}
    assert net.with_params(eta=3.0).nu_x_hz == pytest.approx(3.0 * net.nu_thr_hz)
