# ruff: noqa: NPY002  -- numba supports only the legacy np.random API in njit code
r"""Exact event-driven simulation of the finite-N Markov-approximation chain (issue 9).

The chain is the continuous-time "redraw" chain of :mod:`reduce.finite_size.ma_chain`
(our reconstruction): every neuron of bin k of population q is redrawn at rate 1/h and lands
in bin j with probability ``P_{kj}(x)`` carrying the centred voltage
``d_{kj} = D_{kj}(x)/P_{kj}(x)``, or fires (probability ``P_{k,fire}(x)``); refractory
neurons leave at rate 1/τ_R to the reset bin; a spike of population r adds ``p_{qr}`` to
``m_{qr}`` and ``p_{qr}(1 − p_{qr})`` to ``s_{qr}``.

Why the time dependence costs nothing here
------------------------------------------
Between events the pending-kick moments relax deterministically, in closed form
(``dm/dt = −m/τ``, ``ds/dt = −2s/τ + m/τ``)::

    m(t + u) = m(t) e^{−u/τ},
    s(t + u) = s(t) e^{−2u/τ} + m(t) (e^{−u/τ} − e^{−2u/τ}),

so the rates of the individual channels k → j, ``n_k P_{kj}(x(t))/h``, change between
events. Their sum over the destinations (the K bins **including j = k**, which changes the
centred total Z_k, and "fire") is ``n_k/h`` because every row of P sums to 1: the
time-dependent channel rates are a *marking* of a homogeneous Poisson clock. By the marking
(superposition) theorem, the chain is simulated exactly by

1. a clock of constant total rate ``Λ = N_tot · r_max``, ``r_max = max(1/h, 1/τ_R)``
   (every neuron carries a Poisson clock of rate r_max; this is thinning with the
   provable bound ``r_max`` ≥ each neuron's own rate, acceptance ``(1/h)/r_max`` for a
   neuron in a bin, ``(1/τ_R)/r_max`` for a refractory one — at the defaults h < τ_R, so
   only refractory neurons are ever rejected);
2. at an accepted event of a neuron of bin k at time t: the kick moments are advanced to t in
   closed form, the row ``C(e), G(e)`` of bin k is evaluated at the current state
   (:func:`reduce.markov_approx.transitions.input_moments` and the closure kernels of
   :mod:`reduce.markov_approx.closure`, the same functions the ODE uses), the destination
   is drawn by inversion of ``C`` (``u ≥ C(M)``: fire; else the bin j with
   ``C(e_j) ≤ u < C(e_{j+1})``, bin 0 including the mass clamped below ``e_0``), and the
   neuron's share ``Z_k/n_k`` leaves bin k while ``d_{kj}`` is added to ``Z_j``.

No time discretisation is involved: the only approximations are floating point. The state is
a label per neuron (its bin, or K for refractory) plus the per-bin counts and centred totals,
so an event costs O(1) bookkeeping plus one row of the construction (O(window · Q), the
bins within 10 σ of the Gaussian increment times the closure nodes).

``freeze=True`` keeps the rows of the initial state (the neurons are then independent and
the per-neuron chain is time-homogeneous), as in the tau-leap schemes.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from reduce.markov_approx.closure import WORK_ROWS, row_maxent_work, row_uniform_widest
from reduce.markov_approx.ode import unpack
from reduce.markov_approx.transitions import construct, input_moments

from .ma_chain import copy_state, write_state

__all__ = ["exact_run", "advance_moments"]


@njit(cache=True)
def advance_moments(mom, tau, u):
    """Advance the kick moments ``mom[q, r] = (m, s)`` by ``u`` ms in closed form (in place)."""
    P = mom.shape[0]
    for q in range(P):
        for r in range(P):
            e1 = math.exp(-u / tau[q, r])
            m = mom[q, r, 0]
            mom[q, r, 0] = m * e1
            mom[q, r, 1] = mom[q, r, 1] * e1 * e1 + m * (e1 - e1 * e1)


@njit(cache=True)
def _record(states, refr, i, n, Z, mom, R, tau, u, tmp):
    """Write the state at ``u`` ms after the current event time into row ``i`` (the kick
    moments advanced to it in ``tmp``)."""
    tmp[:] = mom
    advance_moments(tmp, tau, u)
    write_state(states, refr, i, n, Z, tmp, R)


@njit(cache=True)
def _row_buffers(n_edges, n_nodes):
    """``C, G`` (per edge), unused derivative buffers and the closure work space (all
    ``WORK_ROWS`` rows, as in ``construct``: with fewer the closure allocates two per row)."""
    return (np.empty(n_edges), np.empty(n_edges), np.zeros((n_edges, 3)),
            np.zeros((n_edges, 3)), np.empty((WORK_ROWS, n_nodes)))


@njit(cache=True)
def _closure_row(ckind, edges, k, vrel, mu, sig, nodes, beta, C, G, dC, dG, work):
    """``C(e)``, ``G(e)`` of bin k with the model's closure (maxent or uniform-widest)."""
    if ckind == 0:
        row_maxent_work(edges, k, vrel, mu, sig, nodes, beta, False, C, G, dC, dG, work)
    else:
        row_uniform_widest(edges, k, vrel, mu, sig, C, G)


