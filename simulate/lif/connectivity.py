"""Procedural connectivity: a neuron's targets regenerated from seeds, never stored.

Every synapse is a pure function of ``(conn_seed, pathway, presynaptic neuron)``, so a spike's
targets can be recomputed when the spike is emitted and memory does not grow with the number
of synapses (``connectivity="procedural"``). The same functions fill a compressed sparse row
table once (``connectivity="stored"``), which is faster per spike and gives the *identical*
network for the same ``conn_seed``.

Two rules per pathway (presynaptic population Q' -> postsynaptic population Q):

``"fixed-indegree"`` (models.md §4 and §5: every neuron has exactly K_in inputs from Q')
    The n_pre presynaptic neurons are split into K_in contiguous blocks
    B_k = [s_k, s_{k+1}), s_k = floor(k n_pre / K_in). Postsynaptic neuron i takes exactly one
    input from every block: neuron s_k + (π_k(i) mod |B_k|), where π_k is a pseudo-random
    permutation of [0, n_post) (a 4-round Feistel network on 64-bit hashes with cycle
    walking). Inverting, presynaptic neuron s_k + r projects to
    {π_k^{-1}(r + m |B_k|) : m = 0, 1, ...; r + m |B_k| < n_post}.
    Hence in-degree exactly K_in, out-degree n_post/|B_k| ± 1, no multiple synapses, and two
    postsynaptic neurons share on average K_in/|B_k| ≈ K_in²/n_pre inputs, as for uniformly
    drawn input sets. With heterogeneous in-degrees K_i (``cv_k > 0``) the number of blocks
    is max_i K_i and neuron i keeps block k only if σ_i(k) < K_i, σ_i a second pseudo-random
    permutation of the blocks, so its in-degree is exactly K_i.

``"bernoulli"`` (the COBA benchmark: each ordered pair connected with probability p)
    Targets of neuron j are drawn by geometric skipping with a counter-based generator seeded
    from (pathway key, j); autapses allowed, as in Brian2's ``connect(p=...)``.

Transmission delays are uniform in [d_lo, d_hi] ms per synapse, hashed from (key, j, i),
rounded to the step ``dt`` and at least one step.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "RULE_FIXED_INDEGREE",
    "RULE_BERNOULLI",
    "Pathways",
    "build_pathways",
    "targets_of",
    "build_csr",
    "in_degrees",
]

RULE_FIXED_INDEGREE = 0
RULE_BERNOULLI = 1

_GOLD = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0


@njit(cache=True, inline="always")
def mix64(z):
    """splitmix64 finaliser: a bijective 64-bit hash (uint64 -> uint64)."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def hash_uniform(z):
    """A uniform number in [0, 1) from a 64-bit key."""
    return np.float64(mix64(z) >> _S11) * _INV53


@njit(cache=True)
def _bits(n):
    b = 2
    while (np.int64(1) << b) < n:
        b += 1
    return b


@njit(cache=True)
def _feistel(x, key, bits, inverse):
    """4-round unbalanced Feistel permutation of [0, 2**bits); halves of bits//2 and the
    rest alternate, so any bit width works and cycle walking needs < 2 steps on average."""
    wa = bits // 2
    wb = bits - wa
    z = np.uint64(x)
    if not inverse:
        wl, wr = wa, wb          # (L: wl high bits, R: wr low bits)
        for r in range(4):
            ml = (np.uint64(1) << np.uint64(wl)) - np.uint64(1)
            mr = (np.uint64(1) << np.uint64(wr)) - np.uint64(1)
            left = z >> np.uint64(wr)
            right = z & mr
            kr = mix64(key + np.uint64(r + 1) * _GOLD)
            f = mix64(right ^ kr) & ml
            z = (right << np.uint64(wl)) | (left ^ f)
            wl, wr = wr, wl
    else:
        wl, wr = wa, wb          # after 4 rounds the widths are back to (wa, wb)
        for r in range(3, -1, -1):
            # undo round r: z = (right << w_l) | (left ^ f), with (w_l, w_r) of round r
            wl_r, wr_r = (wa, wb) if r % 2 == 0 else (wb, wa)
            ml = (np.uint64(1) << np.uint64(wl_r)) - np.uint64(1)
            mr = (np.uint64(1) << np.uint64(wr_r)) - np.uint64(1)
            right = z >> np.uint64(wl_r)
            left_x = z & ml
            kr = mix64(key + np.uint64(r + 1) * _GOLD)
            f = mix64((right & mr) ^ kr) & ml
            z = ((left_x ^ f) << np.uint64(wr_r)) | right
    return np.int64(z)


