"""``snnreduce attractors``: which attractors coexist, with their basin fractions.

Example::

    snnreduce attractors --system mymodel.py:make_system --lo -2 -2 --hi 2 2 --samples 300 --json
    snnreduce attractors --system markov-approx --set p_ei=0.8 --samples 100 --json

Initial conditions: uniform in the box ``--lo``/``--hi`` when given; for ``markov-approx`` the
reduction's own sampler (``ma.sampler()``) when it has one.
"""

from __future__ import annotations

import numpy as np

from .common import emit, parse_sets
from .systems import load_system


def register(sub) -> None:
    p = sub.add_parser("attractors", help="attractor census with basin fractions",
                       description="Integrate an ODE system from many initial conditions and "
                       "list the attractors reached, with basin fractions.")
    p.add_argument("--system", required=True,
                   help="markov-approx, module:factory, file.py:factory or fitted:PATH")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--lo", type=float, nargs="+", help="lower corner of the sampling box")
    p.add_argument("--hi", type=float, nargs="+", help="upper corner of the sampling box")
    p.add_argument("--samples", type=int, default=300)
    p.add_argument("--t-transient", type=float, default=500.0)
    p.add_argument("--t-record", type=float, default=200.0)
    p.add_argument("--observable", default=None, help="output or state name for the section")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--scheduler", default=None)
    p.add_argument("--figure", default=None, help="write a basin-fraction figure")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    from bifurcation.attractors import BoxSampler, attractor_census
    from simulate.validation import ParameterError

    system = load_system(args.system, parse_sets(args.set))
    if args.lo is not None and args.hi is not None:
        sampler = BoxSampler(args.lo, args.hi)
    elif hasattr(system, "sampler"):
        sampler = system.sampler
    else:
        raise ParameterError("give the sampling box with --lo and --hi for this system")
    census = attractor_census(
        system, sampler, args.samples, seed=args.seed, t_transient=args.t_transient,
        t_record=args.t_record, observable=args.observable, workers=args.workers,
        scheduler=args.scheduler, progress=not args.json,
    )
    summary = {"system": args.system, "params": census.params, "n_samples": census.n_samples,
               "n_failed": census.n_failed, "attractors": census.table()}
    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        rows = census.table()
        fig, ax = plt.subplots(figsize=(5, 3))
        x = np.arange(len(rows))
        frac = np.array([r["fraction"] for r in rows])
        err = np.array([[r["fraction"] - r["ci_low"], r["ci_high"] - r["fraction"]]
                        for r in rows]).T if rows else None
        ax.bar(x, frac, yerr=err, color="0.6")
        ax.set_xticks(x, [f"{r['kind']}" + (f" (k={r['period_k']})" if r["period_k"] else "")
                          for r in rows], rotation=20)
        ax.set_ylabel("basin fraction")
        fig.tight_layout()
        fig.savefig(args.figure)
        plt.close(fig)
        summary["figure"] = args.figure
    emit(summary, args.json)
    return 0
