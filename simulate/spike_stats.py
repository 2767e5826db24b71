"""Single-neuron spike statistics: ISI coefficients of variation and per-neuron rates.

For neuron i with spike times t_1 < … < t_m in the window [t_start, t_stop), the interspike
intervals are Δ_k = t_{k+1} − t_k and

    CV_i = std(Δ) / mean(Δ)      (population standard deviation, ddof = 0),

defined when the neuron has at least ``min_spikes`` spikes (NaN otherwise). The rate of
neuron i is r_i = 1000 · m / (t_stop − t_start) Hz (t in ms).

Inputs: a :class:`simulate.Trajectory` that recorded spikes (``spikes/t``, ``spikes/i``), a
:class:`simulate.PopulationActivity` with spikes, or a tuple ``(times, ids, sizes)`` with
``sizes`` a dict {population: size} in global-id order (or a single int: one population
``"all"``).

Examples
--------
>>> import numpy as np
>>> t = np.array([0.0, 10.0, 20.0, 5.0, 7.0, 30.0])
>>> i = np.array([0, 0, 0, 1, 1, 1])
>>> cv = isi_cv((t, i, {"E": 2}), t_start=0.0, t_stop=40.0)
>>> float(cv["E"][0])
0.0
>>> rate_distribution((t, i, {"E": 2}), t_start=0.0, t_stop=40.0)["E"].tolist()
[75.0, 75.0]
"""

from __future__ import annotations

import numpy as np

from .validation import ParameterError, check_number, check_positive_int

__all__ = ["isi_cv", "isi_cv_summary", "rate_distribution", "spike_data", "summary_stats",
           "population_oscillation"]


def spike_data(obj):
    """Return ``(times ms, global ids, sizes dict, t_end or None, t_burn default)``."""
    from .activity import PopulationActivity
    from .trajectory import Trajectory

    if isinstance(obj, Trajectory):
        if "spikes/t" not in obj.arrays:
            raise ParameterError(
                "this trajectory has no spikes; run with record_spikes=True"
            )
        return (np.asarray(obj["spikes/t"], float), np.asarray(obj["spikes/i"], np.int64),
                dict(obj.sizes), obj.t_end, obj.t_burn if obj.t_burn < obj.t_end else 0.0)
    if isinstance(obj, PopulationActivity):
        if obj.spikes is None:
            raise ParameterError("this PopulationActivity carries no individual spikes")
        ts, ids, offs = obj.spikes
        sizes = {q: int(obj.sizes[q]) for q in sorted(offs, key=offs.get)}
        return (np.asarray(ts, float), np.asarray(ids, np.int64), sizes,
                float(obj.t[-1] + obj.dt) if len(obj.t) else None, 0.0)
    if isinstance(obj, tuple) and len(obj) == 3:
        ts, ids, sizes = obj
        if isinstance(sizes, (int, np.integer)):
            sizes = {"all": int(sizes)}
        ts = np.asarray(ts, float)
        ids = np.asarray(ids, np.int64)
        if ts.shape != ids.shape:
            raise ParameterError(
                f"spike times and ids differ in length ({ts.size} vs {ids.size})"
            )
        return ts, ids, dict(sizes), None, 0.0
    raise ParameterError(
        f"cannot read spikes from {type(obj).__name__}: pass a Trajectory, a "
        "PopulationActivity with spikes, or (times, ids, sizes)"
    )


def _window(obj, t_start, t_stop):
    ts, ids, sizes, t_end, t_burn = spike_data(obj)
    t_start = t_burn if t_start is None else t_start
    if t_stop is None:
        if t_end is None:
            raise ParameterError("t_stop is needed when the input carries no end time")
        t_stop = t_end
    t_start = check_number("t_start", t_start, 0.0, None, unit="ms")
    t_stop = check_number("t_stop", t_stop, t_start, None, lo_open=True, unit="ms")
    keep = (ts >= t_start) & (ts < t_stop)
    n_tot = int(sum(sizes.values()))
    if ids.size and (ids.min() < 0 or ids.max() >= n_tot):
        raise ParameterError(f"spike ids outside the valid range [0, {n_tot - 1}]")
    return ts[keep], ids[keep], sizes, t_start, t_stop


def _split(values, sizes):
    out, k = {}, 0
    for q, n in sizes.items():
        out[q] = values[k:k + n]
        k += n
    return out


def rate_distribution(obj, t_start: float | None = None, t_stop: float | None = None) -> dict:
    """Per-neuron firing rates (Hz) of every population over [t_start, t_stop).

    Parameters
    ----------
    obj : Trajectory, PopulationActivity or (times, ids, sizes)
    t_start, t_stop : float, optional
        Window in ms (defaults: the trajectory's t_burn and t_end).

    Returns
    -------
    dict[str, ndarray]
        Rates in Hz, one per neuron, in id order.
    """
    ts, ids, sizes, t0, t1 = _window(obj, t_start, t_stop)
    n_tot = int(sum(sizes.values()))
    counts = np.bincount(ids, minlength=n_tot).astype(float)
    return _split(1000.0 * counts / (t1 - t0), sizes)


