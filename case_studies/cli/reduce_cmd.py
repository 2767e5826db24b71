"""``snnreduce reduce KIND``: build a reduced model.

Kinds, each in its own module with a ``register(subparsers)`` function:

- ``markov-approx``: the analytic Markov approximation (``reduce_markov_cmd``);
- ``meanfield THEORY``: balanced-limit and mean-field baselines (``reduce_meanfield_cmd``);
- ``fit``: transition rates estimated from trajectories (``reduce_fit_cmd``).
"""

from __future__ import annotations

import importlib

KINDS = (
    "case_studies.cli.reduce_markov_cmd",
    "case_studies.cli.reduce_meanfield_cmd",
    "case_studies.cli.reduce_fit_cmd",
)


def register(sub) -> None:
    """Add ``snnreduce reduce`` and its kinds (markov-approx, meanfield, fit) to ``sub``."""
    p = sub.add_parser("reduce", help="reduce a network to an ODE system or a finite-N chain",
                       description="Reduce a spiking network to differential equations.")
    kinds = p.add_subparsers(dest="kind", metavar="KIND")
    kinds.required = True
    for name in KINDS:
        importlib.import_module(name).register(kinds)
