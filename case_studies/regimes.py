"""Case study ``regimes``: the homogeneous, regular and synchronized Li–Chariker–Young regimes.

The Markov IF network (models.md §1) at the Li–Chariker–Young parameters (presets
``lcy-homogeneous``, ``lcy-regular``, ``lcy-synchronized``: N = 300/100, p = 0.15, 0.5, 0.5,
0.4, S = 5, 2, 4.91, 4.91, τ_R = 2.5 ms, λ = 7/ms, τ_EI = τ_II = 4.5 ms; τ_EE = 4, 2, 1.3 ms
and τ_IE = 1.2, 1.2, 0.95 ms; **published** parameters), compared across four descriptions:

- the network, both the exact event-driven simulation of the original model with integer
  voltages and stochastic rounding (``MarkovIFNetwork(method="exact", voltages="integer")``)
  and the fixed-step scheme of the MA paper's code (``method="fixed-step"``, Δt = 0.1 ms);
- the analytic Markov approximation (``reduce.MarkovApproximation``, ODE form, models.md §2);
- the fitted reduction (``reduce.TransitionRateEstimator("ma", features="kicks")`` fitted on
  a fixed-step run of the same regime, and on an exact integer-voltage run; its free-running
  ODE integrated; models.md §3);
- the linear-noise approximation of the finite-N MA (``reduce.finite_size.MALinearNoise``)
  for the regimes whose MA equilibrium is stable.

Steps: ``network`` (both simulators, every regime, through ``ctx.map_tasks``), ``ma`` (MA ODE
integration, equilibrium by map transient + Newton, eigenvalues; rates, SSI and spectra of
every source are computed inside the tasks), ``fit`` and ``fit-exact`` (network run with coarse
states every Δt, fit, fitted ODE integration), ``hopf`` (equilibria of the MA continued in τ_EE
at τ_IE = 1.2 ms from the homogeneous regime, then the Hopf curve in (τ_EE, τ_IE) by
``bifurcation.continue_codim2``), ``lna`` (spectra at the stable equilibria), ``figures``.

Observables (:mod:`simulate.observables`): rates over [t_burn, t_end]; SSI, the mean over
spikes of the fraction of the population firing within ±0.5 ms (networks: from spikes; MA and
fitted ODE: from the binned flux, which gives ν × 1 ms for a constant flux); Welch PSD of the
E rate and its arg-max in ``peak_band`` (none when the rate is constant to 1e-3).

Which side of the Hopf curve a regime lies on is decided by counting the curve's crossings of
the segment τ_IE = τ_IE(regime), τ_EE ∈ (τ_EE(regime), τ_EE,max]: the equilibrium at τ_EE,max
is stable (checked on the one-parameter branch), each crossing flips stability, so the
prediction is "stable" iff the count is even. The second method is the eigenvalues of the
regime's own MA equilibrium.

Network rates carry batch-means standard errors and 95 % intervals (:func:`rate_intervals`).

Checks (claims with a sourced tolerance): the published SSI ordering, the fitted ODE within
5 % of the run it was fitted on (issue #8) with the network rate's statistical error budgeted
apart (:func:`fit_rate_bound`), the Hopf side vs the equilibrium's eigenvalues, the LNA peak.
Comparisons (no claim exists, numbers reported, not judged): the analytic MA's rates (ODE and
map) against both network schemes, and the fit on the exact network. References, numbers and
findings: docs/cases/regimes.md.
"""

from __future__ import annotations

import numpy as np

from .framework import (
    CaseStudy,
    Check,
    CheckSpec,
    Comparison,
    ComparisonSpec,
    Step,
    StepSkipped,
    register_case,
)

__all__ = ["RegimesCase", "crossings", "predicted_stable", "rate_intervals", "fit_rate_bound"]

#: The three Li–Chariker–Young regimes (presets of simulate/markov_if/params.py), in the order
#: of increasing synchrony published by Li, Chariker & Young (2019).
REGIMES = ("lcy-homogeneous", "lcy-regular", "lcy-synchronized")
SHORT = {r: r.split("-", 1)[1] for r in REGIMES}
SOURCES = ("exact", "fixed-step", "MA", "MA-map", "fitted", "fitted-exact")
#: batch lengths (ms) at which the network runs also record the batch-means SE of their rates,
#: to show how the SE depends on the batch length (docs/cases/regimes.md)
SE_BATCHES_MS = (10.0, 25.0, 50.0, 100.0, 200.0)
#: the number of fit-rate comparisons made by the three ``fit-rates-*`` checks (3 regimes ×
#: E, I): the family over which the false-failure probability is controlled
N_FIT_TESTS = 6


#: why the MA rates at the LCY regimes are a comparison and not a check
MA_NO_CLAIM = ("models.md §2 claims MA rate accuracy only at the defaults over p_EI in "
               "[0.5, 0.9] (checked in the gamma case); issue #4 asks for the LCY regimes to be "
               "reported 'honestly, whatever they show', with no target")
#: why the fit on the exact network is a comparison and not a check
FIT_EXACT_NO_CLAIM = (
    "the 5 % target of issue #8 is for the fixed-step Markov IF network at the defaults, "
    "where docs/estimation.md measured it; no target is stated for a snapshot (lag 0.1 ms) fit "
    "of the exact integer-voltage model, whose cascades the kick-mean features smooth away")


def crossings(curve_x, curve_y, y0):
    """x positions where the polyline (curve_x, curve_y) crosses the line y = y0."""
    x = np.asarray(curve_x, float)
    y = np.asarray(curve_y, float) - y0
    out = []
    for k in range(len(x) - 1):
        a, b = y[k], y[k + 1]
        if a == 0.0:
            out.append(float(x[k]))
        elif a * b < 0:
            out.append(float(x[k] + (x[k + 1] - x[k]) * a / (a - b)))
    if len(y) and y[-1] == 0.0:
        out.append(float(x[-1]))
    return out


