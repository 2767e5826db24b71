"""Validation of fitted coarse-grained Markov models (models.md §3).

Lag dependence of the matrix estimand:

- :func:`implied_timescales`: for the feature-free transition matrix P(τ) of each population,
  t_i(τ) = −τ / log|λ_i(P(τ))| for its non-unit eigenvalues λ_i; constant in τ when the
  coarse-grained process is Markov.
- :func:`chapman_kolmogorov`: P(kτ) estimated directly against P(τ)^k, with the binomial
  standard error sqrt(P̂(1 − P̂)/n_a) of each directly estimated entry (n_a the number of
  origin visits; an underestimate when windows overlap).

Closed loop (free-running reduced model against the network, never one-step-ahead):

- :func:`integrate_ode`: integrate a fitted ODE and return an :class:`ODERun` whose
  ``activity()`` is a :class:`simulate.activity.PopulationActivity` (flux × bin width);
- :func:`activity_statistics`: mean rate, variance of the binned rate, spectrum peak, MFE
  period and Δm of any activity (network, ODE or chain), via :mod:`simulate.observables`;
- :func:`variance_vs_window`: the rate variance at several bin widths;
- :func:`one_step_check`: the model's one-step prediction of the spike counts given the data's
  own states (dispersion of the residuals over windows, calibration by quantile groups);
- :func:`step_vs_continuous`: at the data's own states, the spikes of one step of the
  discrete-time chain (probabilities P(τ) = r τ) against those of the continuous-time chain
  with the same rates over the same τ (expm(τ Q)); the cause of the continuous chain's low
  variance, see docs/estimation.md;
- :func:`compare_statistics`: relative differences of two such summaries.
"""

from __future__ import annotations

import numpy as np

from simulate.activity import PopulationActivity, as_activity
from simulate.validation import ParameterError, check_number

__all__ = [
    "implied_timescales",
    "chapman_kolmogorov",
    "integrate_ode",
    "ODERun",
    "activity_statistics",
    "variance_vs_window",
    "one_step_check",
    "step_vs_continuous",
    "compare_statistics",
]


def _const_model(trajs, coarse_graining, lag, t_burn):
    import warnings

    from .estimator import TransitionRateEstimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TransitionRateEstimator(coarse_graining, features=None, lag=lag,
                                       t_burn=t_burn, min_count=1).fit(trajs).fetch_model()


def implied_timescales(trajectories, coarse_graining="trajectory", lags=(0.1, 0.2, 0.5, 1.0),
                       t_burn=0.0) -> dict:
    """Implied timescales (ms) per population and lag.

    Returns
    -------
    dict
        ``{"lags": ndarray (L,), Q: ndarray (L, S-1)}``, timescales sorted decreasing.
    """
    lags = np.asarray(lags, float)
    out = {"lags": lags}
    for i, lag in enumerate(lags):
        m = _const_model(trajectories, coarse_graining, float(lag), t_burn)
        for qi, q in enumerate(m.populations):
            vis = np.asarray(m.occupancy_exposure[qi]) > 0     # never-visited states: rows of I
            P = m.transition_matrix(q)[np.ix_(vis, vis)]
            lam = np.sort(np.abs(np.linalg.eigvals(P)))[::-1][1:]
            with np.errstate(divide="ignore"):
                ts = np.where((lam > 0) & (lam < 1), -lag / np.log(np.clip(lam, 1e-300, None)),
                              np.nan)
            arr = out.setdefault(q, np.full((len(lags), len(m.labels) - 1), np.nan))
            arr[i, :len(ts)] = ts
    return out


