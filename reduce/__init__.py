"""Reductions of spiking networks to ODE systems and finite-N chains.

- :class:`MarkovApproximation`: the analytic Markov approximation (models.md §2);
- :class:`TransitionRateEstimator`: coarse-grained transition rates fitted to simulations (§3);
- :mod:`reduce.meanfield`: balanced-limit and mean-field baselines (§4-§7).
"""

from __future__ import annotations

import importlib

_LAZY = {
    "MarkovApproximation": "reduce.markov_approx",
    "TransitionRateEstimator": "reduce.estimation",
    "meanfield": "reduce.meanfield",
}

__all__ = list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        mod = importlib.import_module(_LAZY[name])
        return mod if mod.__name__.endswith(name) else getattr(mod, name)
    raise AttributeError(f"module 'reduce' has no attribute {name!r}")
