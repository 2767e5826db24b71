"""Benchmark of the transition-rate estimator (issue 8; section "Rate estimator" of
docs/benchmarks.md).

Targets: counting 1e7 observed neuron-transitions <= 1 s (peer: plain NumPy ``np.add.at`` in the
same run); the regression fit <= 10 s; 100 bootstrap fits <= 2 min on 2 cores; memory of the
per-sample statistics independent of the number of neurons per sample.

Run: ``NUMBA_CACHE_DIR=/tmp/numba_cache python benchmarks/bench_estimation.py [--quick]``.
Writes ``benchmarks/results/estimation.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np


def _walk(T, N, B, seed=0):
    """A (T, N) int16 array of raw states: random walks on B bins with resets (realistic
    locality: mostly 0 or 1 bin per sample)."""
    rng = np.random.default_rng(seed)
    steps = rng.choice([-1, 0, 0, 0, 1, 1], size=(T, N)).astype(np.int16)
    x = np.empty((T, N), np.int16)
    x[0] = rng.integers(0, B, N)
    for t in range(1, T):
        x[t] = np.clip(x[t - 1] + steps[t], 0, B)
    return x


def bench_counting(n_trans=10_000_000, N=400, B=35, repeats=3):
    from reduce.estimation.counting import (
        column_index,
        numpy_total_counts,
        snapshot_counts,
        snapshot_sample_counts,
        snapshot_totals,
    )

    T = n_trans // N + 1
    raw = _walk(T, N, B)
    lut = np.arange(B + 1, dtype=np.int64)
    pop = np.repeat([0, 1], [N * 3 // 4, N - N * 3 // 4]).astype(np.int64)
    snapshot_totals(raw[:10], lut, pop, 1, 2, B + 1)          # compile / cache load
    out = {"neuron_transitions": (T - 1) * N, "N": N, "T": T}
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        tot, occ = snapshot_totals(raw, lut, pop, 1, 2, B + 1)
        best = min(best, time.perf_counter() - t0)
    out["numba_totals_s"] = best
    col, keys = column_index(tot)
    snapshot_sample_counts(raw[:10], lut, pop, 1, col)
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        C = snapshot_sample_counts(raw, lut, pop, 1, col)
        best = min(best, time.perf_counter() - t0)
    out["numba_per_sample_s"] = best
    out["numba_both_passes_s"] = out["numba_totals_s"] + out["numba_per_sample_s"]
    snapshot_counts(raw[:10], lut, pop, 1, 2, B + 1)
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        C1, _, _ = snapshot_counts(raw, lut, pop, 1, 2, B + 1)
        best = min(best, time.perf_counter() - t0)
    out["numba_one_pass_s"] = best      # what the estimator uses for snapshots
    assert C1.sum() == C.sum()
    t0 = time.perf_counter()
    ref = numpy_total_counts(raw, lut, pop, 1, 2, B + 1)
    out["numpy_add_at_totals_s"] = time.perf_counter() - t0
    assert np.array_equal(ref, tot)
    out["columns"] = len(keys)
    out["per_sample_bytes"] = int(C.nbytes + occ.nbytes)
    return out


def bench_memory(B=35, T=2001):
    """Per-sample statistics for N and 10 N neurons: same shapes (independent of N)."""
    from reduce.estimation.counting import column_index, snapshot_sample_counts, snapshot_totals

    out = {}
    for N in (400, 4000):
        raw = _walk(T, N, B, seed=1)
        lut = np.arange(B + 1, dtype=np.int64)
        pop = np.zeros(N, np.int64)
        tot, occ = snapshot_totals(raw, lut, pop, 1, 1, B + 1)
        col, _ = column_index(tot)
        C = snapshot_sample_counts(raw, lut, pop, 1, col)
        out[str(N)] = {"counts_shape": list(C.shape), "occupancy_shape": list(occ.shape),
                       "bytes": int(C.nbytes + occ.nbytes), "input_bytes": int(raw.nbytes)}
    return out


def bench_fit(t_end=2000.0, bootstrap=100, workers=2, features="kicks"):
    import simulate
    from reduce.estimation import TransitionRateEstimator

    t0 = time.perf_counter()
    tr = simulate.MarkovIFNetwork().run(t_end=t_end, seed=0, coarse=True, record_dt=0.1,
                                        progress=False)
    sim_s = time.perf_counter() - t0
    warnings.simplefilter("ignore")
    # warm-up (compile or cache load)
    TransitionRateEstimator("ma", features=features, bootstrap=2, workers=workers).fit([tr])
    est = TransitionRateEstimator("ma", features=features, t_burn=200.0)
    c0, w0 = time.process_time(), time.perf_counter()
    est.fit([tr])
    fit_cpu_s, fit_wall_s = time.process_time() - c0, time.perf_counter() - w0
    m = est.fetch_model()
    rows = int(len(tr["samples/t"]) - 1 - 2000)
    out = {"simulate_s": sim_s, "samples": rows, "transitions": m.n_transitions,
           "features": features, "features_per_population": len(m.feature_names) // 2,
           "fit": dict(est.timings), "fit_cpu_s": fit_cpu_s, "fit_wall_s": fit_wall_s,
           "selection": {k: v for k, v in (m.provenance["feature_selection"] or {}).items()
                         if k != "with_products"}}
    if bootstrap:
        est_b = TransitionRateEstimator("ma", features=features, t_burn=200.0,
                                        bootstrap=bootstrap, workers=workers)
        # CPU of this process and of the worker processes (reaped when the pool closes):
        # on a shared machine (CPU self + children) / workers is the wall time the bootstrap
        # would take on `workers` free cores
        t0, w0, l0 = os.times(), time.perf_counter(), os.getloadavg()
        est_b.fit([tr])
        t1 = os.times()
        cpu_self = t1.user + t1.system - t0.user - t0.system
        cpu_children = (t1.children_user + t1.children_system - t0.children_user
                        - t0.children_system)
        out["bootstrap"] = {"replicates": bootstrap, "workers": workers, **est_b.timings,
                            "wall_s": time.perf_counter() - w0, "cpu_self_s": cpu_self,
                            "cpu_workers_s": cpu_children,
                            "free_core_wall_estimate_s": (cpu_self + cpu_children) / workers,
                            "load_avg_start": l0, "load_avg_end": os.getloadavg()}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--features", default="kicks", help="'kicks' (default) or 'kicks2'")
    ap.add_argument("--bootstrap", type=int, default=None, help="replicates (default 100)")
    ap.add_argument("--only", default="all", choices=("all", "fit"),
                    help="'fit': only the fit benchmark, written to estimation_fit_<F>.json")
    a = ap.parse_args(argv)
    res = {"machine": {"cpus": os.cpu_count(),
                       "load_avg": os.getloadavg() if hasattr(os, "getloadavg") else None},
           "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}
    if a.only == "all":
        res["counting"] = bench_counting(10**6 if a.quick else 10**7)
        print("counting", json.dumps(res["counting"]), flush=True)
        res["memory"] = bench_memory()
        print("memory", json.dumps(res["memory"]), flush=True)
    boot = a.bootstrap if a.bootstrap is not None else (10 if a.quick else 100)
    res["fit"] = bench_fit(600.0 if a.quick else 2000.0, boot, a.workers, a.features)
    print("fit", json.dumps(res["fit"]), flush=True)
    res["machine"]["load_avg_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    name = "estimation.json" if a.only == "all" else f"estimation_fit_{a.features}.json"
    out = Path(__file__).parent / "results" / name
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(res, indent=1, default=float))
    return res


if __name__ == "__main__":
    main()
