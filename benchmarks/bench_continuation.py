"""Benchmark: equilibrium continuation on a 148-state system vs. brute-force simulation sweeps.

System (synthetic, until the Markov approximation can be used): a 1-D reaction-diffusion
Brusselator on 74 sites with no-flux ends (148 states), heterogeneous feed
``A_i = A (1 + 0.2 cos(pi i / 73))``, diffusion ``Dx = Dy = D``:

.. math::

    x_i' = A_i - (B + 1) x_i + x_i^2 y_i + D (x_{i-1} - 2 x_i + x_{i+1}),\\quad
    y_i' = B x_i - x_i^2 y_i + D (y_{i-1} - 2 y_i + y_{i+1}).

The rhs and the (sparse, banded) analytic Jacobian are numba-compiled. The equilibrium loses
stability at a Hopf point in ``B``.

1. Continuation: the branch in ``B`` over [1, 4] (about 200 points), eigenvalues at every
   point, LP/HB/BP test functions, the Hopf point located to Newton tolerance. Timed.
2. Brute force: the same loss of stability found by integrating the ODE (scipy LSODA with the
   analytic Jacobian) from the equilibrium plus a perturbation, and classifying growth vs.
   decay of the oscillation (largest peak-to-peak late vs. early in the run): (a) a grid
   sweep in ``B`` with spacing ``delta * B_H`` and (b) bisection to ``delta``, for
   ``delta = 1e-2`` and ``1e-3``. Each integration must run for
   ``T = 3 / |Re lambda|`` at distance ``delta B_H`` from the Hopf point to see the growth or
   decay (``Re lambda ~ s (B - B_H)``, ``s`` the crossing speed), so a grid costs
   ``~ 1/delta`` integrations of length ``~ 1/delta``. Measured: the 1e-2 grid, both
   bisections; the 1e-3 grid is extrapolated from the measured cost per unit of simulated time
   (marked as such).

Run: ``python benchmarks/bench_continuation.py [--quick] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from numba import njit
from scipy.integrate import solve_ivp

from bifurcation import ODESystem, continue_equilibria

NSITE = 74
CONT_SETTINGS = {"ds": 0.01, "ds_max": 0.02}


@njit(cache=True)
def _rhs(x, p):
    A, B, D = p[0], p[1], p[2]
    n = x.shape[0] // 2
    out = np.empty_like(x)
    for i in range(n):
        xi, yi = x[2 * i], x[2 * i + 1]
        Ai = A * (1.0 + 0.2 * np.cos(np.pi * i / (n - 1)))
        xl = x[2 * (i - 1)] if i > 0 else xi
        xr = x[2 * (i + 1)] if i < n - 1 else xi
        yl = x[2 * (i - 1) + 1] if i > 0 else yi
        yr = x[2 * (i + 1) + 1] if i < n - 1 else yi
        out[2 * i] = Ai - (B + 1.0) * xi + xi * xi * yi + D * (xl - 2 * xi + xr)
        out[2 * i + 1] = B * xi - xi * xi * yi + D * (yl - 2 * yi + yr)
    return out


@njit(cache=True)
def _jac(x, p):
    B, D = p[1], p[2]
    n = x.shape[0] // 2
    J = np.zeros((2 * n, 2 * n))
    for i in range(n):
        xi, yi = x[2 * i], x[2 * i + 1]
        a, b = 2 * i, 2 * i + 1
        nb = (1 if i > 0 else 0) + (1 if i < n - 1 else 0)
        J[a, a] = -(B + 1.0) + 2 * xi * yi - D * nb
        J[a, b] = xi * xi
        J[b, a] = B - 2 * xi * yi
        J[b, b] = -xi * xi - D * nb
        if i > 0:
            J[a, a - 2] = D
            J[b, b - 2] = D
        if i < n - 1:
            J[a, a + 2] = D
            J[b, b + 2] = D
    return J


def make_system():
    n = 2 * NSITE
    pattern = _jac(np.ones(n), np.array([1.0, 2.0, 1.0])) != 0
    return ODESystem(_rhs, n, {"A": 1.0, "B": 1.0, "D": 4.0}, jac=_jac, jac_sparsity=pattern,
                     name="rd-brusselator-148")


def equilibrium_guess(sys):
    p = sys.p0
    A = p[0] * (1 + 0.2 * np.cos(np.pi * np.arange(NSITE) / (NSITE - 1)))
    x = np.empty(sys.n_states)
    x[0::2] = A
    x[1::2] = p[1] / A
    return x


def grows(sys, B, x_guess, T, seed=0):
    """Integrate from the equilibrium at B plus a 1e-4 perturbation for time T; True if the
    oscillation grew: the largest peak-to-peak over the states in [0.8T, T] exceeds that over
    the first two periods [0, 16] (before any growth could saturate on a limit cycle).
    Returns (grew, wall seconds, cpu seconds, simulated time)."""
    from bifurcation.newton import newton_solve

    p = sys.param_vector(B=B)
    t0, c0 = time.perf_counter(), time.process_time()
    x_eq = newton_solve(lambda x: _rhs(x, p), lambda x: _jac(x, p), x_guess, 1e-10, 20).u
    rng = np.random.default_rng(seed)
    x0 = x_eq + 1e-4 * rng.standard_normal(len(x_eq))
    # early window: the first two oscillation periods (before any growth saturates)
    t_early = np.linspace(0.0, 16.0, 321)
    t_late = np.linspace(0.8 * T, T, 801)
    sol = solve_ivp(lambda t, x: _rhs(x, p), (0, T), x0, method="LSODA",
                    jac=lambda t, x: _jac(x, p), rtol=1e-8, atol=1e-10,
                    t_eval=np.r_[t_early, t_late])
    # largest peak-to-peak over all states (the critical mode may be localised anywhere)
    early = np.max(np.ptp(sol.y[:, :len(t_early)], axis=1))
    late = np.max(np.ptp(sol.y[:, len(t_early):], axis=1))
    return bool(late > early), time.perf_counter() - t0, time.process_time() - c0, T


def run(quick=False):
    sys = make_system()
    x = equilibrium_guess(sys)
    # warm up the compiled functions (compile time excluded, reported separately)
    t0 = time.perf_counter()
    _rhs(x, sys.p0)
    _jac(x, sys.p0)
    compile_s = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    br = continue_equilibria(sys, x, "B", (1.0, 4.0), **CONT_SETTINGS)
    t_cont, c_cont = time.perf_counter() - t0, time.process_time() - c0
    hb = br.points("HB")
    out = {"system": sys.name, "n_states": sys.n_states, "compile_s": compile_s,
           "continuation": {"seconds": t_cont, "cpu_seconds": c_cont, "points": len(br),
                            "status": br.status, "settings": CONT_SETTINGS,
                            "special_points": [(s.kind, s.params["B"]) for s in
                                               br.special_points],
                            "counts": br.counts}}
    if not hb:
        return out
    BH = hb[0].params["B"]
    # crossing speed s = dRe(lambda)/dB from the branch's eigenvalues next to the Hopf point
    i = hb[0].index
    re = br.eigenvalues[:, 0].real
    s = (re[i + 1] - re[i]) / (br.params["B"][i + 1] - br.params["B"][i])
    out["hopf"] = {"B": BH, "omega": hb[0].data["omega"], "l1": hb[0].data["l1"],
                   "crossing_speed": s}

    def eq_at(B):
        j = np.argmin(np.abs(br.params["B"] - B))
        return br.states[j]

    lo, hi = 1.0, 4.0
    brute = {}
    for delta in (1e-2, 1e-3):
        T = 3.0 / abs(s * delta * BH)
        # (b) bisection on [lo, hi] to a bracket of width delta * BH
        a, b, n_int, wall, cpu, simt = lo, hi, 0, 0.0, 0.0, 0.0
        while b - a > delta * BH:
            m = 0.5 * (a + b)
            g, dt, dc, tt = grows(sys, m, eq_at(m), T)
            n_int, wall, cpu, simt = n_int + 1, wall + dt, cpu + dc, simt + tt
            if g:
                b = m
            else:
                a = m
        bis = {"integrations": n_int, "T_each": T, "seconds": wall, "cpu_seconds": cpu,
               "located_B": 0.5 * (a + b), "error_rel": abs(0.5 * (a + b) - BH) / BH}
        # (a) grid sweep with spacing delta * BH over [lo, hi]
        n_grid = int(np.ceil((hi - lo) / (delta * BH))) + 1
        per_time, cpu_per_time = wall / simt, cpu / simt
        if delta >= 1e-2 and not quick:
            grid = np.linspace(lo, hi, n_grid)
            gw, gc = 0.0, 0.0
            flags = []
            for B in grid:
                g, dt, dc, tt = grows(sys, B, eq_at(B), T)
                flags.append(g)
                gw, gc = gw + dt, gc + dc
            first = grid[int(np.argmax(flags))] if any(flags) else np.nan
            sweep = {"integrations": n_grid, "T_each": T, "seconds": gw, "cpu_seconds": gc,
                     "measured": True,
                     "located_B": float(first), "error_rel": abs(first - BH) / BH}
        else:
            sweep = {"integrations": n_grid, "T_each": T, "measured": False,
                     "seconds": n_grid * T * per_time,
                     "cpu_seconds": n_grid * T * cpu_per_time,
                     "note": "extrapolated: integrations x T x measured wall-seconds per "
                             "simulated time unit of the bisection runs"}
        brute[f"{delta:g}"] = {"bisection": bis, "grid": sweep}
    out["brute_force"] = brute
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="skip the measured 1e-2 grid")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    res = run(args.quick)
    txt = json.dumps(res, indent=2, default=float)
    print(txt)
    if args.json:
        with open(args.json, "w") as f:
            f.write(txt)
    return 0


if __name__ == "__main__":
    sys.exit(main())
