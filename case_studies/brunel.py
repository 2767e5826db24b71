"""Case study ``brunel``: rates of Brunel's current-based network vs the Siegert baseline.

Brunel (2000), models.md §5 (**published** model): the sparse current-based LIF network
:class:`simulate.CurrentLIFNetwork` (N_E = 10⁴, N_I = 2500, C_E = K = 1000, γ = 1/4,
J = 0.1 mV, τ = 20 ms, θ = 20 mV, V_r = 10 mV, τ_rp = 2 ms, D = 1.5 ms, dt = 0.1 ms) at the
points of a (g, η) grid, against the self-consistent rate of the diffusion approximation
(:class:`reduce.meanfield.brunel.BrunelTheory`)::

    μ = C_E J τ [ν_ext + ν(1 − gγ)],  σ² = J² C_E τ [ν_ext + ν(1 + g²γ)],
    ν = Φ(μ, σ) = [τ_rp + τ√π ∫_{(V_r−μ)/σ}^{(θ−μ)/σ} e^{u²}(1 + erf u) du]^{−1},
    ν_ext = η ν_thr,  ν_thr = θ/(J C_E τ).

The theory is a stationary rate theory: it describes the asynchronous-irregular (AI) state
only. Every grid point is classified from the network's own activity, and only AI points are
compared:

- **finite-size scaling** (Brunel's AI is defined for N → ∞ at fixed C_E): every point is
  also simulated at ``size_factor`` × N_E (= 4, same C_E, so ε falls 4×). In an
  asynchronous state the population count of a 1-ms bin has a variance ∝ N (finite-size
  fluctuations, relative size ∝ N^{−1/2}), so its Fano factor F_pop = var/mean stays put; a
  macroscopic oscillation has variance ∝ N², F_pop ∝ N. "synchronous" if F_pop grows by at
  least √size_factor (the geometric midpoint of the two hypotheses, 1 and size_factor), or if
  ``persistence`` (largest |autocorrelation| of the 1-ms count at 50–100 ms lags) ≥ 0.3 (a
  coherent oscillation lasting beyond 50 ms); otherwise AI.
- reported too: the spectral peak of the 1-ms E rate and its height over the 4–20 Hz level
  (:func:`simulate.spike_stats.population_oscillation`; for noise driving a damped mode of
  quality factor Q the ratio is Q², so it measures the shape of the resonance, not whether it
  survives N → ∞), the relative modulation std/mean, F_pop.
- Measured (docs/lif_hybrid.md, docs/meanfield.md §3): at (5, 2), Brunel's AI point, the
  network (ours and Brian2's) shows a 115–130 Hz resonance with 50 % modulation at
  N_E = 10⁴, but at N_E = 4·10⁴ the modulation halves (0.245) and F_pop stays (95 → 90):
  asynchronous in the large-N sense, i.e. Brunel's label holds. Its rate agrees with the
  Siegert rate (−1.6 %), its ISI CV does not (0.40 vs 0.675 at both sizes, in both
  simulators; a single neuron driven by white noise of the same μ and σ gives 0.665). The
  gap is explained by the recurrent input's own regularity: the self-consistent
  renewal-input theory (:mod:`reduce.meanfield.renewal`; step ``renewal``) gives 0.38–0.40,
  and ``cv-ai`` compares with it; the white-noise CV is kept in the check's values as the
  failing baseline (a finding, not hidden).
- points that are not AI are reported with their rate and ISI CV, marked "synchronous: not
  compared".

Brunel's Fig. 8 labels two of the grid's points (published): (g, η) = (5, 2) "stationary
global activity, irregularly firing neurons" (AI, panel C) and (6, 4) "fast oscillation of the
global activity, neurons firing irregularly" (SI fast, panel B). The check
``regions-published`` compares the classifier with those labels.

Rate checks at AI points: ``|ν_sim − ν_th| ≤ b_sys ν_th + 4 SE``. ``b_sys`` = 8 % is the
systematic budget of the diffusion approximation stated in docs/meanfield.md (shot noise
J/σ ≈ 0.1/8, the Euler scheme, finite N, and correlations from shared input ε = 0.1);
SE is the standard error of the mean rate from batch means over ``block_ms`` blocks (the
blocks are much longer than the rate's correlation time in the AI state).

CV checks at AI points (``cv-ai``): against the self-consistent renewal-input theory,
:func:`reduce.meanfield.renewal.brunel_renewal` (the network's own neuron driven by C_E + C_I
independent renewal trains whose ISI law is its own output law, iterated from Poisson input
at the Siegert rate to convergence). The theory's CV is estimated with the network's
estimator (mean per-neuron CV in windows of t_end − t_burn, ≥ 5 spikes), so the finite-window
bias is the same on both sides. Tolerance::

    |CV_sim − CV_ren| ≤ 4·√(SE_sim² + SE_ren²) + tail + (f/(f − 1))·|CV_sim(N_E) − CV_sim(f N_E)|

with ``tail`` the iteration's truncation estimate and the last term the budget of the
neglected input cross-correlations: the theory's inputs are independent (the N → ∞ limit at
fixed C_E); in the network the shared-input fraction is ε = C_E/N_E, f = size_factor = 4
times smaller in the big run; if CV(ε) = CV_∞ + kε, CV(N_E) − CV_∞ = (f/(f − 1))·(CV(N_E) −
CV(f N_E)). The white-noise (Siegert) CV is reported beside it with its own tolerance
(shot-noise shift θ ± J, window bias CV/(2m), 4 SE) and result (``siegert_pass``).

``--quick`` keeps the network size (the theory is for that size; shrinking N at fixed K
would raise the connection probability and the input correlations, a finite-size error with
no closed-form budget) and reduces the grid to the published AI point (5, 2) and the run to
500 ms (plus the same at 4 N_E for the classifier: about 5× the cost of the N_E run).
"""

