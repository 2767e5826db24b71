"""Coarse-grainings of a neuron's state: voltage bins, the base/gate split, refractory state.

A trajectory records, for every neuron at every sample, a *raw* coarse index (``coarse``
array): the voltage-bin index ``k`` on the edges ``bins/coarse`` (``k = 0 .. B-1`` for
``edges[k] <= V < edges[k+1]``) or ``B`` for a refractory neuron. A coarse-graining maps raw
indices to the states of the reduced chain through a lookup table

    state = lut[raw],   raw in 0 .. B,

the same for every population. Every coarse-graining keeps the refractory state R as its last
state: R is the *fired* state, entered exactly at a spike, so the flux into R is the
population's spike flux and its occupancy is the refractory count (the state removed by
neuron-number conservation in the ODE form).

Coarse-grainings are plain objects; :func:`as_coarse_graining` also accepts a name
(``"ma"``, ``"base-gate"``) or a list of edges, following the plug-in convention of design.md.

Examples
--------
>>> import numpy as np
>>> cg = VoltageBins([-66.0, 0.0, 50.0, 100.0])
>>> edges = np.array([-66.0, -36.0, 0.0, 4.0, 50.0, 100.0])   # the trajectory's edges
>>> cg.lookup(edges).tolist()            # 5 raw bins + refractory -> 3 bins + R
[0, 0, 1, 1, 2, 3]
>>> cg.labels(edges)
['[-66,0)', '[0,50)', '[50,100)', 'R']
>>> BaseGate(threshold=50.0).lookup(edges).tolist()
[0, 0, 0, 0, 1, 2]
"""

from __future__ import annotations

import numpy as np

from simulate.validation import ParameterError, check_number

__all__ = [
    "CoarseGraining",
    "VoltageBins",
    "BaseGate",
    "ma_edges",
    "as_coarse_graining",
    "REFRACTORY_LABEL",
]

REFRACTORY_LABEL = "R"
_TOL = 1e-9


def ma_edges(m: float = 100.0, m_r: float = 66.0, width: float = 4.0,
             lowest_top: float = -36.0) -> np.ndarray:
    """The voltage bins of the Markov approximation (models.md §2).

    ``[-m_r, lowest_top)`` followed by bins of width ``width`` up to the threshold ``m``:
    ``[-66, -36), [-36, -32), ..., [96, 100)`` at the defaults (35 bins, 36 edges).
    """
    upper = np.arange(lowest_top, m + 0.5 * width, width)
    return np.concatenate([[-m_r], upper]).astype(float)


def _fmt(v: float) -> str:
    return f"{v:g}"


class CoarseGraining:
    """Base class: a map from raw trajectory indices to reduced states (refractory last).

    Subclasses implement :meth:`voltage_edges` (the voltage edges of the reduced bins, a subset
    of the trajectory's edges) and may override :meth:`labels`.
    """

    kind = "abstract"

    def voltage_edges(self, traj_edges: np.ndarray) -> np.ndarray:  # pragma: no cover
        """Voltage edges of the reduced bins, a subset of ``traj_edges`` spanning its range.

        Parameters
        ----------
        traj_edges : ndarray
            The trajectory's voltage-bin edges (``bins/coarse``).

        Returns
        -------
        ndarray
            Edges of the reduced voltage states (the refractory state is not included).
        """
        raise NotImplementedError

    # ------------------------------------------------------------------ derived
    def _check_subset(self, edges: np.ndarray, traj_edges: np.ndarray, what: str) -> np.ndarray:
        traj_edges = np.asarray(traj_edges, float)
        pos = np.empty(len(edges), np.int64)
        for i, e in enumerate(edges):
            hit = np.flatnonzero(np.abs(traj_edges - e) <= _TOL * max(1.0, abs(e)))
            if len(hit) == 0:
                raise ParameterError(
                    f"{what} = {_fmt(e)} is not an edge of the trajectory's voltage bins "
                    f"(bins/coarse = [{', '.join(_fmt(v) for v in traj_edges)}]); a "
                    "coarse-graining can only merge recorded bins"
                )
            pos[i] = hit[0]
        return pos

    def lookup(self, traj_edges) -> np.ndarray:
        """Lookup table ``lut`` (int64, length B+1): reduced state of each raw index."""
        traj_edges = np.asarray(traj_edges, float)
        if traj_edges.ndim != 1 or len(traj_edges) < 2 or np.any(np.diff(traj_edges) <= 0):
            raise ParameterError(
                "bins/coarse must be a strictly increasing array of at least 2 edges, got "
                f"{traj_edges!r}"
            )
        edges = self.voltage_edges(traj_edges)
        pos = self._check_subset(edges, traj_edges, f"{self.kind} edge")
        if pos[0] != 0 or pos[-1] != len(traj_edges) - 1:
            raise ParameterError(
                f"{self.kind} edges must span the trajectory's voltage range "
                f"[{_fmt(traj_edges[0])}, {_fmt(traj_edges[-1])}]; got "
                f"[{_fmt(edges[0])}, {_fmt(edges[-1])}]"
            )
        B = len(traj_edges) - 1
        lut = np.empty(B + 1, np.int64)
        for s in range(len(pos) - 1):
            lut[pos[s]:pos[s + 1]] = s
        lut[B] = len(pos) - 1          # refractory: last state
        return lut

    def n_states(self, traj_edges) -> int:
        """Number of reduced states (voltage states plus refractory), from :meth:`lookup`."""
        return int(self.lookup(traj_edges).max()) + 1

    def labels(self, traj_edges) -> list:
        """State labels: ``"[a,b)"`` for each reduced voltage bin, then ``"R"`` for refractory."""
        e = self.voltage_edges(np.asarray(traj_edges, float))
        return [f"[{_fmt(a)},{_fmt(b)})" for a, b in zip(e[:-1], e[1:])] + [REFRACTORY_LABEL]

    def reset_state(self, traj_edges, reset: float = 0.0) -> int:
        """Reduced state that contains the reset voltage (re-entry from R)."""
        e = self.voltage_edges(np.asarray(traj_edges, float))
        k = int(np.searchsorted(e, reset, side="right") - 1)
        return min(max(k, 0), len(e) - 2)

    def describe(self) -> dict:
        """JSON-ready description (stored with fitted models)."""
        raise NotImplementedError  # pragma: no cover

    def __eq__(self, other):
        return isinstance(other, CoarseGraining) and self.describe() == other.describe()

    def __hash__(self):
        return hash(str(self.describe()))


