"""Population activity on a time grid: the common input of every observable.

A network simulation (spike counts per bin) and an ODE or chain integration (a spike flux
F(t) in spikes per ms, times the bin width) both reduce to the same object, so the observables
of :mod:`simulate.observables` accept either.

For population Q of size N_Q on bins of width Δt (ms), ``counts[Q][k]`` is the number of spikes
of the whole population in bin k, and the rate in Hz per neuron is

    r_Q(t_k) = 1000 · counts[Q][k] / (N_Q · Δt).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .validation import ParameterError

__all__ = ["PopulationActivity", "as_activity"]


@dataclass(frozen=True)
class PopulationActivity:
    """Spike counts per time bin for each population.

    Attributes
    ----------
    t : ndarray, shape (T,)
        Left edges of the bins, ms.
    dt : float
        Bin width, ms.
    counts : dict[str, ndarray of shape (T,)]
        Spikes of the whole population per bin (float for an ODE flux times dt).
    sizes : dict[str, float]
        Number of neurons per population.
    spikes : tuple (times, ids, offsets) or None
        Individual spikes where known (network simulations): spike times (ms), global neuron
        ids, and ``offsets[Q]`` the first global id of population Q.
    """

    t: np.ndarray
    dt: float
    counts: dict
    sizes: dict
    spikes: tuple | None = field(default=None, repr=False)

    @property
    def populations(self) -> list[str]:
        return list(self.counts)

    def rate_hz(self, pop: str) -> np.ndarray:
        """Instantaneous rate of ``pop`` in Hz per neuron on the grid."""
        return 1000.0 * np.asarray(self.counts[pop], float) / (self.sizes[pop] * self.dt)

    def window(self, t_start: float, t_stop: float | None = None) -> PopulationActivity:
        """The part of the activity with bins inside [t_start, t_stop)."""
        t_stop = np.inf if t_stop is None else t_stop
        sel = (self.t >= t_start - 1e-9) & (self.t + self.dt <= t_stop + 1e-9)
        spikes = None
        if self.spikes is not None:
            ts, ids, off = self.spikes
            keep = (ts >= t_start) & (ts < t_stop)
            spikes = (ts[keep], ids[keep], off)
        return PopulationActivity(
            self.t[sel], self.dt, {q: np.asarray(c)[sel] for q, c in self.counts.items()},
            dict(self.sizes), spikes,
        )

    def mean_rates_hz(self, t_start: float = 0.0, t_stop: float | None = None) -> dict:
        """Mean rate per population over [t_start, t_stop), Hz per neuron."""
        w = self.window(t_start, t_stop)
        if len(w.t) == 0:
            raise ParameterError(
                f"t_burn = {t_start:g} ms leaves no data: the activity ends at "
                f"{self.t[-1] + self.dt if len(self.t) else 0:g} ms; lower t_burn or run longer"
            )
        dur = len(w.t) * w.dt
        return {q: float(1000.0 * np.sum(c) / (w.sizes[q] * dur)) for q, c in w.counts.items()}


def as_activity(obj) -> PopulationActivity:
    """Return the :class:`PopulationActivity` of a trajectory, an integration result, or itself."""
    if isinstance(obj, PopulationActivity):
        return obj
    act = getattr(obj, "activity", None)
    if callable(act):
        return act()
    if isinstance(act, PopulationActivity):
        return act
    raise ParameterError(
        f"cannot read population activity from {type(obj).__name__}: pass a Trajectory, a "
        "PopulationActivity, or an object with an .activity() method"
    )