from __future__ import annotations

import numpy as np

from .framework import CaseStudy, Check, CheckSpec, Step, StepSkipped, register_case

__all__ = ["BrunelCase"]

#: Brunel (2000) Fig. 8 (published labels of two of the grid's points).
PUBLISHED_REGIONS = {(6.0, 4.0): "SI fast", (5.0, 2.0): "AI"}


def _grid(p):
    return [(float(g), float(e)) for g in p["g_values"] for e in p["eta_values"]]


def _isi_edges(bin_ms=0.5, max_ms=300.0):
    """Bin edges (ms) of the ISI histograms, network's and renewal theory's alike."""
    return np.arange(0.0, max_ms + bin_ms / 2, bin_ms)


def _isi_shape(act, t_burn, max_neurons=2000, bin_ms=0.5, max_ms=300.0):
    """Pooled ISI histogram (counts in ``bin_ms`` bins on [0, max_ms)) of the first
    ``max_neurons`` E neurons after ``t_burn`` and the lag-1 serial correlation coefficient
    ρ₁ = Σ (Δ_k − Δ̄_i)(Δ_{k+1} − Δ̄_i) / Σ (Δ_k − Δ̄_i)², deviations from each neuron's own
    mean Δ̄_i, pooled over neurons (biased by about −1/m for m intervals per neuron). The
    renewal-input theory (:mod:`reduce.meanfield.renewal`) assumes ρ₁ = 0 for the inputs."""
    ts, ids, off = act.spikes
    e0 = int(off["E"]) if isinstance(off, dict) else 0
    sel = (ts >= t_burn) & (ids >= e0) & (ids < e0 + min(int(act.sizes["E"]), max_neurons))
    ts, ids = ts[sel], ids[sel]
    order = np.lexsort((ts, ids))
    ts, ids = ts[order], ids[order]
    same = ids[1:] == ids[:-1]
    isi, owner = np.diff(ts)[same], ids[1:][same]
    edges = _isi_edges(bin_ms, max_ms)
    hist = np.histogram(isi, edges)[0]
    if isi.size < 3:
        return hist, edges, float("nan")
    m = np.bincount(owner - e0, minlength=1).astype(float)
    mean = np.bincount(owner - e0, weights=isi) / np.maximum(m, 1)
    d = isi - mean[owner - e0]
    pair = owner[1:] == owner[:-1]
    den = float(np.sum(d * d))
    rho1 = float(np.sum(d[1:][pair] * d[:-1][pair]) / den) if den > 0 else float("nan")
    return hist, edges, rho1


def _persistence(x, window):
    """Largest |autocorrelation| of ``x`` (1-ms bins) over lags in ``window`` (ms)."""
    x = np.asarray(x, float) - np.mean(x)
    n = len(x)
    lo, hi = int(window[0]), int(window[1])
    if n < 2 * hi or not np.any(x):
        return float("nan")
    f = np.fft.rfft(x, 2 * n)
    ac = np.fft.irfft(f * np.conj(f))[:n]
    ac = ac / (ac[0] * (n - np.arange(n)) / n)      # unbiased, normalised to 1 at lag 0
    return float(np.max(np.abs(ac[lo:hi + 1])))


