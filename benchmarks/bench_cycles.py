"""Benchmark of cycle continuation (issue 5; section "Limit cycles" of docs/benchmarks.md).

Target: a 100-point cycle branch of a ~148-state system at a mesh that passes the mesh check
in <= 15 min on one core (stretch 5 min); report time per point and where it goes
(Jacobians, assembly, sparse factorisation, Floquet multipliers). Peer in the same run: the
time to integrate the same system over 50 periods with scipy's LSODA (what a brute-force sweep
pays per parameter value, before it has even converged).

Systems:
- ``chain``: a Brusselator oscillator driving a chain of 73 damped, increasingly fast
  Brusselators (148 states, rates k_i up to 100: stiff; see :func:`brusselator_chain`),
  numba-compiled right-hand side and sparse analytic Jacobian; branch in B from 2.6.
- ``ma``: the analytic Markov approximation (reduce.MarkovApproximation, 148 states), branch
  in p_ei over [0.5, 1.0] from an orbit found by simulation at p_ei = 0.8.

Run: ``NUMBA_CACHE_DIR=/tmp/numba_cache OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
python benchmarks/bench_cycles.py chain [--points 100] [--ntst 40]`` (or ``ma``). Writes
``benchmarks/results/cycles_<system>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from numba import njit


@njit(cache=True)
def _chain_rhs(x, p, k, bs, d):
    B = p[0]
    m = k.size
    out = np.empty(2 * m)
    for i in range(m):
        u = x[2 * i]
        v = x[2 * i + 1]
        b = B if i == 0 else bs
        cu = d * (x[2 * (i - 1)] - u) if i > 0 else 0.0
        out[2 * i] = k[i] * (1.0 - (b + 1) * u + u * u * v + cu)
        out[2 * i + 1] = k[i] * (b * u - u * u * v)
    return out


@njit(cache=True)
def _chain_jac(x, p, k, bs, d):
    B = p[0]
    m = k.size
    J = np.zeros((2 * m, 2 * m))
    for i in range(m):
        u = x[2 * i]
        v = x[2 * i + 1]
        b = B if i == 0 else bs
        dd = d if i > 0 else 0.0
        J[2 * i, 2 * i] = k[i] * (-(b + 1) + 2 * u * v - dd)
        J[2 * i, 2 * i + 1] = k[i] * u * u
        J[2 * i + 1, 2 * i] = k[i] * (b - 2 * u * v)
        J[2 * i + 1, 2 * i + 1] = -k[i] * u * u
        if i > 0:
            J[2 * i, 2 * (i - 1)] = k[i] * d
    return J


def brusselator_chain(m=74, B=2.6, bs=1.2, d=0.3, kmax=100.0):
    """The synthetic 2m-state stiff oscillator (see module docstring).

    Cell 0 is a Brusselator (A = 1) with the free parameter B (Hopf at B = 2); cells 1..m−1
    are damped Brusselators (B_s = 1.2 < 2, stable foci) each driven by its predecessor,
    u_i' += d (u_{i−1} − u_i), and sped up by k_i = 10^{linspace(0, log10 kmax)}: the
    attractor is a periodic orbit whose Floquet multipliers span exp(−k_i T), down to ~1e-300
    (stiff). Numba-compiled right-hand side, analytic Jacobian (4 % full).
    """
    from bifurcation import ODESystem

    k = np.concatenate([[1.0], np.logspace(0.0, np.log10(kmax), m - 1)])

    def rhs(x, p):
        return _chain_rhs(x, p, k, bs, d)

    def jac(x, p):
        return _chain_jac(x, p, k, bs, d)

    def dfdp(x, p):
        out = np.zeros((2 * m, 1))
        out[0, 0] = -x[0]
        out[1, 0] = x[0]
        return out

    x0 = np.empty(2 * m)
    x0[0::2] = 1.0
    x0[1::2] = bs
    x0[1] = B
    sysm = ODESystem(rhs, 2 * m, {"B": B}, jac=jac, dfdp=dfdp, name="brusselator_chain")
    return sysm, x0 + 0.1


def _peer_integration(system, x0, T, params=None):
    from scipy.integrate import solve_ivp

    p = system.param_vector(**(params or {}))
    t0 = time.perf_counter()
    solve_ivp(lambda t, y: system.rhs(y, p), (0, 50 * T), x0, method="LSODA",
              jac=lambda t, y: system.jacobian(y, p), rtol=1e-8, atol=1e-10)
    return time.perf_counter() - t0


def run(name, points, ntst, ds, ds_max, check_every, newton="full"):
    from bifurcation.cycles import OrbitGuess, continue_cycles, mesh_check
    from bifurcation.cycles.solver import TIMERS

    if name == "chain":
        system, x0 = brusselator_chain()
        param, bounds = "B", (2.3, 4.0)
        t0 = time.perf_counter()
        guess = OrbitGuess.from_simulation(system, x0, 120.0, t_transient=80.0)
    else:
        import reduce
        import simulate

        ma = reduce.MarkovApproximation(simulate.MarkovIFNetwork(p_ei=0.8))
        system = ma.ode()
        param, bounds = "p_ei", (0.5, 1.0)
        t0 = time.perf_counter()
        res = ma.simulate(1200.0, form="ode", dt_out=0.05, rtol=1e-8, atol=1e-10)
        k = res.t > 800.0
        guess = OrbitGuess(system, res.t[k], res.x[k])
    t_sim = time.perf_counter() - t0
    T0 = guess.one_period()[0]
    TIMERS.clear()
    t0 = time.perf_counter()
    c0 = time.process_time()
    br = continue_cycles(guess, param, bounds, ntst=ntst, ds=ds, ds_max=ds_max,
                         max_points=points, direction="forward", pd_criticality=False,
                         newton=newton)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    timers = dict(TIMERS)
    checks = []
    idx = sorted(set([0, len(br) - 1] + list(range(0, len(br), check_every))))
    t0 = time.perf_counter()
    for i in idx:
        c = mesh_check(br, i)
        checks.append({"index": i, "param": float(br.params[param][i]), "passed": c.passed,
                       "period_mesh_error": c.period_mesh_error,
                       "multiplier_error": c.multiplier_error,
                       "period_shooting_error": float(c.period_shooting_error),
                       "trivial_error": c.trivial_error})
    t_check = time.perf_counter() - t0
    peer = _peer_integration(system, guess.x[-1], T0, guess.params)
    out = {
        "system": name, "n_states": system.n_states, "ntst": ntst, "ncol": 4, "newton": newton,
        "points": len(br), "wall_s": wall, "s_per_point": wall / max(len(br), 1),
        "cpu_s": cpu, "cpu_s_per_point": cpu / max(len(br), 1),
        "breakdown_s": timers, "counts": {k: v for k, v in br.counts.items()},
        "endpoints": [(e.reason, e.params[param]) for e in br.endpoints],
        "special_points": [(s.kind, s.params[param], s.data["period"])
                           for s in br.special_points],
        "param_range": [float(br.params[param].min()), float(br.params[param].max())],
        "period_range": [float(br.periods.min()), float(br.periods.max())],
        "trivial_error_max": float(br.data["trivial_multiplier_error"].max()),
        "mesh_checks": checks, "mesh_check_s": t_check,
        "simulation_for_guess_s": t_sim, "peer_lsoda_50_periods_s": peer,
        "machine": "2 cores shared with ~9 concurrent agents (timings noisy)",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("system", choices=["chain", "ma"])
    ap.add_argument("--points", type=int, default=100)
    ap.add_argument("--ntst", type=int, default=40)
    ap.add_argument("--ds", type=float, default=0.02)
    ap.add_argument("--ds-max", type=float, default=0.05)
    ap.add_argument("--check-every", type=int, default=25)
    ap.add_argument("--newton", choices=["full", "chord", "auto"], default="full")
    a = ap.parse_args()
    out = run(a.system, a.points, a.ntst, a.ds, a.ds_max, a.check_every, a.newton)
    path = Path(__file__).parent / "results" / f"cycles_{a.system}_{a.newton}.json"
    os.makedirs(path.parent, exist_ok=True)
    path.write_text(json.dumps(out, indent=1, default=float))
    print(json.dumps(out, indent=1, default=float))


if __name__ == "__main__":
    main()
