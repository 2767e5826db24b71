r"""Siegert / Ricciardi first-passage rate and CV of the leaky integrate-and-fire neuron.

The leaky integrate-and-fire neuron driven by white noise in the convention of Brunel (2000)
and models.md §4-§5, ``τ dV/dt = −(V − μ) + σ√τ ξ(t)`` (free membrane: mean μ, variance
σ²/2), with threshold θ, reset V_r and absolute refractory period τ_rp, fires at the rate
(Siegert 1951; Ricciardi 1977; Brunel & Hakim 1999)

.. math::

    \frac{1}{\nu} = \tau_{rp}
        + \tau\sqrt{\pi}\int_{y_r}^{y_\theta} e^{x^2}(1+\operatorname{erf}x)\,dx,
    \qquad y_\theta = \frac{\theta-\mu}{\sigma},\quad y_r = \frac{V_r-\mu}{\sigma},

and its inter-spike intervals have the squared coefficient of variation

.. math::

    CV^2 = 2\pi\nu^2\tau^2\int_{y_r}^{y_\theta} e^{x^2}\int_{-\infty}^{x}
           e^{y^2}(1+\operatorname{erf}y)^2\,dy\,dx .

Numerics (why this module does not overflow)
--------------------------------------------
The integrand is ``e^{x²}(1 + erf x) = erfcx(−x)``. For x ≤ 0 it is bounded
(≈ 1/(√π|x|)); for x > 0 it is ``2e^{x²} − erfcx(x)`` and grows like e^{x²}, overflowing
beyond x ≈ 26.6. With ``b = y_θ``, ``a = y_r`` (a < b) and ``b₊ = max(b, 0)`` we evaluate
the *scaled* integral ``Ĩ = e^{−b₊²} I`` from pieces that are each bounded:

- ``Q(c, d) = ∫_c^d erfcx(u) du`` (0 ≤ c < d), by adaptive Gauss–Legendre quadrature in
  ``t = log(1 + u)`` (the integrand becomes smooth and O(1) on the whole half-line);
- ``E(c, d) = e^{−d²}∫_c^d e^{x²} dx = F(d) − e^{c²−d²}F(c)`` with Dawson's function F
  (positive-term series below 6.5, asymptotic series above), or by fixed Gauss–Legendre when
  ``d(d − c) ≤ 1`` where the difference would cancel;
- b ≤ 0:  ``I = Q(−b, −a)``;
- b > 0:  ``Ĩ = e^{−b²} Q(0, −a)·[a < 0] + 2E(a₊, b) − e^{−b²} Q(a₊, b)``.

Then ``ν = e^{−b₊²} / (τ_rp e^{−b₊²} + τ√π Ĩ)``: deep below threshold the rate is an honest,
positive number down to the underflow of double precision (~1e−308), never NaN.

For the CV the order of integration is swapped,
``D = ∫_a^b e^{x²}L(x)dx = L(a)W(a, b) + ∫_a^b ρ(y) W(y, b) dy`` with
``ρ(y) = e^{y²}(1 + erf y)²``, ``L(x) = ∫_{−∞}^x ρ`` and ``W(y, b) = ∫_y^b e^{x²}dx`` in
closed form (Dawson), and every product is written in a scaled, bounded form (see
:func:`_cv2_scaled`). Derivatives with respect to μ and σ follow from
``∂I/∂b = erfcx(−b)``, ``∂I/∂a = −erfcx(−a)``, ``∂D/∂b = e^{b²}L(b)``,
``∂D/∂a = −e^{a²}L(a)`` and ``∂_μ = −(∂_a + ∂_b)/σ``, ``∂_σ = −(a∂_a + b∂_b)/σ``.

Two layers (design.md, "two layers for theory"): the ``_siegert_*`` functions are pure
numba-compiled functions of explicit floats, for use inside other compiled code (fixed-point
solvers, right-hand sides); :func:`siegert_rate`, :func:`siegert_cv` and
:func:`siegert_rate_derivs` validate their input and accept arrays.

Units are whatever τ is in: with τ in ms the rate is per ms (multiply by 1000 for Hz).

Examples
--------
>>> from reduce.meanfield.siegert import siegert_rate
>>> nu = siegert_rate(mu=15.0, sigma=5.0, tau=20.0, theta=20.0, v_r=10.0, tau_rp=2.0)
>>> round(1000 * float(nu), 4)   # Hz
9.4608
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from simulate.validation import ParameterError, check_number

__all__ = [
    "siegert_rate",
    "siegert_cv",
    "siegert_rate_derivs",
    "siegert_cv_derivs",
    "erfcx",
    "dawson",
]

_SQRTPI = math.sqrt(math.pi)
# Gauss-Legendre rules (nodes on [-1, 1]); exact in double precision from numpy.
_GX10, _GW10 = np.polynomial.legendre.leggauss(10)
_GX16, _GW16 = np.polynomial.legendre.leggauss(16)
_RTOL = 1e-12
#: ∫_0^∞ erfcx(u)² e^{−u²} du = ∫_0^∞ erfc(u)² e^{u²} du, i.e. L(0) (computed with mpmath at
#: 50 digits; tests/reduce/test_meanfield_siegert.py recomputes it independently).
_L0 = 0.39106641913741697
# truncation: e^{-z(2x+z)} < e^{-41.5} ≈ 1e-18 relative is negligible
_TAIL = 41.5


# --------------------------------------------------------------------------- special functions
@njit(cache=True)
def _erfcx_pos(x):
    """erfcx(x) = e^{x²} erfc(x) for x ≥ 0, to ~1e−14 relative."""
    if x < 25.0:
        return math.exp(x * x) * math.erfc(x)
    # asymptotic series 1/(x√π) Σ (−1)^k (2k−1)!!/(2x²)^k, converged to eps at x ≥ 25
    z = 1.0 / (2.0 * x * x)
    s = 1.0
    t = 1.0
    for k in range(1, 12):
        t *= -(2.0 * k - 1.0) * z
        s += t
    return s / (x * 1.7724538509055159)


@njit(cache=True)
def _erfcx(x):
    """erfcx for all real x (overflows only where the true value does, x < −26.6)."""
    if x >= 0.0:
        return _erfcx_pos(x)
    return 2.0 * math.exp(x * x) - _erfcx_pos(-x)


@njit(cache=True)
def _dawson(x):
    """Dawson's function F(x) = e^{−x²}∫_0^x e^{t²}dt for x ≥ 0 (relative ~1e−15)."""
    if x <= 0.0:
        return 0.0
    if x < 6.5:
        x2 = x * x
        p = x
        s = x
        n = 0
        while True:
            n += 1
            p *= x2 / n
            t = p / (2.0 * n + 1.0)
            s += t
            if t <= 1e-17 * s or n > 400:
                break
        return s * math.exp(-x2)
    # asymptotic series 1/(2x) Σ (2k−1)!!/(2x²)^k, terms decrease until k ≈ x²
    z = 1.0 / (2.0 * x * x)
    s = 1.0
    t = 1.0
    k = 0
    while True:
        k += 1
        tn = t * (2.0 * k - 1.0) * z
        if tn > t or tn < 1e-18:
            break
        t = tn
        s += t
    return s / (2.0 * x)


