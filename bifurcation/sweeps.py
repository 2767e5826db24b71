"""Brute-force parameter diagrams, as the literature draws them, to overlay on continuation.

A sweep runs a model (a network simulation, an ODE or map integration, a chain) at each value
of one parameter, for one or more seeds, and applies *measures* to each run: scalar statistics
(rates, MFE rate, spectral peak) and point clouds (every peak height, every successive
difference Δm). The result keeps the clouds, so that a figure can scatter them over a
continuation diagram with the same parameter axis (:func:`plot_sweep`).

This module knows nothing about neurons: the model is any picklable ``run(value, seed)``
callable and measures are any functions of its result. Neuron measures built on
:mod:`simulate.observables` are in :func:`simulate.sweep_measures.activity_measures`.

Runs execute in parallel through :func:`simulate.executor.map_tasks`; seeds derive from one root
seed per (value, repetition), so results do not depend on the number of workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulate.executor import map_tasks, spawn_seeds
from simulate.validation import ParameterError, check_positive_int

__all__ = ["brute_force_sweep", "SweepResult", "plot_sweep"]


@dataclass
class SweepResult:
    """Measures per parameter value.

    Attributes
    ----------
    param : str
    values : ndarray (V,)
    scalars : dict[str, ndarray (V, R)]
        Scalar measures per value and repetition (NaN where a measure failed).
    clouds : dict[str, list of ndarray]
        Point-cloud measures: for each value, the concatenation over repetitions.
    seeds : ndarray (V, R)
    errors : list of str
        Messages of failed runs.
    """

    param: str
    values: np.ndarray
    scalars: dict = field(default_factory=dict)
    clouds: dict = field(default_factory=dict)
    seeds: np.ndarray | None = None
    errors: list = field(default_factory=list)

    def mean(self, name: str) -> np.ndarray:
        """Mean of the scalar measure ``name`` over repetitions at every sweep value (NaN
        repetitions ignored)."""
        return np.nanmean(self.scalars[name], axis=1)

    def to_rows(self) -> list:
        """Long-format rows (value, repetition, measure, number) for CSV files."""
        rows = []
        for name, arr in self.scalars.items():
            for i, v in enumerate(self.values):
                for r in range(arr.shape[1]):
                    rows.append({"param": self.param, "value": float(v), "rep": r,
                                 "measure": name, "number": float(arr[i, r])})
        for name, clouds in self.clouds.items():
            for i, v in enumerate(self.values):
                for x in clouds[i]:
                    rows.append({"param": self.param, "value": float(v), "rep": -1,
                                 "measure": name, "number": float(x)})
        return rows


def _sweep_task(task):
    run, measures, value, seed = task
    try:
        res = run(value, seed)
    except Exception as exc:  # report, never hide: one failed point must not end a sweep
        return {"error": f"value {value!r}, seed {seed}: {type(exc).__name__}: {exc}"}
    out = {}
    for name, fn in measures.items():
        try:
            out[name] = np.asarray(fn(res), dtype=float)
        except Exception as exc:
            out[name] = np.array(np.nan)
            out.setdefault("_errors", []).append(f"measure {name!r} at {value!r}: {exc}")
    return out


def brute_force_sweep(run, param: str, values, measures: dict, *, repetitions: int = 1,
                      seed: int = 0, workers: int | None = None, scheduler: str | None = None,
                      progress: bool = True) -> SweepResult:
    """Run ``run(value, seed)`` over parameter values and apply ``measures`` to each result.

    Parameters
    ----------
    run : callable
        Picklable ``run(value, seed) -> result`` (e.g. simulate a network with the parameter
        set to ``value``).
    param : str
        Name of the swept parameter (for labels).
    values : array_like
        Parameter values.
    measures : dict[str, callable]
        ``fn(result)`` returning a scalar (stored in ``scalars``) or a 1-d array (a cloud).
    repetitions : int
        Runs per value with independent seeds.
    seed : int
        Root seed.
    workers, scheduler, progress : executor settings.

    Returns
    -------
    SweepResult
    """
    values = np.asarray(values, float).reshape(-1)
    if len(values) == 0:
        raise ParameterError("values is empty: give at least one parameter value")
    if not measures:
        raise ParameterError("measures is empty: give at least one measure")
    R = check_positive_int("repetitions", repetitions, 1)
    seeds = np.array(spawn_seeds(seed, len(values) * R), dtype=np.int64).reshape(len(values), R)
    tasks = [(run, measures, float(v), int(seeds[i, r]))
             for i, v in enumerate(values) for r in range(R)]
    outs = map_tasks(_sweep_task, tasks, workers=workers, scheduler=scheduler,
                     progress=progress, desc=f"sweep {param}")
    result = SweepResult(param, values, seeds=seeds)
    for name in measures:
        is_cloud = any(np.ndim(o.get(name, np.nan)) > 0 for o in outs)
        if is_cloud:
            result.clouds[name] = [
                np.concatenate([np.atleast_1d(outs[i * R + r].get(name, np.array([])))
                                for r in range(R)]).astype(float)
                for i in range(len(values))
            ]
        else:
            arr = np.full((len(values), R), np.nan)
            for i in range(len(values)):
                for r in range(R):
                    v = outs[i * R + r].get(name)
                    if v is not None and np.ndim(v) == 0:
                        arr[i, r] = float(v)
            result.scalars[name] = arr
    for o in outs:
        if "error" in o:
            result.errors.append(o["error"])
        result.errors.extend(o.get("_errors", []))
    return result


def plot_sweep(result: SweepResult, name: str, ax=None, **scatter_kw):
    """Scatter a cloud (or the per-repetition scalars) of ``name`` against the parameter.

    Draws on ``ax`` (a new axis by default) so it overlays a continuation diagram of the same
    parameter.
    """
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    kw = {"s": 4, "alpha": 0.5, "color": "0.3", "label": f"{name} (brute force)"}
    kw.update(scatter_kw)
    if name in result.clouds:
        xs = np.concatenate([np.full(len(c), v) for v, c in zip(result.values,
                                                                  result.clouds[name])])
        ys = np.concatenate(result.clouds[name]) if xs.size else np.array([])
    elif name in result.scalars:
        arr = result.scalars[name]
        xs = np.repeat(result.values, arr.shape[1])
        ys = arr.ravel()
    else:
        raise KeyError(f"no measure {name!r}; have {list(result.scalars) + list(result.clouds)}")
    ax.scatter(xs, ys, **kw)
    ax.set_xlabel(result.param)
    return ax