def predicted_stable(curve_tee, curve_tie, tau_ee, tau_ie, tau_ee_max, stable_at_max=True):
    """Stability of the equilibrium at (tau_ee, tau_ie) predicted from a Hopf curve.

    Counts the crossings of the curve with τ_IE = tau_ie for τ_EE in (tau_ee, tau_ee_max]; every
    crossing flips stability relative to the reference point (tau_ee_max, tau_ie).
    Returns ``(stable, n_crossings)``.
    """
    xs = [x for x in crossings(curve_tee, curve_tie, tau_ie) if tau_ee < x <= tau_ee_max]
    return (stable_at_max if len(xs) % 2 == 0 else not stable_at_max), len(xs)


def rate_intervals(act, t_burn, batch_ms, level=0.95):
    """Mean rate of every population with its batch-means standard error and interval.

    The window [t_burn, t_end] is cut into J batches of ``batch_ms``; with x_j the mean rate of
    batch j (:func:`simulate.observables.rate_variance` gives their sample variance s²),

    .. math::  \\mathrm{SE} = s / \\sqrt{J}, \\qquad
               \\bar r \\pm t_{J-1}\\big(\\tfrac{1+\\mathrm{level}}{2}\\big)\\,\\mathrm{SE},

    valid when batches are longer than the correlation time of the population rate (then the
    batch means are nearly independent). The case records the SE at several batch lengths: in
    the rhythmic LCY regimes it *falls* with the batch length (neighbouring batches are
    anticorrelated), so 50-ms intervals are, if anything, too wide (docs/cases/regimes.md).
    ``rate_hz`` is the mean over the whole window.

    Returns
    -------
    dict
        ``{pop: {"rate_hz", "se_hz", "n_batches", "ci_hz": [lo, hi], "level"}}``.
    """
    from scipy.stats import t as student_t

    from simulate import observables as obs
    from simulate.activity import as_activity

    act = as_activity(act)
    rates = obs.firing_rates(act, t_burn=t_burn)
    n_b = int(np.floor((act.t[-1] + act.dt - t_burn) / batch_ms + 1e-9))
    out = {}
    for q, r in rates.items():
        se = float(np.sqrt(obs.rate_variance(act, q, bin_ms=batch_ms, t_burn=t_burn) / n_b))
        half = float(student_t.ppf(0.5 + level / 2, n_b - 1)) * se
        out[q] = {"rate_hz": float(r), "se_hz": se, "n_batches": n_b,
                  "ci_hz": [float(r) - half, float(r) + half], "level": level}
    return out


def fit_rate_bound(tolerance, se_rel, n_batches, alpha=0.05, n_tests=N_FIT_TESTS):
    """Bound on the measured relative rate error of a fitted ODE that is consistent with the
    claim |true error| ≤ ``tolerance`` at false-failure probability ``alpha`` over the family.

    The measured error e = r_fit / r̂_net − 1 uses the network's estimated mean rate r̂_net,
    whose relative standard error (batch means) is ``se_rel``; to first order
    e = e_true − (r̂_net − r_net) / r_net, so e − e_true is ≈ normal with standard deviation
    se_rel, estimated from J = ``n_batches`` batches (Student t, J − 1 degrees of freedom).
    If |e_true| ≤ tolerance, P(|e| > tolerance + c · se_rel) ≤ P(t_{J−1} > c); with c the
    (1 − alpha/n_tests) quantile, the probability that any of the ``n_tests`` comparisons of
    the case fails although the claim holds is ≤ alpha (Bonferroni):

    .. math::  |e| \\le \\mathrm{tol} + t_{J-1}(1 - \\alpha/n)\\,\\mathrm{SE}_{rel} .

    The fitted model's own sampling error is part of what the claim is about (a model fitted
    on this run), so it is not budgeted. Returns ``(bound, c)``.
    """
    from scipy.stats import t as student_t

    c = float(student_t.ppf(1.0 - alpha / n_tests, n_batches - 1))
    return float(tolerance) + c * float(se_rel), c


def _spectrum_summary(act, p, t_burn):
    from simulate import observables as obs

    sp = obs.power_spectrum(act, "E", segment_ms=p["segment_ms"], t_burn=t_burn)
    band = tuple(p["peak_band"])
    g = obs.gamma_peak(sp, band=band)
    return sp.freqs_hz, sp.psd, float(g.frequency_hz)


def _describe(act, p, t_burn, method="auto"):
    from simulate import observables as obs
    from simulate.activity import as_activity

    act = as_activity(act)

    f, s, peak = _spectrum_summary(act, p, t_burn)
    r = act.window(t_burn).rate_hz("E")
    if np.std(r) <= 1e-3 * max(np.mean(r), 1e-12):
        peak = float("nan")   # a deterministic reduction at (or next to) rest: no peak
    return {"rates_hz": obs.firing_rates(act, t_burn=t_burn),
            "ssi_E": float(obs.spike_synchrony_index(act, "E", t_burn=t_burn, method=method)),
            "peak_hz": peak, "freqs_hz": f, "psd": s}


def _network_summary(act, p):
    """Observables of a network run plus its rate intervals (batch means of ``batch_ms``) and
    the batch-means SE at every length of ``SE_BATCHES_MS`` that leaves ≥ 4 batches."""
    d = _describe(act, p, p["t_burn"])
    d["rate_ci"] = rate_intervals(act, p["t_burn"], p["batch_ms"])
    span = p["t_end"] - p["t_burn"]
    d["rate_se_by_batch_ms"] = {b: {q: v["se_hz"] for q, v in
                                    rate_intervals(act, p["t_burn"], b).items()}
                                for b in SE_BATCHES_MS if span / b >= 4}
    return d


