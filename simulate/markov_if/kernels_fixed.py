"""Fixed-step kernel of the Markov IF network: the published scheme (models.md §1), numba.

State (flat arrays, neurons in global id order, population ``pop[i]``):

- ``V`` (N,) float64 voltages, ``ref`` (N,) uint8 refractory flags,
- ``H`` (P, N) int64: ``H[r, i]`` pending kicks from population r onto neuron i (pathway
  name: ``populations[pop[i]] + populations[r]``).

One step of length Δt, in this order (q = pop[i], g(V) = (V + M_r)/(M + M_r)):

1. every neuron refractory at the start of the step leaves with probability
   1 − exp(−Δt/τ_R) and re-enters at V = 0 (it does not integrate during this step);
2. every other neuron integrates, with H and V from the start of the step:
   V ← V + ξ + Σ_{r exc} S_qr·H_ri·Δt/τ_qr − Σ_{r inh} S_qr·g(V)·H_ri·Δt/τ_qr − V·Δt/τ_m,
   ξ ~ Normal(λ_q Δt, λ_q Δt) (the leak term only when τ_m > 0); then V ← max(V, −M_r); if
   V > M the neuron spikes (time recorded as the end of the step), V ← 0, refractory;
3. pending kicks of every neuron (refractory ones too: kicks released while refractory are
   lost): H_ri ← max(0, H_ri + B_ri − R_ri) with R_ri ~ Poisson(H_ri·Δt/τ_qr) (H from the
   start of the step; drawn from per-H alias rows, see :mod:`rng`) and
   B_ri ~ Binomial(n_r, p_qr), n_r the spikes of population r in this step ("redraw"
   connectivity), or B_ri = number of this step's spikers of r that are presynaptic to i in
   the quenched graph ``conn`` ("fixed" connectivity).

Recording (shared with the tau-leap kernel through :func:`sample_state`): spike counts per
population per rate bin (``rate_steps`` steps), spike times and ids, and every ``rec_steps``
steps a sample of the state (voltage histogram, refractory count, across-neuron mean and
variance (ddof = 0) of pending kicks per pathway, optional coarse state per neuron).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .rng import (
    alias_build,
    alias_pack,
    alias_pick,
    alias_rows_flat,
    binom_pmf,
    poisson,
    poisson_tail_u,
    xo_load,
    xo_next,
    xo_store,
    xo_uniform,
    zig_slow,
    zig_tables,
)

_ZKN, _ZWN, _ZFN = zig_tables()

_HT = 256  # pending-kick counts below this draw releases from per-count alias rows
_KP = 24   # Poisson alias rows: outcomes 0..23 and a tail outcome

__all__ = ["run_fixed", "sample_state", "bin_index", "bin_lookup", "bin_fast", "fanout_setup",
           "fanout_tables", "apply_kicks", "record_spike", "end_of_step"]


@njit(cache=True, inline="always")
def bin_index(edges, v):
    """Index k with edges[k] <= v < edges[k+1]; clipped to the first/last bin."""
    nb = edges.shape[0] - 1
    if v < edges[1]:
        return 0
    if v >= edges[nb - 1]:
        return nb - 1
    lo = 1
    hi = nb - 1
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if v >= edges[mid]:
            lo = mid
        else:
            hi = mid
    return lo


@njit(cache=True)
def bin_lookup(edges):
    """Lookup table for :func:`bin_fast`: cells of width g = the narrowest bin (but at least
    1/4096 of the range, so that a very narrow bin cannot blow the table up), starting at
    ``edges[0]``; entry c is the :func:`bin_index` of the cell's left end.

    Returns ``(lut, inv_g)``.
    """
    nb = edges.shape[0] - 1
    g = edges[1] - edges[0]
    for k in range(1, nb):
        g = min(g, edges[k + 1] - edges[k])
    g = max(g, (edges[nb] - edges[0]) / 4096.0)
    n_cell = int((edges[nb] - edges[0]) / g) + 2
    lut = np.empty(n_cell, np.int64)
    for c in range(n_cell):
        lut[c] = bin_index(edges, edges[0] + c * g)
    return lut, 1.0 / g


@njit(cache=True, inline="always")
def bin_fast(edges, lut, inv_g, v):
    """:func:`bin_index` (same result for every v) by table lookup: the cell of v gives a
    bin at most one or two edges away (cells are no wider than the narrowest bin, unless
    that is below 1/4096 of the range), which the two loops correct — so rounding in the
    cell index cannot change the answer. A binary search over 35 bins costs about five
    unpredictable branches per neuron."""
    nb = edges.shape[0] - 1
    c = int((v - edges[0]) * inv_g)
    if c < 0:
        c = 0
    elif c >= lut.shape[0]:
        c = lut.shape[0] - 1
    b = lut[c]
    while b < nb - 1 and v >= edges[b + 1]:
        b += 1
    while b > 0 and v < edges[b]:
        b -= 1
    return b


@njit(cache=True)
def sample_state(V, ref, H, pop, P, edges, hist_row, refc_row, kmean_row, kvar_row,
                 do_coarse, cedges, coarse_row, sizes):
    """Record one sample of the state into the given output rows.

    ``hist_row`` (P, n_bins) voltage histogram of non-refractory neurons; ``refc_row`` (P,)
    refractory counts; ``kmean_row``/``kvar_row`` (P*P,) across-neuron mean and variance
    (ddof = 0) of ``H[r, i]`` over neurons i of population q, at index q*P + r;
    ``coarse_row`` (N,) int16 bin index on ``cedges`` or ``len(cedges) - 1`` if refractory.

    Sums of H and H² are exact integers, accumulated over runs of neurons of one population
    (the engine numbers neurons population by population; any order gives the same sums).
    """
    N = V.shape[0]
    hist_row[:, :] = 0
    refc_row[:] = 0
    ncb = cedges.shape[0] - 1
    lut, inv_g = bin_lookup(edges)
    if do_coarse:
        clut, cinv_g = bin_lookup(cedges)
    else:
        clut, cinv_g = lut, inv_g
    for i in range(N):
        q = pop[i]
        if ref[i]:
            refc_row[q] += 1
            if do_coarse:
                coarse_row[i] = ncb
        else:
            hist_row[q, bin_fast(edges, lut, inv_g, V[i])] += 1
            if do_coarse:
                coarse_row[i] = bin_fast(cedges, clut, cinv_g, V[i])
    s1 = np.zeros(P * P, np.int64)
    s2 = np.zeros(P * P, np.int64)
    for r in range(P):
        a1 = 0
        a2 = 0
        cur = pop[0] if N > 0 else 0
        for i in range(N):
            q = pop[i]
            if q != cur:
                s1[cur * P + r] += a1
                s2[cur * P + r] += a2
                a1 = 0
                a2 = 0
                cur = q
            h = H[r, i]
            a1 += h
            a2 += h * h
        s1[cur * P + r] += a1
        s2[cur * P + r] += a2
    for q in range(P):
        n = float(sizes[q])
        for r in range(P):
            m = float(s1[q * P + r]) / n
            kmean_row[q * P + r] = m
            kvar_row[q * P + r] = max(float(s2[q * P + r]) / n - m * m, 0.0)


# ----------------------------------------------------------------------------- bookkeeping
# shared by the fixed-step and the tau-leap kernel: per-step spike fan-out (new pending
# kicks), spike/rate recording and state samples


@njit(cache=True)
def fanout_setup(sizes):
    """Work arrays of the per-step bookkeeping: alias tables of width ``w = max(sizes) + 1``
    per pathway (:func:`fanout_tables`: ``fo_prob``/``fo_alias`` as built, ``fo_tab`` the
    same packed for :func:`rng.alias_pick`), pmf and the two alias work lists, ``w``, the list
    of the step's spikers, spike counts per population and a (P, N) int64 array (release
    counts of the fixed-step scheme; zeros for tau-leap)."""
    P = sizes.shape[0]
    nmax = 0
    for r in range(P):
        nmax = max(nmax, sizes[r])
    w = nmax + 1
    N = 0
    for r in range(P):
        N += sizes[r]
    return (np.empty(P * P * w), np.empty(P * P * w, np.int64), np.empty(2 * P * P * w),
            np.empty(w), np.empty(w, np.int64), np.empty(w, np.int64), w,
            np.empty(N, np.int64), np.zeros(P, np.int64), np.zeros((P, N), np.int64))


@njit(cache=True)
def fanout_tables(nsp, p, use_conn, fo_prob, fo_alias, fo_tab, w, pmf, w_small, w_large):
    """Alias tables of Binomial(nsp[r], p[q, r]) at ``(q*P + r)*w`` for every pathway with
    spikes this step ("redraw" connectivity; nothing to build for "fixed"), packed into
    ``fo_tab`` (:func:`rng.alias_pack` layout)."""
    if use_conn:
        return
    P = nsp.shape[0]
    for q in range(P):
        for r in range(P):
            if nsp[r] > 0 and p[q, r] > 0.0:
                b = (q * P + r) * w
                binom_pmf(nsp[r], p[q, r], pmf)
                alias_build(pmf, nsp[r], fo_prob[b:b + w], fo_alias[b:b + w], w_small,
                            w_large)
                for k in range(b, b + nsp[r] + 1):
                    fo_tab[2 * k] = fo_prob[k]
                    fo_tab[2 * k + 1] = float(fo_alias[k])


@njit(cache=True)
def apply_kicks(s, H, rel, pop, nsp, n_now, spikers, p, use_conn, conn, fo_tab, w):
    """H_ri ← max(0, H_ri + B_ri − rel_ri) for every neuron i and source r, with
    B_ri ~ Binomial(nsp[r], p[q, r]) drawn from the step's packed alias tables ("redraw"), or
    the number of the step's r-spikers j with ``conn[i, j]`` ("fixed")."""
    P = H.shape[0]
    N = H.shape[1]
    s0, s1, s2, s3 = xo_load(s)
    for i in range(N):
        q = pop[i]
        for r in range(P):
            add = 0
            if nsp[r] > 0 and p[q, r] > 0.0:
                if use_conn:
                    for j in range(n_now):
                        jj = spikers[j]
                        if pop[jj] == r and conn[i, jj]:
                            add += 1
                else:
                    s0, s1, s2, s3, u = xo_uniform(s0, s1, s2, s3)
                    add = alias_pick(u, fo_tab, (q * P + r) * w, nsp[r])
            h = H[r, i] + add - rel[r, i]
            H[r, i] = h if h > 0 else 0
    xo_store(s, s0, s1, s2, s3)


