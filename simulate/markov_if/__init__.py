"""The discrete-state stochastic integrate-and-fire network (models.md §1)."""

from .network import METHODS, MarkovIFNetwork
from .params import DEFAULTS, PRESETS, NetworkSpec, resolve, validate

__all__ = ["MarkovIFNetwork", "METHODS", "DEFAULTS", "PRESETS", "NetworkSpec", "resolve",
           "validate"]