def _network_task(task):
    """One network run (module level for worker processes)."""
    import simulate

    p, regime, method, seed = task
    kw = {"voltages": "integer"} if method == "exact" else {"dt": p["dt"]}
    net = simulate.MarkovIFNetwork(preset=regime, method=method, **kw)
    traj = net.run(t_end=p["t_end"], seed=seed, progress=False)
    act = traj.activity()
    d = _network_summary(act, p)
    d.update(regime=regime, method=method, seed=int(seed),
             wall_s=float(traj.meta.get("wall_s", np.nan)))
    # 200 ms of the 1-ms E rate after the burn-in, for the time-series figure
    from simulate import observables as obs

    t, y = obs.smoothed_population_rate(act, "E", 1.0, t_burn=p["t_burn"])
    sel = t < p["t_burn"] + 200.0
    d["trace"] = (t[sel], 1000.0 * y[sel] / act.sizes["E"])
    return d


def _ma_task(task):
    """MA ODE integration and equilibrium of one regime (module level for workers)."""
    import reduce
    import simulate
    from reduce.finite_size import find_equilibrium
    from simulate.activity import as_activity

    p, regime = task
    ma = reduce.MarkovApproximation(simulate.MarkovIFNetwork(preset=regime))
    sim = ma.simulate(t_end=p["ma_t_end"], form="ode")
    act = as_activity(sim)
    tb = min(p["t_burn"], p["ma_t_end"] / 2)
    d = _describe(act, p, tb, method="binned")
    d["attractor"] = sim.attractor()
    # the published discrete-time map (step h), over the same span
    msim = ma.simulate(t_end=p["ma_t_end"], form="map")
    d["map"] = _describe(as_activity(msim), p, tb, method="binned")
    d["map"]["attractor"] = msim.attractor()
    eq = find_equilibrium(ma)
    d["equilibrium"] = {"x": eq["x"], "converged": eq["converged"],
                        "residual": float(eq["residual"]), "stable": bool(eq["stable"]),
                        "leading": complex(eq["eigenvalues"][0]),
                        "rates_hz": {k: float(v) for k, v in eq["rates_hz"].items()}}
    from simulate import observables as obs

    t, y = obs.smoothed_population_rate(act, "E", 1.0, t_burn=tb)
    sel = t < tb + 200.0
    d["trace"] = (t[sel], 1000.0 * y[sel] / act.sizes["E"])
    d["regime"] = regime
    return d


def _fit_task(task):
    """Fit the transition-rate reduction on a network run (``method`` "fixed-step", or
    "exact" with integer voltages, snapshots every ``dt``) and integrate its ODE."""
    import simulate
    from reduce import TransitionRateEstimator
    from reduce.estimation.validation import integrate_ode

    p, regime, seed, method = task
    kw = {"voltages": "integer"} if method == "exact" else {"dt": p["dt"]}
    net = simulate.MarkovIFNetwork(preset=regime, method=method, **kw)
    traj = net.run(t_end=p["fit_t_end"], seed=seed, coarse=True, record_dt=p["dt"],
                   progress=False)
    traj.t_burn = p["t_burn"]
    net_rates = dict(traj.rates_hz)
    net_ci = rate_intervals(traj.activity(), p["t_burn"], p["batch_ms"])
    model = TransitionRateEstimator("ma", features="kicks",
                                    t_burn=p["t_burn"]).fit([traj]).fetch_model()
    del traj
    run = integrate_ode(model.ode(), model.x0(), p["fit_ode_t_end"], dt_out=0.1,
                        t_burn=min(p["t_burn"], p["fit_ode_t_end"] / 2))
    tb = min(p["t_burn"], p["fit_ode_t_end"] / 2)
    d = _describe(run, p, tb, method="binned")
    d.update(regime=regime, seed=int(seed), method=method, fit_network_rates_hz=net_rates,
             fit_network_rate_ci=net_ci, n_states=int(model.ode().n_states))
    return d


def _fits(ctx, method, seed_offset, desc):
    """The fit tasks of one network method, one per regime (seeds from seed + offset)."""
    ctx.require("reduce", "TransitionRateEstimator")
    from simulate.executor import spawn_seeds

    p = ctx.params
    seeds = spawn_seeds(p["seed"] + seed_offset, len(REGIMES))
    base = {k: p[k] for k in ("fit_t_end", "fit_ode_t_end", "t_burn", "dt", "segment_ms",
                              "peak_band", "batch_ms")}
    out = ctx.map_tasks(_fit_task, [(base, r, s, method) for r, s in zip(REGIMES, seeds)],
                        desc=desc)
    return {d["regime"]: d for d in out}


