"""Coarse-grained Markov transition rates estimated from simulations (models.md §3).

- coarse-grainings: :class:`VoltageBins`, :class:`BaseGate` (refractory = fired state last);
- :class:`TransitionRateEstimator` (``fit(trajectories) -> self``, ``fetch_model()``);
- :class:`FittedMarkovModel`: ``.ode()`` (an ``ODESystem``), ``.chain(sizes)``, ``.samples``,
  ``save``/``load``;
- :mod:`reduce.estimation.validation`: implied timescales, Chapman–Kolmogorov test,
  closed-loop comparisons.
"""

from .coarse import BaseGate, CoarseGraining, VoltageBins, as_coarse_graining, ma_edges
from .estimator import LowCountWarning, TransitionRateEstimator
from .features import register_feature
from .model import FittedMarkovModel, ModelFileError

__all__ = [
    "TransitionRateEstimator",
    "FittedMarkovModel",
    "ModelFileError",
    "LowCountWarning",
    "CoarseGraining",
    "VoltageBins",
    "BaseGate",
    "as_coarse_graining",
    "ma_edges",
    "register_feature",
]