def chapman_kolmogorov(trajectories, coarse_graining="trajectory", lag=0.1,
                       multiples=(2, 4, 8), t_burn=0.0, min_visits=100) -> dict:
    """Chapman–Kolmogorov test: P(kτ) estimated vs P(τ)^k.

    Rows of origin states visited fewer than ``min_visits`` times at lag kτ are left out of
    the maxima (their direct estimate is noise).

    Returns
    -------
    dict
        ``Q -> {"multiples", "predicted" (K,S,S), "estimated" (K,S,S), "stderr" (K,S,S),
        "max_abs_error" (K,), "max_z" (K,)}``.
    """
    base = _const_model(trajectories, coarse_graining, lag, t_burn)
    out = {}
    for q in base.populations:
        out[q] = {"multiples": list(multiples), "predicted": [], "estimated": [],
                  "stderr": [], "max_abs_error": [], "max_z": []}
    for k in multiples:
        mk = _const_model(trajectories, coarse_graining, lag * k, t_burn)
        for qi, q in enumerate(base.populations):
            Pp = np.linalg.matrix_power(base.transition_matrix(q), int(k))
            Pe = mk.transition_matrix(q)
            n_a = mk.occupancy_exposure[qi] / mk.lag
            se = np.sqrt(np.clip(Pe * (1 - Pe), 0, None) / np.maximum(n_a, 1.0)[:, None])
            err = np.abs(Pp - Pe)
            err[n_a < min_visits, :] = 0.0
            d = out[q]
            d["predicted"].append(Pp)
            d["estimated"].append(Pe)
            d["stderr"].append(se)
            d["max_abs_error"].append(float(err.max()))
            with np.errstate(divide="ignore", invalid="ignore"):
                z = np.where(se > 0, err / se, 0.0)
            d["max_z"].append(float(np.nanmax(z)))
    for q in out:
        for key in ("predicted", "estimated", "stderr"):
            out[q][key] = np.array(out[q][key])
        out[q]["max_abs_error"] = np.array(out[q]["max_abs_error"])
        out[q]["max_z"] = np.array(out[q]["max_z"])
    return out


class ODERun:
    """An integrated trajectory of a fitted ODE.

    Attributes
    ----------
    t : ndarray (T,)
        Output times (ms).
    x : ndarray (T, n)
        Reduced states.
    rates : dict[str, ndarray]
        ``rate_<Q>`` outputs (Hz per neuron) at the output times.
    """

    def __init__(self, t, x, rates, sizes, t_burn=0.0):
        self.t, self.x, self.rates = t, x, rates
        self.sizes = dict(sizes)
        self.t_burn = float(t_burn)

    def activity(self) -> PopulationActivity:
        """Flux × bin width on the output grid (bins start at the output times)."""
        dt = float(self.t[1] - self.t[0])
        counts = {q: self.rates[q] * self.sizes[q] * dt / 1000.0 for q in self.rates}
        return PopulationActivity(self.t, dt, counts, self.sizes)

    @property
    def rates_hz(self) -> dict:
        return self.activity().mean_rates_hz(self.t_burn)


def integrate_ode(system, x0, t_end, dt_out=0.1, params=None, sizes=None, t_burn=0.0,
                  method="LSODA", rtol=1e-7, atol=1e-10) -> ODERun:
    """Integrate a fitted ODE from ``x0`` for ``t_end`` ms and sample it every ``dt_out`` ms.

    ``method`` (default LSODA, analytic Jacobian) falls back to BDF if it fails.

    ``sizes`` (population -> N) default to the system's ``n_<q>`` parameters (or 1).
    """
    from scipy.integrate import solve_ivp

    t_end = check_number("t_end", t_end, 0.0, 1e9, lo_open=True, unit="ms")
    dt_out = check_number("dt_out", dt_out, 0.0, t_end, lo_open=True, unit="ms")
    p = system.param_vector(**(params or {}))
    t_eval = np.arange(int(round(t_end / dt_out))) * dt_out
    def _solve(m):
        return solve_ivp(lambda t, x: system.rhs(x, p), (0.0, t_end), np.asarray(x0, float),
                         method=m, jac=lambda t, x: system.jacobian(x, p), t_eval=t_eval,
                         rtol=rtol, atol=atol)

    sol = _solve(method)
    if not sol.success and method != "BDF":
        sol = _solve("BDF")        # LSODA occasionally stops with "unexpected istate"
    if not sol.success:
        raise RuntimeError(f"integration of the fitted ODE failed: {sol.message}")
    X = sol.y.T
    rates = {}
    for name, g in system.outputs.items():
        if name.startswith("rate_"):
            rates[name[5:]] = np.array([g(x, p) for x in X])
    if sizes is None:
        sizes = {q: system.params.get(f"n_{q.lower()}", 1.0) for q in rates}
    return ODERun(sol.t, X, rates, sizes, t_burn)


