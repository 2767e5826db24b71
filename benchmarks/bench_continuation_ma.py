"""Benchmark: an equilibrium branch of ~200 points on the default Markov approximation (148 states).

Issue 3's speed target is stated on the Markov approximation itself: a branch of 200 points
with its special points located in <= 10 s. This script continues the equilibrium in p_ei over
[0, 1] with the step limited so that the branch has about 200 points, and reports the CPU and
wall time of the continuation (the Newton solve of the starting equilibrium and numba
compilation are timed apart), the number of points and the located special points.

Run: ``python benchmarks/bench_continuation_ma.py [--ds-max 0.005] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ds-max", type=float, default=0.005)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    import reduce
    import simulate
    from bifurcation import continue_equilibria

    t0, c0 = time.perf_counter(), time.process_time()
    ma = reduce.MarkovApproximation(simulate.MarkovIFNetwork())
    ode = ma.ode()
    start = ma.equilibrium()
    setup = {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}
    # warm-up (compilation of everything the continuation touches), not timed
    continue_equilibria(ode, start.x, "p_ei", (0.75, 0.85), max_points=3)
    t0, c0 = time.perf_counter(), time.process_time()
    br = continue_equilibria(ode, start.x, "p_ei", (0.0, 1.0), ds=min(0.01, args.ds_max),
                             ds_max=args.ds_max)
    out = {
        "system": "MarkovApproximation defaults (148 states)",
        "param": "p_ei", "bounds": [0.0, 1.0], "ds_max": args.ds_max,
        "points": br.n_points, "status": br.status,
        "special_points": [(sp.kind, round(sp.params["p_ei"], 6)) for sp in br.special_points],
        "continuation_wall_s": time.perf_counter() - t0,
        "continuation_cpu_s": time.process_time() - c0,
        "setup": setup, "counts": br.counts,
    }
    print(json.dumps(out, indent=2, default=str))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2, default=str)


if __name__ == "__main__":
    main()
