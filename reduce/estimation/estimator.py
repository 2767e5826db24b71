"""``TransitionRateEstimator``: coarse-grained Markov transition rates fitted to simulations.

What is estimated (models.md §3), per population Q and pair of reduced states a ≠ b:

- ``estimand="matrix"`` (snapshots, any simulator): the transition matrix at the lag τ,
  reported as the rate r_ab = P_ab(τ)/τ (per ms). It depends on τ; check it with
  :func:`reduce.estimation.validation.implied_timescales` and the Chapman–Kolmogorov test.
  The reduced ODE dn/dt = n·(P(τ) − I)/τ has P(τ) as its explicit Euler step of size τ.
- ``estimand="generator"`` (event logs of the exact simulator): the generator entry q_ab, whose
  maximum-likelihood estimate is jump count / exposure (neuron-ms in a).

State dependence: a log-linear Poisson regression of the counts on population features with
exposure (see :mod:`reduce.estimation.regression`), r_ab(x) = exp(β_0 + Σ_k β_k z_k), smooth in
the features; with product features (``"kicks2"``) the log-rate is quadratic in the kick
means, and each transition keeps its products only if they raise the held-out likelihood
(``select``). The chain is non-reversible; no detailed balance is assumed.

Uncertainty: bootstrap over trajectories (when at least ``min_trials`` are given) or over
non-overlapping time blocks of ``block`` ms; every replicate is kept as a full model
(``fitted.samples``).

Examples
--------
>>> import reduce                                                          # doctest: +SKIP
>>> est = reduce.TransitionRateEstimator("ma", features="kicks", bootstrap=50)
>>> fitted = est.fit([traj1, traj2]).fetch_model()
>>> ode = fitted.ode()
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np

from simulate.validation import (
    ParameterError,
    check_choice,
    check_number,
    check_positive_int,
)

from .coarse import as_coarse_graining
from .counting import (
    column_index,
    event_sample_counts,
    event_totals,
    snapshot_counts,
    snapshot_totals,
)
from .features import parse_features, sample_feature, split_pathway
from .regression import fit_columns

__all__ = ["TransitionRateEstimator", "LowCountWarning", "pathway_params"]


class LowCountWarning(UserWarning):
    """A transition with too few observed counts for its rate to be estimated reliably."""


def pathway_params(traj) -> dict:
    """Network parameters used by the ODE's pending-kick equations: ``p_<qr>``, ``tau_<qr>``,
    ``n_<q>`` (lower-case population names), from a trajectory's ``params``."""
    out = {}
    pops = traj.populations
    params = dict(traj.params)
    spec = None
    if traj.model == "markov-if":
        try:
            from simulate.markov_if.params import resolve, validate

            known = {k: v for k, v in params.items()}
            spec = resolve(validate(known))
        except Exception:  # noqa: BLE001 - fall back to explicit keys
            spec = None
    for q in pops:
        out[f"n_{q.lower()}"] = float(traj.sizes[q])
    for iq, q in enumerate(pops):
        for ir, r in enumerate(pops):
            key = f"{q}{r}".lower()
            if spec is not None and tuple(spec.populations) == tuple(pops):
                out[f"p_{key}"] = float(spec.p[iq, ir])
                out[f"tau_{key}"] = float(spec.tau[iq, ir])
            else:
                if f"p_{key}" in params:
                    out[f"p_{key}"] = float(params[f"p_{key}"])
                if f"tau_{key}" in params:
                    out[f"tau_{key}"] = float(params[f"tau_{key}"])
    return out


def _load(obj):
    from simulate.trajectory import Trajectory

    if isinstance(obj, (str, Path)):
        return Trajectory.load(obj), str(obj)
    if not hasattr(obj, "arrays") or not hasattr(obj, "populations"):
        raise ParameterError(
            f"trajectories: expected simulate.Trajectory objects or file names, got "
            f"{type(obj).__name__}"
        )
    return obj, None