@njit(cache=True)
def perm(x, key, n):
    """A pseudo-random permutation of [0, n) evaluated at ``x`` (cycle-walking Feistel)."""
    if n <= 1:
        return np.int64(0)
    b = _bits(n)
    y = _feistel(x, key, b, False)
    while y >= n:
        y = _feistel(y, key, b, False)
    return y


@njit(cache=True)
def perm_inv(y, key, n):
    """Inverse of :func:`perm`."""
    if n <= 1:
        return np.int64(0)
    b = _bits(n)
    x = _feistel(y, key, b, True)
    while x >= n:
        x = _feistel(x, key, b, True)
    return x


class Pathways:
    """Flat arrays describing every pathway (for the numba kernels).

    Row p of each array describes pathway p, from population ``pre_pop[p]`` onto
    ``post_pop[p]``; ``kin`` holds the per-postsynaptic-neuron in-degrees of every pathway
    (offset ``kin_off[p]``, used only if ``hetero[p]``).
    """

    def __init__(self, rows, kin):
        names = ("rule", "pre_off", "n_pre", "post_off", "n_post", "kb", "hetero", "kin_off")
        for j, name in enumerate(names):
            setattr(self, name, np.array([r[j] for r in rows], dtype=np.int64))
        self.prob = np.array([r[8] for r in rows], dtype=np.float64)
        self.d_lo = np.array([r[9] for r in rows], dtype=np.float64)
        self.d_hi = np.array([r[10] for r in rows], dtype=np.float64)
        self.key = np.array([r[11] for r in rows], dtype=np.uint64)
        self.kin = kin.astype(np.int64)

    def as_tuple(self):
        """The pathway arrays as one tuple, in the argument order of the numba kernels.

        Returns
        -------
        tuple of ndarray
            ``(rule, pre_off, n_pre, post_off, n_post, kb, hetero, kin_off, prob, d_lo, d_hi,
            key, kin)``.
        """
        return (self.rule, self.pre_off, self.n_pre, self.post_off, self.n_post, self.kb,
                self.hetero, self.kin_off, self.prob, self.d_lo, self.d_hi, self.key, self.kin)

    @property
    def n_paths(self) -> int:
        return len(self.rule)


def build_pathways(sizes, in_degree, delays, conn_seed, rule="fixed-indegree", cv_k=0.0,
                   prob=None):
    """Describe every pathway of a network.

    Parameters
    ----------
    sizes : list of int
        Neurons per population, in global-id order.
    in_degree : 2-D array-like (post, pre)
        In-degree K_in of each pathway (``"fixed-indegree"``); 0 = no pathway.
    delays : list of (lo, hi)
        Delay range (ms) of the synapses *from* each population.
    conn_seed : int
        Seed of the connectivity.
    rule : {"fixed-indegree", "bernoulli"}
    cv_k : float
        Coefficient of variation of the in-degrees (gamma-distributed, rounded), 0 = fixed.
    prob : 2-D array-like (post, pre), optional
        Connection probabilities (``"bernoulli"``).

    Returns
    -------
    Pathways
    """
    offs = np.concatenate([[0], np.cumsum(sizes)])
    rows, kin_parts, kin_len = [], [], 0
    rng = np.random.default_rng(np.random.SeedSequence([int(conn_seed), 7]))
    npop = len(sizes)
    for q_pre in range(npop):
        for q_post in range(npop):
            key = _py_mix64(int(conn_seed) * 0x9E3779B97F4A7C15 + 1 + q_pre * 64 + q_post)
            if rule == "bernoulli":
                p = float(prob[q_post][q_pre])
                if p <= 0:
                    continue
                rows.append((RULE_BERNOULLI, offs[q_pre], sizes[q_pre], offs[q_post],
                             sizes[q_post], 0, 0, 0, p, delays[q_pre][0], delays[q_pre][1], key))
                continue
            k = int(in_degree[q_post][q_pre])
            if k <= 0:
                continue
            hetero = 0
            kb = k
            if cv_k > 0:
                shape = 1.0 / cv_k**2
                ki = np.rint(rng.gamma(shape, k / shape, size=sizes[q_post])).astype(np.int64)
                ki = np.clip(ki, 1, sizes[q_pre])
                kb = int(ki.max())
                hetero = 1
                kin_parts.append(ki)
            rows.append((RULE_FIXED_INDEGREE, offs[q_pre], sizes[q_pre], offs[q_post],
                         sizes[q_post], kb, hetero, kin_len, 0.0, delays[q_pre][0],
                         delays[q_pre][1], key))
            if hetero:
                kin_len += sizes[q_post]
    kin = np.concatenate(kin_parts) if kin_parts else np.zeros(1, np.int64)
    return Pathways(rows, kin)


def _py_mix64(z: int) -> int:
    """:func:`mix64` in Python integers (for keys computed outside numba)."""
    mask = (1 << 64) - 1
    z &= mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)


