"""``snnreduce continue``: continue equilibria (and optionally a fold/Hopf curve) of a system.

Systems:

- ``--system module:factory`` — a user's own Python module (an importable name or a path to a
  ``.py`` file) and a function returning a :class:`bifurcation.ODESystem` (or the system
  object itself);
- ``--system markov-approx`` — the analytic Markov approximation of the Markov IF network
  (``reduce.MarkovApproximation(simulate.MarkovIFNetwork(**sets)).ode()``), when available.

``--set NAME=VALUE`` sets system parameters (network parameters for ``markov-approx``);
``--opt NAME=VALUE`` sets continuation settings (``ds``, ``ds_max``, ``max_points``, ...).
The start equilibrium is ``--x0`` corrected by Newton, or else found by integrating the system
for ``--t-integrate`` time units from ``--x0`` (or zeros / the model's own initial state).

Examples
--------
::

    snnreduce continue --system mymodel.py:make --param B --bounds 0 4 --x0 1 1.5 --json
    snnreduce continue --system mymodel:make --param B --bounds 0 4 --codim2 A 0.5 2 \\
        --out branch.h5 --plot diagram.png
"""

from __future__ import annotations

import os

import numpy as np

from simulate.validation import ParameterError

from .common import add_common, emit, parse_sets


def register(sub) -> None:
    """Add ``snnreduce continue`` (equilibria and codim-2 curves) to the subparsers ``sub``
    (an ``argparse`` subparsers object)."""
    p = sub.add_parser(
        "continue", help="continue equilibria and bifurcation curves of an ODE system",
        description=__doc__.split("Examples")[0],
    )
    p.add_argument("--system", required=True,
                   help="module:factory (module name or path.py) or 'markov-approx'")
    p.add_argument("--param", required=True, help="free parameter")
    p.add_argument("--bounds", nargs=2, type=float, required=True, metavar=("LO", "HI"),
                   help="interval of the free parameter")
    p.add_argument("--x0", nargs="+", type=float, default=None,
                   help="guess of the equilibrium at the start parameter")
    p.add_argument("--t-integrate", type=float, default=None,
                   help="integrate this long first to find the equilibrium guess "
                        "(default: only when --x0 is not given, 1000)")
    p.add_argument("--opt", action="append", default=[], metavar="NAME=VALUE",
                   help="continuation setting (ds, ds_max, max_points, newton_tol, ...)")
    p.add_argument("--codim2", nargs=3, default=None, metavar=("PARAM2", "LO", "HI"),
                   help="also continue the first HB (else LP) point in (param, PARAM2)")
    p.add_argument("--plot", default=None, help="write the bifurcation diagram to this image")
    p.add_argument("--y", default=None, help="quantity on the plot's vertical axis")
    add_common(p)
    p.set_defaults(func=run)


def load_system(spec: str, sets: dict):
    """An ODESystem from ``--system`` (see :mod:`case_studies.cli.systems`), parameters set."""
    from .systems import load_system as _load

    return _load(spec, sets), {}


def _equilibrium_guess(system, x0, t_end):
    from bifurcation.integration import integrate

    res = integrate(system, x0, t_end=t_end, method="LSODA", rtol=1e-8, atol=1e-10)
    if not res.success:
        raise ParameterError(f"integration for the equilibrium guess failed: {res.message}")
    return res.x[-1]


def _point_summary(sp):
    d = {"kind": sp.kind, "params": sp.params, "x": sp.x}
    for k in ("omega", "l1", "period", "a", "b", "c", "kappa", "omega2"):
        if k in sp.data and sp.data[k] is not None:
            d[k] = sp.data[k]
    return d


def branch_summary(br) -> dict:
    """A JSON-able summary of a branch."""
    return {
        "kind": br.kind, "param": br.param, "status": br.status, "success": br.success,
        "message": br.message, "n_points": len(br),
        "special_points": [_point_summary(sp) for sp in br.special_points],
        "endpoints": [{"reason": e.reason, "params": e.params, "message": e.message}
                      for e in br.endpoints],
        "counts": br.counts,
        "n_stable": int(np.sum(br.stable)),
    }