@register_case
class RegimesCase(CaseStudy):
    name = "regimes"
    title = ("Li–Chariker–Young regimes: exact and fixed-step network vs analytic MA vs fitted "
             "reduction; Hopf curve in (tau_ee, tau_ie); linear-noise spectra")
    params = {
        # networks (presets lcy-*; models.md §1)
        "t_end": 5000.0,          # ms per network run
        "t_burn": 200.0,          # ms discarded before every average
        "seed": 0,
        "dt": 0.1,                # ms, step of the fixed-step scheme
        "batch_ms": 50.0,         # batch means: SE and 95 % intervals of network rates
        # analytic MA (ODE form)
        "ma_t_end": 2000.0,
        # fitted reduction
        "fit_t_end": 3000.0,      # ms of the fixed-step run the rates are fitted on
        "fit_ode_t_end": 1000.0,  # ms of free-running fitted ODE
        # Hopf curve
        "cont_tau_ee_bounds": (0.5, 6.0),
        "cont_tau_ie_bounds": (0.5, 2.0),
        "cont_max_points": 300,
        # spectra
        "segment_ms": 100.0,      # Welch segments (10-Hz resolution; broad LCY peaks)
        "peak_band": (20.0, 200.0),
        # check tolerances (sources in docs/cases/regimes.md)
        "fit_rate_tolerance": 0.05,   # issue #8 claim; the statistical margin is added apart
        "fit_check_alpha": 0.05,      # false-failure probability over the 6 fit-rate tests
        "lna_peak_tolerance_hz": 30.0,
    }
    quick = {"t_end": 1000.0, "ma_t_end": 600.0, "fit_t_end": 1000.0, "fit_ode_t_end": 500.0,
             "cont_max_points": 120}
    quick_skips = {
        "lna-peaks": "800 ms of network activity give 8 Welch segments of 100 ms; the arg-max "
                     "of the broad network peak is not resolved",
    }
    steps = (
        Step("network", "step_network", uses=("t_end", "t_burn", "seed", "dt", "segment_ms",
                                              "peak_band", "batch_ms"),
             description="exact (integer voltages) and fixed-step network, every regime"),
        Step("ma", "step_ma", uses=("ma_t_end", "t_burn", "segment_ms", "peak_band"),
             description="MA ODE integration and map iteration, equilibrium, eigenvalues"),
        Step("fit", "step_fit", uses=("fit_t_end", "fit_ode_t_end", "t_burn", "seed", "dt",
                                      "segment_ms", "peak_band", "batch_ms"),
             description="fitted transition-rate reduction: fit and free-running ODE"),
        Step("fit-exact", "step_fit_exact", uses=("fit_t_end", "fit_ode_t_end", "t_burn",
                                                  "seed", "dt", "segment_ms", "peak_band",
                                                  "batch_ms"),
             description="the same reduction fitted on the exact integer-voltage network"),
        Step("hopf", "step_hopf", uses=("cont_tau_ee_bounds", "cont_tau_ie_bounds",
                                        "cont_max_points"), after=("ma",),
             description="equilibria in tau_ee; Hopf curve in (tau_ee, tau_ie)"),
        Step("lna", "step_lna", uses=("peak_band",), after=("ma",),
             description="linear-noise spectra at stable MA equilibria"),
        Step("figures", "step_figures", after=("network",), cache=False,
             description="rates, SSI, spectra, time series, Hopf curve"),
    )
    checks = (
        CheckSpec("ssi-ordering-exact", "check_ssi_exact", needs=("network",)),
        CheckSpec("ssi-ordering-fixed-step", "check_ssi_fixed", needs=("network",)),
        *(CheckSpec(f"fit-rates-{SHORT[r]}", f"check_fit_rates_{SHORT[r]}", needs=("fit",))
          for r in REGIMES),
        *(CheckSpec(f"hopf-side-{SHORT[r]}", f"check_hopf_side_{SHORT[r]}",
                    needs=("ma", "hopf")) for r in REGIMES),
        CheckSpec("lna-peaks", "check_lna", needs=("network", "lna")),
    )
    comparisons = (
        *(ComparisonSpec(f"ma-rates-{SHORT[r]}", f"compare_ma_rates_{SHORT[r]}",
                         needs=("network", "ma"), no_claim=MA_NO_CLAIM) for r in REGIMES),
        ComparisonSpec("fit-exact-rates", "compare_fit_exact_rates", needs=("fit-exact",),
                       no_claim=FIT_EXACT_NO_CLAIM),
    )

    # ------------------------------------------------------------------ steps
    def step_network(self, ctx):
        """Markov IF network runs of the three regimes, each with the exact (integer voltages) and
        the fixed-step scheme (one seed each): rates with batch-means intervals, SSI, spectrum, peak
        and a 200-ms E-rate trace, keyed by (regime, method).
        """
        ctx.require("simulate", "MarkovIFNetwork")
        from simulate.executor import spawn_seeds

        p = ctx.params
        tasks = [(r, m) for r in REGIMES for m in ("exact", "fixed-step")]
        seeds = spawn_seeds(p["seed"], len(tasks))
        base = {k: p[k] for k in ("t_end", "t_burn", "dt", "segment_ms", "peak_band",
                                  "batch_ms")}
        out = ctx.map_tasks(_network_task,
                            [(base, r, m, s) for (r, m), s in zip(tasks, seeds)],
                            desc="network runs")
        return {(d["regime"], d["method"]): d for d in out}

    def step_ma(self, ctx):
        """Analytic MA of every regime: ODE and discrete-time map integrations (observables and
        attractor), the E-rate trace and the MA equilibrium (:func:`find_equilibrium`: state,
        convergence, stability, leading eigenvalue, rates), keyed by regime.
        """
        ctx.require("reduce", "MarkovApproximation")
        ctx.require("reduce.finite_size", "find_equilibrium")
        p = ctx.params
        base = {k: p[k] for k in ("ma_t_end", "t_burn", "segment_ms", "peak_band")}
        out = ctx.map_tasks(_ma_task, [(base, r) for r in REGIMES], desc="MA integrations")
        return {d["regime"]: d for d in out}

    def step_fit(self, ctx):
        """Transition-rate reduction fitted on a fixed-step network run of each regime (seeds from
        seed + 1000), its ODE integrated: observables of the ODE next to the network's rates and
        intervals, keyed by regime.
        """
        return _fits(ctx, "fixed-step", 1000, "fits")

    def step_fit_exact(self, ctx):
        """As :meth:`step_fit`, fitted on exact (integer-voltage) network runs (seeds from seed +
        2000).
        """
        return _fits(ctx, "exact", 2000, "fits (exact network)")

    def step_hopf(self, ctx):
        """Continuation of the MA equilibria in tau_ee from the homogeneous regime's equilibrium
        (branch, its Hopf points with frequency, stability at the largest tau_ee), then the Hopf
        curve in (tau_ee, tau_ie) continued from the Hopf point at the largest tau_ee (``curve``
        None if the branch has no Hopf point).
        """
        cont = ctx.require("bifurcation", "continue_equilibria")
        codim2 = ctx.require("bifurcation", "continue_codim2")
        import reduce
        import simulate

        p = ctx.params
        ma_res = ctx.result("ma")
        start = REGIMES[0]
        if not ma_res[start]["equilibrium"]["converged"]:
            raise RuntimeError(f"no equilibrium of the MA at {start} to start from")
        ode = reduce.MarkovApproximation(simulate.MarkovIFNetwork(preset=start)).ode()
        lo, hi = p["cont_tau_ee_bounds"]
        br = cont(ode, ma_res[start]["equilibrium"]["x"], param="tau_ee", bounds=(lo, hi),
                  max_points=p["cont_max_points"])
        te = np.asarray(br.params["tau_ee"], float)
        if te.size == 0:
            raise RuntimeError(f"continuation in tau_ee did not start ({br.status}): "
                               f"{br.message}")
        hbs = [sp for sp in br.special_points if sp.kind == "HB"]
        res = {"branch": {"tau_ee": te, "stable": np.asarray(br.stable, bool),
                          "rate_E": np.asarray(br.outputs.get("rate_E", np.full(te.size,
                                                                                np.nan))),
                          "status": str(br.status), "message": str(br.message)},
               "hb": [{"tau_ee": float(sp.params["tau_ee"]),
                       "tau_ie": float(sp.params["tau_ie"]),
                       "freq_hz": 1000.0 * float(sp.data.get("omega", np.nan)) / (2 * np.pi)}
                      for sp in hbs],
               "tau_ie_start": float(ode.params["tau_ie"]),
               "tau_ee_max": float(te.max())}
        i_max = int(np.argmax(te))
        res["stable_at_max"] = bool(br.stable[i_max])
        if not hbs:
            res["curve"] = None
            res["curve_message"] = "no Hopf point on the tau_ee branch"
            return res
        hb = max(hbs, key=lambda sp: sp.params["tau_ee"])   # first loss of stability
        bounds = {"tau_ee": tuple(p["cont_tau_ee_bounds"]),
                  "tau_ie": tuple(p["cont_tau_ie_bounds"])}
        curve = codim2(hb, params=("tau_ee", "tau_ie"), bounds=bounds,
                       max_points=p["cont_max_points"])
        res["curve"] = {"tau_ee": np.asarray(curve.params["tau_ee"], float),
                        "tau_ie": np.asarray(curve.params["tau_ie"], float),
                        "status": str(curve.status), "message": str(curve.message),
                        "special": [{"kind": sp.kind, "tau_ee": float(sp.params["tau_ee"]),
                                     "tau_ie": float(sp.params["tau_ie"])}
                                    for sp in curve.special_points]}
        return res

    def step_lna(self, ctx):
        """Linear-noise approximation (:class:`MALinearNoise`) at the MA equilibrium of every regime
        where it converged and is stable: E-rate spectrum on 1–250 Hz, its peak in ``peak_band`` and
        the 1-ms binned rate variance; otherwise ``applicable`` False with the reason.
        """
        Lna = ctx.require("reduce.finite_size", "MALinearNoise")
        import reduce
        import simulate

        p = ctx.params
        out = {}
        f = np.arange(1.0, 250.0, 0.5)
        for r, d in ctx.result("ma").items():
            eq = d["equilibrium"]
            if not (eq["converged"] and eq["stable"]):
                out[r] = {"applicable": False,
                          "reason": "MA equilibrium unstable" if eq["converged"]
                          else "no MA equilibrium"}
                continue
            ma = reduce.MarkovApproximation(simulate.MarkovIFNetwork(preset=r))
            lna = Lna(ma, eq["x"])
            pk = lna.peak(tuple(p["peak_band"]))
            out[r] = {"applicable": True, "freqs_hz": f, "psd": lna.spectrum(f, "E"),
                      "peak_hz": pk["frequency_hz"], "peak_psd": pk["psd"],
                      "var_1ms_hz2": lna.binned_rate_variance("E", 1.0)}
        return out

    def step_figures(self, ctx):
        """Figures (rates and SSI per regime and source, spectra with the LNA, time series, Hopf
        curve with the regimes), the ``observables`` table and the summary; returns the figure
        names.
        """
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        net = ctx.result("network")
        ma = ctx.result("ma") if ctx.has("ma") else {}
        fit = {src: ctx.result(step) if ctx.has(step) else {}
               for src, step in (("fitted", "fit"), ("fitted-exact", "fit-exact"))}
        lna = ctx.result("lna") if ctx.has("lna") else {}
        table = _observable_table(net, ma, fit)
        ctx.table("observables", table)
        ctx.summary["observables"] = [dict(zip(table, row)) for row in zip(*table.values())]
        made = []

        # 1. rates and SSI per regime and source
        fig, axes = plt.subplots(1, 3, figsize=(11, 3.5))
        x = np.arange(len(REGIMES))
        w = 0.8 / len(SOURCES)
        data = {"regime": [SHORT[r] for r in REGIMES]}
        for j, src in enumerate(SOURCES):
            rows = [_source(net, ma, fit, r, src) for r in REGIMES]
            for ax, key, lab in ((axes[0], "E", "E rate (Hz)"), (axes[1], "I", "I rate (Hz)"),
                                 (axes[2], "ssi", "SSI (E)")):
                ys = [np.nan if d is None else (d["ssi_E"] if key == "ssi"
                                                else d["rates_hz"][key]) for d in rows]
                # network rates with their 95 % batch-means intervals
                cis = [d.get("rate_ci", {}).get(key) if d is not None and key != "ssi"
                       else None for d in rows]
                err = None
                if all(c is not None for c in cis):
                    err = np.array([[y - c["ci_hz"][0], c["ci_hz"][1] - y]
                                    for y, c in zip(ys, cis)]).T
                    data[f"{key}_{src}_ci_lo"] = [c["ci_hz"][0] for c in cis]
                    data[f"{key}_{src}_ci_hi"] = [c["ci_hz"][1] for c in cis]
                ax.bar(x + (j - (len(SOURCES) - 1) / 2) * w, ys, w, yerr=err, capsize=2,
                       label=src, color=f"C{j}")
                ax.set_ylabel(lab)
                data[f"{key}_{src}"] = ys
        for ax in axes:
            ax.set_xticks(x, [SHORT[r] for r in REGIMES])
        axes[0].legend(fontsize=7)
        fig.tight_layout()
        ctx.figure("rates_ssi", fig, data)
        made.append("rates_ssi")

        # 2. spectra per regime
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
        data = {}
        for ax, r in zip(axes, REGIMES):
            for j, src in enumerate(SOURCES):
                d = _source(net, ma, fit, r, src)
                if d is None:
                    continue
                ax.semilogy(d["freqs_hz"], np.maximum(d["psd"], 1e-8), lw=0.9,
                            color=f"C{j}", label=src)
                data[f"f_hz_{SHORT[r]}_{src}"] = d["freqs_hz"]
                data[f"psd_{SHORT[r]}_{src}"] = d["psd"]
            li = lna.get(r)
            if li and li.get("applicable"):
                ax.semilogy(li["freqs_hz"], li["psd"], "k--", lw=1.0, label="LNA")
                data[f"f_hz_{SHORT[r]}_LNA"] = li["freqs_hz"]
                data[f"psd_{SHORT[r]}_LNA"] = li["psd"]
            ax.set_xlim(0, 250)
            ax.set_ylim(1e-3, None)
            ax.set_title(SHORT[r])
            ax.set_xlabel("frequency (Hz)")
        axes[0].set_ylabel("PSD of E rate (Hz²/Hz)")
        axes[0].legend(fontsize=7)
        fig.tight_layout()
        ctx.figure("spectra", fig, data)
        made.append("spectra")

        # 3. time series
        fig, axes = plt.subplots(3, 1, figsize=(8, 7), sharex=False)
        data = {}
        for ax, r in zip(axes, REGIMES):
            for j, src in enumerate(SOURCES[:3]):
                d = _source(net, ma, fit, r, src)
                if d is None or "trace" not in d:
                    continue
                t, y = d["trace"]
                ax.plot(t - t[0], y, lw=0.7, color=f"C{j}", label=src)
                data[f"t_ms_{SHORT[r]}_{src}"], data[f"rate_E_{SHORT[r]}_{src}"] = t - t[0], y
            ax.set_ylabel(f"{SHORT[r]}\nE rate (Hz)")
        axes[0].legend(fontsize=7, ncol=3)
        axes[-1].set_xlabel("time after burn-in (ms); 1-ms box")
        fig.tight_layout()
        ctx.figure("timeseries", fig, data)
        made.append("timeseries")

        # 4. Hopf curve with the regimes as points
        if ctx.has("hopf"):
            h = ctx.result("hopf")
            fig, ax = plt.subplots(figsize=(5, 4))
            data = {}
            if h.get("curve") is not None:
                ax.plot(h["curve"]["tau_ee"], h["curve"]["tau_ie"], "k-", label="Hopf curve (MA)")
                data["curve_tau_ee"], data["curve_tau_ie"] = (h["curve"]["tau_ee"],
                                                              h["curve"]["tau_ie"])
            for j, r in enumerate(REGIMES):
                pr = _preset(r)
                st = ma.get(r, {}).get("equilibrium", {}).get("stable")
                ax.plot(pr["tau_ee"], pr["tau_ie"], "o" if st else "x", color=f"C{j}", ms=8,
                        label=f"{SHORT[r]} ({'stable' if st else 'unstable'} MA equilibrium)")
            data["regime"] = [SHORT[r] for r in REGIMES]
            data["regime_tau_ee"] = [_preset(r)["tau_ee"] for r in REGIMES]
            data["regime_tau_ie"] = [_preset(r)["tau_ie"] for r in REGIMES]
            data["regime_stable"] = [int(bool(ma.get(r, {}).get("equilibrium", {})
                                              .get("stable"))) for r in REGIMES]
            ax.set_xlabel("tau_ee (ms)")
            ax.set_ylabel("tau_ie (ms)")
            ax.legend(fontsize=7)
            ctx.figure("hopf_curve", fig, data)
            made.append("hopf_curve")
            ctx.summary["hopf"] = {"hb_on_tau_ee_branch": h["hb"],
                                   "branch_status": h["branch"]["status"],
                                   "curve_status": (h["curve"] or {}).get("status"),
                                   "curve_message": (h["curve"] or {}).get("message",
                                                                         h.get("curve_message")),
                                   "curve_special": (h["curve"] or {}).get("special")}
        if lna:
            ctx.summary["lna"] = {SHORT[r]: {k: v for k, v in d.items()
                                             if k in ("applicable", "reason", "peak_hz",
                                                      "peak_psd", "var_1ms_hz2")}
                                  for r, d in lna.items()}
        if ma:
            ctx.summary["ma_equilibria"] = {
                SHORT[r]: {"stable": d["equilibrium"]["stable"],
                           "leading_eigenvalue": [d["equilibrium"]["leading"].real,
                                                  d["equilibrium"]["leading"].imag],
                           "rates_hz": d["equilibrium"]["rates_hz"],
                           "attractor": d["attractor"]} for r, d in ma.items()}
        return made

    # ------------------------------------------------------------------ checks
    def _ssi_order(self, ctx, method):
        net = ctx.result("network")
        v = [net[(r, method)]["ssi_E"] for r in REGIMES]
        ok = bool(v[0] < v[1] < v[2])
        return Check(f"ssi-ordering-{method}", dict(zip([SHORT[r] for r in REGIMES], v)),
                     "homogeneous < regular < synchronized", "strict order", ok,
                     detail=f"SSI of the E population ({method} network); ordering published "
                     "qualitatively by Li, Chariker & Young (2019)")

    def check_ssi_exact(self, ctx):
        """SSI of the E population of the exact network must be strictly ordered homogeneous <
        regular < synchronized (qualitative ordering of Li, Chariker & Young 2019).
        """
        return self._ssi_order(ctx, "exact")

    def check_ssi_fixed(self, ctx):
        """SSI of the E population of the fixed-step network must be strictly ordered homogeneous <
        regular < synchronized (qualitative ordering of Li, Chariker & Young 2019).
        """
        return self._ssi_order(ctx, "fixed-step")

    # one method per regime (the framework calls ``method(ctx)``)
    def compare_ma_rates_homogeneous(self, ctx):
        """MA (ODE and map) E and I rates vs both network schemes in the homogeneous regime:
        relative errors, references with the networks' 95 % intervals (measured, no tolerance).
        """
        return _ma_rates_comparison(ctx, REGIMES[0])

    def compare_ma_rates_regular(self, ctx):
        """MA (ODE and map) E and I rates vs both network schemes in the regular regime: relative
        errors, references with the networks' 95 % intervals (measured, no tolerance).
        """
        return _ma_rates_comparison(ctx, REGIMES[1])

    def compare_ma_rates_synchronized(self, ctx):
        """MA (ODE and map) E and I rates vs both network schemes in the synchronized regime:
        relative errors, references with the networks' 95 % intervals (measured, no tolerance).
        """
        return _ma_rates_comparison(ctx, REGIMES[2])

    def check_fit_rates_homogeneous(self, ctx):
        """Fitted ODE E and I rates vs the fixed-step run they were fitted on (homogeneous regime);
        bound per population ``fit_rate_tolerance`` (issue #8) + c·SE_rel of the network rate
        (:func:`fit_rate_bound`, ``fit_check_alpha``).
        """
        return _fit_rates_check(ctx, REGIMES[0])

    def check_fit_rates_regular(self, ctx):
        """Fitted ODE E and I rates vs the fixed-step run they were fitted on (regular regime);
        bound per population ``fit_rate_tolerance`` (issue #8) + c·SE_rel of the network rate
        (:func:`fit_rate_bound`, ``fit_check_alpha``).
        """
        return _fit_rates_check(ctx, REGIMES[1])

    def check_fit_rates_synchronized(self, ctx):
        """Fitted ODE E and I rates vs the fixed-step run they were fitted on (synchronized regime);
        bound per population ``fit_rate_tolerance`` (issue #8) + c·SE_rel of the network rate
        (:func:`fit_rate_bound`, ``fit_check_alpha``).
        """
        return _fit_rates_check(ctx, REGIMES[2])

    def compare_fit_exact_rates(self, ctx):
        """ODE fitted on the exact network vs the run it was fitted on, every regime: relative
        errors of the E and I rates, references with the run's 95 % intervals (measured, no
        tolerance).
        """
        return _fit_exact_rates_comparison(ctx)

    def check_hopf_side_homogeneous(self, ctx):
        """Stability predicted by the side of the Hopf curve the homogeneous preset lies on vs the
        eigenvalues of its MA equilibrium (exact). Skipped without a Hopf curve reaching its tau_ie
        or without an equilibrium.
        """
        return _hopf_side_check(ctx, REGIMES[0])

    def check_hopf_side_regular(self, ctx):
        """Stability predicted by the side of the Hopf curve the regular preset lies on vs the
        eigenvalues of its MA equilibrium (exact). Skipped without a Hopf curve reaching its tau_ie
        or without an equilibrium.
        """
        return _hopf_side_check(ctx, REGIMES[1])

    def check_hopf_side_synchronized(self, ctx):
        """Stability predicted by the side of the Hopf curve the synchronized preset lies on vs the
        eigenvalues of its MA equilibrium (exact). Skipped without a Hopf curve reaching its tau_ie
        or without an equilibrium.
        """
        return _hopf_side_check(ctx, REGIMES[2])

    def check_lna(self, ctx):
        """LNA spectral peak vs the fixed-step network's peak at every regime with a stable MA
        equilibrium; the value is the largest absolute difference, tolerance
        ``lna_peak_tolerance_hz``. Skipped if no regime has one.
        """
        net = ctx.result("network")
        lna = ctx.result("lna")
        tol = ctx.params["lna_peak_tolerance_hz"]
        done = {r: d for r, d in lna.items() if d.get("applicable")}
        if not done:
            raise StepSkipped("no regime has a stable MA equilibrium")
        diffs = {SHORT[r]: d["peak_hz"] - net[(r, "fixed-step")]["peak_hz"]
                 for r, d in done.items()}
        worst = max(abs(v) for v in diffs.values())
        return Check("lna-peaks", worst, 0.0, tol, bool(worst <= tol),
                     detail="LNA spectral peak − fixed-step network peak (Hz): " + ", ".join(
                         f"{k}: {done[_full(k)]['peak_hz']:.1f} vs "
                         f"{net[(_full(k), 'fixed-step')]['peak_hz']:.1f}"
                         for k in diffs))


