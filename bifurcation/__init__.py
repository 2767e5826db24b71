"""Numerical continuation of ODE systems: equilibria, cycles, their bifurcations, attractors.

Knows nothing about neurons: any :class:`ODESystem` works, including one a user writes by hand.
"""

from __future__ import annotations

import importlib

from .branch import Branch, CycleBranch, Endpoint, SpecialPoint
from .system import ODESystem

_LAZY = {
    "continue_equilibria": "bifurcation.equilibria",
    "continue_codim2": "bifurcation.codim2",
    "continue_cycles": "bifurcation.cycles",
    "OrbitGuess": "bifurcation.cycles",
    "integrate": "bifurcation.integration",
    "attractor_census": "bifurcation.attractors",
    "largest_lyapunov_exponent": "bifurcation.lyapunov",
}

__all__ = ["ODESystem", "Branch", "CycleBranch", "SpecialPoint", "Endpoint", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'bifurcation' has no attribute {name!r}")
