"""Speed of the Markov approximation at the defaults (models.md §2, p_EI = 0.8, 148 states).

Usage::

    python benchmarks/bench_markov_approx.py [--t-sim 1000] [--repeat 3] [--json out.json]

Timer: CPU time of this process (``time.process_time``), minimum over ``--repeat`` runs, one
thread (the machine is shared; CPU time is the fairer measure). Measures:

* one right-hand-side evaluation (compiled, over 200 states of the MFE cycle) — target
  ≤ 100 µs; one analytic Jacobian — target ≤ 1 ms (peer: central differences of the rhs);
* stiffness along the cycle: spectral radius and most negative real part of the Jacobian;
* one simulated second of the ODE from a state on its attractor (the ODE integrated 300 ms
  from the map's attractor) — target ≤ 1 s — with ``ma.simulate`` (flux sampled every
  0.1 ms): the compiled pairs ``bs23`` (default) and ``dopri5`` (rtol 1e-3, atol 1e-6,
  and rtol 1e-4, atol 1e-7) and, as peers, ``scipy.integrate.solve_ivp`` on the same
  compiled rhs: LSODA (analytic Jacobian) at its former default rtol 1e-6 / atol 1e-8
  and at rtol 1e-3 / atol 1e-6, RK45 at rtol 1e-3 / atol 1e-6;
* accuracy of every run against DOP853 at rtol 1e-11 / atol 1e-13 over the same second: mean
  E and I rates, cycle period and MFE peak heights (``MAResult.attractor``), relative errors;
* the published map: compiled kernel vs the vectorised NumPy/SciPy implementation
  (``reduce.markov_approx.map.step_numpy``), per simulated second.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def cpu_min(fn, repeat):
    """(min CPU seconds over ``repeat`` calls, last result)."""
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    return best, out


def per_call_us(fn, states, repeat):
    def run():
        for x in states:
            fn(x)
    return cpu_min(run, repeat)[0] / len(states) * 1e6


def accuracy(res, ref):
    a, b = res.attractor(), ref.attractor()
    out = {f"rate_{q}_rel_err": res.rates_hz[q] / ref.rates_hz[q] - 1.0 for q in ("E", "I")}
    if a["kind"] == b["kind"] == "cycle" and a["peaks_per_period"] == b["peaks_per_period"]:
        out["period_rel_err"] = a["period_ms"] / b["period_ms"] - 1.0
        out["peak_heights_max_rel_err"] = float(np.max(np.abs(
            np.sort(a["peak_heights_hz"]) / np.sort(b["peak_heights_hz"]) - 1.0)))
    else:
        out["attractor"] = [a["kind"], b["kind"]]
    return out


RUNS = [  # (label, method, rtol, atol)
    ("bs23 1e-3 (default)", "bs23", 1e-3, 1e-6),
    ("dopri5 1e-3", "dopri5", 1e-3, 1e-6),
    ("dopri5 1e-4", "dopri5", 1e-4, 1e-7),
    ("bs23 1e-4", "bs23", 1e-4, 1e-7),
    ("LSODA 1e-6 (former default)", "LSODA", 1e-6, 1e-8),
    ("LSODA 1e-3", "LSODA", 1e-3, 1e-6),
    ("RK45 1e-3", "RK45", 1e-3, 1e-6),
]


def h_scan(a):
    """Default integrator (bs23, rtol 1e-3) vs LSODA (rtol 1e-6, analytic Jacobian) as the
    horizon h shrinks: the relaxation eigenvalues ≈ -1/h make the ODE stiffer."""
    import reduce

    rows = []
    for h in a.h_scan:
        ma = reduce.MarkovApproximation(h=h)
        x0 = ma.simulate(100.0, form="map", closure="maxent", dt=h).x[-1]
        row = {"h": h}
        for method in ("bs23", "LSODA"):
            ma.simulate(1.0, x0=x0, method=method)
            cpu, res = cpu_min(lambda m=method, ma=ma, x0=x0: ma.simulate(
                a.t_scan, x0=x0, method=m, t_burn=0.0), a.repeat)
            row[method] = {"cpu_s_per_sim_s": cpu * 1000.0 / a.t_scan,
                           "nfev_per_sim_s": res.nfev * 1000.0 / a.t_scan,
                           "rate_E": res.rates_hz["E"]}
        print(json.dumps(row), flush=True)
        rows.append(row)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--t-sim", type=float, default=1000.0, help="simulated ms per ODE run")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-peers", action="store_true", help="compiled pairs only")
    ap.add_argument("--json", default=None)
    ap.add_argument("--h-scan", type=float, nargs="*", default=None,
                    help="only: default integrator vs LSODA at these horizons h (stiffness ~1/h)")
    ap.add_argument("--t-scan", type=float, default=100.0, help="simulated ms per h-scan run")
    a = ap.parse_args(argv)
    if a.h_scan:
        return h_scan(a)

    import reduce
    from reduce.markov_approx.map import map_run, step_numpy
    from reduce.markov_approx.ode import flux_core, jac_core, rhs_core

    ma = reduce.MarkovApproximation()
    ode = ma.ode()
    p = ode.p0
    A = ma.kernel_arrays()
    warm = ma.simulate(300.0, form="map", closure="maxent")
    x0 = ma.simulate(300.0, x0=warm.x[-1], t_burn=0.0).x[-1].copy()
    cyc = ma.simulate(40.0, x0=x0, t_burn=0.0, dt_out=0.2).x
    states = [np.ascontiguousarray(s) for s in cyc]
    out = {"machine": f"{os.cpu_count()} cores, shared (load {os.getloadavg()[0]:.1f})",
           "t_sim_ms": a.t_sim, "repeat": a.repeat}
    # guard against stale numba caches (callers do not track edits of called modules):
    # the compiled field must equal the independent NumPy field
    from reduce.markov_approx.map import field_numpy

    dev = float(np.abs(rhs_core(states[0], p, *A) - field_numpy(ma, states[0])[0]).max())
    if dev > 1e-9:
        raise SystemExit(f"compiled rhs differs from field_numpy by {dev:.3g}: clear the "
                         "numba cache of reduce/markov_approx")
    jac_core(states[0], p, *A)
    flux_core(states[0], p, *A)
    out["rhs_us"] = per_call_us(lambda x: rhs_core(x, p, *A), states, 5 * a.repeat)
    out["flux_us"] = per_call_us(lambda x: flux_core(x, p, *A), states, 5 * a.repeat)
    out["jac_us"] = per_call_us(lambda x: jac_core(x, p, *A), states[::10], 3 * a.repeat)
    out["jac_fd_us"] = cpu_min(lambda: ode.fd_jacobian(states[0], p), 1)[0] * 1e6
    out["jac_fd_over_analytic"] = out["jac_fd_us"] / out["jac_us"]
    ev = [np.linalg.eigvals(jac_core(x, p, *A)) for x in states]
    out["stiffness"] = {"spectral_radius_max": float(max(np.abs(e).max() for e in ev)),
                        "spectral_radius_median": float(np.median([np.abs(e).max()
                                                                   for e in ev])),
                        "min_real_part": float(min(e.real.min() for e in ev)),
                        "max_abs_imag": float(max(np.abs(e.imag).max() for e in ev))}
    T = a.t_sim
    t0 = time.process_time()
    ref = ma.simulate(T, x0=x0, method="DOP853", rtol=1e-11, atol=1e-13, t_burn=0.0)
    out["reference"] = {"method": "DOP853 rtol 1e-11 atol 1e-13", "nfev": ref.nfev,
                        "cpu_s": time.process_time() - t0, "rates_hz": ref.rates_hz,
                        "attractor": ref.attractor()}
    runs = {}
    for label, method, rtol, atol in RUNS:
        if a.skip_peers and method not in ("dopri5", "bs23"):
            continue
        ma.simulate(1.0, x0=x0, method=method, rtol=rtol, atol=atol)   # compile outside
        cpu, res = cpu_min(lambda m=method, r=rtol, at=atol: ma.simulate(
            T, x0=x0, method=m, rtol=r, atol=at, t_burn=0.0), a.repeat)
        runs[label] = {"cpu_s_per_sim_s": cpu * 1000.0 / T, "nfev_per_sim_s": res.nfev * 1000.0
                       / T, "njev_per_sim_s": res.njev * 1000.0 / T,
                       "success": bool(res.success), **accuracy(res, ref)}
        if method in ("dopri5", "bs23"):
            runs[label]["steps_per_sim_s"] = res.n_accept * 1000.0 / T
            runs[label]["rejected_per_sim_s"] = res.n_reject * 1000.0 / T
        print(label, json.dumps(runs[label]), flush=True)
    out["ode"] = runs
    xm = ma.to_map_state(x0)
    for closure in ("uniform-widest", "maxent"):
        Ak = ma.kernel_arrays(closure)
        map_run(xm, p, 10, 0.1, False, *Ak, 10)
        n = int(round(T / 0.1))
        out[f"map_numba_{closure}_cpu_s_per_sim_s"] = cpu_min(
            lambda Ak=Ak, n=n: map_run(xm, p, n, 0.1, False, *Ak, n), a.repeat)[0] * 1000.0 / T
    mu = reduce.MarkovApproximation(closure="uniform-widest")
    step_numpy(mu, xm)
    per = cpu_min(lambda: [step_numpy(mu, xm) for _ in range(20)], a.repeat)[0] / 20
    out["map_numpy_uniform_step_ms"] = per * 1e3
    out["map_numpy_uniform_cpu_s_per_sim_s"] = per * 1e4
    out["map_numpy_over_numba"] = (out["map_numpy_uniform_cpu_s_per_sim_s"]
                                   / out["map_numba_uniform-widest_cpu_s_per_sim_s"])
    base = runs["bs23 1e-3 (default)"]["cpu_s_per_sim_s"]
    rat = {k: v["cpu_s_per_sim_s"] / base for k, v in runs.items()}
    rat["map numba (maxent)"] = out["map_numba_maxent_cpu_s_per_sim_s"] / base
    rat["map numpy (published)"] = out["map_numpy_uniform_cpu_s_per_sim_s"] / base
    out["ratios_to_default"] = rat
    out["load_end"] = os.getloadavg()[0]
    print(json.dumps(out, indent=1))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=1)
    return out


if __name__ == "__main__":
    main()
