# ruff: noqa: NPY002  -- numba supports only the legacy np.random API in njit code
"""Numba kernels of the LIF networks: one time step loop for three neuron kinds.

Time advances in steps of ``dt`` (ms). Step n covers (t_{n-1}, t_n], t_n = n·dt. For every
neuron, in this order:

1. External input: the number of events of its excitatory (and, optionally, inhibitory)
   Poisson input (λ events per step, the superposed rate of all external inputs) falling in
   the step, counted exactly from exponential inter-event times kept per neuron.
2. Recurrent input: the summed weights of the spikes whose delay ends in this step. A spike
   emitted in step m with delay d ≥ 1 steps arrives in slot (m + d) mod D. Two delivery
   modes: ``queue`` (stored connectivity) appends the target's id to the queue of that slot
   (one queue per slot and per E/I, so the writes are sequential; at the start of step n the
   queue of slot n mod D is emptied into a per-neuron input count, N numbers, cache
   resident) — fast, memory proportional to the spikes in flight; ``ring`` (procedural
   connectivity) adds to a dense D × N count buffer — memory D·N, independent of K and of the
   rate, as procedural connectivity requires.
3. The neuron update, by kind:

   ``COND_INSTANT`` (models.md §4, instantaneous conductances). The leak is exact,
   V ← E_L + (V − E_L)·e^{−dt/τ_L}; then the step's summed strengths A_E (excitatory,
   external included) and A_I act as one instantaneous conductance pulse,
   V ← V_∞ + (V − V_∞)·e^{−(A_E + A_I)}, V_∞ = (A_E E_E + A_I E_I)/(A_E + A_I). For inputs of
   one kind this is exactly the composition of single jumps E_A + (V − E_A)e^{−a}; it is
   order-independent for mixed inputs arriving in the same step.
   ``CURRENT`` (models.md §5, Brunel 2000). Exact leak towards E_L, then V += Σ J (signed).
   ``COND_EXP`` (exponential conductances, e.g. the COBA benchmark; Brian2's
   ``exponential_euler`` order): g_E += arrivals, g_I += arrivals; with g held over the step
   at ḡ = c·g (c = 1: Brian2's exponential Euler, used by the COBA mode; c =
   τ_S(1 − e^{−dt/τ_S})/dt: the exact step average of the decaying conductance, used with
   ``tau_s`` in the Sanzeni mode), V ← V_∞ + (V − V_∞)·exp(−(1 + ḡ_E + ḡ_I)dt/τ_L),
   V_∞ = (E_L + I + ḡ_E E_E + ḡ_I E_I)/(1 + ḡ_E + ḡ_I) (conductances in units of the leak
   conductance, I a drive in mV); then g_E ← g_E e^{−dt/τ_E}, g_I ← g_I e^{−dt/τ_I}.

4. Threshold: V ≥ θ → spike at t_n, V ← V_r, refractory for ``ref_steps`` steps (steps
   n+1 … n+ref_steps−1 are frozen at V_r, inputs to a frozen neuron are lost; conductances of
   ``COND_EXP`` keep integrating, as with Brian2's ``(unless refractory)``), targets pushed
   into the ring buffer.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .connectivity import targets_of

__all__ = ["COND_INSTANT", "CURRENT", "COND_EXP", "run_steps", "seed_numba", "init_next_ext"]

COND_INSTANT = 0
CURRENT = 1
COND_EXP = 2

# indices into the float parameter vector ``fp``
(P_EL, P_EE, P_EI, P_THETA, P_VR, P_DECAY_L, P_DT_TAU, P_DRIVE, P_DECAY_E, P_DECAY_I, P_AVG_E,
 P_AVG_I) = range(12)


@njit(cache=True)
def seed_numba(seed):
    """Seed numba's generator (one stream per process)."""
    np.random.seed(seed)


@njit(cache=True)
def init_next_ext(next_ext, pop_of, ext_lam):
    """First external event of every neuron, in steps from now (exponential)."""
    for i in range(next_ext.shape[0]):
        lam = ext_lam[pop_of[i]]
        next_ext[i] = -np.log(1.0 - np.random.random()) / lam if lam > 0 else np.inf


