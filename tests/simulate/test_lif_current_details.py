"""The details of ``CurrentLIFNetwork`` that set ISI irregularity and synchrony (Brunel 2000).

Each check compares with a value fixed by the model's definition (models.md §5), not by the
simulator: the refractory clamp (V = V_r for τ_rp, inputs lost), the exact transmission
delay D, and external Poisson input that is independent from neuron to neuron. These are the
candidates for the low ISI CV and the population oscillation measured at g = 5, η = 2
(docs/lif_hybrid.md, "Brunel network vs Brian2"); all hold.
"""

from __future__ import annotations

import math

import numpy as np

from simulate.lif.current import CurrentLIFNetwork


def test_refractory_clamp_and_lost_inputs_give_exact_mean_isi():
    """Jumps J = 5.1 mV, V_r = 10, θ = 20 mV, τ = 1000 ms (the leak costs 0.01 mV per ms,
    against a margin of 0.2 mV: a wait beyond 20 ms has probability 4e−8): after the
    refractory period exactly two input events are needed. With inputs during refractoriness
    discarded the ISI is τ_rp + Gamma(2, λ), mean τ_rp + 2/λ = 4 ms. Had the inputs of the
    refractory period been kept, 57 % of the ISIs (two or more events within λτ_rp = 2)
    would end at the first step after release.

    Systematic: spikes and release fall on the step grid (step dt = 0.01 ms): |bias| ≤ dt.
    Statistical: 4 SE of the mean ISI, SE = √2/λ / √(number of ISIs).
    """
    lam_per_ms = 1.0                                   # K ν_x = 1 event per ms
    K = 1000
    n, t_end, dt, tau_rp = 200, 1000.0, 0.01, 2.0
    net = CurrentLIFNetwork(n_e=n, n_i=1, K=K, recurrent=False, J=5.1, tau=1000.0,
                            nu_x=1000.0 * lam_per_ms / K, dt=dt, tau_rp=tau_rp,
                            v_init=(10.0, 10.0))
    traj = net.run(t_end, seed=11, progress=False, record_dt=dt, record_v=[0], v_bins=1)
    ts, ids = traj["spikes/t"], traj["spikes/i"]
    sel = ids < n
    order = np.lexsort((ts[sel], ids[sel]))
    t_s, i_s = ts[sel][order], ids[sel][order]
    isi = np.diff(t_s)[i_s[1:] == i_s[:-1]]
    expected = tau_rp + 2.0 / lam_per_ms
    se = math.sqrt(2.0) / lam_per_ms / math.sqrt(isi.size)
    assert isi.size > 40000
    assert abs(isi.mean() - expected) <= dt + 4 * se, (isi.mean(), expected, se)
    assert isi.min() >= tau_rp - 1e-9                  # never shorter than τ_rp
    # V is clamped at V_r for the whole refractory period of neuron 0
    # (spike of step n at t0 = n dt; the sample after step m is at (m + 1) dt)
    st = t_s[i_s == 0]
    tv, v = traj["samples/t"], traj["samples/v_trace"][:, 0]
    for t0 in st[:50]:
        inside = (tv > t0 + 0.5 * dt) & (tv < t0 + tau_rp - 1.5 * dt)
        assert inside.sum() >= 150
        np.testing.assert_array_equal(v[inside], 10.0)


def test_transmission_delay_is_exact():
    """One E neuron projecting (K = 1) onto itself and an I neuron, both started above
    threshold: each spikes in the step [0, dt), and the E spike must arrive exactly D = 1.5 ms
    later, in the step [D, D + dt) (seen at the sample taken at its end, D + dt), as a jump
    of J on top of the exact leak (τ_rp = 0.5 ms so that the targets integrate by then)."""
    dt, D, J, tau = 0.1, 1.5, 0.3, 20.0
    net = CurrentLIFNetwork(n_e=1, n_i=1, K=1, gamma=1.0, J=J, g=0.0, nu_x=0.0, dt=dt,
                            delay=D, tau=tau, tau_rp=0.5, v_init=(25.0, 25.0))
    traj = net.run(4.0, seed=0, progress=False, record_dt=dt, record_v=[0, 1], v_bins=1)
    assert np.array_equal(np.sort(traj["spikes/t"]), [0.0, 0.0])
    t, v = traj["samples/t"], traj["samples/v_trace"]
    decay = math.exp(-dt / tau)
    jumps = v[1:] - v[:-1] * decay                      # input added in each step
    frozen = t[1:] <= 0.5 + 1e-9
    arrive = np.isclose(t[1:], D + dt)
    assert arrive.sum() == 1
    for k in range(2):
        np.testing.assert_allclose(jumps[arrive, k], J, atol=1e-12)
        np.testing.assert_allclose(jumps[~arrive & ~frozen, k], 0.0, atol=1e-12)


