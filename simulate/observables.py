"""Observables of population activity: rates, synchrony, multiple-firing events, spectra.

Every function accepts anything :func:`simulate.activity.as_activity` understands: a network
:class:`~simulate.trajectory.Trajectory`, the result of an ODE or chain integration that
provides ``.activity()``, or a :class:`~simulate.activity.PopulationActivity` itself. Counts
may be integers (spikes of a network) or floats (an ODE spike flux F(t) times the bin width).

Notation. Population Q has N_Q neurons; the activity is given on bins of width Δt (ms) with
left edges t_k and population spike counts c_k. The rate in Hz per neuron is

    r(t_k) = 1000 · c_k / (N_Q · Δt),

and the population rate in spikes per ms is c_k / Δt. With two excitatory assemblies
(E1, E2) the population name ``"E"`` means all excitatory neurons together.

The definitions follow the literature on the Markov IF network (models.md §1, "Observables
the literature uses"): firing rate per population, the spike synchrony index (SSI), detection of
multiple-firing events (MFEs) on the 1-ms smoothed E rate, successive peak-height differences
Δm, and the power spectrum of the population rate.

Examples
--------
>>> import numpy as np
>>> from simulate.activity import PopulationActivity
>>> rng = np.random.default_rng(0)
>>> act = PopulationActivity(np.arange(20000) * 0.1, 0.1,
...                          {"E": rng.poisson(300 * 0.02 * 0.1, 20000)}, {"E": 300})
>>> round(firing_rates(act, t_burn=0.0)["E"])
20
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .activity import PopulationActivity, as_activity
from .validation import ParameterError, check_number, check_positive_int

__all__ = [
    "firing_rates",
    "spike_synchrony_index",
    "detect_mfes",
    "MFEResult",
    "peak_height_differences",
    "mfe_pattern",
    "power_spectrum",
    "Spectrum",
    "gamma_peak",
    "GammaPeak",
    "rate_variance",
    "smoothed_population_rate",
    "DEFAULT_HEIGHT_PER_NEURON",
]

#: MFE height threshold per neuron, spikes per ms: the MA code's 10 spikes/ms at N_E = 300.
DEFAULT_HEIGHT_PER_NEURON = 10.0 / 300.0


# ----------------------------------------------------------------------------- helpers
def _activity(obj) -> PopulationActivity:
    act = as_activity(obj)
    if len(act.t) == 0:
        raise ParameterError("the activity is empty (no time bins); run longer")
    return act


def _end(act: PopulationActivity) -> float:
    return float(act.t[-1] + act.dt)


def _burned(act: PopulationActivity, t_burn: float) -> PopulationActivity:
    t_burn = check_number("t_burn", t_burn, 0.0, unit="ms")
    end = _end(act)
    if t_burn >= end - act.dt / 2:
        raise ParameterError(
            f"t_burn = {t_burn:g} is outside the valid range [0, {end:g}) ms: the activity "
            f"ends at {end:g} ms; lower t_burn or run longer"
        )
    return act.window(t_burn) if t_burn > 0 else act


def _members(act: PopulationActivity, pop: str) -> list[str]:
    """The populations that make up ``pop`` ("E" = E1 + E2 when there is no "E")."""
    if pop in act.counts:
        return [pop]
    if pop == "E":
        exc = [q for q in act.counts if q.startswith("E")]
        if exc:
            return exc
    valid = list(act.counts) + (["E"] if any(q.startswith("E") for q in act.counts) else [])
    raise ParameterError(
        f"pop = {pop!r} is not one of the populations of this activity: "
        + ", ".join(repr(q) for q in dict.fromkeys(valid))
    )


def _counts(act: PopulationActivity, pop: str) -> tuple[np.ndarray, float]:
    """Population counts per bin and population size."""
    members = _members(act, pop)
    c = np.zeros(len(act.t), float)
    for q in members:
        c += np.asarray(act.counts[q], float)
    if not np.all(np.isfinite(c)):
        raise ParameterError(f"the activity of population {pop!r} contains non-finite counts")
    return c, float(sum(act.sizes[q] for q in members))


# ----------------------------------------------------------------------------- rates
def firing_rates(obj, t_burn: float = 200.0) -> dict:
    """Mean firing rate of every population, Hz per neuron.

    .. math::  \\bar r_Q = \\frac{1000}{N_Q\\,(t_{end} - t_{burn})} \\sum_{t_k \\ge t_{burn}} c_k

    Parameters
    ----------
    obj : Trajectory, PopulationActivity, or integration result
        Anything :func:`~simulate.activity.as_activity` accepts.
    t_burn : float
        Start of the averaging window, ms (default 200, the transient is discarded).

    Returns
    -------
    dict[str, float]
        Rate per population; with assemblies E1, E2 also ``"E"`` (all excitatory neurons).
    """
    act = _burned(_activity(obj), t_burn)
    rates = act.mean_rates_hz(0.0)
    exc = [q for q in act.counts if q.startswith("E") and q != "E"]
    if exc and "E" not in rates:
        rates["E"] = sum(rates[q] * act.sizes[q] for q in exc) / sum(act.sizes[q] for q in exc)
    return rates


def rate_variance(obj, pop: str = "E", bin_ms: float = 1.0, t_burn: float = 0.0) -> float:
    """Variance over time of the population rate on bins of ``bin_ms``, Hz².

    Counts are summed over consecutive groups of b = ``bin_ms``/Δt bins (a trailing partial
    group is dropped); with C_j the population count of group j,

    .. math::  x_j = \\frac{1000\\, C_j}{N_Q\\, b\\,Δt}, \\qquad
               \\mathrm{Var} = \\frac{1}{J - 1}\\sum_j (x_j - \\bar x)^2 .

    For independent Poisson neurons of rate ν (Hz), Var = 1000 ν / (N_Q · bin_ms); an excess
    measures synchrony.

    Parameters
    ----------
    obj : Trajectory, PopulationActivity, or integration result
    pop : str
        Population name.
    bin_ms : float
        Bin width, ms; an integer multiple of the activity's Δt.
    t_burn : float
        Start of the window, ms.
    """
    act = _burned(_activity(obj), t_burn)
    c, n = _counts(act, pop)
    bin_ms = check_number("bin_ms", bin_ms, 0.0, lo_open=True, unit="ms")
    b = bin_ms / act.dt
    if abs(b - round(b)) > 1e-6 * max(1.0, b) or round(b) < 1:
        raise ParameterError(
            f"bin_ms = {bin_ms:g} must be a positive integer multiple of the activity's bin "
            f"width {act.dt:g} ms"
        )
    b = int(round(b))
    j = len(c) // b
    if j < 2:
        raise ParameterError(
            f"bin_ms = {bin_ms:g} leaves fewer than 2 bins in {len(c) * act.dt:g} ms of "
            "activity; use smaller bins or a longer run"
        )
    grouped = c[: j * b].reshape(j, b).sum(axis=1)
    x = 1000.0 * grouped / (n * b * act.dt)
    return float(np.var(x, ddof=1))


# ----------------------------------------------------------------------------- synchrony
def _ssi_kernel():
    from numba import njit

    @njit(cache=True)
    def ssi_distinct(times, ids, window, n_ids):  # pragma: no cover - compiled
        n = times.size
        stamp = np.full(n_ids, -1, np.int64)
        total = 0.0
        lo = 0
        hi = 0
        for i in range(n):
            t = times[i]
            while times[lo] < t - window:
                lo += 1
            while hi < n and times[hi] <= t + window:
                hi += 1
            c = 0
            for j in range(lo, hi):
                k = ids[j]
                if stamp[k] != i:
                    stamp[k] = i
                    c += 1
            total += c
        return total

    return ssi_distinct


_SSI_KERNEL = None


def _window_kernel(window: float, dt: float) -> np.ndarray:
    """Weights K_j = |[-w, w] ∩ [jΔt - Δt/2, jΔt + Δt/2]| / Δt, so that Σ_j K_j Δt = 2w."""
    h = int(math.ceil(window / dt + 0.5))
    j = np.arange(-h, h + 1)
    left = np.maximum(j * dt - dt / 2, -window)
    right = np.minimum(j * dt + dt / 2, window)
    return np.clip(right - left, 0.0, None) / dt


def spike_synchrony_index(obj, pop: str = "E", window: float = 0.5, t_burn: float = 0.0,
                          method: str = "auto") -> float:
    """Spike synchrony index: mean over spikes of the fraction of the population firing nearby.

    From individual spikes (``method="spikes"``; default when the activity has them): for each
    spike s of population Q at time t_s, let n_s be the number of *distinct* neurons of Q
    (the spiking neuron included) with a spike in [t_s − w, t_s + w]; then

    .. math::  \\mathrm{SSI} = \\frac{1}{S}\\sum_{s=1}^{S} \\frac{n_s}{N_Q} \\in [1/N_Q, 1].

    Perfectly synchronous firing gives 1. For N independent Poisson neurons of rate r
    (per ms) the expected value is

    .. math::  \\mathrm{SSI}_{chance} = \\frac{1 + (N-1)\\,(1 - e^{-2 w r})}{N}
               \\approx \\frac{1}{N} + 2 w r .

    From binned counts (``method="binned"``; the only choice for an ODE flux, which has no
    individual spikes): spikes are located only to their bin, and the spikes near a spike in
    bin k are estimated with the window kernel K_j (the overlap of [−w, w] with bin k + j
    centred on bin k, in units of Δt, so Σ_j K_j = 2w/Δt):

    .. math::  \\mathrm{SSI}_{bin} = \\frac{\\sum_k c_k \\min\\big(1, \\sum_j K_j c_{k+j}/N_Q\\big)}
                                     {\\sum_k c_k}.

    Approximation: this counts spikes rather than distinct neurons, includes the other spikes
    of the same bin with full weight whatever their distance, and smears the window edge over
    one bin. For independent Poisson neurons it has the expectation 1/N + 2wr exactly (the
    same as the spike version to first order in wr); for synchronous events wider than
    2w it can differ from the spike version by the fraction of an event's spikes that fall in
    the ragged window edge, i.e. by O(Δt / event width).

    Parameters
    ----------
    obj : Trajectory, PopulationActivity, or integration result
    pop : str
        Population (``"E"`` includes E1 and E2 when present).
    window : float
        Half-width w of the coincidence window, ms (0.5 in the literature).
    t_burn : float
        Only spikes at or after ``t_burn`` (ms) are used.
    method : {"auto", "spikes", "binned"}
        ``"auto"``: individual spikes when available, else binned counts.

    Returns
    -------
    float
        The SSI, or NaN when the population did not fire.
    """
    act = _burned(_activity(obj), t_burn)
    window = check_number("window", window, 0.0, 1000.0, lo_open=True, unit="ms")
    if method not in ("auto", "spikes", "binned"):
        raise ParameterError(f"method = {method!r} is not one of 'auto', 'spikes', 'binned'")
    members = _members(act, pop)
    if method == "spikes" and act.spikes is None:
        raise ParameterError(
            "method = 'spikes' needs individual spike times, which this activity does not "
            "have (e.g. an ODE integration); use method='binned' or 'auto'"
        )
    if act.spikes is not None and method in ("auto", "spikes"):
        ts, ids, off = act.spikes
        ts = np.asarray(ts, float)
        ids = np.asarray(ids, np.int64)
        keep = np.zeros(ts.size, bool)
        n = 0
        for q in members:
            lo = int(off[q])
            keep |= (ids >= lo) & (ids < lo + int(act.sizes[q]))
            n += int(act.sizes[q])
        ts, ids = ts[keep], ids[keep]
        if ts.size == 0:
            return float("nan")
        order = np.argsort(ts, kind="stable")
        ts, ids = ts[order], ids[order]
        global _SSI_KERNEL
        if _SSI_KERNEL is None:
            _SSI_KERNEL = _ssi_kernel()
        total = _SSI_KERNEL(ts, ids, window, int(ids.max()) + 1)
        return float(total / (ts.size * n))
    c, n = _counts(act, pop)
    if c.sum() <= 0:
        return float("nan")
    near = np.convolve(c, _window_kernel(window, act.dt), mode="same")
    return float(np.sum(c * np.minimum(1.0, near / n)) / np.sum(c))


# ----------------------------------------------------------------------------- MFEs
def smoothed_population_rate(obj, pop: str = "E", smooth_ms: float = 1.0,
                             t_burn: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Population rate in spikes per ms, box-car averaged over ``smooth_ms``.

    With b = round(smooth_ms / Δt) bins, only complete windows are used (no zero padding, so
    the record's edges cannot create spurious peaks):

    .. math::  y_j = \\frac{1}{b\\,Δt} \\sum_{k=j}^{j+b-1} c_k ,
               \\qquad τ_j = t_j + b\\,Δt/2 .

    Returns
    -------
    times : ndarray
        Window centres, ms.
    rate : ndarray
        Spikes per ms of the whole population.
    """
    act = _burned(_activity(obj), t_burn)
    c, _ = _counts(act, pop)
    smooth_ms = check_number("smooth_ms", smooth_ms, 0.0, lo_open=True, unit="ms")
    b = max(1, int(round(smooth_ms / act.dt)))
    if b > len(c):
        raise ParameterError(
            f"smooth_ms = {smooth_ms:g} is longer than the activity ({len(c) * act.dt:g} ms)"
        )
    y = np.convolve(c, np.ones(b), mode="valid") / (b * act.dt)
    centre = np.asarray(act.t, float)[: len(y)] + b * act.dt / 2.0
    return centre, y


