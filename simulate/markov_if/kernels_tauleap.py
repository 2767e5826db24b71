"""Tau-leap kernel of the Markov IF network: a convergent discretisation of the jump process.

Same state layout and recording as :mod:`kernels_fixed` (whose :func:`sample_state` it
uses). One step of length Δt, in this order (q = pop[i]):

1. every neuron refractory at the start of the step leaves with probability
   1 − exp(−Δt/τ_R) and re-enters at V = 0 (it receives nothing during this step);
2. for every neuron, released kicks per source population r:
   R_ri ~ Binomial(H_ri, 1 − exp(−Δt/τ_qr)) (the exact law of the number of H_ri independent
   exponential delays that end within Δt); H_ri ← H_ri − R_ri. For a refractory neuron the
   released kicks are lost;
3. every non-refractory neuron: leak V ← V·exp(−Δt/τ_m) when τ_m > 0; external kicks
   K ~ Poisson(λ_q Δt); the inhibitory jumps are applied first, one after the other: each I kick
   does V ← V − S_qr·g(V), so R of them give
   V + M_r ← (V + M_r)·(1 − S_qr/(M + M_r))^R; then the excitatory jumps
   V ← V + K + Σ_{r exc} S_qr·R_ri; if V ≥ M the neuron spikes (time: end of the step), V ← 0,
   refractory;
4. new kicks: H_ri ← H_ri + Binomial(n_r, p_qr) (or the quenched-graph count), n_r the spikes
   of population r in this step.

The within-step order (inhibition before excitation, kicks created in a step released at
the earliest in the next) is an O(Δt) choice: the scheme converges to the event-driven
process as Δt → 0 (tested in ``tests/simulate/test_markov_if_convergence.py``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .kernels_fixed import sample_state
from .rng import (
    alias_build,
    alias_draw,
    binom_alias_draw,
    binom_alias_rows,
    binom_pmf,
    binomial,
    poisson_alias_draw,
    poisson_alias_rows,
    uniform,
)

_HT = 256  # pending-kick counts below this draw releases from per-count alias rows
_KB = 16   # alias rows: outcomes 0..15 and a tail outcome

__all__ = ["run_tauleap"]


@njit(cache=True)
def run_tauleap(V, ref, H, pop, sizes, exc, lam, p, S, tau, M, M_r, tau_r, tau_m, dt,
                use_conn, conn, step0, n_steps, rate_steps, rate_counts, rec_steps, edges,
                hist, refc, kmean, kvar, do_coarse, cedges, coarse, spk_t, spk_i, s, spare):
    """Advance the tau-leap scheme by ``n_steps`` steps (arguments as
    :func:`kernels_fixed.run_fixed`). Returns ``(n_spikes, n_samples)``."""
    N = V.shape[0]
    P = sizes.shape[0]
    p_exit = 1.0 - math.exp(-dt / tau_r)
    mu_ext = lam * dt
    rrel = np.empty((P, P))
    ifac = np.empty((P, P))
    for q in range(P):
        for r in range(P):
            rrel[q, r] = 1.0 - math.exp(-dt / tau[q, r])
            ifac[q, r] = 1.0 - S[q, r] / (M + M_r)
    decay = math.exp(-dt / tau_m) if tau_m > 0.0 else 1.0
    ba_prob = np.empty((P, P, _HT, _KB + 1))
    ba_alias = np.empty((P, P, _HT, _KB + 1), np.int64)
    ba_c = np.empty((P, P, _HT))
    ba_p = np.empty((P, P, _HT))
    w_pmf = np.empty(_KB + 1)
    w_s = np.empty(_KB + 1, np.int64)
    w_l = np.empty(_KB + 1, np.int64)
    for q in range(P):
        for r in range(P):
            binom_alias_rows(rrel[q, r], _HT, _KB, ba_prob[q, r], ba_alias[q, r], ba_c[q, r],
                             ba_p[q, r], w_pmf, w_s, w_l)
    # external kicks: row 1 of Poisson alias rows with unit mean lam*dt
    ea_prob = np.empty((P, 2, _KB + 1))
    ea_alias = np.empty((P, 2, _KB + 1), np.int64)
    ea_c = np.empty((P, 2))
    ea_p = np.empty((P, 2))
    for q in range(P):
        poisson_alias_rows(mu_ext[q], 2, _KB, ea_prob[q], ea_alias[q], ea_c[q], ea_p[q],
                           w_pmf, w_s, w_l)
    nmax = 0
    for r in range(P):
        nmax = max(nmax, sizes[r])
    pmf = np.empty(nmax + 1)
    a_prob = np.empty((P, P, nmax + 1))
    a_alias = np.empty((P, P, nmax + 1), np.int64)
    w_small = np.empty(nmax + 1, np.int64)
    w_large = np.empty(nmax + 1, np.int64)
    nsp = np.zeros(P, np.int64)
    rel = np.zeros(P, np.int64)
    spikers = np.empty(N, np.int64)
    n_spk = 0
    n_smp = 0
    bin0 = step0 // rate_steps
    for k in range(n_steps):
        step = step0 + k
        t_end_step = (step + 1) * dt
        nsp[:] = 0
        n_now = 0
        for i in range(N):
            q = pop[i]
            was_ref = ref[i]
            if was_ref:
                if uniform(s) < p_exit:
                    ref[i] = 0
                    V[i] = 0.0
            for r in range(P):
                h = H[r, i]
                if h > 0:
                    if h < _HT:
                        rr = binom_alias_draw(s, ba_prob[q, r, h], ba_alias[q, r, h], _KB, h,
                                              rrel[q, r], ba_c[q, r, h], ba_p[q, r, h])
                    else:
                        rr = binomial(s, h, rrel[q, r])
                    H[r, i] = h - rr
                    rel[r] = rr
                else:
                    rel[r] = 0
            if was_ref:
                continue
            v = V[i]
            if decay != 1.0:
                v *= decay
            for r in range(P):
                if rel[r] > 0 and not exc[r]:
                    f = ifac[q, r]
                    if rel[r] > 1:
                        f = f ** rel[r]
                    v = -M_r + (v + M_r) * f
            v += poisson_alias_draw(s, ea_prob[q, 1], ea_alias[q, 1], _KB, mu_ext[q],
                                    ea_c[q, 1], ea_p[q, 1])
            for r in range(P):
                if rel[r] > 0 and exc[r]:
                    v += S[q, r] * rel[r]
            if v < -M_r:
                v = -M_r
            if v >= M:
                V[i] = 0.0
                ref[i] = 1
                nsp[q] += 1
                spikers[n_now] = i
                n_now += 1
                spk_t[n_spk] = t_end_step
                spk_i[n_spk] = i
                n_spk += 1
            else:
                V[i] = v
        if n_now > 0:
            if not use_conn:
                for q in range(P):
                    for r in range(P):
                        if nsp[r] > 0:
                            binom_pmf(nsp[r], p[q, r], pmf)
                        alias_build(pmf, nsp[r], a_prob[q, r], a_alias[q, r], w_small,
                                    w_large)
            for i in range(N):
                q = pop[i]
                for r in range(P):
                    if nsp[r] > 0 and p[q, r] > 0.0:
                        add = 0
                        if use_conn:
                            for j in range(n_now):
                                jj = spikers[j]
                                if pop[jj] == r and conn[i, jj]:
                                    add += 1
                        else:
                            add = alias_draw(s, a_prob[q, r], a_alias[q, r], nsp[r])
                        H[r, i] += add
        row = step // rate_steps - bin0
        for q in range(P):
            rate_counts[row, q] += nsp[q]
        if (step + 1) % rec_steps == 0:
            sample_state(V, ref, H, pop, P, edges, hist[n_smp], refc[n_smp], kmean[n_smp],
                         kvar[n_smp], do_coarse, cedges, coarse[n_smp], sizes)
            n_smp += 1
    return n_spk, n_smp
