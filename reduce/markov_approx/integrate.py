r"""Compiled explicit embedded Runge–Kutta integration of the Markov-approximation ODE.

Why explicit: along the MFE limit cycle at the defaults the Jacobian's spectrum lies in
``|λ| ≤ 15.3 /ms`` (the relaxation ``(Π_h - I)/h`` puts it near ``-1/h = -10 /ms``), while the
accuracy-limited step of an implicit solver (Radau, rtol 1e-4) is ≈ 0.23 ms (median): the
stability limit of an explicit pair (``h |λ| ≲ 3.3``, i.e. ≈ 0.2–0.3 ms) is of the same size,
so the problem is not stiff at the tolerances of interest and an explicit pair without
Jacobians or LU factorisations, compiled together with the right-hand side, is the cheapest
integrator (docs/markov_approx.md, "Speed").

Methods (Butcher tableaux below; both FSAL, i.e. the last stage is ``f(x_{n+1})``; local
extrapolation, the higher-order solution is propagated):

``"bs23"``    Bogacki–Shampine 3(2), 4 stages (3 new evaluations per step); the default of
              ``ma.simulate`` with rtol 1e-3, atol 1e-6 (one simulated second at the
              defaults: 1.8e4 rhs; rates and period within 4e-5, MFE peak heights within
              6e-4 of DOP853 at rtol 1e-11).
``"dopri5"``  Dormand–Prince 5(4), 7 stages (6 new evaluations per step): 1.36× the cost
              at equal tolerance, 5–20× smaller errors.

Step-size control (Hairer–Nørsett–Wanner I, §II.4): with the weighted RMS norm

    err = sqrt( (1/n) Σ_i [ h Σ_j e_j k_{j,i} / (atol + rtol max(|x_i|, |x_{n+1,i}|)) ]² ),

``e = b - b̂``, a step is accepted when ``err ≤ 1`` and the next step is
``h · min(5, max(0.2, 0.9 err^{-0.7/k} err_prev^{0.4/k}))`` (PI control, k = order of the
embedded solution + 1); after a rejection ``h · max(0.2, 0.9 err^{-1/k})`` without growth.
Output on a fixed grid by cubic Hermite interpolation between accepted steps (state and
``f`` at both ends: error O(h⁴)).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .ode import flux_core, rhs_core

__all__ = ["TABLEAUX", "tableau", "erk_solve"]


def _dopri5():
    c = np.array([0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0])
    A = np.zeros((7, 7))
    A[1, 0] = 1 / 5
    A[2, :2] = [3 / 40, 9 / 40]
    A[3, :3] = [44 / 45, -56 / 15, 32 / 9]
    A[4, :4] = [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729]
    A[5, :5] = [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656]
    A[6, :6] = [35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84]
    b = A[6].copy()
    bhat = np.array([5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200,
                     187 / 2100, 1 / 40])
    return A, b, bhat, c, 5, 4


def _bs23():
    c = np.array([0.0, 1 / 2, 3 / 4, 1.0])
    A = np.zeros((4, 4))
    A[1, 0] = 1 / 2
    A[2, 1] = 3 / 4
    A[3, :3] = [2 / 9, 1 / 3, 4 / 9]
    b = A[3].copy()
    bhat = np.array([7 / 24, 1 / 4, 1 / 3, 1 / 8])
    return A, b, bhat, c, 3, 2


#: name -> function returning ``(A, b, b_hat, c, order, embedded order)``.
TABLEAUX = {"dopri5": _dopri5, "bs23": _bs23}


def tableau(name: str):
    """Butcher tableau ``(A, b, b_hat, c, order, embedded order)`` of a compiled method."""
    return TABLEAUX[name]()


@njit(cache=True)
def _hermite(t0, x0, f0, t1, x1, f1, t, out):
    """Cubic Hermite interpolant through (x0, f0) at t0 and (x1, f1) at t1, evaluated at t."""
    h = t1 - t0
    s = (t - t0) / h
    s2 = s * s
    s3 = s2 * s
    h00 = 2.0 * s3 - 3.0 * s2 + 1.0
    h10 = s3 - 2.0 * s2 + s
    h01 = -2.0 * s3 + 3.0 * s2
    h11 = s3 - s2
    for i in range(x0.shape[0]):
        out[i] = h00 * x0[i] + h10 * h * f0[i] + h01 * x1[i] + h11 * h * f1[i]


@njit(cache=True)
def erk_solve(x0, p, n_out, dt_out, rtol, atol, h0, h_max, max_steps, A, b, e, c, k_ctrl,
              P, K, N, edges, exc, j0, v_reset, M, M_r, eps, vkind, ckind, nodes, beta,
              lam_idx, lam_fac, p_idx, p_fac, S_idx, S_fac, tau_idx, sc_idx):
    """Integrate ``x' = rhs_core(x, p)`` from t = 0 to ``n_out · dt_out``.

    Returns ``(X, flux, status, nfev, n_accept, n_reject, n_filled)``: states ``X[i]`` and
    spike flux ``flux[i]`` at ``t_i = i · dt_out`` (rows i < n_filled are valid; n_filled =
    n_out + 1 on success), status 0 (done), 1 (``max_steps`` reached) or 2 (step size
    underflow). The tableau must be FSAL (last stage = f(x_{n+1})).
    """
    n = x0.shape[0]
    s = b.shape[0]
    T = n_out * dt_out
    X = np.empty((n_out + 1, n))
    flux = np.empty((n_out + 1, P))
    kk = np.empty((s, n))
    x = x0.copy()
    xn = np.empty(n)
    xs = np.empty(n)
    X[0] = x
    flux[0] = flux_core(x, p, P, K, N, edges, exc, j0, v_reset, M, M_r, eps, vkind, ckind,
                        nodes, beta, lam_idx, lam_fac, p_idx, p_fac, S_idx, S_fac, tau_idx,
                        sc_idx)
    kk[0] = rhs_core(x, p, P, K, N, edges, exc, j0, v_reset, M, M_r, eps, vkind, ckind, nodes,
                     beta, lam_idx, lam_fac, p_idx, p_fac, S_idx, S_fac, tau_idx, sc_idx)
    nfev = 1
    t = 0.0
    h = min(h0, h_max, T)
    err_prev = 1.0
    i_out = 1
    n_acc = 0
    n_rej = 0
    rejected = False
    status = 0
    f_old = np.empty(n)
    while t < T and i_out <= n_out:
        if n_acc + n_rej >= max_steps:
            status = 1
            break
        if t + h > T:
            h = T - t
        if h <= 1e-14 * max(1.0, T):
            status = 2
            break
        for st in range(1, s):
            for i in range(n):
                acc = 0.0
                for j in range(st):
                    acc += A[st, j] * kk[j, i]
                xs[i] = x[i] + h * acc
            if st == s - 1:
                for i in range(n):
                    xn[i] = xs[i]
            kk[st] = rhs_core(xs, p, P, K, N, edges, exc, j0, v_reset, M, M_r, eps, vkind,
                              ckind, nodes, beta, lam_idx, lam_fac, p_idx, p_fac, S_idx,
                              S_fac, tau_idx, sc_idx)
            nfev += 1
        err = 0.0
        for i in range(n):
            d = 0.0
            for j in range(s):
                d += e[j] * kk[j, i]
            sc = atol + rtol * max(abs(x[i]), abs(xn[i]))
            r = h * d / sc
            err += r * r
        err = math.sqrt(err / n)
        if not (err <= 1.0):
            n_rej += 1
            if err != err:  # NaN: shrink hard
                fac = 0.2
            else:
                fac = max(0.2, 0.9 * err ** (-1.0 / k_ctrl))
            h *= fac
            rejected = True
            continue
        # accepted: output points in (t, t + h]
        t_new = t + h
        for i in range(n):
            f_old[i] = kk[0, i]
        while i_out <= n_out and i_out * dt_out <= t_new + 1e-12 * T:
            to = i_out * dt_out
            if to >= t_new:
                X[i_out] = xn
            else:
                _hermite(t, x, f_old, t_new, xn, kk[s - 1], to, X[i_out])
            flux[i_out] = flux_core(X[i_out], p, P, K, N, edges, exc, j0, v_reset, M, M_r,
                                    eps, vkind, ckind, nodes, beta, lam_idx, lam_fac, p_idx,
                                    p_fac, S_idx, S_fac, tau_idx, sc_idx)
            i_out += 1
        for i in range(n):
            x[i] = xn[i]
            kk[0, i] = kk[s - 1, i]
        t = t_new
        n_acc += 1
        e_use = max(err, 1e-10)
        fac = 0.9 * e_use ** (-0.7 / k_ctrl) * err_prev ** (0.4 / k_ctrl)
        fac = min(5.0, max(0.2, fac))
        if rejected:
            fac = min(1.0, fac)
        rejected = False
        err_prev = e_use
        h = min(h * fac, h_max)
    return X, flux, status, nfev, n_acc, n_rej, i_out
