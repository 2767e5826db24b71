"""Named views of Markov-approximation state vectors.

>>> import reduce
>>> ma = reduce.MarkovApproximation()
>>> v = ma.state_view(ma.initial_state())
>>> v.E.occupancy.shape, float(v["EI"].kick_mean)
((35,), 0.0)
"""

from __future__ import annotations

import numpy as np

__all__ = ["StateLayout", "StateView", "PopulationView", "PathwayView"]


class StateLayout:
    """Index layout of the ODE state (and of the map state, which appends R and F).

    ODE (reduced coordinates): for each population q, ``n_q[0..K-1]`` then ``Z_q[0..K-1]``;
    then for each ordered pathway (q, r), ``m_qr, s_qr``. Map: the same followed by ``R_q``
    (refractory counts) and ``F_q`` (flux of the last step, spikes per ms).
    """

    def __init__(self, populations, n_bins: int, centres: np.ndarray, widths: np.ndarray,
                 sizes: np.ndarray, eps: float):
        self.populations = tuple(populations)
        self.P = len(self.populations)
        self.K = int(n_bins)
        self.centres = np.asarray(centres, float)
        self.widths = np.asarray(widths, float)
        self.sizes = np.asarray(sizes, float)
        self.eps = float(eps)
        self.n_ode = 2 * self.K * self.P + 2 * self.P * self.P
        self.n_map = self.n_ode + 2 * self.P

    def occ(self, q: int) -> slice:
        """Slice of the occupancies ``n_q[0..K-1]`` of population ``q``."""
        return slice(2 * self.K * q, 2 * self.K * q + self.K)

    def ztot(self, q: int) -> slice:
        """Slice of the centred voltage totals ``Z_q[0..K-1]`` of population ``q``."""
        return slice(2 * self.K * q + self.K, 2 * self.K * (q + 1))

    def mom(self, q: int, r: int) -> int:
        """Index of ``m_qr`` (``s_qr`` follows)."""
        return 2 * self.K * self.P + 2 * (q * self.P + r)

    def refractory_index(self, q: int) -> int:
        """Index of ``R_q`` (refractory count of population ``q``) in the map state."""
        return self.n_ode + q

    def flux_index(self, q: int) -> int:
        """Index of ``F_q`` (last-step flux of population ``q``, spikes/ms) in the map state."""
        return self.n_ode + self.P + q

    @property
    def pathway_names(self) -> list:
        return [a + b for a in self.populations for b in self.populations]

    def names(self, form: str = "ode") -> list:
        """Component names in layout order: ``"<q>.n[k]"``, ``"<q>.Z[k]"`` per population, then
        ``"<pathway>.m"``, ``"<pathway>.s"``; ``form="map"`` appends ``"<q>.R"`` and ``"<q>.F"``.
        """
        out = []
        for q in self.populations:
            out += [f"{q}.n[{k}]" for k in range(self.K)]
            out += [f"{q}.Z[{k}]" for k in range(self.K)]
        for pw in self.pathway_names:
            out += [f"{pw}.m", f"{pw}.s"]
        if form == "map":
            out += [f"{q}.R" for q in self.populations] + [f"{q}.F" for q in self.populations]
        return out


class PopulationView:
    """Components of one population: ``occupancy``, ``centred_total``, ``voltage_total``,
    ``mean_voltage`` (regularised), ``refractory``; views into the state where possible."""

    def __init__(self, layout: StateLayout, x: np.ndarray, q: int):
        self._l, self._x, self._q = layout, x, q

    @property
    def occupancy(self) -> np.ndarray:
        return self._x[..., self._l.occ(self._q)]

    @property
    def centred_total(self) -> np.ndarray:
        """``Z_k = Σ (V - c_k)`` over the neurons of bin k."""
        return self._x[..., self._l.ztot(self._q)]

    @property
    def voltage_total(self) -> np.ndarray:
        """``W_k = Z_k + c_k n_k``: the sum of voltages in bin k."""
        return self.centred_total + self._l.centres * self.occupancy

    @property
    def mean_voltage(self) -> np.ndarray:
        """Regularised in-bin mean ``c_k + Z_k n_k / (n_k² + ε²)``."""
        n = self.occupancy
        return self._l.centres + self.centred_total * n / (n * n + self._l.eps ** 2)

    @property
    def refractory(self):
        """R_q: stored in map states, ``N_q - Σ n`` in reduced (ODE) coordinates."""
        if self._x.shape[-1] == self._l.n_map:
            return self._x[..., self._l.refractory_index(self._q)]
        return self._l.sizes[self._q] - self.occupancy.sum(axis=-1)


class PathwayView:
    """Pending-kick moments of one pathway: ``kick_mean`` (m) and ``kick_var`` (s)."""

    def __init__(self, layout: StateLayout, x: np.ndarray, q: int, r: int):
        self._i = layout.mom(q, r)
        self._x = x

    @property
    def kick_mean(self):
        return self._x[..., self._i]

    @property
    def kick_var(self):
        return self._x[..., self._i + 1]


class StateView:
    """Read named components of a state vector (or an array of states, last axis = state).

    ``view.E`` or ``view["E"]`` → :class:`PopulationView`; ``view["EI"]`` →
    :class:`PathwayView` (I onto E).
    """

    def __init__(self, layout: StateLayout, x):
        x = np.asarray(x, dtype=np.float64)
        if x.shape[-1] not in (layout.n_ode, layout.n_map):
            raise ValueError(
                f"state has length {x.shape[-1]}; expected {layout.n_ode} (ODE) or "
                f"{layout.n_map} (map)")
        self._l = layout
        self._x = x

    def __getitem__(self, name: str):
        pops = self._l.populations
        if name in pops:
            return PopulationView(self._l, self._x, pops.index(name))
        for q in pops:
            for r in pops:
                if q + r == name:
                    return PathwayView(self._l, self._x, pops.index(q), pops.index(r))
        raise KeyError(f"unknown component {name!r}; populations {pops}, pathways "
                       f"{self._l.pathway_names}")

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError as err:
            raise AttributeError(str(err)) from None
