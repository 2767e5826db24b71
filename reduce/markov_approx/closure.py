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

from .normal import norm_cdf_from_exp, norm_cdf_pdf

__all__ = ["lobatto", "CLOSURES", "WORK_ROWS", "cdf_maxent", "row_maxent", "row_maxent_work",
           "row_uniform_widest", "solve_theta"]

#: Names of the closures and their integer codes used in the compiled kernels.
CLOSURES = {"maxent": 0, "uniform-widest": 1}

Z_CUT = 10.0
#: Rows of the work array of :func:`row_maxent_work`.
WORK_ROWS = 8
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
def _normalise(w, nodes, tot):
    """Divide the weights ``w`` by ``tot``; return their mean and variance on ``nodes``."""
    inv = 1.0 / tot
    mean = 0.0
    for i in range(w.shape[0]):
        w[i] *= inv
        mean += w[i] * nodes[i]
    var = 0.0
    for i in range(w.shape[0]):
        d = nodes[i] - mean
        var += w[i] * d * d
    return mean, var


@njit(cache=True)
def solve_theta(r, nodes, beta, w):
    """Weights ``w`` (filled) of the discrete maximum-entropy law on ``nodes`` with mean ``r``.

    Returns ``(theta, mean, var)`` in the scaled coordinate ``s`` ∈ [-1, 1]; ``r`` is clipped
    to ``[-1 + 1e-15, 1 - 1e-15]``.
    """
    q = nodes.shape[0]
    lim = 1.0 - 1e-15
    if r > lim:
        r = lim
    elif r < -lim:
        r = -lim
    lo = -THETA_MAX
    hi = THETA_MAX
    if abs(r) < 0.3:
        # inverse of the cumulant series of the mean, r = κ2 θ + κ3 θ²/2 + κ4 θ³/6 + O(θ⁴)
        # (κ of the node measure β): θ ≈ r/κ2 - κ3 r²/(2 κ2³) + (3κ3² - κ2 κ4) r³/(6 κ2⁵);
        # error O(r⁴), so one Newton step reaches round-off for |r| ≲ 1e-2 (most rows)
        m1 = 0.0
        for i in range(q):
            m1 += beta[i] * nodes[i]
        k2 = 0.0
        k3 = 0.0
        k4 = 0.0
        for i in range(q):
            d = nodes[i] - m1
            k2 += beta[i] * d * d
            k3 += beta[i] * d * d * d
            k4 += beta[i] * d * d * d * d
        k4 -= 3.0 * k2 * k2
        rr = r - m1
        th = (rr / k2 - k3 * rr * rr / (2.0 * k2 ** 3)
              + (3.0 * k3 * k3 - k2 * k4) * rr ** 3 / (6.0 * k2 ** 5))
    else:
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
        mean, var = _normalise(w, nodes, tot)
        f = mean - r
        if f > 0.0:
            hi = th
        else:
            lo = th
        if abs(f) <= 1e-15 * (1.0 + abs(r)):
            break
        step = f / var if var > 0.0 else 0.0
        nt = th - step
        if not (nt > lo and nt < hi) or var <= 0.0:
            nt = 0.5 * (lo + hi)
        elif abs(step) <= 1e-6:
            # last Newton step without exponentials: the residual after it is predicted as
            # |κ3| step²/(2 var) (κ3 the third central moment of w); when that is below
            # round-off, w_i ∝ w_i e^{-step s_i} with e^t = 1 + t + t²/2 (error |t|³/6
            # ≤ 2e-19 for |t| ≤ 1e-6) gives the final weights
            k3w = 0.0
            for i in range(q):
                d = nodes[i] - mean
                k3w += w[i] * d * d * d
            if 0.5 * abs(k3w) * step * step <= 0.25e-15 * (1.0 + abs(r)) * var:
                tot = 0.0
                for i in range(q):
                    t = -step * nodes[i]
                    w[i] *= 1.0 + t * (1.0 + 0.5 * t)
                    tot += w[i]
                mean, var = _normalise(w, nodes, tot)
                return nt, mean, var
        if nt == th:
            break
        th = nt
    return th, mean, var


@njit(cache=True)
def row_maxent(edges, k, vbar_rel, mu, sigma, nodes, beta, deriv, C, G, dC, dG):
    """Fill ``C[e]``, ``G[e]`` (and ``dC[e, :]``, ``dG[e, :]`` = ∂/∂(V̄ via closure, μ, σ)).

    ``vbar_rel`` is ``V̄_k - c_k``; edges of the whole layout are used.
    """
    work = np.empty((WORK_ROWS, nodes.shape[0]))
    row_maxent_work(edges, k, vbar_rel, mu, sigma, nodes, beta, deriv, C, G, dC, dG, work)


