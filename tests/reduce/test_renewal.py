"""Self-consistent renewal-input theory (reduce.meanfield.renewal): checks that can fail.

References are independent of the code under test: the white-noise first-passage CV and the
Siegert rate (closed-form quadratures), the network kernel of simulate.lif (a second
implementation of the same conductance neuron), and the exact moments of a sampled ISI pool.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from reduce.meanfield.brunel import BrunelTheory
from reduce.meanfield.firstpassage import first_passage_moments
from reduce.meanfield.renewal import (
    RenewalInputNeuron,
    brunel_renewal,
    conductance_renewal,
    sample_renewal_trains,
)
from reduce.meanfield.siegert import siegert_rate
from simulate.validation import ParameterError

# Broadie-Glasserman-Kou: a Gaussian walk monitored at steps of std s crosses a barrier b as
# the continuous process crosses b + BETA*s, BETA = -zeta(1/2)/sqrt(2 pi)
BETA = 0.5825971579390106


def _fp_cv(mu, sig, tau, theta, v_r, tau_rp):
    """White-noise CV from the first two first-passage moments (reduce.meanfield.firstpassage,
    a quadrature independent of the Siegert CV formula)."""
    lo = min(mu, v_r) - 12.0 * sig
    t1, t2 = first_passage_moments(lambda v: (mu - v) / tau, lambda v: sig**2 / tau + 0 * v,
                                   lo, v_r, theta)
    return math.sqrt(t2 - t1 * t1) / (tau_rp + t1)


def test_poisson_input_matches_white_noise_theory():
    """One iteration with Poisson input at Brunel's (5, 2) point (ν_in = Siegert rate).

    Reference: the Siegert rate and the first-passage CV at the effective threshold
    θ_eff = θ + β σ √(dt/τ) (discrete monitoring at dt, BGK correction; 0.063 mV at
    dt = 0.02 ms). Systematic budget: shot noise of the δ-jumps, an effective threshold
    shift within ±J/2: |f(θ_eff ± J/2) − f(θ_eff)|. Statistical: 4 SE over M = 120 neurons.
    """
    th = BrunelTheory(g=5.0, eta=2.0)
    nu = float(th.self_consistent().rates_hz[0])
    mu, sig = th.mu_sigma(nu)
    dt, J, tau = 0.02, 0.1, 20.0
    nrn = RenewalInputNeuron("current", g=5.0, nu_x=th.nu_ext, dt=dt)
    r = nrn.response(nu, None, n_neurons=120, t_sim=2000.0, seed=11)
    assert r.input == "poisson"
    th_eff = 20.0 + BETA * sig * math.sqrt(dt / tau)

    def rate(t):
        return 1000.0 * float(siegert_rate(mu, sig, tau, t, 10.0, 2.0))

    rate_ref = rate(th_eff)
    rate_b = max(abs(rate(th_eff + d) - rate_ref) for d in (-J / 2, J / 2))
    assert abs(r.rate_hz - rate_ref) <= rate_b + 4 * r.rate_se_hz
    cv_ref = _fp_cv(mu, sig, tau, th_eff, 10.0, 2.0)
    cv_b = max(abs(_fp_cv(mu, sig, tau, th_eff + d, 10.0, 2.0) - cv_ref) for d in (-J / 2, J / 2))
    assert 0.6 < cv_ref < 0.75
    assert abs(r.cv - cv_ref) <= cv_b + 4 * r.cv_se


def _assert_same_as_network(r, net, n, t0, t_end, seed):
    """Rate and windowed CV of the model neurons ``r`` (Poisson input) against the first
    ``n`` neurons of ``net`` (recurrent=False, the same input law) run with ``seed``: 4
    combined SEs, the same per-neuron CV estimator on both (window: the whole recording)."""
    from simulate.spike_stats import isi_cv_summary, rate_distribution

    traj = net.run(t_end, seed=seed, progress=False, record_dt=10.0)
    sel = traj["spikes/i"] < n
    sim = (traj["spikes/t"][sel], traj["spikes/i"][sel], {"E": n})
    rates = rate_distribution(sim, t0, t_end)["E"]
    m2, s2 = rates.mean(), rates.std(ddof=1) / math.sqrt(n)
    assert 10.0 < m2 < 100.0
    assert abs(r.rate_hz - m2) <= 4 * math.hypot(r.rate_se_hz, s2)
    cv_net = isi_cv_summary(sim, "E", t0, t_end, None, 5)
    assert abs(r.cv_window - cv_net["cv"]) <= 4 * math.hypot(r.cv_window_se, cv_net["se"])


def test_conductance_poisson_input_matches_network_kernel():
    """Conductance neuron, Poisson input: the same law as simulate.ConductanceLIFNetwork with
    recurrent=False, nu_x = ν_X + ν (K excitatory Poisson inputs) and nu_x_inh = ν (γK
    inhibitory ones) — a second implementation of the same model and time grid, so no
    systematic budget: 4 combined SEs."""
    from simulate import ConductanceLIFNetwork

    K, a, g, nu_x, nu, n, t_end, t0 = 100, 0.01, 20.0, 20.0, 30.0, 150, 2200.0, 200.0
    nrn = RenewalInputNeuron("conductance", K=K, a=a, g=g, nu_x=nu_x)
    r = nrn.response(nu, None, n_neurons=n, t_sim=t_end - t0, t_warm=t0, seed=5,
                     cv_window_ms=t_end - t0)
    net = ConductanceLIFNetwork(K=K, a=a, g=g, nu_x=nu_x + nu, nu_x_inh=nu, recurrent=False,
                                n_e=n, n_i=1)
    _assert_same_as_network(r, net, n, t0, t_end, seed=6)


def test_sampler_reproduces_rate_cv_and_stationarity():
    """A gamma ISI law (shape 4, CV 0.5) in: rate, CV and the stationary start out.

    Rate: n_trains·T·ν expected spikes; SE from the renewal counting variance ν T CV²
    per train. CV: the pool's own CV (exact for resampling with replacement); the ISIs are iid
    draws, and the SE of a CV from n iid gamma(4) draws is CV·√((1 + 2CV²)/(2n)) ≈ 0.43/√n,
    bounded here by 1/√n. Stationarity: in
    [0, 0.2 mean ISI) a stationary train has ν t = 0.2 spikes on average (a train started
    at a spike would have ≥ 1, one started at an ordinary ISI ≈ 0.002); Poisson bound on
    the count variance (the count is 0 or 1 almost surely, variance ≤ mean).
    """
    rng = np.random.default_rng(0)
    pool = rng.gamma(4.0, 1.0, 20000)
    cv_pool = pool.std() / pool.mean()
    nu, n_tr, T = 40.0, 300, 4000.0
    t, ids = sample_renewal_trains(pool, nu, n_tr, T, seed=3)
    expected = nu * T / 1000.0 * n_tr
    se = math.sqrt(expected * cv_pool**2)
    assert abs(t.size - expected) <= 4 * se
    order = np.lexsort((t, ids))
    t, ids = t[order], ids[order]
    same = ids[1:] == ids[:-1]
    isi = np.diff(t)[same]
    # complete intervals inside [0, T) are biased short: their sum is T minus the forward and
    # backward recurrence times at the edges (mean μ(1 + CV²)/2 each), their number
    # m = T/μ − 1 per train, so E[mean] ≈ μ(1 − CV²/m): budget μ CV²/m besides 4 SE
    mu = 1000.0 / nu
    censor = mu * cv_pool**2 / (T / mu - 1.0)
    assert abs(isi.mean() - mu) <= 4 * isi.std() / math.sqrt(isi.size) + censor
    assert abs(isi.std() / isi.mean() - cv_pool) <= 4 / math.sqrt(isi.size)
    assert np.all((t >= 0) & (t < T))
    # stationary start
    w = 0.2 * 1000.0 / nu
    t0, _ = sample_renewal_trains(pool, nu, 20000, w, seed=4)
    mean0 = nu * w / 1000.0 * 20000
    assert abs(t0.size - mean0) <= 4 * math.sqrt(mean0)


def test_iteration_converges_to_a_fixed_point():
    """Small case (Brunel (5, 2), M = 80, 1.5 s): the iteration converges, and the converged
    ISI law reproduces itself: one more response with its own ISIs as input gives the same
    CV (4 combined SE + the reported truncation tail) and the input rate (4 SE). Regression
    of the finding (docs/meanfield.md §3b): the renewal CV is well below the white-noise
    (Siegert) CV 0.675 — the Poisson iteration itself must stay near it."""
    res = brunel_renewal(5.0, 2.0, n_neurons=80, t_sim=1500.0, max_iter=12, seed=2)
    assert res.converged, res.message
    h0 = res.poisson
    assert h0["input"] == "poisson" and abs(h0["cv"] - res.params["siegert_cv"]) < 0.05
    assert res.cv < res.params["siegert_cv"] - 0.15
    nrn = RenewalInputNeuron("current", g=5.0, nu_x=BrunelTheory(g=5.0, eta=2.0).nu_ext)
    nu_in = res.history[-1]["nu_in_hz"]
    again = nrn.response(nu_in, res.isi_ms, n_neurons=80, t_sim=1500.0, seed=99)
    assert abs(again.cv - res.cv) <= 4 * math.hypot(again.cv_se, res.cv_se) + res.cv_tail
    assert abs(again.rate_hz - nu_in) <= 4 * math.hypot(again.rate_se_hz, res.rate_se_hz)
    assert abs(again.cv_in - res.cv) < 1e-12


def test_conductance_renewal_runs_and_reports():
    """The conductance variant (used by the strong-coupling case): converges at K = 100,
    a = 0.01, g = 20, ν_X = 20 Hz and reports the diffusion theory beside its own result."""
    res = conductance_renewal(K=100, a=0.01, g=20.0, nu_x=20.0, n_neurons=60, t_sim=1500.0,
                              seed=1)
    assert res.converged, res.message
    assert np.isfinite(res.params["theory_rate_hz"]) and 0.3 < res.cv < 1.0
    s = res.summary()
    assert s["history"][0]["input"] == "poisson" and s["rate_hz"] == res.rate_hz


def test_bad_input_is_named():
    with pytest.raises(ParameterError, match="model"):
        RenewalInputNeuron("binary")
    with pytest.raises(ParameterError, match="J"):
        RenewalInputNeuron("current", J=-1.0)
    with pytest.raises(ParameterError, match="unknown|tau_l"):
        RenewalInputNeuron("current", tau_l=10.0)
    with pytest.raises(ParameterError, match="isi_shape"):
        sample_renewal_trains([1.0], 10.0, 2, 100.0)
    with pytest.raises(ParameterError, match="nu_in_hz"):
        RenewalInputNeuron("current").response(-1.0)


def test_trains_input_of_poisson_trains_equals_poisson_input():
    """``source`` input (recorded trains, random phase, periodic, time-scaled to ν_in) made
    of Poisson trains at 20 Hz, driven at ν_in = 30 Hz, is Poisson input at 30 Hz: same rate
    and CV as ``isi_shape=None`` within 4 combined SE (independent seeds; the periodic wrap
    adds one non-Poisson interval per 4-s train, negligible)."""
    from dataclasses import replace

    nrn = RenewalInputNeuron("current", g=5.0, nu_x=20.0, dt=0.1)
    ref = nrn.response(30.0, None, n_neurons=100, t_sim=2000.0, seed=21)
    rng = np.random.default_rng(5)
    m, t_rec = 300, 4000.0
    counts = rng.poisson(20.0 * t_rec / 1000.0, m)
    times = np.concatenate([np.sort(rng.uniform(0, t_rec, c)) for c in counts])
    ptr = np.concatenate([[0], np.cumsum(counts)])
    src = replace(ref, trains=(times, ptr, t_rec))
    out = nrn.response(30.0, None, n_neurons=100, t_sim=2000.0, seed=22, source=src)
    assert out.input == "trains"
    assert abs(out.rate_hz - ref.rate_hz) <= 4 * math.hypot(out.rate_se_hz, ref.rate_se_hz)
    assert abs(out.cv - ref.cv) <= 4 * math.hypot(out.cv_se, ref.cv_se)
    # a regular source (every 50 ms, CV 0) must drive the neuron differently
    reg = [np.arange(rng.uniform(0, 50), t_rec, 50.0) for _ in range(m)]
    rptr = np.concatenate([[0], np.cumsum([x.size for x in reg])])
    src2 = replace(ref, trains=(np.concatenate(reg), rptr, t_rec))
    out2 = nrn.response(30.0, None, n_neurons=100, t_sim=2000.0, seed=23, source=src2)
    assert ref.cv - out2.cv > 10 * math.hypot(out2.cv_se, ref.cv_se)


def test_current_poisson_input_matches_network_kernel():
    """Current-based neuron, Poisson input without inhibition (γ = 0): the same law as
    simulate.CurrentLIFNetwork(recurrent=False) with nu_x = ν_X + ν — a second implementation
    on the same grid, so no systematic budget: 4 combined SEs on rate and windowed CV."""
    from simulate import CurrentLIFNetwork

    nu_x, nu, n, t_end, t0 = 6.0, 5.0, 150, 2200.0, 200.0
    nrn = RenewalInputNeuron("current", g=5.0, gamma=0.0, nu_x=nu_x)
    r = nrn.response(nu, None, n_neurons=n, t_sim=t_end - t0, t_warm=t0, seed=7,
                     cv_window_ms=t_end - t0)
    net = CurrentLIFNetwork(n_e=n, n_i=1, K=1000, recurrent=False, nu_x=nu_x + nu)
    _assert_same_as_network(r, net, n, t0, t_end, seed=8)
