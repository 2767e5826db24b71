"""Observables against closed forms on synthetic activity (simulate/observables.py).

Every synthetic input has a known answer: Poisson populations (flat spectrum 2ν/N, rate
variance 1000ν/(N·bin), chance SSI), sinusoidally modulated rates (a spectral line of power
(aν)²/2 at the modulation frequency), deterministic MFE trains made of Gaussian bumps (peak
heights in closed form), and perfectly synchronous spikes (SSI = 1).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from simulate import observables as obs
from simulate.activity import PopulationActivity
from simulate.validation import ParameterError

DT = 0.1  # ms


def poisson_activity(rate_hz, n, t_ms, seed, dt=DT, pop="E"):
    """Binned counts of n independent Poisson neurons (the sum is Poisson(n·r·dt))."""
    rng = np.random.default_rng(seed)
    k = int(round(t_ms / dt))
    c = rng.poisson(n * rate_hz * 1e-3 * dt, k)
    return PopulationActivity(np.arange(k) * dt, dt, {pop: c}, {pop: n})


def poisson_spikes(rate_hz, n, t_ms, seed, offset=0):
    """Individual spike times (ms) and ids of n independent Poisson neurons."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(rate_hz * 1e-3 * t_ms, n)
    ids = np.repeat(np.arange(n) + offset, counts)
    ts = rng.uniform(0.0, t_ms, counts.sum())
    return ts, ids


def activity_from_spikes(ts, ids, sizes, t_ms, dt=DT):
    pops = list(sizes)
    offsets, k = {}, 0
    for q in pops:
        offsets[q] = k
        k += sizes[q]
    nb = int(round(t_ms / dt))
    counts = {}
    for q in pops:
        sel = (ids >= offsets[q]) & (ids < offsets[q] + sizes[q])
        counts[q] = np.bincount(np.minimum((ts[sel] / dt).astype(int), nb - 1), minlength=nb)
    return PopulationActivity(np.arange(nb) * dt, dt, counts, dict(sizes), (ts, ids, offsets))


# ----------------------------------------------------------------------------- rates
def test_firing_rates_poisson_and_burn():
    # 300 neurons at 20 Hz for 10 s: total count ~ Poisson(60000), relative SD 0.41 %;
    # tolerance 4 SD = 1.6 %.
    act = poisson_activity(20.0, 300, 10_000.0, seed=1)
    r = obs.firing_rates(act, t_burn=200.0)
    assert r["E"] == pytest.approx(20.0, rel=0.016)
    # t_burn discards the first 200 ms exactly: compare with a hand count
    c = act.counts["E"][2000:]
    assert r["E"] == pytest.approx(1000.0 * c.sum() / (300 * len(c) * DT), rel=1e-12)


def test_firing_rates_e_key_for_assemblies():
    t = np.arange(1000) * DT
    act = PopulationActivity(t, DT, {"E1": np.full(1000, 0.3), "E2": np.full(1000, 0.1),
                                     "I": np.full(1000, 0.2)}, {"E1": 100, "E2": 300, "I": 100})
    r = obs.firing_rates(act, t_burn=0.0)
    # E1: 1000·0.3/(100·0.1) = 30 Hz; E2: 1000·0.1/(300·0.1) = 3.33 Hz; E: 0.4 spikes per bin
    # over 400 neurons = 10 Hz
    assert r["E1"] == pytest.approx(30.0)
    assert r["E2"] == pytest.approx(10.0 / 3.0)
    assert r["E"] == pytest.approx(10.0)


def test_rate_variance_poisson_closed_form():
    # Var of the 1-ms-binned rate of N Poisson neurons = 1000ν/(N·bin) Hz². The sample variance
    # of J = 20000 Poisson(λ = N ν bin/1000 = 6) bins has relative SD sqrt((1/λ + 2)/J) = 1.1 %;
    # tolerance 4 SD = 4.5 %.
    act = poisson_activity(20.0, 300, 20_000.0, seed=2)
    v = obs.rate_variance(act, "E", bin_ms=1.0)
    assert v == pytest.approx(1000 * 20.0 / (300 * 1.0), rel=0.045)
    with pytest.raises(ParameterError, match="bin_ms"):
        obs.rate_variance(act, "E", bin_ms=0.25)


