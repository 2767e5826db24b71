"""The analytic Markov approximation (models.md §2): the spiking network as a smooth ODE.

>>> import reduce
>>> ma = reduce.MarkovApproximation()          # published defaults
>>> ma.ode().n_states
148
"""

from .bins import BinLayout, default_edges, make_layout
from .equilibrium import EquilibriumNotFound, MAEquilibrium
from .model import VARIANCES, MarkovApproximation

__all__ = ["MarkovApproximation", "BinLayout", "default_edges", "make_layout", "VARIANCES",
           "MAEquilibrium", "EquilibriumNotFound"]