def _full(short):
    return next(r for r in REGIMES if SHORT[r] == short)


def _preset(regime):
    from simulate.markov_if.params import PRESETS

    return PRESETS[regime]


def _source(net, ma, fits, regime, src):
    """Observables of one source; ``fits`` maps "fitted"/"fitted-exact" to fit results."""
    if src in ("exact", "fixed-step"):
        return net.get((regime, src))
    if src == "MA-map":
        return ma.get(regime, {}).get("map")
    return (ma if src == "MA" else fits.get(src, {})).get(regime)


def _observable_table(net, ma, fit):
    rows = {"regime": [], "source": [], "rate_E_hz": [], "rate_I_hz": [], "ssi_E": [],
            "peak_hz": []}
    for r in REGIMES:
        for src in SOURCES:
            d = _source(net, ma, fit, r, src)
            if d is None:
                continue
            rows["regime"].append(SHORT[r])
            rows["source"].append(src)
            rows["rate_E_hz"].append(d["rates_hz"]["E"])
            rows["rate_I_hz"].append(d["rates_hz"]["I"])
            rows["ssi_E"].append(d["ssi_E"])
            rows["peak_hz"].append(d["peak_hz"])
    return rows


def _rel_errors(rates, ci):
    """Relative errors of ``rates`` against network rates ``ci`` (from
    :func:`rate_intervals`), each with the interval that the network's 95 % interval gives:
    e = r / r_net − 1 in [r / hi − 1, r / lo − 1]."""
    out = {}
    for q in ("E", "I"):
        lo, hi = ci[q]["ci_hz"]
        out[q] = {"error": rates[q] / ci[q]["rate_hz"] - 1.0,
                  "ci": [rates[q] / hi - 1.0, rates[q] / lo - 1.0 if lo > 0 else float("inf")]}
    return out