@njit(cache=True)
def _E(c, d):
    """E(c, d) = e^{−d²} ∫_c^d e^{x²} dx for 0 ≤ c ≤ d (bounded by F(d) ≤ 0.55)."""
    if d <= c:
        return 0.0
    if d * (d - c) <= 1.0:
        h = 0.5 * (d - c)
        m = 0.5 * (d + c)
        s = 0.0
        for i in range(16):
            x = m + h * _GX16[i]
            s += _GW16[i] * math.exp((x - d) * (x + d))
        return s * h
    return _dawson(d) - math.exp((c - d) * (c + d)) * _dawson(c)


# --------------------------------------------------------------------------- quadrature
@njit(cache=True)
def _integrand(code, t, p0, p1):
    """Integrands selected by ``code`` (all positive)."""
    if code == 0:
        # Q: erfcx(u) du with u = e^t − 1
        u = math.expm1(t)
        return _erfcx_pos(u) * (u + 1.0)
    elif code == 1:
        # Λ(x) for x ≤ 0: erfcx(u)² e^{x²−u²} du, u = |x| + z, p0 = |x|
        u = p0 + t
        e = _erfcx_pos(u)
        return e * e * math.exp(-t * (2.0 * p0 + t))
    elif code == 2:
        # Λ(x) for x > 0: (1 + erf y)² e^{y²−x²} dy, y = x − z, p0 = x
        y = p0 - t
        f = 1.0 + math.erf(y)
        return f * f * math.exp(-t * (2.0 * p0 - t))
    elif code == 3:
        # region B, y = −(e^t − 1) ≤ 0, b = p0 ≤ 0: erfcx(|y|)² E(|b|, |y|) · dy/dt
        u = math.expm1(t)
        e = _erfcx_pos(u)
        return e * e * _E(-p0, u) * (u + 1.0)
    elif code == 4:
        # region B, y = −(e^t − 1) ≤ 0 < b = p0:
        # erfcx(|y|)² [e^{−2b²}F(|y|) + e^{−b²−y²}F(b)] · dy/dt
        u = math.expm1(t)
        e = _erfcx_pos(u)
        b = p0
        val = math.exp(-2.0 * b * b) * _dawson(u) + math.exp(-b * b - u * u) * _dawson(b)
        return e * e * val * (u + 1.0)
    else:
        # region B, 0 ≤ y = b − z ≤ b: (1 + erf y)² e^{y²−b²} E(y, b), p0 = b
        y = p0 - t
        f = 1.0 + math.erf(y)
        return f * f * math.exp(-t * (2.0 * p0 - t)) * _E(y, p0)


