"""Poisson regression of transition counts on features, with exposure (log link).

For one transition c (population Q, state a → b), sample t contributes a count y_t, an
exposure e_t (neuron-ms spent in a), a bootstrap multiplicity w_t and features x_t. The model

    E[y_t] = e_t · r(x_t),   r(x) = exp(β_0 + Σ_k β_k z_k),   z_k = (x_k − μ_k)/σ_k,

is fitted by maximising the penalised Poisson log-likelihood

    ℓ(β) = Σ_t w_t (y_t η_t − e_t e^{η_t}) − (α S / 2) Σ_{k≥1} β_k²,   S = Σ_t w_t e_t,

which is exactly scikit-learn's ``PoissonRegressor(alpha=α)`` objective with target y/e and
``sample_weight = w·e`` (scaled by 1/S). With α = 0 it is the maximum-likelihood estimate; with
no features it reduces to count / exposure, β_0 = log(Σ w y / Σ w e).

Degenerate samples (bootstrap replicates): a transition with exposure but no count gets
β_0 = log(0.5/S) (half a count) and zero slopes, so replicate models keep the structure of
the point model; one with no exposure keeps its starting value (the point estimate).

:func:`fit_columns` solves all transitions with a damped Newton method in numba (rows with zero
exposure skipped); :func:`fit_sklearn` is the scikit-learn reference (same objective).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["fit_columns", "fit_sklearn", "LOG_RATE_FLOOR"]

#: Intercept used when a transition's origin has no exposure and no start value: e^-50 per ms.
LOG_RATE_FLOOR = -50.0


@njit(cache=True)
def _pass(X, y, e, w, rows, beta, pen, g, H):
    """Penalised log-likelihood, gradient and observed information at ``beta`` (one pass)."""
    d1 = X.shape[1]
    ll = 0.0
    g[:] = 0.0
    H[:, :] = 0.0
    for ii in range(rows.shape[0]):
        t = rows[ii]
        eta = 0.0
        for k in range(d1):
            eta += X[t, k] * beta[k]
        if eta > 700.0:
            eta = 700.0
        m = w[t] * e[t] * np.exp(eta)
        wy = w[t] * y[t]
        ll += wy * eta - m
        r = wy - m
        for k in range(d1):
            g[k] += X[t, k] * r
            xk = X[t, k] * m
            for j in range(k, d1):
                H[k, j] += xk * X[t, j]
    for k in range(d1):
        for j in range(k + 1, d1):
            H[j, k] = H[k, j]
    for k in range(1, d1):
        ll -= 0.5 * pen * beta[k] * beta[k]
        g[k] -= pen * beta[k]
        H[k, k] += pen
    return ll


@njit(cache=True)
def _fit_one(X, y, e, w, rows, alpha, max_iter, tol, beta_init, use_init):
    d1 = X.shape[1]
    beta = np.zeros(d1)
    S = 0.0
    Y = 0.0
    for ii in range(rows.shape[0]):
        t = rows[ii]
        S += w[t] * e[t]
        Y += w[t] * y[t]
    H = np.zeros((d1, d1))
    if S <= 0.0:
        # origin never occupied in this (bootstrap) sample: no information, keep the start
        if use_init:
            beta[:] = beta_init
        else:
            beta[0] = LOG_RATE_FLOOR
        return beta, H, True, 0
    if Y <= 0.0:
        # occupied but no jump: half a count (continuity correction) keeps the rate positive
        # and the reduced model's Jacobian regular; slopes 0
        beta[0] = np.log(0.5 / S)
        H[0, 0] = 0.5
        return beta, H, True, 0
    beta[0] = np.log(Y / S)
    if d1 == 1:
        H[0, 0] = Y
        return beta, H, True, 0
    if use_init:
        beta[:] = beta_init
    pen = alpha * S
    g = np.zeros(d1)
    g_new = np.zeros(d1)
    H_new = np.zeros((d1, d1))
    ll = _pass(X, y, e, w, rows, beta, pen, g, H)
    converged = False
    it = 0
    for it in range(max_iter):  # noqa: B007 - returned below
        A = H.copy()
        for k in range(d1):
            A[k, k] += 1e-12 * (1.0 + A[k, k])     # guard numerically singular designs
        step = np.linalg.solve(A, g)
        s = 1.0
        while True:
            new = beta + s * step
            ll_new = _pass(X, y, e, w, rows, new, pen, g_new, H_new)
            if ll_new >= ll - 1e-12 * abs(ll) or s < 1e-6:
                break
            s *= 0.5
        beta = new
        ll = ll_new
        g[:] = g_new
        H[:, :] = H_new
        if np.max(np.abs(s * step)) < tol:
            converged = True
            break
    return beta, H, converged, it + 1


@njit(cache=True)
def _fit_all(X, Y, Ecol, w, alpha, max_iter, tol, beta_init, use_init):
    T, C = Y.shape
    d1 = X.shape[1]
    betas = np.zeros((C, d1))
    hess = np.zeros((C, d1, d1))
    conv = np.zeros(C, np.bool_)
    iters = np.zeros(C, np.int64)
    rows = np.empty(T, np.int64)
    for c in range(C):
        n = 0
        for t in range(T):
            if Ecol[t, c] > 0.0 and w[t] > 0.0:
                rows[n] = t
                n += 1
        b, H, ok, it = _fit_one(X, Y[:, c], Ecol[:, c], w, rows[:n], alpha, max_iter, tol,
                                beta_init[c], use_init)
        betas[c] = b
        hess[c] = H
        conv[c] = ok
        iters[c] = it
    return betas, hess, conv, iters


def fit_columns(X, Y, E, w=None, alpha=0.0, max_iter=100, tol=1e-8, beta_init=None):
    """Fit every column of ``Y`` (counts) against ``X`` (design with intercept column).

    Parameters
    ----------
    X : ndarray (T, d+1)
        Standardised features with a leading column of ones.
    Y : ndarray (T, C) int
        Counts per sample and transition.
    E : ndarray (T, C)
        Exposure (neuron-ms) per sample of each transition's origin state.
    w : ndarray (T,), optional
        Sample multiplicities (bootstrap), default 1.
    alpha : float
        Ridge penalty on the slopes, scikit-learn's scaling.
    beta_init : ndarray (C, d+1), optional
        Starting values (warm start, e.g. the full-data fit for bootstrap replicates).

    Returns
    -------
    beta : ndarray (C, d+1)
    hessian : ndarray (C, d+1, d+1)
        Observed information at the solution (its inverse is the Wald covariance).
    converged : ndarray (C,) bool
    """
    X = np.ascontiguousarray(X, np.float64)
    Y = np.ascontiguousarray(Y)
    E = np.ascontiguousarray(E, np.float64)
    w = np.ones(X.shape[0]) if w is None else np.ascontiguousarray(w, np.float64)
    use = beta_init is not None
    init = np.zeros((Y.shape[1], X.shape[1])) if not use else \
        np.ascontiguousarray(beta_init, np.float64)
    beta, hess, conv, _ = _fit_all(X, Y, E, w, float(alpha), int(max_iter), float(tol), init,
                                   use)
    return beta, hess, conv


def fit_sklearn(X, y, e, w=None, alpha=0.0):
    """Reference fit of one transition with scikit-learn's ``PoissonRegressor``.

    Target ``y/e``, ``sample_weight = w·e``; ``X`` without the intercept column.
    Returns ``beta`` (intercept first).
    """
    from sklearn.linear_model import PoissonRegressor

    w = np.ones(len(y)) if w is None else np.asarray(w, float)
    keep = (e > 0) & (w > 0)
    reg = PoissonRegressor(alpha=alpha, max_iter=1000, tol=1e-10)
    reg.fit(X[keep], y[keep] / e[keep], sample_weight=(w * e)[keep])
    return np.concatenate([[reg.intercept_], reg.coef_])
