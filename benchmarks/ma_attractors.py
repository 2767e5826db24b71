"""Attractor of the MA map and ODE over p_EI (``MAResult.attractor()``, 1-ms smoothed E rate).

Usage::

    python benchmarks/ma_attractors.py [--t-end 1500] [--forms map ode]
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def main(argv=None):
    import reduce
    import simulate

    ap = argparse.ArgumentParser()
    ap.add_argument("--t-end", type=float, default=1500.0)
    ap.add_argument("--forms", nargs="*", default=["map", "ode"])
    ap.add_argument("--p-ei", type=float, nargs="*", default=None)
    ap.add_argument("--out", default="benchmarks/results/ma_attractors.json")
    a = ap.parse_args(argv)
    grid = a.p_ei or np.round(np.arange(0.5, 1.0001, 0.05), 2).tolist()
    rows = []
    for pe in grid:
        ma = reduce.MarkovApproximation(simulate.MarkovIFNetwork(p_ei=float(pe)))
        row = {"p_ei": float(pe)}
        for form in a.forms:
            res = ma.simulate(a.t_end, form=form)
            row[form] = {"attractor": res.attractor(), "rates_hz": res.rates_hz}
        rows.append(row)
        print(json.dumps(row), flush=True)
        with open(a.out, "w") as fh:
            json.dump(rows, fh, indent=1)
    return rows


if __name__ == "__main__":
    main()