# ----------------------------------------------------------------------------- synchrony
def test_ssi_independent_spikes_chance_value():
    # Expected SSI for independent Poisson neurons: [1 + (N-1)(1 - exp(-2wr))]/N.
    # SD: the summed neighbour count is twice the number of close pairs (~Poisson), so
    # SD(SSI) ≈ sqrt(2·S·(N-1)·2wr)/(S·N) ≈ 2e-4 for S ≈ 10^4 spikes; tolerance 5 SD = 1e-3.
    n, rate, t = 100, 20.0, 5000.0
    ts, ids = poisson_spikes(rate, n, t, seed=3)
    act = activity_from_spikes(ts, ids, {"E": n}, t)
    w, r = 0.5, rate * 1e-3
    expected = (1 + (n - 1) * (1 - math.exp(-2 * w * r))) / n
    assert obs.spike_synchrony_index(act, "E", window=w) == pytest.approx(expected, abs=1e-3)


def test_ssi_synchronous_spikes_is_one():
    n = 50
    events = np.arange(10.0, 1000.0, 25.0)
    rng = np.random.default_rng(4)
    ts = np.concatenate([e + rng.uniform(-0.2, 0.2, n) for e in events])  # jitter < w
    ids = np.tile(np.arange(n), len(events))
    act = activity_from_spikes(ts, ids, {"E": n}, 1000.0)
    assert obs.spike_synchrony_index(act, "E", window=0.5) == pytest.approx(1.0)
    # ...while the same spikes spread over 4 ms (> 2w) are clearly less synchronous
    ts4 = np.concatenate([e + rng.uniform(-2.0, 2.0, n) for e in events])
    act4 = activity_from_spikes(ts4, ids, {"E": n}, 1000.0)
    assert obs.spike_synchrony_index(act4, "E") < 0.5


def test_ssi_binned_poisson_expectation():
    # Binned estimator: E = 1/N + 2wr exactly for Poisson counts (size-biased count in the
    # spike's bin is 1 + λ). Neighbour counts ~ 2w N r = 6 per spike; SD of the mean over
    # S ≈ 60000 spikes ≈ sqrt(2·6/S)/N = 4.7e-5 (pairs counted twice); tolerance 5 SD = 2.4e-4.
    n, rate = 300, 20.0
    act = poisson_activity(rate, n, 10_000.0, seed=5)
    expected = 1 / n + 2 * 0.5 * rate * 1e-3
    assert obs.spike_synchrony_index(act, "E", window=0.5) == pytest.approx(expected, abs=2.4e-4)


def test_ssi_binned_matches_spikes_for_synchrony():
    n = 50
    events = np.arange(10.05, 1000.0, 25.0)
    ts = np.repeat(events, n)  # exactly synchronous, at bin centres
    ids = np.tile(np.arange(n), len(events))
    act = activity_from_spikes(ts, ids, {"E": n}, 1000.0)
    assert obs.spike_synchrony_index(act, method="spikes") == pytest.approx(1.0)
    assert obs.spike_synchrony_index(act, method="binned") == pytest.approx(1.0)


def test_ssi_population_selection_with_assemblies():
    t = 2000.0
    ts1, ids1 = poisson_spikes(10.0, 40, t, seed=6)
    ev = np.arange(5.0, t, 20.0)
    ts2 = np.repeat(ev, 60)
    ids2 = np.tile(np.arange(60), len(ev)) + 40
    ts, ids = np.concatenate([ts1, ts2]), np.concatenate([ids1, ids2])
    act = activity_from_spikes(ts, ids, {"E1": 40, "E2": 60}, t)
    assert obs.spike_synchrony_index(act, "E2") == pytest.approx(1.0)
    assert obs.spike_synchrony_index(act, "E1") < 0.1
    both = obs.spike_synchrony_index(act, "E")
    assert 0.1 < both < 1.0
    with pytest.raises(ParameterError, match="'I'"):
        obs.spike_synchrony_index(act, "I")