def activity_statistics(obj, pop="E", t_burn=200.0, bin_ms=1.0, mfe_height=None,
                        mfe_distance_ms=9.0, segment_ms=500.0) -> dict:
    """Summary statistics of one population's activity, all from :mod:`simulate.observables`
    (one mechanism for the network, the fitted ODE and the finite-N chain).

    - ``rate_hz``: mean rate over [t_burn, end) (:func:`~simulate.observables.firing_rates`);
    - ``rate_var_hz2``: variance of the rate r_j = 1000 C_j / (N · bin_ms) on bins of
      ``bin_ms`` (:func:`~simulate.observables.rate_variance`), Hz²;
    - ``peak_hz``: frequency of the largest value above 5 Hz of the Welch power spectrum of the
      rate (:func:`~simulate.observables.power_spectrum`, segments of ``segment_ms``);
    - ``mfe_period_ms``, ``dm_mean_abs``, ``n_mfe``: MFEs of
      :func:`~simulate.observables.detect_mfes` (1-ms box-car rate y in spikes per ms, peaks
      y ≥ h·N at least ``mfe_distance_ms`` apart, h = ``mfe_height`` per neuron, default the
      MA code's 10 spikes/ms at N = 300): mean inter-event interval, and the mean |Δm| / N of
      successive peak heights (:func:`~simulate.observables.peak_height_differences`), i.e.
      the change of the fraction of the population firing within the 1-ms window.
    """
    from simulate import observables as ob

    act = as_activity(obj)
    if pop not in act.counts:
        raise ParameterError(f"population {pop!r} is not one of {act.populations}")
    rate = ob.firing_rates(act, t_burn)[pop]
    out = {"rate_hz": float(rate),
           "rate_var_hz2": ob.rate_variance(act, pop, bin_ms=bin_ms, t_burn=t_burn)}
    spec = ob.power_spectrum(act, pop, segment_ms=segment_ms, t_burn=t_burn)
    out["peak_hz"] = ob.gamma_peak(spec, band=(5.0, float(spec.freqs_hz[-1]))).frequency_hz
    h = ob.DEFAULT_HEIGHT_PER_NEURON if mfe_height is None else mfe_height
    mf = ob.detect_mfes(act, pop, smooth_ms=1.0, height_per_neuron=h,
                        min_separation_ms=mfe_distance_ms, t_burn=t_burn)
    if mf.count >= 3:
        out["mfe_period_ms"] = float(np.mean(mf.intervals))
        out["dm_mean_abs"] = float(np.mean(np.abs(ob.peak_height_differences(mf)))
                                   / mf.n_neurons)
    else:
        out["mfe_period_ms"] = float("nan")
        out["dm_mean_abs"] = float("nan")
    out["n_mfe"] = mf.count
    return out


def variance_vs_window(obj, pop="E", windows_ms=(0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0),
                       t_burn=200.0) -> dict:
    """Variance (Hz²) of the population rate binned at each window of ``windows_ms``
    (:func:`simulate.observables.rate_variance`); windows that are not a multiple of the
    activity's bin width are skipped. Compares fluctuations at equal smoothing."""
    from simulate import observables as ob

    act = as_activity(obj)
    out = {}
    for w in windows_ms:
        b = w / act.dt
        if abs(b - round(b)) > 1e-6 * max(1.0, b) or round(b) < 1:
            continue
        out[float(w)] = ob.rate_variance(act, pop, bin_ms=float(w), t_burn=t_burn)
    return out


def one_step_check(trajectory, model, pop="E", t_burn=0.0, windows=(1, 10),
                   n_deciles=10, by=None) -> dict:
    """One-step prediction of the spike counts of a fitted model on a trajectory.

    With the trajectory's own reduced states and features at every sample t, the model
    predicts the number of ``pop`` neurons entering R during [t, t + τ) (τ = ``model.lag``)
    as μ_t = Σ_a n_a(t) r_{a→R}(x_t) τ, to compare with the observed count C_t. Returned:

    - ``dispersion[w]`` = Σ_j (Σ_{t∈j} (C_t − μ_t))² / Σ_t μ_t over consecutive windows j of
      w samples. For a correctly specified chain the residuals are martingale differences
      (uncorrelated in time), so the ratio does not grow with w, and per step it is
      Σ μ(1 − P)/Σ μ ≤ 1 (binomial counts) — ``binomial_reference``; residuals that are
      correlated over w samples (a bias persisting in time) make it grow with w;
    - ``calibration``: (mean of the key, Σ C / Σ μ) in ``n_deciles`` quantile groups of the
      key, the prediction μ itself or the feature named ``by``;
    - ``mean_observed``, ``mean_predicted``.

    Only features of the model's own kinds are evaluated (user features must be registered).
    """
    if pop not in model.populations:
        raise ParameterError(f"pop = {pop!r} is not one of {model.populations}")
    if by is not None and by not in model.feature_names:
        raise ParameterError(f"by = {by!r} is not one of the model's features "
                             f"{model.feature_names}")
    occ_frac, X, Z, obs, S, qi, n = _pop_data(trajectory, model, pop, t_burn)
    T = len(obs)
    mu = np.zeros(T)
    mup = np.zeros(T)
    for c, (qq, a, b) in enumerate(model.keys):
        if qq != qi or b != S - 1:
            continue
        P = np.exp(np.minimum(_log_rate(model, c, Z[:T]), 700.0)) * model.lag
        m = occ_frac[pop][:T, a] * n * P
        mu += m
        mup += m * P
    return _one_step_summary(obs, mu, mup, windows, n_deciles, by, X, model, T)