@njit(cache=True)
def _gl10(code, lo, hi, p0, p1):
    h = 0.5 * (hi - lo)
    m = 0.5 * (hi + lo)
    s = 0.0
    for i in range(10):
        s += _GW10[i] * _integrand(code, m + h * _GX10[i], p0, p1)
    return s * h


@njit(cache=True)
def _adapt(code, lo, hi, p0, p1, width):
    """∫_lo^hi of a positive integrand, adaptive bisection of Gauss–Legendre-10 panels.

    The interval is first cut into panels no wider than ``width``; a panel is accepted when
    its estimate and the sum over its halves agree to relative 1e−13.
    """
    if hi <= lo:
        return 0.0
    npan = int(math.ceil((hi - lo) / width))
    if npan < 1:
        npan = 1
    if npan > 64:
        npan = 64
    stack_lo = np.empty(128)
    stack_hi = np.empty(128)
    stack_v = np.empty(128)
    total = 0.0
    dx = (hi - lo) / npan
    # coarse estimate of the whole integral: the local error budget of a panel is
    # rtol·max(|panel|, I0·width/W), so the summed error stays below ~rtol·I (positive f)
    pv = np.empty(npan)
    I0 = 0.0
    for k in range(npan):
        a0 = lo + k * dx
        b0 = hi if k == npan - 1 else a0 + dx
        pv[k] = _gl10(code, a0, b0, p0, p1)
        I0 += pv[k]
    scale = abs(I0) / (hi - lo)
    nsplit = 0
    for k in range(npan):
        a0 = lo + k * dx
        b0 = hi if k == npan - 1 else a0 + dx
        stack_lo[0] = a0
        stack_hi[0] = b0
        stack_v[0] = pv[k]
        top = 1
        while top > 0:
            top -= 1
            x0 = stack_lo[top]
            x1 = stack_hi[top]
            whole = stack_v[top]
            xm = 0.5 * (x0 + x1)
            left = _gl10(code, x0, xm, p0, p1)
            right = _gl10(code, xm, x1, p0, p1)
            both = left + right
            nsplit += 1
            tol = _RTOL * max(abs(both), scale * (x1 - x0))
            if abs(both - whole) <= tol or top > 120 or nsplit > 4000:
                total += both
            else:
                stack_lo[top] = x0
                stack_hi[top] = xm
                stack_v[top] = left
                stack_lo[top + 1] = xm
                stack_hi[top + 1] = x1
                stack_v[top + 1] = right
                top += 2
    return total