# ----------------------------------------------------------------------------- MFEs
def bump_train(masses, period=20.0, sigma=1.0, t0=20.0, dt=DT, background=0.0, seed=None,
               n=300):
    """Float counts: Gaussian bumps of total spikes ``masses[i]`` centred on bin edges."""
    t_ms = t0 + period * len(masses) + 20.0
    k = int(round(t_ms / dt))
    edges = np.arange(k + 1) * dt
    c = np.full(k, background * dt)
    centres = t0 + period * np.arange(len(masses))
    for mu, m in zip(centres, masses):
        cdf = norm.cdf((edges - mu) / sigma)
        c += m * np.diff(cdf)
    if seed is not None:
        c = np.random.default_rng(seed).poisson(c)
    return PopulationActivity(edges[:-1], dt, {"E": c}, {"E": n}), centres


def test_mfe_heights_closed_form_and_period2():
    # A Gaussian bump of M spikes (width σ) averaged over a 1-ms box centred on it peaks at
    # M·(2Φ(0.5/σ) − 1)/1 ms; alternating masses 200/120 give Δm = ±80·(2Φ(0.5) − 1).
    masses = [200.0, 120.0] * 10
    act, centres = bump_train(masses)
    res = obs.detect_mfes(act, "E")
    assert res.count == len(masses)
    np.testing.assert_allclose(res.times, centres, atol=1e-9)
    gain = 2 * norm.cdf(0.5) - 1
    np.testing.assert_allclose(res.heights, np.array(masses) * gain, rtol=1e-6)
    dm = obs.peak_height_differences(res)
    np.testing.assert_allclose(np.abs(dm), 80.0 * gain, rtol=1e-6)
    assert np.all(np.sign(dm[:-1]) == -np.sign(dm[1:]))
    assert obs.mfe_pattern(res) == "period-2"
    duration = len(act.t) * DT
    assert res.rate_hz == pytest.approx(1000.0 * len(masses) / duration)
    assert res.threshold == pytest.approx(10.0)  # 10 spikes/ms at N_E = 300


def test_mfe_threshold_scales_with_n():
    masses = [160.0] * 8  # peak 160·0.383 = 61 spikes/ms
    act, _ = bump_train(masses, n=300)
    assert obs.detect_mfes(act).count == 8
    act_big, _ = bump_train(masses, n=3000)  # threshold 100 spikes/ms: nothing qualifies
    assert obs.detect_mfes(act_big).count == 0
    assert obs.mfe_pattern(obs.detect_mfes(act_big)) == "none"


def test_mfe_min_separation():
    # two bumps 5 ms apart merge into one event with a 9-ms minimum separation
    act, _ = bump_train([150.0] * 12, period=5.0)
    res = obs.detect_mfes(act, min_separation_ms=9.0)
    assert np.all(np.diff(res.times) >= 9.0)
    assert obs.detect_mfes(act, min_separation_ms=4.0).count == 12


def test_mfe_pattern_noisy_period1_period2_irregular():
    # Poisson noise on events of M = 3000 spikes (N = 3000): the 1-ms box around a peak holds
    # ≈ 0.383·M = 1150 spikes, SD sqrt(1150) ≈ 34, i.e. ≈ 3 % of the height: the 10 % tolerance
    # of mfe_pattern is ≈ 3.4 SD for each height difference (SD sqrt(2)·3 % ≈ 4.2 %)... so a
    # 2.4-SD event; with 40 events the fraction criterion (90 %) allows 3 such outliers.
    rng = np.random.default_rng(7)
    act1, _ = bump_train([3000.0] * 40, background=30.0, seed=8, n=3000)
    assert obs.mfe_pattern(obs.detect_mfes(act1)) == "period-1"
    act2, _ = bump_train([3000.0, 1500.0] * 20, background=30.0, seed=9, n=3000)
    r2 = obs.detect_mfes(act2)
    assert obs.mfe_pattern(r2) == "period-2"
    dm = obs.peak_height_differences(r2)
    # mean |Δm| over 39 differences: SD ≈ 42/sqrt(39) ≈ 7 spikes/ms on 575; tolerance 5 %
    assert np.mean(np.abs(dm)) == pytest.approx(1500 * (2 * norm.cdf(0.5) - 1), rel=0.05)
    act3, _ = bump_train(list(rng.uniform(1000, 4000, 40)), background=30.0, seed=10, n=3000)
    assert obs.mfe_pattern(obs.detect_mfes(act3)) == "irregular"
    # the network-size case: 300 neurons, 300-spike events have ≈ 9 % height noise
    act4, _ = bump_train([300.0] * 40, background=3.0, seed=8)
    h = obs.detect_mfes(act4).heights
    assert np.std(h) / np.mean(h) == pytest.approx(1 / math.sqrt(0.383 * 300), rel=0.35)


