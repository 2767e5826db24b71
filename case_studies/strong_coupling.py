"""Case study ``strong-coupling``: the conductance-based LIF network of Sanzeni, Histed & Brunel.

The network of models.md §4 (**published** model and mean-field theory):
``simulate.ConductanceLIFNetwork`` (N = c·K per population, K excitatory, γK inhibitory and
K external Poisson inputs per neuron, instantaneous conductance jumps
V → E_A + (V − E_A)e^{−a}) against ``reduce.meanfield.conductance.ConductanceTheory``
(diffusion approximation with the effective time constant):

    1/τ = 1/τ_L + aK(r_E + gγ r_I),      μ = τ[E_L/τ_L + aK(r_E E_E + gγ r_I E_I)],
    σ² = a²Kτ[r_E(μ − E_E)² + g²γ r_I(μ − E_I)²],
    1/ν = τ_rp + τ√π ∫_{(V_r−μ)/σ}^{(θ−μ)/σ} e^{x²}(1 + erf x) dx,
    r_E = ν_X + ν,  r_I = ν  (network self-consistency).

Steps:

1. ``theory`` — self-consistent rate and ISI CV over K for the coupling scalings
   a = a0·log K0/log K, a0·√(K0/K) and a0 (``ConductanceTheory.coupling``); the curve a(K)
   that keeps the self-consistent rate at its value ν* at (K0, a0) (solved here by a bracket
   scan and Brent's method on a); the theory at every simulated (K, a), additive and
   multiplicative noise (docs/meanfield.md §2).
2. ``simulate`` — one network run per (K, rule) with rule ∈ scalings ∪ {"a(K)"} (runs with
   the same (K, a) are made once), through ``ctx.map_tasks`` (per-task cache,
   ``--scheduler``): rates with batch-means standard errors, mean ISI CV of up to 2000 E
   neurons, the time-averaged membrane-potential histogram of non-refractory E neurons.
3. ``compare`` — simulation vs theory per run, and the diffusion prediction of the
   membrane-potential density (below).
4. ``figures`` — rate and CV vs K (theory curves, simulation points), the a(K) curve, the
   membrane-potential distributions; PNG, PDF and CSV.

Membrane-potential density (diffusion approximation, stationary Fokker–Planck equation with
absorbing threshold θ and reinjection at V_r; Brunel 2000, eq. for P₀), for non-refractory
neurons, with x = (V − μ)/σ, y_θ = (θ − μ)/σ, y_r = (V_r − μ)/σ:

    P(V) ∝ e^{−x²} ∫_x^{y_θ} Θ(u − y_r) e^{u²} du,       V ≤ θ,

normalised to 1 (before normalisation its integral is (1 − ν τ_rp)/(ν τ) for the Siegert
rate ν: :func:`fp_density` returns it as a check). Without threshold the
free membrane potential is Gaussian N(μ, σ²/2), drawn for comparison.

Checks (tolerances and their sources in docs/case_studies.md): ``rates-vs-theory``,
``cv-vs-theory``, ``scaling-trends``, ``a-of-K-keeps-rate``, ``v-mean``, ``v-sd``.
"""

from __future__ import annotations

import math

import numpy as np

from .brunel import _isi_cv
from .framework import CaseStudy, Check, CheckSpec, Step, StepSkipped, register_case

__all__ = ["StrongCouplingCase", "fp_density", "a_keeping_rate"]

AFIX = "a(K)"


