r"""Continuous-time Markov approximation in reduced coordinates (models.md §2).

State, per population q (K bins): occupancies ``n_{q,0..K-1}``, centred voltage totals
``Z_{q,0..K-1}``; then per ordered pathway (q, r) (r → q) the pending-kick moments
``m_{qr}, s_{qr}``. The refractory count is eliminated by conservation,
``R_q = N_q - Σ_k n_{q,k}``, and the spike flux is an output::

    F_q = (1/h) Σ_k n_{q,k} P_{k,fire}                                    (spikes per ms)
    dn_{q,j}/dt = (1/h) [Σ_k n_{q,k} P_{kj} - n_{q,j}] + δ_{j,j0} R_q/τ_R
    dZ_{q,j}/dt = (1/h) [Σ_k n_{q,k} D_{kj} - Z_{q,j}] + δ_{j,j0} (R_q/τ_R)(V_reset - c_{j0})
    dm_{qr}/dt  = -m_{qr}/τ_{qr} + p_{qr} F_r
    ds_{qr}/dt  = -2 s_{qr}/τ_{qr} + m_{qr}/τ_{qr} + p_{qr}(1 - p_{qr}) F_r

with ``P, D`` from the shared construction (:mod:`transitions`) over the horizon h (a model
parameter). The published map is the explicit Euler step of this field with step Δt = h
(:mod:`map`). 2·(2·35) + 8 = 148 states at the defaults.

The Jacobian is analytic: the construction returns the partial derivatives of every
transition probability and partial mean with respect to the row's in-bin mean, input mean and
input standard deviation, and the chain rule is applied here.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from simulate.validation import ParameterError

from .transitions import construct, fire_flux

__all__ = ["unpack", "field", "rhs_core", "jac_core", "RHS", "Jacobian", "RateOutput"]


@njit(cache=True)
def unpack(p, P, lam_idx, lam_fac, p_idx, p_fac, S_idx, S_fac, tau_idx, sc_idx):
    """Network arrays from the flat parameter vector ``p`` (see ``MarkovApproximation``)."""
    lam = np.empty(P)
    pm = np.empty((P, P))
    S = np.empty((P, P))
    tau = np.empty((P, P))
    for q in range(P):
        lam[q] = p[lam_idx[q]] * lam_fac[q]
        for r in range(P):
            pm[q, r] = p[p_idx[q, r]] * p_fac[q, r]
            S[q, r] = p[S_idx[q, r]] * S_fac[q, r]
            tau[q, r] = p[tau_idx[q, r]]
    return lam, pm, S, tau, p[sc_idx[0]], p[sc_idx[1]], p[sc_idx[2]]


@njit(cache=True)
def field(n, Z, mom, R, lam, pm, S, tau, tau_r, h, tau_m, edges, exc, j0, v_reset, M, M_r,
          eps, vkind, ckind, drop, nodes, beta):
    """Time derivatives ``(dn, dZ, dmom, F)`` for a given refractory count ``R``."""
    P = n.shape[0]
    K = n.shape[1]
    Pm = np.empty((P, K, K + 1))
    Dm = np.empty((P, K, K))
    dP = np.empty((1, 1, 1, 1))
    dD = np.empty((1, 1, 1, 1))
    coef = np.empty((1, 1, 1))
    construct(n, Z, mom, edges, lam, S, tau, exc, h, tau_m, M, M_r, eps, vkind, ckind, drop,
              nodes, beta, False, Pm, Dm, dP, dD, coef)
    dn = np.zeros((P, K))
    dZ = np.zeros((P, K))
    F = np.zeros(P)
    inv_h = 1.0 / h
    cj0 = 0.5 * (edges[j0] + edges[j0 + 1])
    for q in range(P):
        for k in range(K):
            nk = n[q, k]
            if nk == 0.0:
                continue
            for j in range(K):
                dn[q, j] += nk * Pm[q, k, j]
                dZ[q, j] += nk * Dm[q, k, j]
            F[q] += nk * Pm[q, k, K]
        for j in range(K):
            dn[q, j] = (dn[q, j] - n[q, j]) * inv_h
            dZ[q, j] = (dZ[q, j] - Z[q, j]) * inv_h
        F[q] *= inv_h
        out = R[q] / tau_r
        dn[q, j0] += out
        dZ[q, j0] += out * (v_reset - cj0)
    dmom = np.empty((P, P, 2))
    for q in range(P):
        for r in range(P):
            t = tau[q, r]
            m = mom[q, r, 0]
            dmom[q, r, 0] = -m / t + pm[q, r] * F[r]
            dmom[q, r, 1] = -2.0 * mom[q, r, 1] / t + m / t + pm[q, r] * (1.0 - pm[q, r]) * F[r]
    return dn, dZ, dmom, F


@njit(cache=True)
def _split(x, P, K):
    n = np.empty((P, K))
    Z = np.empty((P, K))
    mom = np.empty((P, P, 2))
    for q in range(P):
        for k in range(K):
            n[q, k] = x[q * 2 * K + k]
            Z[q, k] = x[q * 2 * K + K + k]
    o = 2 * K * P
    for q in range(P):
        for r in range(P):
            mom[q, r, 0] = x[o + 2 * (q * P + r)]
            mom[q, r, 1] = x[o + 2 * (q * P + r) + 1]
    return n, Z, mom


@njit(cache=True)
def rhs_core(x, p, P, K, N, edges, exc, j0, v_reset, M, M_r, eps, vkind, ckind, nodes, beta,
             lam_idx, lam_fac, p_idx, p_fac, S_idx, S_fac, tau_idx, sc_idx):
    """The right-hand side f(x, p) in reduced coordinates (flat array, 2PK + 2P² states)."""
    lam, pm, S, tau, tau_r, h, tau_m = unpack(p, P, lam_idx, lam_fac, p_idx, p_fac, S_idx,
                                              S_fac, tau_idx, sc_idx)
    n, Z, mom = _split(x, P, K)
    R = np.empty(P)
    for q in range(P):
        R[q] = N[q] - n[q].sum()
    dn, dZ, dmom, F = field(n, Z, mom, R, lam, pm, S, tau, tau_r, h, tau_m, edges, exc, j0,
                            v_reset, M, M_r, eps, vkind, ckind, False, nodes, beta)
    out = np.empty(x.shape[0])
    for q in range(P):
        for k in range(K):
            out[q * 2 * K + k] = dn[q, k]
            out[q * 2 * K + K + k] = dZ[q, k]
    o = 2 * K * P
    for q in range(P):
        for r in range(P):
            out[o + 2 * (q * P + r)] = dmom[q, r, 0]
            out[o + 2 * (q * P + r) + 1] = dmom[q, r, 1]
    return out


@njit(cache=True)
def flux_core(x, p, P, K, N, edges, exc, j0, v_reset, M, M_r, eps, vkind, ckind, nodes, beta,
              lam_idx, lam_fac, p_idx, p_fac, S_idx, S_fac, tau_idx, sc_idx):
    """Spike flux F_q (spikes per ms) of every population at state x."""
    lam, pm, S, tau, tau_r, h, tau_m = unpack(p, P, lam_idx, lam_fac, p_idx, p_fac, S_idx,
                                              S_fac, tau_idx, sc_idx)
    n, Z, mom = _split(x, P, K)
    return fire_flux(n, Z, mom, edges, lam, S, tau, exc, h, tau_m, M, M_r, eps, vkind, ckind,
                     nodes, beta)


@njit(cache=True)
def flux_many(X, p, P, K, N, edges, exc, j0, v_reset, M, M_r, eps, vkind, ckind, nodes, beta,
              lam_idx, lam_fac, p_idx, p_fac, S_idx, S_fac, tau_idx, sc_idx):
    """Flux at every row of ``X`` (T, n) -> (T, P)."""
    out = np.empty((X.shape[0], P))
    for i in range(X.shape[0]):
        out[i] = flux_core(X[i], p, P, K, N, edges, exc, j0, v_reset, M, M_r, eps, vkind,
                           ckind, nodes, beta, lam_idx, lam_fac, p_idx, p_fac, S_idx, S_fac,
                           tau_idx, sc_idx)
    return out


@njit(cache=True)
def jac_core(x, p, P, K, N, edges, exc, j0, v_reset, M, M_r, eps, vkind, ckind, nodes, beta,
             lam_idx, lam_fac, p_idx, p_fac, S_idx, S_fac, tau_idx, sc_idx):
    """Analytic Jacobian ∂f/∂x (dense, (n, n)) of :func:`rhs_core` (maxent closure)."""
    lam, pm, S, tau, tau_r, h, tau_m = unpack(p, P, lam_idx, lam_fac, p_idx, p_fac, S_idx,
                                              S_fac, tau_idx, sc_idx)
    n, Z, mom = _split(x, P, K)
    nx = x.shape[0]
    Pm = np.empty((P, K, K + 1))
    Dm = np.empty((P, K, K))
    dP = np.empty((P, K, K + 1, 3))
    dD = np.empty((P, K, K, 3))
    coef = np.empty((P, K, 2 + 3 * P))
    construct(n, Z, mom, edges, lam, S, tau, exc, h, tau_m, M, M_r, eps, vkind, ckind, False,
              nodes, beta, True, Pm, Dm, dP, dD, coef)
    J = np.zeros((nx, nx))
    inv_h = 1.0 / h
    cj0 = 0.5 * (edges[j0] + edges[j0 + 1])
    o = 2 * K * P
    # dF[q, :] : gradient of F_q with respect to the whole state
    dF = np.zeros((P, nx))
    for q in range(P):
        bn = q * 2 * K
        bz = bn + K
        for k in range(K):
            nk = n[q, k]
            a_n = coef[q, k, 0]
            a_z = coef[q, k, 1]
            for j in range(K):
                J[bn + j, bn + k] += (Pm[q, k, j] + nk * dP[q, k, j, 0] * a_n) * inv_h
                J[bn + j, bz + k] += nk * dP[q, k, j, 0] * a_z * inv_h
                J[bz + j, bn + k] += (Dm[q, k, j] + nk * dD[q, k, j, 0] * a_n) * inv_h
                J[bz + j, bz + k] += nk * dD[q, k, j, 0] * a_z * inv_h
            dF[q, bn + k] += (Pm[q, k, K] + nk * dP[q, k, K, 0] * a_n) * inv_h
            dF[q, bz + k] += nk * dP[q, k, K, 0] * a_z * inv_h
            # kick moments of the pathways into q
            for r in range(P):
                im = o + 2 * (q * P + r)
                is_ = im + 1
                cm_mu = coef[q, k, 2 + 3 * r]
                cm_sg = coef[q, k, 3 + 3 * r]
                cs_sg = coef[q, k, 4 + 3 * r]
                if nk == 0.0:
                    continue
                for j in range(K):
                    J[bn + j, im] += nk * (dP[q, k, j, 1] * cm_mu + dP[q, k, j, 2] * cm_sg) * inv_h
                    J[bn + j, is_] += nk * dP[q, k, j, 2] * cs_sg * inv_h
                    J[bz + j, im] += nk * (dD[q, k, j, 1] * cm_mu + dD[q, k, j, 2] * cm_sg) * inv_h
                    J[bz + j, is_] += nk * dD[q, k, j, 2] * cs_sg * inv_h
                dF[q, im] += nk * (dP[q, k, K, 1] * cm_mu + dP[q, k, K, 2] * cm_sg) * inv_h
                dF[q, is_] += nk * dP[q, k, K, 2] * cs_sg * inv_h
        for j in range(K):
            J[bn + j, bn + j] -= inv_h
            J[bz + j, bz + j] -= inv_h
        # reset inflow R/τ_R with R = N - Σ n
        for k in range(K):
            J[bn + j0, bn + k] -= 1.0 / tau_r
            J[bz + j0, bn + k] -= (0.0 - cj0 + v_reset) / tau_r
    for q in range(P):
        for r in range(P):
            im = o + 2 * (q * P + r)
            t = tau[q, r]
            pp = pm[q, r]
            for c in range(nx):
                J[im, c] += pp * dF[r, c]
                J[im + 1, c] += pp * (1.0 - pp) * dF[r, c]
            J[im, im] -= 1.0 / t
            J[im + 1, im + 1] -= 2.0 / t
            J[im + 1, im] += 1.0 / t
    return J


class _Compiled:
    """Picklable holder of the model arrays; subclasses call one compiled kernel."""

    def __init__(self, arrays: tuple, n_states: int, state_names=None):
        self.arrays = arrays
        self.n_states = n_states
        self.state_names = state_names

    def _check(self, x, p):
        x = np.ascontiguousarray(x, dtype=np.float64)
        p = np.ascontiguousarray(p, dtype=np.float64)
        if x.shape != (self.n_states,):
            raise ParameterError(
                f"x has shape {x.shape}; the valid shape is ({self.n_states},)")
        if not np.isfinite(x).all():
            i = int(np.flatnonzero(~np.isfinite(x))[0])
            name = self.state_names[i] if self.state_names else f"x[{i}]"
            raise ParameterError(
                f"state component {name} = {x[i]!r} is not finite; the valid range is finite "
                "values (n >= 0, |Z_k| <= n_k * width_k / 2)")
        return x, p


class RHS(_Compiled):
    """``rhs(x, p)``: calls :func:`rhs_core`; rejects non-finite states."""

    def __call__(self, x, p):
        x, p = self._check(x, p)
        return rhs_core(x, p, *self.arrays)


class Jacobian(_Compiled):
    """``jac(x, p)``: calls :func:`jac_core` (analytic)."""

    def __call__(self, x, p):
        x, p = self._check(x, p)
        return jac_core(x, p, *self.arrays)


class Flux(_Compiled):
    """``flux(x, p)`` -> ndarray (P,): spikes per ms of each population."""

    def __call__(self, x, p):
        x, p = self._check(x, p)
        return flux_core(x, p, *self.arrays)


class RateOutput:
    """Output ``rate_Q(x, p)`` in Hz per neuron: ``1000 F_Q / N_Q``."""

    def __init__(self, flux: Flux, q: int, size: float):
        self.flux = flux
        self.q = int(q)
        self.size = float(size)

    def __call__(self, x, p):
        return 1000.0 * float(self.flux(x, p)[self.q]) / self.size