def _pct(e):
    return f"{100 * e['error']:+.1f} % [{100 * e['ci'][0]:+.1f}, {100 * e['ci'][1]:+.1f}]"


def _ma_rates_comparison(ctx, regime):
    """MA (ODE and map) rates against both network schemes, with the networks' intervals."""
    nets = {m: ctx.result("network")[(regime, m)]["rate_ci"] for m in ("fixed-step", "exact")}
    ma = ctx.result("ma")[regime]
    forms = {"ode": ma["rates_hz"], "map": ma["map"]["rates_hz"]}
    errors = {f"{f}_vs_{m}": _rel_errors(r, nets[m]) for f, r in forms.items() for m in nets}
    ref = {m: {q: {"rate_hz": c[q]["rate_hz"], "ci95_hz": c[q]["ci_hz"]} for q in ("E", "I")}
           for m, c in nets.items()}
    detail = "; ".join(
        f"MA {f} E {forms[f]['E']:.1f} / I {forms[f]['I']:.1f} Hz: vs fixed-step E "
        f"{_pct(errors[f + '_vs_fixed-step']['E'])}, I {_pct(errors[f + '_vs_fixed-step']['I'])}"
        f"; vs exact E {_pct(errors[f + '_vs_exact']['E'])}, I "
        f"{_pct(errors[f + '_vs_exact']['I'])}" for f in forms)
    return Comparison(f"ma-rates-{SHORT[regime]}",
                      {"rates_hz": forms, "relative_error": errors}, ref,
                      detail=detail + " (relative errors, [interval from the network's 95 % "
                      "interval])")