def isi_cv(obj, t_start: float | None = None, t_stop: float | None = None,
           min_spikes: int = 3) -> dict:
    """Coefficient of variation of the interspike intervals of every neuron.

    Parameters
    ----------
    obj : Trajectory, PopulationActivity or (times, ids, sizes)
    t_start, t_stop : float, optional
        Window in ms (defaults: the trajectory's t_burn and t_end).
    min_spikes : int
        Neurons with fewer spikes in the window get NaN (at least 3: two intervals).

    Returns
    -------
    dict[str, ndarray]
        CV per neuron (NaN where undefined), in id order.
    """
    min_spikes = check_positive_int("min_spikes", min_spikes, 3)
    ts, ids, sizes, _, _ = _window(obj, t_start, t_stop)
    return _split(_cv_and_counts(ts, ids, sizes, min_spikes)[0], sizes)


def _cv_and_counts(ts, ids, sizes, min_spikes):
    """Per-neuron ISI CV (NaN below ``min_spikes``) and spike count of windowed spikes, both
    over all neurons in id order (:func:`isi_cv`)."""
    n_tot = int(sum(sizes.values()))
    order = np.lexsort((ts, ids))
    ts, ids = ts[order], ids[order]
    counts = np.bincount(ids, minlength=n_tot)
    cv = np.full(n_tot, np.nan)
    if ts.size > 1:
        isi = np.diff(ts)
        same = ids[1:] == ids[:-1]
        isi, owner = isi[same], ids[1:][same]
        m = np.bincount(owner, minlength=n_tot).astype(float)
        s1 = np.bincount(owner, weights=isi, minlength=n_tot)
        s2 = np.bincount(owner, weights=isi * isi, minlength=n_tot)
        ok = counts >= min_spikes
        mean = np.where(ok, s1 / np.maximum(m, 1), np.nan)
        var = np.where(ok, s2 / np.maximum(m, 1) - mean**2, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            cv = np.where(ok, np.sqrt(np.maximum(var, 0.0)) / mean, np.nan)
    return cv, counts


def isi_cv_summary(obj, pop: str = "E", t_start: float | None = None,
                   t_stop: float | None = None, max_neurons: int | None = None,
                   min_spikes: int = 5) -> dict:
    """Mean ISI CV of one population, its standard error, and the mean number of intervals.

    Built on :func:`isi_cv`: for each of the first ``max_neurons`` neurons of ``pop`` (in id
    order) with at least ``min_spikes`` spikes in [t_start, t_stop), CV_i = std(Δ)/mean(Δ)
    (ddof = 0) of its m_i = (spikes − 1) intervals; then

        CV̄ = (1/n) Σ_i CV_i,    SE = std_{ddof=1}(CV_i)/√n,    m̄ = (1/n) Σ_i m_i,

    n the number of neurons with a CV. The SE treats neurons as independent samples (what it
    means in a sparse network where neurons share few inputs). A CV estimated from m intervals
    is biased low by about CV/(2m) (relative 1/(2m)) for a renewal train, so m̄ is returned
    for budgeting that bias.

    Parameters
    ----------
    obj : Trajectory, PopulationActivity or (times, ids, sizes)
    pop : str
        Population name.
    t_start, t_stop : float, optional
        Window in ms (defaults: the trajectory's t_burn and t_end).
    max_neurons : int, optional
        Use only the first ``max_neurons`` neurons of ``pop`` (all when None).
    min_spikes : int
        Minimum number of spikes in the window for a neuron to count (≥ 3).

    Returns
    -------
    dict
        ``cv`` (mean CV), ``se`` (its standard error; NaN with fewer than 2 neurons),
        ``n_intervals`` (mean number of intervals per counted neuron), ``n_neurons``
        (neurons counted). ``cv`` is NaN when no neuron qualifies.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([0.0, 10.0, 20.0, 30.0, 40.0, 0.0, 5.0, 20.0, 25.0, 40.0])
    >>> i = np.array([0] * 5 + [1] * 5)
    >>> s = isi_cv_summary((t, i, {"E": 2}), "E", 0.0, 50.0)
    >>> round(s["cv"], 3), s["n_intervals"], s["n_neurons"]
    (0.25, 4.0, 2)
    """
    min_spikes = check_positive_int("min_spikes", min_spikes, 3)
    ts, ids, sizes, _, _ = _window(obj, t_start, t_stop)
    if pop not in sizes:
        raise ParameterError(f"pop = {pop!r} is not one of the populations {list(sizes)}")
    cvs, counts = _cv_and_counts(ts, ids, sizes, min_spikes)
    cv = _split(cvs, sizes)[pop]
    m = _split(counts - 1.0, sizes)[pop]
    if max_neurons is not None:
        max_neurons = check_positive_int("max_neurons", max_neurons, 1)
        cv, m = cv[:max_neurons], m[:max_neurons]
    ok = np.isfinite(cv)
    n = int(ok.sum())
    if n == 0:
        return {"cv": float("nan"), "se": float("nan"), "n_intervals": 0.0, "n_neurons": 0}
    se = float(np.std(cv[ok], ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return {"cv": float(np.mean(cv[ok])), "se": se, "n_intervals": float(np.mean(m[ok])),
            "n_neurons": n}


def summary_stats(obj, t_start=None, t_stop=None, min_spikes=3) -> dict:
    """Per population: mean rate, std of rates, mean CV and number of neurons with a CV."""
    rates = rate_distribution(obj, t_start, t_stop)
    cvs = isi_cv(obj, t_start, t_stop, min_spikes)
    out = {}
    for q in rates:
        c = cvs[q][np.isfinite(cvs[q])]
        out[q] = {
            "rate_mean_hz": float(np.mean(rates[q])) if rates[q].size else float("nan"),
            "rate_std_hz": float(np.std(rates[q])) if rates[q].size else float("nan"),
            "cv_mean": float(np.mean(c)) if c.size else float("nan"),
            "n_cv": int(c.size),
        }
    return out


def population_oscillation(obj, pop: str = "E", t_start: float | None = None,
                           t_stop: float | None = None, bin_ms: float = 1.0,
                           segment_ms: float = 256.0, f_split: float = 20.0) -> dict:
    """Synchrony of a population: modulation, spectral peak and Fano factor of its rate.

    The spikes of population ``pop`` in [t_start, t_stop) are counted in bins of ``bin_ms``
    (counts c_k), the rate is x_k = 1000 c_k/(N bin_ms) Hz per neuron. Returned:

    - ``rel_modulation`` = std(x)/mean(x);
    - ``poisson_modulation`` = 1/√(mean c), its value for N independent Poisson neurons
      (shot noise only);
    - ``fano`` = var(c)/mean(c) (1 for independent Poisson neurons);
    - ``peak_hz``, ``peak_over_floor``: the frequency of the largest value of the Welch power
      spectral density S(f) of x (segments of ``segment_ms``, Hann window) above ``f_split``
      and that value divided by the shot-noise floor S₀ = 2ν/N of N independent Poisson
      neurons of rate ν (one-sided density, Hz²/Hz);
    - ``peak_over_low``: S(peak) divided by the mean of S over [4 Hz, ``f_split``]. For
      noise driving a damped linear resonance of quality factor Q (frequency ω₀, damping
      γ = ω₀/Q), S(ω₀)/S(0) = Q²: a ratio below 4 means Q < 2, fluctuations that lose their
      phase within a period or so; a sustained collective oscillation gives a large ratio.

    Parameters
    ----------
    obj : Trajectory, PopulationActivity or (times, ids, sizes)
    pop : str
    t_start, t_stop : float, optional
        Window in ms (defaults: the trajectory's t_burn and t_end).
    bin_ms, segment_ms : float
        Count bin and spectral segment, ms.
    f_split : float
        Lower end (Hz) of the band searched for the peak; the low band is [4, f_split].

    Returns
    -------
    dict
    """
    from scipy.signal import welch

    ts, ids, sizes, t0, t1 = _window(obj, t_start, t_stop)
    if pop not in sizes:
        raise ParameterError(f"pop = {pop!r} is not one of the populations {list(sizes)}")
    bin_ms = check_number("bin_ms", bin_ms, 0.0, (t1 - t0) / 8, lo_open=True, unit="ms")
    segment_ms = check_number("segment_ms", segment_ms, 8 * bin_ms, None, unit="ms")
    offs = np.concatenate([[0], np.cumsum(list(sizes.values()))])
    k = list(sizes).index(pop)
    n = int(sizes[pop])
    sel = (ids >= offs[k]) & (ids < offs[k + 1])
    nbin = int((t1 - t0) // bin_ms)
    c = np.histogram(ts[sel], bins=t0 + bin_ms * np.arange(nbin + 1))[0].astype(float)
    mean_c = c.mean()
    if mean_c <= 0:
        return {"rel_modulation": float("nan"), "poisson_modulation": float("nan"),
                "fano": float("nan"), "peak_hz": float("nan"),
                "peak_over_floor": float("nan"), "peak_over_low": float("nan"),
                "rate_hz": 0.0}
    x = 1000.0 * c / (n * bin_ms)
    nper = min(len(x), int(round(segment_ms / bin_ms)))
    f, psd = welch(x, fs=1000.0 / bin_ms, window="hann", nperseg=nper, noverlap=nper // 2,
                   detrend="constant", scaling="density")
    hi = f > f_split
    low = (f >= 4.0) & (f <= f_split)
    if not (np.any(hi) and np.any(low)):
        raise ParameterError(f"f_split = {f_split:g} Hz leaves no low band [4 Hz, f_split] or "
                             f"no band above it (resolution {f[1]:g} Hz, Nyquist {f[-1]:g} Hz)")
    j = int(np.flatnonzero(hi)[np.argmax(psd[hi])])
    nu = x.mean()
    return {"rel_modulation": float(x.std() / nu), "poisson_modulation": float(1 / np.sqrt(mean_c)),
            "fano": float(c.var() / mean_c), "peak_hz": float(f[j]),
            "peak_over_floor": float(psd[j] / (2.0 * nu / n)),
            "peak_over_low": float(psd[j] / psd[low].mean()), "rate_hz": float(nu)}
