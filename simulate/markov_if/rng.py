"""Inline random numbers for the fixed-step and tau-leap kernels (numba).

Generator: xoshiro256** (Blackman & Vigna), 64-bit output, state of four ``uint64`` words in a
NumPy array that the kernels carry along; seeded from one integer through splitmix64. Every
sampler below is exact (up to floating-point rounding), no approximate shortcut:

- :func:`uniform`: ``(x >> 11) * 2**-53``, uniform on [0, 1).
- standard normal (inline in :mod:`kernels_fixed`): the Marsaglia–Tsang (2000) ziggurat,
  128 layers (:func:`zig_tables`, rare branches in :func:`zig_slow`); the layer index comes
  from the low 7 bits and the signed 32-bit abscissa from the high 32 bits of one output.
- :func:`poisson_small` / :func:`poisson_tab`: sequential inversion of the CDF,
  P(k+1) = P(k)·μ/(k+1), P(0) = e^{−μ} (given, from a table over the pending-kick count);
  :func:`poisson` splits means above 30 into a sum of Poisson(30) draws plus a remainder.
- :func:`binom_pmf` + :func:`alias_build` + :func:`alias_draw`: when every neuron draws
  Binomial(n, p) with the same (n, p) in one step (kicks from this step's n spikes), the pmf
  is built once (from the mode outward, starting in log space) and turned into a
  Walker/Vose alias table; each draw then costs one uniform.
- :func:`poisson_alias_rows` / :func:`binom_alias_rows` + ``*_alias_draw``: the release
  counts Poisson(H·Δt/τ) (fixed-step) and Binomial(H, 1 − e^{−Δt/τ}) (tau-leap) and the
  external Poisson(λΔt) (tau-leap) depend only on the integer H for a given pathway, so one
  alias row per H < 256 is built per kernel call over the outcomes 0 … K−1 plus a tail
  outcome "≥ K" of mass 1 − P(X ≤ K−1); a tail draw continues the sequential inversion on
  U′ uniform in [P(X ≤ K−1), 1), so the law is exact.
- :func:`binomial_pow`: sequential inversion with the starting term (1−p)^n supplied from a
  table (tau-leap releases, p = 1 − exp(−Δt/τ) fixed per pathway).
- :func:`binomial`: sequential inversion with P(0) = (1−p)^n,
  P(k+1) = P(k)·(n−k)/(k+1)·p/(1−p), after reflecting p > 1/2 to 1−p (n − Bin(n, 1−p)) and
  splitting n into blocks of at most 128 trials (binomials with equal p add).

The exact event-driven kernel (:mod:`kernels_exact`) deliberately does not use this module.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["seed_state", "next_u64", "uniform", "poisson", "poisson_small", "poisson_tab",
           "binomial", "binomial_pow", "binom_pmf", "alias_build", "alias_draw", "zig_tables",
           "zig_slow", "poisson_alias_rows", "poisson_alias_draw", "binom_alias_rows",
           "binom_alias_draw", "alias_draw_at", "poisson_tail", "binom_tail", "alias_rows_flat",
           "xo_load", "xo_store", "xo_next", "xo_uniform", "alias_pack", "alias_pick",
           "poisson_tail_u", "binom_tail_u"]

_U53 = 1.0 / 9007199254740992.0  # 2**-53
_E30 = math.exp(-30.0)


def seed_state(seed: int, stream: int = 0) -> np.ndarray:
    """The 4-word xoshiro256** state for ``seed`` (and an optional sub-stream), via splitmix64."""
    mask = (1 << 64) - 1
    x = int(seed) * 0x9E3779B97F4A7C15 + int(stream) * 0xD1B54A32D192ED03
    x = (x + 0x632BE59BD9B4E019) & mask
    out = np.empty(4, np.uint64)
    for k in range(4):
        x = (x + 0x9E3779B97F4A7C15) & mask
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        out[k] = np.uint64(z ^ (z >> 31))
    if not out.any():
        out[0] = np.uint64(1)
    return out


@njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


# ----------------------------------------------------------------------------- register state
# The generator step on four state words carried in local variables (passed in and returned
# as a tuple; numba inlines these, LLVM keeps the words in registers). The array form
# (:func:`next_u64`, :func:`uniform`) loads and stores the four words through memory on every
# draw (a serial dependency: 2.4 ns per uniform against 1.0 ns in registers, measured in
# isolation). The kernels load the state once per call (:func:`xo_load`), draw with
# :func:`xo_uniform`, and write it back (:func:`xo_store`) before any helper that takes the
# array; both forms give the same sequence.
@njit(cache=True, inline="always")
def xo_load(s):
    """The four state words of ``s`` as a tuple (for :func:`xo_next`, :func:`xo_uniform`)."""
    return s[0], s[1], s[2], s[3]


@njit(cache=True, inline="always")
def xo_store(s, s0, s1, s2, s3):
    """Write the four state words back into ``s``."""
    s[0] = s0
    s[1] = s1
    s[2] = s2
    s[3] = s3


@njit(cache=True, inline="always")
def xo_next(s0, s1, s2, s3):
    """One xoshiro256** step on local state: returns ``(s0, s1, s2, s3, output)``."""
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return s0, s1, s2, s3, result


@njit(cache=True, inline="always")
def next_u64(s):
    """Next 64-bit output of xoshiro256** (advances ``s`` in place)."""
    s0, s1, s2, s3, result = xo_next(s[0], s[1], s[2], s[3])
    xo_store(s, s0, s1, s2, s3)
    return result


@njit(cache=True, inline="always")
def uniform(s):
    """Uniform on [0, 1) with 53 random bits."""
    return float(next_u64(s) >> np.uint64(11)) * _U53


@njit(cache=True, inline="always")
def xo_uniform(s0, s1, s2, s3):
    """Uniform on [0, 1) from local state: ``(s0, s1, s2, s3, u)`` (as :func:`uniform`)."""
    s0, s1, s2, s3, x = xo_next(s0, s1, s2, s3)
    return s0, s1, s2, s3, float(x >> np.uint64(11)) * _U53


@njit(cache=True)
def poisson_small(s, mu, emu):
    """Poisson(mu) by sequential inversion, ``emu = exp(-mu)`` given (mu <= 30)."""
    u = uniform(s)
    k = 0
    pk = emu
    c = pk
    while u > c:
        k += 1
        pk *= mu / k
        c += pk
        if k > 400:      # only reachable through rounding in the far tail
            break
    return k


@njit(cache=True)
def poisson_tab(s, mu, emu, invk):
    """As :func:`poisson_small`, with ``invk[k] = 1/k`` tabulated (k < len(invk))."""
    u = uniform(s)
    k = 0
    pk = emu
    c = pk
    nk = invk.shape[0] - 1
    while u > c:
        k += 1
        if k > nk:
            break
        pk *= mu * invk[k]
        c += pk
    return k


@njit(cache=True)
def poisson(s, mu):
    """Poisson(mu) for any mu >= 0 (blocks of 30, see module docstring)."""
    if mu <= 0.0:
        return 0
    k = 0
    while mu > 30.0:
        k += poisson_small(s, 30.0, _E30)
        mu -= 30.0
    return k + poisson_small(s, mu, math.exp(-mu))


@njit(cache=True)
def _binom_block(s, m, pp):
    q = 1.0 - pp
    f = q ** m
    ratio = pp / q
    u = uniform(s)
    k = 0
    c = f
    while u > c and k < m:
        f *= (m - k) / (k + 1.0) * ratio
        k += 1
        c += f
    return k


@njit(cache=True)
def binomial(s, n, p):
    """Binomial(n, p) (see module docstring)."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    flip = p > 0.5
    pp = 1.0 - p if flip else p
    tot = 0
    rem = n
    while rem > 0:
        m = rem if rem < 128 else 128
        tot += _binom_block(s, m, pp)
        rem -= m
    return n - tot if flip else tot