def _fit_exact_rates_comparison(ctx):
    """The ODE fitted on the exact integer-voltage network against the run it was fitted on."""
    res = ctx.result("fit-exact")
    errors = {SHORT[r]: _rel_errors(res[r]["rates_hz"], res[r]["fit_network_rate_ci"])
              for r in REGIMES}
    ref = {SHORT[r]: {q: {"rate_hz": c[q]["rate_hz"], "ci95_hz": c[q]["ci_hz"]}
                      for q in ("E", "I")}
           for r, c in ((r, res[r]["fit_network_rate_ci"]) for r in REGIMES)}
    return Comparison("fit-exact-rates",
                      {"rates_hz": {SHORT[r]: res[r]["rates_hz"] for r in REGIMES},
                       "relative_error": errors}, ref,
                      detail="ODE fitted on the exact network vs that run: " + "; ".join(
                          f"{k}: E {_pct(e['E'])}, I {_pct(e['I'])}"
                          for k, e in errors.items()))


def _fit_rates_check(ctx, regime):
    """Issue-#8 claim: fitted ODE within 5 % of the network run it was fitted on, with the
    statistical error of the network's mean rate budgeted apart (:func:`fit_rate_bound`)."""
    d = ctx.result("fit")[regime]
    ci = d["fit_network_rate_ci"]
    p = ctx.params
    errs, bounds, se_rel = {}, {}, {}
    for q in ("E", "I"):
        errs[q] = d["rates_hz"][q] / ci[q]["rate_hz"] - 1.0
        se_rel[q] = ci[q]["se_hz"] / ci[q]["rate_hz"]
        bounds[q], c = fit_rate_bound(p["fit_rate_tolerance"], se_rel[q], ci[q]["n_batches"],
                                      p["fit_check_alpha"])
    ok = all(abs(errs[q]) <= bounds[q] for q in errs)
    return Check(f"fit-rates-{SHORT[regime]}", errs, 0.0, bounds, bool(ok),
                 detail=f"fitted ODE vs the fixed-step run it was fitted on: E "
                 f"{d['rates_hz']['E']:.2f} vs {ci['E']['rate_hz']:.2f} Hz "
                 f"({100 * errs['E']:+.2f} %), I {d['rates_hz']['I']:.2f} vs "
                 f"{ci['I']['rate_hz']:.2f} Hz ({100 * errs['I']:+.2f} %); bound per population "
                 f"= {p['fit_rate_tolerance']:g} (issue #8) + {c:.2f} × SE_rel (network rate, "
                 f"{ci['E']['n_batches']} batches of {p['batch_ms']:g} ms: E "
                 f"{100 * se_rel['E']:.2f} %, I {100 * se_rel['I']:.2f} %) = E "
                 f"{100 * bounds['E']:.2f} %, I {100 * bounds['I']:.2f} % "
                 f"({d['n_states']} states)")


