r"""Within-bin closures and their convolution with the Gaussian increment (models.md §2).

For a neuron of bin ``k = [a, b)`` (centre ``c``, half-width ``η = (b - a)/2``) the voltage
after horizon h is ``Y = U + X`` with ``U`` distributed inside the bin according to a closure
with mean ``V̄_k`` and ``X ~ N(μ, σ²)`` independent of ``U``. For every edge ``e`` of the layout
the kernels return, relative to the bin centre (``v = u - c``, ``y = e - c``),

    C(e) = P(Y < e),            G(e) = E[(Y - c) 1{Y < e}],

from which every transition probability and partial mean follows by differences
(:mod:`reduce.markov_approx.transitions`).

Closures
--------
``"maxent"`` (smooth, the ODE default; our construction)
    The maximum-entropy density on the bin with a given mean is the truncated exponential
    ``∝ exp(θ u)``. We use its Q-point Gauss–Lobatto discretisation: ``U`` takes the values
    ``v_i = η s_i`` (``s_i`` the Lobatto nodes on [-1, 1], endpoints included) with weights
    ``w_i(θ) = β_i e^{θ s_i} / Σ_l β_l e^{θ s_l}`` (``β_i`` the Lobatto weights), i.e. the
    maximum-entropy distribution relative to the quadrature measure. ``θ`` solves
    ``Σ w_i v_i = V̄ - c`` (safeguarded Newton). Then, with ``z_i = (y - v_i - μ)/σ``,

        C = Σ w_i Φ(z_i),      G = μ C + Σ w_i v_i Φ(z_i) - σ Σ w_i φ(z_i),

    which is C^∞ in (V̄, μ, σ) for V̄ strictly inside the bin. Derivatives (returned when asked)
    use ``∂z/∂μ = -1/σ``, ``∂z/∂σ = -z/σ`` and, for the closure weights,
    ``∂/∂V̄ Σ w_i f_i = Cov_w(v, f) / Var_w(v)``.
    Terms with ``|z| > Z_CUT = 10`` are taken as Φ ∈ {0, 1}, φ = 0 (error below 1e-23).
``"uniform-widest"`` (published, for the map)
    ``U`` uniform on the widest sub-interval ``[l, r]`` of the bin with mean V̄
    (``[a, 2V̄ - a]`` if V̄ is in the lower half, else ``[2V̄ - b, b]``); closed form with
    ``Ψ(z) = zΦ(z) + φ(z)``:

        C = σ/(r - l) [Ψ(z_l) - Ψ(z_r)],
        G = σ/(r - l) [A(z_l) - A(z_r)],  A(z) = yΨ(z) - σ[(z² - 1)Φ(z) + zφ(z)]/2 - σΦ(z),

    ``z_{l,r} = (y - {l,r} - μ)/σ`` (relative coordinates). Not smooth at the bin midpoint; no
    derivatives.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["lobatto", "CLOSURES", "row_maxent", "row_uniform_widest", "solve_theta"]

#: Names of the closures and their integer codes used in the compiled kernels.
CLOSURES = {"maxent": 0, "uniform-widest": 1}

Z_CUT = 10.0
THETA_MAX = 150.0
_SQRT1_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def lobatto(q: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Lobatto nodes on [-1, 1] (endpoints included) and weights normalised to sum 1.

    >>> s, b = lobatto(3)
    >>> s.tolist(), np.round(b * 6, 12).tolist()
    ([-1.0, 0.0, 1.0], [1.0, 4.0, 1.0])
    """
    q = int(q)
    if q < 2:
        raise ValueError(f"closure_nodes = {q} is outside the valid range [2, 20]")
    from numpy.polynomial import legendre as L

    c = np.zeros(q)
    c[-1] = 1.0  # P_{q-1}
    inner = np.sort(np.real(L.legroots(L.legder(c)))) if q > 2 else np.zeros(0)
    s = np.concatenate([[-1.0], inner, [1.0]])
    pv = L.legval(s, c)
    w = 2.0 / (q * (q - 1) * pv**2)
    return s.astype(np.float64), (w / w.sum()).astype(np.float64)


@njit(cache=True)
def solve_theta(r, nodes, beta, w):
    """Weights ``w`` (filled) of the discrete maximum-entropy law on ``nodes`` with mean ``r``.

    Returns ``(theta, mean, var)`` in the scaled coordinate ``s`` ∈ [-1, 1]; ``r`` is clipped
    to ``[-1 + 1e-13, 1 - 1e-13]``.
    """
    q = nodes.shape[0]
    lim = 1.0 - 1e-13
    if r > lim:
        r = lim
    elif r < -lim:
        r = -lim
    lo = -THETA_MAX
    hi = THETA_MAX
    th = 3.0 * r / max(1.0 - r * r, 1e-3)
    if th > hi:
        th = 0.5 * hi
    if th < lo:
        th = 0.5 * lo
    mean = 0.0
    var = 1.0
    for _ in range(200):
        m = abs(th)
        tot = 0.0
        for i in range(q):
            w[i] = beta[i] * math.exp(th * nodes[i] - m)
            tot += w[i]
        mean = 0.0
        for i in range(q):
            w[i] /= tot
            mean += w[i] * nodes[i]
        var = 0.0
        for i in range(q):
            d = nodes[i] - mean
            var += w[i] * d * d
        f = mean - r
        if f > 0.0:
            hi = th
        else:
            lo = th
        if abs(f) <= 1e-15 * (1.0 + abs(r)) and _ > 0:
            break
        step = f / var if var > 0.0 else 0.0
        nt = th - step
        if not (nt > lo and nt < hi) or var <= 0.0:
            nt = 0.5 * (lo + hi)
        if nt == th:
            break
        th = nt
    return th, mean, var


