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
   confidence intervals of b and the residual sum of squares of each.

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
    first = np.flatnonzero(raw >= 0)
    if len(first) == 0:
        raise ParameterError("no point lies in any state core; lower n_states or raise core")
    raw[: first[0]] = raw[first[0]]
    idx = np.where(raw >= 0, np.arange(len(raw)), 0)
    np.maximum.accumulate(idx, out=idx)
    labels = rank[raw[idx]]
    if min_dwell > 0:
        labels = _min_dwell_filter(labels, t, min_dwell)
    return labels


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
