"""Event-driven (exact) simulation of the Markov IF jump process (models.md §1), numba.

This module shares no code with the fixed-step and tau-leap kernels (its random numbers,
voltage binning and sampling are its own), so that comparing them is an independent check.

The process is simulated with the Gillespie direct method on grouped channels. With N_q the
size of population q, R_q the number of its refractory neurons and K_qr the total number of
pending kicks from population r held by neurons of q, the channels and their total rates are

- external kick onto population q: rate λ_q·(N_q − R_q), the target uniform among the
  non-refractory neurons of q (kicks on refractory neurons are lost, so they need no events);
- refractory exit in q: rate R_q/τ_R, the neuron uniform among the refractory ones; it
  re-enters at V = 0;
- release of a pending kick of pathway (q, r): rate K_qr/τ_qr, the kick uniform among the
  K_qr pending ones (every pending kick has its own exponential delay of mean τ_qr, so the
  next one to end is uniform among them). Pending kicks are kept as a list of target ids per
  pathway, so picking and removing one costs O(1). The neurons of each population are kept
  in one permutation, non-refractory first (with each neuron's position), so picking a
  non-refractory or a refractory neuron and moving it across costs O(1) too.

Effects: an external kick does V ← V + 1, an E release V ← V + S_qr, an I release
V ← V − S_qr·(V + M_r)/(M + M_r); on a refractory neuron a released kick is lost. When V ≥ M
the neuron spikes at that instant: it becomes refractory (V set to 0, the value it will
re-enter with), and every neuron j of every population q′ independently gains one pending kick
of pathway (q′, pop of the spiker) with probability p_{q′q} ("redraw" connectivity), or iff
the quenched graph says so ("fixed").

``integer=True`` (Li–Chariker–Young form): voltages are integers; a jump of non-integer size
x is applied as ⌊x⌋ + Bernoulli(x − ⌊x⌋) (the I jump is subtracted the same way, V clamped at
−M_r). ``tau_m > 0`` (real voltages only): V decays as V·exp(−Δt/τ_m) between the events that
touch the neuron (applied lazily).

Random numbers: splitmix64 (Steele, Lea & Flood), uniform = top 53 bits · 2^−53; waiting
times from the Marsaglia–Tsang exponential ziggurat (256 layers; tail beyond the base r by
memorylessness, r − log(1 − U)).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["ExactState"]

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


@njit(cache=True, inline="always")
def _u64(st):
    x = st[0] + _GAMMA
    st[0] = x
    z = x
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def _u01(st):
    return float(_u64(st) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


def _exp_tables(n=256, r=7.69711747013104972, v=3.949659822581572e-3):
    """Marsaglia–Tsang (2000) ziggurat tables of the unit exponential, 256 layers."""
    m2 = 4294967296.0
    ke = np.zeros(n, np.int64)
    we = np.zeros(n)
    fe = np.zeros(n)
    de = r
    te = de
    q = v / math.exp(-de)
    ke[0] = int((de / q) * m2)
    ke[1] = 0
    we[0] = q / m2
    we[n - 1] = de / m2
    fe[0] = 1.0
    fe[n - 1] = math.exp(-de)
    for i in range(n - 2, 0, -1):
        de = -math.log(v / de + math.exp(-de))
        ke[i + 1] = int((de / te) * m2)
        te = de
        fe[i] = math.exp(-de)
        we[i] = de / m2
    return ke, we, fe


_KE, _WE, _FE = _exp_tables()
_ZR = 7.69711747013104972


@njit(cache=True)
def _exp_slow(st, jz, iz, ke, we, fe):
    while True:
        if iz == 0:
            return _ZR - math.log(1.0 - _u01(st))     # memoryless tail beyond the base
        x = jz * we[iz]
        if fe[iz] + _u01(st) * (fe[iz - 1] - fe[iz]) < math.exp(-x):
            return x
        u = _u64(st)
        iz = int(u & np.uint64(255))
        jz = np.int64(u >> np.uint64(32))
        if jz < ke[iz]:
            return jz * we[iz]


@njit(cache=True, inline="always")
def _exp1(st, ke, we, fe):
    """Unit exponential by the ziggurat: layer from the low 8 bits, the unsigned 32-bit
    abscissa from the high 32 bits of one splitmix64 output; rare cases in _exp_slow."""
    u = _u64(st)
    iz = int(u & np.uint64(255))
    jz = np.int64(u >> np.uint64(32))
    if jz < ke[iz]:
        return jz * we[iz]
    return _exp_slow(st, jz, iz, ke, we, fe)


@njit(cache=True, inline="always")
def _find_bin(e, v):
    nb = e.shape[0] - 1
    k = 0
    lo = 0
    hi = nb  # invariant: e[lo] <= v < e[hi] (clipped)
    if v < e[1]:
        return 0
    if v >= e[nb - 1]:
        return nb - 1
    lo = 1
    hi = nb - 1
    while hi - lo > 1:
        k = (lo + hi) // 2
        if e[k] <= v:
            lo = k
        else:
            hi = k
    return lo


@njit(cache=True)
def _take_sample(ts, V, tl, ref, H, pop, sizes, P, tau_m, edges, hist_row, refc_row,
                 kmean_row, kvar_row, do_coarse, cedges, coarse_row):
    N = V.shape[0]
    for q in range(P):
        refc_row[q] = 0
        for b in range(hist_row.shape[1]):
            hist_row[q, b] = 0
    tot = np.zeros(P * P)
    tot2 = np.zeros(P * P)
    ncb = cedges.shape[0] - 1
    for i in range(N):
        q = pop[i]
        if ref[i] != 0:
            refc_row[q] += 1
            if do_coarse:
                coarse_row[i] = ncb
        else:
            v = V[i]
            if tau_m > 0.0:
                v = v * math.exp(-(ts - tl[i]) / tau_m)
            hist_row[q, _find_bin(edges, v)] += 1
            if do_coarse:
                coarse_row[i] = _find_bin(cedges, v)
        for r in range(P):
            x = float(H[r, i])
            tot[q * P + r] += x
            tot2[q * P + r] += x * x
    for q in range(P):
        for r in range(P):
            mean = tot[q * P + r] / sizes[q]
            kmean_row[q * P + r] = mean
            var = tot2[q * P + r] / sizes[q] - mean * mean
            kvar_row[q * P + r] = var if var > 0.0 else 0.0


@njit(cache=True)
def _advance(tcur, t1, V, tl, ref, H, tok, ntok, perm, pos, nact, pop, offsets, sizes, exc,
             lam, p, S, tau, M, M_r, tau_r, tau_m, integer, use_conn, conn, st,
             b0, rate_dt, counts, next_sample, smp_done, n_smp, record_dt, edges, hist, refc,
             kmean, kvar, do_coarse, cedges, coarse, spk_t, spk_i, do_events, ev_t, ev_i,
             ev_from, ev_to):
    """Run events from ``tcur[0]`` up to ``t1`` (``tcur[1]``: time of an event already drawn
    beyond the end of the previous call, or -1).

    Returns ``(status, n_spikes, n_events_logged, samples_done, n_events)``; status 0: reached
    ``t1``; 1: spike or event buffer full (call again after emptying them); 2: a pending-kick
    list may overflow (grow ``tok`` and call again). The state is consistent on every return.
    """
    P = sizes.shape[0]
    NP = P * P
    cap_tok = tok.shape[1]
    cap_spk = spk_t.shape[0]
    cap_ev = ev_t.shape[0]
    ncb = cedges.shape[0] - 1
    span = M + M_r
    inv_taur = 1.0 / tau_r
    crate = np.empty(2 * P + NP)
    # channel rate per item (neuron, refractory neuron, pending kick): the offset of x inside
    # channel ch times 1/rate_per_item[ch] is uniform on [0, n_items)
    inv_item = np.empty(2 * P + NP)
    for q in range(P):
        inv_item[q] = 1.0 / lam[q] if lam[q] > 0.0 else 0.0
        inv_item[P + q] = tau_r
    ke = _KE
    we = _WE
    fe = _FE
    inv_tau = np.empty(NP)
    pw_q = np.empty(NP, np.int64)      # target population of pathway pw (no integer
    pw_r = np.empty(NP, np.int64)      # division in the event loop)
    headroom = np.empty(NP, np.int64)  # list capacity minus the largest possible fan-out
    # target draw U < p as an integer test on the 53 bits of U: (z >> 11) < ceil(p·2^53)
    thr = np.empty((P, P), np.uint64)
    for q in range(P):
        for r in range(P):
            pw = q * P + r
            inv_tau[pw] = 1.0 / tau[q, r]
            pw_q[pw] = q
            pw_r[pw] = r
            inv_item[2 * P + pw] = tau[q, r]
            headroom[pw] = cap_tok - sizes[q] - 1   # the branch-free fan-out writes one more
            thr[q, r] = np.uint64(math.ceil(min(max(p[q, r], 0.0), 1.0) * 9007199254740992.0))
    t = tcur[0]
    n_spk = 0
    n_ev = 0
    n_done = 0
    nrow = counts.shape[0]
    check = True      # buffers and pending-kick lists grow only at spikes
    ts_next = (next_sample + smp_done) * record_dt if smp_done < n_smp else math.inf
    while True:
        if check or (do_events and n_ev + 2 > cap_ev):
            check = False
            if n_spk >= cap_spk or (do_events and n_ev + 2 > cap_ev):
                tcur[0] = t
                return 1, n_spk, n_ev, smp_done, n_done
            for pw in range(NP):
                if ntok[pw] > headroom[pw]:
                    tcur[0] = t
                    return 2, n_spk, n_ev, smp_done, n_done
        total = 0.0
        for q in range(P):
            crate[q] = lam[q] * nact[q]
            crate[P + q] = (sizes[q] - nact[q]) * inv_taur
            total += crate[q] + crate[P + q]
        for pw in range(NP):
            crate[2 * P + pw] = ntok[pw] * inv_tau[pw]
            total += crate[2 * P + pw]
        if tcur[1] >= 0.0:
            tn = tcur[1]            # event drawn in the previous call, beyond its end
            tcur[1] = -1.0
        elif total > 0.0:
            tn = t + _exp1(st, ke, we, fe) * (1.0 / total)
        else:
            tn = math.inf
        # samples that fall before the next event (state constant until then)
        if ts_next <= tn or tn >= t1:
            while smp_done < n_smp:
                ts = (next_sample + smp_done) * record_dt
                if (ts > tn or ts > t1) and tn < t1:
                    break
                # (when tn >= t1 every remaining sample of this call is taken: the engine
                # assigns a call only samples whose time rounds to at most t1)
                _take_sample(ts, V, tl, ref, H, pop, sizes, P, tau_m, edges, hist[smp_done],
                             refc[smp_done], kmean[smp_done], kvar[smp_done], do_coarse,
                             cedges, coarse[smp_done])
                smp_done += 1
            ts_next = (next_sample + smp_done) * record_dt if smp_done < n_smp else math.inf
        if tn >= t1:
            # keep the drawn event for the next call (results do not depend on chunking)
            tcur[1] = tn
            tcur[0] = t1
            return 0, n_spk, n_ev, smp_done, n_done
        t = tn
        n_done += 1
        x = _u01(st) * total
        ch = 0
        acc = crate[0]
        while acc <= x and ch < 2 * P + NP - 1:
            ch += 1
            acc += crate[ch]
        # the position of x inside the chosen channel, in units of one item's rate, is
        # uniform on [0, n_items): it picks the neuron / refractory neuron / pending kick
        w = (x - (acc - crate[ch])) * inv_item[ch]
        if w < 0.0:
            w = 0.0
        i = -1
        jump_e = 0.0       # excitatory jump size
        jump_i = 0.0       # inhibitory kick size S (applied as S*g(V))
        if ch < P:
            q = ch
            i = perm[q, min(int(w), nact[q] - 1)]
            jump_e = 1.0
        elif ch < 2 * P:
            q = ch - P
            nr = sizes[q] - nact[q]
            j = nact[q] + min(int(w), nr - 1)
            i = perm[q, j]
            i2 = perm[q, nact[q]]            # first refractory: swap into place nact[q]
            perm[q, j] = i2
            pos[i2] = j
            perm[q, nact[q]] = i
            pos[i] = nact[q]
            nact[q] += 1
            ref[i] = 0
            V[i] = 0.0
            tl[i] = t
            if do_events:
                ev_t[n_ev] = t
                ev_i[n_ev] = i
                ev_from[n_ev] = ncb
                ev_to[n_ev] = _find_bin(cedges, 0.0)
                n_ev += 1
            continue
        else:
            pw = ch - 2 * P
            q = pw_q[pw]
            r = pw_r[pw]
            j = min(int(w), ntok[pw] - 1)
            i = tok[pw, j]
            ntok[pw] -= 1
            tok[pw, j] = tok[pw, ntok[pw]]
            H[r, i] -= 1
            if ref[i] != 0:
                continue
            if exc[r]:
                jump_e = S[q, r]
            else:
                jump_i = S[q, r]
        # apply the jump to non-refractory neuron i of population q
        v = V[i]
        if tau_m > 0.0:
            v = v * math.exp(-(t - tl[i]) / tau_m)
            tl[i] = t
        v_old = v
        if jump_e != 0.0:
            if integer:
                fl = math.floor(jump_e)
                v += fl + (1.0 if _u01(st) < jump_e - fl else 0.0)
            else:
                v += jump_e
        else:
            d = jump_i * (v + M_r) / span
            if integer:
                fl = math.floor(d)
                v -= fl + (1.0 if _u01(st) < d - fl else 0.0)
            else:
                v -= d
            if v < -M_r:
                v = -M_r
        if v >= M:
            # spike: i leaves the non-refractory part of the permutation
            ref[i] = 1
            V[i] = 0.0
            last = nact[q] - 1
            j = pos[i]
            i2 = perm[q, last]
            perm[q, j] = i2
            pos[i2] = j
            perm[q, last] = i
            pos[i] = last
            nact[q] = last
            spk_t[n_spk] = t
            spk_i[n_spk] = i
            n_spk += 1
            check = True
            row = int(math.floor(t / rate_dt)) - b0
            if row >= nrow:
                row = nrow - 1
            counts[row, q] += 1
            if do_events:
                ev_t[n_ev] = t
                ev_i[n_ev] = i
                ev_from[n_ev] = _find_bin(cedges, v_old)
                ev_to[n_ev] = ncb
                n_ev += 1
            for q2 in range(P):
                if p[q2, q] <= 0.0:
                    continue
                th = thr[q2, q]
                pw2 = q2 * P + q
                o2 = offsets[q2]
                nt = ntok[pw2]
                for jj in range(o2, o2 + sizes[q2]):
                    if use_conn:
                        hit = 1 if conn[jj, i] != 0 else 0
                    else:
                        hit = 1 if (_u64(st) >> np.uint64(11)) < th else 0
                    H[q, jj] += hit             # branch-free: write always, advance on a hit
                    tok[pw2, nt] = jj
                    nt += hit
                ntok[pw2] = nt
        else:
            V[i] = v
            if do_events:
                bo = _find_bin(cedges, v_old)
                bn = _find_bin(cedges, v)
                if bo != bn:
                    ev_t[n_ev] = t
                    ev_i[n_ev] = i
                    ev_from[n_ev] = bo
                    ev_to[n_ev] = bn
                    n_ev += 1


def _seed_word(seed: int) -> np.ndarray:
    x = (int(seed) * 0x2545F4914F6CDD1D + 0x7A3C9E1F) & ((1 << 64) - 1)
    return np.array([x], np.uint64)


class ExactState:
    """State and driver of the event-driven kernel (used by :mod:`engine`)."""

    rng_name = "splitmix64 (simulate.markov_if.kernels_exact)"

    def __init__(self, spec, V0, pop, conn, seed, integer):
        P, N = spec.n_pop, spec.n_neurons
        self.spec = spec
        self.V = np.array(V0, float)
        self.tl = np.zeros(N)
        self.ref = np.zeros(N, np.uint8)
        self.H = np.zeros((P, N), np.int64)
        cap = int(max(64, 8 * spec.sizes.max()))
        self.tok = np.zeros((P * P, cap), np.int64)
        self.ntok = np.zeros(P * P, np.int64)
        # neurons of each population, non-refractory first (nobody is refractory at start)
        self.perm = np.zeros((P, int(spec.sizes.max())), np.int64)
        self.pos = np.zeros(N, np.int64)
        for q in range(P):
            o, n = int(spec.offsets[q]), int(spec.sizes[q])
            self.perm[q, :n] = np.arange(o, o + n)
            self.pos[o:o + n] = np.arange(n)
        self.nact = spec.sizes.astype(np.int64).copy()
        self.pop = pop
        self.offsets = spec.offsets.astype(np.int64)
        self.sizes = spec.sizes.astype(np.int64)
        self.conn = conn
        self.integer = bool(integer)
        self.st = _seed_word(seed)
        self.tcur = np.array([0.0, -1.0])
        self.net = (spec.excitatory.copy(), spec.lam.astype(float), spec.p.astype(float),
                    spec.S.astype(float), spec.tau.astype(float), float(spec.M),
                    float(spec.M_r), float(spec.tau_r), float(spec.tau_m), self.integer,
                    spec.connectivity == "fixed", conn)

    def grow(self):
        """Double the capacity of the pending-kick token buffer ``tok`` (existing tokens kept)."""
        new = np.zeros((self.tok.shape[0], 2 * self.tok.shape[1]), np.int64)
        new[:, : self.tok.shape[1]] = self.tok
        self.tok = new

    def _call(self, tcur, t1, V, tl, ref, H, tok, ntok, perm, pos, nact, st, *rec):
        return _advance(tcur, t1, V, tl, ref, H, tok, ntok, perm, pos, nact, self.pop,
                        self.offsets, self.sizes, *self.net, st, *rec)

    def warmup(self, edges, cedges, do_coarse):
        """Compile (or load from the cache) with a call that simulates nothing."""
        P, N = self.spec.n_pop, self.spec.n_neurons
        nb = len(edges) - 1
        self._call(np.array([0.0, -1.0]), 0.0, self.V.copy(), self.tl.copy(), self.ref.copy(),
                   self.H.copy(), self.tok.copy(), self.ntok.copy(), self.perm.copy(),
                   self.pos.copy(), self.nact.copy(), self.st.copy(), 0, 0.1,
                   np.zeros((1, P), np.int64), 1, 0, 0, 1.0, edges,
                   np.zeros((1, P, nb), np.int32), np.zeros((1, P), np.int32),
                   np.zeros((1, P * P)), np.zeros((1, P * P)), do_coarse, cedges,
                   np.zeros((1, N if do_coarse else 1), np.int16), np.zeros(1),
                   np.zeros(1, np.int64), False, np.zeros(1), np.zeros(1, np.int64),
                   np.zeros(1, np.int16), np.zeros(1, np.int16))

    def sample(self, ts, edges, cedges, do_coarse, hist_row, refc_row, kmean_row, kvar_row,
               coarse_row):
        """Record one sample at time ``ts`` into the given rows (voltage histogram, refractory
        counts, kick mean/variance and, if ``do_coarse``, each neuron's coarse index).
        """
        _take_sample(ts, self.V, self.tl, self.ref, self.H, self.pop, self.sizes,
                     self.spec.n_pop, self.spec.tau_m, edges, hist_row, refc_row, kmean_row,
                     kvar_row, do_coarse, cedges, coarse_row)

    def advance(self, t1, b0, rate_dt, counts, next_sample, smp_done, n_smp, record_dt, edges,
                hist, refc, kmean, kvar, do_coarse, cedges, coarse, spk_t, spk_i, do_events,
                ev_t, ev_i, ev_from, ev_to):
        """Run the compiled event-driven kernel from the current time up to ``t1``.

        Updates the state in place and writes spike counts, samples, spikes and (if
        ``do_events``) bin-crossing events into the given output arrays.

        Returns
        -------
        tuple
            ``(status, n_spikes, n_events_logged, samples_done, n_events)``; status 0: reached
            ``t1``, 1: spike or event buffer full, 2: grow ``tok`` (:meth:`grow`) and call
            again.
        """
        return self._call(self.tcur, float(t1), self.V, self.tl, self.ref, self.H, self.tok,
                          self.ntok, self.perm, self.pos, self.nact, self.st, int(b0),
                          float(rate_dt), counts, int(next_sample), int(smp_done), int(n_smp),
                          float(record_dt), edges, hist, refc, kmean, kvar, bool(do_coarse),
                          cedges, coarse, spk_t, spk_i, bool(do_events), ev_t, ev_i, ev_from,
                          ev_to)
