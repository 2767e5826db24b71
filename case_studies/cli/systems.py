"""Resolve ``--system`` names on the command line to :class:`bifurcation.ODESystem` objects.

- ``module:factory`` (or ``path/to/file.py:factory``): a user's own Python function returning
  an ``ODESystem`` (or an object with an ``.ode()`` method), called with the ``--set`` values
  as keywords;
- ``markov-approx``: the analytic Markov approximation of the Markov IF network, built from
  the network's keywords and the reduction's own (``h``, ``variance``);
- ``fitted:PATH``: a fitted transition-rate model saved by ``snnreduce reduce fit``.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from simulate.validation import ParameterError

__all__ = ["load_system", "SYSTEMS"]

#: Keywords that belong to the Markov approximation rather than to the network.
MA_KEYWORDS = ("h", "variance", "closure", "bins")

SYSTEMS = ("markov-approx", "module:factory", "file.py:factory", "fitted:PATH")


def _from_factory(spec: str, sets: dict):
    mod_name, _, func = spec.rpartition(":")
    if mod_name.endswith(".py"):
        path = Path(mod_name)
        if not path.exists():
            raise ParameterError(f"--system {spec!r}: no file {mod_name!r}")
        mspec = importlib.util.spec_from_file_location(path.stem, path)
        mod = importlib.util.module_from_spec(mspec)
        mspec.loader.exec_module(mod)
    else:
        try:
            mod = importlib.import_module(mod_name)
        except ImportError as exc:
            raise ParameterError(f"--system {spec!r}: cannot import {mod_name!r} ({exc})") from exc
    if not hasattr(mod, func):
        raise ParameterError(f"--system {spec!r}: {mod_name!r} has no {func!r}")
    obj = getattr(mod, func)(**sets)
    return obj.ode() if hasattr(obj, "ode") else obj


def load_system(spec: str, sets: dict | None = None):
    """Build the ODE system named by ``spec`` with parameters ``sets``."""
    from bifurcation.system import ODESystem

    sets = dict(sets or {})
    if spec == "markov-approx":
        import reduce
        import simulate

        ma_kw = {k: sets.pop(k) for k in list(sets) if k in MA_KEYWORDS}
        from reduce.markov_approx.sampler import MASampler

        net = simulate.MarkovIFNetwork(**sets)
        ma = reduce.MarkovApproximation(net, **ma_kw)
        system = ma.ode()
        system.sampler = MASampler(ma)  # the census default (snnreduce attractors)
    elif spec.startswith("fitted:"):
        import reduce

        model = reduce.estimation.FittedMarkovModel.load(spec.split(":", 1)[1])
        system = model.ode()
        if sets:
            system = system.with_params(**sets)
    elif ":" in spec:
        system = _from_factory(spec, sets)
    else:
        raise ParameterError(
            f"--system {spec!r} is not known; use one of: {', '.join(SYSTEMS)}"
        )
    if not isinstance(system, ODESystem):
        raise ParameterError(f"--system {spec!r} did not give a bifurcation.ODESystem")
    return system