@njit(cache=True)
def _Q(c, d):
    """Q(c, d) = ∫_c^d erfcx(u) du for 0 ≤ c ≤ d."""
    if d <= c:
        return 0.0
    return _adapt(0, math.log1p(c), math.log1p(d), 0.0, 0.0, 2.0)


@njit(cache=True)
def _zmax(x, sign):
    """Smallest z with z(2x + sign·z) ≥ _TAIL (sign=+1), or z(2x − z) ≥ _TAIL capped at x."""
    if sign > 0:
        return -x + math.sqrt(x * x + _TAIL)
    if x * x <= _TAIL:
        return x
    return x - math.sqrt(x * x - _TAIL)


@njit(cache=True)
def _Lambda(x):
    """Λ(x) = e^{x²}L(x) for x ≤ 0 and e^{−x²}L(x) for x > 0 (bounded), where
    L(x) = ∫_{−∞}^x e^{y²}(1 + erf y)² dy."""
    if x <= 0.0:
        ax = -x
        return _adapt(1, 0.0, _zmax(ax, 1), ax, 0.0, 0.5 / (1.0 + ax) + 0.25)
    return math.exp(-x * x) * _L0 + _adapt(2, 0.0, _zmax(x, -1), x, 0.0,
                                             0.5 / (1.0 + x) + 0.25)


# --------------------------------------------------------------------------- the rate
@njit(cache=True)
def _scaled_I(a, b):
    """Ĩ = e^{−b₊²} ∫_a^b erfcx(−x) dx, a < b."""
    if b <= 0.0:
        return _Q(-b, -a)
    eb = math.exp(-b * b)
    ap = a if a > 0.0 else 0.0
    s = 2.0 * _E(ap, b) - eb * _Q(ap, b)
    if a < 0.0:
        s += eb * _Q(0.0, -a)
    return s


@njit(cache=True)
def _nu_hat(mu, sigma, tau, theta, v_r, tau_rp):
    """(ν̂, a, b, b₊²) with ν = ν̂ e^{−b₊²}."""
    a = (v_r - mu) / sigma
    b = (theta - mu) / sigma
    s = b * b if b > 0.0 else 0.0
    It = _scaled_I(a, b)
    nh = 1.0 / (tau_rp * math.exp(-s) + tau * _SQRTPI * It)
    return nh, a, b, s


@njit(cache=True)
def _siegert_rate(mu, sigma, tau, theta, v_r, tau_rp):
    """Siegert rate ν(μ, σ) (per unit of τ); 0.0 only below double-precision underflow."""
    nh, a, b, s = _nu_hat(mu, sigma, tau, theta, v_r, tau_rp)
    return nh * math.exp(-s)


@njit(cache=True)
def _siegert_rate_derivs(mu, sigma, tau, theta, v_r, tau_rp):
    """(ν, ∂ν/∂μ, ∂ν/∂σ).

    ∂ν/∂μ = ν²τ√π [erfcx(−b) − erfcx(−a)]/σ,  ∂ν/∂σ = ν²τ√π [b erfcx(−b) − a erfcx(−a)]/σ,
    each written as ν̂² e^{−b₊²}·(bounded factor).
    """
    nh, a, b, s = _nu_hat(mu, sigma, tau, theta, v_r, tau_rp)
    es = math.exp(-s)
    # X(b) = e^{−b₊²} erfcx(−b), X'(a) = e^{−b₊²} erfcx(−a)
    if b > 0.0:
        Xb = 1.0 + math.erf(b)
    else:
        Xb = _erfcx_pos(-b)
    if a > 0.0:
        Xa = math.exp((a - b) * (a + b)) * (1.0 + math.erf(a))
    else:
        Xa = es * _erfcx_pos(-a)
    pre = nh * nh * es * tau * _SQRTPI / sigma
    return nh * es, pre * (Xb - Xa), pre * (b * Xb - a * Xa)


