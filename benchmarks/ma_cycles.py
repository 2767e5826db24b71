"""Cycle branch of the analytic Markov approximation over p_ei (issue 5), with its PD points.

Stages (each writes ``benchmarks/results/ma_cycles_<stage>.json``; orbits of special points in
``ma_cycles_<stage>_specials.npz``):

``eq``
    Equilibrium branch over p_ei ∈ [0.45, 1.0] from the equilibrium at p_ei = 0.8 (Newton on
    the time average of a short simulation); its HB points.
``hb``
    Cycle branch from the HB point nearest ``--hb`` (default 0.50324, the supercritical one),
    continued away from it up to ``--points`` points within [0.5, 1.0].
``pd``
    The doubled branch from the PD point number ``--pd`` of a previous ``hb`` run.
``og``
    The branch through the attracting orbit found by integrating the ODE (LSODA, rtol 1e-8,
    400 ms, last 150 ms kept) at p_ei = ``--p0``, continued in both directions (or
    ``--direction``). Used for the speed benchmark:
    ``og --p0 0.785 --direction backward --points 100 --ds-max 0.09 --ntst 40 --tag _bench``.

The Markov approximation is built with the regularisation ``eps`` passed explicitly (default
1e-3: with 1e-6 the field has extreme curvature in near-empty bins, see docs/markov_approx.md).

Run: ``NUMBA_CACHE_DIR=/tmp/numba_cache OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
python benchmarks/ma_cycles.py hb --ntst 40 --points 150``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def ma_system(eps=1e-3):
    """The default Markov approximation's ODE (148 states) with regularisation ``eps``."""
    import reduce
    import simulate

    ma = reduce.MarkovApproximation(simulate.MarkovIFNetwork(), eps=eps)
    return ma, ma.ode()


def equilibrium_branch(ma, ode, lo=0.45, hi=1.0, ds_max=0.005):
    """Equilibria over p_ei from the equilibrium at the default p_ei (0.8)."""
    from bifurcation import continue_equilibria

    start = ma.equilibrium(ode.p0, method="LSODA", rtol=1e-6, atol=1e-8)
    return continue_equilibria(ode, start.x, "p_ei", (lo, hi), ds=min(0.01, ds_max),
                               ds_max=ds_max)


def orbit_peaks(system, sol, samples=4000, min_sep_ms=5.0, threshold_hz=1.0):
    """Local maxima of the E rate (Hz) over one period of a collocation orbit, in time order.

    Same criterion as the brute-force sweep (peaks at least ``min_sep_ms`` apart and above
    ``threshold_hz``), applied to three periods laid end to end; the middle period is kept.
    """
    from scipy.signal import find_peaks

    from bifurcation.cycles.collocation import Collocation

    coll = Collocation(system, sol.mesh)
    tau = np.arange(samples) / samples
    X = coll.evaluate(sol.U, tau)
    g = system.outputs["rate_E"]
    y = np.array([g(x, sol.p) for x in X])
    yy = np.tile(y, 3)
    dist = max(1, int(np.ceil(min_sep_ms / (sol.T / samples))))
    idx, _ = find_peaks(yy, height=threshold_hz, distance=dist)
    idx = idx[(idx >= samples) & (idx < 2 * samples)]
    return yy[idx].tolist()


def _peaks_or_error(system, sol):
    try:
        return orbit_peaks(system, sol)
    except Exception as e:  # noqa: BLE001 - a figure helper must not lose a long run
        return f"{type(e).__name__}: {e}"


def branch_summary(br, param="p_ei"):
    """JSON-able rows of a cycle branch (parameter, period, leading multipliers, rates,
    E-rate peak heights per period)."""
    rows = []
    for i in range(len(br)):
        mu = br.multipliers[i]
        rows.append({
            "i": i, param: float(br.params[param][i]), "T": float(br.periods[i]),
            "stable": bool(br.stable[i]),
            "mu": [[float(m.real), float(m.imag)] for m in mu[:4]],
            "trivial_error": float(br.data["trivial_multiplier_error"][i]),
            "rate_E_min": float(br.data["rate_E_min"][i]),
            "rate_E_max": float(br.data["rate_E_max"][i]),
            "rate_E_mean": float(br.outputs["rate_E"][i]),
            "ntst": int(br.data["ntst"][i]),
            "peaks_hz": _peaks_or_error(br.system, br.solutions[i]),
        })
    return rows


