"""Independent reference values for the Siegert rate and CV (used by test_meanfield_siegert).

Rate: ``1/ν = τ_rp + τ√π ∫_a^b erfcx(−x) dx`` by mpmath's tanh-sinh quadrature at 30 digits on
the *unscaled* integrand ``e^{x²}(1 + erf x)`` (mpmath has no overflow), or, without mpmath,
by scipy's QUADPACK on ``e^{−b₊²} e^{x²}(1 + erf x)`` (scipy.special functions, a different
code base from the compiled module). CV: the double integral of the definition,
``CV² = 2πν²τ² ∫_a^b e^{x²} ∫_{−∞}^x e^{y²}(1 + erf y)² dy dx``, nested mpmath quadrature.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, special

try:
    import mpmath as mp
except ImportError:  # pragma: no cover - optional
    mp = None


def _breaks(a, b):
    pts = {a, b}
    for p in (0.0, b - 0.01, b - 0.1, b - 1.0, a + 0.1, a + 1.0, -1.0, -10.0, -100.0):
        if a < p < b:
            pts.add(p)
    return sorted(pts)


def rate_mpmath(mu, sigma, tau, theta, v_r, tau_rp, dps=30):
    mp.mp.dps = dps
    a = (mp.mpf(v_r) - mu) / sigma
    b = (mp.mpf(theta) - mu) / sigma
    f = lambda x: mp.exp(x * x) * mp.erfc(-x)
    integral = mp.quad(f, _breaks(a, b))
    return 1 / (tau_rp + tau * mp.sqrt(mp.pi) * integral)


def rate_scipy(mu, sigma, tau, theta, v_r, tau_rp):
    a = (v_r - mu) / sigma
    b = (theta - mu) / sigma
    s = max(b, 0.0) ** 2

    def g(x):
        if x < 0:
            return math.exp(-s) * special.erfcx(-x)
        return math.exp(x * x - s) * (1.0 + math.erf(x))

    pts = _breaks(a, b)
    tot = 0.0
    for lo, hi in zip(pts[:-1], pts[1:]):
        tot += integrate.quad(g, lo, hi, epsabs=0.0, epsrel=1e-13, limit=500)[0]
    nu_hat = 1.0 / (tau_rp * math.exp(-s) + tau * math.sqrt(math.pi) * tot)
    return nu_hat * math.exp(-s)


def cv_mpmath(mu, sigma, tau, theta, v_r, tau_rp, dps=20):
    mp.mp.dps = dps
    a = (mp.mpf(v_r) - mu) / sigma
    b = (mp.mpf(theta) - mu) / sigma
    nu = rate_mpmath(mu, sigma, tau, theta, v_r, tau_rp, dps=dps)
    rho = lambda y: mp.exp(y * y) * (1 + mp.erf(y)) ** 2

    def L(x):
        pts = [-mp.inf] + [p for p in (-10, -3, 0) if p < x] + [x]
        return mp.quad(rho, pts)

    D = mp.quad(lambda x: mp.exp(x * x) * L(x), _breaks(float(a), float(b)))
    return mp.sqrt(2 * mp.pi * nu**2 * tau**2 * D)


def lif_params():
    """Brunel (2000) neuron: τ = 20 ms, θ = 20 mV, V_r = 10 mV, τ_rp = 2 ms."""
    return dict(tau=20.0, theta=20.0, v_r=10.0, tau_rp=2.0)


def rate_grid():
    """(μ, σ) pairs spanning deep subthreshold to strongly suprathreshold."""
    return np.array([
        (-30.0, 4.0), (-10.0, 4.0), (0.0, 3.0), (5.0, 3.0), (10.0, 2.0), (15.0, 5.0),
        (18.0, 1.0), (20.0, 0.5), (20.0, 10.0), (25.0, 2.0), (40.0, 1.0), (100.0, 5.0),
        (200.0, 0.05), (12.0, 40.0), (-200.0, 20.0),
    ])


def cv_scipy(mu, sigma, tau, theta, v_r, tau_rp):
    """CV from the definition by nested QUADPACK integration (floats: needs y_θ ≲ 8)."""
    a = (v_r - mu) / sigma
    b = (theta - mu) / sigma
    nu = rate_scipy(mu, sigma, tau, theta, v_r, tau_rp)

    def rho(y):
        if y < 0:
            return special.erfcx(-y) ** 2 * math.exp(-y * y)
        return math.exp(y * y) * (1.0 + math.erf(y)) ** 2

    def L(x):
        lo = min(x, 0.0) - 12.0
        tot = 0.0
        for p, q in ((lo, min(x, 0.0)), (min(x, 0.0), x)):
            if q > p:
                tot += integrate.quad(rho, p, q, epsabs=0.0, epsrel=1e-13, limit=200)[0]
        return tot

    pts = _breaks(a, b)
    D = 0.0
    for lo, hi in zip(pts[:-1], pts[1:]):
        D += integrate.quad(lambda x: math.exp(x * x) * L(x), lo, hi, epsabs=0.0,
                            epsrel=1e-12, limit=200)[0]
    return math.sqrt(2 * math.pi * nu**2 * tau**2 * D)
