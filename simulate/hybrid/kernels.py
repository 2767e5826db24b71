# ruff: noqa: NPY002  -- numba supports only the legacy np.random API in njit code
"""Numba kernel of the balanced stochastic-hybrid network (models.md §6, reconstruction).

One step of length dt for neuron k of population p:

1. Flow (exact solution of the linear ODE dx/dt = −α_p x + I_p between events):
   x_k ← x*_p + (x_k − x*_p) e^{−α_p dt}, x*_p = I_p/α_p.
2. Events. The intensity of every process driven by neuron j is f_{p(j)}(x_j), evaluated at
   the step's midpoint of the flow, x_j^{mid} = x*_p + (x_j − x*_p) e^{−α_p dt/2}
   (midpoint quadrature of ∫f(x_j(t))dt, local error O(dt³)); Λ_j = f(x_j^{mid}) dt.

   ``PER_PAIR``: every ordered pair (j, k) has its own Poisson process, so the number of
   events from population q onto k is Poisson(Σ_{j∈q, j≠k} Λ_j), independent across k.
   ``SHARED``: neuron j emits s_j ~ Poisson(Λ_j) spikes, and every neuron k receives
   Σ_{j∈q, j≠k} s_j events from q (identical input for all neurons of a population).

3. Jumps: x_k += J_{p q} N_{kq} / √n for each source population q (applied at the end of the
   step, after the flow).

With ``autapses`` the j = k terms are included.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["PER_PAIR", "SHARED", "hybrid_steps", "seed_numba"]

PER_PAIR = 0
SHARED = 1


@njit(cache=True)
def seed_numba(seed):
    """Seed numba's internal generator (``np.random`` inside compiled code) with ``seed``."""
    np.random.seed(seed)


@njit(cache=True, inline="always")
def _logistic(x, fmax, gain, thr):
    z = gain * (x - thr)
    if z >= 0:
        return fmax / (1.0 + np.exp(-z))
    ez = np.exp(z)
    return fmax * ez / (1.0 + ez)


@njit(cache=True)
def hybrid_steps(mode, n0, n_steps, dt, x, pop_of, sizes, xstar, decay, decay_half,
                 jmat, fmax, gain, thr, autapses,
                 lam, spikes, rate_every, b0, rate_acc,
                 sample_every, s0, x_sum, x_sq, f_sum, trace_ids, traces,
                 recv, record_spikes, spk_t, spk_i, n_spk):
    """Advance ``n_steps`` steps; see the module docstring. Returns (steps, n_spk).

    ``jmat[p, q]`` already includes the 1/√n factor. ``rate_acc[b, q]`` accumulates the
    integrated intensity (per-pair) or the spike count (shared) of population q in rate bin
    b; ``recv[k, q]`` counts the events neuron k received from q.
    """
    N = x.shape[0]
    npop = sizes.shape[0]
    tot = np.zeros(npop)
    cnt = np.zeros(npop, np.int64)
    cap = spk_t.shape[0]
    for s in range(n_steps):
        n = n0 + s
        if record_spikes and n_spk + N > cap:
            return s, n_spk
        b = n // rate_every - b0
        for q in range(npop):
            tot[q] = 0.0
            cnt[q] = 0
        for j in range(N):
            q = pop_of[j]
            xm = xstar[q] + (x[j] - xstar[q]) * decay_half[q]
            lj = _logistic(xm, fmax[q], gain[q], thr[q]) * dt
            lam[j] = lj
            tot[q] += lj
            if mode == SHARED:
                sj = np.random.poisson(lj) if lj > 0 else 0
                spikes[j] = sj
                cnt[q] += sj
                if record_spikes and sj > 0:
                    spk_t[n_spk] = n
                    spk_i[n_spk] = j
                    n_spk += 1
        for q in range(npop):
            rate_acc[b, q] += cnt[q] if mode == SHARED else tot[q]
        for k in range(N):
            p = pop_of[k]
            xk = xstar[p] + (x[k] - xstar[p]) * decay[p]
            for q in range(npop):
                if mode == PER_PAIR:
                    lq = tot[q]
                    if not autapses and q == p:
                        lq -= lam[k]
                    m = np.random.poisson(lq) if lq > 0 else 0
                else:
                    m = cnt[q]
                    if not autapses and q == p:
                        m -= spikes[k]
                if m > 0:
                    xk += jmat[p, q] * m
                    recv[k, q] += m
            x[k] = xk
        if (n + 1) % sample_every == 0:
            si = (n + 1) // sample_every - 1 - s0
            for k in range(N):
                p = pop_of[k]
                x_sum[si, p] += x[k]
                x_sq[si, p] += x[k] * x[k]
                f_sum[si, p] += _logistic(x[k], fmax[p], gain[p], thr[p])
            for t in range(trace_ids.shape[0]):
                traces[si, t] = x[trace_ids[t]]
    return n_steps, n_spk