def _log_rate(model, c, Z):
    """Uncapped log-rate β_c0 + Σ_k β_ck Z_g(c,k) of transition column c at every row of the
    standardised features Z."""
    eta = np.full(len(Z), float(model.coef[c, 0]))
    for k, g in enumerate(model.col_feat[c]):
        if g >= 0:
            eta += model.coef[c, k + 1] * Z[:, g]
    return eta


def _pop_data(trajectory, model, pop, t_burn):
    """Occupancy fractions per population, features X and their standardised values Z at every
    sample after ``t_burn``, the observed entries into R of ``pop`` per lag window C_t (length
    T = samples − lag), the number of states, the population's index and size. Occupancies and
    entries in one pass (:func:`reduce.estimation.counting.snapshot_counts`)."""
    from .coarse import as_coarse_graining
    from .counting import snapshot_counts
    from .features import Feature, sample_feature

    lut = as_coarse_graining(model.coarse_graining).lookup(np.asarray(trajectory["bins/coarse"]))
    st = np.asarray(trajectory["samples/t"], float)
    k0 = int(np.searchsorted(st, t_burn - 1e-9))
    L = int(round(model.lag / float(st[1] - st[0])))
    S = len(model.labels)
    tpops = list(trajectory.populations)
    raw = np.asarray(trajectory["coarse"][k0:])
    pop_of = np.zeros(raw.shape[1], np.int64)
    for i, q in enumerate(tpops):
        pop_of[trajectory.offsets[q]:trajectory.offsets[q] + trajectory.sizes[q]] = i
    C, keys, occ = snapshot_counts(raw, lut, pop_of, L, len(tpops), S)
    occ_frac = {q: occ[:, tpops.index(q), :] / trajectory.sizes[q] for q in model.populations}
    X = np.column_stack([
        np.asarray(sample_feature(Feature(name), trajectory, occ_frac, model.labels,
                                  model.rate_tau), float)[-len(occ):]
        for name in model.feature_names]) if model.feature_names else np.zeros((len(occ), 0))
    Z = (X - np.asarray(model.feature_mean)) / np.asarray(model.feature_sd)
    into_r = (keys[:, 0] == tpops.index(pop)) & (keys[:, 2] == S - 1)
    obs = C[:, into_r].sum(axis=1).astype(float)
    return occ_frac, X, Z, obs, S, model.populations.index(pop), trajectory.sizes[pop]


def _one_step_summary(obs, mu, mup, windows, n_deciles, by, X, model, T):
    res = obs - mu
    out = {"mean_observed": float(obs.mean()), "mean_predicted": float(mu.mean()),
           "binomial_reference": float(1.0 - mup.sum() / mu.sum()), "dispersion": {}}
    for w in windows:
        J = T // int(w)
        rw = res[:J * w].reshape(J, w).sum(axis=1)
        out["dispersion"][int(w)] = float(np.sum(rw ** 2) / np.sum(mu[:J * w]))
    key = mu if by is None else X[:T, model.feature_names.index(by)]
    edges = np.quantile(key, np.linspace(0.0, 1.0, n_deciles + 1))
    cal = []
    for i in range(n_deciles):
        sel = (key >= edges[i]) & ((key < edges[i + 1]) if i < n_deciles - 1 else True)
        cal.append((float(key[sel].mean()) if sel.any() else float("nan"),
                    float(obs[sel].sum() / mu[sel].sum()) if mu[sel].sum() > 0
                    else float("nan")))
    out["calibration"] = cal
    return out


