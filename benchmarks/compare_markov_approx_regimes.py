"""Markov approximation against the exact jump process (defaults) and the three
Li–Chariker–Young regimes (their own parameters; models.md §1).

Usage::

    python benchmarks/compare_markov_approx_regimes.py [--t-net 2000] [--t-ma 2000]

For each case: the network with ``method="exact"`` (event-driven, real voltages) and
``"fixed-step"`` (Δt = 0.1 ms), the published map and the ODE; E/I rates, MFE rate and
pattern (simulate.observables, MA-code settings), relative rate errors against each network.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

CASES = ("ma-default", "lcy-homogeneous", "lcy-regular", "lcy-synchronized")


def main(argv=None):
    sys.path.insert(0, os.path.dirname(__file__))
    from compare_markov_approx import measures

    import reduce
    import simulate

    ap = argparse.ArgumentParser()
    ap.add_argument("--t-net", type=float, default=2000.0)
    ap.add_argument("--t-ma", type=float, default=2000.0)
    ap.add_argument("--cases", nargs="*", default=list(CASES))
    ap.add_argument("--out", default="benchmarks/results/markov_approx_regimes.json")
    a = ap.parse_args(argv)
    rows = []
    for case in a.cases:
        row = {"case": case}
        for method in ("exact", "fixed-step"):
            net = simulate.MarkovIFNetwork(preset=case, method=method)
            t0 = time.perf_counter()
            tr = net.run(t_end=a.t_net, seed=3)
            row[method] = measures(tr, 300)
            row[method]["wall_s"] = time.perf_counter() - t0
        ma = reduce.MarkovApproximation(simulate.MarkovIFNetwork(preset=case))
        for form in ("map", "ode"):
            t0 = time.perf_counter()
            res = ma.simulate(a.t_ma, form=form)
            row[form] = measures(res, 300)
            row[form]["attractor"] = res.attractor()
            row[form]["wall_s"] = time.perf_counter() - t0
            for ref in ("exact", "fixed-step"):
                for q in ("E", "I"):
                    row[form][f"err_{q}_vs_{ref}"] = (abs(row[form][f"rate_{q}"]
                                                          - row[ref][f"rate_{q}"])
                                                      / row[ref][f"rate_{q}"])
        rows.append(row)
        print(json.dumps(row), flush=True)
        with open(a.out, "w") as fh:
            json.dump(rows, fh, indent=1)
    return rows


if __name__ == "__main__":
    main()