@dataclass(frozen=True)
class MFEResult:
    """Multiple-firing events found by :func:`detect_mfes`.

    Attributes
    ----------
    times : ndarray
        Peak times, ms.
    heights : ndarray
        Peak heights of the smoothed population rate, spikes per ms.
    rate_hz : float
        Events per second over the analysed window.
    threshold : float
        Height threshold used, spikes per ms (``height_per_neuron`` · N).
    duration_ms : float
        Length of the analysed window, ms.
    pop, n_neurons
        Population and its size.
    """

    times: np.ndarray
    heights: np.ndarray
    rate_hz: float
    threshold: float
    duration_ms: float
    pop: str = "E"
    n_neurons: float = 0.0
    settings: dict = field(default_factory=dict)

    @property
    def count(self) -> int:
        return int(len(self.times))

    @property
    def intervals(self) -> np.ndarray:
        """Inter-event intervals, ms."""
        return np.diff(self.times)


def detect_mfes(obj, pop: str = "E", smooth_ms: float = 1.0,
                height_per_neuron: float = DEFAULT_HEIGHT_PER_NEURON,
                min_separation_ms: float = 9.0, t_burn: float = 0.0) -> MFEResult:
    """Detect multiple-firing events as peaks of the smoothed population rate.

    The rate y (spikes per ms of the population, :func:`smoothed_population_rate` with
    ``smooth_ms``) has an MFE at every local maximum with

    .. math::  y(\\tau) \\ge h\\,N_Q ,

    where h = ``height_per_neuron`` (spikes per ms per neuron; the MA code's threshold of
    10 spikes/ms at N_E = 300 is h = 1/30), so the criterion scales with the network size.
    Peaks closer than ``min_separation_ms`` are thinned keeping the highest
    (:func:`scipy.signal.find_peaks` with ``distance``). The MFE rate is the number of peaks
    per second of analysed activity.

    Parameters
    ----------
    obj : Trajectory, PopulationActivity, or integration result
    pop : str
        Population (``"E"`` by default).
    smooth_ms : float
        Box-car width, ms (1 ms in the literature).
    height_per_neuron : float
        Threshold per neuron, spikes per ms.
    min_separation_ms : float
        Minimum distance between peaks, ms (9 ms in the MA code).
    t_burn : float
        Start of the analysed window, ms.

    Returns
    -------
    MFEResult
    """
    from scipy.signal import find_peaks

    act = _burned(_activity(obj), t_burn)
    height_per_neuron = check_number("height_per_neuron", height_per_neuron, 0.0,
                                     lo_open=True, unit="spikes per ms per neuron")
    min_separation_ms = check_number("min_separation_ms", min_separation_ms, 0.0, unit="ms")
    times, y = smoothed_population_rate(act, pop, smooth_ms)
    _, n = _counts(act, pop)
    threshold = height_per_neuron * n
    distance = max(1, int(math.ceil(min_separation_ms / act.dt - 1e-9)))
    idx, _ = find_peaks(y, height=threshold, distance=distance)
    duration = len(act.t) * act.dt
    return MFEResult(
        times=times[idx], heights=y[idx], rate_hz=1000.0 * len(idx) / duration,
        threshold=float(threshold), duration_ms=float(duration), pop=pop, n_neurons=n,
        settings={"smooth_ms": smooth_ms, "height_per_neuron": height_per_neuron,
                  "min_separation_ms": min_separation_ms, "t_burn": t_burn},
    )