# --------------------------------------------------------------------------- the CV
@njit(cache=True)
def _D_scaled(a, b):
    """D̃ = e^{−2b₊²} D with D = ∫_a^b e^{x²} L(x) dx (a < b)."""
    tot = 0.0
    # region A: L(a) W(a, b)
    if a <= 0.0:
        lam = _Lambda(a)  # e^{a²} L(a)
        if b <= 0.0:
            tot += lam * _E(-b, -a)
        else:
            # e^{−2b²} L(a)[e^{a²}F(|a|) + e^{b²}F(b)]
            tot += lam * math.exp(-2.0 * b * b) * _dawson(-a)
            tot += lam * math.exp(-a * a - b * b) * _dawson(b)
    else:
        # e^{−b²} L(a) E(a, b) = Λ(a) e^{a²−b²} E(a, b)
        tot += _Lambda(a) * math.exp((a - b) * (a + b)) * _E(a, b)
    # region B, negative part y ∈ [a, min(b, 0)]
    if a < 0.0:
        if b <= 0.0:
            tot += _adapt(3, math.log1p(-b), math.log1p(-a), b, 0.0, 1.0)
        else:
            tot += _adapt(4, 0.0, math.log1p(-a), b, 0.0, 1.0)
    # region B, positive part y ∈ [max(a, 0), b], y = b − z
    if b > 0.0:
        ap = a if a > 0.0 else 0.0
        zhi = b - ap
        zm = _zmax(b, -1)
        if zm < zhi:
            zhi = zm
        tot += _adapt(5, 0.0, zhi, b, 0.0, 0.5 / (1.0 + b) + 0.25)
    return tot


@njit(cache=True)
def _cv_core(mu, sigma, tau, theta, v_r, tau_rp):
    nh, a, b, s = _nu_hat(mu, sigma, tau, theta, v_r, tau_rp)
    Dt = _D_scaled(a, b)
    cv2 = 2.0 * math.pi * tau * tau * nh * nh * Dt
    return cv2, nh, a, b, s, Dt


@njit(cache=True)
def _siegert_cv(mu, sigma, tau, theta, v_r, tau_rp):
    """Coefficient of variation of the inter-spike intervals."""
    cv2 = _cv_core(mu, sigma, tau, theta, v_r, tau_rp)[0]
    return math.sqrt(cv2)


@njit(cache=True)
def _siegert_cv_derivs(mu, sigma, tau, theta, v_r, tau_rp):
    """(CV, ∂CV/∂μ, ∂CV/∂σ) from ∂CV²/∂a and ∂CV²/∂b in scaled form:

    ∂CV²/∂b = 2πτ²[ν̂²Λ(b) − 2τ√π ν̂³ X(b) D̃],
    ∂CV²/∂a = 2πτ²[2τ√π ν̂³ X'(a) D̃ − ν̂² Z(a)],
    X(b) = e^{−b₊²}erfcx(−b), X'(a) = e^{−b₊²}erfcx(−a), Z(a) = e^{−2b₊²}e^{a²}L(a).
    """
    cv2, nh, a, b, s, Dt = _cv_core(mu, sigma, tau, theta, v_r, tau_rp)
    es = math.exp(-s)
    if b > 0.0:
        Xb = 1.0 + math.erf(b)
    else:
        Xb = _erfcx_pos(-b)
    if a > 0.0:
        Xa = math.exp((a - b) * (a + b)) * (1.0 + math.erf(a))
        Za = math.exp(2.0 * (a - b) * (a + b)) * _Lambda(a)
    else:
        Xa = es * _erfcx_pos(-a)
        Za = es * es * _Lambda(a)
    c = 2.0 * math.pi * tau * tau
    k = 2.0 * tau * _SQRTPI * nh * nh * nh * Dt
    dcb = c * (nh * nh * _Lambda(b) - k * Xb)
    dca = c * (k * Xa - nh * nh * Za)
    cv = math.sqrt(cv2)
    dmu = -(dca + dcb) / sigma
    dsig = -(a * dca + b * dcb) / sigma
    return cv, dmu / (2.0 * cv), dsig / (2.0 * cv)