@njit(cache=True)
def row_maxent_work(edges, k, vbar_rel, mu, sigma, nodes, beta, deriv, C, G, dC, dG, work):
    """:func:`row_maxent` with caller-provided work space ``work`` (WORK_ROWS, Q); a
    (6, Q) array (the former size) also works, at the cost of two small allocations.

    Evaluation of Φ(z), φ(z) at node i and edge e (z = (y_e - v_i - μ)/σ): with
    ``E = exp(-z²/2)``, ``φ = E/√(2π)`` and Φ from E and erfcx (:mod:`normal`). Along a run
    of equally spaced edges (spacing Δ, d = Δ/σ) E follows a two-term recurrence instead of
    an exponential per edge,

        E_{e+1} = E_e R_e,   R_e = E_{e+1}/E_e = exp(-z_e d - d²/2),   R_{e+1} = R_e exp(-d²),

    started from two direct evaluations (relative error of E after m steps ≲ m·(z²/2 + 2)·u,
    u the unit round-off: ≤ 1e-13 at |z| = 10 where E ~ 1e-22, ≤ 1e-15 for |z| ≲ 1). Edges
    and nodes whose z leaves [-Z_CUT, Z_CUT] restart the recurrence from direct values.
    """
    K1 = edges.shape[0]
    a = edges[k]
    b = edges[k + 1]
    c = 0.5 * (a + b)
    eta = 0.5 * (b - a)
    q = nodes.shape[0]
    w = work[0]
    th, rmean, var_s = solve_theta(vbar_rel / eta, nodes, beta, w)
    v = work[1]
    for i in range(q):
        v[i] = eta * nodes[i]
    vb = eta * rmean
    var = eta * eta * var_s
    inv_var = 1.0 / var if var > 0.0 else 0.0
    inv_s = 1.0 / sigma
    # edges entirely below / above the Gaussian window of every node: closed values
    lo_y = -eta + mu - Z_CUT * sigma + c
    hi_y = eta + mu + Z_CUT * sigma + c
    e_lo = np.searchsorted(edges, lo_y)
    e_hi = np.searchsorted(edges, hi_y, side="right")
    for e in range(0, min(e_lo, K1)):
        C[e] = 0.0
        G[e] = 0.0
        if deriv:
            for a_ in range(3):
                dC[e, a_] = 0.0
                dG[e, a_] = 0.0
    for e in range(max(e_hi, 0), K1):
        C[e] = 1.0
        G[e] = mu + vb
        if deriv:
            dC[e, 0] = 0.0
            dC[e, 1] = 0.0
            dC[e, 2] = 0.0
            dG[e, 0] = 1.0
            dG[e, 1] = 1.0
            dG[e, 2] = 0.0
    # dominant node: covariances are accumulated as Σ w_i (v_i - v̄)(f_i - f_*), which is
    # exact because Σ w_i (v_i - v̄) = 0 and avoids cancellation when the weights concentrate
    # on one node (in-bin mean at a bin edge)
    ist = 0
    for i in range(1, q):
        if w[i] > w[ist]:
            ist = i
    dv = work[2]
    for i in range(q):
        dv[i] = v[i] - vb
    dv[ist] = 0.0
    Phs = work[3]
    phs = work[4]
    zs = work[5]
    # E = exp(-z²/2) of node i at the previous edge and E(next)/E(previous) (NaN: not
    # available); callers with the former (6, Q) work array get them allocated here
    if work.shape[0] >= WORK_ROWS:
        Es = work[6]
        Rs = work[7]
    else:
        Es = np.empty(q)
        Rs = np.empty(q)
    for i in range(q):
        Es[i] = np.nan
        Rs[i] = np.nan
    sp_prev = -1.0
    qd = 1.0
    sp_qd = -1.0
    # the Lobatto nodes include the bin edges (v_0 = -η, v_{Q-1} = +η): when the layout
    # spacing equals the row's bin width, y_e - v_{Q-1} = y_{e-1} - v_0, i.e. node Q-1 at
    # edge e has the z of node 0 at edge e-1, and its Φ, φ are reused (one erfc and one exp
    # fewer per edge)
    two_eta = 2.0 * eta
    for e in range(e_lo, min(e_hi, K1)):
        y = edges[e] - c
        sp = edges[e] - edges[e - 1] if e > e_lo else -1.0
        share = sp == two_eta
        rec = sp > 0.0 and sp == sp_prev
        if rec and sp != sp_qd:
            dd = sp * inv_s
            qd = math.exp(-dd * dd)
            sp_qd = sp
        z_bot = zs[0]
        P_bot = Phs[0]
        p_bot = phs[0]
        for i in range(q):
            if i == q - 1 and share:
                zs[i] = z_bot
                Phs[i] = P_bot
                phs[i] = p_bot
                Es[i] = np.nan
                continue
            z = (y - v[i] - mu) * inv_s
            zs[i] = z
            if z > Z_CUT:
                Phs[i] = 1.0
                phs[i] = 0.0
                Es[i] = np.nan
            elif z < -Z_CUT:
                Phs[i] = 0.0
                phs[i] = 0.0
                Es[i] = np.nan
            else:
                if rec and Rs[i] == Rs[i] and Es[i] == Es[i]:
                    r = Rs[i] * qd
                    E = Es[i] * r
                else:
                    E = math.exp(-0.5 * z * z)
                    # ratio to the previous edge (NaN if unavailable or E underflowed)
                    r = E / Es[i] if Es[i] > 1e-290 else np.nan
                Rs[i] = r
                Es[i] = E
                Phs[i] = norm_cdf_from_exp(z, E)
                phs[i] = _INV_SQRT_2PI * E
        sp_prev = sp
        S0 = 0.0
        S1 = 0.0
        B0 = 0.0
        for i in range(q):
            S0 += w[i] * Phs[i]
            S1 += w[i] * v[i] * Phs[i]
            B0 += w[i] * phs[i]
        C[e] = S0
        G[e] = mu * S0 + S1 - sigma * B0
        if deriv:
            P0 = Phs[ist]
            p0 = phs[ist]
            vP0 = v[ist] * P0
            cC = 0.0
            cS1 = 0.0
            cB0 = 0.0
            B1 = 0.0
            Bz = 0.0
            Bvz = 0.0
            Bzz = 0.0
            for i in range(q):
                wi = w[i]
                cC += wi * dv[i] * (Phs[i] - P0)
                cS1 += wi * dv[i] * (v[i] * Phs[i] - vP0)
                cB0 += wi * dv[i] * (phs[i] - p0)
                wp = wi * phs[i]
                B1 += wp * v[i]
                Bz += wp * zs[i]
                Bvz += wp * v[i] * zs[i]
                Bzz += wp * zs[i] * zs[i]
            C_v = cC * inv_var
            C_m = -B0 * inv_s
            C_s = -Bz * inv_s
            S1_v = cS1 * inv_var
            S1_m = -B1 * inv_s
            S1_s = -Bvz * inv_s
            B0_v = cB0 * inv_var
            B0_m = Bz * inv_s
            B0_s = Bzz * inv_s
            dC[e, 0] = C_v
            dC[e, 1] = C_m
            dC[e, 2] = C_s
            dG[e, 0] = mu * C_v + S1_v - sigma * B0_v
            dG[e, 1] = S0 + mu * C_m + S1_m - sigma * B0_m
            dG[e, 2] = mu * C_s + S1_s - B0 - sigma * B0_s