def save_solutions(sols, path):
    """Orbits (mesh, node values, period, parameters) in one npz; read by :func:`load_special`."""
    arrs = {}
    for i, sol in enumerate(sols):
        arrs[f"{i}_tau"], arrs[f"{i}_U"] = sol.mesh.tau, sol.U
        arrs[f"{i}_T"], arrs[f"{i}_p"] = np.array(sol.T), sol.p
        arrs[f"{i}_ncol"] = np.array(sol.mesh.ncol)
    np.savez_compressed(path, **arrs)


def _jsonable(v):
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, str):
        return v
    if np.iscomplexobj(v):
        return [float(np.real(v)), float(np.imag(v))]
    return float(v)


def special_summary(br, param="p_ei"):
    out = []
    for s in br.special_points:
        d = {"kind": s.kind, "index": s.index, param: float(s.params[param]),
             "T": float(s.data["period"]), "trivial_error": float(s.data["trivial_error"])}
        for k in ("criticality", "criticality_switch", "pd_coefficient", "d2p_ds2", "theta",
                  "normal_form", "normal_form_error", "lpc_coefficient", "pd_nf_coefficient",
                  "ns_coefficient"):
            if k in s.data:
                d[k] = _jsonable(s.data[k])
        mu = s.data["multipliers"]
        d["mu"] = [[float(m.real), float(m.imag)] for m in mu[:4]]
        out.append(d)
    return out


def save_specials(br, path):
    save_solutions([s.data["solution"] for s in br.special_points], path)


def load_special(path, j, system):
    """The collocation solution of special point ``j`` saved by :func:`save_specials`."""
    from bifurcation.cycles.collocation import Mesh
    from bifurcation.cycles.solver import CycleSolution

    z = np.load(path)
    mesh = Mesh(z[f"{j}_tau"], int(z[f"{j}_ncol"]))
    return CycleSolution(mesh, z[f"{j}_U"], float(z[f"{j}_T"]), z[f"{j}_p"],
                         system.param_index["p_ei"])


def _log_progress():
    """Print every accepted point (parameter, period, leading multipliers) while running."""
    from bifurcation.cycles import continuation as cont

    orig = cont._Runner._detect
    t0 = time.perf_counter()

    def detect(self, coll, recA, recB, ds, specials, index):
        n0 = len(specials)
        orig(self, coll, recA, recB, ds, specials, index)
        mu = recB["fl"].nontrivial()
        mu = mu[np.argsort(-np.abs(mu))][:2]
        print(f"{time.perf_counter() - t0:8.1f}s #{index + 1} p={recB['sol'].pfree:.6f} "
              f"T={recB['sol'].T:.5f} ds={ds:.3g} mu={np.round(mu, 4)} "
              f"triv={recB['trivial_error']:.1e} "
              + " ".join(f"{s.kind}@{s.params[self.param]:.6f}" for s in specials[n0:]),
              flush=True)

    cont._Runner._detect = detect