# --------------------------------------------------------------------------- array kernels
@njit(cache=True)
def _rate_array(mu, sigma, tau, theta, v_r, tau_rp, out):
    for i in range(mu.size):
        out[i] = _siegert_rate(mu[i], sigma[i], tau, theta, v_r, tau_rp)


@njit(cache=True)
def _cv_array(mu, sigma, tau, theta, v_r, tau_rp, out):
    for i in range(mu.size):
        out[i] = _siegert_cv(mu[i], sigma[i], tau, theta, v_r, tau_rp)


@njit(cache=True)
def _rate_derivs_array(mu, sigma, tau, theta, v_r, tau_rp, out):
    for i in range(mu.size):
        r = _siegert_rate_derivs(mu[i], sigma[i], tau, theta, v_r, tau_rp)
        out[0, i] = r[0]
        out[1, i] = r[1]
        out[2, i] = r[2]


@njit(cache=True)
def _cv_derivs_array(mu, sigma, tau, theta, v_r, tau_rp, out):
    for i in range(mu.size):
        r = _siegert_cv_derivs(mu[i], sigma[i], tau, theta, v_r, tau_rp)
        out[0, i] = r[0]
        out[1, i] = r[1]
        out[2, i] = r[2]


# --------------------------------------------------------------------------- public layer
def _check_neuron(tau, theta, v_r, tau_rp):
    tau = check_number("tau", tau, 0.0, lo_open=True, unit="ms")
    theta = check_number("theta", theta)
    v_r = check_number("v_r", v_r)
    if not v_r < theta:
        raise ParameterError(
            f"v_r = {v_r:g} is outside the valid range (-inf, theta = {theta:g}): the reset "
            "must lie below the threshold"
        )
    tau_rp = check_number("tau_rp", tau_rp, 0.0, unit="ms")
    return tau, theta, v_r, tau_rp


