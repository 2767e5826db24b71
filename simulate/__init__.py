"""Fast simulators of spiking E/I networks (numba), their trajectories and observables.

Public names are loaded on first use, so ``import simulate`` stays quick and each simulator's
compiled kernels load only when that simulator is used.
"""

from __future__ import annotations

import importlib

from .activity import PopulationActivity, as_activity
from .trajectory import Trajectory, TrajectoryFileError, TrajectoryWriter
from .validation import ParameterError

_LAZY = {
    "MarkovIFNetwork": "simulate.markov_if.network",
    "ConductanceLIFNetwork": "simulate.lif.conductance",
    "CurrentLIFNetwork": "simulate.lif.current",
    "BalancedHybridNetwork": "simulate.hybrid.network",
    "observables": "simulate.observables",
    "executor": "simulate.executor",
}

#: Command-line names of the simulators: ``snnreduce simulate NAME``.
NETWORKS = {
    "markov-if": "MarkovIFNetwork",
    "cond-lif": "ConductanceLIFNetwork",
    "current-lif": "CurrentLIFNetwork",
    "hybrid": "BalancedHybridNetwork",
}

__all__ = [
    "PopulationActivity",
    "as_activity",
    "Trajectory",
    "TrajectoryFileError",
    "TrajectoryWriter",
    "ParameterError",
    "NETWORKS",
    *_LAZY,
]


def __getattr__(name):
    if name in _LAZY:
        mod = importlib.import_module(_LAZY[name])
        return mod if mod.__name__.endswith(name) else getattr(mod, name)
    raise AttributeError(f"module 'simulate' has no attribute {name!r}")
