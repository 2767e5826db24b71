"""Attractor census: which attractors coexist at given parameters, and how large their basins are.

Initial conditions are drawn by a ``sampler``; each is integrated for ``t_transient`` and then
recorded for ``t_record`` (in parallel through :func:`simulate.executor.map_tasks`). The end of
each run is classified:

- ``"equilibrium"``: the state moved less than ``tol_equilibrium`` (relative) over the record
  window;
- ``"cycle"``: the upward crossings of a scalar observable y(t) through its mid-range (a
  Poincaré section) have return times and peak values that repeat with the smallest period
  ``k`` in 1..``max_k`` (``period_k``; k = 2 is a period-doubled orbit, alternating big/small
  peaks) within ``tol_cycle``;
- otherwise ``"quasi-periodic"`` or ``"irregular"``, told apart by the largest Lyapunov
  exponent along the record (``> lyapunov_threshold``: irregular; within
  ``±lyapunov_threshold``: quasi-periodic; below ``−lyapunov_threshold`` the run is still
  contracting onto an attractor, e.g. a slowly damped focus, and counts as not settled).

Runs that end on the same attractor are merged (equilibria by distance; cycles by ``period_k``,
period and the range of y; aperiodic ones by the range of y and the mean state). Each attractor
gets its basin fraction *relative to the sampler* (the fraction of samples that reach it) with a
Wilson 95% binomial confidence interval.

Examples
--------
>>> census = attractor_census(system, BoxSampler(lo, hi), n_samples=200)   # doctest: +SKIP
>>> for a in census.attractors:                                           # doctest: +SKIP
...     print(a.kind, a.period, a.fraction, a.ci)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import norm

from simulate.executor import map_tasks, spawn_seeds
from simulate.validation import ParameterError, check_number

from .integration import integrate
from .system import ODESystem

__all__ = [
    "attractor_census",
    "Census",
    "Attractor",
    "BoxSampler",
    "NormalSampler",
    "wilson_interval",
    "classify_trajectory",
    "section_crossings",
]

MIN_SAMPLES = 30


def wilson_interval(k: int, n: int, level: float = 0.95) -> tuple:
    """Wilson score interval for a binomial proportion k/n."""
    if n <= 0:
        return (0.0, 1.0)
    z = norm.ppf(0.5 + level / 2)
    ph = k / n
    den = 1 + z * z / n
    centre = (ph + z * z / (2 * n)) / den
    half = z * np.sqrt(ph * (1 - ph) / n + z * z / (4 * n * n)) / den
    return (max(0.0, centre - half), min(1.0, centre + half))


class BoxSampler:
    """Initial conditions uniform in the box [lo, hi] (per component)."""

    def __init__(self, lo, hi):
        self.lo = np.asarray(lo, float)
        self.hi = np.asarray(hi, float)
        if self.lo.shape != self.hi.shape or np.any(self.hi < self.lo):
            raise ParameterError("BoxSampler needs lo and hi of the same shape with lo <= hi")

    def __call__(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.lo, self.hi, size=(n, self.lo.size))


class NormalSampler:
    """Initial conditions from a normal distribution N(mean, diag(scale²))."""

    def __init__(self, mean, scale):
        self.mean = np.asarray(mean, float)
        self.scale = np.broadcast_to(np.asarray(scale, float), self.mean.shape)

    def __call__(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.mean + self.scale * rng.standard_normal((n, self.mean.size))


@dataclass
class Attractor:
    """One attractor found by the census.

    Attributes
    ----------
    kind : str
        ``"equilibrium"``, ``"cycle"``, ``"quasi-periodic"`` or ``"irregular"``.
    x : ndarray (n,)
        A state on the attractor (the equilibrium; for others the last recorded state).
    period : float or None
        Full period of a cycle (k return times).
    period_k : int or None
        Number of section crossings per period (1 simple, 2 period-doubled, ...).
    peaks : ndarray or None
        The k peak values of the observable per period.
    y_range : tuple
        (min, max) of the observable on the attractor.
    count : int
        Samples that reached it.
    fraction : float
        Basin fraction relative to the sampler.
    ci : tuple
        Wilson 95% interval of ``fraction``.
    members : list of int
        Indices of those samples.
    lyapunov : float or None
        Largest Lyapunov exponent estimate along the record (when computed).
    """

    kind: str
    x: np.ndarray
    period: float | None = None
    period_k: int | None = None
    peaks: np.ndarray | None = None
    y_range: tuple = (np.nan, np.nan)
    count: int = 0
    fraction: float = 0.0
    ci: tuple = (0.0, 1.0)
    members: list = field(default_factory=list)
    lyapunov: float | None = None
    mean_state: np.ndarray | None = None


@dataclass
class Census:
    """Result of :func:`attractor_census`."""

    attractors: list
    n_samples: int
    n_failed: int
    labels: np.ndarray
    params: dict
    settings: dict
    samples: np.ndarray = field(repr=False, default=None)
    #: integrated time per sample (shorter than t_transient + t_record with early stopping)
    t_stop: np.ndarray = field(repr=False, default=None)
    #: classification of every sample ("failed" / "unresolved" included)
    kinds: list = field(repr=False, default=None)

    def table(self) -> list:
        """One dict per attractor, JSON-ready."""
        rows = []
        for a in self.attractors:
            rows.append({
                "kind": a.kind, "period": a.period, "period_k": a.period_k,
                "fraction": a.fraction, "ci_low": a.ci[0], "ci_high": a.ci[1],
                "count": a.count, "y_min": a.y_range[0], "y_max": a.y_range[1],
                "lyapunov": a.lyapunov,
            })
        return rows


def section_crossings(t: np.ndarray, y: np.ndarray, level: float) -> np.ndarray:
    """Times of upward crossings of ``y`` through ``level`` (linear interpolation)."""
    below = y[:-1] < level
    above = y[1:] >= level
    idx = np.flatnonzero(below & above)
    frac = (level - y[idx]) / (y[idx + 1] - y[idx])
    return t[idx] + frac * (t[idx + 1] - t[idx])


def _peaks_between(t, y, crossings):
    """Maximum of y between successive crossings, refined by a parabola through the largest
    sample and its neighbours (sharp peaks, such as MFEs, fall between output samples; the raw
    sample maximum would then vary from cycle to cycle by far more than the tolerance).

    Returns ``(peaks, err)``: ``err`` is the size of the parabolic correction
    ``|peak − max sample|``, a conservative bound of the error of the refined peak (the
    parabola's own error is of higher order in the sample spacing as long as the peak is
    resolved by a few samples).
    """
    out, err = [], []
    for a, b in zip(crossings[:-1], crossings[1:]):
        idx = np.flatnonzero((t >= a) & (t < b))
        if len(idx) == 0:
            out.append(np.nan)
            err.append(np.inf)
            continue
        i = idx[np.argmax(y[idx])]
        peak = y[i]
        if 0 < i < len(y) - 1:
            y0, y1, y2 = y[i - 1], y[i], y[i + 1]
            den = y0 - 2 * y1 + y2
            if den < 0:
                peak = y1 - 0.125 * (y2 - y0) ** 2 / den
        out.append(peak)
        err.append(abs(peak - y[i]))
    return np.array(out), np.array(err)


def classify_trajectory(t, x, y, *, tol_equilibrium=1e-6, tol_cycle=1e-3, max_k=8,
                        trailing=False):
    """Classify a recorded trajectory (after the transient).

    Parameters
    ----------
    t : ndarray (T,)
    x : ndarray (T, n)
    y : ndarray (T,)
        Scalar observable for the Poincaré section.
    tol_equilibrium : float
        Largest relative excursion of the state over the window for an equilibrium.
    tol_cycle : float
        Relative tolerance on return times and peak values for periodicity. Two peaks i and
        i + k repeat when ``|p_{i+k} − p_i| < tol_cycle·(max y − min y) + e_i + e_{i+k}``, with
        e the sampling uncertainty of each peak (see :func:`_peaks_between`): differences
        below the resolution of the output grid cannot tell two peaks apart.
    max_k : int
        Largest period-k tested.
    trailing : bool
        False: every return time and peak of the window must repeat with period k, and at
        least ``2 max_k + 2`` crossings are needed. True (early stopping): only the last
        ``3k`` returns are tested for each k — the last two periods repeat the one before —
        so a cycle is recognised as soon as ``3k + 1`` crossings lie in the window.

    Returns
    -------
    dict
        ``kind`` and, for cycles, ``period``, ``period_k``, ``peaks``.
    """
    scale = 1.0 + np.max(np.abs(x), axis=0)
    excursion = np.max((np.max(x, axis=0) - np.min(x, axis=0)) / scale)
    y_range = (float(np.min(y)), float(np.max(y)))
    if excursion < tol_equilibrium:
        return {"kind": "equilibrium", "y_range": y_range}
    level = 0.5 * (y_range[0] + y_range[1])
    cr = section_crossings(t, y, level)
    need = 4 if trailing else 2 * max_k + 2
    if len(cr) < need:
        # too few returns to judge periodicity: a slow orbit or a slow approach
        return {"kind": "unresolved", "y_range": y_range, "crossings": len(cr)}
    T = np.diff(cr)
    pk, err = _peaks_between(t, y, cr)
    yscale = max(y_range[1] - y_range[0], 1e-300)
    for k in range(1, max_k + 1):
        if trailing:
            if len(T) < 3 * k:
                break
            Tw, pw, ew = T[-3 * k:], pk[-3 * k:], err[-3 * k:]
        else:
            Tw, pw, ew = T, pk, err
        dT = np.abs(Tw[k:] - Tw[:-k]) / np.mean(Tw)
        dp = np.abs(pw[k:] - pw[:-k]) - ew[k:] - ew[:-k]
        if np.max(dT) < tol_cycle and np.max(dp) < tol_cycle * yscale:
            period = float(np.sum(T[-k:]))
            peaks = pk[-k:]
            # rotate so that the largest peak comes first (a canonical phase)
            peaks = np.roll(peaks, -int(np.argmax(peaks)))
            # range and mean state over the last full period only: the window may still hold
            # the end of the transient and a non-integer number of periods (phase-dependent)
            last = (t >= cr[-1 - k]) & (t < cr[-1])
            y_last = y[last]
            return {"kind": "cycle", "period": period, "period_k": k, "peaks": peaks,
                    "y_range": (float(np.min(y_last)), float(np.max(y_last))),
                    "peak_err": float(np.max(ew)), "period_mask": last}
    if trailing and len(T) < 3 * max_k:
        return {"kind": "unresolved", "y_range": y_range, "crossings": len(cr)}
    return {"kind": "aperiodic", "y_range": y_range}


def _observable_values(system, x, p, observable):
    if observable is None:
        return x[:, 0]
    if callable(observable):
        return np.array([observable(xi, p) for xi in x])
    if isinstance(observable, (int, np.integer)):
        return x[:, int(observable)]
    if observable in system.outputs:
        g = system.outputs[observable]
        return np.array([g(xi, p) for xi in x])
    if observable in system.state_names:
        return x[:, system.state_names.index(observable)]
    raise ParameterError(
        f"observable = {observable!r} is neither an output, a state name, an index nor a "
        f"callable; outputs: {list(system.outputs)}"
    )


def _census_task(task):
    system, x0, p, s = task
    try:
        if s["early_stop"]:
            rec_t, rec_x, y, out = _run_early_stop(system, x0, p, s)
        else:
            pre = integrate(system, x0, s["t_transient"], p=p, method=s["method"],
                            rtol=s["rtol"], atol=s["atol"])
            if not pre.success:
                return {"kind": "failed", "message": pre.message}
            rec = integrate(system, pre.x[-1], s["t_record"], p=p, method=s["method"],
                            rtol=s["rtol"], atol=s["atol"], dt_out=s["dt_out"])
            if not rec.success:
                return {"kind": "failed", "message": rec.message}
            rec_t, rec_x = rec.t, rec.x
            y = _observable_values(system, rec_x, p, s["observable"])
            out = classify_trajectory(rec_t, rec_x, y, tol_equilibrium=s["tol_equilibrium"],
                                      tol_cycle=s["tol_cycle"], max_k=s["max_k"])
            out["t_stop"] = s["t_transient"] + s["t_record"]
    except _Failed as exc:
        return {"kind": "failed", "message": str(exc)}
    except (ValueError, ArithmeticError) as exc:
        return {"kind": "failed", "message": str(exc)}
    out["x"] = rec_x[-1]
    mask = out.pop("period_mask", None)
    out["mean_state"] = rec_x[mask].mean(axis=0) if mask is not None else rec_x.mean(axis=0)
    if out["kind"] == "aperiodic":
        from .lyapunov import largest_lyapunov_exponent

        if s["lyapunov_time"] > 0:
            lyap = largest_lyapunov_exponent(
                system, rec_x[-1], t_end=s["lyapunov_time"], p=p, t_transient=0.0,
                dt=s["lyapunov_dt"], renorm_interval=max(s["lyapunov_dt"], s["dt_out"]),
                method=s["lyapunov_method"],
            )
            out["lyapunov"] = lyap.value
            thr = s["lyapunov_threshold"]
            if lyap.value > thr:
                out["kind"] = "irregular"
            elif lyap.value >= -thr:
                out["kind"] = "quasi-periodic"
            else:   # still contracting onto an attractor: the run has not settled
                out["kind"] = "unresolved"
                out["message"] = (f"still contracting (largest Lyapunov exponent "
                                  f"{lyap.value:.3g} < -{thr:g}); lengthen t_transient")
        else:
            out["kind"] = "irregular"
    return out


class _Failed(Exception):
    pass


def _run_early_stop(system, x0, p, s):
    """Integrate in chunks of ``s["chunk"]``; after each chunk classify the trailing window of
    length ``t_record`` (:func:`classify_trajectory` with ``trailing=True``) and stop as soon
    as it is an equilibrium or a cycle; at ``t_transient + t_record`` classify what is left.
    The observable is evaluated once per new output sample."""
    t_total = s["t_transient"] + s["t_record"]
    t_now, x = 0.0, np.asarray(x0, float)
    ts, xs, ys = [np.zeros(1)], [x[None, :]], [_observable_values(system, x[None, :], p,
                                                                  s["observable"])]
    out = None
    while t_now < t_total * (1 - 1e-12):
        step = min(s["chunk"], t_total - t_now)
        rec = integrate(system, x, step, p=p, method=s["method"], rtol=s["rtol"],
                        atol=s["atol"], dt_out=s["dt_out"])
        if not rec.success:
            raise _Failed(rec.message)
        ts.append(rec.t[1:] + t_now)
        xs.append(rec.x[1:])
        ys.append(_observable_values(system, rec.x[1:], p, s["observable"]))
        x = rec.x[-1]
        t_now += step
        # keep the trailing window of length t_record
        t_all = np.concatenate(ts)
        keep = t_all >= t_now - s["t_record"] - 1e-9
        ts, xs, ys = [t_all[keep]], [np.concatenate(xs)[keep]], [np.concatenate(ys)[keep]]
        final = t_now >= t_total * (1 - 1e-12)
        out = classify_trajectory(ts[0], xs[0], ys[0], tol_equilibrium=s["tol_equilibrium"],
                                  tol_cycle=s["tol_cycle"], max_k=s["max_k"], trailing=True)
        if out["kind"] in ("equilibrium", "cycle") or final:
            break
    out["t_stop"] = t_now
    return ts[0], xs[0], ys[0], out


def _same(a: Attractor, r: dict, s) -> bool:
    if a.kind != r["kind"]:
        return False
    tol = s["merge_tol"]
    if a.kind == "equilibrium":
        d = np.max(np.abs(a.x - r["x"]) / (1.0 + np.abs(a.x)))
        return d < tol
    yscale = max(abs(a.y_range[1]), abs(a.y_range[0]), 1e-300)
    same_range = (abs(a.y_range[0] - r["y_range"][0]) < tol * yscale
                  and abs(a.y_range[1] - r["y_range"][1]) < tol * yscale)
    if a.kind == "cycle":
        return (a.period_k == r["period_k"] and abs(a.period - r["period"]) < tol * a.period
                and same_range
                and np.max(np.abs(a.peaks - r["peaks"])) < tol * yscale
                and np.max(np.abs(a.mean_state - r["mean_state"])
                           / (1.0 + np.abs(a.mean_state))) < 10 * tol)
    return same_range and np.max(np.abs(a.mean_state - r["mean_state"])
                                 / (1.0 + np.abs(a.mean_state))) < 10 * tol


def attractor_census(
    system: ODESystem,
    sampler,
    n_samples: int = 300,
    *,
    p=None,
    seed: int = 0,
    t_transient: float = 500.0,
    t_record: float = 200.0,
    dt_out: float | None = None,
    observable=None,
    method: str = "LSODA",
    rtol: float = 1e-8,
    atol: float = 1e-10,
    tol_equilibrium: float = 1e-6,
    tol_cycle: float = 1e-3,
    max_k: int = 8,
    merge_tol: float = 1e-2,
    lyapunov_time: float = 0.0,
    lyapunov_dt: float = 0.01,
    lyapunov_threshold: float = 1e-2,
    lyapunov_method: str = "auto",
    early_stop: bool = False,
    chunk: float | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = False,
) -> Census:
    """Integrate from many initial conditions and list the attractors reached.

    Parameters
    ----------
    system : ODESystem
    sampler : callable ``(rng, n) -> ndarray (n, n_states)``
        Draws initial conditions (e.g. :class:`BoxSampler`); basin fractions are relative to
        it.
    n_samples : int
        Number of initial conditions (a warning below 30: fractions then mean little).
    p : array_like or dict, optional
        Parameters (default ``system.params``).
    seed : int
        Root seed of the sampler (results do not depend on the number of workers).
    t_transient, t_record : float
        Time discarded, then time recorded for classification.
    dt_out : float, optional
        Output spacing of the record (default ``t_record / 4000``).
    observable : str, int or callable, optional
        Scalar used for the Poincaré section: an output name, a state name or index, or
        ``g(x, p)``; default the first state.
    method, rtol, atol : integration settings (:func:`bifurcation.integration.integrate`).
    tol_equilibrium, tol_cycle, max_k, merge_tol : classification settings (module docstring).
    lyapunov_time : float
        Averaging time of the Lyapunov estimate that separates quasi-periodic from irregular
        runs (0: every aperiodic run is reported as irregular).
    lyapunov_dt, lyapunov_threshold : Lyapunov step and threshold.
    lyapunov_method : str
        ``method`` of :func:`bifurcation.lyapunov.largest_lyapunov_exponent`.
    early_stop : bool
        Integrate in chunks of ``chunk`` ms and stop a run as soon as the trailing window of
        length ``t_record`` is an equilibrium (relative excursion < ``tol_equilibrium``) or its
        last two periods repeat the one before (``classify_trajectory(trailing=True)``);
        ``t_transient`` is then only the longest transient allowed. Runs still undecided at
        ``t_transient + t_record`` are classified on the last window as without early stop.
    chunk : float, optional
        Chunk length for ``early_stop`` (default ``t_record / 4``).
    workers, scheduler : executor settings (:func:`simulate.executor.map_tasks`).
    progress : bool
        Progress bar.

    Returns
    -------
    Census
    """
    n_samples = int(check_number("n_samples", n_samples, 1, None, integer=True))
    if n_samples < MIN_SAMPLES:
        warnings.warn(
            f"n_samples = {n_samples} is too few for meaningful basin fractions: the 95% "
            f"interval of a fraction near 1/2 is +-{1.96 * 0.5 / np.sqrt(n_samples):.2f}; use at "
            f"least {MIN_SAMPLES} (about 400 for +-0.05)", stacklevel=2)
    check_number("t_transient", t_transient, 0.0, None, lo_open=True)
    check_number("t_record", t_record, 0.0, None, lo_open=True)
    pv = system._as_p(p)
    rng = np.random.default_rng(spawn_seeds(seed, 1)[0])
    X0 = np.asarray(sampler(rng, n_samples), float)
    if X0.shape != (n_samples, system.n_states):
        raise ParameterError(
            f"the sampler returned shape {X0.shape}; expected ({n_samples}, {system.n_states})"
        )
    settings = dict(
        t_transient=float(t_transient), t_record=float(t_record),
        dt_out=float(dt_out) if dt_out else float(t_record) / 4000.0,
        observable=observable, method=method, rtol=rtol, atol=atol,
        tol_equilibrium=tol_equilibrium, tol_cycle=tol_cycle, max_k=int(max_k),
        merge_tol=merge_tol, lyapunov_time=float(lyapunov_time),
        lyapunov_dt=float(lyapunov_dt), lyapunov_threshold=float(lyapunov_threshold),
        lyapunov_method=lyapunov_method, early_stop=bool(early_stop),
        chunk=float(chunk) if chunk else float(t_record) / 4.0,
    )
    if chunk is not None:
        check_number("chunk", chunk, 0.0, None, lo_open=True)
    tasks = [(system, X0[i], pv, settings) for i in range(n_samples)]
    results = map_tasks(_census_task, tasks, workers=workers, scheduler=scheduler,
                        progress=progress, desc="attractor census")
    attractors: list[Attractor] = []
    labels = -np.ones(n_samples, dtype=np.int64)
    n_failed = 0
    for i, r in enumerate(results):
        if r["kind"] in ("failed", "unresolved"):
            n_failed += 1
            continue
        for j, a in enumerate(attractors):
            if _same(a, r, settings):
                a.count += 1
                a.members.append(i)
                labels[i] = j
                break
        else:
            attractors.append(Attractor(
                kind=r["kind"], x=r["x"], period=r.get("period"), period_k=r.get("period_k"),
                peaks=r.get("peaks"), y_range=r["y_range"], count=1, members=[i],
                lyapunov=r.get("lyapunov"), mean_state=r["mean_state"],
            ))
            labels[i] = len(attractors) - 1
    for a in attractors:
        a.fraction = a.count / n_samples
        a.ci = wilson_interval(a.count, n_samples)
    if n_failed:
        warnings.warn(
            f"{n_failed} of {n_samples} runs failed or did not settle within "
            f"t_transient = {t_transient:g} + t_record = {t_record:g}; they count in no basin. "
            "Increase t_transient/t_record or check the sampler.", stacklevel=2)
    attractors.sort(key=lambda a: -a.count)
    remap = {old: new for new, old in enumerate(
        [results_index for results_index in _order(attractors, labels)])}
    labels = np.array([remap.get(lab, -1) for lab in labels])
    t_stop = np.array([r.get("t_stop", np.nan) for r in results])
    return Census(attractors, n_samples, n_failed, labels, system.params_dict(pv), settings, X0,
                  t_stop, [r["kind"] for r in results])


def _order(attractors, labels):
    """Old label of each attractor in its sorted order."""
    old = []
    for a in attractors:
        old.append(int(labels[a.members[0]]))
    return old