# ----------------------------------------------------------------------------- theory helpers
def fp_density(v, mu, sigma, theta, v_r):
    """Stationary diffusion density of V for non-refractory neurons (normalised to 1).

    Parameters
    ----------
    v : array_like
        Potentials (mV) at which to evaluate (values ≥ θ give 0).
    mu, sigma : float
        Mean and noise amplitude of the diffusion approximation (mV); the free membrane
        potential has variance σ²/2.
    theta, v_r : float
        Threshold and reset (mV).

    Returns
    -------
    (density, raw_integral) : (ndarray, float)
        ``density`` in 1/mV integrating to 1 over (−∞, θ]; ``raw_integral`` is
        ∫ (2/σ) e^{−x²} ∫_x^{y_θ} Θ(u − y_r) e^{u²} du dV, which equals
        (1 − ν τ_rp)/(ν τ) for the Siegert rate ν (a closed-form check).

    Notes
    -----
    ∫_a^b e^{u²} du = e^{b²}D(b) − e^{a²}D(a) with D Dawson's function, so
    e^{−x²}∫_l^{y_θ} e^{u²}du = e^{y_θ² − x²}D(y_θ) − e^{l² − x²}D(l), l = max(x, y_r).
    """
    from scipy.special import dawsn

    v = np.asarray(v, float)
    x = (v - mu) / sigma
    yt = (theta - mu) / sigma
    yr = (v_r - mu) / sigma
    lo = np.maximum(x, yr)
    f = np.exp(yt * yt - x * x) * dawsn(yt) - np.exp(lo * lo - x * x) * dawsn(lo)
    f = np.where(v < theta, np.maximum(f, 0.0), 0.0) * 2.0 / sigma
    # integral on a fine grid covering the density (x from -8 to y_theta)
    g = np.linspace(mu - 8.0 * sigma, theta, 4001)
    xg = (g - mu) / sigma
    lg = np.maximum(xg, yr)
    fg = (np.exp(yt * yt - xg * xg) * dawsn(yt) - np.exp(lg * lg - xg * xg) * dawsn(lg))
    raw = float(np.trapezoid(np.maximum(fg, 0.0) * 2.0 / sigma, g))
    return f / raw, raw


def fp_moments(mu, sigma, theta, v_r, n=4001):
    """Mean and standard deviation (mV) of :func:`fp_density`."""
    g = np.linspace(mu - 8.0 * sigma, theta, n)
    d, _ = fp_density(g, mu, sigma, theta, v_r)
    m = float(np.trapezoid(d * g, g))
    s = float(np.sqrt(max(np.trapezoid(d * (g - m) ** 2, g), 0.0)))
    return m, s


def a_keeping_rate(theory, K, target_hz, a_lo=1e-5, a_hi=0.5, n_grid=60):
    """Coupling a at in-degree K whose lowest self-consistent rate is ``target_hz``.

    Scans a on a log grid (the rate is not monotone in a in general), takes the first sign
    change of ν(K, a) − target and refines it with Brent's method. Returns None if no a in
    [a_lo, a_hi] gives the target.
    """
    from scipy.optimize import brentq

    def f(a):
        fp = theory.self_consistent(K=K, a=a, n_log=60, n_lin=40)
        return (fp.rates_hz[0] if fp.n else np.nan) - target_hz

    grid = np.geomspace(a_lo, a_hi, n_grid)
    vals = np.array([f(a) for a in grid])
    ok = np.isfinite(vals[:-1]) & np.isfinite(vals[1:]) & (vals[:-1] * vals[1:] < 0)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return None
    i = idx[0]
    return float(brentq(f, grid[i], grid[i + 1], xtol=1e-12, rtol=1e-10))


def _theory(p, noise="additive"):
    from reduce.meanfield.conductance import ConductanceTheory

    return ConductanceTheory(noise=noise, K=float(p["K0"]), a=float(p["a0"]), g=p["g"],
                             gamma=p["gamma"], nu_x=p["nu_x"])


def _point_theory(th, K, a):
    fp = th.self_consistent(K=K, a=a)
    if not fp.n:
        return {"rate_hz": float("nan"), "cv": float("nan"), "n_solutions": 0}
    return {"rate_hz": float(fp.rates_hz[0]), "cv": float(fp.extra["cv"][0]),
            "mu": float(fp.extra["mu"][0]), "sigma": float(fp.extra["sigma"][0]),
            "tau": float(fp.extra["tau"][0]), "n_solutions": int(fp.n),
            "stable": bool(fp.stable[0])}