def test_external_poisson_input_is_independent_across_neurons():
    """Uncoupled neurons with J > θ (V stays ≥ 0) and τ_rp = 0: every step with an input
    event gives one spike (probability p = 1 − e^{−λ} per step, λ = K ν_x dt), so the
    population count of a 1-ms bin (s = 1/dt steps) is a sum of n independent Binomial(s, p)
    counts: mean n s p, Fano factor 1 − p. An external input shared by the neurons would
    give a Fano factor of order n. Statistical: SE of a sample Fano factor over m bins
    ≈ √(2/m), of the mean count √(n s p (1 − p)/m); 4 SE each."""
    n, dt, t_end, K, nu_x = 500, 0.1, 2000.0, 1000, 0.2    # K ν_x = 0.2 events per ms
    net = CurrentLIFNetwork(n_e=n, n_i=1, K=K, recurrent=False, J=20.5, tau_rp=0.0,
                            nu_x=nu_x, dt=dt)
    traj = net.run(t_end, seed=5, progress=False, record_dt=10.0, record_spikes=False,
                   v_bins=1)
    c = np.asarray(traj["rate/E"], float)
    p = 1.0 - math.exp(-K * nu_x / 1000.0 * dt)
    s = round(1.0 / dt)
    fano = c.var(ddof=1) / c.mean()
    assert abs(fano - (1 - p)) <= 4 * math.sqrt(2.0 / c.size), fano
    mean = n * s * p
    assert abs(c.mean() - mean) <= 4 * math.sqrt(mean * (1 - p) / c.size), (c.mean(), mean)


def _population_spikes(rng, n, rate_hz, t_ms, modulation=0.0, f0_hz=0.0):
    """Spikes of n neurons, inhomogeneous Poisson with rate ν(1 + m sin 2π f0 t), per 1-ms bin
    (times uniform inside the bin, ids uniform)."""
    t = np.arange(t_ms) + 0.5
    lam = n * rate_hz / 1000.0 * (1.0 + modulation * np.sin(2 * np.pi * f0_hz * t / 1000.0))
    c = rng.poisson(lam)
    ts = np.repeat(np.arange(t_ms), c) + rng.random(c.sum())
    return ts, rng.integers(0, n, c.sum()), {"E": n}


def test_population_oscillation_closed_forms():
    """Independent Poisson neurons: Fano factor 1, modulation 1/√(mean count). A rate modulated
    by m sin 2πf₀t: the peak at f₀ and modulation² = (m s)²/2 + 1/(mean count), s = sinc of
    the 1-ms bin, sin(π f₀ dt)/(π f₀ dt). Statistical: the sample variance over B bins has
    relative SE √(2/B); 4 SE."""
    from simulate.spike_stats import population_oscillation

    rng = np.random.default_rng(3)
    n, nu, T = 1000, 20.0, 20000
    flat = population_oscillation(_population_spikes(rng, n, nu, T), "E", 0.0, float(T))
    tol = 4 * math.sqrt(2.0 / T)
    assert abs(flat["fano"] - 1.0) <= tol
    assert abs(flat["rel_modulation"] / flat["poisson_modulation"] - 1.0) <= tol / 2 + 1e-3
    assert flat["peak_over_low"] < 4.0                 # no peak above the low band
    m, f0 = 0.5, 100.0
    mod = population_oscillation(_population_spikes(rng, n, nu, T, m, f0), "E", 0.0, float(T))
    s = math.sin(math.pi * f0 / 1000.0) / (math.pi * f0 / 1000.0)
    expected = math.sqrt((m * s) ** 2 / 2 + 1.0 / (n * nu / 1000.0))
    assert abs(mod["peak_hz"] - f0) <= 1000.0 / 256
    assert abs(mod["rel_modulation"] / expected - 1.0) <= tol
    assert mod["peak_over_low"] > 100.0
