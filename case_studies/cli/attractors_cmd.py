"""``snnreduce attractors``: which attractors coexist, with their basin fractions.

Example::

    snnreduce attractors --system mymodel.py:make_system --lo -2 -2 --hi 2 2 --samples 300 --json
    snnreduce attractors --system markov-approx --set p_ei=0.8 --samples 100 --json

Initial conditions: uniform in the box ``--lo``/``--hi`` when given; for ``markov-approx`` the
reduction's own sampler (``reduce.markov_approx.sampler.MASampler``) when it has one.

Runs stop early (``--early-stop``, the default) as soon as they are at rest or their last two
periods repeat the one before; ``--t-transient`` is then the longest transient allowed.
Aperiodic runs get a Lyapunov estimate over ``--lyapunov-time`` (separation of two nearby
trajectories) before they are called irregular (λ₁ > 0.01) or quasi-periodic.
For the 148-state Markov approximation: ``--observable EE.m --rtol 1e-5 --atol 1e-6``
(the E→E pending-kick mean is smooth, so its section peaks are sampled accurately) — see
docs/attractors_and_switching.md for the measured speed and classification.
"""

from __future__ import annotations

import argparse

import numpy as np

from .common import emit, parse_sets
from .systems import load_system


def register(sub) -> None:
    """Add ``snnreduce attractors`` (attractor census) to the subparsers ``sub``."""
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
    p.add_argument("--early-stop", action=argparse.BooleanOptionalAction, default=True,
                   help="stop each run once it is at rest or its last two periods repeat")
    p.add_argument("--chunk", type=float, default=None, help="early-stop chunk (time units)")
    p.add_argument("--max-k", type=int, default=8, help="largest period-k tested")
    p.add_argument("--rtol", type=float, default=1e-8)
    p.add_argument("--atol", type=float, default=1e-10)
    p.add_argument("--lyapunov-time", type=float, default=0.0,
                   help="Lyapunov averaging time for aperiodic runs (0: call them irregular)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--scheduler", default=None)
    p.add_argument("--figure", default=None, help="write a basin-fraction figure")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    """Execute ``snnreduce attractors`` with parsed ``args``; return the exit status
    (0 on success; bad input raises ``ParameterError``, reported by ``main`` with status 2)."""
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
        scheduler=args.scheduler, progress=not args.json, early_stop=args.early_stop,
        chunk=args.chunk, max_k=args.max_k, rtol=args.rtol, atol=args.atol,
        lyapunov_time=args.lyapunov_time, lyapunov_method="separation",
        lyapunov_dt=max(args.lyapunov_time / 200.0, 1e-3) if args.lyapunov_time else 0.01,
    )
    summary = {"system": args.system, "params": census.params, "n_samples": census.n_samples,
               "n_failed": census.n_failed, "attractors": census.table(),
               "mean_integrated_time": float(np.nanmean(census.t_stop)),
               "settings": {k: v for k, v in census.settings.items() if k != "observable"}}
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
