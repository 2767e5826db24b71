r"""Mean first-passage rate of a one-dimensional diffusion with state-dependent coefficients.

For ``dV = A(V) dt + √B(V) dW`` on ``[lo, θ)`` with a reflecting lower boundary at ``lo``,
absorption at θ, reset to ``v_r`` and a refractory period of mean ``tau_rp``, the stationary
firing rate is ``ν = 1 / (tau_rp + T)`` with the mean first-passage time from ``v_r``

.. math::

    T = \int_{v_r}^{\theta} dx \int_{lo}^{x} \frac{2}{B(y)}\,
        e^{\Phi(y) - \Phi(x)}\,dy, \qquad \Phi(x) = \int^x \frac{2A(z)}{B(z)}dz .

(With ``A = (μ − V)/τ``, ``B = σ²/τ`` and ``lo → −∞`` this is exactly the Siegert formula;
the tests use that as a check.) Only differences ``Φ(y) − Φ(x)`` with y ≤ x appear, and the
inner integral is accumulated recursively, so nothing overflows unless the rate itself
underflows. The quadrature is the trapezoid rule on two uniform grids (``[lo, v_r]`` and
``[v_r, θ]``) followed by one Richardson extrapolation (h and h/2), error O(h⁴).

Coefficients are given as callables in the public layer and as sampled arrays in the
compiled layer :func:`_fpt_time`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["first_passage_rate", "first_passage_moments"]


@njit(cache=True)
def _fpt_time(x, A, B, i_r):
    """Mean first-passage time T on the grid ``x`` (lo = x[0], θ = x[-1], v_r = x[i_r]).

    ``x`` may be piecewise uniform; trapezoid rule throughout.
    """
    n = x.size
    J = 0.0
    T = 0.0
    phi_prev = 0.0
    Jprev = 0.0
    for k in range(1, n):
        h = x[k] - x[k - 1]
        dphi = 0.5 * h * (2.0 * A[k - 1] / B[k - 1] + 2.0 * A[k] / B[k])
        # Φ_k = Φ_{k-1} + dphi ; e^{Φ_{k-1} − Φ_k} = e^{−dphi}
        e = np.exp(-dphi)
        J = Jprev * e + 0.5 * h * (2.0 / B[k - 1] * e + 2.0 / B[k])
        if k > i_r:
            T += 0.5 * h * (Jprev + J)
        Jprev = J
        phi_prev += dphi
    return T


@njit(cache=True)
def _fpt_moments(x, A, B, i_r):
    """First and second moments (T1, T2) of the first-passage time from x[i_r] to x[-1].

    ``T_n(x) = ∫_x^θ dy ∫_lo^y (2n/B(z)) e^{Φ(z)−Φ(y)} T_{n−1}(z) dz`` with T_0 = 1
    (backward equation (B/2)T_n'' + A T_n' = −n T_{n−1}, reflecting at lo, absorbing at θ).
    """
    n = x.size
    dphi = np.empty(n)
    dphi[0] = 0.0
    for k in range(1, n):
        h = x[k] - x[k - 1]
        dphi[k] = 0.5 * h * (2.0 * A[k - 1] / B[k - 1] + 2.0 * A[k] / B[k])
    T1 = np.zeros(n)
    Tprev = np.ones(n)
    res = np.zeros(2)
    for order in (1, 2):
        J = np.zeros(n)
        for k in range(1, n):
            h = x[k] - x[k - 1]
            e = np.exp(-dphi[k])
            J[k] = J[k - 1] * e + 0.5 * h * (2.0 * order / B[k - 1] * Tprev[k - 1] * e
                                             + 2.0 * order / B[k] * Tprev[k])
        # T(x_k) = ∫_{x_k}^θ J
        T = np.zeros(n)
        for k in range(n - 2, -1, -1):
            T[k] = T[k + 1] + 0.5 * (x[k + 1] - x[k]) * (J[k] + J[k + 1])
        res[order - 1] = T[i_r]
        if order == 1:
            T1 = T
        Tprev = T1
    return res[0], res[1]


def first_passage_moments(drift, diffusion, lo, v_r, theta, n=4000):
    """(T1, T2): mean and second moment of the first-passage time, Richardson-extrapolated
    (h, h/2) like :func:`first_passage_rate`."""
    if not lo < v_r < theta:
        raise ValueError(f"first_passage_moments: need lo < v_r < theta, got {lo}, {v_r}, "
                         f"{theta}")
    n1 = max(int(n * (v_r - lo) / (theta - lo)), 8)
    n2 = max(n - n1, 8)
    out = []
    for m in (1, 2):
        x, i_r = _grid(lo, v_r, theta, m * n1, m * n2)
        A = np.asarray(drift(x), dtype=np.float64) * np.ones_like(x)
        B = np.asarray(diffusion(x), dtype=np.float64) * np.ones_like(x)
        out.append(_fpt_moments(x, A, B, i_r))
    T1 = (4.0 * out[1][0] - out[0][0]) / 3.0
    T2 = (4.0 * out[1][1] - out[0][1]) / 3.0
    return T1, T2


def _grid(lo, v_r, theta, n1, n2):
    x1 = np.linspace(lo, v_r, n1 + 1)
    x2 = np.linspace(v_r, theta, n2 + 1)
    return np.concatenate([x1, x2[1:]]), n1


def first_passage_rate(drift, diffusion, lo, v_r, theta, tau_rp, n=4000):
    """Stationary rate ``1/(tau_rp + T)`` of the reset diffusion (see module docstring).

    Parameters
    ----------
    drift, diffusion : callable
        Vectorised ``A(V)`` and ``B(V) > 0`` (units of V per time, V² per time).
    lo, v_r, theta : float
        Reflecting lower boundary, reset and threshold, ``lo < v_r < theta``.
    tau_rp : float
        Mean refractory time (same time unit).
    n : int
        Grid points of the coarse grid; the result is Richardson-extrapolated from n and 2n.

    Returns
    -------
    float
        Rate per unit time.
    """
    if not lo < v_r < theta:
        raise ValueError(f"first_passage_rate: need lo < v_r < theta, got {lo}, {v_r}, {theta}")
    n1 = max(int(n * (v_r - lo) / (theta - lo)), 8)
    n2 = max(n - n1, 8)
    ts = []
    for m in (1, 2):
        x, i_r = _grid(lo, v_r, theta, m * n1, m * n2)
        A = np.asarray(drift(x), dtype=np.float64) * np.ones_like(x)
        B = np.asarray(diffusion(x), dtype=np.float64) * np.ones_like(x)
        if np.any(B <= 0) or not np.all(np.isfinite(A)):
            raise ValueError("first_passage_rate: diffusion must be positive and drift finite")
        ts.append(_fpt_time(x, A, B, i_r))
    T = (4.0 * ts[1] - ts[0]) / 3.0
    if not np.isfinite(T):
        return 0.0
    return 1.0 / (tau_rp + T)