@njit(cache=True)
def binomial_pow(s, n, pp, q_pow_n):
    """Binomial(n, pp) by sequential inversion for pp <= 1/2 with (1-pp)^n given.

    For small means only (n·pp of order 1; for the tau-leap release counts), n <= 128·k is
    not required: the caller passes the exact starting term.
    """
    q = 1.0 - pp
    f = q_pow_n
    ratio = pp / q
    u = uniform(s)
    k = 0
    c = f
    while u > c and k < n:
        f *= (n - k) / (k + 1.0) * ratio
        k += 1
        c += f
    return k


# ----------------------------------------------------------------------------- ziggurat
def zig_tables(n: int = 128, r: float = 3.442619855899, v: float = 9.91256303526217e-3):
    """Tables of the Marsaglia–Tsang (2000) ziggurat for the standard normal, ``n`` layers.

    Returns ``kn`` (int64 acceptance thresholds on the 32-bit signed abscissa), ``wn``
    (abscissa scale per layer) and ``fn`` (density at the layer edges).
    """
    m1 = 2147483648.0
    kn = np.zeros(n, np.int64)
    wn = np.zeros(n)
    fn = np.zeros(n)
    dn = r
    tn = dn
    q = v / math.exp(-0.5 * dn * dn)
    kn[0] = int((dn / q) * m1)
    kn[1] = 0
    wn[0] = q / m1
    wn[n - 1] = dn / m1
    fn[0] = 1.0
    fn[n - 1] = math.exp(-0.5 * dn * dn)
    for i in range(n - 2, 0, -1):
        dn = math.sqrt(-2.0 * math.log(v / dn + math.exp(-0.5 * dn * dn)))
        kn[i + 1] = int((dn / tn) * m1)
        tn = dn
        fn[i] = math.exp(-0.5 * dn * dn)
        wn[i] = dn / m1
    return kn, wn, fn


