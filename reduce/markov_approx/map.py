r"""The published discrete-time Markov-approximation map (models.md §2).

State: the ODE state followed by the refractory counts ``R_q`` and the flux of the last step
``F_q`` (2·(2·35 + 2) + 8 = 152 numbers at the defaults). One step of length Δt uses the
shared transition construction at horizon h::

    spikes_q = Σ_k n_k P_{k,fire}                 F_q = spikes_q / h
    n'_j = n_j + (Δt/h)[Σ_k n_k P_{kj} - n_j] + δ_{j,j0} R_q Δt/τ_R
    Z'_j = Z_j + (Δt/h)[Σ_k n_k D_{kj} - Z_j] + δ_{j,j0} R_q (Δt/τ_R)(V_reset - c_{j0})
    R'_q = R_q + Δt (F_q - R_q/τ_R)
    m', s' : explicit Euler step of the kick-moment equations with the same F.

With Δt = h (the published setting, 0.1 ms) the bin update is exactly ``n' = n Π_h``, the
published map; with Δt = h/m it is m explicit Euler sub-steps of the ODE at fixed horizon h.
The published code drops the probability mass that falls below -M_r (``drop_mass=True``);
by default that mass is clamped to -M_r (lowest bin) so neuron number is conserved.
Refractory outflow is the Euler rate ``R Δt/τ_R`` (so that the map is exactly the Euler step of
the ODE); the released code's exact form of this line is not known to us (reconstruction).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .ode import _split, field, unpack

__all__ = ["map_run", "field_numpy", "step_numpy"]


@njit(cache=True)
def map_run(x0, p, n_steps, dt, drop, P, K, N, edges, exc, j0, v_reset, M, M_r, eps, vkind,
            ckind, nodes, beta, lam_idx, lam_fac, p_idx, p_fac, S_idx, S_fac, tau_idx, sc_idx,
            rec_every):
    """Iterate the map ``n_steps`` times from the map state ``x0``.

    Returns ``(x_end, flux, states)``: ``flux[i, q]`` spikes per ms in step i, ``states``
    the map state every ``rec_every`` steps (row 0 = x0).
    """
    lam, pm, S, tau, tau_r, h, tau_m = unpack(p, P, lam_idx, lam_fac, p_idx, p_fac, S_idx,
                                              S_fac, tau_idx, sc_idx)
    nx = x0.shape[0]
    n_ode = nx - 2 * P
    x = x0.copy()
    flux = np.empty((n_steps, P))
    n_rec = n_steps // rec_every + 1
    states = np.empty((n_rec, nx))
    states[0] = x
    ir = 1
    for it in range(n_steps):
        n, Z, mom = _split(x, P, K)
        R = x[n_ode:n_ode + P].copy()
        dn, dZ, dmom, F = field(n, Z, mom, R, lam, pm, S, tau, tau_r, h, tau_m, edges, exc,
                                j0, v_reset, M, M_r, eps, vkind, ckind, drop, nodes, beta)
        for q in range(P):
            b = q * 2 * K
            for k in range(K):
                x[b + k] += dt * dn[q, k]
                x[b + K + k] += dt * dZ[q, k]
            x[n_ode + q] += dt * (F[q] - R[q] / tau_r)
            x[n_ode + P + q] = F[q]
            flux[it, q] = F[q]
        o = 2 * K * P
        for q in range(P):
            for r in range(P):
                x[o + 2 * (q * P + r)] += dt * dmom[q, r, 0]
                x[o + 2 * (q * P + r) + 1] += dt * dmom[q, r, 1]
        if (it + 1) % rec_every == 0 and ir < n_rec:
            states[ir] = x
            ir += 1
    return x, flux, states


def field_numpy(ma, x: np.ndarray, p=None, R=None):
    """The ODE field in vectorised NumPy/SciPy, independent of the numba kernels.

    Used as the benchmark peer of the map and as a cross-check of the compiled construction.
    It accepts complex states (``x + i·δ e_j``), so a complex-step Jacobian of it is an
    independent reference for the analytic Jacobian. ``R`` (refractory counts) defaults to
    ``N - Σ n``. Returns ``(dx_ode, F)``. Closures ``maxent`` and ``uniform-widest`` (real
    only), clamping at -M_r.
    """
    from scipy.special import erfc

    lay = ma.layout
    edges = ma.bins.edges
    K, P = lay.K, lay.P
    c = ma.bins.centres
    eta = 0.5 * ma.bins.widths
    arr = ma.network_arrays(None if p is None else np.asarray(p, float))
    lam, pm, S, tau, tau_r, h, tau_m = (arr[k] for k in
                                        ("lam", "p", "S", "tau", "tau_r", "h", "tau_m"))
    x = np.asarray(x)
    n = np.stack([x[lay.occ(q)] for q in range(P)])
    Z = np.stack([x[lay.ztot(q)] for q in range(P)])
    mom = np.array([[x[lay.mom(q, r):lay.mom(q, r) + 2] for r in range(P)] for q in range(P)])
    if R is None:
        R = ma.spec.sizes - n.sum(1)
    vbar = c[None, :] + Z * n / (n * n + ma.eps**2)
    g = (vbar + ma.M_r) / (ma.M + ma.M_r)
    exc = ma.spec.excitatory
    de = (S * mom[:, :, 0] / tau * exc[None, :]).sum(1)
    di = (S * mom[:, :, 0] / tau * ~exc[None, :]).sum(1)
    if ma.variance == "published":
        vv = h * S**2 * mom[:, :, 1] / tau**2
    else:
        vv = h * S**2 * mom[:, :, 0] / tau + h**2 * S**2 * mom[:, :, 1] / tau**2
    ve = (vv * exc[None, :]).sum(1)
    vi = (vv * ~exc[None, :]).sum(1)
    mu = h * (lam[:, None] + de[:, None] - g * di[:, None])
    if tau_m > 0:
        mu = mu - h * vbar / tau_m
    sig = np.sqrt(lam[:, None] * h + ve[:, None] + g**2 * vi[:, None])
    y = edges[None, None, :] - c[None, :, None]          # (1, K, K+1), relative to row centre
    Phi = lambda z: 0.5 * erfc(-z / np.sqrt(2))  # noqa: E731
    phi = lambda z: np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)  # noqa: E731
    if ma.closure == "maxent":
        s, beta = ma.nodes, ma.beta
        r = Z * n / (n * n + ma.eps**2) / eta[None, :]
        rr = np.clip(r.real, -1 + 1e-15, 1 - 1e-15)
        th = np.zeros_like(rr)
        lo, hi = np.full_like(rr, -150.0), np.full_like(rr, 150.0)
        for _ in range(120):  # vectorised bisection (independent of the compiled Newton)
            w = beta * np.exp(th[..., None] * s - np.abs(th)[..., None])
            w /= w.sum(-1, keepdims=True)
            mean = (w * s).sum(-1)
            hi = np.where(mean > rr, th, hi)
            lo = np.where(mean > rr, lo, th)
            th = 0.5 * (lo + hi)
        th = th + 0j * r if np.iscomplexobj(r) else th
        rc = r if np.iscomplexobj(r) else rr
        for _ in range(4):  # Newton polish (carries complex-step derivatives)
            w = beta * np.exp(th[..., None] * s - np.abs(th.real)[..., None])
            w = w / w.sum(-1, keepdims=True)
            # mean and variance relative to the dominant node (no cancellation when the
            # weights concentrate on one node, i.e. the in-bin mean is at a bin edge)
            sd = s[np.argmax(w.real, axis=-1)]
            mean = sd + (w * (s - sd[..., None])).sum(-1)
            var = (w * (s - mean[..., None]) ** 2).sum(-1)
            th = th - (mean - rc) / var
        w = beta * np.exp(th[..., None] * s - np.abs(th.real)[..., None])
        w = w / w.sum(-1, keepdims=True)                 # (P, K, Q)
        v = eta[:, None] * s[None, :]                    # (K, Q)
        z = (y[..., None] - v[None, :, None, :] - mu[..., None, None]) / sig[..., None, None]
        ist = np.argmax(w.real, axis=-1)[..., None, None]           # dominant node
        Pz, pz = Phi(z), phi(z)
        Ps = np.take_along_axis(Pz, np.broadcast_to(ist, z.shape[:-1] + (1,)), -1)
        ps = np.take_along_axis(pz, np.broadcast_to(ist, z.shape[:-1] + (1,)), -1)
        vP = v[None, :, None, :] * Pz
        vPs = np.take_along_axis(vP, np.broadcast_to(ist, z.shape[:-1] + (1,)), -1)
        ww = w[:, :, None, :]
        # Σ w f = f_* + Σ w (f - f_*) since Σ w = 1 (stable complex-step derivatives)
        C = Ps[..., 0] + (ww * (Pz - Ps)).sum(-1)
        S1 = vPs[..., 0] + (ww * (vP - vPs)).sum(-1)
        B0 = ps[..., 0] + (ww * (pz - ps)).sum(-1)
        G = mu[..., None] * C + S1 - sig[..., None] * B0
    else:
        vb = np.clip(Z * n / (n * n + ma.eps**2), -eta, eta)
        lo = np.where(vb <= 0, -eta, 2 * vb - eta)
        hi = np.where(vb <= 0, 2 * vb + eta, eta)
        wd = np.maximum(hi - lo, 1e-300)
        zl = (y - lo[..., None] - mu[..., None]) / sig[..., None]
        zr = (y - hi[..., None] - mu[..., None]) / sig[..., None]
        Psi = lambda z: z * Phi(z) + phi(z)  # noqa: E731
        A = lambda z: (y * Psi(z) - 0.5 * sig[..., None] * ((z * z - 1) * Phi(z) + z * phi(z))  # noqa: E731
                       - sig[..., None] * Phi(z))
        C = sig[..., None] / wd[..., None] * (Psi(zl) - Psi(zr))
        G = sig[..., None] / wd[..., None] * (A(zl) - A(zr))
    Pm = np.empty((P, K, K + 1), dtype=C.dtype)
    Pm[:, :, 0] = C[:, :, 1]
    Pm[:, :, 1:K] = np.diff(C[:, :, 1:], axis=-1)
    Pm[:, :, K] = 1 - C[:, :, K]
    dC = np.diff(C, axis=-1)
    Dm = np.diff(G, axis=-1) + (c[:, None] - c[None, :])[None] * dC
    Dm[:, :, 0] += (edges[0] - c[0]) * C[:, :, 0]
    F = (n * Pm[:, :, K]).sum(1) / h
    dn = (np.einsum("qk,qkj->qj", n, Pm[:, :, :K]) - n) / h
    dZ = (np.einsum("qk,qkj->qj", n, Dm) - Z) / h
    j0 = ma.bins.reset_bin
    dn[:, j0] += R / tau_r
    dZ[:, j0] += R / tau_r * (ma.bins.v_reset - c[j0])
    out = np.zeros(lay.n_ode, dtype=np.result_type(x.dtype, C.dtype))
    for q in range(P):
        out[lay.occ(q)] = dn[q]
        out[lay.ztot(q)] = dZ[q]
        for r in range(P):
            i = lay.mom(q, r)
            m_, s_ = mom[q, r]
            out[i] = -m_ / tau[q, r] + pm[q, r] * F[r]
            out[i + 1] = (-2 * s_ / tau[q, r] + m_ / tau[q, r]
                          + pm[q, r] * (1 - pm[q, r]) * F[r])
    return out, F


def step_numpy(ma, xm: np.ndarray, dt: float | None = None, p=None):
    """One map step (map state in, map state out) with :func:`field_numpy`."""
    lay = ma.layout
    P = lay.P
    xm = np.asarray(xm, float)
    arr = ma.network_arrays(p)
    dt = arr["h"] if dt is None else float(dt)
    R = xm[lay.n_ode:lay.n_ode + P]
    f, F = field_numpy(ma, xm[:lay.n_ode], p, R=R)
    out = xm.copy()
    out[:lay.n_ode] += dt * f
    out[lay.n_ode:lay.n_ode + P] += dt * (F - R / arr["tau_r"])
    out[lay.n_ode + P:] = F
    return out
