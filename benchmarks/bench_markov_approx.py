"""Speed of the Markov approximation at the defaults (models.md §2).

Usage::

    python benchmarks/bench_markov_approx.py [--t-sim 1000] [--json out.json]

Measures (best of several repeats, one thread):

* one right-hand-side evaluation (compiled, 148 states) — target ≤ 100 µs;
* one analytic Jacobian — target ≤ 1 ms; peer: central differences of the same rhs
  (``ODESystem.fd_jacobian``);
* one simulated second of the ODE with ``solve_ivp`` LSODA (rtol 1e-6, atol 1e-8, analytic
  Jacobian) — target ≤ 1 s; peers: BDF and Radau with the same rhs and Jacobian, RK45;
* the published map: compiled kernel vs a vectorised NumPy/SciPy implementation
  (``reduce.markov_approx.map.step_numpy``), per step and per simulated second.

All runs start from a state on the attractor (the map's state after 300 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import timeit

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def best(fn, number, repeat):
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--t-sim", type=float, default=1000.0, help="simulated ms for ODE peers")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    from scipy.integrate import solve_ivp

    import reduce
    from reduce.markov_approx.map import map_run, step_numpy
    from reduce.markov_approx.ode import jac_core, rhs_core

    ma = reduce.MarkovApproximation()
    ode = ma.ode()
    p = ode.p0
    A = ma.kernel_arrays()
    warm = ma.simulate(300.0, form="map", closure="maxent")
    x = np.ascontiguousarray(warm.x[-1][: ma.layout.n_ode])
    out = {"machine": f"{os.cpu_count()} cores, shared (load {os.getloadavg()[0]:.1f})"}
    rhs_core(x, p, *A)
    jac_core(x, p, *A)
    out["rhs_us"] = best(lambda: rhs_core(x, p, *A), 50, 20) * 1e6
    out["rhs_wrapper_us"] = best(lambda: ode.rhs(x, p), 50, 20) * 1e6
    out["jac_us"] = best(lambda: jac_core(x, p, *A), 10, 10) * 1e6
    out["jac_fd_us"] = best(lambda: ode.fd_jacobian(x, p), 1, 3) * 1e6
    out["jac_fd_ratio"] = out["jac_fd_us"] / out["jac_us"]
    T = a.t_sim
    fun = lambda t, y: rhs_core(y, p, *A)  # noqa: E731
    jac = lambda t, y: jac_core(y, p, *A)  # noqa: E731
    ode_runs = {}
    for method in ("LSODA", "BDF", "Radau", "RK45"):
        kw = {"jac": jac} if method != "RK45" else {}
        t0 = time.perf_counter()
        sol = solve_ivp(fun, (0.0, T), x, method=method, rtol=1e-6, atol=1e-8, **kw)
        w = time.perf_counter() - t0
        ode_runs[method] = {"wall_s_per_sim_s": w * 1000.0 / T, "nfev": int(sol.nfev),
                            "njev": int(sol.njev), "success": bool(sol.success)}
    out["ode"] = ode_runs
    out["ode_lsoda_s_per_sim_s"] = ode_runs["LSODA"]["wall_s_per_sim_s"]
    xm = ma.to_map_state(x)
    for closure in ("uniform-widest", "maxent"):
        Ak = ma.kernel_arrays(closure)
        map_run(xm, p, 10, 0.1, False, *Ak, 10)
        t0 = time.perf_counter()
        map_run(xm, p, 10000, 0.1, False, *Ak, 10000)
        out[f"map_numba_{closure}_s_per_sim_s"] = time.perf_counter() - t0
    mu = reduce.MarkovApproximation(closure="uniform-widest")
    step_numpy(mu, xm)
    per = best(lambda: step_numpy(mu, xm), 5, 3)
    out["map_numpy_uniform_step_ms"] = per * 1e3
    out["map_numpy_uniform_s_per_sim_s"] = per * 10000
    out["map_numpy_over_numba"] = (out["map_numpy_uniform_s_per_sim_s"]
                                   / out["map_numba_uniform-widest_s_per_sim_s"])
    out["ode_over_map"] = out["ode_lsoda_s_per_sim_s"] / out["map_numba_maxent_s_per_sim_s"]
    print(json.dumps(out, indent=1))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=1)
    return out


if __name__ == "__main__":
    main()
