"""Balanced stochastic-hybrid E/I network (models.md §6, a reconstruction).

Modules: :mod:`.network` (``BalancedHybridNetwork``), :mod:`.kernels` (numba step kernel).
"""

__all__ = ["BalancedHybridNetwork"]


def __getattr__(name):
    if name == "BalancedHybridNetwork":
        from .network import BalancedHybridNetwork

        return BalancedHybridNetwork
    raise AttributeError(name)