class TransitionRateEstimator:
    """Estimate coarse-grained transition rates from trajectories (models.md §3).

    Parameters
    ----------
    coarse_graining : CoarseGraining, str or array_like
        :class:`VoltageBins`, :class:`BaseGate`, a name (``"trajectory"``, ``"ma"``,
        ``"base-gate"``, ``"base-gate:THR"``) or voltage edges.
    features : None, "kicks", "kicks2", list or dict
        Regressors of the rates (see :mod:`reduce.estimation.features`; ``"kicks2"``: kick
        means, their squares and products); ``None`` = constant.
    lag : float, optional
        Lag τ in ms for ``estimand="matrix"``, a multiple of the trajectories' ``record_dt``
        (default: ``record_dt``).
    estimand : {"matrix", "generator"}
        Transition matrix at lag τ from snapshots, or generator from event logs.
    bootstrap : int
        Number of bootstrap replicates (0: none).
    block : float
        Block length (ms) of the time-block bootstrap.
    min_trials : int
        Resample whole trajectories when at least this many are given.
    min_count : int
        Transitions observed fewer times are fitted as constant rates, with a
        :class:`LowCountWarning` naming them; transitions never observed are absent (rate 0 is
        then a structural statement about the data, listed in ``fitted.report``).
    alpha : float
        Ridge penalty on standardised slopes (scikit-learn's scaling), default 1e-8.
    t_burn : float
        Samples before ``t_burn`` ms are discarded.
    rate_tau : float
        Filter time constant (ms) of ``rate/Q`` features.
    vary : list of str, optional
        Trajectory parameters allowed to differ between trajectories (default: every
        ``p_*`` and ``tau_*`` pathway parameter); others must agree.
    select : {"auto", "cv", "none"}
        Per-transition choice of the regressors: ``"cv"`` fits every transition with and
        without its product features (``A*B``) on ``cv_folds`` interleaved folds of the time
        blocks and keeps, per transition, the set with the larger held-out Poisson
        log-likelihood Σ_held (y η − e e^η) (rare transitions keep the linear form: their
        quadratic fits do not generalise); ``"auto"`` = ``"cv"`` when the features include
        products, else ``"none"`` (all features for every transition).
    cv_folds : int
        Number of folds of the selection (≥ 2).
    seed : int
        Seed of the bootstrap.
    workers : int
        Processes for the bootstrap fits.
    """

    def __init__(self, coarse_graining="trajectory", features=None, lag=None,
                 estimand="matrix", bootstrap=0, *, block=50.0, min_trials=5, min_count=10,
                 alpha=1e-8, t_burn=0.0, rate_tau=1.0, vary=None, select="auto",
                 cv_folds=2, seed=0, workers=1):
        self.coarse_graining = as_coarse_graining(coarse_graining)
        self.features = features
        self.lag = None if lag is None else check_number("lag", lag, 0.0, 1e6, lo_open=True,
                                                         unit="ms")
        self.estimand = check_choice("estimand", estimand, ("matrix", "generator"))
        self.bootstrap = check_positive_int("bootstrap", bootstrap, 0, 100_000)
        self.block = check_number("block", block, 0.0, 1e9, lo_open=True, unit="ms")
        self.min_trials = check_positive_int("min_trials", min_trials, 2, 10**9)
        self.min_count = check_positive_int("min_count", min_count, 1, 10**9)
        self.alpha = check_number("alpha", alpha, 0.0, 1e6)
        self.t_burn = check_number("t_burn", t_burn, 0.0, 1e9, unit="ms")
        self.rate_tau = check_number("rate_tau", rate_tau, 0.0, 1e6, lo_open=True, unit="ms")
        self.vary = None if vary is None else list(vary)
        self.select = check_choice("select", select, ("auto", "cv", "none"))
        self.cv_folds = check_positive_int("cv_folds", cv_folds, 2, 1000)
        self.seed = seed
        self.workers = check_positive_int("workers", workers, 1, 4096)
        self._model = None
        self.timings = {}

    def get_params(self) -> dict:
        """The estimator's settings as a dict (coarse-graining and features described)."""
        return {
            "coarse_graining": self.coarse_graining.describe(), "features": _feat_desc(
                self.features), "lag": self.lag, "estimand": self.estimand,
            "bootstrap": self.bootstrap, "block": self.block, "min_trials": self.min_trials,
            "min_count": self.min_count, "alpha": self.alpha, "t_burn": self.t_burn,
            "rate_tau": self.rate_tau, "vary": self.vary, "select": self.select,
            "cv_folds": self.cv_folds, "seed": self.seed,
        }

    # ------------------------------------------------------------------ checks
    def _check_trajectories(self, trajs):
        if isinstance(trajs, (str, Path)) or hasattr(trajs, "arrays"):
            trajs = [trajs]
        trajs = list(trajs)
        if not trajs:
            raise ParameterError("trajectories: got an empty list; give at least one")
        loaded = [_load(t) for t in trajs]
        first = loaded[0][0]
        need = ["coarse", "samples/t", "bins/coarse"]
        if self.estimand == "generator":
            need += ["events/t", "events/i", "events/from", "events/to"]
        vary = self.vary
        for i, (tr, _) in enumerate(loaded):
            missing = [k for k in need if k not in tr]
            if missing:
                hint = ("run the simulator with coarse=True" if "coarse" in missing else
                        "event logs come from the exact simulator (method='exact')")
                raise ParameterError(
                    f"trajectory {i} has no {', '.join(repr(m) for m in missing)}: the "
                    f"{self.estimand} estimand needs them ({hint})"
                )
            if tr.populations != first.populations:
                raise ParameterError(f"trajectory {i} has populations {tr.populations}, "
                                     f"trajectory 0 has {first.populations}")
            e0, e1 = np.asarray(first["bins/coarse"]), np.asarray(tr["bins/coarse"])
            if e0.shape != e1.shape or not np.allclose(e0, e1):
                raise ParameterError(
                    f"trajectory {i} has a different bin layout (bins/coarse, {len(e1)} edges) "
                    f"from trajectory 0 ({len(e0)} edges); fit them separately"
                )
            c = tr["coarse"]
            if c.ndim != 2 or c.shape[1] != tr.n_neurons:
                raise ParameterError(f"trajectory {i}: coarse has shape {c.shape}, expected "
                                     f"(T, {tr.n_neurons})")
            if c.shape[0] != len(tr["samples/t"]):
                raise ParameterError(f"trajectory {i}: coarse has {c.shape[0]} samples, "
                                     f"samples/t has {len(tr['samples/t'])}")
            if tr.model != first.model:
                raise ParameterError(f"trajectory {i} comes from model {tr.model!r}, trajectory"
                                     f" 0 from {first.model!r}")
            for k in sorted(set(first.params) | set(tr.params)):
                allowed = (k in vary) if vary is not None else k.startswith(("p_", "tau_"))
                if allowed or k in ("conn_seed",):
                    continue
                a, b = first.params.get(k), tr.params.get(k)
                if a != b:
                    raise ParameterError(
                        f"mismatched parameters: {k} = {b!r} in trajectory {i} but {a!r} in "
                        f"trajectory 0; only {vary if vary is not None else 'p_*, tau_*'} may "
                        "differ (set vary=[...] to allow more)"
                    )
        return loaded

    def _lag_samples(self, tr):
        st = np.asarray(tr["samples/t"], float)
        rd = float(tr.meta.get("record_dt", st[1] - st[0] if len(st) > 1 else 1.0))
        if self.estimand == "generator":
            return 1, rd
        lag = rd if self.lag is None else self.lag
        L = int(round(lag / rd))
        if L < 1 or abs(L * rd - lag) > 1e-6 * lag:
            raise ParameterError(
                f"lag = {lag:g} ms is not a multiple of the trajectory's record_dt = {rd:g} ms"
            )
        return L, L * rd

    # ------------------------------------------------------------------ fit
    def fit(self, trajectories) -> TransitionRateEstimator:
        """Count, regress and (optionally) bootstrap; returns ``self``.

        Parameters
        ----------
        trajectories : Trajectory, file name, or a list of them
        """
        t0 = time.perf_counter()
        loaded = self._check_trajectories(trajectories)
        first = loaded[0][0]
        pops = list(first.populations)
        P = len(pops)
        edges = np.asarray(first["bins/coarse"], float)
        cg = self.coarse_graining
        lut = cg.lookup(edges)
        S = int(lut.max()) + 1
        labels = cg.labels(edges)
        feats = parse_features(self.features, pops)
        for fl in feats.values():
            for f in fl:
                for b in (f.factors or (f,)):
                    if b.kind in ("kick_mean", "kick_var"):
                        split_pathway(b.pathway, pops)
        gnames = []
        for q in pops:
            for f in feats[q]:
                if f.name not in gnames:
                    gnames.append(f.name)
        gfeat = {f.name: f for q in pops for f in feats[q]}
        for f in gfeat.values():
            missing = [b.name for b in f.factors if b.name not in gfeat]
            if missing:
                raise ParameterError(
                    f"feature {f.name!r}: its factors {missing} must be features too (their "
                    "data means start the ODE); add them to features"
                )

        # ---- pass 1: totals and per-sample occupancies / exposures
        per = []
        tot = np.zeros((P, S, S), np.int64)
        lag_ms = None
        for tr, _ in loaded:
            L, lag_ms_i = self._lag_samples(tr)
            if lag_ms is not None and abs(lag_ms - lag_ms_i) > 1e-9:
                raise ParameterError(f"trajectories have different lags in ms ({lag_ms:g} vs "
                                     f"{lag_ms_i:g}); give lag= explicitly")
            lag_ms = lag_ms_i
            st = np.asarray(tr["samples/t"], float)
            keep0 = int(np.searchsorted(st, self.t_burn - 1e-9))
            raw = tr["coarse"][keep0:]
            st = st[keep0:]
            off = tr.offsets
            pop = np.concatenate([np.full(tr.sizes[q], i, np.int64) for i, q in enumerate(pops)])
            if len(st) <= L:
                raise ParameterError(
                    f"a trajectory has {len(st)} samples after t_burn = {self.t_burn:g} ms; at "
                    f"least {L + 1} are needed for lag = {lag_ms:g} ms"
                )
            C_loc = keys_loc = None
            if self.estimand == "matrix":
                C_loc, keys_loc, occ = snapshot_counts(raw, lut, pop, L, P, S)
                t_tot = np.zeros((P, S, S), np.int64)
                if len(keys_loc):
                    t_tot[keys_loc[:, 0], keys_loc[:, 1], keys_loc[:, 2]] = C_loc.sum(axis=0)
                Tn = len(st) - L
                expo = occ[:Tn].astype(np.float64) * lag_ms
            else:
                _, occ = snapshot_totals(raw, lut, pop, L, P, S)
                ev_t = np.asarray(tr["events/t"], float)
                t_tot, expo = event_totals(st, occ, ev_t, tr["events/i"], tr["events/from"],
                                           tr["events/to"], lut, pop, P, S)
                Tn = len(st) - 1
            tot += t_tot
            sizes = np.array([tr.sizes[q] for q in pops], float)
            occ_frac = {q: occ[:Tn, i, :] / sizes[i] for i, q in enumerate(pops)}
            X = np.empty((Tn, len(gnames)))
            for g, name in enumerate(gnames):
                v = sample_feature(gfeat[name], tr, occ_frac, labels, self.rate_tau)
                v = v[keep0:] if len(v) == len(tr["samples/t"]) else v
                if len(v) < Tn:
                    raise ParameterError(f"feature {name!r} has {len(v)} samples, expected "
                                         f"{len(st)}")
                X[:, g] = v[:Tn]
            if not np.all(np.isfinite(X)):
                raise ParameterError("a feature has non-finite values in a trajectory")
            spikes = None
            if self.estimand == "matrix" and all(f"rate/{q}" in tr for q in pops) \
                    and "rate/t" in tr:
                rt = np.asarray(tr["rate/t"], float)
                rdt = float(tr.meta.get("rate_dt", rt[1] - rt[0] if len(rt) > 1 else 1.0))
                sel = (rt >= st[0] - 1e-9) & (rt + rdt <= st[Tn - 1] + lag_ms + 1e-9)
                spikes = np.array([np.asarray(tr[f"rate/{q}"])[sel].sum() for q in pops], float)
                span = sel.sum() * rdt
                spikes = (spikes, span)
            per.append(dict(raw=raw, st=st, pop=pop, L=L, Tn=Tn, expo=expo, X=X, occ=occ,
                            spikes=spikes, off=off, traj=tr, C_loc=C_loc, keys_loc=keys_loc))
        self.timings["count_totals_s"] = time.perf_counter() - t0

        # ---- columns and warnings
        col, keys = column_index(tot, 1)
        counts = np.array([tot[k] for k in keys], np.int64)
        low = counts < self.min_count
        Rs = S - 1
        if np.any(low):
            names = [f"{pops[q]}: {labels[a]} -> {labels[b]} ({tot[q, a, b]} counts)"
                     for (q, a, b), lw in zip(keys, low) if lw]
            shown = "; ".join(names[:12]) + (f"; ... ({len(names)} in all)" if len(names) > 12
                                             else "")
            warnings.warn(
                f"{len(names)} transition(s) observed fewer than min_count = {self.min_count} "
                f"times; fitted as constant rates with wide intervals, not zero: {shown}",
                LowCountWarning, stacklevel=2,
            )
        # R must empty somewhere, else the chain is absorbing
        for qi, q in enumerate(pops):
            if tot[qi, Rs, :].sum() == 0:
                warnings.warn(f"{q}: no transition out of the refractory state was observed; "
                              "the fitted chain is absorbing there", LowCountWarning,
                              stacklevel=2)

        # ---- pass 2: per-sample counts
        t1 = time.perf_counter()
        Ys, Es, Xs, blocks, trial = [], [], [], [], []
        block_id = 0
        col_from = np.array([k[1] for k in keys], np.int64)
        col_pop = np.array([k[0] for k in keys], np.int64)
        for i, d in enumerate(per):
            tr = d["traj"]
            if self.estimand == "matrix":
                Y = np.zeros((d["Tn"], len(keys)), np.int32)
                kl = d["keys_loc"]
                if len(kl):
                    Y[:, col[kl[:, 0], kl[:, 1], kl[:, 2]]] = d["C_loc"]
                d["C_loc"] = None
            else:
                Y = event_sample_counts(d["st"], d["occ"], tr["events/t"], tr["events/i"],
                                        tr["events/from"], tr["events/to"], lut, d["pop"], col)
            Ys.append(Y)
            Es.append(d["expo"])
            Xs.append(d["X"])
            tt = d["st"][:d["Tn"]]
            b = np.floor((tt - tt[0]) / self.block).astype(np.int64) + block_id
            block_id = int(b.max()) + 1
            blocks.append(b)
            trial.append(np.full(d["Tn"], i, np.int64))
        Y = np.concatenate(Ys)
        E = np.concatenate(Es)                  # (T, P, S)
        Xraw = np.concatenate(Xs)
        blocks = np.concatenate(blocks)
        trial = np.concatenate(trial)
        self.timings["count_samples_s"] = time.perf_counter() - t1

        # ---- standardisation and design
        mu = Xraw.mean(axis=0) if Xraw.shape[1] else np.zeros(0)
        sd = Xraw.std(axis=0) if Xraw.shape[1] else np.zeros(0)
        const = sd <= 1e-12 * np.maximum(1.0, np.abs(mu))
        if np.any(const):
            warnings.warn(
                f"features {[gnames[g] for g in np.flatnonzero(const)]} are constant in the data;"
                " their slopes cannot be estimated and are fixed at 0", LowCountWarning,
                stacklevel=2,
            )
        sd = np.where(const, 1.0, sd)
        Z = (Xraw - mu) / sd if Xraw.shape[1] else Xraw
        C = len(keys)
        dmax = max([len(feats[q]) for q in pops] + [0])
        col_feat = -np.ones((C, dmax), np.int64)
        for c, (q, _a, _b) in enumerate(keys):
            if low[c]:
                continue
            for k, f in enumerate(feats[pops[q]]):
                g = gnames.index(f.name)
                if not const[g]:
                    col_feat[c, k] = g
        Ecol = E[:, col_pop, col_from]           # (T, C) exposure of each column's origin

        # ---- per-transition selection of the product features (held-out likelihood)
        selection = None
        is_prod = np.array(["*" in n for n in gnames], bool)
        if self.select == "cv" or (self.select == "auto" and is_prod.any()):
            t_cv = time.perf_counter()
            col_feat, selection = _select_products(Z, Y, Ecol, col_feat, is_prod, blocks,
                                                   self.cv_folds, self.alpha)
            names = [f"{pops[keys[c][0]]}: {labels[keys[c][1]]} -> {labels[keys[c][2]]}"
                     for c in range(C)]
            selection["with_products"] = [names[c] for c in np.flatnonzero(
                selection.pop("use_products"))]
            self.timings["select_s"] = time.perf_counter() - t_cv

        t2 = time.perf_counter()
        beta, hess, conv = _fit_grouped(Z, Y, Ecol, None, col_feat, self.alpha)
        self.timings["regression_s"] = time.perf_counter() - t2
        if not np.all(conv):
            bad = [f"{pops[keys[c][0]]}: {labels[keys[c][1]]} -> {labels[keys[c][2]]}"
                   for c in np.flatnonzero(~conv)[:8]]
            warnings.warn(f"the Poisson regression did not converge for {bad}",
                          RuntimeWarning, stacklevel=2)

        # ---- spike factor (fired-state correction, matrix estimand)
        kappa = np.ones(P)
        kappa_note = "generator estimand: every spike is a logged jump" \
            if self.estimand == "generator" else "no rate/<Q> arrays: not measured"
        if self.estimand == "matrix" and all(d["spikes"] is not None for d in per):
            into_R = np.zeros(P)
            spk = np.zeros(P)
            for d, Yd in zip(per, Ys):
                for c, (q, _a, b) in enumerate(keys):
                    if b == Rs:
                        into_R[q] += Yd[:, c].sum()
                spk += d["spikes"][0] * d["L"]
            with np.errstate(divide="ignore", invalid="ignore"):
                kappa = np.where(into_R > 0, spk / into_R, 1.0)
            kappa_note = ("spikes in rate/<Q> x lag-in-samples / observed transitions into R "
                          "(corrects spikes followed by exit from R within the lag)")

        # ---- bootstrap
        samples = None
        boot_unit = None
        if self.bootstrap:
            t3 = time.perf_counter()
            n_tr = len(per)
            if n_tr >= self.min_trials:
                units, boot_unit = trial, "trajectories"
            else:
                units, boot_unit = blocks, f"time blocks of {self.block:g} ms"
            n_units = int(units.max()) + 1
            if n_units < 2:
                raise ParameterError(
                    f"bootstrap = {self.bootstrap} needs at least 2 resampling units; the data "
                    f"give {n_units} {boot_unit}: lower block or give more trajectories"
                )
            from simulate.executor import map_tasks, spawn_seeds

            seeds = spawn_seeds(self.seed, self.bootstrap)
            chunks = np.array_split(np.arange(self.bootstrap), min(self.workers,
                                                                   self.bootstrap))
            tasks = [(Z, Y, Ecol, col_feat, self.alpha, units, n_units,
                      [seeds[j] for j in ch], beta) for ch in chunks if len(ch)]
            res = map_tasks(_bootstrap_task, tasks, workers=self.workers, progress=False)
            samples = np.concatenate(res, axis=0)
            self.timings["bootstrap_s"] = time.perf_counter() - t3

        from .model import FittedMarkovModel

        provenance = {
            "trajectories": [
                {"file": name, "model": tr.model, "seed": tr.seed, "t_end": tr.t_end,
                 "params": tr.params, "sizes": tr.sizes}
                for tr, name in loaded
            ],
            "settings": self.get_params(),
            "bootstrap_unit": boot_unit,
            "spike_factor_note": kappa_note,
            "feature_selection": selection,
        }
        exposure_tot = E.sum(axis=0)
        self._model = FittedMarkovModel(
            populations=pops, labels=labels, coarse_graining=cg.describe(),
            estimand=self.estimand, lag=float(lag_ms),
            keys=np.array(keys, np.int64).reshape(-1, 3), counts=counts,
            exposure=exposure_tot[col_pop, col_from] if C else np.zeros(0),
            occupancy_exposure=exposure_tot, low_count=low, coef=beta, hessian=hess,
            col_feat=col_feat, feature_names=gnames, feature_mean=mu, feature_sd=sd,
            feature_mean_data=mu.copy(), occ_mean=(E.sum(0) / E.sum(axis=(0, 2))[:, None]),
            spike_factor=kappa, ode_params=pathway_params(first), sample_coef=samples,
            provenance=provenance, rate_tau=self.rate_tau,
        )
        self.timings["total_s"] = time.perf_counter() - t0
        return self

    def fetch_model(self):
        """The fitted :class:`FittedMarkovModel` (immutable)."""
        if self._model is None:
            raise ParameterError("this estimator is not fitted yet: call fit(trajectories)")
        return self._model


