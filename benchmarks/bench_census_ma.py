"""Benchmark: attractor census of the default Markov approximation (issue 10's speed target).

Target: 300 initial conditions in <= 2 minutes on 2 cores (1000 in <= 6 minutes). Initial
conditions from the default sampler (`reduce.markov_approx.sampler.MASampler`), each
integrated for ``t_transient`` then ``t_record`` ms (LSODA with the analytic Jacobian) and
classified on the E rate output. Reports wall and CPU time, time per initial condition, and
the attractors found.

Run: ``python benchmarks/bench_census_ma.py [--samples 300] [--workers 2] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--t-transient", type=float, default=300.0)
    ap.add_argument("--t-record", type=float, default=400.0,
                    help="must hold 2 max_k + 2 section crossings (~32 ms apart at p_ei=0.8)")
    ap.add_argument("--max-k", type=int, default=4)
    ap.add_argument("--p-ei", type=float, default=0.8)
    ap.add_argument("--observable", default="rate_E",
                    help="section observable: an output (rate_E) or a state name (EE.m)")
    ap.add_argument("--early-stop", action="store_true",
                    help="stop each run once its last two periods repeat (or it is at rest)")
    ap.add_argument("--chunk", type=float, default=None, help="early-stop chunk, ms")
    ap.add_argument("--dt-out", type=float, default=None, help="record spacing, ms")
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--atol", type=float, default=1e-8, help="absolute tolerance (neurons)")
    ap.add_argument("--lyapunov-time", type=float, default=0.0,
                    help="ms of Lyapunov estimate (separation method) for aperiodic runs")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)

    import reduce
    import simulate
    from bifurcation.attractors import attractor_census
    from reduce.markov_approx.sampler import MASampler

    ma = reduce.MarkovApproximation(simulate.MarkovIFNetwork(p_ei=a.p_ei))
    ode = ma.ode()
    ma.simulate(5.0)  # compile outside the timing
    t0, c0 = time.perf_counter(), time.process_time()
    census = attractor_census(
        ode, MASampler(ma), a.samples, t_transient=a.t_transient, t_record=a.t_record,
        observable=a.observable, max_k=a.max_k, rtol=a.rtol, atol=a.atol, workers=a.workers,
        early_stop=a.early_stop, chunk=a.chunk, dt_out=a.dt_out,
        lyapunov_time=a.lyapunov_time, lyapunov_method="separation", lyapunov_dt=1.0,
        progress=False)
    wall = time.perf_counter() - t0
    cpu_children = sum(os.times()[2:4])
    out = {
        "samples": a.samples, "workers": a.workers, "p_ei": a.p_ei,
        "t_transient_ms": a.t_transient, "t_record_ms": a.t_record, "max_k": a.max_k,
        "observable": a.observable, "early_stop": a.early_stop, "chunk_ms": a.chunk,
        "rtol": a.rtol, "atol": a.atol, "lyapunov_time_ms": a.lyapunov_time,
        "wall_s": wall, "parent_cpu_s": time.process_time() - c0,
        "children_cpu_s": cpu_children,
        "cpu_s_per_sample": (time.process_time() - c0 + cpu_children) / a.samples,
        "t_stop_ms_mean": float(sum(census.t_stop) / len(census.t_stop)),
        "wall_s_per_sample": wall / a.samples,
        "projected_wall_s_300": 300 * wall / a.samples,
        "n_failed": census.n_failed, "attractors": census.table(),
    }
    print(json.dumps(out, indent=2, default=str))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2, default=str)


if __name__ == "__main__":
    main()
