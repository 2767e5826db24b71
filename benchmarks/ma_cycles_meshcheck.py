"""Mesh check of orbits of an MA cycle branch saved by ``ma_cycles.py`` (issue 5 criterion).

For each chosen orbit: re-solved at NTST and 2·NTST (periods within 1e-4, multipliers with
|μ| > 1e-3 within 1e-4) and by single shooting of the directly integrated ODE (period within
1e-5); :func:`bifurcation.cycles.mesh_check`. The special points (PD, LPC, NS) of the branch
are checked from ``..._specials.npz``, ordinary points from the full solution file.

Run: ``python benchmarks/ma_cycles_meshcheck.py --src hb --every 20 [--shooting LSODA]``;
writes ``benchmarks/results/ma_cycles_<src>_meshcheck.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
RESULTS = Path(__file__).parent / "results"


class _Solutions:
    """Minimal branch-like holder (``system``, ``solutions``) for :func:`mesh_check`."""

    def __init__(self, system, sols):
        self.system, self.solutions = system, sols


def main(argv=None):
    from ma_cycles import load_special, ma_system

    from bifurcation.cycles import mesh_check

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", default="hb")
    ap.add_argument("--every", type=int, default=20)
    ap.add_argument("--specials-only", action="store_true")
    ap.add_argument("--shooting", default=None, help="integrator for shooting (default Radau)")
    ap.add_argument("--solutions-dir", default="/tmp")
    a = ap.parse_args(argv)
    src = json.loads((RESULTS / f"ma_cycles_{a.src}.json").read_text())
    ma, ode = ma_system(src["eps"])
    todo = [("special", j, RESULTS / f"ma_cycles_{a.src}_specials.npz")
            for j in range(len(src["specials"]))]
    if not a.specials_only:
        n = len(src["branch"])
        idx = sorted(set(list(range(0, n, a.every)) + [n - 1]))
        todo += [("point", i, Path(a.solutions_dir) / f"ma_cycles_{a.src}_solutions.npz")
                 for i in idx]
    out_path = RESULTS / f"ma_cycles_{a.src}_meshcheck.json"
    rows = []
    for kind, i, path in todo:
        sol = load_special(path, i, ode)
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            c = mesh_check(_Solutions(ode, [sol]), 0, shooting_method=a.shooting)
            row = {"kind": kind, "index": i, "p_ei": float(sol.pfree), "passed": c.passed,
                   "period_mesh_error": c.period_mesh_error,
                   "multiplier_error": c.multiplier_error,
                   "period_shooting_error": float(c.period_shooting_error),
                   "trivial_error_2ntst": float(c.trivial_error), "ntst": c.ntst,
                   "message": c.message}
        except Exception as e:  # noqa: BLE001 - record and go on with the next orbit
            row = {"kind": kind, "index": i, "p_ei": float(sol.pfree), "passed": False,
                   "error": f"{type(e).__name__}: {e}"}
        row["wall_s"] = time.perf_counter() - t0
        row["cpu_s"] = time.process_time() - c0
        rows.append(row)
        print(json.dumps(row), flush=True)
        out_path.write_text(json.dumps(rows, indent=1))
    print("passed", sum(r["passed"] for r in rows), "of", len(rows))
    return rows


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