ZIG_R = 3.442619855899


@njit(cache=True)
def zig_slow(s, hz, iz, kn, wn, fn):
    """The rare branches of the ziggurat (wedges and the tail beyond ZIG_R)."""
    while True:
        x = hz * wn[iz]
        if iz == 0:
            while True:
                xx = -math.log(1.0 - uniform(s)) / ZIG_R
                yy = -math.log(1.0 - uniform(s))
                if yy + yy >= xx * xx:
                    break
            return ZIG_R + xx if hz > 0 else -ZIG_R - xx
        if fn[iz] + uniform(s) * (fn[iz - 1] - fn[iz]) < math.exp(-0.5 * x * x):
            return x
        u = next_u64(s)
        iz = int(u & np.uint64(127))
        hz = np.int64(np.int32(np.uint32(u >> np.uint64(32))))
        if abs(hz) < kn[iz]:
            return hz * wn[iz]


# ----------------------------------------------------------------------------- alias tables
@njit(cache=True)
def alias_build(pmf, n, prob, alias, small, large):
    """Walker/Vose alias table of the distribution ``pmf[0..n]`` (sums to 1).

    After the call ``prob[k]`` and ``alias[k]`` (k = 0..n) let :func:`alias_draw` sample it
    exactly (up to rounding) with one uniform. ``small``/``large`` are int64 work arrays of
    length >= n + 1.
    """
    m = n + 1
    ns = 0
    nl = 0
    for k in range(m):
        prob[k] = pmf[k] * m
        alias[k] = k
        if prob[k] < 1.0:
            small[ns] = k
            ns += 1
        else:
            large[nl] = k
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        a = small[ns]
        g = large[nl - 1]
        alias[a] = g
        prob[g] = (prob[g] + prob[a]) - 1.0
        if prob[g] < 1.0:
            nl -= 1
            small[ns] = g
            ns += 1
    for k in range(nl):
        prob[large[k]] = 1.0
    for k in range(ns):
        prob[small[k]] = 1.0


@njit(cache=True, inline="always")
def alias_draw(s, prob, alias, n):
    """One draw from an alias table over 0..n (one 53-bit uniform: column and coin)."""
    x = uniform(s) * (n + 1)
    k = int(x)
    if k > n:
        k = n
    return k if (x - k) < prob[k] else alias[k]


@njit(cache=True)
def binom_pmf(n, p, pmf):
    """``pmf[0..n]`` of Binomial(n, p), built from the mode outward (see :func:`binom_table`)."""
    if p <= 0.0:
        pmf[: n + 1] = 0.0
        pmf[0] = 1.0
        return
    if p >= 1.0:
        pmf[: n + 1] = 0.0
        pmf[n] = 1.0
        return
    mode = int((n + 1) * p)
    if mode > n:
        mode = n
    lp = (math.lgamma(n + 1.0) - math.lgamma(mode + 1.0) - math.lgamma(n - mode + 1.0)
          + mode * math.log(p) + (n - mode) * math.log1p(-p))
    ratio = p / (1.0 - p)
    pmf[mode] = math.exp(lp)
    for k in range(mode, n):
        pmf[k + 1] = pmf[k] * (n - k) / (k + 1.0) * ratio
    for k in range(mode, 0, -1):
        pmf[k - 1] = pmf[k] * k / (n - k + 1.0) / ratio
    tot = 0.0
    for k in range(n + 1):
        tot += pmf[k]
    for k in range(n + 1):
        pmf[k] /= tot