@njit(cache=True)
def cdf_maxent(a, b, vbar_rel, mu, sigma, nodes, beta, y, w):
    """``C(y) = P(Y < y)`` of the maxent closure of the bin ``[a, b)`` at one point ``y``
    (absolute voltage); ``w`` (Q,) is work space. Same terms as :func:`row_maxent_work`."""
    c = 0.5 * (a + b)
    eta = 0.5 * (b - a)
    solve_theta(vbar_rel / eta, nodes, beta, w)
    inv_s = 1.0 / sigma
    yc = y - c
    tot = 0.0
    for i in range(nodes.shape[0]):
        z = (yc - eta * nodes[i] - mu) * inv_s
        if z > Z_CUT:
            tot += w[i]
        elif z >= -Z_CUT:
            tot += w[i] * norm_cdf_pdf(z)[0]
    return tot


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
    # narrow interval (mean near an edge): midpoint rule with its second-order correction,
    # ∫ f du/(r-l) = f(mid) + f''(mid)(r-l)²/24 + O((r-l)^4), instead of the cancelling
    # closed form
    point = width <= 1e-3 * sigma
    w24 = width * width / 24.0
    for e in range(K1):
        y = edges[e] - c
        if y - hi - mu > Z_CUT * sigma:
            C[e] = 1.0
            G[e] = vb + mu
            continue
        if y - lo - mu < -Z_CUT * sigma:
            C[e] = 0.0
            G[e] = 0.0
            continue
        if point:
            z = (y - vb - mu) / sigma
            P = _Phi(z)
            ph = _phi(z)
            C[e] = P - w24 * z * ph / (sigma * sigma)
            G[e] = (vb + mu) * P - sigma * ph + w24 * (-ph / sigma - y * z * ph / (sigma * sigma))
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
        if zr > 0.0:
            # Ψ(z) = z + Ψ(-z): 1 - C = σ/(r - l) [Ψ(-z_r) - Ψ(-z_l)] without cancellation
            Pml = _Phi(-zl)
            Pmr = _Phi(-zr)
            C[e] = 1.0 - f * ((-zr * Pmr + pr) - (-zl * Pml + pl))
        else:
            C[e] = f * (Psil - Psir)
        G[e] = f * (Al - Ar)