def step_vs_continuous(trajectory, model, pop="E", t_burn=0.0, every=10,
                       peak_fraction=0.1) -> dict:
    """One step τ of the two finite-N schemes from the trajectory's own states.

    At every ``every``-th sample t after ``t_burn``, with the model's (capped) rates
    r_ab(x_t) at the data's features, the expected spikes of population ``pop`` in [t, t + τ)

    - of the step scheme: μ_t = Σ_a n_a(t) P̃_aR, P_ab = r_ab τ with rows scaled to
      Σ_b P_ab ≤ 1 (as :func:`reduce.estimation.chain.simulate_chain`, ``scheme="step"``);
    - of the continuous-time chain with the same frozen rates:
      ν_t = Σ_{a≠R} n_a(t) [expm(τ Q)]_aR, Q = r − diag(Σ_b r_ab).

    For small P the two agree to first order (expm(τQ) = I + τQ + O(τ²)); where a row's exit
    probability s_a = Σ_b P_ab is of order one (multi-bin jumps and firing of the bins near
    threshold during an MFE) the continuous chain lets only 1 − e^{−s_a} of the neurons leave
    within τ. Returned: Σν/Σμ over all samples and over the samples with the largest
    ``peak_fraction`` of μ (MFE peaks), the observed count C over the same samples, the share
    of μ from rows with s_a > 0.5 and s_a > 1, and the share of the neuron-steps whose row has
    s_a > 1 (the rows the step chain scales) with their mean s_a.
    """
    from scipy.linalg import expm

    from .ode_kernels import log_rate_cap

    if pop not in model.populations:
        raise ParameterError(f"pop = {pop!r} is not one of {model.populations}")
    occ_frac, _, Z, obs, S, qi, n = _pop_data(trajectory, model, pop, t_burn)
    idx = np.arange(0, len(obs), max(1, int(every)))
    obs = obs[idx]
    tau = float(model.lag)
    eta0 = model.structure().eta0
    cols = [c for c, (qq, _a, _b) in enumerate(model.keys) if qq == qi]
    mu, nu = np.zeros(len(idx)), np.zeros(len(idx))
    etas = {c: _log_rate(model, c, Z[idx]) for c in cols}
    mu_s05, mu_s1, expo_s1, s_sum_s1, expo = 0.0, 0.0, 0.0, 0.0, 0.0
    for j, t in enumerate(idx):
        R = np.zeros((S, S))
        for c in cols:
            _, a, b = model.keys[c]
            R[a, b] = np.exp(log_rate_cap(etas[c][j], eta0)[0])
        nt = occ_frac[pop][t] * n
        P = R * tau
        srow = P.sum(axis=1)
        Ps = P / np.maximum(srow, 1.0)[:, None]
        contrib = nt * Ps[:, S - 1]
        contrib[S - 1] = 0.0
        mu[j] = contrib.sum()
        mu_s05 += contrib[srow > 0.5].sum()
        mu_s1 += contrib[srow > 1.0].sum()
        expo += nt[:S - 1].sum()
        big = srow[:S - 1] > 1.0
        expo_s1 += nt[:S - 1][big].sum()
        s_sum_s1 += (nt[:S - 1][big] * srow[:S - 1][big]).sum()
        Q = R - np.diag(R.sum(axis=1))
        E = expm(tau * Q)
        nu[j] = (nt[:S - 1] * E[:S - 1, S - 1]).sum()
    top = mu >= np.quantile(mu, 1.0 - peak_fraction)
    return {
        "samples": int(len(idx)),
        "continuous_over_step_all": float(nu.sum() / mu.sum()),
        "continuous_over_step_peaks": float(nu[top].sum() / mu[top].sum()),
        "observed_over_step_all": float(obs.sum() / mu.sum()),
        "observed_over_step_peaks": float(obs[top].sum() / mu[top].sum()),
        "share_of_spikes_from_rows_s_gt_0.5": float(mu_s05 / mu.sum()),
        "share_of_spikes_from_rows_s_gt_1": float(mu_s1 / mu.sum()),
        "share_of_neuron_steps_s_gt_1": float(expo_s1 / expo),
        "mean_s_of_rows_s_gt_1": float(s_sum_s1 / expo_s1) if expo_s1 > 0 else float("nan"),
    }


def compare_statistics(model_stats: dict, network_stats: dict) -> dict:
    """Relative differences (model − network)/network of matching statistics."""
    out = {}
    for k, v in network_stats.items():
        if k in model_stats and isinstance(v, float) and np.isfinite(v) and v != 0:
            out[k] = float((model_stats[k] - v) / v)
    return out