# ----------------------------------------------------------------------------- Poisson alias rows
@njit(cache=True)
def poisson_alias_rows(mu_unit, n_rows, K, prob, alias, tail_c, tail_p, pmf, small, large):
    """Alias tables for Poisson(h·mu_unit), h = 0 … n_rows−1, over {0, …, K−1, "≥ K"}.

    Row h of ``prob``/``alias`` (shape (n_rows, K+1)) samples the outcomes 0 … K−1 with their
    Poisson probabilities and outcome K with the tail mass P(X ≥ K); ``tail_c[h]`` = P(X ≤ K−1)
    and ``tail_p[h]`` = P(X = K−1) let :func:`poisson_alias_draw` finish a tail draw exactly.
    ``pmf`` (K+1,) and ``small``/``large`` (K+1,) int64 are work arrays.
    """
    for h in range(n_rows):
        mu = h * mu_unit
        pk = math.exp(-mu)
        c = 0.0
        for k in range(K):
            if k > 0:
                pk *= mu / k
            pmf[k] = pk
            c += pk
        tail_c[h] = c
        tail_p[h] = pmf[K - 1]
        pmf[K] = max(0.0, 1.0 - c)
        tot = c + pmf[K]
        for k in range(K + 1):
            pmf[k] /= tot
        alias_build(pmf, K, prob[h], alias[h], small, large)


@njit(cache=True, inline="always")
def alias_draw_at(s, prob, alias, base, n):
    """As :func:`alias_draw`, for a table stored at ``prob[base:base+n+1]`` of a flat array
    (the kernels keep all their tables in flat arrays: indexing them creates no array views)."""
    x = uniform(s) * (n + 1)
    k = int(x)
    if k > n:
        k = n
    return k if (x - k) < prob[base + k] else alias[base + k]


@njit(cache=True)
def alias_pack(prob, alias):
    """One float64 array with ``prob[j]`` at ``2j`` and ``alias[j]`` at ``2j + 1``.

    :func:`alias_pick` reads both from one cache line, and, the alias being a float that is
    converted back, numba/LLVM compile the pick to a conditional move instead of a branch
    around the alias load (a branch taken with probability ≈ 1 − prob, so often mispredicted:
    7.2 ns against 2.5 ns per draw, measured in isolation with the generator in registers).
    """
    m = prob.shape[0]
    tab = np.empty(2 * m)
    for j in range(m):
        tab[2 * j] = prob[j]
        tab[2 * j + 1] = float(alias[j])
    return tab


@njit(cache=True, inline="always")
def alias_pick(u, tab, base, n):
    """Outcome of the alias table over 0..n stored packed (:func:`alias_pack`) from entry
    ``base`` of ``tab``, for the uniform ``u`` (column ⌊u(n+1)⌋, coin its fraction). The same
    outcome as :func:`alias_draw_at` given the same uniform."""
    x = u * (n + 1)
    k = int(x)
    if k > n:
        k = n
    j = 2 * (base + k)
    a = tab[j + 1]
    keep = 1.0 if (x - k) < tab[j] else 0.0
    # k if keep else a, in arithmetic (exact on small integers): LLVM turns a select into a
    # branch around the alias load where it guesses that pays, and that branch is
    # unpredictable; a floating-point blend it may not rewrite without fast-math
    return int(a + keep * (k - a))


@njit(cache=True)
def poisson_tail_u(u, K, mu, c, pK1):
    """:func:`poisson_tail` for a given uniform ``u`` on [0, 1)."""
    u = c + u * (1.0 - c)
    k = K - 1
    pk = pK1
    cc = c
    while cc <= u:
        k += 1
        pk *= mu / k
        cc += pk
        if k > 4000 or pk == 0.0:
            break
    return k


@njit(cache=True)
def poisson_tail(s, K, mu, c, pK1):
    """Poisson(mu) conditioned on X >= K: sequential inversion from K on U' in [c, 1),
    ``c`` = P(X <= K-1), ``pK1`` = P(X = K-1) (the tail outcome of an alias row)."""
    return poisson_tail_u(uniform(s), K, mu, c, pK1)