def _runs(p, theory_result):
    """(rule, K, a) of every simulated point; (K, a) duplicates are kept once."""
    out, seen = [], {}
    for rule in p["scalings"]:
        for K in p["Ks"]:
            out.append((rule, float(K), _coupling(rule, K, p)))
    for K, a in zip(theory_result["afix_sim_K"], theory_result["afix_sim_a"]):
        if a is not None and np.isfinite(a):
            out.append((AFIX, float(K), float(a)))
    runs = []
    for rule, K, a in out:
        key = (K, round(a, 12))
        if key in seen:
            seen[key]["rules"].append(rule)
            continue
        rec = {"rules": [rule], "K": K, "a": a}
        seen[key] = rec
        runs.append(rec)
    return runs


def _coupling(rule, K, p):
    from reduce.meanfield.conductance import ConductanceTheory

    return float(ConductanceTheory.coupling(np.array([float(K)]), rule, p["a0"],
                                            p["K0"])[0])


def _simulate_task(task):
    """One network run (module level so that worker processes can unpickle it)."""
    import simulate

    p, K, a, seed = task
    net = simulate.ConductanceLIFNetwork(K=int(K), a=float(a), c=p["c"], g=p["g"],
                                         gamma=p["gamma"], nu_x=p["nu_x"])
    traj = net.run(t_end=p["t_end"], seed=seed, progress=False, t_burn=p["t_burn"],
                   v_bins=p["v_bins"], v_range=tuple(p["v_range"]))
    act = traj.activity()
    win = act.window(p["t_burn"])
    k = max(1, int(round(1.0 / win.dt)))
    nbin = len(win.t) // k
    rates, ses = {}, {}
    nb = int(p["n_blocks"])
    for q in ("E", "I"):
        c = np.asarray(win.counts[q], float)[: nbin * k].reshape(nbin, k).sum(1)
        per_ms = c / act.sizes[q] * 1000.0
        blocks = per_ms[: (nbin // nb) * nb].reshape(nb, -1).mean(1)
        rates[q] = float(per_ms.mean())
        ses[q] = float(blocks.std(ddof=1) / math.sqrt(nb))
    ts = np.asarray(traj["samples/t"])
    keep = ts >= p["t_burn"]
    hist = np.asarray(traj["samples/hist/E"], float)[keep].sum(0)
    edges = np.asarray(traj["bins/E"], float)
    cv = _isi_cv(act, p["t_burn"])      # (mean CV, its SE across neurons, mean #ISIs)
    cv, cv_se = (cv[0], cv[1]) if isinstance(cv, tuple) else (cv, float("nan"))
    return {"K": float(K), "a": float(a), "seed": int(seed), "rates_hz": rates, "se_hz": ses,
            "cv_isi": float(cv), "cv_se": float(cv_se), "v_hist": hist, "v_edges": edges,
            "n_e": int(act.sizes["E"]), "wall_s": float(traj.meta.get("wall_time_s", np.nan))}


def _hist_moments(hist, edges):
    """Mean and sd (mV) of a histogram whose outer bins also hold values beyond the edges."""
    c = 0.5 * (edges[1:] + edges[:-1])
    w = np.asarray(hist, float)
    m = float(np.sum(w * c) / w.sum())
    return m, float(np.sqrt(np.sum(w * (c - m) ** 2) / w.sum()))


@register_case
class StrongCouplingCase(CaseStudy):
    name = "strong-coupling"
    title = ("Conductance-based LIF network with strong coupling: rate and CV vs K under "
             "coupling scalings, the a(K) keeping rates fixed, membrane potentials")
    params = {
        # network (models.md §4; published model)
        "Ks": (100, 200, 400),            # in-degrees simulated (cost ∝ N·K·rate: see docs)
        "c": 10.0,                         # N = c·K per population (the paper's c = 10)
        "g": 20.0,
        "gamma": 0.25,
        "nu_x": 20.0,                      # Hz per external input
        "scalings": ("log", "sqrt", "const"),
        "K0": 100.0,                       # anchor of the scalings: a(K0) = a0
        "a0": 0.01,
        "t_end": 1200.0,                   # ms per run
        "t_burn": 200.0,
        "seed": 1,
        "n_blocks": 5,                     # batch means of the rate (standard errors)
        "v_bins": 100,
        "v_range": (-80.0, -55.0),         # mV; histogram of non-refractory E neurons
        # theory curves
        "theory_K_max": 1e6,
        "theory_points": 41,
        # check tolerances (sources in docs/case_studies.md)
        "rate_rel_tol": 0.30,
        "cv_tol": 0.10,
        "afix_spread_tol": 0.25,
        "v_mean_tol_mv": 1.0,
        "v_sd_rel_tol": 0.20,
    }
    quick = {"Ks": (100, 200), "t_end": 700.0, "theory_points": 17, "theory_K_max": 1e5}
    quick_skips: dict = {}
    steps = (
        Step("theory", "step_theory",
             uses=("Ks", "g", "gamma", "nu_x", "scalings", "K0", "a0", "theory_K_max",
                   "theory_points"),
             description="self-consistent rate and CV over K; a(K) at fixed rate"),
        Step("simulate", "step_simulate",
             uses=("Ks", "c", "g", "gamma", "nu_x", "scalings", "K0", "a0", "t_end",
                   "t_burn", "seed", "n_blocks", "v_bins", "v_range"),
             after=("theory",), description="network runs per (K, coupling rule)"),
        Step("compare", "step_compare", after=("theory", "simulate"), cache=False,
             description="simulation vs theory; membrane-potential densities"),
        Step("figures", "step_figures", after=("compare",), cache=False,
             description="rate and CV vs K, a(K), V distributions"),
    )
    checks = (
        CheckSpec("rates-vs-theory", "check_rates", needs=("compare",)),
        CheckSpec("cv-vs-theory", "check_cv", needs=("compare",)),
        CheckSpec("scaling-trends", "check_trends", needs=("compare",)),
        CheckSpec("a-of-K-keeps-rate", "check_afix", needs=("compare",)),
        CheckSpec("v-mean", "check_v_mean", needs=("compare",)),
        CheckSpec("v-sd", "check_v_sd", needs=("compare",)),
    )

    # ------------------------------------------------------------------ steps
    def step_theory(self, ctx):
        ctx.require("reduce.meanfield.conductance", "ConductanceTheory")
        p = ctx.params
        th = _theory(p)
        thm = _theory(p, "multiplicative")
        Kc = np.geomspace(float(p["K0"]), float(p["theory_K_max"]), int(p["theory_points"]))
        curves = {}
        for rule in p["scalings"]:
            a = np.array([_coupling(rule, K, p) for K in Kc])
            pts = [_point_theory(th, K, ai) for K, ai in zip(Kc, a)]
            curves[rule] = {"K": Kc, "a": a,
                            "rate_hz": np.array([q["rate_hz"] for q in pts]),
                            "cv": np.array([q["cv"] for q in pts])}
        target = _point_theory(th, float(p["K0"]), float(p["a0"]))["rate_hz"]
        a_fix = np.array([a_keeping_rate(th, K, target) or np.nan for K in Kc])
        pts = [_point_theory(th, K, ai) if np.isfinite(ai) else {"rate_hz": np.nan,
                                                                    "cv": np.nan}
               for K, ai in zip(Kc, a_fix)]
        curves[AFIX] = {"K": Kc, "a": a_fix, "rate_hz": np.array([q["rate_hz"] for q in pts]),
                        "cv": np.array([q["cv"] for q in pts])}
        sim_K = [float(K) for K in p["Ks"]]
        sim_a = [a_keeping_rate(th, K, target) for K in sim_K]
        res = {"curves": curves, "target_hz": float(target), "afix_sim_K": sim_K,
               "afix_sim_a": sim_a, "linear_limit": float(th.linear_limit()),
               "theta": float(th.params["theta"]), "v_r": float(th.params["v_r"])}
        # the theory at every simulated point (additive and multiplicative noise)
        points = {}
        for run in _runs(p, res):
            key = (run["K"], run["a"])
            points[key] = {"additive": _point_theory(th, *key),
                           "multiplicative": _point_theory(thm, *key)}
        res["points"] = points
        return res

    def step_simulate(self, ctx):
        ctx.require("simulate", "ConductanceLIFNetwork")
        from simulate.executor import spawn_seeds

        p = ctx.params
        runs = _runs(p, ctx.result("theory"))
        seeds = spawn_seeds(p["seed"], len(runs))
        base = {k: p[k] for k in ("c", "g", "gamma", "nu_x", "t_end", "t_burn", "n_blocks",
                                  "v_bins", "v_range")}
        # largest runs first so that two workers finish together
        order = sorted(range(len(runs)), key=lambda i: -runs[i]["K"])
        out = ctx.map_tasks(_simulate_task,
                            [(base, runs[i]["K"], runs[i]["a"], seeds[i]) for i in order],
                            desc="network runs")
        res = [None] * len(runs)
        for i, r in zip(order, out):
            r["rules"] = list(runs[i]["rules"])
            res[i] = r
        return {"runs": res}

    def step_compare(self, ctx):
        th = ctx.result("theory")
        rows = []
        for r in ctx.result("simulate")["runs"]:
            t = th["points"][(r["K"], r["a"])]
            add, mul = t["additive"], t["multiplicative"]
            row = {"K": r["K"], "a": r["a"], "rules": r["rules"],
                   "rate_sim": r["rates_hz"]["E"], "se_sim": r["se_hz"]["E"],
                   "rate_I_sim": r["rates_hz"]["I"], "cv_sim": r["cv_isi"],
                   "cv_se_sim": r.get("cv_se", float("nan")),
                   "rate_add": add["rate_hz"], "cv_add": add["cv"],
                   "rate_mul": mul["rate_hz"], "cv_mul": mul["cv"]}
            m, s = _hist_moments(r["v_hist"], r["v_edges"])
            row.update(v_mean_sim=m, v_sd_sim=s)
            if "mu" in add:
                fm, fs = fp_moments(add["mu"], add["sigma"], th["theta"], th["v_r"])
                row.update(mu=add["mu"], sigma=add["sigma"], v_mean_fp=fm, v_sd_fp=fs,
                           v_sd_free=add["sigma"] / math.sqrt(2.0))
            rows.append(row)
        return {"rows": rows}

    def step_figures(self, ctx):
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        p = ctx.params
        th = ctx.result("theory")
        rows = ctx.result("compare")["rows"]
        rules = list(p["scalings"]) + [AFIX]
        made = []
        for what, ylab, log in (("rate", "E rate (Hz)", True), ("cv", "ISI CV", False)):
            fig, ax = plt.subplots(figsize=(5.5, 4))
            data = {}
            for j, rule in enumerate(rules):
                cur = th["curves"][rule]
                y = cur["rate_hz"] if what == "rate" else cur["cv"]
                ax.plot(cur["K"], y, "-", color=f"C{j}", label=f"theory, {rule}")
                data[f"K_theory_{rule}"], data[f"{what}_theory_{rule}"] = cur["K"], y
                sel = [r for r in rows if rule in r["rules"]]
                xs = [r["K"] for r in sel]
                ys = [r[f"{what}_sim"] for r in sel]
                if what == "rate":
                    ax.errorbar(xs, ys, yerr=[4 * r["se_sim"] for r in sel], fmt="o",
                                color=f"C{j}", ms=4)
                else:
                    ax.plot(xs, ys, "o", color=f"C{j}", ms=4)
                data[f"K_sim_{rule}"], data[f"{what}_sim_{rule}"] = xs, ys
            ax.set_xscale("log")
            if log:
                ax.set_yscale("log")
            ax.set_xlabel("K")
            ax.set_ylabel(ylab)
            ax.set_title("lines: additive theory; points: network"
                         + (" (±4 SE)" if what == "rate" else ""), fontsize=8)
            ax.legend(fontsize=7)
            ctx.figure(f"{what}_vs_K", fig, data)
            made.append(f"{what}_vs_K")

        fig, ax = plt.subplots(figsize=(5.5, 4))
        data = {}
        for j, rule in enumerate(rules):
            cur = th["curves"][rule]
            ax.plot(cur["K"], cur["a"], "-", color=f"C{j}", label=rule)
            data[f"K_{rule}"], data[f"a_{rule}"] = cur["K"], cur["a"]
        ax.plot(th["afix_sim_K"], th["afix_sim_a"], "ko", ms=4, label="simulated a(K)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("K")
        ax.set_ylabel("a")
        ax.set_title(f"a(K) keeping the theory's rate at {th['target_hz']:.1f} Hz", fontsize=8)
        ax.legend(fontsize=7)
        ctx.figure("a_of_K", fig, data)
        made.append("a_of_K")

        runs = {(r["K"], r["a"]): r for r in ctx.result("simulate")["runs"]}
        sel = [r for r in rows if AFIX in r["rules"] and "mu" in r]
        fig, ax = plt.subplots(figsize=(5.5, 4))
        data = {}
        for j, r in enumerate(sel):
            run = runs[(r["K"], r["a"])]
            e = run["v_edges"]
            c = 0.5 * (e[1:] + e[:-1])
            dens = run["v_hist"] / (run["v_hist"].sum() * np.diff(e))
            fp, _ = fp_density(c, r["mu"], r["sigma"], th["theta"], th["v_r"])
            gauss = (np.exp(-((c - r["mu"]) ** 2) / r["sigma"] ** 2)
                     / (math.sqrt(math.pi) * r["sigma"]))
            lab = f"K={r['K']:g}"
            ax.step(c, dens, where="mid", color=f"C{j}", lw=0.8, label=f"network {lab}")
            ax.plot(c, fp, "-", color=f"C{j}", lw=1.5, alpha=0.6)
            ax.plot(c, gauss, ":", color=f"C{j}", lw=1.0)
            data[f"v_mV_{lab}"], data[f"sim_{lab}"] = c, dens
            data[f"fp_{lab}"], data[f"gauss_{lab}"] = fp, gauss
        ax.set_xlabel("V (mV), non-refractory E neurons")
        ax.set_ylabel("density (1/mV)")
        ax.set_title("a(K) runs: steps network, solid diffusion (FP) density, dotted "
                     "N(μ, σ²/2)", fontsize=7)
        ax.legend(fontsize=7)
        ctx.figure("v_distribution", fig, data)
        made.append("v_distribution")

        cols = ("K", "a", "rate_sim", "se_sim", "rate_add", "rate_mul", "cv_sim", "cv_se_sim",
                "cv_add", "cv_mul", "v_mean_sim", "v_mean_fp", "v_sd_sim", "v_sd_fp", "v_sd_free")
        table = {"rules": ["+".join(r["rules"]) for r in rows]}
        table.update({k: [r.get(k, np.nan) for r in rows] for k in cols})
        ctx.table("points", table)
        ctx.summary["target_rate_hz"] = th["target_hz"]
        ctx.summary["linear_limit_nu_over_nu_x"] = th["linear_limit"]
        ctx.summary["points"] = [{k: (r[k] if k != "rules" else "+".join(r["rules"]))
                                  for k in ("rules",) + cols if k in r} for r in rows]
        return made

    # ------------------------------------------------------------------ checks
    def _rows(self, ctx):
        return ctx.result("compare")["rows"]

    def check_rates(self, ctx):
        tol = ctx.params["rate_rel_tol"]
        worst, bad, det = 0.0, [], []
        for r in self._rows(ctx):
            err = (r["rate_sim"] - r["rate_add"]) / r["rate_add"]
            allowed = tol * r["rate_add"] + 4 * r["se_sim"]
            det.append(f"K={r['K']:g} {'+'.join(r['rules'])}: {r['rate_sim']:.1f} vs "
                       f"{r['rate_add']:.1f} Hz ({100 * err:+.0f} %)")
            worst = max(worst, abs(err))
            if not abs(r["rate_sim"] - r["rate_add"]) <= allowed:
                bad.append(f"K={r['K']:g} {'+'.join(r['rules'])}")
        return Check("rates-vs-theory", worst, "additive theory (0 relative error)",
                     f"{tol:g} relative + 4 SE", not bad,
                     detail="; ".join(det) + (f"; outside: {', '.join(bad)}" if bad else ""))

    def check_cv(self, ctx):
        tol = ctx.params["cv_tol"]
        pts = [r for r in self._rows(ctx) if r["rate_sim"] >= 5.0 and np.isfinite(r["cv_sim"])]
        if not pts:
            raise StepSkipped("no run fired at ≥ 5 Hz")
        errs = [r["cv_sim"] - r["cv_add"] for r in pts]
        worst = float(max(abs(e) for e in errs))
        return Check("cv-vs-theory", worst, 0.0, tol, bool(worst <= tol),
                     detail="ISI CV network − additive theory at runs ≥ 5 Hz: " + ", ".join(
                         f"K={r['K']:g} {'+'.join(r['rules'])} {e:+.2f}"
                         for r, e in zip(pts, errs)))

    def check_trends(self, ctx):
        rows = self._rows(ctx)
        res, ok = {}, True
        for rule in ctx.params["scalings"]:
            sel = sorted((r for r in rows if rule in r["rules"]), key=lambda r: r["K"])
            if len(sel) < 2:
                continue
            lo, hi = sel[0], sel[-1]
            d_sim = hi["rate_sim"] - lo["rate_sim"]
            d_th = hi["rate_add"] - lo["rate_add"]
            noise = 4 * math.hypot(hi["se_sim"], lo["se_sim"])
            agree = (np.sign(d_sim) == np.sign(d_th)) and abs(d_sim) > noise
            res[rule] = {"sim_change_hz": d_sim, "theory_change_hz": d_th, "agree": bool(agree)}
            ok &= bool(agree)
        if not res:
            raise StepSkipped("fewer than two K values")
        return Check("scaling-trends", {k: v["sim_change_hz"] for k, v in res.items()},
                     {k: v["theory_change_hz"] for k, v in res.items()},
                     "same sign, simulated change > 4 SE", ok,
                     detail="E-rate change from the smallest to the largest K per scaling; "
                     "published: constant a saturates, a ∝ 1/√K with aK → ∞ tends to the "
                     "linear limit")

    def check_afix(self, ctx):
        rows = [r for r in self._rows(ctx) if AFIX in r["rules"]]
        if len(rows) < 2:
            raise StepSkipped("fewer than two a(K) runs (a(K) not found at the other K)")
        rates = np.array([r["rate_sim"] for r in rows])
        spread = float((rates.max() - rates.min()) / rates.mean())
        tol = ctx.params["afix_spread_tol"]
        const = sorted((r for r in self._rows(ctx) if "const" in r["rules"]),
                       key=lambda r: r["K"])
        cmp = ""
        if len(const) >= 2:
            cr = np.array([r["rate_sim"] for r in const])
            cmp = f"; for comparison constant a: spread {(cr.max() - cr.min()) / cr.mean():.2f}"
        return Check("a-of-K-keeps-rate", spread, 0.0, tol, bool(spread <= tol),
                     detail="(max − min)/mean of the network E rate along the theory's a(K): "
                     + ", ".join(f"K={r['K']:g}: {r['rate_sim']:.1f} Hz" for r in rows) + cmp)

    def _v_rows(self, ctx):
        rows = [r for r in self._rows(ctx) if AFIX in r["rules"] and "v_mean_fp" in r]
        if not rows:
            raise StepSkipped("no a(K) run with a theory point")
        return rows

    def check_v_mean(self, ctx):
        rows = self._v_rows(ctx)
        d = [r["v_mean_sim"] - r["v_mean_fp"] for r in rows]
        worst = float(max(abs(x) for x in d))
        tol = ctx.params["v_mean_tol_mv"]
        return Check("v-mean", worst, 0.0, tol, bool(worst <= tol),
                     detail="mean V (mV) network − diffusion density, a(K) runs: " + ", ".join(
                         f"K={r['K']:g}: {r['v_mean_sim']:.2f} vs {r['v_mean_fp']:.2f}"
                         for r in rows))

    def check_v_sd(self, ctx):
        rows = self._v_rows(ctx)
        e = [(r["v_sd_sim"] - r["v_sd_fp"]) / r["v_sd_fp"] for r in rows]
        worst = float(max(abs(x) for x in e))
        tol = ctx.params["v_sd_rel_tol"]
        return Check("v-sd", worst, 0.0, f"{tol:g} relative", bool(worst <= tol),
                     detail="sd of V (mV) network vs diffusion density, a(K) runs: " + ", ".join(
                         f"K={r['K']:g}: {r['v_sd_sim']:.2f} vs {r['v_sd_fp']:.2f}"
                         for r in rows))