def _feat_desc(features):
    if features is None or isinstance(features, str):
        return features
    if isinstance(features, dict):
        return {q: [getattr(f, "name", f if isinstance(f, str) else f[0]) for f in v]
                for q, v in features.items()}
    return [getattr(f, "name", f if isinstance(f, str) else f[0]) for f in features]


def _fit_grouped(Z, Y, Ecol, w, col_feat, alpha, beta_init=None):
    """Fit columns grouped by their feature set (same design matrix within a group)."""
    T, C = Y.shape
    d1 = col_feat.shape[1] + 1
    beta = np.zeros((C, d1))
    hess = np.zeros((C, d1, d1))
    conv = np.ones(C, bool)
    groups = {}
    for c in range(C):
        groups.setdefault(tuple(int(g) for g in col_feat[c] if g >= 0), []).append(c)
    for gset, cols in groups.items():
        X = np.empty((T, 1 + len(gset)))
        X[:, 0] = 1.0
        for k, g in enumerate(gset):
            X[:, 1 + k] = Z[:, g]
        cols = np.array(cols)
        init = None
        if beta_init is not None:
            init = np.array([beta_init[c, [0] + [1 + k for k in range(col_feat.shape[1])
                                                 if col_feat[c, k] >= 0]] for c in cols])
        b, H, ok = fit_columns(X, Y[:, cols], Ecol[:, cols], w, alpha, beta_init=init)
        # place slopes back at the positions of col_feat
        for j, c in enumerate(cols):
            beta[c, 0] = b[j, 0]
            pos = [k for k in range(col_feat.shape[1]) if col_feat[c, k] >= 0]
            idx = [0] + [1 + k for k in pos]
            beta[c, idx[1:]] = b[j, 1:]
            hess[c][np.ix_(idx, idx)] = H[j]
            for k in range(d1):
                if k not in idx:
                    hess[c, k, k] = 1.0
            conv[c] = ok[j]
    return beta, hess, conv