@njit(cache=True)
def _delay_steps(key, j, i, d_lo, d_hi, dt):
    if d_hi <= d_lo:
        d = d_lo
    else:
        u = hash_uniform(key ^ mix64(np.uint64(j) * _GOLD + np.uint64(i) + np.uint64(1)))
        d = d_lo + (d_hi - d_lo) * u
    s = np.int64(np.floor(d / dt + 0.5))
    return s if s >= 1 else np.int64(1)


@njit(cache=True)
def targets_of(j, paths, dt, out_idx, out_del):
    """Global target ids and delay steps of global neuron ``j``; returns their number.

    ``out_idx``/``out_del`` must hold at least the total size of the postsynaptic
    populations.
    """
    (rule, pre_off, n_pre, post_off, n_post, kb, hetero, kin_off, prob, d_lo, d_hi, key,
     kin) = paths
    cnt = 0
    for p in range(rule.shape[0]):
        l = j - pre_off[p]
        if l < 0 or l >= n_pre[p]:
            continue
        kp = key[p]
        np_ = n_post[p]
        if rule[p] == RULE_FIXED_INDEGREE:
            nb = kb[p]
            k = ((l + 1) * nb - 1) // n_pre[p]
            s0 = (k * n_pre[p]) // nb
            s1 = ((k + 1) * n_pre[p]) // nb
            size = s1 - s0
            r = l - s0
            keyk = mix64(kp ^ (np.uint64(k + 1) * _GOLD))
            m = r
            while m < np_:
                i = perm_inv(m, keyk, np_)
                m += size
                if hetero[p]:
                    ks = mix64(kp + np.uint64(i + 1) * _M1)
                    if perm(k, ks, nb) >= kin[kin_off[p] + i]:
                        continue
                out_idx[cnt] = post_off[p] + i
                out_del[cnt] = _delay_steps(kp, l, i, d_lo[p], d_hi[p], dt)
                cnt += 1
        else:
            pr = prob[p]
            if pr >= 1.0:
                for i in range(np_):
                    out_idx[cnt] = post_off[p] + i
                    out_del[cnt] = _delay_steps(kp, l, i, d_lo[p], d_hi[p], dt)
                    cnt += 1
                continue
            lq = np.log1p(-pr)
            state = mix64(kp ^ (np.uint64(l + 1) * _M2))
            i = -1
            while True:
                state = state + _GOLD
                u = hash_uniform(state)
                i += 1 + np.int64(np.floor(np.log1p(-u) / lq))
                if i >= np_:
                    break
                out_idx[cnt] = post_off[p] + i
                out_del[cnt] = _delay_steps(kp, l, i, d_lo[p], d_hi[p], dt)
                cnt += 1
    return cnt


@njit(cache=True)
def _count_all(n_total, n_post_total, paths, dt):
    counts = np.zeros(n_total, np.int64)
    bi = np.empty(n_post_total, np.int64)
    bd = np.empty(n_post_total, np.int64)
    for j in range(n_total):
        counts[j] = targets_of(j, paths, dt, bi, bd)
    return counts


@njit(cache=True)
def _fill_all(ptr, idx, dly, paths, dt, n_post_total):
    bi = np.empty(n_post_total, np.int64)
    bd = np.empty(n_post_total, np.int64)
    for j in range(ptr.shape[0] - 1):
        c = targets_of(j, paths, dt, bi, bd)
        for s in range(c):
            idx[ptr[j] + s] = bi[s]
            dly[ptr[j] + s] = bd[s]


def build_csr(n_total, paths: Pathways, dt):
    """Store every neuron's targets: ``(ptr, idx int32, delay_steps int16/int32)``."""
    tup = paths.as_tuple()
    counts = _count_all(n_total, n_total, tup, dt)
    ptr = np.zeros(n_total + 1, np.int64)
    np.cumsum(counts, out=ptr[1:])
    idx = np.empty(ptr[-1], np.int32)
    max_d = 1 + int(np.ceil(max(paths.d_hi.max(initial=0.0), 0.0) / dt))
    dly = np.empty(ptr[-1], np.int16 if max_d < 32000 else np.int32)
    _fill_all(ptr, idx, dly, tup, dt, n_total)
    return ptr, idx, dly


def in_degrees(n_total, paths: Pathways, dt, pre_range, post_range):
    """Count, for each neuron of ``post_range``, its inputs from ``pre_range`` (tests)."""
    ptr, idx, _ = build_csr(n_total, paths, dt)
    deg = np.zeros(n_total, np.int64)
    lo, hi = pre_range
    sel = idx[ptr[lo]:ptr[hi]]
    np.add.at(deg, sel, 1)
    return deg[post_range[0]:post_range[1]]
