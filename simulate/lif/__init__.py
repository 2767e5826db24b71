"""Leaky integrate-and-fire networks: conductance-based with strong coupling (models.md §4)
and current-based (Brunel 2000, models.md §5), with procedural connectivity.

Modules: :mod:`.conductance` (``ConductanceLIFNetwork``), :mod:`.current`
(``CurrentLIFNetwork``), :mod:`.kernels` (numba time-step kernel), :mod:`.connectivity`
(targets regenerated from seeds), :mod:`.scaling` (coupling rules a(K)), :mod:`.engine`
(run driver and recording).
"""

__all__ = ["ConductanceLIFNetwork", "CurrentLIFNetwork"]


def __getattr__(name):
    if name == "ConductanceLIFNetwork":
        from .conductance import ConductanceLIFNetwork

        return ConductanceLIFNetwork
    if name == "CurrentLIFNetwork":
        from .current import CurrentLIFNetwork

        return CurrentLIFNetwork
    raise AttributeError(name)