def run(args) -> int:
    """Execute ``snnreduce continue`` with parsed ``args``; return the exit status
    (0 on success; bad input raises ``ParameterError``, reported by ``main`` with status 2)."""
    from bifurcation import continue_codim2, continue_equilibria
    from bifurcation.io import save_branch

    sets = parse_sets(args.set)
    opts = parse_sets(args.opt)
    system, psets = load_system(args.system, sets)
    if psets:
        unknown = sorted(set(psets) - set(system.params))
        if unknown:
            raise ParameterError(f"--set: unknown parameter(s) {unknown}; this system has "
                                 f"{list(system.params)}")
        system = system.with_params(**psets)
    if args.param not in system.params:
        raise ParameterError(f"--param {args.param!r} is not a parameter; parameters are "
                             f"{list(system.params)}")
    lo, hi = args.bounds
    if args.x0 is not None:
        x0 = np.asarray(args.x0, float)
        if x0.shape != (system.n_states,):
            raise ParameterError(f"--x0 has {x0.size} values; the system has "
                                 f"{system.n_states} states")
    else:
        x0 = None
    t_int = args.t_integrate if args.t_integrate is not None else (1000.0 if x0 is None
                                                                 else None)
    if x0 is None:
        init = getattr(system, "initial_state", None)
        x0 = np.asarray(init(), float) if callable(init) else np.zeros(system.n_states)
    if t_int:
        x0 = _equilibrium_guess(system, x0, t_int)
    br = continue_equilibria(system, x0, args.param, (lo, hi), **opts)
    summary = {"command": "continue", "system": args.system, "branch": branch_summary(br)}
    curve = None
    if args.codim2 is not None and br.success:
        p2, lo2, hi2 = args.codim2[0], float(args.codim2[1]), float(args.codim2[2])
        starts = br.points("HB") or br.points("LP")
        if starts:
            curve = continue_codim2(starts[0], (args.param, p2),
                                    {args.param: (lo, hi), p2: (lo2, hi2)}, **opts)
            summary["curve"] = branch_summary(curve)
        else:
            summary["curve"] = None
    if args.out:
        save_branch(br, args.out)
        summary["out"] = [args.out]
        if curve is not None:
            root, ext = os.path.splitext(args.out)
            save_branch(curve, f"{root}_curve{ext or '.h5'}")
            summary["out"].append(f"{root}_curve{ext or '.h5'}")
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from bifurcation.plotting import plot_branch
        ncol = 2 if curve is not None else 1
        fig, axes = plt.subplots(1, ncol, figsize=(6 * ncol, 4), squeeze=False)
        plot_branch(br, y=args.y, ax=axes[0, 0])
        if curve is not None:
            plot_branch(curve, ax=axes[0, 1])
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        summary["plot"] = args.plot
    if args.json:
        emit(summary, True)
    else:
        _print_text(summary)
    return 0 if br.success else 1


def _print_text(summary):
    for key in ("branch", "curve"):
        b = summary.get(key)
        if not b:
            continue
        print(f"{b['kind']} in {b['param']}: {b['n_points']} points, status {b['status']}")
        print(f"  {b['message']}")
        for sp in b["special_points"]:
            extra = ", ".join(f"{k}={sp[k]:.6g}" for k in ("omega", "l1", "a", "b", "c")
                              if k in sp and isinstance(sp[k], float))
            ps = ", ".join(f"{k}={v:.8g}" for k, v in sp["params"].items()
                           if k in (b["param"] if isinstance(b["param"], (list, tuple))
                                    else [b["param"]]))
            print(f"  {sp['kind']:3s} {ps}  {extra}")
    for k in ("out", "plot"):
        if k in summary:
            print(f"{k}: {summary[k]}")