def _check_inputs(mu, sigma):
    mu = np.asarray(mu, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    if not np.all(np.isfinite(mu)):
        bad = mu[~np.isfinite(mu)].ravel()[0]
        raise ParameterError(f"mu = {bad!r} is not finite; valid range (-inf, inf)")
    if not np.all(np.isfinite(sigma)) or np.any(sigma <= 0):
        bad = sigma[~(np.isfinite(sigma) & (sigma > 0))].ravel()[0]
        raise ParameterError(
            f"sigma = {bad!r} is outside the valid range (0, inf); the diffusion theory needs "
            "a positive noise amplitude"
        )
    mu, sigma = np.broadcast_arrays(mu, sigma)
    return mu, sigma


def _vectorise(kernel, nout, mu, sigma, tau, theta, v_r, tau_rp):
    tau, theta, v_r, tau_rp = _check_neuron(tau, theta, v_r, tau_rp)
    if nout == 1 and isinstance(mu, float) and isinstance(sigma, float):
        # scalar fast path (no array round trip)
        if not math.isfinite(mu):
            raise ParameterError(f"mu = {mu!r} is not finite; valid range (-inf, inf)")
        if not (math.isfinite(sigma) and sigma > 0):
            raise ParameterError(f"sigma = {sigma!r} is outside the valid range (0, inf); the "
                                 "diffusion theory needs a positive noise amplitude")
        return _SCALAR[kernel](mu, sigma, tau, theta, v_r, tau_rp)
    mu, sigma = _check_inputs(mu, sigma)
    shape = mu.shape
    m = np.ascontiguousarray(mu, dtype=np.float64).ravel()
    s = np.ascontiguousarray(sigma, dtype=np.float64).ravel()
    if nout == 1:
        out = np.empty(m.size)
        kernel(m, s, tau, theta, v_r, tau_rp, out)
        res = out.reshape(shape)
        return res[()] if res.ndim == 0 else res
    out = np.empty((nout, m.size))
    kernel(m, s, tau, theta, v_r, tau_rp, out)
    return tuple((o.reshape(shape)[()] if len(shape) == 0 else o.reshape(shape)) for o in out)


_SCALAR = {_rate_array: _siegert_rate, _cv_array: _siegert_cv}


def siegert_rate(mu, sigma, tau=20.0, theta=20.0, v_r=10.0, tau_rp=2.0):
    r"""Siegert firing rate of the LIF neuron in the diffusion approximation.

    .. math:: 1/\nu = \tau_{rp} + \tau\sqrt\pi\int_{(V_r-\mu)/\sigma}^{(\theta-\mu)/\sigma}
              e^{x^2}(1+\operatorname{erf}x)\,dx

    Parameters
    ----------
    mu, sigma : float or array_like
        Mean input μ (mV) and noise amplitude σ (mV, > 0); broadcast together.
    tau : float
        Membrane (or effective) time constant, ms.
    theta, v_r : float
        Threshold and reset (mV), ``v_r < theta``.
    tau_rp : float
        Absolute refractory period, ms.

    Returns
    -------
    float or ndarray
        Rate per ms (×1000 for Hz). Positive; 0.0 only below the double-precision underflow
        (~1e−305 per ms), never NaN.

    Raises
    ------
    ParameterError
        For non-finite μ, σ ≤ 0, τ ≤ 0, τ_rp < 0 or ``v_r ≥ theta``.
    """
    return _vectorise(_rate_array, 1, mu, sigma, tau, theta, v_r, tau_rp)


def siegert_cv(mu, sigma, tau=20.0, theta=20.0, v_r=10.0, tau_rp=2.0):
    r"""Coefficient of variation of the ISIs of the LIF neuron driven by white noise.

    .. math:: CV^2 = 2\pi\nu^2\tau^2\int_{y_r}^{y_\theta}e^{x^2}\int_{-\infty}^{x}
              e^{y^2}(1+\operatorname{erf}y)^2\,dy\,dx

    Same parameters as :func:`siegert_rate`. Tends to 1 deep below threshold (Poisson
    escape) and to 0 far above it (regular firing).
    """
    return _vectorise(_cv_array, 1, mu, sigma, tau, theta, v_r, tau_rp)


def siegert_rate_derivs(mu, sigma, tau=20.0, theta=20.0, v_r=10.0, tau_rp=2.0):
    r"""``(ν, ∂ν/∂μ, ∂ν/∂σ)`` of the Siegert rate (per ms, per ms per mV).

    .. math:: \partial_\mu\nu = \frac{\nu^2\tau\sqrt\pi}{\sigma}
              [\operatorname{erfcx}(-y_\theta) - \operatorname{erfcx}(-y_r)],\qquad
              \partial_\sigma\nu = \frac{\nu^2\tau\sqrt\pi}{\sigma}
              [y_\theta\operatorname{erfcx}(-y_\theta) - y_r\operatorname{erfcx}(-y_r)]
    """
    return _vectorise(_rate_derivs_array, 3, mu, sigma, tau, theta, v_r, tau_rp)


def siegert_cv_derivs(mu, sigma, tau=20.0, theta=20.0, v_r=10.0, tau_rp=2.0):
    """``(CV, ∂CV/∂μ, ∂CV/∂σ)``, analytic (see :func:`_siegert_cv_derivs`)."""
    return _vectorise(_cv_derivs_array, 3, mu, sigma, tau, theta, v_r, tau_rp)


def erfcx(x):
    """Scaled complementary error function e^{x²}erfc(x) (compiled; for tests and users)."""
    x = np.asarray(x, dtype=np.float64)
    return np.vectorize(_erfcx, otypes=[float])(x)[()]


def dawson(x):
    """Dawson's function F(x) for x ≥ 0 (compiled)."""
    x = np.asarray(x, dtype=np.float64)
    if np.any(x < 0):
        raise ParameterError("dawson: x must be >= 0 (F is odd: use -dawson(-x))")
    return np.vectorize(_dawson, otypes=[float])(x)[()]
