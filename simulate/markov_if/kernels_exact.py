"""Event-driven (exact) simulation of the Markov IF jump process (models.md §1), numba.

This module shares no code with the fixed-step and tau-leap kernels (its random numbers,
voltage binning and sampling are its own), so that comparing them is an independent check.

The process is simulated with the Gillespie direct method on grouped channels. With N_q the
size of population q, R_q the number of its refractory neurons and K_qr the total number of
pending kicks from population r held by neurons of q, the channels and their total rates are

- external kick onto population q: rate λ_q·N_q; the target is uniform over the N_q neurons,
  and the kick is lost if that neuron is refractory (thinning: a non-refractory neuron gets
  kicks at exactly rate λ_q);
- refractory exit in q: rate R_q/τ_R, the neuron uniform among the refractory ones; it
  re-enters at V = 0;
- release of a pending kick of pathway (q, r): rate K_qr/τ_qr, the kick uniform among the
  K_qr pending ones (every pending kick has its own exponential delay of mean τ_qr, so the
  next one to end is uniform among them). Pending kicks are kept as a list of target ids per
  pathway, so picking and removing one costs O(1).

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
def _u01(st):
    x = st[0] + _GAMMA
    st[0] = x
    z = x
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    z = z ^ (z >> np.uint64(31))
    return float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always")
def _u64(st):
    x = st[0] + _GAMMA
    st[0] = x
    z = x
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


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
def _advance(tcur, t1, V, tl, ref, H, tok, ntok, reflist, nref, pop, offsets, sizes, exc,
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
    ke = _KE
    we = _WE
    fe = _FE
    inv_tau = np.empty(NP)
    pw_q = np.empty(NP, np.int64)      # target population of pathway pw (no integer
    pw_r = np.empty(NP, np.int64)      # division in the event loop)
    headroom = np.empty(NP, np.int64)  # list capacity minus the largest possible fan-out
    for q in range(P):
        for r in range(P):
            pw = q * P + r
            inv_tau[pw] = 1.0 / tau[q, r]
            pw_q[pw] = q
            pw_r[pw] = r
            headroom[pw] = cap_tok - sizes[q]
    ext_total = 0.0
    for q in range(P):
        crate[q] = lam[q] * sizes[q]
        ext_total += crate[q]
    t = tcur[0]
    n_spk = 0
    n_ev = 0
    n_done = 0
    nrow = counts.shape[0]
    while True:
        if n_spk >= cap_spk or (do_events and n_ev + 2 > cap_ev):
            tcur[0] = t
            return 1, n_spk, n_ev, smp_done, n_done
        for pw in range(NP):
            if ntok[pw] > headroom[pw]:
                tcur[0] = t
                return 2, n_spk, n_ev, smp_done, n_done
        total = ext_total
        for q in range(P):
            crate[P + q] = nref[q] * inv_taur
            total += crate[P + q]
        for pw in range(NP):
            crate[2 * P + pw] = ntok[pw] * inv_tau[pw]
            total += crate[2 * P + pw]
        if tcur[1] >= 0.0:
            tn = tcur[1]            # event drawn in the previous call, beyond its end
            tcur[1] = -1.0
        elif total > 0.0:
            tn = t + _exp1(st, ke, we, fe) / total
        else:
            tn = math.inf
        # samples that fall before the next event (state constant until then)
        while smp_done < n_smp:
            ts = (next_sample + smp_done) * record_dt
            if ts > tn or ts > t1:
                break
            _take_sample(ts, V, tl, ref, H, pop, sizes, P, tau_m, edges, hist[smp_done],
                         refc[smp_done], kmean[smp_done], kvar[smp_done], do_coarse, cedges,
                         coarse[smp_done])
            smp_done += 1
        if tn >= t1:
            # samples the engine assigned to this call whose time rounds to t1
            while smp_done < n_smp:
                ts = (next_sample + smp_done) * record_dt
                _take_sample(ts, V, tl, ref, H, pop, sizes, P, tau_m, edges, hist[smp_done],
                             refc[smp_done], kmean[smp_done], kvar[smp_done], do_coarse,
                             cedges, coarse[smp_done])
                smp_done += 1
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
        # the position of x inside the chosen channel is uniform on [0, 1): it picks the
        # neuron / refractory neuron / pending kick of that channel
        w = (x - (acc - crate[ch])) / crate[ch]
        if w >= 1.0:
            w = 0.9999999999999999
        elif w < 0.0:
            w = 0.0
        i = -1
        jump_e = 0.0       # excitatory jump size
        jump_i = 0.0       # inhibitory kick size S (applied as S*g(V))
        if ch < P:
            q = ch
            i = offsets[q] + min(int(w * sizes[q]), sizes[q] - 1)
            if ref[i] != 0:
                continue
            jump_e = 1.0
        elif ch < 2 * P:
            q = ch - P
            j = min(int(w * nref[q]), nref[q] - 1)
            i = reflist[q, j]
            nref[q] -= 1
            reflist[q, j] = reflist[q, nref[q]]
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
            j = min(int(w * ntok[pw]), ntok[pw] - 1)
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
            # spike
            ref[i] = 1
            V[i] = 0.0
            reflist[q, nref[q]] = i
            nref[q] += 1
            spk_t[n_spk] = t
            spk_i[n_spk] = i
            n_spk += 1
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
                pr = p[q2, q]
                if pr <= 0.0:
                    continue
                pw2 = q2 * P + q
                o2 = offsets[q2]
                for jj in range(o2, o2 + sizes[q2]):
                    if use_conn:
                        hit = conn[jj, i] != 0
                    else:
                        hit = _u01(st) < pr
                    if hit:
                        H[q, jj] += 1
                        tok[pw2, ntok[pw2]] = jj
                        ntok[pw2] += 1
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
        self.reflist = np.zeros((P, int(spec.sizes.max())), np.int64)
        self.nref = np.zeros(P, np.int64)
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
        new = np.zeros((self.tok.shape[0], 2 * self.tok.shape[1]), np.int64)
        new[:, : self.tok.shape[1]] = self.tok
        self.tok = new

    def _call(self, tcur, t1, V, tl, ref, H, tok, ntok, reflist, nref, st, *rec):
        return _advance(tcur, t1, V, tl, ref, H, tok, ntok, reflist, nref, self.pop,
                        self.offsets, self.sizes, *self.net, st, *rec)

    def warmup(self, edges, cedges, do_coarse):
        """Compile (or load from the cache) with a call that simulates nothing."""
        P, N = self.spec.n_pop, self.spec.n_neurons
        nb = len(edges) - 1
        self._call(np.array([0.0, -1.0]), 0.0, self.V.copy(), self.tl.copy(), self.ref.copy(),
                   self.H.copy(), self.tok.copy(), self.ntok.copy(), self.reflist.copy(),
                   self.nref.copy(), self.st.copy(), 0, 0.1, np.zeros((1, P), np.int64), 1,
                   0, 0, 1.0, edges, np.zeros((1, P, nb), np.int32), np.zeros((1, P), np.int32),
                   np.zeros((1, P * P)), np.zeros((1, P * P)), do_coarse, cedges,
                   np.zeros((1, N if do_coarse else 1), np.int16), np.zeros(1),
                   np.zeros(1, np.int64), False, np.zeros(1), np.zeros(1, np.int64),
                   np.zeros(1, np.int16), np.zeros(1, np.int16))

    def sample(self, ts, edges, cedges, do_coarse, hist_row, refc_row, kmean_row, kvar_row,
               coarse_row):
        _take_sample(ts, self.V, self.tl, self.ref, self.H, self.pop, self.sizes,
                     self.spec.n_pop, self.spec.tau_m, edges, hist_row, refc_row, kmean_row,
                     kvar_row, do_coarse, cedges, coarse_row)

    def advance(self, t1, b0, rate_dt, counts, next_sample, smp_done, n_smp, record_dt, edges,
                hist, refc, kmean, kvar, do_coarse, cedges, coarse, spk_t, spk_i, do_events,
                ev_t, ev_i, ev_from, ev_to):
        return self._call(self.tcur, float(t1), self.V, self.tl, self.ref, self.H, self.tok,
                          self.ntok, self.reflist, self.nref, self.st, int(b0), float(rate_dt),
                          counts, int(next_sample), int(smp_done), int(n_smp),
                          float(record_dt), edges, hist, refc, kmean, kvar, bool(do_coarse),
                          cedges, coarse, spk_t, spk_i, bool(do_events), ev_t, ev_i, ev_from,
                          ev_to)