@njit(cache=True)
def _grow(q):
    """Double the capacity of a (D, cap) queue array."""
    new = np.empty((q.shape[0], 2 * q.shape[1]), q.dtype)
    new[:, :q.shape[1]] = q
    return new


@njit(cache=True, inline="always")
def _count_events(next_ext, i, lam):
    """Events of neuron i's Poisson stream (λ per step) in this step: exponential
    inter-event times, ``next_ext[i]`` keeps the time of the next event (steps from now)."""
    x = next_ext[i]
    k = 0
    while x < 1.0:
        k += 1
        x += -np.log(1.0 - np.random.random()) / lam
    next_ext[i] = x - 1.0
    return k


@njit(cache=True, inline="always")
def _push(q, cnt, sl, target):
    """Append ``target`` to the queue of arrival slot ``sl`` (doubling the capacity when
    full); returns the possibly enlarged queue array."""
    c = cnt[sl]
    if c == q.shape[1]:
        q = _grow(q)
    q[sl, c] = target
    cnt[sl] = c + 1
    return q


@njit(cache=True, inline="always")
def _spike(i, q, n, ref_steps, ref_end, rate_counts, b, record_spikes, spk_t, spk_i, n_spk):
    """Bookkeeping of a spike of neuron i (population q) at step n; returns n_spk."""
    ref_end[i] = n + ref_steps
    rate_counts[b, q] += 1
    if record_spikes:
        spk_t[n_spk] = n
        spk_i[n_spk] = i
        n_spk += 1
    return n_spk


@njit(cache=True)
def _sample(n, sample_every, s0, v, ref_end, pop_of, v_lo, v_width, hist, n_ref, v_sum,
            trace_ids, traces):
    """At the end of step n, if it is a sampling step: histogram and mean of V over the
    non-refractory neurons, refractory counts, and the V of the traced neurons."""
    if (n + 1) % sample_every != 0:
        return
    nb = hist.shape[2]
    si = (n + 1) // sample_every - 1 - s0
    for i in range(v.shape[0]):
        q = pop_of[i]
        if n + 1 < ref_end[i]:
            n_ref[si, q] += 1
            continue
        vv = v[i]
        v_sum[si, q] += vv
        kb = int(np.floor((vv - v_lo) / v_width))
        if kb < 0:
            kb = 0
        elif kb >= nb:
            kb = nb - 1
        hist[si, q, kb] += 1
    for k in range(trace_ids.shape[0]):
        traces[si, k] = v[trace_ids[k]]


