"""Markov approximation (map and ODE) against the fixed-step Markov IF network over p_EI.

Usage::

    python benchmarks/compare_markov_approx.py [--t-net 5000] [--t-ma 3000] [--quick]
        [--out benchmarks/results/markov_approx_vs_network.json]

For p_EI ∈ {0.5, 0.55, ..., 1.0} at the other defaults (models.md §1): mean E and I rates
(t_burn = 200 ms), MFE rate and period-1/period-2 pattern (simulate.observables.detect_mfes /
mfe_pattern, the MA code's settings) of

* the fixed-step network (``simulate.MarkovIFNetwork(...).run``, seed 1),
* the published map (Δt = h = 0.1 ms, uniform-widest closure, mass clamped at -M_r),
* the ODE (maxent closure, h = 0.1 ms, LSODA rtol 1e-6 atol 1e-8),

and the relative rate errors |r_MA - r_SNN| / r_SNN. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def measures(obj, n_e, t_burn=200.0):
    from simulate import observables as ob

    rates = ob.firing_rates(obj, t_burn=t_burn)
    mf = ob.detect_mfes(obj, t_burn=t_burn)
    return {"rate_E": rates["E"], "rate_I": rates["I"], "mfe_rate_hz": mf.rate_hz,
            "pattern": ob.mfe_pattern(mf), "mean_height": float(np.mean(mf.heights))
            if len(mf.heights) else 0.0}


def one_point(p_ei, t_net, t_ma, seed=1):
    import reduce
    import simulate

    net = simulate.MarkovIFNetwork(p_ei=p_ei)
    out = {"p_ei": p_ei}
    t0 = time.perf_counter()
    tr = net.run(t_end=t_net, seed=seed)
    out["snn"] = measures(tr, 300)
    out["snn"]["wall_s"] = time.perf_counter() - t0
    ma = reduce.MarkovApproximation(net)
    for form in ("map", "ode"):
        t0 = time.perf_counter()
        res = ma.simulate(t_ma, form=form)
        out[form] = measures(res, 300)
        out[form]["attractor"] = res.attractor()
        out[form]["wall_s"] = time.perf_counter() - t0
        for q in ("E", "I"):
            out[form][f"err_{q}"] = abs(out[form][f"rate_{q}"] - out["snn"][f"rate_{q}"]) / \
                out["snn"][f"rate_{q}"]
    return out


def table(rows):
    lines = ["| p_EI | SNN E | SNN I | map E | map I | ODE E | ODE I | err map E/I | "
             "err ODE E/I | MFE Hz SNN/map/ODE | pattern SNN/map/ODE |",
             "|" + "---|" * 11]
    for r in rows:
        s, m, o = r["snn"], r["map"], r["ode"]
        lines.append(
            f"| {r['p_ei']:.2f} | {s['rate_E']:.1f} | {s['rate_I']:.1f} | {m['rate_E']:.1f} | "
            f"{m['rate_I']:.1f} | {o['rate_E']:.1f} | {o['rate_I']:.1f} | "
            f"{100 * m['err_E']:.1f}% / {100 * m['err_I']:.1f}% | "
            f"{100 * o['err_E']:.1f}% / {100 * o['err_I']:.1f}% | "
            f"{s['mfe_rate_hz']:.1f} / {m['mfe_rate_hz']:.1f} / {o['mfe_rate_hz']:.1f} | "
            f"{s['pattern']} / {m['pattern']} / {o['pattern']} |")
    sel = [r for r in rows if r["p_ei"] <= 0.9 + 1e-9]
    for form in ("map", "ode"):
        if sel:
            e = np.mean([[r[form]["err_E"], r[form]["err_I"]] for r in sel])
            lines.append(f"\nmean relative rate error, {form}, p_EI <= 0.9: {100 * e:.1f}%")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--t-net", type=float, default=5000.0)
    ap.add_argument("--t-ma", type=float, default=3000.0)
    ap.add_argument("--quick", action="store_true", help="3 points, short runs")
    ap.add_argument("--p-ei", type=float, nargs="*", default=None)
    ap.add_argument("--out", default="benchmarks/results/markov_approx_vs_network.json")
    a = ap.parse_args(argv)
    grid = a.p_ei or (np.round(np.arange(0.5, 1.0001, 0.05), 2).tolist())
    if a.quick:
        grid, a.t_net, a.t_ma = [0.6, 0.8, 1.0][: len(grid)], 1500.0, 1000.0
    rows = []
    for p in grid:
        rows.append(one_point(float(p), a.t_net, a.t_ma))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        if a.out:
            with open(a.out + ".tmp", "w") as fh:
                json.dump({"settings": vars(a), "rows": rows}, fh, indent=1, default=float)
            os.replace(a.out + ".tmp", a.out)
    print(table(rows))
    return rows


if __name__ == "__main__":
    main()
