r"""The one transition construction shared by the map and the ODE (models.md §2).

Per population ``q`` with occupancies ``n_k``, centred voltage totals
``Z_k = Σ_{neurons in k} (V - c_k)`` and pending-kick moments ``m_{qr}, s_{qr}`` (mean and
across-neuron variance of the pending kicks of pathway r → q, per neuron):

* regularised in-bin mean  ``V̄_k = c_k + Z_k n_k / (n_k² + ε²)``  (ε = 1e-3 neurons by
  default): equal to ``c_k + Z_k/n_k`` for ``n_k >> ε``, C^∞ for every real ``n_k`` (also the
  slightly negative occupancies a Newton step can produce in empty tails), empty bins are
  read at their centre;
* reversal factor ``g(V) = (V + M_r)/(M + M_r)``;
* Gaussian input over the horizon h for a neuron of bin k::

      μ_k = λ_q h + h Σ_{r exc} S_{qr} m_{qr}/τ_{qr} - h g(V̄_k) Σ_{r inh} S_{qr} m_{qr}/τ_{qr}
            [- h V̄_k/τ_m if a leak is on]
      σ_k² = λ_q h + Σ_r γ_{qr}(V̄_k) v_{qr},   γ = 1 (exc) or g(V̄_k)² (inh),
      published:   v_{qr} = h S² s_{qr}/τ²
      shot-noise:  v_{qr} = h S² m_{qr}/τ + h² S² s_{qr}/τ²

* closure + convolution (:mod:`closure`) → ``C(e)``, ``G(e)`` at every edge, and

      P_{kj} = C(e_{j+1}) - C(e_j)           (j ≥ 1; P_{k0} = C(e_1), mass below -M_r clamped
                                              to -M_r, or C(e_1) - C(e_0) with drop_mass)
      P_{k,fire} = 1 - C(M)
      D_{kj} = E[(Y - c_j) 1{Y ∈ bin j}] = G(e_{j+1}) - G(e_j) + (c_k - c_j)(C(e_{j+1}) - C(e_j))
      D_{k0} (clamped) adds (-M_r - c_0) C(e_0).

Each row of ``P`` (K bins + fire) sums to 1 by telescoping, to round-off.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .closure import WORK_ROWS, Z_CUT, cdf_maxent, row_maxent_work, row_uniform_widest

__all__ = ["construct", "input_moments", "fire_flux"]


@njit(cache=True)
def input_moments(vbar, q, mom, lam, S, tau, exc, h, tau_m, M, M_r, vkind):
    """``(μ, σ, dμ/dV̄, dσ/dV̄)`` for a neuron of population q with in-bin mean ``vbar``."""
    P = lam.shape[0]
    g = (vbar + M_r) / (M + M_r)
    gp = 1.0 / (M + M_r)
    drift_e = 0.0
    drift_i = 0.0
    var_e = 0.0
    var_i = 0.0
    for r in range(P):
        m = mom[q, r, 0]
        s = mom[q, r, 1]
        t = tau[q, r]
        Sq = S[q, r]
        d = Sq * m / t
        if vkind == 0:
            vv = h * Sq * Sq * s / (t * t)
        else:
            vv = h * Sq * Sq * m / t + h * h * Sq * Sq * s / (t * t)
        if exc[r]:
            drift_e += d
            var_e += vv
        else:
            drift_i += d
            var_i += vv
    mu = h * (lam[q] + drift_e - g * drift_i)
    dmu = -h * gp * drift_i
    if tau_m > 0.0:
        mu -= h * vbar / tau_m
        dmu -= h / tau_m
    var = lam[q] * h + var_e + g * g * var_i
    sig = math.sqrt(var)
    dsig = (2.0 * g * gp * var_i) / (2.0 * sig)
    return mu, sig, dmu, dsig


@njit(cache=True)
def construct(n, Z, mom, edges, lam, S, tau, exc, h, tau_m, M, M_r, eps, vkind, ckind,
              drop, nodes, beta, deriv, Pm, Dm, dP, dD, coef):
    """Fill the transition arrays of every population.

    Parameters
    ----------
    n, Z : ndarray (P, K)
        Occupancies and centred voltage totals.
    mom : ndarray (P, P, 2)
        ``mom[q, r] = (m_qr, s_qr)``.
    Pm : out (P, K, K + 1)
        ``Pm[q, k, j]``: probability to go from bin k to bin j over horizon h; column K fires.
    Dm : out (P, K, K)
        Partial centred means ``D_{kj}``.
    dP, dD : out (P, K, K + 1, 3), (P, K, K, 3) when ``deriv``
        Partial derivatives w.r.t. (V̄_k in total, μ_k, σ_k); the first includes the
        dependence of μ and σ on V̄ through g and the leak.
    coef : out (P, K, 2 + 3 P) when ``deriv``
        Per row: ``dV̄/dn_k, dV̄/dZ_k`` and, per source r, ``dμ/dm_qr, dσ/dm_qr, dσ/ds_qr``.
    """
    P = n.shape[0]
    K = n.shape[1]
    K1 = K + 1
    C = np.empty(K1)
    G = np.empty(K1)
    dC = np.zeros((K1, 3))
    dG = np.zeros((K1, 3))
    work = np.empty((WORK_ROWS, nodes.shape[0]))
    for q in range(P):
        for k in range(K):
            ck = 0.5 * (edges[k] + edges[k + 1])
            nk = n[q, k]
            den = nk * nk + eps * eps
            vrel = Z[q, k] * nk / den
            vbar = ck + vrel
            mu, sig, dmu, dsig = input_moments(vbar, q, mom, lam, S, tau, exc, h, tau_m,
                                               M, M_r, vkind)
            if ckind == 0:
                row_maxent_work(edges, k, vrel, mu, sig, nodes, beta, deriv, C, G, dC, dG, work)
            else:
                row_uniform_widest(edges, k, vrel, mu, sig, C, G)
            # --- probabilities
            if drop:
                Pm[q, k, 0] = C[1] - C[0]
            else:
                Pm[q, k, 0] = C[1]
            for j in range(1, K):
                Pm[q, k, j] = C[j + 1] - C[j]
            Pm[q, k, K] = 1.0 - C[K]
            for j in range(K):
                cj = 0.5 * (edges[j] + edges[j + 1])
                Dm[q, k, j] = G[j + 1] - G[j] + (ck - cj) * (C[j + 1] - C[j])
            c0 = 0.5 * (edges[0] + edges[1])
            if not drop:
                Dm[q, k, 0] += (edges[0] - c0) * C[0]
            if deriv:
                # partials w.r.t. (closure V̄, μ, σ) then total V̄
                for a in range(3):
                    if drop:
                        dP[q, k, 0, a] = dC[1, a] - dC[0, a]
                    else:
                        dP[q, k, 0, a] = dC[1, a]
                    for j in range(1, K):
                        dP[q, k, j, a] = dC[j + 1, a] - dC[j, a]
                    dP[q, k, K, a] = -dC[K, a]
                    for j in range(K):
                        cj = 0.5 * (edges[j] + edges[j + 1])
                        dD[q, k, j, a] = dG[j + 1, a] - dG[j, a] + (ck - cj) * (dC[j + 1, a]
                                                                             - dC[j, a])
                    if not drop:
                        dD[q, k, 0, a] += (edges[0] - c0) * dC[0, a]
                for j in range(K1):
                    dP[q, k, j, 0] += dP[q, k, j, 1] * dmu + dP[q, k, j, 2] * dsig
                for j in range(K):
                    dD[q, k, j, 0] += dD[q, k, j, 1] * dmu + dD[q, k, j, 2] * dsig
                coef[q, k, 0] = Z[q, k] * (eps * eps - nk * nk) / (den * den)
                coef[q, k, 1] = nk / den
                g = (vbar + M_r) / (M + M_r)
                for r in range(P):
                    t = tau[q, r]
                    Sq = S[q, r]
                    gam = 1.0 if exc[r] else g * g
                    coef[q, k, 2 + 3 * r] = h * Sq / t if exc[r] else -h * g * Sq / t
                    if vkind == 0:
                        dvm = 0.0
                        dvs = h * Sq * Sq / (t * t)
                    else:
                        dvm = h * Sq * Sq / t
                        dvs = h * h * Sq * Sq / (t * t)
                    coef[q, k, 3 + 3 * r] = gam * dvm / (2.0 * sig)
                    coef[q, k, 4 + 3 * r] = gam * dvs / (2.0 * sig)


@njit(cache=True)
def fire_flux(n, Z, mom, edges, lam, S, tau, exc, h, tau_m, M, M_r, eps, vkind, ckind, nodes,
              beta):
    """Spike flux ``F_q = (1/h) Σ_k n_k P_{k,fire}`` only (cheap: rows whose Gaussian window
    cannot reach threshold are skipped, the others evaluate C at the threshold M only,
    :func:`closure.cdf_maxent`)."""
    P = n.shape[0]
    K = n.shape[1]
    F = np.zeros(P)
    sub = np.empty(3)
    C = np.empty(3)
    G = np.empty(3)
    w = np.empty(nodes.shape[0])
    for q in range(P):
        for k in range(K):
            nk = n[q, k]
            if nk == 0.0:
                continue
            ck = 0.5 * (edges[k] + edges[k + 1])
            vrel = Z[q, k] * nk / (nk * nk + eps * eps)
            mu, sig = input_moments(ck + vrel, q, mom, lam, S, tau, exc, h, tau_m, M, M_r,
                                    vkind)[:2]
            if edges[k + 1] + mu + Z_CUT * sig < M:
                continue
            if ckind == 0:
                C[2] = cdf_maxent(edges[k], edges[k + 1], vrel, mu, sig, nodes, beta, M, w)
            else:
                sub[0] = edges[k]
                sub[1] = edges[k + 1]
                sub[2] = M
                row_uniform_widest(sub, 0, vrel, mu, sig, C, G)
            F[q] += nk * (1.0 - C[2])
        F[q] /= h
    return F
