"""Markov approximation (map and ODE) against the fixed-step Markov IF network over p_EI.

Usage::

    python benchmarks/compare_markov_approx.py [--t-net 5000] [--t-ma 3000] [--seeds 4]
        [--quick] [--out benchmarks/results/markov_approx_vs_network_seeds.json]

For p_EI ∈ {0.5, 0.55, ..., 1.0} at the other defaults (models.md §1): mean E and I rates
(t_burn = 200 ms), MFE rate and period-1/period-2 pattern (simulate.observables.detect_mfes /
mfe_pattern, the MA code's settings) of

* the fixed-step network (``simulate.MarkovIFNetwork(...).run``, seeds 1, …, ``--seeds``),
* the published map (Δt = h = 0.1 ms, uniform-widest closure, mass clamped at -M_r),
* the ODE (maxent closure, h = 0.1 ms, the default integrator of ``ma.simulate``),

and the relative rate errors |r_MA - r̄| / r̄ against the seed mean r̄. Prints a markdown table.

Statistics (the MA forms are deterministic; all uncertainty is the network's). Per point and
population, each seed's rate over [t_burn, t_net] is one independent sample: the mean r̄ has
the 95 % half-width ``t_{0.975, n-1} s/√n`` (Student t). The relative error e = |r_MA - r̄|/r̄
inherits it to first order, d|e|/dr̄ = -sign(r_MA - r̄) r_MA/r̄², so its half-width is
``r_MA/r̄² · t s/√n``. The mean of |e| over the K points p_EI ≤ 0.9 and both populations has
variance (1/(2K))² Σ_points gᵀ Σ̂ g / n (g the two derivatives, Σ̂ the across-seed covariance of
the E and I rates at that point, which are correlated within a run); its 95 % half-width uses
Student t with the Welch–Satterthwaite degrees of freedom of that sum of K per-point terms
(n - 1 each).
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


def seed_summary(per_seed):
    """Mean, sd, 95 % half-width over seeds of the rates and MFE rate; E-I rate covariance."""
    from scipy.stats import t as student_t

    n = len(per_seed)
    out = {"n": n, "patterns": [r["pattern"] for r in per_seed]}
    for k in ("rate_E", "rate_I", "mfe_rate_hz"):
        v = np.array([r[k] for r in per_seed], float)
        sd = float(v.std(ddof=1)) if n > 1 else float("nan")
        half = float(student_t.ppf(0.975, n - 1) * sd / np.sqrt(n)) if n > 1 else float("nan")
        out[k] = {"mean": float(v.mean()), "sd": sd, "ci95_half": half}
    r = np.array([[s["rate_E"], s["rate_I"]] for s in per_seed], float)
    out["cov_EI"] = np.cov(r.T, ddof=1).tolist() if n > 1 else [[np.nan] * 2] * 2
    return out


def one_point(p_ei, t_net, t_ma, seeds=(1,)):
    from scipy.stats import t as student_t

    import reduce
    import simulate

    net = simulate.MarkovIFNetwork(p_ei=p_ei)
    out = {"p_ei": p_ei, "seeds": list(seeds), "snn_per_seed": []}
    for seed in seeds:
        t0 = time.perf_counter()
        m = measures(net.run(t_end=t_net, seed=seed), 300)
        m["seed"], m["wall_s"] = seed, time.perf_counter() - t0
        out["snn_per_seed"].append(m)
    summ = seed_summary(out["snn_per_seed"])
    out["snn"] = {"rate_E": summ["rate_E"]["mean"], "rate_I": summ["rate_I"]["mean"],
                  "mfe_rate_hz": summ["mfe_rate_hz"]["mean"], "summary": summ,
                  "pattern": "/".join(sorted(set(summ["patterns"])))}
    n = len(seeds)
    tq = float(student_t.ppf(0.975, n - 1)) if n > 1 else float("nan")
    ma = reduce.MarkovApproximation(net)
    for form in ("map", "ode"):
        t0 = time.perf_counter()
        res = ma.simulate(t_ma, form=form)
        out[form] = measures(res, 300)
        out[form]["attractor"] = res.attractor()
        out[form]["wall_s"] = time.perf_counter() - t0
        grad = []
        for q in ("E", "I"):
            r_ma, r_bar = out[form][f"rate_{q}"], out["snn"][f"rate_{q}"]
            out[form][f"err_{q}"] = abs(r_ma - r_bar) / r_bar
            out[form][f"err_{q}_signed"] = (r_ma - r_bar) / r_bar
            # first-order propagation of the 95 % half-width of r_bar (module docstring)
            out[form][f"err_{q}_ci95_half"] = r_ma / r_bar ** 2 * summ[f"rate_{q}"]["ci95_half"]
            grad.append(-np.sign(r_ma - r_bar) * r_ma / r_bar ** 2)
        g = np.array(grad)
        # variance (over seeds) of |e_E| + |e_I| at this point, for the pooled mean's interval
        out[form]["var_abs_err_sum"] = float(g @ np.array(summ["cov_EI"]) @ g / n)
    out["t975"] = tq
    return out


def pooled_error(form, sel):
    """Mean of |e| over the points ``sel`` and both populations, with its 95 % half-width.

    Var(mean) = Σ_points var_abs_err_sum / (2K)², degrees of freedom by Welch–Satterthwaite
    over the K per-point terms (n - 1 each).
    """
    from scipy.stats import t as student_t

    k = len(sel)
    e = float(np.mean([[r[form]["err_E"], r[form]["err_I"]] for r in sel]))
    terms = np.array([r[form]["var_abs_err_sum"] for r in sel]) / (2 * k) ** 2
    var = float(terms.sum())
    dfs = np.array([len(r["seeds"]) - 1 for r in sel], float)
    df = var ** 2 / float(np.sum(terms ** 2 / dfs)) if np.all(dfs > 0) and var > 0 else np.nan
    half = float(student_t.ppf(0.975, df) * np.sqrt(var)) if np.isfinite(df) else float("nan")
    return {"mean": e, "ci95_half": half, "dof": float(df), "k": k,
            "mean_E": float(np.mean([r[form]["err_E"] for r in sel])),
            "mean_I": float(np.mean([r[form]["err_I"] for r in sel])),
            "max": float(np.max([[r[form]["err_E"], r[form]["err_I"]] for r in sel]))}


def table(rows):
    """Markdown table: network mean ± 95 % half-width; MA rates, |relative error| ± half-width."""
    lines = ["| p_EI | SNN E | SNN I | map E (err) | map I (err) | ODE E (err) | ODE I (err) | "
             "MFE Hz SNN / map / ODE | pattern SNN / map / ODE |",
             "|" + "---|" * 9]
    for r in rows:
        s, m, o = r["snn"], r["map"], r["ode"]
        sm = s["summary"]

        def cell(f, q):
            return (f"{f['rate_' + q]:.1f} ({100 * f['err_' + q]:.1f} ± "
                    f"{100 * f['err_' + q + '_ci95_half']:.1f}%)")

        lines.append(
            f"| {r['p_ei']:.2f} | {s['rate_E']:.1f} ± {sm['rate_E']['ci95_half']:.1f} | "
            f"{s['rate_I']:.1f} ± {sm['rate_I']['ci95_half']:.1f} | {cell(m, 'E')} | "
            f"{cell(m, 'I')} | {cell(o, 'E')} | {cell(o, 'I')} | "
            f"{s['mfe_rate_hz']:.1f} ± {sm['mfe_rate_hz']['ci95_half']:.1f} / "
            f"{m['mfe_rate_hz']:.1f} / {o['mfe_rate_hz']:.1f} | "
            f"{s['pattern']} / {m['pattern']} / {o['pattern']} |")
    lines.append("")
    for name, sel in (("p_EI <= 0.9", [r for r in rows if r["p_ei"] <= 0.9 + 1e-9]),
                      ("p_EI >= 0.95", [r for r in rows if r["p_ei"] >= 0.95 - 1e-9])):
        for form in ("map", "ode"):
            if sel:
                p = pooled_error(form, sel)
                lines.append(
                    f"* {form}, {name} ({p['k']} points): mean relative rate error "
                    f"{100 * p['mean']:.2f}% ± {100 * p['ci95_half']:.2f}% (95 %, "
                    f"{p['dof']:.0f} dof; E {100 * p['mean_E']:.1f}%, I {100 * p['mean_I']:.1f}%),"
                    f" max {100 * p['max']:.1f}%")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--t-net", type=float, default=5000.0)
    ap.add_argument("--t-ma", type=float, default=3000.0)
    ap.add_argument("--seeds", type=int, default=4, help="network seeds 1, ..., SEEDS")
    ap.add_argument("--quick", action="store_true", help="3 points, short runs")
    ap.add_argument("--p-ei", type=float, nargs="*", default=None)
    ap.add_argument("--out", default="benchmarks/results/markov_approx_vs_network_seeds.json")
    ap.add_argument("--table", help="only print the table of an existing --out JSON file")
    a = ap.parse_args(argv)
    if a.table:
        with open(a.table) as fh:
            rows = json.load(fh)["rows"]
        print(table(rows))
        return rows
    grid = a.p_ei or (np.round(np.arange(0.5, 1.0001, 0.05), 2).tolist())
    if a.quick:
        grid, a.t_net, a.t_ma = [0.6, 0.8, 1.0][: len(grid)], 1500.0, 1000.0
    rows, done = [], {}
    if a.out and os.path.exists(a.out):  # resume: keep finished points of the same settings
        with open(a.out) as fh:
            old = json.load(fh)
        if all(old["settings"].get(k) == getattr(a, k) for k in ("t_net", "t_ma", "seeds")):
            done = {round(r["p_ei"], 6): r for r in old["rows"]}
    for p in grid:
        key = round(float(p), 6)
        rows.append(done[key] if key in done else
                    one_point(float(p), a.t_net, a.t_ma, seeds=range(1, a.seeds + 1)))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        if a.out:
            with open(a.out + ".tmp", "w") as fh:
                json.dump({"settings": vars(a), "rows": rows}, fh, indent=1, default=float)
            os.replace(a.out + ".tmp", a.out)
    print(table(rows))
    return rows


if __name__ == "__main__":
    main()