def peak_height_differences(mfes) -> np.ndarray:
    """Successive peak-height differences Δm_i = m_{i+1} − m_i (spikes per ms).

    Period-1 MFE patterns give Δm ≈ 0; period-2 (alternating big/small) patterns give Δm
    alternating in sign with a constant magnitude.

    Parameters
    ----------
    mfes : MFEResult or array_like
        Detected events, or the peak heights themselves.
    """
    h = mfes.heights if isinstance(mfes, MFEResult) else np.asarray(mfes, float)
    if h.ndim != 1:
        raise ParameterError(f"mfes: expected an MFEResult or 1-d heights, got shape {h.shape}")
    return np.diff(h)


def mfe_pattern(mfes, rel_tol: float = 0.1, min_fraction: float = 0.9,
                min_events: int = 5) -> str:
    """Classify a sequence of MFE peak heights as period-1, period-2, irregular or none.

    With heights m_1..m_n, Δm_i = m_{i+1} − m_i, the scale s = ``rel_tol`` · median(m) and
    f = ``min_fraction``:

    - ``"none"`` if n < ``min_events``;
    - ``"period-1"`` if at least a fraction f of the |Δm_i| are ≤ s;
    - ``"period-2"`` if at least a fraction f of the second differences
      |m_{i+2} − m_i| are ≤ s **and** at least a fraction f of consecutive pairs alternate,
      sign(Δm_i) = −sign(Δm_{i+1}) with |Δm_i| > s;
    - ``"irregular"`` otherwise.

    The fractions tolerate a few outliers (a stochastic network is never exactly periodic);
    deterministic limit cycles of the reduced model satisfy the criteria with all pairs.

    Parameters
    ----------
    mfes : MFEResult or array_like
        Detected events or the peak heights.
    rel_tol : float
        Relative tolerance for "equal" heights, in (0, 1].
    min_fraction : float
        Fraction of pairs that must satisfy a criterion, in (0, 1].
    min_events : int
        Fewer events than this give ``"none"`` (at least 3).
    """
    rel_tol = check_number("rel_tol", rel_tol, 0.0, 1.0, lo_open=True)
    min_fraction = check_number("min_fraction", min_fraction, 0.0, 1.0, lo_open=True)
    min_events = check_positive_int("min_events", min_events, 3)
    h = mfes.heights if isinstance(mfes, MFEResult) else np.asarray(mfes, float)
    if len(h) < min_events:
        return "none"
    s = rel_tol * float(np.median(h))
    d = np.diff(h)
    if np.mean(np.abs(d) <= s) >= min_fraction:
        return "period-1"
    second = np.abs(h[2:] - h[:-2])
    alternating = (np.sign(d[:-1]) == -np.sign(d[1:])) & (np.abs(d[:-1]) > s)
    if np.mean(second <= s) >= min_fraction and np.mean(alternating) >= min_fraction:
        return "period-2"
    return "irregular"