@njit(cache=True)
def row_maxent(edges, k, vbar_rel, mu, sigma, nodes, beta, deriv, C, G, dC, dG):
    """Fill ``C[e]``, ``G[e]`` (and ``dC[e, :]``, ``dG[e, :]`` = ∂/∂(V̄ via closure, μ, σ)).

    ``vbar_rel`` is ``V̄_k - c_k``; edges of the whole layout are used.
    """
    K1 = edges.shape[0]
    a = edges[k]
    b = edges[k + 1]
    c = 0.5 * (a + b)
    eta = 0.5 * (b - a)
    q = nodes.shape[0]
    w = np.empty(q)
    th, rmean, var_s = solve_theta(vbar_rel / eta, nodes, beta, w)
    v = np.empty(q)
    for i in range(q):
        v[i] = eta * nodes[i]
    vb = eta * rmean
    var = eta * eta * var_s
    inv_var = 1.0 / var if var > 0.0 else 0.0
    inv_s = 1.0 / sigma
    for e in range(K1):
        y = edges[e] - c
        S0 = 0.0
        S1 = 0.0
        S2 = 0.0
        B0 = 0.0
        B1 = 0.0
        Bz = 0.0
        Bvz = 0.0
        Bzz = 0.0
        for i in range(q):
            z = (y - v[i] - mu) * inv_s
            if z > Z_CUT:
                S0 += w[i]
                S1 += w[i] * v[i]
                S2 += w[i] * v[i] * v[i]
                continue
            if z < -Z_CUT:
                continue
            Phi = 0.5 * math.erfc(-z * _SQRT1_2)
            phi = _INV_SQRT_2PI * math.exp(-0.5 * z * z)
            wP = w[i] * Phi
            wp = w[i] * phi
            S0 += wP
            S1 += wP * v[i]
            B0 += wp
            if deriv:
                S2 += wP * v[i] * v[i]
                B1 += wp * v[i]
                Bz += wp * z
                Bvz += wp * v[i] * z
                Bzz += wp * z * z
        C[e] = S0
        G[e] = mu * S0 + S1 - sigma * B0
        if deriv:
            C_v = (S1 - vb * S0) * inv_var
            C_m = -B0 * inv_s
            C_s = -Bz * inv_s
            S1_v = (S2 - vb * S1) * inv_var
            S1_m = -B1 * inv_s
            S1_s = -Bvz * inv_s
            B0_v = (B1 - vb * B0) * inv_var
            B0_m = Bz * inv_s
            B0_s = Bzz * inv_s
            dC[e, 0] = C_v
            dC[e, 1] = C_m
            dC[e, 2] = C_s
            dG[e, 0] = mu * C_v + S1_v - sigma * B0_v
            dG[e, 1] = S0 + mu * C_m + S1_m - sigma * B0_m
            dG[e, 2] = mu * C_s + S1_s - B0 - sigma * B0_s


@njit(cache=True)
def _Phi(z):
    return 0.5 * math.erfc(-z * _SQRT1_2)


@njit(cache=True)
def _phi(z):
    return _INV_SQRT_2PI * math.exp(-0.5 * z * z)


@njit(cache=True)
def row_uniform_widest(edges, k, vbar_rel, mu, sigma, C, G):
    """Fill ``C[e]``, ``G[e]`` for the published widest-sub-interval uniform closure."""
    K1 = edges.shape[0]
    a = edges[k]
    b = edges[k + 1]
    c = 0.5 * (a + b)
    eta = 0.5 * (b - a)
    vb = vbar_rel
    if vb > eta:
        vb = eta
    if vb < -eta:
        vb = -eta
    if vb <= 0.0:
        lo = -eta
        hi = 2.0 * vb + eta
    else:
        lo = 2.0 * vb - eta
        hi = eta
    width = hi - lo
    point = width <= 1e-9 * eta
    for e in range(K1):
        y = edges[e] - c
        if point:
            z = (y - vb - mu) / sigma
            P = _Phi(z)
            C[e] = P
            G[e] = (vb + mu) * P - sigma * _phi(z)
            continue
        zl = (y - lo - mu) / sigma
        zr = (y - hi - mu) / sigma
        Pl = _Phi(zl)
        Pr = _Phi(zr)
        pl = _phi(zl)
        pr = _phi(zr)
        Psil = zl * Pl + pl
        Psir = zr * Pr + pr
        Al = y * Psil - 0.5 * sigma * ((zl * zl - 1.0) * Pl + zl * pl) - sigma * Pl
        Ar = y * Psir - 0.5 * sigma * ((zr * zr - 1.0) * Pr + zr * pr) - sigma * Pr
        f = sigma / width
        C[e] = f * (Psil - Psir)
        G[e] = f * (Al - Ar)