def _hopf_side_check(ctx, regime):
    h = ctx.result("hopf")
    eq = ctx.result("ma")[regime]["equilibrium"]
    if h.get("curve") is None:
        raise StepSkipped(h.get("curve_message", "no Hopf curve"))
    if not eq["converged"]:
        raise StepSkipped(f"no MA equilibrium at {regime}")
    pr = _preset(regime)
    cur = h["curve"]
    if not (cur["tau_ie"].min() <= pr["tau_ie"] <= cur["tau_ie"].max()):
        raise StepSkipped(f"the Hopf curve does not reach tau_ie = {pr['tau_ie']:g} ms "
                          f"(covers [{cur['tau_ie'].min():.3g}, {cur['tau_ie'].max():.3g}])")
    pred, n = predicted_stable(cur["tau_ee"], cur["tau_ie"], pr["tau_ee"], pr["tau_ie"],
                               h["tau_ee_max"], h["stable_at_max"])
    lead = eq["leading"]
    return Check(f"hopf-side-{SHORT[regime]}", "stable" if pred else "unstable",
                 "stable" if eq["stable"] else "unstable", "exact", bool(pred == eq["stable"]),
                 detail=f"side of the Hopf curve ({n} crossing(s) between tau_ee = "
                        f"{pr['tau_ee']:g} and {h['tau_ee_max']:g} ms at tau_ie = "
                        f"{pr['tau_ie']:g} ms) vs eigenvalues of the regime's MA equilibrium "
                        f"(leading {lead.real:+.4f} {lead.imag:+.4f}i per ms)")
