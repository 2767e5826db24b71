"""Confirm PD points of the MA cycle branch with a Poincaré return map of the integrated ODE.

For every PD point saved by ``ma_cycles.py`` (``benchmarks/results/ma_cycles_<src>.json`` and
``..._specials.npz``): the section is the E rate crossing a level upward,
``g(x) = rate_E(x) − L`` with ``L`` halfway between the orbit's minimum and maximum E rate (a
flux level); the map is integrated with LSODA (rtol 1e-10, atol 1e-12, analytic Jacobian);
fixed point and dominant multipliers by Newton–Picard (:mod:`bifurcation.cycles.poincare`,
Arnoldi dimension 3, central differences h = 1e-4 for the multipliers); the PD parameter is the
root of μ(p) + 1 by the secant method started at p_PD ± ``--delta``. No collocation code is
involved except for the starting point on the section.

Run: ``NUMBA_CACHE_DIR=/tmp/numba_cache python benchmarks/ma_cycles_poincare.py [--src hb]``;
writes ``benchmarks/results/ma_cycles_<src>_poincare.json``.
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


def section_start(system, sol, level_frac=0.5, samples=4000):
    """Level ``L`` of the E rate and the orbit point where it crosses ``L`` upward."""
    from scipy.optimize import brentq

    from bifurcation.cycles.collocation import Collocation

    coll = Collocation(system, sol.mesh)
    g = system.outputs["rate_E"]
    tau = np.arange(samples) / samples
    X = coll.evaluate(sol.U, tau)
    y = np.array([g(x, sol.p) for x in X])
    L = y.min() + level_frac * (y.max() - y.min())
    up = np.flatnonzero((y < L) & (np.roll(y, -1) >= L))
    k = int(up[0])
    t_hit = brentq(lambda t: g(coll.evaluate(sol.U, [t])[0], sol.p) - L,
                   tau[k], tau[k] + 1.0 / samples, xtol=1e-14)
    return float(L), coll.evaluate(sol.U, [t_hit])[0]


def section_start_simulated(ma, ode, p_ei, t_end=600.0, level_frac=0.5):
    """Level and section point from the attractor of the integrated ODE at ``p_ei``
    (LSODA rtol 1e-9; no collocation): the last upward crossing of the mid level of the E
    rate over the last 100 ms, and the time between the last two crossings."""
    res = ma.simulate(t_end, params={"p_ei": p_ei}, method="LSODA", rtol=1e-9, atol=1e-11,
                      dt_out=0.01)
    p = ode.param_vector(p_ei=p_ei)
    g = ode.outputs["rate_E"]
    k = res.t > t_end - 100.0
    X = res.x[k][:, : ode.n_states]
    y = np.array([g(x, p) for x in X])
    L = y.min() + level_frac * (y.max() - y.min())
    up = np.flatnonzero((y[:-1] < L) & (y[1:] >= L))
    i = int(up[-1])
    w = (L - y[i]) / (y[i + 1] - y[i])
    x0 = X[i] + w * (X[i + 1] - X[i])
    T = float(np.diff(res.t[k][up[-2:]])[0])
    return float(L), x0, T


def main(argv=None):
    from ma_cycles import load_special, ma_system

    from bifurcation.cycles.poincare import pd_parameter

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", default="hb")
    ap.add_argument("--delta", type=float, default=2e-4)
    ap.add_argument("--which", type=int, nargs="*", default=None,
                    help="indices among the PD points (default all)")
    ap.add_argument("--p-pd", type=float, default=None,
                    help="PD value to confirm; the start comes from a simulation at "
                         "--p-sim instead of the collocation orbit")
    ap.add_argument("--p-sim", type=float, default=None)
    ap.add_argument("--h-final", type=float, default=1e-4,
                    help="relative difference step of the multipliers")
    ap.add_argument("--rtol", type=float, default=1e-10)
    ap.add_argument("--k", type=int, default=3, help="Arnoldi dimension (check convergence!)")
    ap.add_argument("--atol", type=float, default=1e-12)
    a = ap.parse_args(argv)
    g_out = None
    if a.p_pd is not None:
        ma, ode = ma_system(1e-3)
        g_out = ode.outputs["rate_E"]
        L, x0, T = section_start_simulated(ma, ode, a.p_sim)
        print(f"simulated start at p_ei = {a.p_sim}: level {L:.3f} Hz, T = {T:.4f}", flush=True)
        t0, c0 = time.perf_counter(), time.process_time()
        r = pd_parameter(ode, "p_ei", lambda x, p: g_out(x, p) - L, x0, T,
                         (a.p_pd - a.delta, a.p_pd + a.delta), k=a.k, tol=1e-8, log=print,
                         g_uses_params=True, h_final=a.h_final, rtol=a.rtol, atol=a.atol)
        res = {"start": "simulation", "p_sim": a.p_sim, "h_final": a.h_final, "k": a.k,
               "rtol": a.rtol, "atol": a.atol, "p_pd_collocation": a.p_pd, "T": T,
               "level_hz": L, "p_pd_poincare": r["value"], "difference": r["value"] - a.p_pd,
               "last_secant_step": r["step"], "history": [list(h) for h in r["history"]],
               "multipliers": [[float(m.real), float(m.imag)] for m in r["multipliers"]],
               "wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}
        print(json.dumps(res), flush=True)
        path = RESULTS / f"ma_cycles_{a.src}_poincare_sim.json"
        old = json.loads(path.read_text()) if path.exists() else []
        path.write_text(json.dumps(old + [res], indent=1))
        return [res]
    src = json.loads((RESULTS / f"ma_cycles_{a.src}.json").read_text())
    ma, ode = ma_system(src["eps"])
    g_out = ode.outputs["rate_E"]
    pds = [(j, s) for j, s in enumerate(src["specials"]) if s["kind"] == "PD"]
    if a.which is not None:
        pds = [pds[i] for i in a.which]
    out_path = RESULTS / f"ma_cycles_{a.src}_poincare.json"
    results = json.loads(out_path.read_text()) if out_path.exists() else []
    for j, spd in pds:
        sol = load_special(RESULTS / f"ma_cycles_{a.src}_specials.npz", j, ode)
        L, x0 = section_start(ode, sol)
        p_pd = spd["p_ei"]
        t0, c0 = time.perf_counter(), time.process_time()
        r = pd_parameter(ode, "p_ei", lambda x, p, L=L: g_out(x, p) - L, x0, sol.T,
                         (p_pd - a.delta, p_pd + a.delta), k=3, tol=1e-8, log=print,
                         g_uses_params=True)
        res = {"special_index": j, "p_pd_collocation": p_pd, "T": sol.T, "level_hz": L,
               "p_pd_poincare": r["value"], "difference": r["value"] - p_pd,
               "last_secant_step": r["step"],
               "history": [list(h) for h in r["history"]],
               "multipliers": [[float(m.real), float(m.imag)] for m in r["multipliers"]],
               "wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}
        print(json.dumps(res), flush=True)
        results.append(res)
        out_path.write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