@njit(cache=True)
def run_steps(kind, n0, n_steps, fp, ref_steps,
              v, g_e, g_i, ref_end, next_ext, next_ext_i, qe, qi, ce, ci, in_e, in_i,
              use_queue, ring_e, ring_i, w_exc, w_inh,
              pop_of, pop_exc, w_pre, ext_lam, w_ext, ext_lam_i, w_ext_i,
              stored, ptr, idx, dly, paths, dt, buf_idx, buf_del,
              rate_every, b0, rate_counts,
              sample_every, s0, v_lo, v_width, hist, n_ref, v_sum, trace_ids, traces,
              record_spikes, spk_t, spk_i, n_spk):
    """Advance ``n_steps`` steps from absolute step ``n0``; return (steps done, spikes,
    qe, qi) — the queues are returned because they may have been enlarged.

    Stops early (returning fewer steps) if the spike buffer could overflow in the next step.
    ``rate_counts[b, q]`` counts the spikes of population q in rate bin ``n // rate_every −
    b0``; samples are taken at the end of steps with (n+1) % sample_every == 0, into row
    (n+1)//sample_every − 1 − s0.
    """
    N = v.shape[0]
    D = qe.shape[0] if use_queue else ring_e.shape[0]
    e_l = fp[P_EL]
    e_e = fp[P_EE]
    e_i = fp[P_EI]
    theta = fp[P_THETA]
    v_r = fp[P_VR]
    decay_l = fp[P_DECAY_L]
    dt_tau = fp[P_DT_TAU]
    drive = fp[P_DRIVE]
    decay_e = fp[P_DECAY_E]
    decay_i = fp[P_DECAY_I]
    avg_e = fp[P_AVG_E]
    avg_i = fp[P_AVG_I]
    cap = spk_t.shape[0]
    for s in range(n_steps):
        n = n0 + s
        if record_spikes and n_spk + N > cap:
            return s, n_spk, qe, qi
        slot = n % D
        b = n // rate_every - b0
        if use_queue:
            for k in range(ce[slot]):
                in_e[qe[slot, k]] += 1.0
            ce[slot] = 0
            for k in range(ci[slot]):
                in_i[qi[slot, k]] += 1.0
            ci[slot] = 0
        else:
            for i in range(N):
                in_e[i] += ring_e[slot, i]
                ring_e[slot, i] = 0.0
                in_i[i] += ring_i[slot, i]
                ring_i[slot, i] = 0.0
        for i in range(N):
            q = pop_of[i]
            ne = _count_events(next_ext, i, ext_lam[q]) if ext_lam[q] > 0.0 else 0
            xi = in_i[i] * w_inh
            in_i[i] = 0.0
            if ext_lam_i[q] > 0.0:
                xi += w_ext_i[q] * _count_events(next_ext_i, i, ext_lam_i[q])
            xe = in_e[i] * w_exc
            in_e[i] = 0.0
            frozen = n < ref_end[i]
            vv = v[i]
            if kind == COND_EXP:
                ge = g_e[i] + xe + w_ext[q] * ne
                gi = g_i[i] + xi
                if not frozen:
                    gea = ge * avg_e
                    gia = gi * avg_i
                    gt = 1.0 + gea + gia
                    vinf = (e_l + drive + gea * e_e + gia * e_i) / gt
                    vv = vinf + (vv - vinf) * np.exp(-gt * dt_tau)
                g_e[i] = ge * decay_e
                g_i[i] = gi * decay_i
            elif frozen:
                continue
            elif kind == COND_INSTANT:
                vv = e_l + (vv - e_l) * decay_l
                ae = xe + w_ext[q] * ne
                tot = ae + xi
                if tot > 0.0:
                    vinf = (ae * e_e + xi * e_i) / tot
                    vv = vinf + (vv - vinf) * np.exp(-tot)
            else:  # CURRENT
                vv = e_l + (vv - e_l) * decay_l + xe - xi + w_ext[q] * ne
            if frozen:
                continue
            if vv >= theta:
                vv = v_r
                n_spk = _spike(i, q, n, ref_steps, ref_end, rate_counts, b, record_spikes,
                               spk_t, spk_i, n_spk)
                exc = pop_exc[q]
                if stored:
                    k0 = ptr[i]
                    cnt = ptr[i + 1] - k0
                else:
                    k0 = 0
                    cnt = targets_of(i, paths, dt, buf_idx, buf_del)
                for k in range(cnt):
                    if stored:
                        tgt = idx[k0 + k]
                        sl = (n + dly[k0 + k]) % D
                    else:
                        tgt = buf_idx[k]
                        sl = (n + buf_del[k]) % D
                    if not use_queue:
                        if exc:
                            ring_e[sl, tgt] += 1.0
                        else:
                            ring_i[sl, tgt] += 1.0
                    elif exc:
                        qe = _push(qe, ce, sl, tgt)
                    else:
                        qi = _push(qi, ci, sl, tgt)
            v[i] = vv
        _sample(n, sample_every, s0, v, ref_end, pop_of, v_lo, v_width, hist, n_ref, v_sum,
                trace_ids, traces)
    return n_steps, n_spk, qe, qi


