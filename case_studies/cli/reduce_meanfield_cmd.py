"""``snnreduce reduce meanfield THEORY``: balanced-limit and mean-field baselines.

Theories (``reduce.meanfield``):

- ``cond-lif``: conductance-based strong-coupling theory (models.md §4);
- ``brunel``: Brunel's current-based network (§5), one population (``--set two_pop=true``
  for the two-population model);
- ``binary``: balanced binary network at finite K (§7), with the large-K balanced solution;
- ``hybrid``: hydrodynamic limit of the balanced stochastic-hybrid network (§6,
  reconstruction);
- ``markov-if``: diffusion/mean-field rate baseline of the Markov IF network (§1).

Example::

    snnreduce reduce meanfield cond-lif --set K=1000 --set a=0.0016 --json

The summary has ``rates_hz`` (Hz per neuron, populations ``"E"``, ``"I"``: the value at the
stable equilibrium, or the mean over one period of a cycle) and
``attractor = {"kind": "equilibrium" | "cycle" | "irregular", "period_ms": ...}``. When the
theory's fixed point is unstable, its ODE is integrated from next to it for ``t_end`` ms
(``--t-end``) and the attractor is classified from the last half of the run.
"""

from __future__ import annotations

import time

import numpy as np

from simulate.validation import ParameterError

from .common import add_common, emit, parse_sets

THEORIES = ("cond-lif", "brunel", "binary", "hybrid", "markov-if")


def register(sub) -> None:
    """Add ``snnreduce reduce meanfield`` (mean-field baselines) to the subparsers ``sub``
    (an ``argparse`` subparsers object)."""
    p = sub.add_parser(
        "meanfield", help="balanced-limit and mean-field baselines (models.md §4-§7)",
        description="Mean-field baselines. Example: snnreduce reduce meanfield cond-lif --set "
        "K=1000 --set a=0.0016 --json",
    )
    p.add_argument("theory", choices=THEORIES, help="which theory")
    p.add_argument("--t-end", type=float, default=3000.0,
                   help="integration time (ms) used when the fixed point is unstable")
    add_common(p, out=False)
    p.set_defaults(func=run)


def _attractor(ode, x0, t_end, rate_names):
    """Integrate ``ode`` from ``x0`` and classify the attractor on the last half."""
    from scipy.integrate import solve_ivp

    p = ode.p0
    sol = solve_ivp(lambda t, x: ode.rhs(x, p), (0.0, t_end), np.asarray(x0, float),
                    method="LSODA", rtol=1e-8, atol=1e-10, dense_output=True)
    if not sol.success:
        return {"kind": "irregular", "period_ms": None}, {}, sol.message
    t = np.linspace(0.5 * t_end, t_end, 20001)
    X = sol.sol(t)
    r = np.array([ode.outputs[rate_names[0]](X[:, i], p) for i in range(t.size)])
    amp = r.max() - r.min()
    if amp < 1e-6 * max(1.0, abs(r.mean())):
        rates = {k.split("_", 1)[1]: float(ode.outputs[k](X[:, -1], p)) for k in rate_names}
        return {"kind": "equilibrium", "period_ms": None}, rates, "converged to an equilibrium"
    # peaks above the mid-level
    mid = 0.5 * (r.max() + r.min())
    up = np.flatnonzero((r[:-1] < mid) & (r[1:] >= mid))
    if up.size < 3:
        return {"kind": "irregular", "period_ms": None}, {}, "no clear period"
    periods = np.diff(t[up])
    per = float(np.mean(periods))
    kind = "cycle" if np.std(periods) < 0.02 * per else "irregular"
    i0, i1 = up[-2], up[-1]
    rates = {}
    for k in rate_names:
        vals = np.array([ode.outputs[k](X[:, i], p) for i in range(i0, i1)])
        rates[k.split("_", 1)[1]] = float(vals.mean())
    return {"kind": kind, "period_ms": per if kind == "cycle" else None}, rates, \
        "integrated the ODE from the unstable fixed point"


def _pop(sets, keys):
    return {k: sets.pop(k) for k in list(sets) if k in keys}


