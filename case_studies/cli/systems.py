"""Resolve ``--system`` names on the command line to :class:`bifurcation.ODESystem` objects.

- ``module:factory`` (or ``path/to/file.py:factory``): a user's own Python function returning
  an ``ODESystem`` (or an object with an ``.ode()`` method), called without arguments; the
  ``--set`` values then set the system's parameters by name;
- ``markov-approx``: the analytic Markov approximation of the Markov IF network, built from
  the network's keywords and the reduction's own (``h``, ``variance``);
- ``fitted:PATH``: a fitted transition-rate model saved by ``snnreduce reduce fit``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

from simulate.validation import ParameterError

__all__ = ["load_system", "SYSTEMS"]

#: Keywords that belong to the Markov approximation rather than to the network.
MA_KEYWORDS = ("h", "variance", "closure", "closure_nodes", "eps")


def split_ma_keywords(sets: dict) -> tuple:
    """Split ``--set`` values into (network keywords, Markov-approximation keywords).

    ``bin_width=W`` becomes the approximation's ``bins=W`` (uniform bins of width W).
    """
    net_kw = dict(sets)
    ma_kw = {k: net_kw.pop(k) for k in list(net_kw) if k in MA_KEYWORDS}
    if "bin_width" in net_kw:
        ma_kw["bins"] = float(net_kw.pop("bin_width"))
    return net_kw, ma_kw

SYSTEMS = ("markov-approx", "module:factory", "file.py:factory", "fitted:PATH")


def _from_factory(spec: str):
    """Call ``factory()`` of ``module:factory`` or ``file.py:factory``."""
    mod_name, _, func = spec.rpartition(":")
    if mod_name.endswith(".py") or os.path.sep in mod_name:
        if not os.path.exists(mod_name):
            raise FileNotFoundError(f"--system {spec!r}: no such file {mod_name!r}")
        name = os.path.splitext(os.path.basename(mod_name))[0]
        mspec = importlib.util.spec_from_file_location(name, mod_name)
        mod = importlib.util.module_from_spec(mspec)
        sys.modules[name] = mod  # so that the system pickles by reference (dask workers)
        mspec.loader.exec_module(mod)
    else:
        try:
            mod = importlib.import_module(mod_name)
        except ImportError as exc:
            raise ParameterError(f"--system {spec!r}: cannot import {mod_name!r} ({exc})") from None
    if not hasattr(mod, func):
        raise ParameterError(f"--system {spec!r}: module {mod_name!r} has no {func!r}")
    obj = getattr(mod, func)
    obj = obj() if callable(obj) and not hasattr(obj, "rhs_func") else obj
    return obj.ode() if hasattr(obj, "ode") and not hasattr(obj, "rhs_func") else obj


def _apply_params(system, sets: dict, spec: str):
    unknown = sorted(set(sets) - set(system.params))
    if unknown:
        raise ParameterError(f"--set: unknown parameter(s) {unknown} for --system {spec!r}; "
                             f"it has {list(system.params)}")
    return system.with_params(**sets) if sets else system


def load_system(spec: str, sets: dict | None = None):
    """Build the ODE system named by ``spec`` with parameters ``sets``."""
    from bifurcation.system import ODESystem

    sets = dict(sets or {})
    if spec in ("markov-approx", "ma"):
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
        system = _apply_params(model.ode(), sets, spec)
    elif ":" in spec:
        system = _apply_params(_from_factory(spec), sets, spec)
    else:
        raise ParameterError(
            f"--system {spec!r} is not known; use one of: {', '.join(SYSTEMS)}"
        )
    if not isinstance(system, ODESystem):
        raise ParameterError(f"--system {spec!r} did not give a bifurcation.ODESystem")
    return system