def test_poisson_background_has_no_mfes():
    # 20 Hz × 300 neurons = 6 spikes/ms, SD of the 1-ms average sqrt(6) ≈ 2.4: the 10 spikes/ms
    # threshold is 1.6 SD above the mean, so peaks do occur; a threshold of 6 + 8·2.4 ≈ 26 does not.
    act = poisson_activity(20.0, 300, 5000.0, seed=11)
    assert obs.detect_mfes(act, height_per_neuron=26.0 / 300).count == 0


# ----------------------------------------------------------------------------- spectra
def test_poisson_spectrum_flat_at_2nu_over_n():
    # One-sided PSD of N Poisson neurons' mean rate = 2ν/N (Hz²/Hz). The average over all
    # frequencies equals (Parseval) the windowed sample variance, relative SD ≈
    # sqrt((1/λ + 2)/(n/2)) with λ = 0.6 per bin, n = 2·10^5 bins: 0.6 %; tolerance 3 %.
    nu, n = 20.0, 300
    act = poisson_activity(nu, n, 20_000.0, seed=12)
    sp = obs.power_spectrum(act, "E", segment_ms=250.0)
    assert sp.df == pytest.approx(4.0)
    inner = sp.psd[1:-1]
    assert np.mean(inner) == pytest.approx(2 * nu / n, rel=0.03)
    # flat: low and high bands agree with the same value; each band holds ~250 bins averaged
    # over ~159 segments: relative SD < 1 %; tolerance 5 %.
    low = sp.psd[(sp.freqs_hz > 10) & (sp.freqs_hz < 1000)]
    high = sp.psd[(sp.freqs_hz > 3000) & (sp.freqs_hz < 4000)]
    assert np.mean(low) == pytest.approx(2 * nu / n, rel=0.05)
    assert np.mean(high) == pytest.approx(2 * nu / n, rel=0.05)


def test_sinusoidal_rate_peak_frequency_and_power():
    # ν(t) = ν0 (1 + a sin 2π f0 t): a line at f0 carrying (a ν0)²/2 Hz² over a white floor
    # 2ν0/N. Sum of PSD·df within ±3 bins of the peak minus the floor ≈ (aν0)²/2. Noise:
    # cross-term fluctuation ~ 2 sqrt(P_line·P_noise_bins)/sqrt(K) ≈ 2 sqrt(50·1)/12 ≈ 1.2 Hz²
    # (2.4 %); tolerance 8 %.
    nu0, a, f0, n, t_ms = 20.0, 0.5, 47.0, 300, 40_000.0
    k = int(t_ms / DT)
    t = np.arange(k) * DT
    lam = n * nu0 * (1 + a * np.sin(2 * np.pi * f0 * t * 1e-3)) * 1e-3 * DT
    c = np.random.default_rng(13).poisson(lam)
    act = PopulationActivity(t, DT, {"E": c}, {"E": n})
    sp = obs.power_spectrum(act, "E", segment_ms=250.0)
    g = obs.gamma_peak(sp, band=(30.0, 90.0))
    assert abs(g.frequency_hz - f0) <= sp.df / 2
    near = np.abs(sp.freqs_hz - g.frequency_hz) <= 3 * sp.df + 1e-9
    line = np.sum(sp.psd[near]) * sp.df - near.sum() * sp.df * 2 * nu0 / n
    assert line == pytest.approx((a * nu0) ** 2 / 2, rel=0.08)
    # the band power contains the line plus the floor over 60 Hz
    assert g.band_power == pytest.approx((a * nu0) ** 2 / 2 + 60 * 2 * nu0 / n, rel=0.1)