@njit(cache=True)
def _draw_bin(C, u, K):
    """Destination by inversion: K (fire) if ``u ≥ C[K]``, else the bin j with
    ``C[j] ≤ u < C[j + 1]`` (j = 0 for ``u < C[1]``)."""
    if u >= C[K]:
        return K
    lo = 1
    hi = K
    while lo < hi:        # smallest e in [1, K] with C[e] > u
        mid = (lo + hi) // 2
        if C[mid] > u:
            hi = mid
        else:
            lo = mid + 1
    return lo - 1


@njit(cache=True)
def exact_run(n0, Z0, mom0, R0, p, t_end, dt_record, freeze, P, K, N, edges, exc, j0,
              v_reset, M, M_r, eps, vkind, ckind, nodes, beta, lam_idx, lam_fac, p_idx, p_fac,
              S_idx, S_fac, tau_idx, sc_idx):
    """Simulate the redraw chain exactly for ``T = round(t_end/dt_record)`` record bins.

    Returns ``(spikes (T, P), states (T + 1, 2PK + 2P²), refractory (T + 1, P), n_events)``
    in the layout of :func:`reduce.finite_size.ma_chain.chain_run`; ``states[i]`` is the
    state at ``i·dt_record`` (kick moments advanced to that time).
    """
    lam, pm, S, tau, tau_r, h, tau_m = unpack(p, P, lam_idx, lam_fac, p_idx, p_fac, S_idx,
                                              S_fac, tau_idx, sc_idx)
    n, Z, mom, R = copy_state(n0, Z0, mom0, R0)
    tmp = mom0.copy()
    T = int(round(t_end / dt_record))
    nx = 2 * P * K + 2 * P * P
    spikes = np.zeros((T, P))
    states = np.empty((T + 1, nx))
    refr = np.empty((T + 1, P))
    # neuron labels: population and bin (K = refractory)
    n_tot = 0
    for q in range(P):
        n_tot += int(N[q] + 0.5)
    pop = np.empty(n_tot, np.int64)
    lab = np.empty(n_tot, np.int64)
    i = 0
    for q in range(P):
        for k in range(K):
            for _ in range(int(n[q, k] + 0.5)):
                pop[i] = q
                lab[i] = k
                i += 1
        for _ in range(int(R[q] + 0.5)):
            pop[i] = q
            lab[i] = K
            i += 1
    n_lab = i
    r_max = max(1.0 / h, 1.0 / tau_r)
    acc_bin = (1.0 / h) / r_max
    acc_ref = (1.0 / tau_r) / r_max
    Lam = n_tot * r_max
    K1 = K + 1
    C, G, dC, dG, work = _row_buffers(K1, nodes.shape[0])
    Pm = np.empty((P, K, K1))
    Dm = np.empty((P, K, K))
    if freeze:
        d1 = np.empty((1, 1, 1, 1))
        d2 = np.empty((1, 1, 1, 1))
        d3 = np.empty((1, 1, 1))
        construct(n, Z, mom, edges, lam, S, tau, exc, h, tau_m, M, M_r, eps, vkind, ckind,
                  False, nodes, beta, False, Pm, Dm, d1, d2, d3)
    c0 = 0.5 * (edges[0] + edges[1])
    cj0 = 0.5 * (edges[j0] + edges[j0 + 1])
    t = 0.0
    rec = 0
    n_events = 0
    _record(states, refr, 0, n, Z, mom, R, tau, 0.0, tmp)
    if n_lab == 0 or T == 0:
        for i in range(1, T + 1):
            _record(states, refr, i, n, Z, mom, R, tau, i * dt_record, tmp)
        return spikes, states, refr, n_events
    while True:
        t_new = t + np.random.exponential(1.0 / Lam)
        while rec < T and t_new >= (rec + 1) * dt_record:
            _record(states, refr, rec + 1, n, Z, mom, R, tau, (rec + 1) * dt_record - t,
                    tmp)
            rec += 1
        if rec >= T:
            break
        advance_moments(mom, tau, t_new - t)
        t = t_new
        i = min(int(np.random.random() * n_lab), n_lab - 1)
        q = pop[i]
        k = lab[i]
        if k == K:                      # refractory exit
            if acc_ref < 1.0 and np.random.random() >= acc_ref:
                continue
            n_events += 1
            R[q] -= 1.0
            n[q, j0] += 1.0
            Z[q, j0] += v_reset - cj0
            lab[i] = j0
            continue
        if acc_bin < 1.0 and np.random.random() >= acc_bin:
            continue
        n_events += 1
        ck = 0.5 * (edges[k] + edges[k + 1])
        nk = n[q, k]
        u = np.random.random()
        if freeze:
            acc = 0.0
            j = K
            for jj in range(K):
                acc += Pm[q, k, jj]
                if u < acc:
                    j = jj
                    break
            pj = Pm[q, k, j] if j < K else 0.0
            dj = Dm[q, k, j] / pj if j < K else 0.0
        else:
            vrel = Z[q, k] * nk / (nk * nk + eps * eps)      # regularised as in construct
            mu, sig, _a, _b = input_moments(ck + vrel, q, mom, lam, S, tau, exc, h, tau_m, M,
                                            M_r, vkind)
            _closure_row(ckind, edges, k, vrel, mu, sig, nodes, beta, C, G, dC, dG, work)
            j = _draw_bin(C, u, K)
            dj = 0.0
            if j < K:
                cj = 0.5 * (edges[j] + edges[j + 1])
                if j == 0:
                    pj = C[1]
                    Dj = G[1] - G[0] + (ck - c0) * (C[1] - C[0]) + (edges[0] - c0) * C[0]
                else:
                    pj = C[j + 1] - C[j]
                    Dj = G[j + 1] - G[j] + (ck - cj) * pj
                dj = Dj / pj
        # the neuron's share of the centred total leaves bin k
        if nk <= 1.0:
            n[q, k] = 0.0
            Z[q, k] = 0.0
        else:
            Z[q, k] -= Z[q, k] / nk
            n[q, k] = nk - 1.0
        if j < K:
            n[q, j] += 1.0
            Z[q, j] += dj
            lab[i] = j
        else:                           # fire: refractory, kicks to every population
            lab[i] = K
            R[q] += 1.0
            spikes[rec, q] += 1.0
            for qq in range(P):
                pp = pm[qq, q]
                mom[qq, q, 0] += pp
                mom[qq, q, 1] += pp * (1.0 - pp)
    return spikes, states, refr, n_events
