"""``FittedMarkovModel``: the immutable result of :class:`TransitionRateEstimator`.

Holds the fitted log-linear rates r_c(x) = exp(β_c0 + Σ_k β_ck (x_k − μ_k)/σ_k) of every
observed transition c (population Q, reduced state a → b), their bootstrap replicates and
observed information, and builds from them

- :meth:`ode`: a :class:`bifurcation.ODESystem` in reduced coordinates (one occupancy per
  population removed by conservation: the refractory fraction), compiled right-hand side and
  analytic Jacobian, parameters by name (``p_<qr>``, ``tau_<qr>``, ``n_<q>`` of the pending-kick
  equations, ``tau_rate``) and outputs ``rate_<Q>`` (Hz per neuron), see
  :mod:`reduce.estimation.ode_kernels` for the equations;
- :meth:`chain`: the finite-N chain (:mod:`reduce.estimation.chain`): discrete time with the
  lag τ as step (``"step"``, the finite-N form of the matrix estimand, its default) or the
  continuous-time chain with rates r, simulated exactly (``"exact"``, Gillespie);
- :attr:`samples`: the bootstrap replicates as models, to carry uncertainty into anything
  computed from them (e.g. a Hopf point per replicate).

For ``estimand="matrix"`` the rates are r = P(τ)/τ, so the ODE dx/dt = x(P(τ) − I)/τ has the
estimated transition matrix as its explicit Euler step of size τ; for ``"generator"`` they are
generator entries.

Files: :meth:`save` writes HDF5 (``format = "snnreduce-fitted-markov"``, ``format_version``),
with the provenance (trajectories, settings) as JSON; :meth:`load` rejects anything else.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from simulate.validation import ParameterError

from . import ode_kernels as K
from .features import Feature, split_pathway, state_index

__all__ = ["FittedMarkovModel", "ModelFileError", "FORMAT_NAME", "FORMAT_VERSION"]

FORMAT_NAME = "snnreduce-fitted-markov"
FORMAT_VERSION = 1

_ARRAYS = ("keys", "counts", "exposure", "occupancy_exposure", "low_count", "coef", "hessian",
           "col_feat", "feature_mean", "feature_sd", "feature_mean_data", "occ_mean",
           "spike_factor", "sample_coef")
_META = ("populations", "labels", "coarse_graining", "estimand", "lag", "feature_names",
         "ode_params", "provenance", "rate_tau")


class ModelFileError(OSError):
    """A fitted-model file that is missing, damaged, foreign or of an unknown version."""


class _Structure:
    """Flat arrays of one model (one coefficient set) for the compiled kernels."""

    def __init__(self, model, coef):
        pops = model.populations
        P, S = len(pops), len(model.labels)
        self.populations = pops
        self.n_pop, self.n_states = P, S
        keys = model.keys
        # writable copies: numba compiles read-only arrays as a separate type
        self.col_pop = np.array(keys[:, 0], np.int64)
        self.col_from = np.array(keys[:, 1], np.int64)
        self.col_to = np.array(keys[:, 2], np.int64)
        self.coef = np.array(coef, np.float64).reshape(len(keys), -1)
        self.col_feat = np.array(model.col_feat, np.int64).reshape(len(keys), -1)
        self.mu = np.array(model.feature_mean, np.float64).reshape(-1)
        self.sd = np.array(model.feature_sd, np.float64).reshape(-1)
        self.kappa = np.array(model.spike_factor, np.float64)
        # log-rate cap (ode_kernels.log_rate_cap): P(τ) = r τ ≤ 1 for the matrix estimand
        self.eta0 = float(np.log(1.0 / model.lag)) if model.estimand == "matrix" else 690.0
        # feature states
        names = model.feature_names
        kicks = []            # pathways with an m state
        kick_var = set()
        rate_pops = []
        ode_free = []
        base = []
        for name in names:
            f = Feature(name, fn=(lambda tr: None))
            if f.kind == "custom":
                ode_free.append(name)
            base.extend(f.factors if f.factors else [f])
        for f in base:
            if f.kind in ("kick_mean", "kick_var"):
                if f.pathway not in kicks:
                    kicks.append(f.pathway)
                if f.kind == "kick_var":
                    kick_var.add(f.pathway)
            elif f.kind == "rate":
                if f.pop not in rate_pops:
                    rate_pops.append(f.pop)
            elif f.kind == "custom" and f.name not in ode_free:
                ode_free.append(f.name)
        self.ode_free = ode_free
        z = P * S
        state_names = [f"{q}:{lab}" for q in pops for lab in model.labels]
        kick_m, kick_s, kick_src, kick_tgt = [], [], [], []
        for path in kicks:
            tq, sq = split_pathway(path, pops)
            kick_m.append(z)
            state_names.append(f"m_{path}")
            z += 1
            if path in kick_var:
                kick_s.append(z)
                state_names.append(f"s_{path}")
                z += 1
            else:
                kick_s.append(-1)
            kick_src.append(pops.index(sq))
            kick_tgt.append(pops.index(tq))
        rate_z = -np.ones(P, np.int64)
        for q in rate_pops:
            rate_z[pops.index(q)] = z
            state_names.append(f"r_{q}")
            z += 1
        self.n_z = z
        self.kick_m = np.array(kick_m, np.int64)
        self.kick_s = np.array(kick_s, np.int64)
        self.kick_src = np.array(kick_src, np.int64)
        self.kick_tgt = np.array(kick_tgt, np.int64)
        self.rate_z = rate_z
        self.kick_paths = kicks
        def _zindex(f):
            if f.kind == "kick_mean":
                return kick_m[kicks.index(f.pathway)]
            if f.kind == "kick_var":
                return kick_s[kicks.index(f.pathway)]
            if f.kind == "rate":
                return rate_z[pops.index(f.pop)]
            if f.kind == "occ":
                return pops.index(f.pop) * S + state_index(f.state, model.labels)
            return 0

        # feature g = z[feat_z[g]] (· z[feat_z2[g]] for a product, else feat_z2[g] = -1)
        feat_z = np.zeros(len(names), np.int64)
        feat_z2 = -np.ones(len(names), np.int64)
        for g, name in enumerate(names):
            f = Feature(name, fn=(lambda tr: None))
            if f.factors:
                feat_z[g], feat_z2[g] = _zindex(f.factors[0]), _zindex(f.factors[1])
            else:
                feat_z[g] = _zindex(f)
        self.feat_z2 = feat_z2
        self.feat_z = feat_z
        # parameters
        params = {}
        defaults = model.ode_params
        kick_p, kick_tau = [], []
        needed_n = sorted({int(s) for s in kick_src})

        def _param(name):
            if name not in defaults:
                raise ParameterError(
                    f"the ODE needs parameter {name!r} for its pending-kick equations, but the "
                    f"trajectories' params do not give it; known: {sorted(defaults)}"
                )
            if name not in params:
                params[name] = float(defaults[name])
            return list(params).index(name)

        for path in kicks:
            kick_p.append(_param(f"p_{path.lower()}"))
            kick_tau.append(_param(f"tau_{path.lower()}"))
        n_param = np.zeros(P, np.int64)
        for s in needed_n:
            n_param[s] = _param(f"n_{pops[s].lower()}")
        rate_tau_pi = 0
        if rate_pops:
            params["tau_rate"] = float(model.rate_tau)
            rate_tau_pi = list(params).index("tau_rate")
        self.kick_p = np.array(kick_p, np.int64)
        self.kick_tau = np.array(kick_tau, np.int64)
        self.n_param = n_param
        self.rate_tau_pi = int(rate_tau_pi)
        self.params = params
        # reduced occupancy coordinates: visited non-refractory states
        visited = np.asarray(model.occupancy_exposure) > 0
        for q, a, b in keys:
            visited[q, a] = visited[q, b] = True
        occ_z = [q * S + k for q in range(P) for k in range(S - 1) if visited[q, k]]
        self.occ_z = np.array(occ_z, np.int64)
        reduced = [f"{pops[i // S]}:{model.labels[i % S]}" for i in occ_z]
        self.state_names = reduced + state_names[P * S:]
        self.n_y = len(occ_z) + self.n_z - P * S

    def param_default(self, i):
        return list(self.params.values())[i]

    def args(self):
        return (self.n_pop, self.n_states, self.n_z, self.occ_z, self.col_pop, self.col_from,
                self.col_to,
                self.coef, self.col_feat, self.feat_z, self.feat_z2, self.mu, self.sd,
                self.eta0, self.kappa,
                self.kick_m, self.kick_s, self.kick_src, self.kick_p, self.kick_tau,
                self.n_param, self.rate_z, self.rate_tau_pi)

    def flux_args(self):
        return self.args()[:15]

    def expand(self, y):
        return K.expand(np.ascontiguousarray(y, np.float64), self.n_pop, self.n_states,
                        self.n_z, self.occ_z)


class _RHS:
    """Picklable compiled right-hand side (rebuilt from arrays on load)."""

    def __init__(self, struct):
        self.s = struct
        self._a = struct.args()

    def __call__(self, x, p):
        return K.rhs(np.ascontiguousarray(x, np.float64), np.ascontiguousarray(p, np.float64),
                     *self._a)


class _JAC(_RHS):
    def __call__(self, x, p):
        return K.jac(np.ascontiguousarray(x, np.float64), np.ascontiguousarray(p, np.float64),
                     *self._a)


class _RateOut:
    def __init__(self, struct, q):
        self.s = struct
        self.q = int(q)
        self._a = struct.flux_args()

    def __call__(self, x, p):
        f = K.flux(np.ascontiguousarray(x, np.float64), np.ascontiguousarray(p, np.float64),
                   *self._a)
        return 1000.0 * f[self.q]


class FittedMarkovModel:
    """Fitted coarse-grained Markov model (immutable; see module docstring).

    Attributes
    ----------
    populations : list of str
    labels : list of str
        Reduced-state labels (refractory ``"R"`` last).
    estimand : {"matrix", "generator"}
    lag : float
        Lag τ (ms) of the matrix estimand (sample spacing for the generator).
    keys : ndarray (C, 3)
        (population index, from state, to state) of each fitted transition.
    counts, exposure : ndarray (C,)
        Observed counts and exposure (neuron-ms) of each transition.
    coef : ndarray (C, d+1)
        Intercept and slopes on standardised features.
    feature_names : list of str
    samples : list of FittedMarkovModel
        Bootstrap replicates (empty without bootstrap).
    provenance : dict
        Trajectories (file, model, seed, params) and estimator settings.
    """

    def __init__(self, **fields):
        for k in _ARRAYS + _META:
            v = fields.get(k)
            if k in _ARRAYS and v is not None:
                v = np.array(v)
                v.flags.writeable = False
            object.__setattr__(self, k, v)
        object.__setattr__(self, "populations", list(self.populations))
        object.__setattr__(self, "labels", list(self.labels))
        object.__setattr__(self, "feature_names", list(self.feature_names))
        object.__setattr__(self, "_cache", {})

    def __setattr__(self, name, value):
        raise AttributeError("FittedMarkovModel is immutable; fit a new model instead")

    def __getstate__(self):
        return {k: getattr(self, k) for k in _ARRAYS + _META}

    def __setstate__(self, state):
        self.__init__(**state)

    # ------------------------------------------------------------------ rates
    @property
    def n_transitions(self) -> int:
        return int(self.keys.shape[0])

    def transition_names(self) -> list:
        """One name per fitted transition, ``"<population>: <from> -> <to>"``, in column order."""
        return [f"{self.populations[q]}: {self.labels[a]} -> {self.labels[b]}"
                for q, a, b in self.keys]

    def _col(self, pop, a, b) -> int:
        if pop not in self.populations:
            raise ParameterError(f"population {pop!r} is not one of {self.populations}")
        q = self.populations.index(pop)
        ia, ib = state_index(a, self.labels), state_index(b, self.labels)
        hit = np.flatnonzero((self.keys[:, 0] == q) & (self.keys[:, 1] == ia)
                             & (self.keys[:, 2] == ib))
        if len(hit) == 0:
            raise ParameterError(
                f"transition {pop}: {self.labels[ia]} -> {self.labels[ib]} was never observed; "
                "it has no fitted rate"
            )
        return int(hit[0])

    def _z(self, features) -> np.ndarray:
        """Standardised feature vector from a dict name -> value (default: the data mean)."""
        x = np.array(self.feature_mean_data, float)
        features = features or {}
        for k, v in features.items():
            if k not in self.feature_names:
                raise ParameterError(f"feature {k!r} is not one of {self.feature_names}")
            x[self.feature_names.index(k)] = float(v)
        names = self.feature_names
        for g, name in enumerate(names):         # products follow their given factors
            if "*" in name and name not in features:
                a, b = name.split("*")
                if a in features or b in features:
                    x[g] = x[names.index(a)] * x[names.index(b)]
        return (x - self.feature_mean) / self.feature_sd

    def _eta(self, coef, c, zf):
        eta = coef[..., c, 0].copy() if coef.ndim == 3 else float(coef[c, 0])
        for k, g in enumerate(self.col_feat[c]):
            if g >= 0:
                eta = eta + coef[..., c, k + 1] * zf[g]
        return eta

    def rate(self, pop, a, b, features=None) -> float:
        """Fitted rate (per ms) of ``pop: a -> b`` at ``features`` (default: data mean)."""
        c = self._col(pop, a, b)
        return float(np.exp(self._eta(self.coef, c, self._z(features))))

    def rate_ci(self, pop, a, b, features=None, level=0.95, method="auto") -> tuple:
        """Confidence interval of a rate.

        ``method="auto"``: bootstrap when the model has bootstrap replicates, else Wald;
        ``method="bootstrap"``: percentile interval of the bootstrap replicates;
        ``"wald"``: exp(η̂ ± z σ_η) with σ_η² = gᵀ H⁻¹ g from the observed information H
        (valid when each transition is counted once, i.e. lag = one sample, or for the
        generator).
        """
        c = self._col(pop, a, b)
        zf = self._z(features)
        if method == "auto":
            has = self.sample_coef is not None and len(self.sample_coef) > 0
            method = "bootstrap" if has else "wald"
        if method == "bootstrap":
            if self.sample_coef is None or len(self.sample_coef) == 0:
                raise ParameterError("method = 'bootstrap' needs a model fitted with "
                                     "bootstrap > 0; use method='wald'")
            r = np.exp(self._eta(self.sample_coef, c, zf))
            lo, hi = np.quantile(r, [(1 - level) / 2, (1 + level) / 2])
            return float(lo), float(hi)
        if method == "wald":
            from scipy.stats import norm

            gvec = np.zeros(self.coef.shape[1])
            gvec[0] = 1.0
            for k, g in enumerate(self.col_feat[c]):
                if g >= 0:
                    gvec[k + 1] = zf[g]
            cov = np.linalg.inv(self.hessian[c])
            s = float(np.sqrt(gvec @ cov @ gvec))
            eta = self._eta(self.coef, c, zf)
            zq = norm.ppf((1 + level) / 2)
            return float(np.exp(eta - zq * s)), float(np.exp(eta + zq * s))
        raise ParameterError(f"method = {method!r}; valid: 'auto', 'bootstrap', 'wald'")

    def coefficients(self, pop, a, b) -> dict:
        """Intercept and slopes (per unit of each raw feature) of ``pop: a -> b``."""
        c = self._col(pop, a, b)
        out = {"intercept_at_mean": float(self.coef[c, 0])}
        for k, g in enumerate(self.col_feat[c]):
            if g >= 0:
                out[self.feature_names[g]] = float(self.coef[c, k + 1] / self.feature_sd[g])
        return out

    def rate_matrix(self, pop, features=None) -> np.ndarray:
        """Matrix of fitted off-diagonal rates (per ms) of ``pop``, diagonal = −row sum."""
        q = self.populations.index(pop)
        S = len(self.labels)
        R = np.zeros((S, S))
        zf = self._z(features)
        for c, (qq, a, b) in enumerate(self.keys):
            if qq == q:
                R[a, b] = np.exp(self._eta(self.coef, c, zf))
        R[np.diag_indices(S)] = -R.sum(axis=1)
        return R

    def transition_matrix(self, pop, features=None) -> np.ndarray:
        """P(τ) = I + τ R for the matrix estimand (expm(τ R) for the generator)."""
        R = self.rate_matrix(pop, features)
        if self.estimand == "matrix":
            return np.eye(len(R)) + self.lag * R
        from scipy.linalg import expm

        return expm(self.lag * R)

    def rate_table(self, features=None, level=0.95) -> list:
        """One row per transition: counts, exposure, rate and its interval."""
        rows = []
        zf = self._z(features)
        for c, (q, a, b) in enumerate(self.keys):
            row = {"population": self.populations[q], "from": self.labels[a],
                   "to": self.labels[b], "count": int(self.counts[c]),
                   "exposure_ms": float(self.exposure[c]),
                   "rate_per_ms": float(np.exp(self._eta(self.coef, c, zf))),
                   "low_count": bool(self.low_count[c])}
            if self.sample_coef is not None and len(self.sample_coef):
                r = np.exp(self._eta(self.sample_coef, c, zf))
                row["ci"] = [float(v) for v in np.quantile(r, [(1 - level) / 2,
                                                                (1 + level) / 2])]
            rows.append(row)
        return rows

    # ------------------------------------------------------------------ samples
    @property
    def samples(self) -> list:
        """The bootstrap replicates as :class:`FittedMarkovModel` objects (empty without
        bootstrap)."""
        if "samples" not in self._cache:
            arr = self.sample_coef
            self._cache["samples"] = [] if arr is None else [self._with_coef(b) for b in arr]
        return self._cache["samples"]

    def _with_coef(self, coef):
        st = self.__getstate__()
        st["coef"] = coef
        st["sample_coef"] = None
        return FittedMarkovModel(**st)

    # ------------------------------------------------------------------ ODE and chain
    def structure(self) -> _Structure:
        """Flat arrays of the model at its point-estimate coefficients for the compiled kernels
        (built once, then cached).
        """
        if "structure" not in self._cache:
            self._cache["structure"] = _Structure(self, self.coef)
        return self._cache["structure"]

    def ode(self, **params):
        """The reduced ODE as a :class:`bifurcation.ODESystem` (parameters overridable)."""
        from bifurcation import ODESystem

        s = self.structure()
        if s.ode_free:
            raise ParameterError(
                f"features {s.ode_free} have no ODE form (user features are fit-only); refit "
                "with built-in features (kick_mean, kick_var, rate, occ) to build an ODE"
            )
        sys = ODESystem(_RHS(s), n_states=s.n_y, params=s.params, jac=_JAC(s),
                        outputs={f"rate_{q}": _RateOut(s, i)
                                 for i, q in enumerate(self.populations)},
                        state_names=s.state_names, name=f"fitted-{self.estimand}")
        return sys.with_params(**params) if params else sys

    def x0(self) -> np.ndarray:
        """Reduced state at the data means (occupancies and feature states): a start for
        integration and continuation."""
        s = self.structure()
        P, S = s.n_pop, s.n_states
        n_occ = len(s.occ_z)
        y = np.zeros(s.n_y)
        occ = np.asarray(self.occ_mean, float).reshape(-1)
        y[:n_occ] = occ[s.occ_z]
        zfull = np.zeros(s.n_z)
        for g in range(len(self.feature_names)):
            if s.feat_z2[g] < 0:          # products: their factors are features themselves
                zfull[s.feat_z[g]] = self.feature_mean_data[g]
        y[n_occ:] = zfull[P * S:]
        return y

    def chain(self, sizes=None, scheme="auto", **params):
        """The finite-N chain; ``sizes`` by population name (default: the fitted network's).

        ``scheme``: ``"step"`` (discrete time with the lag τ as step: transition probabilities
        P(τ) = r τ per step, the finite-N form of the matrix estimand), ``"exact"`` (continuous
        time with rates r, Gillespie: the finite-N form of the ODE), or ``"auto"`` = ``"step"``
        for ``estimand="matrix"`` and ``"exact"`` for the generator (see
        :mod:`reduce.estimation.chain` and docs/estimation.md for why).

        Returns a :class:`FittedChain` with ``run(t_end, seed)`` -> :class:`ChainRun`
        (``.activity()`` is a :class:`simulate.activity.PopulationActivity`).
        """
        return FittedChain(self, sizes, params, scheme)

    # ------------------------------------------------------------------ files
    def save(self, path) -> Path:
        """Write the model to HDF5 atomically (arrays + JSON metadata + provenance)."""
        import h5py

        path = Path(path)
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.exists():
            raise ParameterError(f"out = {str(path)!r}: folder {str(parent)!r} does not exist")
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=parent)
        os.close(fd)
        try:
            with h5py.File(tmp, "w") as f:
                f.attrs["format"] = FORMAT_NAME
                f.attrs["format_version"] = FORMAT_VERSION
                for k in _META:
                    f.attrs[k] = json.dumps(getattr(self, k), default=_json_default)
                for k in _ARRAYS:
                    v = getattr(self, k)
                    if v is not None:
                        f.create_dataset(k, data=np.asarray(v))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path) -> FittedMarkovModel:
        """Read a model written by :meth:`save`; raises :class:`ModelFileError` otherwise."""
        import h5py

        path = Path(path)
        if not path.exists():
            raise ModelFileError(f"no fitted-model file at {str(path)!r}")
        try:
            with h5py.File(path, "r") as f:
                if f.attrs.get("format") != FORMAT_NAME:
                    raise ModelFileError(f"{str(path)!r} is not a fitted Markov model (format "
                                         f"{f.attrs.get('format')!r})")
                v = int(f.attrs.get("format_version", -1))
                if not 1 <= v <= FORMAT_VERSION:
                    raise ModelFileError(f"{str(path)!r} has format version {v}; this "
                                         f"snnreduce reads 1..{FORMAT_VERSION}")
                fields = {k: json.loads(f.attrs[k]) for k in _META}
                for k in _ARRAYS:
                    fields[k] = f[k][()] if k in f else None
        except ModelFileError:
            raise
        except (OSError, KeyError, ValueError) as exc:
            raise ModelFileError(f"{str(path)!r} could not be read as a fitted model ({exc})") \
                from exc
        return cls(**fields)

    def summary(self) -> dict:
        """JSON-ready summary: populations, states, estimand, lag (ms), number of transitions and of
        low-count transitions, feature names, number of bootstrap samples and the spike factor of
        each population.
        """
        return {
            "populations": self.populations, "states": self.labels,
            "estimand": self.estimand, "lag_ms": self.lag,
            "n_transitions": self.n_transitions,
            "low_count_transitions": int(np.sum(self.low_count)),
            "features": self.feature_names,
            "bootstrap_samples": 0 if self.sample_coef is None else int(len(self.sample_coef)),
            "spike_factor": dict(zip(self.populations, map(float, self.spike_factor))),
        }

    def __repr__(self):
        return (f"FittedMarkovModel(estimand={self.estimand!r}, lag={self.lag:g} ms, "
                f"populations={self.populations}, states={len(self.labels)}, "
                f"transitions={self.n_transitions}, features={self.feature_names})")


class FittedChain:
    """Finite-N chain of a fitted model (see :mod:`reduce.estimation.chain`)."""

    def __init__(self, model, sizes, params, scheme="auto"):
        from simulate.validation import check_choice

        scheme = check_choice("scheme", scheme, ("auto", "step", "exact"))
        if scheme == "auto":
            scheme = "step" if model.estimand == "matrix" else "exact"
        if scheme == "step" and model.estimand != "matrix":
            raise ParameterError(
                f"scheme = 'step' needs a transition matrix at a lag (estimand = 'matrix'); "
                f"this model's estimand is {model.estimand!r}: use scheme = 'exact'")
        self.scheme = scheme
        bad = [k for f in model.feature_names
               for k in Feature(f, fn=(lambda tr: None)).base_kinds
               if k not in ("kick_mean", "occ")]
        if bad:
            raise ParameterError(
                f"the finite-N chain represents kick_mean and occ features exactly; this model "
                f"uses {sorted(set(bad))}, which have no exact finite-N form"
            )
        s = model.structure()
        defaults = {q: int(round(model.ode_params.get(f"n_{q.lower()}", 0)))
                    for q in model.populations}
        sizes = dict(defaults if sizes is None else sizes)
        for q in model.populations:
            if q not in sizes or int(sizes[q]) < 1:
                raise ParameterError(f"sizes[{q!r}] = {sizes.get(q)!r}: give a positive "
                                     f"population size for every population {model.populations}")
        unknown = [k for k in params if k not in s.params]
        if unknown:
            raise ParameterError(f"unknown chain parameters {unknown}; known: {list(s.params)}")
        self.model = model
        self.sizes = {q: int(sizes[q]) for q in model.populations}
        self.params = {**s.params, **{k: float(v) for k, v in params.items()}}

    def run(self, t_end, seed=0, x0=None, dt=0.5, occ_dt=1.0, t_burn=0.0):
        """Simulate for ``t_end`` ms; spike counts on bins of ``dt`` ms."""
        from simulate.validation import check_number

        from .chain import simulate_chain

        t_end = check_number("t_end", t_end, 0.0, 1e9, lo_open=True, unit="ms")
        dt = check_number("dt", dt, 0.0, t_end, lo_open=True, unit="ms")
        tau = float(self.model.lag)
        if self.scheme == "step":
            for name, v in (("dt", dt), ("t_end", t_end)):
                k = v / tau
                if abs(k - round(k)) > 1e-6 * max(k, 1.0):
                    raise ParameterError(
                        f"{name} = {v:g} ms: scheme 'step' needs a multiple of the step "
                        f"(the model's lag) {tau:g} ms")
        s2 = _Structure(self.model, self.model.coef)
        s2.params = dict(self.params)
        x0 = self.model.x0() if x0 is None else np.asarray(x0, float)
        return simulate_chain(s2, self.sizes, t_end, seed, x0, dt, occ_dt, t_burn,
                              self.scheme, tau)

    def activity(self, t_end=1000.0, seed=0, **kw):
        """Shortcut: ``run(t_end, seed).activity()``."""
        return self.run(t_end, seed, **kw).activity()


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)