def main(argv=None):
    from bifurcation.cycles import continue_cycles
    from bifurcation.cycles.solver import TIMERS

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("stage", choices=["eq", "hb", "pd", "og"])
    ap.add_argument("--p0", type=float, default=0.8)
    ap.add_argument("--direction", default="both", choices=["both", "forward", "backward"])
    ap.add_argument("--eps", type=float, default=1e-3)
    ap.add_argument("--hb", type=float, default=0.50324)
    ap.add_argument("--ntst", type=int, default=40)
    ap.add_argument("--points", type=int, default=150)
    ap.add_argument("--ds", type=float, default=0.02)
    ap.add_argument("--ds-max", type=float, default=0.5)
    ap.add_argument("--tag", default="")
    ap.add_argument("--pd", type=int, default=0)
    ap.add_argument("--src", default="hb")
    ap.add_argument("--solutions-dir", default="/tmp",
                    help="where every orbit of the branch is saved (large; not in the repo)")
    a = ap.parse_args(argv)
    _log_progress()
    RESULTS.mkdir(exist_ok=True)
    ma, ode = ma_system(a.eps)
    t0, c0 = time.perf_counter(), time.process_time()
    eq = equilibrium_branch(ma, ode)
    hbs = eq.points("HB")
    out = {"eps": a.eps, "ntst": a.ntst, "ncol": 4,
           "hb": [{"p_ei": float(h.params["p_ei"]), "omega": float(h.data["omega"]),
                   "l1": float(h.data.get("l1", np.nan))} for h in hbs],
           "eq_seconds": time.perf_counter() - t0}
    print(json.dumps(out), flush=True)
    name = a.stage + a.tag
    if a.stage == "hb":
        hb = min(hbs, key=lambda h: abs(h.params["p_ei"] - a.hb))
        TIMERS.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        br = continue_cycles(hb, "p_ei", (0.5, 1.0), ntst=a.ntst, ds=a.ds, ds_max=a.ds_max,
                             max_points=a.points)
    elif a.stage == "pd":
        from bifurcation.branch import SpecialPoint

        src = json.loads((RESULTS / f"ma_cycles_{a.src}.json").read_text())
        spd = [s for s in src["specials"] if s["kind"] == "PD"][a.pd]
        j = src["specials"].index(spd)
        sol = load_special(RESULTS / f"ma_cycles_{a.src}_specials.npz", j, ode)
        sp = SpecialPoint("PD", ode.params_dict(sol.p), sol.U[0].copy(),
                          {"solution": sol, "ntst": sol.mesh.ntst}, None, 0)
        sp.system = ode
        TIMERS.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        br = continue_cycles(sp, "p_ei", (0.5, 1.0), ntst=a.ntst, ds=a.ds, ds_max=a.ds_max,
                             max_points=a.points)
    elif a.stage == "og":
        from bifurcation.cycles import OrbitGuess

        res = ma.simulate(400.0, params={"p_ei": a.p0}, method="LSODA", rtol=1e-8,
                          atol=1e-10, dt_out=0.02)
        k = res.t > 250.0
        guess = OrbitGuess(ode, res.t[k], res.x[k][:, : ode.n_states], params={"p_ei": a.p0})
        TIMERS.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        br = continue_cycles(guess, "p_ei", (0.5, 1.0), ntst=a.ntst, ds=a.ds, ds_max=a.ds_max,
                             max_points=a.points, direction=a.direction)
    else:
        out["equilibria"] = {"points": eq.n_points,
                             "special": [(s.kind, float(s.params["p_ei"])) for s in
                                         eq.special_points]}
        (RESULTS / f"ma_cycles_{name}.json").write_text(json.dumps(out, indent=1))
        return out
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    save_solutions(br.solutions, Path(a.solutions_dir) / f"ma_cycles_{name}_solutions.npz")
    save_specials(br, RESULTS / f"ma_cycles_{name}_specials.npz")
    out.update({
        "wall_s": wall, "cpu_s": cpu,
        "points": len(br), "timers_s": dict(TIMERS), "counts": dict(br.counts),
        "endpoints": [(e.reason, float(e.params["p_ei"]), e.message) for e in br.endpoints],
        "specials": special_summary(br), "branch": branch_summary(br),
        "machine": "2 cores shared with ~9 concurrent agents (timings noisy)",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    })
    (RESULTS / f"ma_cycles_{name}.json").write_text(json.dumps(out, indent=1))
    print(json.dumps({k: out[k] for k in ("wall_s", "cpu_s", "points", "timers_s",
                                          "endpoints", "specials")}, indent=1), flush=True)
    return out


if __name__ == "__main__":
    main()
