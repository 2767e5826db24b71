"""Population features per sample: the regressors of the state-dependent transition rates.

A feature is a named scalar function of the population state at a sample. Built-in names:

``kick_mean/QR``
    mean pending kicks per Q-neuron from population R (``samples/kick_mean/QR``; "EI" = I
    onto E). In the ODE a state with dm/dt = −m/τ_QR + p_QR · N_R · f_R (models.md §2),
    f_R the per-neuron spike flux of R (per ms).
``kick_var/QR``
    across-neuron variance of those kicks (``samples/kick_var/QR``); in the ODE
    ds/dt = −2s/τ_QR + m/τ_QR + p_QR(1 − p_QR) · N_R · f_R.
``rate/Q``
    population rate of Q in Hz, low-pass filtered with time constant ``rate_tau`` (ms):
    r ← r·e^{−δ/τ_f} + 1000·c_k/(N_Q τ_f) per rate bin of width δ with c_k spikes; in the ODE
    dr/dt = (1000 f_Q − r)/τ_f.
``occ/Q/k``
    fraction of Q-neurons in reduced state k (index or label) — in the ODE a function of the
    state.

``A*B``
    product of two features with an ODE form (e.g. ``kick_mean/EE*kick_mean/EE``, the
    square of a kick mean): log-rates quadratic in the kick means. Physically motivated: the
    probability that a Gaussian voltage increment of mean ∝ S m/τ carries a neuron across a
    distance d has a log that is quadratic in m (the Gaussian tail), which a log-linear rate
    cannot follow; measured effect in docs/estimation.md. The factors must also be features of
    the model (their data means give the ODE's start).

User features: :func:`register_feature` (a name → ``callable(traj) -> ndarray (T,)``) or a
``(name, callable)`` pair in the ``features`` argument; they can be fitted but have no ODE
form (``FittedMarkovModel.ode`` then says so).

The ``features`` argument of the estimator: ``None`` (constant rates), ``"kicks"`` (for
every population Q the kick means onto Q from every population), a list (the same features
for every population), or a dict ``{population: list}``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from simulate.validation import ParameterError

__all__ = ["Feature", "register_feature", "FEATURES", "parse_features", "sample_feature"]

#: User-registered features: name -> callable(traj) -> ndarray (T,).
FEATURES: dict = {}

_KINDS = ("kick_mean", "kick_var", "rate", "occ")


def register_feature(name: str, fn: Callable) -> None:
    """Register a user feature ``fn(traj) -> ndarray (T,)`` under ``name``."""
    if not callable(fn):
        raise ParameterError(f"feature {name!r}: expected a callable, got {type(fn).__name__}")
    if name.split("/")[0] in _KINDS:
        raise ParameterError(f"feature name {name!r} clashes with the built-in kind "
                             f"{name.split('/')[0]!r}")
    FEATURES[str(name)] = fn


class Feature:
    """One feature: ``name`` (e.g. ``"kick_mean/EI"``), its ``kind`` and arguments."""

    def __init__(self, name: str, fn: Callable | None = None):
        self.name = str(name)
        self.factors = ()
        if "*" in self.name:
            names = self.name.split("*")
            if len(names) != 2 or not all(names):
                raise ParameterError(f"feature {name!r}: a product feature is 'A*B' with two "
                                     "features, e.g. 'kick_mean/EE*kick_mean/EI'")
            self.factors = tuple(Feature(n) for n in names)
            self.kind = "product"
            self.fn = None
            return
        parts = self.name.split("/")
        self.kind = parts[0] if parts[0] in _KINDS else "custom"
        self.fn = fn
        if self.kind in ("kick_mean", "kick_var"):
            if len(parts) != 2 or len(parts[1]) < 2:
                raise ParameterError(f"feature {name!r}: expected '{self.kind}/QR', e.g. "
                                     f"'{self.kind}/EI'")
            self.pathway = parts[1]
        elif self.kind == "rate":
            if len(parts) != 2:
                raise ParameterError(f"feature {name!r}: expected 'rate/Q', e.g. 'rate/E'")
            self.pop = parts[1]
        elif self.kind == "occ":
            if len(parts) != 3:
                raise ParameterError(f"feature {name!r}: expected 'occ/Q/STATE', e.g. 'occ/E/R'")
            self.pop, self.state = parts[1], parts[2]
        elif fn is None and self.name not in FEATURES:
            raise ParameterError(
                f"unknown feature {name!r}; built-in kinds: kick_mean/QR, kick_var/QR, rate/Q, "
                f"occ/Q/STATE; registered: {sorted(FEATURES) or 'none'}"
            )

    @property
    def has_ode(self) -> bool:
        if self.kind == "product":
            return all(f.has_ode for f in self.factors)
        return self.kind != "custom"

    @property
    def base_kinds(self) -> set:
        """Kinds of the feature itself or, for a product, of its factors."""
        return {f.kind for f in self.factors} if self.factors else {self.kind}

    def __repr__(self):
        return f"Feature({self.name!r})"


def split_pathway(pathway: str, populations) -> tuple:
    """Split a pathway name ``"EI"``/``"E1I"`` into (target, source) population names."""
    for q in sorted(populations, key=len, reverse=True):
        if pathway.startswith(q) and pathway[len(q):] in populations:
            return q, pathway[len(q):]
    raise ParameterError(
        f"pathway {pathway!r} is not a pair of populations {list(populations)} (target first, "
        "e.g. 'EI' = I onto E)"
    )


def parse_features(spec, populations) -> dict:
    """Normalise a ``features`` argument to ``{population: [Feature, ...]}``."""
    populations = list(populations)
    if spec is None or (isinstance(spec, str) and spec.lower() == "none"):
        return {q: [] for q in populations}
    if isinstance(spec, str) and spec.lower() == "kicks":
        return {q: [Feature(f"kick_mean/{q}{r}") for r in populations] for q in populations}
    if isinstance(spec, str) and spec.lower() == "kicks2":
        out = {}
        for q in populations:
            lin = [f"kick_mean/{q}{r}" for r in populations]
            quad = [f"{a}*{b}" for i, a in enumerate(lin) for b in lin[i:]]
            out[q] = [Feature(n) for n in lin + quad]
        return out
    if isinstance(spec, dict):
        unknown = [q for q in spec if q not in populations]
        if unknown:
            raise ParameterError(f"features: unknown populations {unknown}; the trajectories "
                                 f"have {populations}")
        return {q: _items(spec.get(q, [])) for q in populations}
    if isinstance(spec, str):
        spec = [spec]
    items = _items(spec)
    return {q: list(items) for q in populations}


def _items(seq) -> list:
    out = []
    for it in seq:
        if isinstance(it, Feature):
            out.append(it)
        elif isinstance(it, str):
            out.append(Feature(it))
        elif isinstance(it, tuple) and len(it) == 2 and callable(it[1]):
            out.append(Feature(it[0], it[1]))
        else:
            raise ParameterError(f"feature {it!r}: expected a name or a (name, callable) pair")
    return out


def filtered_rate(traj, pop: str, tau_f: float) -> np.ndarray:
    """The ``rate/<pop>`` feature (Hz) at the sample times of ``traj`` (see module docstring)."""
    for key in ("rate/t", f"rate/{pop}"):
        if key not in traj:
            raise ParameterError(f"feature rate/{pop} needs the array {key!r}, absent from the "
                                 "trajectory")
    t = np.asarray(traj["rate/t"], float)
    c = np.asarray(traj[f"rate/{pop}"], float)
    delta = float(traj.meta["rate_dt"])
    decay = np.exp(-delta / tau_f)
    gain = 1000.0 / (traj.sizes[pop] * tau_f)
    from scipy.signal import lfilter

    r = lfilter([gain], [1.0, -decay], c)          # value at the end of each rate bin
    ends = t + delta
    st = np.asarray(traj["samples/t"], float)
    idx = np.searchsorted(ends, st + 1e-9, side="right") - 1
    out = np.where(idx >= 0, r[np.clip(idx, 0, len(r) - 1)], 0.0)
    return out


def sample_feature(f: Feature, traj, occ_frac: dict, labels: list, rate_tau: float):
    """Values (T,) of feature ``f`` at the samples of ``traj``.

    ``occ_frac[Q]`` is the (T, S) array of reduced-state fractions of population Q.
    """
    if f.kind == "product":
        a, b = (sample_feature(g, traj, occ_frac, labels, rate_tau) for g in f.factors)
        n = min(len(a), len(b))
        return a[:n] * b[:n]
    if f.kind in ("kick_mean", "kick_var"):
        key = f"samples/{f.kind}/{f.pathway}"
        if key not in traj:
            raise ParameterError(f"feature {f.name!r} needs the array {key!r}, absent from the "
                                 "trajectory")
        return np.asarray(traj[key], float).reshape(-1)
    if f.kind == "rate":
        return filtered_rate(traj, f.pop, rate_tau)
    if f.kind == "occ":
        if f.pop not in occ_frac:
            raise ParameterError(f"feature {f.name!r}: unknown population {f.pop!r}")
        k = state_index(f.state, labels)
        return occ_frac[f.pop][:, k]
    fn = f.fn or FEATURES[f.name]
    val = np.asarray(fn(traj), float).reshape(-1)
    return val


def state_index(state, labels) -> int:
    """Index of a reduced state given by index or label."""
    if str(state) in labels:
        return labels.index(str(state))
    try:
        k = int(state)
    except ValueError:
        raise ParameterError(f"state {state!r} is not one of {labels}") from None
    if not 0 <= k < len(labels):
        raise ParameterError(f"state = {k} is outside the valid range [0, {len(labels) - 1}]")
    return k