def test_ode_float_counts_accepted():
    # An ODE flux F(t) (spikes/ms) times dt: counts are floats, no individual spikes.
    n, nu0, a, f0 = 300, 30.0, 0.8, 40.0
    t = np.arange(0, 2000.0, DT)
    flux = n * nu0 * 1e-3 * (1 + a * np.cos(2 * np.pi * f0 * t * 1e-3))
    act = PopulationActivity(t, DT, {"E": flux * DT}, {"E": float(n)})
    assert obs.firing_rates(act, t_burn=0.0)["E"] == pytest.approx(nu0, rel=1e-3)
    g = obs.gamma_peak(obs.power_spectrum(act, segment_ms=250.0))
    assert g.frequency_hz == pytest.approx(f0, abs=2.0)
    # a pure cosine of amplitude a ν0 has variance (a ν0)²/2: no noise here
    assert obs.rate_variance(act, bin_ms=0.1) == pytest.approx((a * nu0) ** 2 / 2, rel=1e-3)
    # peaks every 25 ms; t = 0 is the record's edge, not a peak: 25, 50, ..., 1975 -> 79.
    # Height: 9 spikes/ms · (1 + a·D), D = sin(10x/2)/(10 sin(x/2)), x = 2π f0 Δt, the
    # average of the cosine over the 10 samples of the 1-ms box (D = 0.99737), times
    # cos(x/2) because an even number of samples cannot be centred on the maximum sample.
    res = obs.detect_mfes(act)
    assert res.count == 79
    np.testing.assert_allclose(res.times, 25.0 * np.arange(1, 80), atol=0.1 + 1e-9)
    x = 2 * np.pi * f0 * 1e-3 * DT
    d = np.sin(5 * x) / (10 * np.sin(x / 2)) * np.cos(x / 2)
    np.testing.assert_allclose(res.heights, 9.0 * (1 + a * d), rtol=1e-6)
    assert obs.mfe_pattern(res) == "period-1"
    ssi = obs.spike_synchrony_index(act, "E")
    assert 1 / n < ssi < 1.0


def test_trajectory_input(tmp_path):
    from simulate.trajectory import Trajectory

    act = poisson_activity(20.0, 300, 1000.0, seed=14)
    traj = Trajectory("markov-if", {}, 0, ["E"], {"E": 300}, 1000.0,
                      {"rate/t": act.t, "rate/E": act.counts["E"]}, {"rate_dt": DT})
    assert obs.firing_rates(traj, t_burn=200.0)["E"] == pytest.approx(traj.rates_hz["E"])


# ----------------------------------------------------------------------------- validation
def test_bad_inputs_name_the_parameter():
    act = poisson_activity(20.0, 300, 500.0, seed=15)
    with pytest.raises(ParameterError, match="t_burn = 600"):
        obs.firing_rates(act, t_burn=600.0)
    with pytest.raises(ParameterError, match="t_burn"):
        obs.firing_rates(act, t_burn=-1.0)
    with pytest.raises(ParameterError, match="window"):
        obs.spike_synchrony_index(act, window=0.0)
    with pytest.raises(ParameterError, match="method = 'spikes'"):
        obs.spike_synchrony_index(act, method="spikes")
    with pytest.raises(ParameterError, match="height_per_neuron"):
        obs.detect_mfes(act, height_per_neuron=-1.0)
    with pytest.raises(ParameterError, match="smooth_ms"):
        obs.detect_mfes(act, smooth_ms=0.0)
    with pytest.raises(ParameterError, match="segment_ms"):
        obs.power_spectrum(act, segment_ms=0.3)
    with pytest.raises(ParameterError, match="band"):
        obs.gamma_peak(obs.power_spectrum(act, segment_ms=100.0), band=(90.0, 30.0))
    with pytest.raises(ParameterError, match="rel_tol"):
        obs.mfe_pattern([1.0] * 10, rel_tol=2.0)
    with pytest.raises(ParameterError, match="cannot read population activity"):
        obs.firing_rates(object())