@njit(cache=True, inline="always")
def poisson_alias_draw(s, prob_row, alias_row, K, mu, c, pK1):
    """One Poisson(mu) draw from an alias row of :func:`poisson_alias_rows`; the tail outcome
    continues the sequential inversion from K on U' ∈ [c, 1) (exact)."""
    k = alias_draw(s, prob_row, alias_row, K)
    if k < K:
        return k
    return poisson_tail(s, K, mu, c, pK1)


# ----------------------------------------------------------------------------- binomial alias rows
@njit(cache=True)
def binom_alias_rows(pp, n_rows, K, prob, alias, tail_c, tail_p, pmf, small, large):
    """Alias tables for Binomial(n, pp), n = 0 … n_rows−1, over {0, …, K−1, "≥ K"}.

    As :func:`poisson_alias_rows` (probabilities of k ≥ n+1 are zero); pp < 1.
    """
    ratio = pp / (1.0 - pp)
    for n in range(n_rows):
        pk = (1.0 - pp) ** n
        c = 0.0
        for k in range(K):
            if k > 0:
                pk = pk * (n - k + 1) / k * ratio if k <= n else 0.0
            pmf[k] = pk
            c += pk
        tail_c[n] = c
        tail_p[n] = pmf[K - 1]
        pmf[K] = max(0.0, 1.0 - c) if n >= K else 0.0   # no tail beyond n (rounding)
        tot = c + pmf[K]
        for k in range(K + 1):
            pmf[k] /= tot
        alias_build(pmf, K, prob[n], alias[n], small, large)


@njit(cache=True)
def binom_tail(s, K, n, pp, c, pK1):
    """Binomial(n, pp) conditioned on X >= K (as :func:`poisson_tail`)."""
    return binom_tail_u(uniform(s), K, n, pp, c, pK1)


@njit(cache=True)
def binom_tail_u(u, K, n, pp, c, pK1):
    """:func:`binom_tail` for a given uniform ``u`` on [0, 1)."""
    u = c + u * (1.0 - c)
    ratio = pp / (1.0 - pp)
    k = K - 1
    pk = pK1
    cc = c
    while cc <= u and k < n:
        pk *= (n - k) / (k + 1.0) * ratio
        k += 1
        cc += pk
    return k


@njit(cache=True, inline="always")
def binom_alias_draw(s, prob_row, alias_row, K, n, pp, c, pK1):
    """One Binomial(n, pp) draw from an alias row of :func:`binom_alias_rows` (exact tail)."""
    k = alias_draw(s, prob_row, alias_row, K)
    if k < K:
        return k
    return binom_tail(s, K, n, pp, c, pK1)


# ----------------------------------------------------------------------------- flat rows
@njit(cache=True)
def alias_rows_flat(binomial_law, units, n_rows, K):
    """Alias rows of :func:`binom_alias_rows` (``binomial_law``) or :func:`poisson_alias_rows`
    for every value of ``units`` (success probability, or Poisson mean per count), in flat
    arrays: row h of unit j starts at ``(j*n_rows + h)*(K + 1)`` in ``prob``/``alias``, and its
    tail constants are ``tail_c[j*n_rows + h]``, ``tail_p[j*n_rows + h]``.

    Returns ``(prob, alias, tail_c, tail_p)``.
    """
    n_u = units.shape[0]
    W = K + 1
    prob = np.empty((n_u, n_rows, W))
    alias = np.empty((n_u, n_rows, W), np.int64)
    tail_c = np.empty((n_u, n_rows))
    tail_p = np.empty((n_u, n_rows))
    pmf = np.empty(W)
    small = np.empty(W, np.int64)
    large = np.empty(W, np.int64)
    for j in range(n_u):
        if binomial_law:
            binom_alias_rows(units[j], n_rows, K, prob[j], alias[j], tail_c[j], tail_p[j], pmf,
                             small, large)
        else:
            poisson_alias_rows(units[j], n_rows, K, prob[j], alias[j], tail_c[j], tail_p[j],
                               pmf, small, large)
    return prob.reshape(-1), alias.reshape(-1), tail_c.reshape(-1), tail_p.reshape(-1)