class VoltageBins(CoarseGraining):
    """Voltage bins of any layout (merges of the recorded bins) plus the refractory state.

    Parameters
    ----------
    edges : array_like or None
        Increasing voltage edges, each one an edge of the trajectory's ``bins/coarse``; the
        first and last must be the trajectory's first and last edge. ``None`` keeps the
        trajectory's own bins (the finest coarse-graining available).

    Notes
    -----
    States: ``K = len(edges) - 1`` voltage bins ``[e_k, e_{k+1})`` and R (index K).
    """

    kind = "voltage-bins"

    def __init__(self, edges=None):
        if edges is None:
            self.edges = None
        else:
            e = np.asarray(edges, float)
            if e.ndim != 1 or len(e) < 2 or not np.all(np.isfinite(e)):
                raise ParameterError(f"edges = {edges!r}: expected at least 2 finite numbers")
            if np.any(np.diff(e) <= 0):
                raise ParameterError(f"edges = {e.tolist()} must be strictly increasing")
            self.edges = e

    def voltage_edges(self, traj_edges):
        """The configured ``edges``, or the trajectory's own edges if none were given."""
        return np.asarray(traj_edges, float) if self.edges is None else self.edges

    def describe(self):
        return {"kind": self.kind,
                "edges": None if self.edges is None else [float(v) for v in self.edges]}

    def __repr__(self):
        return "VoltageBins(trajectory bins)" if self.edges is None else \
            f"VoltageBins({len(self.edges) - 1} bins on [{_fmt(self.edges[0])}, " \
            f"{_fmt(self.edges[-1])}])"


class BaseGate(CoarseGraining):
    """The two-state base/gate split of Cai, Wu, Tao, Xiao (2021), plus the refractory state.

    Parameters
    ----------
    threshold : float
        Voltage separating *base* (V < threshold) from *gate* (threshold <= V < M); must be an
        edge of the trajectory's bins.

    Notes
    -----
    States: 0 = base, 1 = gate, 2 = R.
    """

    kind = "base-gate"

    def __init__(self, threshold: float = 84.0):
        self.threshold = check_number("threshold", threshold)

    def voltage_edges(self, traj_edges):
        """``[traj_edges[0], threshold, traj_edges[-1]]``.

        Raises
        ------
        ParameterError
            If the threshold is not strictly inside the trajectory's voltage range.
        """
        traj_edges = np.asarray(traj_edges, float)
        if not traj_edges[0] < self.threshold < traj_edges[-1]:
            raise ParameterError(
                f"threshold = {_fmt(self.threshold)} is outside the valid range "
                f"({_fmt(traj_edges[0])}, {_fmt(traj_edges[-1])}) of the trajectory's voltages"
            )
        return np.array([traj_edges[0], self.threshold, traj_edges[-1]])

    def labels(self, traj_edges):
        """``["base", "gate", "R"]``."""
        return ["base", "gate", REFRACTORY_LABEL]

    def describe(self):
        return {"kind": self.kind, "threshold": self.threshold}

    def __repr__(self):
        return f"BaseGate(threshold={_fmt(self.threshold)})"


def as_coarse_graining(obj) -> CoarseGraining:
    """A :class:`CoarseGraining` from an instance, a name, a description dict or edges.

    Names: ``"trajectory"``/``"fine"`` (the recorded bins), ``"ma"`` (the Markov-approximation
    layout), ``"base-gate"`` (threshold 84), ``"base-gate:THR"``.
    """
    if isinstance(obj, CoarseGraining):
        return obj
    if isinstance(obj, type) and issubclass(obj, CoarseGraining):
        return obj()
    if isinstance(obj, dict):
        kind = obj.get("kind")
        if kind == "voltage-bins":
            return VoltageBins(obj.get("edges"))
        if kind == "base-gate":
            return BaseGate(obj["threshold"])
        raise ParameterError(f"coarse_graining kind = {kind!r}; valid: voltage-bins, base-gate")
    if obj is None:
        return VoltageBins(None)
    if isinstance(obj, str):
        name = obj.strip().lower()
        if name in ("trajectory", "fine"):
            return VoltageBins(None)
        if name == "ma":
            return VoltageBins(ma_edges())
        if name in ("base-gate", "basegate"):
            return BaseGate()
        if name.startswith(("base-gate:", "basegate:")):
            return BaseGate(float(name.split(":", 1)[1]))
        try:
            edges = [float(v) for v in name.split(",")]
        except ValueError:
            raise ParameterError(
                f"coarse_graining = {obj!r}; valid: 'trajectory', 'ma', 'base-gate', "
                "'base-gate:THR', or comma-separated edges"
            ) from None
        return VoltageBins(edges)
    return VoltageBins(obj)