def _simulate_task(task):
    """One network run at one (g, η) (module level for worker processes)."""
    import simulate

    p, g, eta, seed = task
    net = simulate.CurrentLIFNetwork(n_e=p["n_e"], K=p["K"], g=g, eta=eta, J=p["J"],
                                     delay=p["delay"], dt=p["dt"])
    traj = net.run(t_end=p["t_end"], seed=seed, progress=False)
    act = traj.activity()
    win = act.window(p["t_burn"])
    # 1-ms counts of E (rate bins may be finer)
    k = max(1, int(round(1.0 / win.dt)))
    n = len(win.t) // k
    counts = {q: np.asarray(win.counts[q], float)[: n * k].reshape(n, k).sum(1)
              for q in ("E", "I")}
    # batch means of the rate over blocks
    b = max(1, int(round(p["block_ms"])))
    nb = n // b
    rates, ses = {}, {}
    for q in ("E", "I"):
        per_ms = counts[q] / act.sizes[q] * 1000.0            # Hz per neuron, 1-ms bins
        blocks = per_ms[: nb * b].reshape(nb, b).mean(1)
        rates[q] = float(per_ms.mean())
        ses[q] = float(blocks.std(ddof=1) / np.sqrt(nb)) if nb > 1 else float("nan")
    nE = counts["E"]
    from simulate.spike_stats import isi_cv_summary, population_oscillation

    osc = population_oscillation(act, "E", float(win.t[0]), float(win.t[0]) + n)
    isi = isi_cv_summary(act, "E", p["t_burn"], None, 2000, 5)
    cv, cv_se, m_isi = isi["cv"], isi["se"], isi["n_intervals"]
    isi_hist, isi_edges, rho1 = _isi_shape(act, p["t_burn"])
    return {"persistence": _persistence(nE, p["lag_window_ms"]),
            "peak_over_low": osc["peak_over_low"], "peak_hz": osc["peak_hz"],
            "modulation": osc["rel_modulation"], "cv_se": cv_se, "n_isi": m_isi,
            "g": g, "eta": eta, "seed": int(seed), "rates_hz": rates, "se_hz": ses,
            "fano_pop": float(nE.var() / nE.mean()) if nE.mean() > 0 else float("nan"),
            "cv_isi": cv, "n_blocks": int(nb), "isi_rho1": rho1, "isi_hist": isi_hist,
            "isi_edges_ms": isi_edges,
            "t_ms": np.arange(n) + float(win.t[0]) if n else np.zeros(0),
            "rate_E_1ms": (counts["E"] / act.sizes["E"] * 1000.0)[:500],
            "wall_s": float(traj.meta.get("wall_time_s", np.nan))}


def _classify(r, rb, p):
    """(region, F_pop growth) of one grid point from its N_E run ``r`` and its
    size_factor × N_E run ``rb`` (None if absent): module docstring, finite-size scaling."""
    growth = rb["fano_pop"] / r["fano_pop"] if rb is not None else np.nan
    macro = bool(np.isfinite(growth) and growth >= np.sqrt(p["size_factor"]))
    coherent = bool(r["persistence"] >= p["persistence_ai"])
    return ("synchronous" if (macro or coherent) else "AI"), growth


def _renewal_task(task):
    """Self-consistent renewal-input theory at one (g, η) (module level for workers)."""
    from reduce.meanfield.renewal import brunel_renewal

    p, g, eta, seed = task
    res = brunel_renewal(g=g, eta=eta, J=p["J"], C_E=int(p["K"]), dt=p["dt"],
                         n_neurons=p["renewal_neurons"], t_sim=p["renewal_t_sim"],
                         cv_window_ms=p["t_end"] - p["t_burn"],
                         max_iter=p["renewal_max_iter"], seed=int(seed))
    edges = _isi_edges()
    first = res.history[0]
    return {"g": g, "eta": eta, **res.summary(),
            "isi_hist": np.histogram(res.isi_ms, edges)[0], "isi_edges_ms": edges,
            "isi_hist_poisson": np.histogram(res.isi_poisson_ms, edges)[0],
            "poisson_cv": first["cv"], "poisson_rate_hz": first["rate_hz"],
            "siegert_rate_hz": res.params["siegert_rate_hz"],
            "siegert_cv": res.params["siegert_cv"]}