@njit(cache=True, inline="always")
def record_spike(i, q, t, V, ref, nsp, spikers, n_now, spk_t, spk_i, n_spk):
    """Neuron i (population q) spikes at time t: V ← 0, refractory, counted in ``nsp[q]``,
    listed among the step's spikers and in the spike record. Returns ``(n_now, n_spk)``."""
    V[i] = 0.0
    ref[i] = 1
    nsp[q] += 1
    spikers[n_now] = i
    spk_t[n_spk] = t
    spk_i[n_spk] = i
    return n_now + 1, n_spk + 1


@njit(cache=True)
def end_of_step(step, bin0, rate_steps, rate_counts, nsp, n_smp, rec_steps, V, ref, H, pop,
                edges, hist, refc, kmean, kvar, do_coarse, cedges, coarse, sizes):
    """Add the step's spike counts to its rate bin and take a sample when one is due after
    this step. Returns the new number of samples written."""
    P = sizes.shape[0]
    row = step // rate_steps - bin0
    for q in range(P):
        rate_counts[row, q] += nsp[q]
    if (step + 1) % rec_steps == 0:
        sample_state(V, ref, H, pop, P, edges, hist[n_smp], refc[n_smp], kmean[n_smp],
                     kvar[n_smp], do_coarse, cedges, coarse[n_smp], sizes)
        return n_smp + 1
    return n_smp


