"""A user's own system module for CLI tests: a shifted bistable system."""

import numpy as np

from bifurcation import ODESystem


def _rhs(x, p):
    c = p[0]
    u = x[0] - c
    return np.array([u - u ** 3, -(x[1] - c)])


def make_system():
    return ODESystem(_rhs, 2, {"c": 0.0}, state_names=["u", "v"])
