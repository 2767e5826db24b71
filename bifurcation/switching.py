"""Metastable switching: states, dwell times and switching rates from time series and chains.

From a trajectory (a network simulation or a stochastic chain) described by population
features on a time grid (e.g. the smoothed rates of two excitatory assemblies):

1. :func:`metastable_states` labels every time point with a metastable state: k-means
   clustering of the (standardised) features, followed by a minimum-dwell filter that removes
   crossings shorter than ``min_dwell`` (flickers at the boundary are not switches);
2. :func:`dwell_times` cuts the label sequence into visits; the first and last visits are
   censored (their true length is unknown) and are dropped;
3. :func:`switching_rates`: with dwell times exponential (a Markov jump process between the
   metastable states), the maximum-likelihood rate out of state s is
   ``k_s = n_s / Σ d_i`` with an exact 95% interval from the Gamma distribution of the sum,
   ``[χ²_{2n, 0.025} / (2 Σ d), χ²_{2n, 0.975} / (2 Σ d)]``;
4. :func:`transition_graph`: a networkx DiGraph of visit-to-visit transitions with counts;
5. :func:`mean_first_passage_times` for a finite chain with generator ``Q``: solve
   ``Q_AA τ_A = −1`` on the complement A of the target set;
6. :func:`fit_dwell_scaling`: mean dwell time against system size N, fitted as an exponential
   ``T = a·exp(b·N)`` and a power law ``T = a·N^b`` by weighted least squares on log T, with
   confidence intervals of b and the residual sum of squares of each;
7. :func:`gpcca_states`: the non-reversible spectral alternative to step 1 — k-means
   microstates, their transition matrix at a lag, G-PCCA (:mod:`bifurcation.gpcca`) into
   metastable sets, each time point labelled by the set of its microstate (with the same
   milestoning as the core sets: points whose microstate membership is below ``core`` keep
   the last set visited), plus the coarse chain and the mean first-passage times between the
   sets computed from the microstate chain;
8. :func:`telegraph`: a two-state Markov jump process on a grid (the synthetic reference of
   the tests and benchmarks).

Too few switches for a rate give a warning that says how many are needed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

from simulate.validation import ParameterError, check_number

__all__ = [
    "metastable_states",
    "dwell_times",
    "switching_rates",
    "transition_graph",
    "mean_first_passage_times",
    "fit_dwell_scaling",
    "SwitchingRate",
    "MIN_SWITCHES",
    "gpcca_states",
    "telegraph",
]

MIN_SWITCHES = 30


def metastable_states(features, t=None, *, n_states: int = 2, min_dwell: float = 0.0,
                      core: float = 0.5, seed: int = 0) -> np.ndarray:
    """Label each time point with a metastable state.

    k-means finds the state centres c_s in standardised feature space; a point is in the
    *core* of state s when it is closer to c_s than ``core`` times half the distance from c_s
    to the nearest other centre. Points outside every core keep the label of the last core
    visited (milestoning, as in core-set Markov state models), so a trajectory that lingers
    on the boundary is not counted as switching back and forth.

    Parameters
    ----------
    features : ndarray (T,) or (T, d)
        Population features on a regular time grid (e.g. smoothed assembly rates).
    t : ndarray (T,), optional
        Times (default 0, 1, 2, ...); used for ``min_dwell``.
    n_states : int
        Number of metastable states (k-means clusters).
    core : float
        Core radius as a fraction of half the distance to the nearest other centre, in (0, 1];
        1 assigns every point to its nearest centre (no milestoning).
    min_dwell : float
        Visits shorter than this are merged into the preceding state.
    seed : int
        Seed of k-means.

    Returns
    -------
    labels : ndarray (T,) of int
        State per time point, ordered by the first feature's cluster mean (state 0 lowest).
    """
    from sklearn.cluster import KMeans

    X = np.asarray(features, float)
    if X.ndim == 1:
        X = X[:, None]
    if len(X) < n_states * 10:
        raise ParameterError(
            f"features has {len(X)} time points; need at least {n_states * 10} to find "
            f"{n_states} states"
        )
    if not np.all(np.isfinite(X)):
        raise ParameterError("features contain non-finite values")
    t = np.arange(len(X), dtype=float) if t is None else np.asarray(t, float)
    Z = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    km = KMeans(n_clusters=n_states, n_init=10, random_state=seed).fit(Z)
    order = np.argsort(km.cluster_centers_[:, 0])
    rank = np.empty(n_states, dtype=np.int64)
    rank[order] = np.arange(n_states)
    check_number("core", core, 0.0, 1.0, lo_open=True)
    C = km.cluster_centers_
    dist = np.linalg.norm(Z[:, None, :] - C[None, :, :], axis=2)
    dc = np.linalg.norm(C[:, None, :] - C[None, :, :], axis=2)
    np.fill_diagonal(dc, np.inf)
    radius = core * 0.5 * dc.min(axis=1)
    in_core = dist < radius[None, :]
    nearest = km.labels_
    raw = np.where(in_core[np.arange(len(Z)), nearest], nearest, -1)
    labels = rank[_milestone(raw)]
    if min_dwell > 0:
        labels = _min_dwell_filter(labels, t, min_dwell)
    return labels


def _milestone(raw):
    """Core labels (−1 outside every core) → the last core visited (points before the first
    core visit take its label)."""
    raw = np.asarray(raw).copy()
    first = np.flatnonzero(raw >= 0)
    if len(first) == 0:
        raise ParameterError("no point lies in any state core; lower n_states or raise core")
    raw[: first[0]] = raw[first[0]]
    idx = np.where(raw >= 0, np.arange(len(raw)), 0)
    np.maximum.accumulate(idx, out=idx)
    return raw[idx]


def _min_dwell_filter(labels, t, min_dwell):
    labels = labels.copy()
    changed = True
    while changed:
        changed = False
        starts, ends = _runs(labels)
        for k in range(1, len(starts)):
            a, b = starts[k], ends[k]
            dur = t[min(b, len(t) - 1)] - t[a]
            if dur < min_dwell and b < len(labels):  # interior short visit: a flicker
                labels[a:b] = labels[a - 1]
                changed = True
                break
    return labels


def _runs(labels):
    change = np.flatnonzero(np.diff(labels) != 0) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(labels)]])
    return starts, ends


def dwell_times(labels, t) -> dict:
    """Durations of complete visits to each state (first and last visits are censored, dropped).

    Returns
    -------
    dict[int, ndarray]
        State -> dwell durations (time units of ``t``).
    """
    labels = np.asarray(labels)
    t = np.asarray(t, float)
    starts, ends = _runs(labels)
    out: dict = {int(s): [] for s in np.unique(labels)}
    for a, b in list(zip(starts, ends))[1:-1]:
        out[int(labels[a])].append(t[b] - t[a])
    return {k: np.array(v) for k, v in out.items()}


@dataclass
class SwitchingRate:
    """Rate of leaving one metastable state.

    Attributes
    ----------
    state : int
    rate : float
        Switches per time unit (ML estimate ``n / Σ d``).
    ci : tuple
        Exact 95% interval (Gamma / χ²).
    mean_dwell : float
    mean_dwell_ci : tuple
    n : int
        Complete visits used.
    """

    state: int
    rate: float
    ci: tuple
    mean_dwell: float
    mean_dwell_ci: tuple
    n: int


def switching_rates(dwells: dict, level: float = 0.95) -> dict:
    """Rates of leaving each state, with exact intervals (exponential dwell times assumed).

    Warns when a state has fewer than :data:`MIN_SWITCHES` complete visits, saying how much
    longer the run must be.
    """
    out = {}
    a = (1 - level) / 2
    for s, d in dwells.items():
        d = np.asarray(d, float)
        n = len(d)
        if n < MIN_SWITCHES:
            factor = MIN_SWITCHES / max(n, 1)
            warnings.warn(
                f"state {s}: only {n} complete visits; a switching rate needs at least "
                f"{MIN_SWITCHES} (run about {factor:.1f} times longer or pool more trials)",
                stacklevel=2)
        if n == 0:
            out[s] = SwitchingRate(s, np.nan, (0.0, np.inf), np.nan, (0.0, np.inf), 0)
            continue
        tot = float(d.sum())
        lo = stats.chi2.ppf(a, 2 * n) / (2 * tot)
        hi = stats.chi2.ppf(1 - a, 2 * n) / (2 * tot)
        rate = n / tot
        out[s] = SwitchingRate(s, rate, (lo, hi), 1 / rate, (1 / hi, 1 / lo), n)
    return out


def transition_graph(labels):
    """networkx DiGraph of transitions between successive visits, edge attribute ``count``."""
    import networkx as nx

    labels = np.asarray(labels)
    starts, _ = _runs(labels)
    seq = labels[starts]
    g = nx.DiGraph()
    for s in np.unique(labels):
        g.add_node(int(s), visits=int(np.sum(seq == s)))
    for a, b in zip(seq[:-1], seq[1:]):
        a, b = int(a), int(b)
        if g.has_edge(a, b):
            g[a][b]["count"] += 1
        else:
            g.add_edge(a, b, count=1)
    return g


def mean_first_passage_times(Q, target) -> np.ndarray:
    """Mean first-passage times into ``target`` of a continuous-time chain with generator Q.

    Parameters
    ----------
    Q : ndarray or sparse matrix (S, S)
        Generator: off-diagonal rates ``Q[i, j] >= 0``, rows summing to 0.
    target : array_like of int or bool mask
        Target states.

    Returns
    -------
    ndarray (S,)
        Expected time to reach the target from each state (0 on the target).
    """
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    Qm = sp.csr_matrix(Q)
    S = Qm.shape[0]
    mask = np.zeros(S, bool)
    tgt = np.asarray(target)
    mask[tgt if tgt.dtype != bool else np.flatnonzero(tgt)] = True
    rows = np.asarray(Qm.sum(axis=1)).ravel()
    if np.max(np.abs(rows)) > 1e-8 * max(1.0, abs(Qm).max()):
        raise ParameterError("Q is not a generator: its rows must sum to 0")
    A = ~mask
    tau = np.zeros(S)
    QAA = Qm[A][:, A].tocsc()
    tau[A] = spla.spsolve(QAA, -np.ones(A.sum()))
    if not np.all(np.isfinite(tau)) or np.any(tau[A] < 0):
        raise ParameterError("the target cannot be reached from every state (singular system)")
    return tau


def fit_dwell_scaling(N, mean_dwell, stderr=None, level: float = 0.95) -> dict:
    """Fit mean dwell time against N as an exponential and as a power law.

    Weighted least squares on log T with weights 1/var(log T) ≈ (T/stderr)²:

    - exponential: log T = log a + b·N;
    - power law:   log T = log a + b·log N.

    Returns
    -------
    dict
        ``{"exponential": {...}, "power": {...}}`` each with ``a``, ``b``, ``b_ci`` and
        ``chi2`` (weighted residual sum of squares) and ``dof``.
    """
    N = np.asarray(N, float)
    T = np.asarray(mean_dwell, float)
    if len(N) < 3:
        raise ParameterError(f"need dwell times at >= 3 sizes to fit a scaling, got {len(N)}")
    check_number("level", level, 0.0, 1.0, lo_open=True, hi_open=True)
    y = np.log(T)
    w = np.ones_like(y) if stderr is None else (T / np.asarray(stderr, float)) ** 2
    out = {}
    for name, xcol in (("exponential", N), ("power", np.log(N))):
        X = np.column_stack([np.ones_like(xcol), xcol])
        W = np.diag(w)
        cov = np.linalg.inv(X.T @ W @ X)
        beta = cov @ X.T @ W @ y
        res = y - X @ beta
        chi2 = float(res @ W @ res)
        dof = len(y) - 2
        if stderr is None:  # scale the covariance by the residual variance
            cov = cov * (chi2 / max(dof, 1))
        q = stats.t.ppf(0.5 + level / 2, max(dof, 1))
        se_b = float(np.sqrt(cov[1, 1]))
        out[name] = {"a": float(np.exp(beta[0])), "b": float(beta[1]),
                     "b_ci": (float(beta[1] - q * se_b), float(beta[1] + q * se_b)),
                     "chi2": chi2, "dof": dof}
    return out


def telegraph(rates, t_end: float, dt: float, seed=0):
    """Two-state Markov jump process sampled on a grid (vectorised).

    Visits alternate 0, 1, 0, ...; the dwell in state s is exponential with rate
    ``rates[s]``. Returns ``(t, labels, switch_times)`` with ``t = 0, dt, 2dt, ... < t_end``.
    """
    rates = np.asarray(rates, float)
    if rates.shape != (2,) or np.any(rates <= 0):
        raise ParameterError(f"rates = {rates.tolist()} must be two positive rates")
    check_number("t_end", t_end, 0.0, None, lo_open=True)
    check_number("dt", dt, 0.0, t_end, lo_open=True)
    rng = np.random.default_rng(seed)
    n = int(1.2 * t_end * rates.max() / 2 * (1 + rates.max() / rates.min())) + 20
    switch = np.zeros(0)
    while switch.size == 0 or switch[-1] < t_end:
        d = rng.exponential(1.0, size=n) / rates[np.arange(switch.size, switch.size + n) % 2]
        switch = np.concatenate([switch, (switch[-1] if switch.size else 0.0) + np.cumsum(d)])
    switch = switch[switch < t_end]
    t = np.arange(0.0, t_end, dt)
    labels = (np.searchsorted(switch, t, side="right") % 2).astype(np.int64)
    return t, labels, switch


def gpcca_states(features, t=None, *, n_states: int = 2, n_micro: int = 30, lag: int = 1,
                 core: float = 0.9, seed: int = 0) -> dict:
    """Metastable states of a trajectory by G-PCCA on its microstate transition matrix.

    The features (e.g. smoothed assembly rates on a regular grid, spacing ``dt``) are cut into
    ``n_micro`` k-means microstates (:func:`bifurcation.gpcca.microstates`); the
    non-reversible transition matrix T at ``lag`` steps is estimated by counting
    (:func:`bifurcation.gpcca.transition_matrix`) and split by
    :func:`bifurcation.gpcca.gpcca` into ``n_states`` metastable sets with memberships χ.
    A time point is assigned to set j when its microstate's membership χ_j ≥ ``core``
    (a core); otherwise it keeps the last set visited (milestoning).

    Mean first-passage times between the sets from the microstate chain: with the
    generator ``Q = (T − I)/(lag·dt)`` (whose hitting times equal those of the discrete
    chain T), the expected time to reach the core of set j from each microstate
    (:func:`mean_first_passage_times`), averaged over the core of set i with the stationary
    distribution of T restricted to it.

    Returns
    -------
    dict
        ``labels`` (T,) metastable set per time point, ordered like
        :func:`metastable_states` (by the first feature's mean), ``micro`` microstate labels,
        ``T`` microstate transition matrix, ``result`` the :class:`GPCCAResult`,
        ``mfpt`` (n_states, n_states) in time units of ``t``, ``stationary`` of T.
    """
    from .gpcca import gpcca, microstates, transition_matrix

    X = np.asarray(features, float)
    if X.ndim == 1:
        X = X[:, None]
    t = np.arange(len(X), dtype=float) if t is None else np.asarray(t, float)
    check_number("core", core, 0.0, 1.0, lo_open=True)
    micro, _ = microstates(X, n_micro, seed=seed)
    T, _ = transition_matrix(micro, n_micro, lag)
    res = gpcca(T, n_states)
    # order the sets by the mean of the first feature (as metastable_states does)
    means = [np.average(X[:, 0], weights=res.chi[micro, j]) for j in range(n_states)]
    order = np.argsort(means)
    chi = res.chi[:, order]
    member = chi[micro]                                   # (T, n_states)
    best = np.argmax(member, axis=1)
    labels = _milestone(np.where(member[np.arange(len(micro)), best] >= core, best, -1))
    # stationary distribution of T and mean first-passage times between the cores
    w, v = np.linalg.eig(T.T)
    pi = np.abs(np.real(v[:, np.argmin(np.abs(w - 1.0))]))
    pi /= pi.sum()
    dt = float(np.median(np.diff(t))) if len(t) > 1 else 1.0
    Q = (T - np.eye(len(T))) / (lag * dt)
    cores = [np.flatnonzero(chi[:, j] >= core) for j in range(n_states)]
    mfpt = np.zeros((n_states, n_states))
    for j in range(n_states):
        if len(cores[j]) == 0:
            mfpt[:, j] = np.nan
            continue
        tau = mean_first_passage_times(Q, cores[j])
        for i in range(n_states):
            if i != j:
                ci = cores[i]
                mfpt[i, j] = (np.sum(pi[ci] * tau[ci]) / np.sum(pi[ci])) if len(ci) else np.nan
    return {"labels": labels, "micro": micro, "T": T, "result": res, "chi": chi,
            "coarse_T": res.coarse_T[np.ix_(order, order)], "mfpt": mfpt, "stationary": pi,
            "lag_time": lag * dt}
