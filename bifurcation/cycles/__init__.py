"""Periodic orbits: collocation, Floquet multipliers, continuation, cycle bifurcations.

Public names: :func:`continue_cycles`, :class:`OrbitGuess`, :func:`continue_cycle_codim2`,
:func:`mesh_check`, :func:`shoot`, :class:`CycleSettings`. See ``docs/cycles.md``.
"""

from .continuation import CycleSettings, continue_cycles
from .shooting import MeshCheck, mesh_check, shoot
from .start import OrbitGuess

__all__ = ["continue_cycles", "OrbitGuess", "continue_cycle_codim2", "mesh_check", "shoot",
           "MeshCheck", "CycleSettings"]


def __getattr__(name):
    if name == "continue_cycle_codim2":
        from .codim2 import continue_cycle_codim2

        return continue_cycle_codim2
    raise AttributeError(f"module 'bifurcation.cycles' has no attribute {name!r}")
