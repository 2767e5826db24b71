"""Synthetic trajectories of Markov chains with known rates (tests, benchmarks, examples).

Every neuron of population Q is an independent continuous-time Markov chain on S reduced
states (the last one is the refractory state R) with generator G_Q(x_t), piecewise constant on
each sample interval [t_k, t_{k+1}) and depending on an exogenous feature x_t stored as
``samples/kick_mean/<QQ>`` (so the estimator sees it as a ``kick_mean`` feature).

The raw bin edges are ``0, 1, ..., S-1`` (S-1 voltage bins; raw index S-1 is R), so the
trajectory's own bins are the reduced states.

- ``mode="snapshots"``: each neuron moves between samples with the exact transition matrix
  expm(G(x_k)·Δ) (only the ``coarse`` array is recorded);
- ``mode="events"``: the jumps are simulated one by one and logged (``events/*``), as the
  exact network simulator would.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.linalg import expm

from simulate.trajectory import Trajectory

__all__ = ["synthetic_trajectory", "loglinear_generator"]


def loglinear_generator(a, b=None, c=None):
    """``G(x)``: off-diagonal rates exp(a_ij + b_ij x + c_ij x²) (−inf in a: no transition;
    ``c`` = None: log-linear)."""
    a = np.asarray(a, float)
    b = np.zeros_like(a) if b is None else np.asarray(b, float)
    c = np.zeros_like(a) if c is None else np.asarray(c, float)

    def G(x):
        with np.errstate(over="ignore"):
            R = np.where(np.isfinite(a), np.exp(a + b * x + c * x * x), 0.0)
        np.fill_diagonal(R, 0.0)
        R[np.diag_indices(len(R))] = -R.sum(axis=1)
        return R

    return G


@njit(cache=True)
def _snap(cumP, pop, s0, seed):
    np.random.seed(seed)  # noqa: NPY002
    T = cumP.shape[0] + 1
    N = pop.shape[0]
    S = cumP.shape[2]
    out = np.empty((T, N), np.int16)
    for n in range(N):
        out[0, n] = s0[n]
    for t in range(T - 1):
        for n in range(N):
            a = out[t, n]
            u = np.random.random()  # noqa: NPY002
            b = S - 1
            for j in range(S):
                if u < cumP[t, pop[n], a, j]:
                    b = j
                    break
            out[t + 1, n] = b
    return out


@njit(cache=True)
def _events(G, pop, s0, st, seed):
    np.random.seed(seed)  # noqa: NPY002
    T = st.shape[0]
    N = pop.shape[0]
    S = G.shape[2]
    out = np.empty((T, N), np.int16)
    cap = 1024
    ev_t = np.empty(cap)
    ev_i = np.empty(cap, np.int64)
    ev_a = np.empty(cap, np.int64)
    ev_b = np.empty(cap, np.int64)
    m = 0
    for n in range(N):
        s = s0[n]
        out[0, n] = s
        q = pop[n]
        for k in range(T - 1):
            t = st[k]
            while True:
                out_rate = -G[k, q, s, s]
                if out_rate <= 0.0:
                    break
                t += -np.log(1.0 - np.random.random()) / out_rate  # noqa: NPY002
                if t >= st[k + 1]:
                    break
                u = np.random.random() * out_rate  # noqa: NPY002
                acc = 0.0
                nb = s
                for j in range(S):
                    if j != s:
                        acc += G[k, q, s, j]
                        if u < acc:
                            nb = j
                            break
                if nb == s:
                    continue
                if m == cap:
                    cap *= 2
                    ev_t = np.concatenate((ev_t, np.empty(cap - m)))
                    ev_i = np.concatenate((ev_i, np.empty(cap - m, np.int64)))
                    ev_a = np.concatenate((ev_a, np.empty(cap - m, np.int64)))
                    ev_b = np.concatenate((ev_b, np.empty(cap - m, np.int64)))
                ev_t[m] = t
                ev_i[m] = n
                ev_a[m] = s
                ev_b[m] = nb
                m += 1
                s = nb
            out[k + 1, n] = s
    return out, ev_t[:m], ev_i[:m], ev_a[:m], ev_b[:m]


def synthetic_trajectory(generators, sizes, t_end, record_dt=0.1, feature=None, seed=0,
                         mode="snapshots", params=None, s0=None):
    """A :class:`simulate.Trajectory` of independent chains with known generators.

    Parameters
    ----------
    generators : dict[str, callable]
        ``G_Q(x) -> (S, S)`` generator of population Q (rows sum to 0) at feature value x.
    sizes : dict[str, int]
        Neurons per population (the order of the dict is the population order).
    t_end : float
        Duration (ms); samples at ``0, record_dt, ...``.
    feature : callable, optional
        ``x(t)`` for the sample times (default 0); stored as ``samples/kick_mean/<QQ>`` for
        every population Q.
    mode : {"snapshots", "events"}
    params : dict, optional
        Stored as the trajectory's ``params``.
    s0 : ndarray (N,), optional
        Initial states (default: the stationary law at x(0), drawn per neuron).
    """
    pops = list(sizes)
    rng = np.random.default_rng(seed)
    st = np.arange(int(round(t_end / record_dt)) + 1) * record_dt
    x = np.zeros(len(st)) if feature is None else np.asarray(feature(st), float)
    S = generators[pops[0]](x[0]).shape[0]
    pop = np.concatenate([np.full(sizes[q], i, np.int64) for i, q in enumerate(pops)])
    if s0 is None:
        s0 = np.empty(len(pop), np.int64)
        for i, q in enumerate(pops):
            G = generators[q](x[0])
            w, v = np.linalg.eig(G.T)
            pi = np.real(v[:, np.argmin(np.abs(w))])
            pi = np.abs(pi) / np.abs(pi).sum()
            s0[pop == i] = rng.choice(S, size=sizes[q], p=pi)
    G_all = np.empty((len(st) - 1, len(pops), S, S))
    cache = {}
    for k in range(len(st) - 1):
        for i, q in enumerate(pops):
            key = (q, x[k])
            if key not in cache:
                cache[key] = generators[q](x[k])
            G_all[k, i] = cache[key]
    sub = int(rng.integers(2**31))
    arrays = {"samples/t": st, "bins/coarse": np.arange(S, dtype=float)}
    if mode == "snapshots":
        cumP = np.empty_like(G_all)
        pcache = {}
        for k in range(len(st) - 1):
            for i, q in enumerate(pops):
                key = (q, x[k])
                if key not in pcache:
                    P = expm(G_all[k, i] * record_dt)
                    P = np.clip(P, 0.0, None)
                    P /= P.sum(axis=1, keepdims=True)
                    pcache[key] = np.cumsum(P, axis=1)
                cumP[k, i] = pcache[key]
        arrays["coarse"] = _snap(cumP, pop, s0.astype(np.int64), sub)
    elif mode == "events":
        coarse, ev_t, ev_i, ev_a, ev_b = _events(G_all, pop, s0.astype(np.int64), st, sub)
        order = np.argsort(ev_t, kind="stable")
        arrays.update({"coarse": coarse, "events/t": ev_t[order], "events/i": ev_i[order],
                       "events/from": ev_a[order].astype(np.int16),
                       "events/to": ev_b[order].astype(np.int16)})
    else:
        raise ValueError(f"mode = {mode!r}; valid: 'snapshots', 'events'")
    for q in pops:
        arrays[f"samples/kick_mean/{q}{q}"] = x
    return Trajectory("synthetic-chain", dict(params or {}), seed, pops, sizes, t_end, arrays,
                      {"record_dt": record_dt}, t_burn=0.0)