@njit(cache=True, fastmath=True, inline="always")
def _exp_small(x):
    """exp(x) for |x| <= 1 by a degree-11 Taylor polynomial after halving twice.

    y = x/4, |y| <= 0.25: truncation 0.25^12/12! < 2e-16 (relative); squaring twice
    multiplies the rounding error by 4: relative error about 1e-15. Branch-free, so the
    neuron loop vectorises without a vector math library.
    """
    y = 0.25 * x
    p = 1.0 + y * (1.0 + y * (0.5 + y * (1.0 / 6 + y * (1.0 / 24 + y * (
        1.0 / 120 + y * (1.0 / 720 + y * (1.0 / 5040 + y * (1.0 / 40320 + y * (
            1.0 / 362880 + y * (1.0 / 3628800 + y * (1.0 / 39916800)))))))))))
    p = p * p
    return p * p


@njit(cache=True, fastmath=True)
def _cobaf_update(v, v_prev, g_e, g_i, ref_end, n, c0, e_e, e_i, dt_tau, decay_e, decay_i):
    """Vectorisable exponential-Euler update of all neurons (``v_prev`` keeps the old V);
    returns the number of neurons whose exponent left [−1, 0] (recomputed by the caller)."""
    bad = 0
    for i in range(v.shape[0]):
        v_prev[i] = v[i]
        ge = g_e[i]
        gi = g_i[i]
        gt = 1.0 + ge + gi
        vinf = (c0 + ge * e_e + gi * e_i) / gt
        x = -gt * dt_tau
        vn = vinf + (v[i] - vinf) * _exp_small(x)
        frozen = n < ref_end[i]
        v[i] = v[i] if frozen else vn
        bad += x < -1.0
        g_e[i] = ge * decay_e
        g_i[i] = gi * decay_i
    return bad


@njit(cache=True)
def run_steps_direct(n0, n_steps, fp, ref_steps, v, g_e, g_i, ref_end, v_prev,
                     pop_of, pop_exc, w_pre, ptr, idx,
                     rate_every, b0, rate_counts,
                     sample_every, s0, v_lo, v_width, hist, n_ref, v_sum, trace_ids, traces,
                     record_spikes, spk_t, spk_i, n_spk):
    """Fast path of ``COND_EXP`` without external input and with every delay one step
    (the COBA benchmark): spikes of step n are added to the (decayed) conductances at the end
    of step n, exactly as Brian2's ``on_pre`` with zero delay, so no ring buffer is needed.
    Same results as :func:`run_steps` up to floating-point rounding of the exponential.
    """
    N = v.shape[0]
    e_l = fp[P_EL]
    e_e = fp[P_EE]
    e_i = fp[P_EI]
    theta = fp[P_THETA]
    v_r = fp[P_VR]
    dt_tau = fp[P_DT_TAU]
    c0 = e_l + fp[P_DRIVE]
    decay_e = fp[P_DECAY_E]
    decay_i = fp[P_DECAY_I]
    cap = spk_t.shape[0]
    for s in range(n_steps):
        n = n0 + s
        if record_spikes and n_spk + N > cap:
            return s, n_spk
        b = n // rate_every - b0
        if (_cobaf_update(v, v_prev, g_e, g_i, ref_end, n, c0, e_e, e_i, dt_tau, decay_e,
                          decay_i) > 0):
            # rare: very large conductances; redo those neurons with the exact exponential
            for i in range(N):
                ge = g_e[i] / decay_e
                gi = g_i[i] / decay_i
                gt = 1.0 + ge + gi
                if -gt * dt_tau < -1.0 and n >= ref_end[i]:
                    vinf = (c0 + ge * e_e + gi * e_i) / gt
                    v[i] = vinf + (v_prev[i] - vinf) * np.exp(-gt * dt_tau)
        for i in range(N):
            if v[i] >= theta and n >= ref_end[i]:
                v[i] = v_r
                q = pop_of[i]
                n_spk = _spike(i, q, n, ref_steps, ref_end, rate_counts, b, record_spikes,
                               spk_t, spk_i, n_spk)
                w = w_pre[q]
                if pop_exc[q]:
                    for k in range(ptr[i], ptr[i + 1]):
                        g_e[idx[k]] += w
                else:
                    for k in range(ptr[i], ptr[i + 1]):
                        g_i[idx[k]] += w
        _sample(n, sample_every, s0, v, ref_end, pop_of, v_lo, v_width, hist, n_ref, v_sum,
                trace_ids, traces)
    return n_steps, n_spk