# ----------------------------------------------------------------------------- spectra
@dataclass(frozen=True)
class Spectrum:
    """One-sided power spectral density of a population rate (Welch).

    Attributes
    ----------
    freqs_hz : ndarray
        Frequencies, Hz.
    psd : ndarray
        Power spectral density of the rate in Hz per neuron, Hz²/Hz (one-sided).
    df : float
        Frequency resolution, Hz.
    pop : str
    n_segments : int
        Number of (overlapping) Welch segments averaged.
    """

    freqs_hz: np.ndarray
    psd: np.ndarray
    df: float
    pop: str = "E"
    n_segments: int = 1
    settings: dict = field(default_factory=dict)


@dataclass(frozen=True)
class GammaPeak:
    """Largest spectral peak in a band.

    Attributes
    ----------
    frequency_hz : float
        Frequency of the largest PSD value in the band (grid resolution ``df``).
    psd : float
        PSD at that frequency, Hz²/Hz.
    band_power : float
        ∫ PSD df over the band (rectangle rule), Hz².
    band : tuple
        The band, Hz.
    """

    frequency_hz: float
    psd: float
    band_power: float
    band: tuple


def power_spectrum(obj, pop: str = "E", segment_ms: float = 250.0, t_burn: float = 0.0,
                   overlap: float = 0.5, window: str = "hann") -> Spectrum:
    """Welch estimate of the power spectrum of the population rate.

    The rate x_k = 1000 c_k / (N_Q Δt) (Hz per neuron), sampled at f_s = 1000/Δt Hz, is cut
    into segments of ``segment_ms`` (the whole record if shorter) overlapping by ``overlap``,
    each mean-removed and windowed; the averaged periodograms are scaled as a one-sided density
    (``scipy.signal.welch``, ``scaling="density"``), so Σ_f PSD(f)·df = Var(x).

    Reference: N independent Poisson neurons of rate ν (Hz) give a flat spectrum

    .. math::  S(f) = 2ν/N \\quad (0 < f < f_s/2),

    the one-sided shot-noise density of one Poisson train (2ν) averaged over N trains; a rate
    modulated as ν(1 + a sin 2πf_0 t) adds a line at f_0 carrying power (aν)²/2.

    Parameters
    ----------
    obj : Trajectory, PopulationActivity, or integration result
    pop : str
    segment_ms : float
        Segment length, ms; the frequency resolution is 1000/segment_ms Hz.
    t_burn : float
        Start of the analysed window, ms.
    overlap : float
        Segment overlap, fraction in [0, 1).
    window : str
        Window name for :func:`scipy.signal.get_window`.

    Returns
    -------
    Spectrum
    """
    from scipy.signal import welch

    act = _burned(_activity(obj), t_burn)
    c, n = _counts(act, pop)
    segment_ms = check_number("segment_ms", segment_ms, 0.0, lo_open=True, unit="ms")
    overlap = check_number("overlap", overlap, 0.0, 1.0, hi_open=True)
    x = 1000.0 * c / (n * act.dt)
    fs = 1000.0 / act.dt
    nper = min(len(x), max(2, int(round(segment_ms / act.dt))))
    if nper < 8:
        raise ParameterError(
            f"segment_ms = {segment_ms:g}: only {nper} samples per segment; use a longer "
            "segment or a longer run"
        )
    nover = int(round(overlap * nper))
    nover = min(nover, nper - 1)
    f, p = welch(x, fs=fs, window=window, nperseg=nper, noverlap=nover,
                 detrend="constant", scaling="density")
    nseg = 1 + (len(x) - nper) // (nper - nover)
    return Spectrum(freqs_hz=f, psd=p, df=fs / nper, pop=pop, n_segments=int(nseg),
                    settings={"segment_ms": nper * act.dt, "overlap": nover / nper,
                              "window": window, "t_burn": t_burn})