@register_case
class BrunelCase(CaseStudy):
    name = "brunel"
    title = ("Brunel's current-based network: rates vs the Siegert self-consistency over "
             "(g, eta) in the asynchronous-irregular region")
    params = {
        "g_values": (5.0, 6.0),
        "eta_values": (2.0, 4.0),
        "n_e": 10000,
        "K": 1000,
        "J": 0.1,
        "delay": 1.5,
        "dt": 0.1,
        "t_end": 1000.0,          # ms per run
        "t_burn": 200.0,
        "seed": 3,
        "block_ms": 50.0,         # batch means for the standard error
        "lag_window_ms": (50.0, 100.0),   # lags of the persistence measure
        "size_factor": 4.0,       # each point also at size_factor x N_E (same C_E)
        "persistence_ai": 0.3,    # |autocorrelation| at 50-100 ms >= this: synchronous
        "sys_budget": 0.08,       # relative systematic budget of the diffusion approximation
        "n_se": 4.0,
        "renewal_neurons": 400,   # model neurons per renewal iteration
        "renewal_t_sim": 5000.0,  # ms recorded per renewal iteration
        "renewal_max_iter": 12,
        "renewal_seed": 5,
    }
    quick = {
        "g_values": (5.0,),
        "eta_values": (2.0,),
        "t_end": 500.0,
        "renewal_neurons": 200,
        "renewal_t_sim": 3000.0,
    }
    quick_skips = {}
    steps = (
        Step("theory", "step_theory", uses=("g_values", "eta_values", "K", "J", "delay"),
             description="self-consistent Siegert rates and CVs on the grid"),
        Step("simulate", "step_simulate",
             uses=("g_values", "eta_values", "n_e", "K", "J", "delay", "dt", "t_end",
                   "t_burn", "seed", "block_ms", "lag_window_ms", "size_factor"),
             description="one network run per grid point"),
        Step("renewal", "step_renewal", after=("simulate",),
             uses=("g_values", "eta_values", "K", "J", "dt", "t_end", "t_burn", "size_factor",
                   "persistence_ai", "renewal_neurons", "renewal_t_sim", "renewal_max_iter",
                   "renewal_seed"),
             description="self-consistent renewal-input rate and ISI CV at every AI point"),
        Step("compare", "step_compare", after=("theory", "simulate", "renewal"),
             uses=("size_factor", "persistence_ai", "sys_budget", "n_se"),
             description="classify the points, compare AI rates with the theory"),
        Step("figures", "step_figures", after=("compare",), cache=False,
             description="rates theory vs network over the grid, population activity"),
    )
    checks = (
        CheckSpec("rates-ai", "check_rates_ai", needs=("compare",)),
        CheckSpec("cv-ai", "check_cv_ai", needs=("compare",)),
        CheckSpec("regions-published", "check_regions", needs=("compare",)),
    )

    # ------------------------------------------------------------------ steps
    def step_theory(self, ctx):
        """Siegert self-consistent rate and ISI CV (:class:`BrunelTheory`) at every (g, η) grid
        point (the stable solution if any), with the CV's shot-noise budget (largest CV change when
        the threshold moves by ±J), the number of solutions and the linear limit; keyed by (g, η).
        """
        Theory = ctx.require("reduce.meanfield.brunel", "BrunelTheory")
        p = ctx.params
        out = {}
        for g, eta in _grid(p):
            th = Theory(g=g, eta=eta, J=p["J"], C_E=float(p["K"]), delay=p["delay"])
            fp = th.self_consistent()
            if not fp.success:
                out[(g, eta)] = {"status": fp.status, "message": fp.message}
                continue
            i = fp.selected_index()
            cv = float(np.asarray(fp.extra.get("cv", [np.nan]))[i])
            # shot-noise budget of the CV: threshold moved by one jump J either way
            cv_shift = []
            for dth in (-p["J"], p["J"]):
                fs = Theory(g=g, eta=eta, J=p["J"], C_E=float(p["K"]), delay=p["delay"],
                            theta=20.0 + dth).self_consistent()
                if fs.success:
                    k = fs.selected_index()
                    cv_shift.append(abs(float(np.asarray(fs.extra["cv"])[k]) - cv))
            out[(g, eta)] = {"status": "ok", "rate_hz": float(fp.rates_hz[i]), "cv": cv,
                             "cv_budget_shot": max(cv_shift) if cv_shift else np.nan,
                             "n_solutions": int(len(fp.rates_hz)),
                             "linear_limit_hz": float(th.linear_limit())}
        return out

    def step_simulate(self, ctx):
        """Current-based LIF network runs at every (g, η) grid point (one seed per point), and again
        at ``size_factor`` × n_e (same C_E) if ``size_factor`` > 1: ``{"runs", "runs_big"}``.
        """
        cls = ctx.require("simulate", "CurrentLIFNetwork")
        from simulate.executor import spawn_seeds

        p = ctx.params
        grid = _grid(p)
        cls(n_e=p["n_e"], K=p["K"], g=grid[0][0], eta=grid[0][1], J=p["J"], delay=p["delay"],
            dt=p["dt"])   # validates the parameters before any run
        seeds = spawn_seeds(p["seed"], len(grid))
        base = {k: p[k] for k in ("n_e", "K", "J", "delay", "dt", "t_end", "t_burn",
                                  "block_ms", "lag_window_ms")}
        tasks = [(base, g, e, s) for (g, e), s in zip(grid, seeds)]
        big = {**base, "n_e": int(round(p["size_factor"] * p["n_e"]))}
        if p["size_factor"] > 1:    # the same points at size_factor x N (same C_E)
            tasks += [(big, g, e, s) for (g, e), s in zip(grid, seeds)]
        runs = ctx.map_tasks(_simulate_task, tasks, desc="network runs")
        return {"runs": runs[:len(grid)], "runs_big": runs[len(grid):]}

    def step_renewal(self, ctx):
        """Renewal-input theory (:func:`reduce.meanfield.renewal.brunel_renewal`) at the AI
        points, with the network's CV window (t_end − t_burn) for the windowed CV."""
        p = ctx.params
        sim = ctx.result("simulate")
        big = {(r["g"], r["eta"]): r for r in sim.get("runs_big", [])}
        ai = [(r["g"], r["eta"]) for r in sim["runs"]
              if _classify(r, big.get((r["g"], r["eta"])), p)[0] == "AI"]
        if not ai:
            return {}
        from simulate.executor import spawn_seeds

        seeds = spawn_seeds(p["renewal_seed"], len(ai))
        base = {k: p[k] for k in ("K", "J", "dt", "t_end", "t_burn", "renewal_neurons",
                                  "renewal_t_sim", "renewal_max_iter")}
        res = ctx.map_tasks(_renewal_task, [(base, g, e, s) for (g, e), s in zip(ai, seeds)],
                            desc="renewal theory")
        return {(r["g"], r["eta"]): r for r in res}

    def step_compare(self, ctx):
        """One row per grid point: the region classified from the N_E and size_factor × N_E runs
        next to the published label, and the network rate and ISI CV next to the Siegert and
        renewal-input theories; at AI points with a theory solution also the rate tolerance
        (``sys_budget``·theory + ``n_se`` SE) and the CV tolerances and pass flags. Returns
        ``{"rows", "runs", "renewal"}``.
        """
        p = ctx.params
        th = ctx.result("theory")
        ren = ctx.result("renewal")
        rows = []
        sim = ctx.result("simulate")
        big = {(r["g"], r["eta"]): r for r in sim.get("runs_big", [])}
        for r in sim["runs"]:
            key = (r["g"], r["eta"])
            t = th.get(key, {})
            ratio = r.get("peak_over_low", np.nan)
            rb = big.get(key)
            region, growth = _classify(r, rb, p)
            rn = ren.get(key, {})
            row = {"g": r["g"], "eta": r["eta"], "region": region,
                   "published": PUBLISHED_REGIONS.get(key, ""),
                   "fano_pop": r["fano_pop"], "persistence": r["persistence"],
                   "peak_over_low": ratio, "peak_hz": r.get("peak_hz", np.nan),
                   "fano_growth": growth,
                   "fano_pop_big": rb["fano_pop"] if rb is not None else np.nan,
                   "cv_isi_big": rb["cv_isi"] if rb is not None else np.nan,
                   "cv_se_big": rb.get("cv_se", np.nan) if rb is not None else np.nan,
                   "modulation": r.get("modulation", np.nan),
                   "cv_isi": r["cv_isi"], "cv_se": r.get("cv_se", np.nan),
                   "isi_rho1": r.get("isi_rho1", np.nan),
                   "rate_E_hz": r["rates_hz"]["E"], "rate_I_hz": r["rates_hz"]["I"],
                   "se_E_hz": r["se_hz"]["E"], "theory_hz": t.get("rate_hz", np.nan),
                   "theory_cv": t.get("cv", np.nan),
                   "linear_limit_hz": t.get("linear_limit_hz", np.nan),
                   "renewal_hz": rn.get("rate_hz", np.nan),
                   "renewal_se_hz": rn.get("rate_se_hz", np.nan),
                   "renewal_cv": rn.get("cv_window", np.nan),
                   "renewal_cv_se": rn.get("cv_window_se", np.nan),
                   "renewal_cv_pooled": rn.get("cv", np.nan),
                   "renewal_cv_tail": rn.get("cv_tail", np.nan),
                   "renewal_converged": rn.get("converged", None),
                   "renewal_iterations": len(rn.get("history", [])),
                   "white_noise_cv_sim": rn.get("poisson_cv", np.nan)}
            if region == "AI" and t.get("status") == "ok":
                tol = p["sys_budget"] * row["theory_hz"] + p["n_se"] * row["se_E_hz"]
                # white-noise baseline (kept as a finding): shot-noise budget + finite-window
                # bias 1/(2m) (relative) + n_se SE
                cv_tol_w = (t["cv_budget_shot"]
                            + row["theory_cv"] / (2 * max(r.get("n_isi", 1.0), 1.0))
                            + p["n_se"] * row["cv_se"])
                # renewal theory (same windowed estimator): n_se combined SE + iteration tail
                # + neglected input cross-correlations, extrapolated linearly in ε = C_E/N_E
                # from the N_E and size_factor·N_E runs: (f/(f − 1))·|CV_N − CV_fN|
                f = p["size_factor"]
                b_corr = (f / (f - 1.0) * abs(row["cv_isi"] - row["cv_isi_big"])
                          if f > 1 and np.isfinite(row["cv_isi_big"]) else np.nan)
                cv_tol = (p["n_se"] * np.hypot(row["cv_se"], row["renewal_cv_se"])
                          + (row["renewal_cv_tail"] if np.isfinite(row["renewal_cv_tail"])
                             else 0.0) + b_corr)
                row.update(cv_tolerance_white=cv_tol_w,
                           cv_passed_white=bool(abs(row["cv_isi"] - row["theory_cv"])
                                                <= cv_tol_w),
                           cv_budget_corr=b_corr, cv_tolerance=cv_tol,
                           cv_passed=bool(np.isfinite(cv_tol) and
                                          abs(row["cv_isi"] - row["renewal_cv"]) <= cv_tol))
                row.update(compared=True, tolerance_hz=tol,
                           error_rel=(row["rate_E_hz"] - row["theory_hz"]) / row["theory_hz"],
                           passed=bool(abs(row["rate_E_hz"] - row["theory_hz"]) <= tol))
            else:
                row.update(compared=False, tolerance_hz=np.nan, error_rel=np.nan, passed=None,
                           note="not compared: " + ("synchronous (rate theory does not "
                                                    "apply)" if region != "AI" else
                                                    "no theory solution"))
            rows.append(row)
        return {"rows": rows, "runs": ctx.result("simulate")["runs"], "renewal": ren}

    def step_figures(self, ctx):
        """Figures (network vs theory rates, population activity per grid point, and the ISI-CV
        figures), the ``grid`` table and the summary; returns the figure names.
        """
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        cmp_ = ctx.result("compare")
        rows = cmp_["rows"]
        fig, ax = plt.subplots(figsize=(5, 3.8))
        th = np.array([r["theory_hz"] for r in rows])
        sim = np.array([r["rate_E_hz"] for r in rows])
        se = np.array([r["se_E_hz"] for r in rows])
        ai = np.array([r["region"] == "AI" for r in rows])
        lim = [0, 1.15 * max(np.nanmax(th), np.nanmax(sim))]
        ax.plot(lim, lim, "k-", lw=0.6)
        ax.fill_between(lim, np.array(lim) * (1 - ctx.params["sys_budget"]),
                        np.array(lim) * (1 + ctx.params["sys_budget"]), color="0.9")
        ax.errorbar(th[ai], sim[ai], yerr=4 * se[ai], fmt="o", label="AI (compared)")
        if np.any(~ai):
            ax.errorbar(th[~ai], sim[~ai], yerr=4 * se[~ai], fmt="x", color="C3",
                        label="synchronous (not compared)")
        ren = np.array([r["renewal_hz"] for r in rows], float)
        if np.any(np.isfinite(ren)):
            ax.plot(th, ren, "s", mfc="none", color="C2", label="renewal-input theory")
        for r in rows:
            ax.annotate(f"g={r['g']:g}, η={r['eta']:g}", (r["theory_hz"], r["rate_E_hz"]),
                        fontsize=7, xytext=(4, -8), textcoords="offset points")
        ax.set_xlabel("Siegert self-consistent rate (Hz)")
        ax.set_ylabel("network E rate (Hz), ±4 SE")
        ax.legend(fontsize=7)
        ctx.figure("rates_theory_vs_network", fig, {
            k: [r[k] for r in rows] for k in ("g", "eta", "region", "published", "theory_hz",
                                              "rate_E_hz", "se_E_hz", "rate_I_hz", "fano_pop",
                                              "persistence", "cv_isi", "theory_cv",
                                              "linear_limit_hz", "renewal_hz",
                                              "renewal_se_hz")})
        self._cv_figures(ctx, plt, rows, cmp_)

        fig, axes = plt.subplots(len(rows), 1, figsize=(7, 1.6 * len(rows)), squeeze=False)
        data = {}
        for ax, r in zip(axes[:, 0], cmp_["runs"]):
            y = np.asarray(r["rate_E_1ms"])
            t = np.asarray(r["t_ms"])[: len(y)]
            ax.plot(t, y, lw=0.6)
            reg = next(x["region"] for x in rows if (x["g"], x["eta"]) == (r["g"], r["eta"]))
            ax.set_title(f"g = {r['g']:g}, η = {r['eta']:g}: {reg}, F_pop = "
                         f"{r['fano_pop']:.0f}, S(peak)/S(low) "
                         f"{r.get('peak_over_low', np.nan):.1f} at "
                         f"{r.get('peak_hz', np.nan):.0f} Hz", fontsize=8)
            ax.set_ylabel("E rate (Hz)")
            data[f"t_ms_g{r['g']:g}_eta{r['eta']:g}"] = t
            data[f"rate_E_hz_g{r['g']:g}_eta{r['eta']:g}"] = y
        axes[-1, 0].set_xlabel("t (ms)")
        fig.tight_layout()
        ctx.figure("population_activity", fig, data)
        ctx.table("grid", {k: [r.get(k, "") for r in rows] for k in (
            "g", "eta", "region", "published", "fano_growth", "fano_pop_big", "cv_isi_big",
            "peak_over_low", "peak_hz", "modulation", "fano_pop", "persistence", "cv_isi",
            "cv_se", "rate_E_hz", "se_E_hz",
            "rate_I_hz", "theory_hz", "theory_cv", "linear_limit_hz", "compared",
            "tolerance_hz", "error_rel", "passed", "cv_se_big", "isi_rho1", "renewal_hz",
            "renewal_se_hz", "renewal_cv", "renewal_cv_se", "renewal_cv_pooled",
            "renewal_cv_tail", "renewal_converged", "renewal_iterations",
            "white_noise_cv_sim", "cv_budget_corr", "cv_tolerance", "cv_passed",
            "cv_tolerance_white", "cv_passed_white")})
        ctx.summary["grid"] = rows
        return ["rates_theory_vs_network", "population_activity", "isi_cv_theories",
                "isi_distributions"]

    def _cv_figures(self, ctx, plt, rows, cmp_):
        """ISI CV per AI point (network at N_E and size_factor·N_E, renewal theory, white
        noise) and the ISI densities of network and renewal theory."""
        cmp_rows = [r for r in rows if r["compared"]]
        if not cmp_rows:
            return
        f = ctx.params["size_factor"]
        fig, ax = plt.subplots(figsize=(5.5, 3.6))
        x = np.arange(len(cmp_rows))
        series = [("cv_isi", "cv_se", "network N_E", "o", "C0"),
                  ("cv_isi_big", "cv_se_big", f"network {f:g} N_E", "o", "C9"),
                  ("renewal_cv", "renewal_cv_se", "renewal-input theory", "s", "C2"),
                  ("theory_cv", None, "white noise (Siegert)", "^", "C3")]
        for k, (v, e, lab, m, c) in enumerate(series):
            y = np.array([r[v] for r in cmp_rows], float)
            err = (4 * np.array([r[e] for r in cmp_rows], float)) if e else None
            ax.errorbar(x + 0.12 * (k - 1.5), y, yerr=err, fmt=m, color=c, label=lab)
        ax.set_xticks(x, [f"g={r['g']:g}, η={r['eta']:g}" for r in cmp_rows])
        ax.set_ylabel("mean ISI CV of E neurons (±4 SE)")
        ax.legend(fontsize=7)
        fig.tight_layout()
        ctx.figure("isi_cv_theories", fig, {
            k: [r[k] for r in cmp_rows] for k in ("g", "eta", "cv_isi", "cv_se", "cv_isi_big",
                                                  "cv_se_big", "renewal_cv", "renewal_cv_se",
                                                  "renewal_cv_pooled", "theory_cv",
                                                  "white_noise_cv_sim", "cv_tolerance",
                                                  "isi_rho1")})
        runs = {(r["g"], r["eta"]): r for r in cmp_["runs"]}
        ren = cmp_.get("renewal", {})
        fig, axes = plt.subplots(1, len(cmp_rows), figsize=(3.6 * len(cmp_rows), 3.0),
                                 squeeze=False)
        data = {}
        for ax, r in zip(axes[0], cmp_rows):
            key = (r["g"], r["eta"])
            tag = f"g{r['g']:g}_eta{r['eta']:g}"
            for src, h_key, lab, c in ((runs.get(key), "isi_hist", "network N_E", "C0"),
                                       (ren.get(key), "isi_hist", "renewal theory", "C2"),
                                       (ren.get(key), "isi_hist_poisson",
                                        "Poisson input (white-noise-like)", "C3")):
                if not src or h_key not in src:
                    continue
                h = np.asarray(src[h_key], float)
                e = np.asarray(src["isi_edges_ms"], float)
                dens = h / max(h.sum(), 1.0) / np.diff(e)
                ax.plot(0.5 * (e[1:] + e[:-1]), dens, color=c, lw=0.8, label=lab)
                data[f"isi_ms_{tag}"] = 0.5 * (e[1:] + e[:-1])
                data[f"density_{lab.split()[0]}_{tag}"] = dens
            ax.set_xlim(0, 120)
            ax.set_title(f"g = {r['g']:g}, η = {r['eta']:g}", fontsize=8)
            ax.set_xlabel("ISI (ms)")
        axes[0, 0].set_ylabel("density (1/ms)")
        axes[0, 0].legend(fontsize=7)
        fig.tight_layout()
        ctx.figure("isi_distributions", fig, data)

    # ------------------------------------------------------------------ checks
    def check_rates_ai(self, ctx):
        """Network E rate vs the Siegert self-consistent rate at every AI point; tolerance per point
        ``sys_budget``·theory (systematic) + ``n_se`` SE of the network rate. Skipped if no point is
        AI.
        """
        rows = [r for r in ctx.result("compare")["rows"] if r["compared"]]
        if not rows:
            raise StepSkipped("no grid point is in the asynchronous-irregular state")
        vals = {f"g={r['g']:g},eta={r['eta']:g}": {"sim": r["rate_E_hz"],
                                                    "theory": r["theory_hz"],
                                                    "tol": r["tolerance_hz"]} for r in rows}
        p = ctx.params
        return Check("rates-ai", vals, "Siegert self-consistent rate",
                     f"{p['sys_budget']:g} relative (systematic) + {p['n_se']:g} SE",
                     all(r["passed"] for r in rows),
                     detail="E rate of the network vs theory at every AI point")

    def check_cv_ai(self, ctx):
        """ISI CV of AI points against the self-consistent renewal-input CV (module
        docstring); the white-noise (Siegert) CV and its own check result are reported in the
        values as the baseline that fails."""
        rows = [r for r in ctx.result("compare")["rows"] if r["compared"]]
        if not rows:
            raise StepSkipped("no grid point is in the asynchronous-irregular state")
        vals = {f"g={r['g']:g},eta={r['eta']:g}": {
            "sim": r["cv_isi"], "theory": r["renewal_cv"], "tol": r["cv_tolerance"],
            "renewal_converged": r["renewal_converged"],
            "sim_4N": r["cv_isi_big"], "budget_correlations": r["cv_budget_corr"],
            "siegert_cv": r["theory_cv"], "siegert_tol": r["cv_tolerance_white"],
            "siegert_pass": r["cv_passed_white"]} for r in rows}
        n_se = ctx.params["n_se"]
        f = ctx.params["size_factor"]
        return Check("cv-ai", vals, "self-consistent renewal-input CV (reduce.meanfield.renewal)",
                     f"{n_se:g} combined SE + iteration tail + input cross-correlations "
                     f"({f:g}/{f - 1:g})·|CV(N_E) − CV({f:g}N_E)|",
                     all(r["cv_passed"] for r in rows),
                     detail="mean ISI CV of E neurons (≥ 5 spikes, window t_end − t_burn) vs "
                            "the renewal theory with the same estimator; the white-noise "
                            "(Siegert) CV fails at every AI point (siegert_pass: the finding "
                            "of docs/cases/brunel.md)")

    def check_regions(self, ctx):
        """Classified regime (AI iff F_pop(size_factor·N)/F_pop(N) < √size_factor and persistence <
        ``persistence_ai``) vs the published labels of Brunel (2000) Fig. 8, at the points having
        one; passes if AI/non-AI agree everywhere. Skipped if no point has a label.
        """
        rows = [r for r in ctx.result("compare")["rows"] if r["published"]]
        if not rows:
            raise StepSkipped("no grid point has a published label")
        vals = {f"g={r['g']:g},eta={r['eta']:g}": {"classified": r["region"],
                                                    "published": r["published"],
                                                    "fano_growth": r["fano_growth"],
                                                    "peak_over_low": r["peak_over_low"],
                                                    "peak_hz": r["peak_hz"],
                                                    "modulation": r["modulation"],
                                                    "cv_isi": r["cv_isi"],
                                                    "theory_cv": r["theory_cv"]} for r in rows}
        ok = all((r["region"] == "AI") == (r["published"] == "AI") for r in rows)
        f = ctx.params["size_factor"]
        return Check("regions-published", vals, "Brunel (2000) Fig. 8 labels",
                     f"AI ⇔ F_pop({f:g}N)/F_pop(N) < √{f:g} and persistence < "
                     f"{ctx.params['persistence_ai']:g}", bool(ok),
                     detail="the simulated regime (finite-size scaling of the population "
                            "fluctuations) against the published labels")
