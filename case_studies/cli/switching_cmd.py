"""``snnreduce switching RUN.h5 ...``: metastable states, dwell times and switching rates.

Reads network trajectories (or chain paths saved as trajectories), builds the smoothed rates
of the chosen populations (:func:`simulate.assemblies.assembly_rates`), clusters them into
metastable states, and reports dwell times and switching rates with exact 95% intervals
(:mod:`bifurcation.switching`). ``--figure PATH`` draws the order parameter with the labels
and the dwell-time distributions.

``--method core-sets`` (default): k-means centres with core sets and milestoning.
``--method gpcca``: k-means microstates (``--n-micro``), their non-reversible transition
matrix at a lag of one smoothing window (shorter lags see the smoothing's memory: at one
5-ms step the chain diffuses back and forth along the 20-ms ramps of a switch and its MFPT
came out 3x the dwell on the synthetic test), G-PCCA memberships (:mod:`bifurcation.gpcca`),
cores at membership ≥ 0.9; the summary then also holds the crispness, the coarse 2 × 2
chain per lag and the mean first-passage times between the sets computed from the
microstate chain (per run).
"""

from __future__ import annotations

import numpy as np

from .common import emit


def register(sub) -> None:
    """Add ``snnreduce switching`` (metastable states, dwell times) to the subparsers ``sub``."""
    p = sub.add_parser(
        "switching", help="metastable switching in trajectories",
        description="Metastable states, dwell times and switching rates of trajectories. "
        "Example: snnreduce switching run.h5 --pops E1 E2 --json",
    )
    p.add_argument("runs", nargs="+", help="trajectory files (HDF5)")
    p.add_argument("--pops", nargs="+", default=["E1", "E2"], help="populations to compare")
    p.add_argument("--smooth-ms", type=float, default=50.0)
    p.add_argument("--step-ms", type=float, default=10.0)
    p.add_argument("--min-dwell-ms", type=float, default=0.0,
                   help="merge visits shorter than this (biases dwells upward; core sets "
                   "already suppress boundary flicker)")
    p.add_argument("--n-states", type=int, default=2)
    p.add_argument("--t-burn", type=float, default=200.0)
    p.add_argument("--method", choices=("core-sets", "gpcca"), default="core-sets")
    p.add_argument("--n-micro", type=int, default=30, help="microstates for --method gpcca")
    p.add_argument("--figure", default=None, help="write a figure (PNG or PDF)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def analyse(trajectories, pops, smooth_ms, step_ms, min_dwell_ms, n_states, t_burn,
            method="core-sets", n_micro=30):
    """Pool dwell times over trajectories; return (summary dict, per-run series, dwells)."""
    from bifurcation.switching import (
        dwell_times,
        gpcca_states,
        metastable_states,
        switching_rates,
    )
    from simulate.assemblies import assembly_rates

    pooled: dict = {}
    series = []
    spectral = []
    for traj in trajectories:
        t, X = assembly_rates(traj, pops, smooth_ms, step_ms, t_burn)
        feat = X[:, 0] - X[:, 1] if X.shape[1] == 2 else X
        if method == "gpcca":
            # lag = smoothing window: the smoothed features carry a memory of one window, so
            # the microstate chain is Markovian only at lags beyond it
            lag = max(1, int(round(smooth_ms / step_ms)))
            g = gpcca_states(feat, t, n_states=n_states, n_micro=n_micro, lag=lag)
            labels = g["labels"]
            spectral.append({"crispness": g["result"].crispness,
                             "coarse_T_per_step": g["coarse_T"].tolist(),
                             "mfpt_ms": g["mfpt"].tolist(), "lag_ms": g["lag_time"]})
        else:
            labels = metastable_states(feat, t, n_states=n_states, min_dwell=min_dwell_ms)
        for s, d in dwell_times(labels, t).items():
            pooled.setdefault(s, []).append(d)
        series.append((t, feat, labels))
    dwells = {s: np.concatenate(v) for s, v in pooled.items()}
    rates = switching_rates(dwells)
    summary = {
        "pops": list(pops), "n_runs": len(trajectories),
        "states": {
            str(s): {"switches": r.n, "rate_per_s": 1000 * r.rate,
                     "rate_ci_per_s": [1000 * r.ci[0], 1000 * r.ci[1]],
                     "mean_dwell_ms": r.mean_dwell,
                     "mean_dwell_ci_ms": list(r.mean_dwell_ci)}
            for s, r in rates.items()
        },
        "settings": {"smooth_ms": smooth_ms, "step_ms": step_ms, "min_dwell_ms": min_dwell_ms,
                     "n_states": n_states, "t_burn": t_burn, "method": method},
    }
    if spectral:
        summary["gpcca"] = spectral
    return summary, series, dwells


def run(args) -> int:
    """Execute ``snnreduce switching`` with parsed ``args``; return the exit status
    (0 on success; bad input raises ``ParameterError``, reported by ``main`` with status 2)."""
    from simulate.trajectory import Trajectory

    trajs = [Trajectory.load(p) for p in args.runs]
    summary, series, dwells = analyse(trajs, args.pops, args.smooth_ms, args.step_ms,
                                      args.min_dwell_ms, args.n_states, args.t_burn,
                                      method=args.method, n_micro=args.n_micro)
    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.5))
        t, feat, labels = series[0]
        a1.plot(t, feat if np.ndim(feat) == 1 else feat[:, 0], lw=0.6, color="0.3")
        a1.scatter(t, feat if np.ndim(feat) == 1 else feat[:, 0], c=labels, s=2, cmap="coolwarm")
        a1.set_xlabel("t (ms)")
        a1.set_ylabel(" - ".join(args.pops) + " rate (Hz)")
        for s, d in dwells.items():
            if len(d):
                a2.hist(d, bins=20, histtype="step", label=f"state {s}")
        a2.set_xlabel("dwell time (ms)")
        a2.legend()
        fig.tight_layout()
        fig.savefig(args.figure)
        plt.close(fig)
        summary["figure"] = args.figure
    emit(summary, args.json)
    return 0
