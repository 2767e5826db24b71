"""Transition counts and exposures: the sufficient statistics of the rate estimator (numba).

Two estimands (models.md §3):

*Transition matrix at lag τ from snapshots.* With ``s_n(t)`` the reduced state of neuron n at
sample t (``s = lut[raw]``) and a lag of ``L`` samples (τ = L · record_dt),

    C_t(Q, a → b) = #{n in Q : s_n(t) = a, s_n(t + L) = b},   a ≠ b,
    O_t(Q, a)     = #{n in Q : s_n(t) = a},

and the transition probability is estimated by P̂_ab(τ) = Σ_t C_t / Σ_t O_t, i.e. the rate
``P_ab(τ)/τ`` has the estimate count / exposure with exposure ``E_t = O_t · τ`` (neuron-ms).

*Generator from event logs.* With every jump logged (exact simulator), for the sample
interval [t_k, t_{k+1}) of length Δ_k,

    C_k(Q, a → b) = number of logged jumps a → b of Q-neurons in the interval,
    E_k(Q, a) = ∫ n_a(t) dt
              = O_k(a)·Δ_k + Σ_{jumps e in interval} (t_{k+1} − t_e)(δ_{b_e a} − δ_{a_e a}),

and count / exposure is the maximum-likelihood estimate of the generator entry q_ab.

Snapshots are counted in one pass (:func:`snapshot_counts`: a column is opened for each
transition when it first occurs), event logs in two (totals, then per-sample counts), so memory
is O(T · #observed transitions + T · P · S), independent of the number of neurons per
sample. :func:`numpy_total_counts` is the plain-NumPy peer
(``np.add.at``) used by the benchmark.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from simulate.validation import ParameterError

__all__ = [
    "snapshot_counts",
    "snapshot_totals",
    "snapshot_sample_counts",
    "event_totals",
    "event_sample_counts",
    "numpy_total_counts",
    "column_index",
]


@njit(cache=True)
def _snapshot_totals(raw, lut, pop, lag, n_pop, n_states):
    T, N = raw.shape
    tot = np.zeros((n_pop, n_states, n_states), np.int64)
    occ = np.zeros((T, n_pop, n_states), np.int32)
    for t in range(T):
        has_next = t + lag < T
        for n in range(N):
            q = pop[n]
            a = lut[raw[t, n]]
            occ[t, q, a] += 1
            if has_next:
                b = lut[raw[t + lag, n]]
                if a != b:
                    tot[q, a, b] += 1
    return tot, occ


@njit(cache=True)
def _snapshot_sample_counts(raw, lut, pop, lag, col, n_col):
    T, N = raw.shape
    Tp = max(T - lag, 0)
    C = np.zeros((Tp, n_col), np.int32)
    for t in range(Tp):
        for n in range(N):
            a = lut[raw[t, n]]
            b = lut[raw[t + lag, n]]
            if a != b:
                c = col[pop[n], a, b]
                if c >= 0:
                    C[t, c] += 1
    return C


@njit(cache=True)
def _snapshot_one_pass(raw, lut, pop, lag, n_pop, n_states, cap):
    T, N = raw.shape
    Tp = max(T - lag, 0)
    col = -np.ones((n_pop, n_states, n_states), np.int64)
    keys = np.empty((n_pop * n_states * n_states, 3), np.int64)
    n_col = 0
    C = np.zeros((Tp, cap), np.int32)
    occ = np.zeros((T, n_pop, n_states), np.int32)
    for t in range(T):
        has_next = t < Tp
        for n in range(N):
            q = pop[n]
            a = lut[raw[t, n]]
            occ[t, q, a] += 1
            if has_next:
                b = lut[raw[t + lag, n]]
                if a != b:
                    c = col[q, a, b]
                    if c < 0:
                        c = n_col
                        col[q, a, b] = c
                        keys[c, 0] = q
                        keys[c, 1] = a
                        keys[c, 2] = b
                        n_col += 1
                        if n_col > C.shape[1]:
                            C2 = np.zeros((Tp, 2 * C.shape[1]), np.int32)
                            C2[:, :C.shape[1]] = C
                            C = C2
                    C[t, c] += 1
    return C[:, :n_col], keys[:n_col], occ


def snapshot_counts(raw, lut, pop, lag, n_pop, n_states):
    """One pass: per-sample counts ``(T - lag, n_col)`` of every observed transition, their
    keys ``(n_col, 3)`` = (population, from, to) in order of first occurrence, and the
    occupancies ``(T, P, S)``. Memory: the per-sample counts and occupancies only."""
    raw = _check_raw(raw, lut)
    C, keys, occ = _snapshot_one_pass(raw, np.asarray(lut, np.int64),
                                      np.asarray(pop, np.int64), int(lag), int(n_pop),
                                      int(n_states), 64)
    return C.copy(), keys.copy(), occ


def _check_raw(raw, lut):
    raw = np.asarray(raw)
    if raw.ndim != 2:
        raise ParameterError(f"coarse must be a (T, N) array of states, got shape {raw.shape}")
    if raw.size:
        lo, hi = int(raw.min()), int(raw.max())
        if lo < 0 or hi >= len(lut):
            raise ParameterError(
                f"coarse states range over [{lo}, {hi}], outside the valid range "
                f"[0, {len(lut) - 1}] of the bin layout (bins/coarse edges + refractory); "
                "mismatched bin layout?"
            )
    if raw.dtype not in (np.int16, np.int32, np.int64, np.int8, np.uint8):
        raw = raw.astype(np.int32)
    return np.ascontiguousarray(raw)


def snapshot_totals(raw, lut, pop, lag, n_pop, n_states):
    """Total transition counts ``(P, S, S)`` at lag ``lag`` samples and occupancies ``(T, P, S)``.

    Parameters
    ----------
    raw : ndarray (T, N) of int
        Raw coarse index of every neuron at every sample.
    lut : ndarray (B+1,) int64
        Reduced state of each raw index.
    pop : ndarray (N,) int64
        Population index of each neuron.
    lag : int
        Lag in samples (>= 1).
    """
    raw = _check_raw(raw, lut)
    return _snapshot_totals(raw, np.asarray(lut, np.int64), np.asarray(pop, np.int64),
                            int(lag), int(n_pop), int(n_states))


def snapshot_sample_counts(raw, lut, pop, lag, col):
    """Per-sample counts ``(T - lag, n_col)`` int32 of the transitions with a column in ``col``."""
    raw = _check_raw(raw, lut)
    n_col = int(col.max()) + 1 if col.size and col.max() >= 0 else 0
    return _snapshot_sample_counts(raw, np.asarray(lut, np.int64), np.asarray(pop, np.int64),
                                   int(lag), np.asarray(col, np.int64), n_col)


def column_index(tot, min_count=1):
    """Columns for the transitions with total count >= ``min_count``.

    Returns ``col`` (P, S, S) int64 with -1 for no column, and the list of (q, a, b) per column.
    """
    col = -np.ones(tot.shape, np.int64)
    keys = [tuple(int(v) for v in k) for k in np.argwhere(tot >= max(min_count, 1))]
    for c, (q, a, b) in enumerate(keys):
        col[q, a, b] = c
    return col, keys


def numpy_total_counts(raw, lut, pop, lag, n_pop, n_states):
    """Plain-NumPy peer of :func:`snapshot_totals` (totals only, ``np.add.at``)."""
    raw = np.asarray(raw)
    a = lut[raw[:-lag]]
    b = lut[raw[lag:]]
    q = np.broadcast_to(pop, a.shape)
    m = a != b
    tot = np.zeros((n_pop, n_states, n_states), np.int64)
    np.add.at(tot, (q[m], a[m], b[m]), 1)
    return tot


# ---------------------------------------------------------------------------- event logs
@njit(cache=True)
def _event_pass(sample_t, occ, ev_t, ev_i, ev_from, ev_to, lut, pop, col, n_col, n_pop,
                n_states, want_samples):
    T = sample_t.shape[0]
    K = T - 1
    tot = np.zeros((n_pop, n_states, n_states), np.int64)
    C = np.zeros((K if want_samples else 0, n_col), np.int32)
    E = np.zeros((K, n_pop, n_states))
    for k in range(K):
        dt = sample_t[k + 1] - sample_t[k]
        for q in range(n_pop):
            for s in range(n_states):
                E[k, q, s] = occ[k, q, s] * dt
    k = 0
    n_ev = ev_t.shape[0]
    n_bad = 0
    for e in range(n_ev):
        t = ev_t[e]
        if t < sample_t[0] or t >= sample_t[T - 1]:
            continue
        while sample_t[k + 1] <= t:
            k += 1
        a = lut[ev_from[e]]
        b = lut[ev_to[e]]
        if a == b:
            continue
        q = pop[ev_i[e]]
        rem = sample_t[k + 1] - t
        E[k, q, b] += rem
        E[k, q, a] -= rem
        tot[q, a, b] += 1
        if want_samples:
            c = col[q, a, b]
            if c >= 0:
                C[k, c] += 1
        if E[k, q, a] < -1e-6 * (sample_t[k + 1] - sample_t[k]):
            n_bad += 1
    return tot, C, E, n_bad


def _check_events(sample_t, ev_t, ev_i, ev_from, ev_to, lut, n_neurons):
    ev_t = np.ascontiguousarray(ev_t, np.float64)
    if len(ev_t) > 1 and np.any(np.diff(ev_t) < 0):
        raise ParameterError("events/t must be sorted in time")
    ev_i = np.ascontiguousarray(ev_i, np.int64)
    ev_from = np.ascontiguousarray(ev_from, np.int64)
    ev_to = np.ascontiguousarray(ev_to, np.int64)
    if not (len(ev_t) == len(ev_i) == len(ev_from) == len(ev_to)):
        raise ParameterError("events/t, /i, /from, /to must have the same length")
    for name, arr, hi in (("events/i", ev_i, n_neurons), ("events/from", ev_from, len(lut)),
                          ("events/to", ev_to, len(lut))):
        if len(arr) and (arr.min() < 0 or arr.max() >= hi):
            raise ParameterError(
                f"{name} ranges over [{arr.min()}, {arr.max()}], outside the valid range "
                f"[0, {hi - 1}]"
            )
    st = np.ascontiguousarray(sample_t, np.float64)
    if len(st) < 2 or np.any(np.diff(st) <= 0):
        raise ParameterError("samples/t must be strictly increasing with at least 2 samples")
    return st, ev_t, ev_i, ev_from, ev_to


def event_totals(sample_t, occ, ev_t, ev_i, ev_from, ev_to, lut, pop, n_pop, n_states):
    """Total jump counts ``(P, S, S)`` and exposures ``(T-1, P, S)`` (neuron-ms) from events."""
    st, ev_t, ev_i, ev_from, ev_to = _check_events(sample_t, ev_t, ev_i, ev_from, ev_to, lut,
                                                   len(pop))
    col = -np.ones((n_pop, n_states, n_states), np.int64)
    tot, _, E, n_bad = _event_pass(st, np.asarray(occ, np.int32), ev_t, ev_i, ev_from, ev_to,
                                   np.asarray(lut, np.int64), np.asarray(pop, np.int64), col, 0,
                                   n_pop, n_states, False)
    if n_bad:
        raise ParameterError(
            f"the event log is inconsistent with the sampled coarse states ({n_bad} jumps out of "
            "states that were empty); events/from and coarse must use the same bins"
        )
    return tot, E


def event_sample_counts(sample_t, occ, ev_t, ev_i, ev_from, ev_to, lut, pop, col):
    """Per-interval jump counts ``(T-1, n_col)`` int32 for the transitions in ``col``."""
    st, ev_t, ev_i, ev_from, ev_to = _check_events(sample_t, ev_t, ev_i, ev_from, ev_to, lut,
                                                   len(pop))
    n_pop, n_states = col.shape[0], col.shape[1]
    n_col = int(col.max()) + 1 if col.size and col.max() >= 0 else 0
    _, C, _, _ = _event_pass(st, np.asarray(occ, np.int32), ev_t, ev_i, ev_from, ev_to,
                             np.asarray(lut, np.int64), np.asarray(pop, np.int64),
                             np.asarray(col, np.int64), n_col, n_pop, n_states, True)
    return C
