"""Tau-leap kernel of the Markov IF network: a convergent discretisation of the jump process.

Same state layout and recording as :mod:`kernels_fixed` (whose bookkeeping helpers — spike
fan-out tables and counts, rate bins, samples — it uses). One step of length Δt, in this
order (q = pop[i]):

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

from .kernels_fixed import (
    apply_kicks,
    end_of_step,
    fanout_setup,
    fanout_tables,
    record_spike,
)
from .rng import (
    alias_pack,
    alias_pick,
    alias_rows_flat,
    binom_tail_u,
    binomial,
    poisson_tail_u,
    xo_load,
    xo_store,
    xo_uniform,
)

_HT = 256  # pending-kick counts below this draw releases from per-count alias rows
_KB = 16   # alias rows: outcomes 0..15 and a tail outcome

__all__ = ["run_tauleap"]


@njit(cache=True)
def run_tauleap(V, ref, H, pop, sizes, exc, lam, p, S, tau, M, M_r, tau_r, tau_m, dt,
                use_conn, conn, step0, n_steps, rate_steps, rate_counts, rec_steps, edges,
                hist, refc, kmean, kvar, do_coarse, cedges, coarse, spk_t, spk_i, s, spare):
    """Advance the tau-leap scheme by ``n_steps`` steps (arguments as
    :func:`kernels_fixed.run_fixed`). Returns ``(n_spikes, n_samples)``.

    The generator state ``s`` is held in four local words through the neuron pass
    (:func:`rng.xo_uniform`) and written back before the helpers that take the array.
    """
    N = V.shape[0]
    P = sizes.shape[0]
    p_exit = 1.0 - math.exp(-dt / tau_r)
    W = _KB + 1
    rrel = np.empty(P * P)
    ipow = np.ones(P * P * W)      # (1 − S/(M + M_r))^k at pw*W + k, k < W, inhibitory sources
    se = np.zeros(P * P)           # S for excitatory sources, 0 otherwise
    for q in range(P):
        for r in range(P):
            pw = q * P + r
            rrel[pw] = 1.0 - math.exp(-dt / tau[q, r])
            if exc[r]:
                se[pw] = S[q, r]
            else:
                for k in range(1, W):
                    ipow[pw * W + k] = ipow[pw * W + k - 1] * (1.0 - S[q, r] / (M + M_r))
    decay = math.exp(-dt / tau_m) if tau_m > 0.0 else 1.0
    ba_prob, ba_alias, ba_c, ba_p = alias_rows_flat(True, rrel, _HT, _KB)
    ba = alias_pack(ba_prob, ba_alias)
    # external kicks: row 1 of the Poisson alias rows of unit mean λ_q·Δt
    mu_ext = lam * dt
    ea_prob, ea_alias, ea_c, ea_p = alias_rows_flat(False, mu_ext, 2, _KB)
    ea = alias_pack(ea_prob, ea_alias)
    (fo_prob, fo_alias, fo_tab, pmf, w_small, w_large, w, spikers, nsp,
     zero) = fanout_setup(sizes)
    n_spk = 0
    n_smp = 0
    bin0 = step0 // rate_steps
    s0, s1, s2, s3 = xo_load(s)
    for k in range(n_steps):
        step = step0 + k
        t_end_step = (step + 1) * dt
        nsp[:] = 0
        n_now = 0
        for i in range(N):
            q = pop[i]
            # 1. refractory exit
            was_ref = ref[i]
            if was_ref:
                s0, s1, s2, s3, u = xo_uniform(s0, s1, s2, s3)
                if u < p_exit:
                    ref[i] = 0
                    V[i] = 0.0
            # 2. releases, and (3.) their jumps: leak, then inhibition in the order of the
            # sources (closed form of R repeated jumps), excitation summed and added last
            v = V[i] * decay
            ve = 0.0
            for r in range(P):
                h = H[r, i]
                if h > 0:
                    pw = q * P + r
                    if h < _HT:
                        s0, s1, s2, s3, u = xo_uniform(s0, s1, s2, s3)
                        rr = alias_pick(u, ba, (pw * _HT + h) * W, _KB)
                        if rr == _KB:
                            s0, s1, s2, s3, u = xo_uniform(s0, s1, s2, s3)
                            rr = binom_tail_u(u, _KB, h, rrel[pw], ba_c[pw * _HT + h],
                                              ba_p[pw * _HT + h])
                    else:
                        xo_store(s, s0, s1, s2, s3)
                        rr = binomial(s, h, rrel[pw])
                        s0, s1, s2, s3 = xo_load(s)
                    H[r, i] = h - rr
                    if exc[r]:
                        ve += se[pw] * rr
                    else:
                        # v unchanged when rr = 0: an exact blend instead of a branch that
                        # goes either way (P(rr > 0) ≈ 0.36 at the defaults)
                        if rr < W:
                            f = ipow[pw * W + rr]
                        else:
                            f = ipow[pw * W + 1] ** rr
                        keep = 1.0 if rr > 0 else 0.0
                        v = keep * (-M_r + (v + M_r) * f) + (1.0 - keep) * v
            if was_ref:
                continue
            s0, s1, s2, s3, u = xo_uniform(s0, s1, s2, s3)
            ke = alias_pick(u, ea, (q * 2 + 1) * W, _KB)
            if ke == _KB:
                s0, s1, s2, s3, u = xo_uniform(s0, s1, s2, s3)
                ke = poisson_tail_u(u, _KB, mu_ext[q], ea_c[q * 2 + 1], ea_p[q * 2 + 1])
            v += ke + ve
            if v < -M_r:
                v = -M_r
            if v >= M:
                n_now, n_spk = record_spike(i, q, t_end_step, V, ref, nsp, spikers, n_now, spk_t,
                                            spk_i, n_spk)
            else:
                V[i] = v
        # 4. new kicks
        if n_now > 0:
            fanout_tables(nsp, p, use_conn, fo_prob, fo_alias, fo_tab, w, pmf, w_small,
                          w_large)
            xo_store(s, s0, s1, s2, s3)
            apply_kicks(s, H, zero, pop, nsp, n_now, spikers, p, use_conn, conn, fo_tab, w)
            s0, s1, s2, s3 = xo_load(s)
        n_smp = end_of_step(step, bin0, rate_steps, rate_counts, nsp, n_smp, rec_steps, V,
                            ref, H, pop, edges, hist, refc, kmean, kvar, do_coarse, cedges,
                            coarse, sizes)
    xo_store(s, s0, s1, s2, s3)
    return n_spk, n_smp