def run(args) -> int:
    """Execute ``snnreduce reduce meanfield`` with parsed ``args``; return the exit status
    (0 on success; bad input raises ``ParameterError``, reported by ``main`` with status 2)."""
    from reduce import meanfield as mf

    sets = parse_sets(args.set)
    t0 = time.perf_counter()
    th = args.theory
    summary = {"model": f"meanfield/{th}", "params": dict(sets)}
    if th == "cond-lif":
        opts = _pop(sets, ("jump", "noise", "tau_x"))
        tau_x = opts.pop("tau_x", 5.0)
        theory = mf.ConductanceTheory(**opts, **sets)
        fp = theory.self_consistent()
        if not fp.success:
            summary.update(status="no solution", message=fp.message, rates_hz=None,
                           attractor=None)
        else:
            nu = fp.lowest_stable()
            if nu is None:   # no stable solution: report the lowest, without an attractor
                nu = float(fp.rates_hz[0])
            i = int(np.flatnonzero(fp.rates_hz == nu)[0])
            summary.update(
                status="ok", rates_hz={"E": nu, "I": nu}, cv=float(fp.extra["cv"][i]),
                solutions_hz=fp.rates_hz, stable=fp.stable, message=fp.message,
                attractor={"kind": "equilibrium", "period_ms": None}
                if fp.stable[i] else None,
                linear_limit_hz=_safe(lambda: theory.linear_limit() * theory.params["nu_x"]),
                tau_x=tau_x,
            )
    elif th == "brunel":
        two = bool(sets.pop("two_pop", False))
        theory = mf.BrunelTheory(**sets)
        fp = theory.self_consistent()
        if two:
            res = theory.two_population_fixed_point()
            summary.update(status=res["status"], rates_hz=res["rates_hz"],
                           message=res["message"],
                           attractor={"kind": "equilibrium", "period_ms": None})
        elif not fp.success:
            summary.update(status="no solution", message=fp.message, rates_hz=None,
                           attractor=None)
        else:
            nu = fp.lowest_stable()
            if nu is None:
                nu = float(fp.rates_hz[0])
            i = int(np.flatnonzero(fp.rates_hz == nu)[0])
            summary.update(status="ok", rates_hz={"E": nu, "I": nu},
                           cv=float(fp.extra["cv"][i]), solutions_hz=fp.rates_hz,
                           stable=fp.stable, message=fp.message,
                           attractor={"kind": "equilibrium", "period_ms": None}
                           if fp.stable[i] else None,
                           linear_limit_hz=_safe(theory.linear_limit),
                           regime_note="rate theory: only the asynchronous-irregular regime "
                           "is a fair comparison with the network")
    elif th == "binary":
        theory = mf.BinaryBalancedTheory(**sets)
        fp = theory.fixed_point()
        summary.update(status=fp["status"], activity=fp["m"],
                       balanced_activity=_safe(theory.balanced), message=fp["message"])
        if fp["status"] == "ok" and fp["stable"]:
            summary.update(rates_hz=fp["rates_hz"],
                           attractor={"kind": "equilibrium", "period_ms": None})
        else:
            x0 = np.array([fp["m"]["E"], fp["m"]["I"]]) + 1e-3
            att, rates, msg = _attractor(theory.ode(), x0, args.t_end, ["rate_E", "rate_I"])
            summary.update(rates_hz=rates, attractor=att, message=msg)
        summary["rates_note"] = "binary units: rate of 0->1 transitions m(1-m)/tau"
    elif th == "hybrid":
        theory = mf.HybridHydrodynamic(**sets)
        eq = theory.equilibrium()
        summary.update(status=eq["status"], rates_hz=eq["rates_hz"],
                       means={"E": eq["x"][0], "I": eq["x"][1]},
                       variances={"E": eq["x"][2], "I": eq["x"][3]},
                       balance_gain=eq["balance_gain"], message=eq["message"],
                       attractor={"kind": "equilibrium", "period_ms": None}
                       if eq["balance_gain"] < 0 else None,
                       note="reconstruction (models.md §6); rates per outgoing process")
    else:  # markov-if
        theory = mf.MarkovIFDiffusion(**sets)
        eq = theory.equilibrium()
        summary.update(status=eq["status"], equilibrium_rates_hz=eq["rates_hz"],
                       equilibrium_stable=eq["stable"], message=eq["message"])
        if eq["status"] != "ok":
            summary.update(rates_hz=None, attractor=None)
        elif eq["stable"]:
            summary.update(rates_hz=eq["rates_hz"],
                           attractor={"kind": "equilibrium", "period_ms": None})
        else:
            ode = theory.ode()
            x0 = eq["m"].ravel() * 1.01
            names = [f"rate_{q}" for q in theory.populations]
            att, rates, msg = _attractor(ode, x0, args.t_end, names)
            summary.update(rates_hz=rates, attractor=att, message=msg)
    summary["wall_time_s"] = time.perf_counter() - t0
    emit(summary, args.json)
    return 0


def _safe(fn):
    try:
        return fn()
    except ParameterError as exc:
        return f"n/a: {exc}"
