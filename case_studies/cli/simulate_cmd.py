"""``snnreduce simulate NETWORK``: run any registered simulator and save its trajectory.

One mechanism for every network: the name is looked up in :data:`simulate.NETWORKS`, the class
is built from ``--set NAME=VALUE`` (the Python keyword names; ``method``, ``voltages`` and
``preset`` included) and ``run(t_end, seed, ...)`` returns a :class:`simulate.Trajectory`.
"""

from __future__ import annotations

import time

import simulate
from simulate.validation import ParameterError, check_choice

from .common import add_common, emit, parse_sets


def register(sub) -> None:
    """Add the ``snnreduce simulate`` subcommand (network simulation) to the parser's ``sub``
    (an ``argparse`` subparsers object)."""
    p = sub.add_parser(
        "simulate", help="simulate a spiking network",
        description="Simulate a spiking network and write its trajectory (HDF5). Example: "
        "snnreduce simulate markov-if --set p_ei=0.8 --t-end 2000 --seed 1 --out run.h5 --json",
    )
    p.add_argument("network", choices=sorted(simulate.NETWORKS), help="which network")
    p.add_argument("--t-end", type=float, default=1000.0, help="simulated time, ms")
    p.add_argument("--t-burn", type=float, default=200.0,
                   help="start of the window for the mean rates, ms (default 200)")
    p.add_argument("--seed", type=int, default=0, help="root seed")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_common(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Execute ``snnreduce simulate`` with parsed ``args``; return the exit status
    (0 on success; bad input raises ``ParameterError``, reported by ``main`` with status 2)."""
    check_choice("network", args.network, simulate.NETWORKS)
    cls = getattr(simulate, simulate.NETWORKS[args.network])
    params = parse_sets(args.set)
    net = cls(**params)
    if args.t_burn < 0:
        raise ParameterError(f"t-burn = {args.t_burn:g} is outside the valid range [0, inf) ms")
    t0 = time.perf_counter()
    traj = net.run(t_end=args.t_end, seed=args.seed, out=args.out,
                   progress=not args.no_progress)
    wall = time.perf_counter() - t0
    traj.t_burn = args.t_burn
    summary = traj.summary()
    summary["wall_time_s"] = wall
    if args.out:
        summary["out"] = str(args.out)
    emit(summary, args.json)
    return 0
