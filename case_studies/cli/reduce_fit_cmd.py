"""``snnreduce reduce fit``: estimate coarse-grained transition rates from trajectory files.

Example::

    snnreduce reduce fit run1.h5 run2.h5 --bins ma --features kicks --lag 0.1 \\
        --bootstrap 50 --out model.h5 --json

The fitted model is written with its provenance (the trajectory files, the settings and a
format version) and loads with ``reduce.estimation.FittedMarkovModel.load``.
"""

from __future__ import annotations

import time
import warnings

from simulate.validation import ParameterError

from .common import add_common, emit


def register(sub) -> None:
    """Add ``snnreduce reduce fit`` (rate estimation from trajectories) to the subparsers
    ``sub``."""
    p = sub.add_parser(
        "fit", help="fit coarse-grained Markov transition rates to trajectories",
        description="Estimate transition rates of a coarse-grained Markov chain from "
        "simulated trajectories (models.md §3) and save the fitted model. Example: "
        "snnreduce reduce fit run1.h5 run2.h5 --bins ma --features kicks --out model.h5 --json",
    )
    p.add_argument("trajectories", nargs="+", help="trajectory files (HDF5) with coarse states")
    p.add_argument("--bins", default="trajectory",
                   help="coarse-graining: 'trajectory' (recorded bins), 'ma', 'base-gate', "
                   "'base-gate:THR', or comma-separated voltage edges (default trajectory)")
    p.add_argument("--features", default="kicks",
                   help="'none', 'kicks' (pending-kick means onto each population, default), "
                   "'kicks2' (kick means, their squares and products: quadratic log-rates) "
                   "or comma-separated feature names, e.g. kick_mean/EE,kick_mean/EI or "
                   "kick_mean/EE*kick_mean/EE")
    p.add_argument("--select", default="auto", choices=("auto", "cv", "none"),
                   help="per-transition choice of product features by held-out likelihood "
                   "('auto': when products are present)")
    p.add_argument("--estimand", default="matrix", choices=("matrix", "generator"),
                   help="transition matrix at the lag (snapshots) or generator (event logs)")
    p.add_argument("--lag", type=float, default=None,
                   help="lag in ms (default: the trajectories' record_dt)")
    p.add_argument("--bootstrap", type=int, default=0, help="bootstrap replicates (default 0)")
    p.add_argument("--block", type=float, default=50.0, help="bootstrap block length, ms")
    p.add_argument("--t-burn", type=float, default=0.0, help="discard samples before, ms")
    p.add_argument("--min-count", type=int, default=10,
                   help="warn about transitions observed fewer times (default 10)")
    p.add_argument("--workers", type=int, default=1, help="processes for the bootstrap")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    add_common(p, sets=False)
    p.set_defaults(func=run)


def run(args) -> int:
    """Execute ``snnreduce reduce fit`` with parsed ``args``; return the exit status
    (0 on success; bad input raises ``ParameterError``, reported by ``main`` with status 2)."""
    from reduce.estimation import TransitionRateEstimator

    feats = args.features
    if feats not in ("none", "kicks", "kicks2"):
        feats = [f.strip() for f in feats.split(",") if f.strip()]
    est = TransitionRateEstimator(
        args.bins, features=None if feats == "none" else feats, lag=args.lag,
        estimand=args.estimand, bootstrap=args.bootstrap, block=args.block,
        t_burn=args.t_burn, min_count=args.min_count, workers=args.workers, seed=args.seed,
        select=args.select,
    )
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(args.trajectories)
    model = est.fetch_model()
    summary = model.summary()
    summary["warnings"] = [str(w.message) for w in caught]
    summary["wall_time_s"] = time.perf_counter() - t0
    summary["timings"] = est.timings
    summary["trajectories"] = list(args.trajectories)
    if args.out:
        if not str(args.out).endswith((".h5", ".hdf5")):
            raise ParameterError(f"out = {args.out!r}: fitted models are HDF5 files (.h5)")
        model.save(args.out)
        summary["out"] = str(args.out)
    emit(summary, args.json)
    return 0
