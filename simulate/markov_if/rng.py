"""Inline random numbers for the fixed-step and tau-leap kernels (numba).

Generator: xoshiro256** (Blackman & Vigna), 64-bit output, state of four ``uint64`` words in a
NumPy array that the kernels carry along; seeded from one integer through splitmix64. Every
sampler below is exact (up to floating-point rounding), no approximate shortcut:

- :func:`uniform`: ``(x >> 11) * 2**-53``, uniform on [0, 1).
- :func:`normal`: Box–Muller, both variates used (the spare is kept in ``spare[0]``, its
  presence flagged in ``spare[1]``).
- :func:`poisson`: sequential inversion of the CDF, P(k+1) = P(k)·μ/(k+1), P(0) = e^{−μ};
  means above 30 are split into a sum of Poisson(30) draws plus a remainder (Poisson
  variables add), so the starting term never underflows.
- :func:`binom_table` + :func:`draw_table`: when every neuron draws Binomial(n, p) with the
  same (n, p) in one step (kicks from this step's n spikes), the CDF is tabulated once and
  each draw is an inversion by bisection.
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

__all__ = ["seed_state", "next_u64", "uniform", "normal", "poisson", "poisson_small",
           "binomial", "binom_table", "draw_table", "binomial_pow"]

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


@njit(cache=True, inline="always")
def next_u64(s):
    """Next 64-bit output of xoshiro256** (advances ``s`` in place)."""
    s0 = s[0]
    s1 = s[1]
    s2 = s[2]
    s3 = s[3]
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    s[0] = s0
    s[1] = s1
    s[2] = s2
    s[3] = s3
    return result


@njit(cache=True, inline="always")
def uniform(s):
    """Uniform on [0, 1) with 53 random bits."""
    return float(next_u64(s) >> np.uint64(11)) * _U53


@njit(cache=True)
def normal(s, spare):
    """Standard normal (Box–Muller; ``spare`` is a float64 array of length 2)."""
    if spare[1] != 0.0:
        spare[1] = 0.0
        return spare[0]
    u1 = 1.0 - uniform(s)          # (0, 1]
    u2 = uniform(s)
    r = math.sqrt(-2.0 * math.log(u1))
    th = 2.0 * math.pi * u2
    spare[0] = r * math.sin(th)
    spare[1] = 1.0
    return r * math.cos(th)


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
def binom_table(n, p, cdf):
    """Fill ``cdf[0..n]`` with the CDF of Binomial(n, p) (normalised so that cdf[n] = 1).

    The probabilities are built outward from the mode with the ratio recurrence, starting from
    the mode's probability in log space (``lgamma``), so nothing underflows that matters.
    Used when many neurons draw from the same Binomial(n, p) in one step.
    """
    if p <= 0.0:
        for k in range(n + 1):
            cdf[k] = 1.0
        return
    if p >= 1.0:
        for k in range(n):
            cdf[k] = 0.0
        cdf[n] = 1.0
        return
    mode = int((n + 1) * p)
    if mode > n:
        mode = n
    lp = (math.lgamma(n + 1.0) - math.lgamma(mode + 1.0) - math.lgamma(n - mode + 1.0)
          + mode * math.log(p) + (n - mode) * math.log1p(-p))
    ratio = p / (1.0 - p)
    cdf[mode] = math.exp(lp)
    for k in range(mode, n):               # pmf(k+1) = pmf(k) (n-k)/(k+1) p/(1-p)
        cdf[k + 1] = cdf[k] * (n - k) / (k + 1.0) * ratio
    for k in range(mode, 0, -1):           # pmf(k-1) = pmf(k) k/(n-k+1) (1-p)/p
        cdf[k - 1] = cdf[k] * k / (n - k + 1.0) / ratio
    acc = 0.0
    for k in range(n + 1):
        acc += cdf[k]
        cdf[k] = acc
    for k in range(n + 1):
        cdf[k] /= acc
    cdf[n] = 1.0


@njit(cache=True, inline="always")
def draw_table(s, cdf, n):
    """Inversion on a CDF table ``cdf[0..n]``: the smallest k with U < cdf[k] (bisection)."""
    u = uniform(s)
    lo = 0
    hi = n
    while lo < hi:
        mid = (lo + hi) >> 1
        if u < cdf[mid]:
            hi = mid
        else:
            lo = mid + 1
    return lo


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