def gamma_peak(spectrum, band=(30.0, 90.0)) -> GammaPeak:
    """The largest PSD value in ``band`` (Hz) and the power in the band.

    Parameters
    ----------
    spectrum : Spectrum
        From :func:`power_spectrum`.
    band : (float, float)
        Frequency band, Hz (gamma: 30–90 Hz).
    """
    if not isinstance(spectrum, Spectrum):
        raise ParameterError(
            f"spectrum: expected a Spectrum from power_spectrum(), got {type(spectrum).__name__}"
        )
    try:
        lo, hi = (float(b) for b in band)
    except (TypeError, ValueError):
        raise ParameterError(f"band = {band!r} is not a pair of frequencies (Hz)") from None
    nyq = float(spectrum.freqs_hz[-1])
    check_number("band[0]", lo, 0.0, nyq, unit="Hz")
    check_number("band[1]", hi, lo, None, lo_open=True, unit="Hz")
    sel = (spectrum.freqs_hz >= lo) & (spectrum.freqs_hz <= hi)
    if not np.any(sel):
        raise ParameterError(
            f"band = ({lo:g}, {hi:g}) Hz contains no frequency of the spectrum (resolution "
            f"{spectrum.df:g} Hz); widen the band or use longer segments"
        )
    f, p = spectrum.freqs_hz[sel], spectrum.psd[sel]
    i = int(np.argmax(p))
    return GammaPeak(frequency_hz=float(f[i]), psd=float(p[i]),
                     band_power=float(np.sum(p) * spectrum.df), band=(lo, hi))
