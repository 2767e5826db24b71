"""Results of continuation: Branch, SpecialPoint and Endpoint.

A :class:`Branch` is a curve of solutions (equilibria ``"EP"``, cycles ``"PO"``, or a
codimension-one curve in two parameters such as ``"HB-curve"``), its points ordered by signed
arclength, with stability, eigenvalues (or Floquet multipliers), outputs, the special points
located on it, and where and why it stopped (``endpoints``). Branch ends are in ``endpoints``,
never in ``special_points``.

Kinds of special points (a closed list, AUTO / MatCont labels):

- equilibria: ``LP`` fold, ``HB`` Hopf, ``BP`` branch point;
- cycles: ``LPC``, ``PD``, ``NS``, ``BPC``;
- codimension two on equilibrium curves: ``BT``, ``CP``, ``GH``, ``ZH``, ``HH``;
- on cycle curves: ``CPC``, ``GPD``, ``R1``-``R4``, ``LPPD``, ``LPNS``, ``PDNS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "Branch",
    "CycleBranch",
    "SpecialPoint",
    "Endpoint",
    "EQUILIBRIUM_KINDS",
    "CYCLE_KINDS",
    "CODIM2_KINDS",
    "CURVE_KINDS",
]

EQUILIBRIUM_KINDS = ("LP", "HB", "BP")
CYCLE_KINDS = ("LPC", "PD", "NS", "BPC")
CODIM2_KINDS = (
    "BT", "CP", "GH", "ZH", "HH",
    "CPC", "GPD", "R1", "R2", "R3", "R4", "LPPD", "LPNS", "PDNS",
)
CURVE_KINDS = ("LP-curve", "HB-curve", "LPC-curve", "PD-curve", "NS-curve")
BRANCH_KINDS = ("EP", "PO") + CURVE_KINDS


@dataclass(eq=False)
class SpecialPoint:
    """A located bifurcation point.

    Attributes
    ----------
    kind : str
        One of the kinds listed in the module docstring.
    params : dict[str, float]
        Every parameter value at the point.
    x : ndarray (n,)
        State at the point (for cycles: a point of the orbit, see ``data``).
    data : dict
        At least ``"omega"`` and ``"l1"`` for ``HB``; ``"period"`` and ``"multipliers"`` on
        cycles; the values of the test functions; normal-form coefficients where computed.
    branch : Branch
        The branch it was found on (``point.branch.system`` is the ODE system).
    index : int
        Index of the branch point just before it (the point itself is refined between
        ``index`` and ``index + 1``).
    """

    kind: str
    params: dict
    x: np.ndarray
    data: dict = field(default_factory=dict)
    branch: Any = field(default=None, repr=False)
    index: int = -1

    @property
    def system(self):
        return None if self.branch is None else self.branch.system

    def __repr__(self) -> str:
        ps = ", ".join(f"{k}={v:.6g}" for k, v in self.params.items()
                       if self.branch is None or k in _free_params(self.branch))
        return f"SpecialPoint({self.kind}, {ps})"


@dataclass(eq=False)
class Endpoint:
    """Where a branch stopped, and why.

    ``reason`` is one of ``"bound"`` (a parameter or state bound reached), ``"max_points"``,
    ``"min_step"`` (step size fell below its minimum), ``"newton"`` (corrector did not
    converge), ``"singular"``, ``"nonfinite"``, ``"closed"`` (the branch closed on itself),
    ``"period"`` (cycle period grew without bound), or another documented word.
    """

    reason: str
    index: int
    params: dict
    x: np.ndarray
    message: str = ""


def _free_params(branch) -> list:
    p = branch.param
    return list(p) if isinstance(p, (tuple, list)) else [p]


class Branch:
    """A continued curve of solutions.

    Attributes
    ----------
    kind : str
        ``"EP"``, ``"PO"`` or a curve kind (``"LP-curve"``, ``"HB-curve"``, ...).
    system : ODESystem
    param : str or tuple of str
        The free parameter(s).
    params : dict[str, ndarray (N,)]
        Every parameter's value at every point.
    states : ndarray (N, n)
        States (for cycles: the period means).
    stable : ndarray (N,) of bool
    eigenvalues : ndarray (N, n) complex
        Eigenvalues of the Jacobian (for cycles: Floquet multipliers).
    outputs : dict[str, ndarray (N,)]
    special_points : list of SpecialPoint
    endpoints : list of Endpoint
        Both ends of the branch (where and why it stopped).
    status : str
        ``"success"`` when every direction stopped for a regular reason (bound reached,
        maximum points, branch closed), else the reason of the first failure.
    message : str
        What happened, and what to change when the branch stopped early.
    counts : dict[str, int]
        Work done: ``steps``, ``newton_iterations``, ``rhs_evaluations``,
        ``jacobian_evaluations``, ...
    data : dict[str, ndarray]
        Further per-point arrays (e.g. test-function values, ``arclength``).
    """

    REGULAR_STOPS = ("bound", "max_points", "closed", "period")

    def __init__(self, kind, system, param, params, states, stable, eigenvalues, outputs=None,
                 special_points=None, endpoints=None, status="success", message="",
                 counts=None, data=None, settings=None):
        self.kind = kind
        self.system = system
        self.param = param
        self.params = {k: np.asarray(v, float) for k, v in params.items()}
        self.states = np.asarray(states, float)
        self.stable = np.asarray(stable, bool)
        self.eigenvalues = np.asarray(eigenvalues, complex)
        self.outputs = {k: np.asarray(v, float) for k, v in (outputs or {}).items()}
        self.special_points = list(special_points or [])
        for sp in self.special_points:
            sp.branch = self
        self.endpoints = list(endpoints or [])
        self.status = status
        self.message = message
        self.counts = dict(counts or {})
        self.data = dict(data or {})
        self.settings = dict(settings or {})

    @property
    def success(self) -> bool:
        return self.status == "success"

    def __len__(self) -> int:
        return len(self.states)

    @property
    def n_points(self) -> int:
        return len(self.states)

    def points(self, kind: str) -> list:
        """Special points of one kind."""
        return [sp for sp in self.special_points if sp.kind == kind]

    def values(self, name: str) -> np.ndarray:
        """A parameter, output, state (by name) or data array along the branch."""
        if name in self.params:
            return self.params[name]
        if name in self.outputs:
            return self.outputs[name]
        if name in self.system.state_names:
            return self.states[:, self.system.state_names.index(name)]
        if name in self.data:
            return np.asarray(self.data[name])
        raise KeyError(
            f"{name!r} is neither a parameter, an output, a state nor a data array of this "
            f"branch; outputs: {list(self.outputs)}, states: {self.system.state_names[:6]}..."
        )

    def __repr__(self) -> str:
        sp = ", ".join(f"{s.kind}" for s in self.special_points)
        return (
            f"Branch({self.kind}, param={self.param!r}, {self.n_points} points, "
            f"status={self.status!r}, special_points=[{sp}])"
        )


class CycleBranch(Branch):
    """A branch of periodic orbits (``kind == "PO"``).

    Adds ``periods`` (N,), ``multipliers`` (N, n) complex, ``state_min``, ``state_max``
    (N, n), ``amplitude`` (N,) and :meth:`orbit`. The meaning of ``amplitude`` is given by the
    continuation routine that fills it (documented there).
    """

    def __init__(self, *args, periods=None, multipliers=None, state_min=None, state_max=None,
                 amplitude=None, orbits=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.periods = np.asarray(periods, float)
        self.multipliers = np.asarray(multipliers, complex)
        self.state_min = np.asarray(state_min, float)
        self.state_max = np.asarray(state_max, float)
        self.amplitude = np.asarray(amplitude, float)
        self._orbits = orbits  # list of (t, x) with t in [0, period]

    def orbit(self, i: int):
        """The orbit at point ``i`` as ``(t, x)``: times in [0, period] and states (len(t), n)."""
        if self._orbits is None:
            raise KeyError("this cycle branch stored no orbits")
        t, x = self._orbits[i]
        return np.asarray(t), np.asarray(x)
