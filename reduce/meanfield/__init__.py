"""Balanced-limit and mean-field baselines (models.md §4-§7), for comparison with the
Markov approximation and with the spiking networks themselves.

Modules (each a small job):

- :mod:`.siegert`: Siegert/Ricciardi rate and CV of the LIF neuron and their derivatives;
- :mod:`.conductance`: strong-coupling theory of the conductance-based network (§4);
- :mod:`.brunel`: Brunel's current-based network (§5), self-consistency and rate ODE;
- :mod:`.binary`: the balanced binary network of van Vreeswijk & Sompolinsky (§7);
- :mod:`.hydrodynamic`: means and variances of the balanced stochastic-hybrid network (§6,
  a reconstruction);
- :mod:`.markov_if_diffusion`: a diffusion/mean-field rate ODE of the Markov IF network (§1);
- :mod:`.firstpassage`: rate and CV of a reset diffusion with V-dependent coefficients;
- :mod:`.roots`: all solutions of a scalar self-consistency (scan + Brent);
- :mod:`.renewal`: self-consistent renewal-input single-neuron theory of the rate and ISI CV
  (current-based and conductance-based neurons).

Public names are loaded on first use.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "siegert_rate": "reduce.meanfield.siegert",
    "siegert_cv": "reduce.meanfield.siegert",
    "siegert_rate_derivs": "reduce.meanfield.siegert",
    "siegert_cv_derivs": "reduce.meanfield.siegert",
    "ConductanceTheory": "reduce.meanfield.conductance",
    "BrunelTheory": "reduce.meanfield.brunel",
    "BinaryBalancedTheory": "reduce.meanfield.binary",
    "HybridHydrodynamic": "reduce.meanfield.hydrodynamic",
    "MarkovIFDiffusion": "reduce.meanfield.markov_if_diffusion",
    "FixedPoints": "reduce.meanfield.roots",
    "first_passage_rate": "reduce.meanfield.firstpassage",
    "first_passage_moments": "reduce.meanfield.firstpassage",
    "RenewalInputNeuron": "reduce.meanfield.renewal",
    "RenewalResult": "reduce.meanfield.renewal",
    "brunel_renewal": "reduce.meanfield.renewal",
    "conductance_renewal": "reduce.meanfield.renewal",
    "sample_renewal_trains": "reduce.meanfield.renewal",
}

__all__ = list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'reduce.meanfield' has no attribute {name!r}")
