"""Compiled right-hand side and Jacobian of the fitted reduced ODE (numba).

Extended state z (length n_z): the occupancy fractions x_{Q,s} of every population and state
(refractory R last), then the feature states (pending-kick means m_QR, variances s_QR,
filtered rates r_Q). The reduced state y drops x_{Q,R} = 1 − Σ_{s<R} x_{Q,s} (neuron number
conservation) and the states never visited in the data (no exposure: no fitted transition
enters or leaves them, so they stay empty and would make the Jacobian singular), so
equilibria are isolated. ``occ_z`` lists the z index of each reduced occupancy coordinate.

With features φ_g = z_{i(g)} (or z_{i(g)} z_{j(g)} for a product feature, ``feat_z2`` ≥ 0) and
r_c = exp(cap(β_c0 + Σ_k β_ck (φ_{g(c,k)} − μ_g)/σ_g)) the rate of transition c (population Q,
state a → b), flow_c = x_{Q,a} r_c and the per-neuron spike flux f_Q = κ_Q Σ_{c: b=R} flow_c:

    dx_{Q,s}/dt = Σ_{c: b=s} flow_c − Σ_{c: a=s} flow_c
    dm_QR/dt   = −m_QR/τ_QR + p_QR N_R f_R
    ds_QR/dt   = −2 s_QR/τ_QR + m_QR/τ_QR + p_QR (1 − p_QR) N_R f_R
    dr_Q/dt    = (1000 f_Q − r_Q)/τ_f

The cap saturates log-rates above η_0 (:func:`log_rate_cap`, identity below η_0, at most
η_0 + ln 10): for the matrix estimand η_0 = ln(1/τ), since P_ab(τ) = r_ab τ ≤ 1 — the data
never reach it, only log-rates extrapolated by quadratic features beyond the data do, and there
the cap keeps them at most 10/τ instead of letting the closed loop run away; for the
generator η_0 = 690 (an overflow guard).

Structure arrays (all int64 unless noted) are described in :class:`_Structure` of
:mod:`reduce.estimation.model`.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def expand(y, n_pop, n_states, n_z, occ_z):
    """Extended state z from reduced y: occupancies of the coordinates ``occ_z`` (states never
    visited in the data stay 0), R of each population by conservation, then feature states."""
    z = np.zeros(n_z)
    n_occ = occ_z.shape[0]
    for q in range(n_pop):
        z[q * n_states + n_states - 1] = 1.0
    for i in range(n_occ):
        zi = occ_z[i]
        z[zi] = y[i]
        z[(zi // n_states) * n_states + n_states - 1] -= y[i]
    for j in range(n_z - n_pop * n_states):
        z[n_pop * n_states + j] = y[n_occ + j]
    return z


@njit(cache=True)
def feature_value(z, feat_z, feat_z2, g):
    """φ_g = z[feat_z[g]], times z[feat_z2[g]] for a product feature."""
    v = z[feat_z[g]]
    if feat_z2[g] >= 0:
        v *= z[feat_z2[g]]
    return v


#: Width (in log-rate) of the saturation above the cap: rates saturate at e^{η_0 + W}.
CAP_WIDTH = np.log(10.0)


@njit(cache=True)
def log_rate_cap(eta, eta0):
    """Saturated log-rate and its derivative: η for η ≤ η_0, else
    η_0 + W tanh((η − η_0)/W) (W = ``CAP_WIDTH``; C² at η_0, bounded by η_0 + W)."""
    if eta <= eta0:
        return eta, 1.0
    u = np.tanh((eta - eta0) / CAP_WIDTH)
    return eta0 + CAP_WIDTH * u, 1.0 - u * u


@njit(cache=True)
def _rates_d(z, coef, col_feat, feat_z, feat_z2, mu, sd, eta0):
    """Rates r_c and d log r_c / dη_c (the saturation factor, 1 below the cap)."""
    C = coef.shape[0]
    r = np.empty(C)
    dr = np.empty(C)
    for c in range(C):
        eta = coef[c, 0]
        for k in range(col_feat.shape[1]):
            g = col_feat[c, k]
            if g >= 0:
                eta += coef[c, k + 1] * (feature_value(z, feat_z, feat_z2, g) - mu[g]) / sd[g]
        e, d = log_rate_cap(eta, eta0)
        r[c] = np.exp(e)
        dr[c] = d
    return r, dr


@njit(cache=True)
def _rates(z, coef, col_feat, feat_z, feat_z2, mu, sd, eta0):
    return _rates_d(z, coef, col_feat, feat_z, feat_z2, mu, sd, eta0)[0]


@njit(cache=True)
def flux(y, p, n_pop, n_states, n_z, occ_z, col_pop, col_from, col_to, coef, col_feat, feat_z,
         feat_z2, mu, sd, eta0, kappa):
    """Per-neuron spike flux f_Q (per ms) of every population."""
    z = expand(y, n_pop, n_states, n_z, occ_z)
    r = _rates(z, coef, col_feat, feat_z, feat_z2, mu, sd, eta0)
    f = np.zeros(n_pop)
    for c in range(coef.shape[0]):
        if col_to[c] == n_states - 1:
            q = col_pop[c]
            f[q] += kappa[q] * z[q * n_states + col_from[c]] * r[c]
    return f


@njit(cache=True)
def rhs(y, p, n_pop, n_states, n_z, occ_z, col_pop, col_from, col_to, coef, col_feat, feat_z,
        feat_z2, mu, sd, eta0, kappa, kick_m, kick_s, kick_src, kick_p, kick_tau, n_param, rate_z,
        rate_tau_pi):
    """dy/dt of the fitted reduced ODE (equations in the module docstring) at state ``y`` and
    parameter vector ``p``; the remaining arguments are the structure arrays of the model."""
    z = expand(y, n_pop, n_states, n_z, occ_z)
    r = _rates(z, coef, col_feat, feat_z, feat_z2, mu, sd, eta0)
    dz = np.zeros(n_z)
    f = np.zeros(n_pop)
    for c in range(coef.shape[0]):
        q = col_pop[c]
        ia = q * n_states + col_from[c]
        ib = q * n_states + col_to[c]
        fl = z[ia] * r[c]
        dz[ia] -= fl
        dz[ib] += fl
        if col_to[c] == n_states - 1:
            f[q] += kappa[q] * fl
    for j in range(kick_m.shape[0]):
        tau = p[kick_tau[j]]
        pp = p[kick_p[j]]
        src = kick_src[j]
        inflow = p[n_param[src]] * f[src]
        m = z[kick_m[j]]
        dz[kick_m[j]] = -m / tau + pp * inflow
        if kick_s[j] >= 0:
            dz[kick_s[j]] = -2.0 * z[kick_s[j]] / tau + m / tau + pp * (1.0 - pp) * inflow
    for q in range(n_pop):
        if rate_z[q] >= 0:
            tf = p[rate_tau_pi]
            dz[rate_z[q]] = (1000.0 * f[q] - z[rate_z[q]]) / tf
    n_occ = occ_z.shape[0]
    n_feat = n_z - n_pop * n_states
    out = np.empty(n_occ + n_feat)
    for i in range(n_occ):
        out[i] = dz[occ_z[i]]
    for j in range(n_feat):
        out[n_occ + j] = dz[n_pop * n_states + j]
    return out


@njit(cache=True)
def jac(y, p, n_pop, n_states, n_z, occ_z, col_pop, col_from, col_to, coef, col_feat, feat_z,
        feat_z2, mu, sd, eta0, kappa, kick_m, kick_s, kick_src, kick_p, kick_tau, n_param, rate_z,
        rate_tau_pi):
    """Analytic Jacobian ∂(dy/dt)/∂y of :func:`rhs` (same arguments)."""
    z = expand(y, n_pop, n_states, n_z, occ_z)
    r, dr = _rates_d(z, coef, col_feat, feat_z, feat_z2, mu, sd, eta0)
    Jz = np.zeros((n_z, n_z))
    df = np.zeros((n_pop, n_z))
    dfl = np.zeros(n_z)
    for c in range(coef.shape[0]):
        q = col_pop[c]
        ia = q * n_states + col_from[c]
        ib = q * n_states + col_to[c]
        # d flow / dz
        dfl[:] = 0.0
        dfl[ia] += r[c]
        for k in range(col_feat.shape[1]):
            g = col_feat[c, k]
            if g >= 0:
                w = z[ia] * r[c] * dr[c] * coef[c, k + 1] / sd[g]
                if feat_z2[g] >= 0:                      # d(z_i z_j) = z_j dz_i + z_i dz_j
                    dfl[feat_z[g]] += w * z[feat_z2[g]]
                    dfl[feat_z2[g]] += w * z[feat_z[g]]
                else:
                    dfl[feat_z[g]] += w
        for i in range(n_z):
            if dfl[i] != 0.0:
                Jz[ia, i] -= dfl[i]
                Jz[ib, i] += dfl[i]
                if col_to[c] == n_states - 1:
                    df[q, i] += kappa[q] * dfl[i]
    for j in range(kick_m.shape[0]):
        tau = p[kick_tau[j]]
        pp = p[kick_p[j]]
        src = kick_src[j]
        nn = p[n_param[src]]
        im = kick_m[j]
        for i in range(n_z):
            Jz[im, i] = pp * nn * df[src, i]
        Jz[im, im] += -1.0 / tau
        if kick_s[j] >= 0:
            is_ = kick_s[j]
            for i in range(n_z):
                Jz[is_, i] = pp * (1.0 - pp) * nn * df[src, i]
            Jz[is_, is_] += -2.0 / tau
            Jz[is_, im] += 1.0 / tau
    for q in range(n_pop):
        if rate_z[q] >= 0:
            tf = p[rate_tau_pi]
            ir = rate_z[q]
            for i in range(n_z):
                Jz[ir, i] = 1000.0 * df[q, i] / tf
            Jz[ir, ir] += -1.0 / tf
    # chain rule to reduced coordinates: z_occ(i) = y_i, z_R(q) = 1 - sum of q's y_i
    n_occ = occ_z.shape[0]
    n_feat = n_z - n_pop * n_states
    ny = n_occ + n_feat
    zrow = np.empty(ny, np.int64)
    for i in range(n_occ):
        zrow[i] = occ_z[i]
    for j in range(n_feat):
        zrow[n_occ + j] = n_pop * n_states + j
    J = np.empty((ny, ny))
    for i in range(ny):
        ri = zrow[i]
        for jj in range(ny):
            cz = zrow[jj]
            v = Jz[ri, cz]
            if jj < n_occ:
                q = cz // n_states
                v -= Jz[ri, q * n_states + n_states - 1]
            J[i, jj] = v
    return J