@njit(cache=True)
def run_fixed(V, ref, H, pop, sizes, exc, lam, p, S, tau, M, M_r, tau_r, tau_m, dt,
              use_conn, conn, step0, n_steps, rate_steps, rate_counts, rec_steps, edges,
              hist, refc, kmean, kvar, do_coarse, cedges, coarse, spk_t, spk_i, s, spare):
    """Advance the fixed-step scheme by ``n_steps`` steps starting at global step ``step0``.

    Rate bin of a spike in global step k: ``k // rate_steps - step0 // rate_steps`` (row of
    ``rate_counts``); a sample is taken after global step k when ``(k + 1) % rec_steps == 0``,
    into row ``(k + 1) // rec_steps - first`` with ``first = ceil((step0 + 1) / rec_steps)``.
    Returns ``(n_spikes, n_samples)`` written in this call.

    The release counts R_ri of step 3 are drawn in the pass of steps 1–2 (they depend only on
    the H of the start of the step); :func:`apply_kicks` then adds the new kicks and subtracts
    them.
    """
    N = V.shape[0]
    P = sizes.shape[0]
    p_exit = 1.0 - math.exp(-dt / tau_r)
    mean_ext = lam * dt
    sd_ext = np.sqrt(lam * dt)
    qrel = np.empty(P * P)
    drift_e = np.zeros(P * P)     # S·Δt/τ for excitatory sources, 0 otherwise
    drift_i = np.zeros(P * P)     # S·Δt/τ for inhibitory sources, 0 otherwise
    for q in range(P):
        for r in range(P):
            qrel[q * P + r] = dt / tau[q, r]
            if exc[r]:
                drift_e[q * P + r] = S[q, r] * dt / tau[q, r]
            else:
                drift_i[q * P + r] = S[q, r] * dt / tau[q, r]
    inv_span = 1.0 / (M + M_r)
    leak = dt / tau_m if tau_m > 0.0 else 0.0
    W = _KP + 1
    pa_prob, pa_alias, pa_c, pa_p = alias_rows_flat(False, qrel, _HT, _KP)
    pa = alias_pack(pa_prob, pa_alias)
    (fo_prob, fo_alias, fo_tab, pmf, w_small, w_large, w, spikers, nsp,
     rel) = fanout_setup(sizes)
    zkn = _ZKN
    zwn = _ZWN
    zfn = _ZFN
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
            # release counts of step 3 (from the H of the start of the step)
            for r in range(P):
                h = H[r, i]
                rr = 0
                if h > 0:
                    pw = q * P + r
                    if h < _HT:
                        s0, s1, s2, s3, u = xo_uniform(s0, s1, s2, s3)
                        rr = alias_pick(u, pa, (pw * _HT + h) * W, _KP)
                        if rr == _KP:
                            s0, s1, s2, s3, u = xo_uniform(s0, s1, s2, s3)
                            rr = poisson_tail_u(u, _KP, h * qrel[pw], pa_c[pw * _HT + h],
                                                pa_p[pw * _HT + h])
                    else:
                        xo_store(s, s0, s1, s2, s3)
                        rr = poisson(s, h * qrel[pw])
                        s0, s1, s2, s3 = xo_load(s)
                rel[r, i] = rr
            # 1. refractory exit
            if ref[i]:
                s0, s1, s2, s3, u = xo_uniform(s0, s1, s2, s3)
                if u < p_exit:
                    ref[i] = 0
                    V[i] = 0.0
                continue
            # 2. integration; standard normal by the ziggurat: layer from the low 7 bits,
            # signed abscissa from the high 32 bits of one xoshiro output
            v = V[i]
            s0, s1, s2, s3, u64 = xo_next(s0, s1, s2, s3)
            iz = int(u64 & np.uint64(127))
            hz = np.int64(np.int32(np.uint32(u64 >> np.uint64(32))))
            if abs(hz) < zkn[iz]:
                z = hz * zwn[iz]
            else:
                xo_store(s, s0, s1, s2, s3)
                z = zig_slow(s, hz, iz, zkn, zwn, zfn)
                s0, s1, s2, s3 = xo_load(s)
            g = (v + M_r) * inv_span
            de = 0.0
            di = 0.0
            for r in range(P):
                h = H[r, i]
                de += drift_e[q * P + r] * h
                di += drift_i[q * P + r] * h
            v += mean_ext[q] + sd_ext[q] * z + de - g * di - v * leak
            if v < -M_r:
                v = -M_r
            if v > M:
                n_now, n_spk = record_spike(i, q, t_end_step, V, ref, nsp, spikers, n_now, spk_t,
                                            spk_i, n_spk)
            else:
                V[i] = v
        # 3. pending kicks
        if n_now > 0:
            fanout_tables(nsp, p, use_conn, fo_prob, fo_alias, fo_tab, w, pmf, w_small, w_large)
        xo_store(s, s0, s1, s2, s3)
        apply_kicks(s, H, rel, pop, nsp, n_now, spikers, p, use_conn, conn, fo_tab, w)
        s0, s1, s2, s3 = xo_load(s)
        n_smp = end_of_step(step, bin0, rate_steps, rate_counts, nsp, n_smp, rec_steps, V,
                            ref, H, pop, edges, hist, refc, kmean, kvar, do_coarse, cedges,
                            coarse, sizes)
    xo_store(s, s0, s1, s2, s3)
    return n_spk, n_smp