def _heldout_loglik(Z, Y, Ecol, rows, col_feat, beta):
    """Σ_{t in rows} (y_t η_t − e_t e^{η_t}) of every column at coefficients ``beta``."""
    out = np.zeros(Y.shape[1])
    Zr = Z[rows]
    for c in range(Y.shape[1]):
        eta = np.full(len(Zr), beta[c, 0])
        for k, g in enumerate(col_feat[c]):
            if g >= 0:
                eta += beta[c, k + 1] * Zr[:, g]
        eta = np.minimum(eta, 700.0)
        out[c] = float(np.sum(Y[rows, c] * eta - Ecol[rows, c] * np.exp(eta)))
    return out


def _select_products(Z, Y, Ecol, col_feat, is_prod, blocks, folds, alpha):
    """Per column: keep the product features iff they raise the held-out log-likelihood.

    Folds are interleaved time blocks (block b in fold b mod ``folds``); each candidate is
    fitted on the other folds (multiplicity 0 on the held-out one) and scored on it.
    """
    col_lin = col_feat.copy()
    for c in range(col_lin.shape[0]):
        for k in range(col_lin.shape[1]):
            g = col_lin[c, k]
            if g >= 0 and is_prod[g]:
                col_lin[c, k] = -1
    fold = blocks % folds
    ll = np.zeros((2, Y.shape[1]))
    for k in range(folds):
        held = np.flatnonzero(fold == k)
        if len(held) == 0:
            continue
        w = (fold != k).astype(np.float64)
        for i, cf in enumerate((col_lin, col_feat)):
            b, _, _ = _fit_grouped(Z, Y, Ecol, w, cf, alpha)
            ll[i] += _heldout_loglik(Z, Y, Ecol, held, cf, b)
    has_prod = np.array([any(g >= 0 and is_prod[g] for g in row) for row in col_feat])
    use = has_prod & (ll[1] > ll[0])
    chosen = np.where(use[:, None], col_feat, col_lin)
    info = {"method": f"held-out Poisson log-likelihood, {folds} interleaved folds of time "
                      "blocks", "n_columns": int(len(use)),
            "n_with_products": int(use.sum()),
            "heldout_loglik_gain": float(np.sum(np.maximum(ll[1] - ll[0], 0.0)[has_prod])),
            "use_products": use}
    return chosen, info


def _bootstrap_task(task):
    Z, Y, Ecol, col_feat, alpha, units, n_units, seeds, beta0 = task
    out = []
    for s in seeds:
        rng = np.random.default_rng(s)
        mult = np.bincount(rng.integers(0, n_units, n_units), minlength=n_units)
        w = mult[units].astype(np.float64)
        b, _, _ = _fit_grouped(Z, Y, Ecol, w, col_feat, alpha, beta0)
        out.append(b)
    return np.array(out)
