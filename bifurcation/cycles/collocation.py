"""Orthogonal collocation of periodic orbits (piecewise polynomials, Gauss points, adaptive mesh).

A periodic orbit of ``x' = f(x, p)`` with period ``T`` is written on the unit interval,
``u(τ) = x(T τ)``, ``τ ∈ [0, 1]``:

.. math::

    u'(τ) - T f(u(τ), p) = 0, \\qquad u(0) = u(1).

The interval is cut by a mesh ``0 = τ_0 < τ_1 < … < τ_NTST = 1`` (``h_j = τ_{j+1} − τ_j``); on
each sub-interval ``u`` is a polynomial of degree ``NCOL`` given by its values at ``NCOL + 1``
equidistant nodes ``τ_j + h_j l / NCOL`` (``l = 0 … NCOL``); neighbouring intervals share their
end node, and the last node equals the first (periodicity), so the unknowns are the
``M = NTST·NCOL`` node values ``U[m]`` (``m = j·NCOL + l``), the period ``T`` and the free
parameter. The differential equation is imposed at the ``NCOL`` Gauss–Legendre points
``z_k`` of each interval (orthogonal collocation, de Boor & Swartz; as AUTO and MatCont),
which gives super-convergence ``O(h^{2 NCOL})`` at the mesh points:

.. math::

    \\sum_l \\frac{ℓ_l'(z_k)}{h_j} U_{j,l} - T f\\Big(\\sum_l ℓ_l(z_k) U_{j,l}, p\\Big) = 0.

Phase condition (integral, AUTO): ``∫_0^1 ⟨u(τ), \\hat u'(τ)⟩ dτ = 0`` with ``\\hat u`` the
previous solution; the integral is evaluated with the Gauss rule, exact for the piecewise
polynomials.

Mesh adaptation (AUTO's rule): the ``NCOL``-th derivative of ``u`` is constant on each interval
(``w_j``); its jumps give the ``(NCOL+1)``-th derivative,
``d_j ≈ (w_{j+1} − w_j) / ((h_j + h_{j+1})/2)``, and the new mesh equidistributes
``∫ |d(τ)|^{1/(NCOL+1)} dτ`` (the local error of a degree-``NCOL`` interpolant scales like
``h^{NCOL+1} |u^{(NCOL+1)}|``).

The linear algebra is sparse: the Jacobian of the collocation equations has one dense-in-`J`
block per (collocation point, node) pair and is assembled with the union sparsity pattern of
the system Jacobians, then factorised by SuperLU (``scipy.sparse.linalg.splu``).
"""

from __future__ import annotations

from math import factorial

import numpy as np
import scipy.sparse as sp

__all__ = ["Collocation", "Mesh", "uniform_mesh"]


def _lagrange_coefficients(nodes: np.ndarray) -> np.ndarray:
    """C with ℓ_l(s) = Σ_d C[d, l] s^d for the Lagrange basis on ``nodes``."""
    V = np.vander(nodes, increasing=True)  # V[i, d] = nodes[i]**d
    return np.linalg.inv(V)  # row d, column l: since [s^d] @ inv(V) gives ℓ(s)


def _basis(C: np.ndarray, s: np.ndarray, deriv: int = 0) -> np.ndarray:
    """Values (or derivatives) of the Lagrange basis at local points ``s``: (len(s), deg+1)."""
    s = np.asarray(s, float)
    deg = C.shape[0] - 1
    P = np.zeros((s.size, deg + 1))
    for d in range(deriv, deg + 1):
        c = factorial(d) / factorial(d - deriv)
        P[:, d] = c * s ** (d - deriv)
    return P @ C


class Mesh:
    """Collocation mesh: ``tau`` (NTST+1,) from 0 to 1, and ``ncol``.

    Attributes
    ----------
    tau : ndarray (ntst+1,)
    h : ndarray (ntst,)
    ntst, ncol : int
    """

    def __init__(self, tau, ncol: int):
        tau = np.asarray(tau, float)
        if tau[0] != 0.0 or abs(tau[-1] - 1.0) > 1e-14 or np.any(np.diff(tau) <= 0):
            raise ValueError("mesh must increase strictly from 0 to 1")
        tau = tau.copy()
        tau[-1] = 1.0
        self.tau = tau
        self.ncol = int(ncol)
        self.ntst = len(tau) - 1
        self.h = np.diff(tau)

    @property
    def n_nodes(self) -> int:
        return self.ntst * self.ncol

    def nodes(self) -> np.ndarray:
        """τ of the M node values (the closing node τ = 1 is not included)."""
        loc = np.arange(self.ncol) / self.ncol
        return (self.tau[:-1, None] + self.h[:, None] * loc[None, :]).ravel()

    def node_weights(self) -> np.ndarray:
        """Weights ω_m (sum 1) of a simple quadrature on the nodes (for norms)."""
        w = np.repeat(self.h / self.ncol, self.ncol)
        return w

    def refined(self, factor: int = 2) -> Mesh:
        """Every interval cut into ``factor`` equal parts."""
        sub = np.arange(factor) / factor
        tau = np.concatenate([(self.tau[:-1, None] + self.h[:, None] * sub).ravel(), [1.0]])
        return Mesh(tau, self.ncol)


def uniform_mesh(ntst: int, ncol: int) -> Mesh:
    """Mesh of ``ntst`` equal intervals of [0, 1] with ``ncol`` collocation points each."""
    return Mesh(np.linspace(0.0, 1.0, ntst + 1), ncol)


class Collocation:
    """Collocation equations of periodic orbits of one system, on a given mesh.

    Parameters
    ----------
    system : ODESystem
    mesh : Mesh
    free : int
        Index of the free parameter in the parameter vector (or None for a fixed-parameter
        problem).
    """

    def __init__(self, system, mesh: Mesh, free=None):
        self.system = system
        self.mesh = mesh
        self.n = system.n_states
        self.free = free
        ncol = mesh.ncol
        self.ncol = ncol
        self.ntst = mesh.ntst
        self.M = mesh.n_nodes
        z, w = np.polynomial.legendre.leggauss(ncol)
        self.z = (z + 1.0) / 2.0
        self.w = w / 2.0
        self.snodes = np.arange(ncol + 1) / ncol
        self.C = _lagrange_coefficients(self.snodes)
        self.L = _basis(self.C, self.z, 0)  # (ncol, ncol+1)
        self.D = _basis(self.C, self.z, 1)
        self.idx = (np.arange(self.ntst)[:, None] * ncol + np.arange(ncol + 1)[None, :]) % self.M
        self.counts = {"rhs": 0, "jac": 0}

    # ------------------------------------------------------------------ evaluation
    def at_gauss(self, U: np.ndarray):
        """Values and τ-derivatives of u at the Gauss points: two arrays (ntst, ncol, n)."""
        Ul = U[self.idx]  # (ntst, ncol+1, n)
        uc = np.einsum("kl,jli->jki", self.L, Ul)
        du = np.einsum("kl,jli->jki", self.D, Ul) / self.mesh.h[:, None, None]
        return uc, du

    def residual(self, U, T, p):
        """Collocation residual (M·n,) for node values ``U`` (M, n), period ``T``, params ``p``."""
        uc, du = self.at_gauss(U)
        F = np.empty_like(uc)
        rhs = self.system.rhs
        for j in range(self.ntst):
            for k in range(self.ncol):
                F[j, k] = rhs(uc[j, k], p)
        self.counts["rhs"] += self.ntst * self.ncol
        if not np.all(np.isfinite(F)):
            raise FloatingPointError("the right-hand side is not finite on the orbit")
        return (du - T * F).reshape(-1), F

    def jacobians(self, U, p):
        """System Jacobians at the Gauss points (ntst, ncol, n, n)."""
        uc, _ = self.at_gauss(U)
        J = np.empty((self.ntst, self.ncol, self.n, self.n))
        jac = self.system.jacobian
        for j in range(self.ntst):
            for k in range(self.ncol):
                J[j, k] = jac(uc[j, k], p)
        self.counts["jac"] += self.ntst * self.ncol
        return J, uc

    def dfdp_at(self, uc, p, names):
        """``f_p`` at every collocation point: array (ntst, ncol, n, len(names))."""
        out = np.empty(uc.shape[:2] + (self.n, len(names)))
        for j in range(self.ntst):
            for k in range(self.ncol):
                out[j, k] = self.system.dfdp(uc[j, k], p, names=names)
        return out

    def coll_matrix_u(self, J, T, with_d=True, wrap=1.0):
        """Sparse ∂(residual)/∂U, shape (M n, M n), from the Jacobians ``J`` at Gauss points.

        Block (collocation point (j, k), node (j, l)) is ``D[k,l]/h_j I − T L[k,l] J_jk``
        (without the first term when ``with_d`` is False). ``wrap`` multiplies the blocks of
        the closing node (interval NTST−1, l = NCOL), e.g. −1 for antiperiodic functions.
        """
        n, ncol, ntst = self.n, self.ncol, self.ntst
        pat = np.any(J != 0.0, axis=(0, 1)) | np.eye(n, dtype=bool)
        r, c = np.nonzero(pat)
        nnz = r.size
        Jv = J[:, :, r, c]  # (ntst, ncol, nnz)
        eye = (r == c).astype(float) if with_d else np.zeros(nnz)
        h = self.mesh.h
        data = (self.D[None, :, :, None] / h[:, None, None, None]) * eye[None, None, None, :] \
            - T * self.L[None, :, :, None] * Jv[:, :, None, :]
        if wrap != 1.0:
            data[ntst - 1, :, ncol, :] *= wrap
        base = (np.arange(ntst)[:, None] * ncol + np.arange(ncol)[None, :]) * n
        rows = base[:, :, None, None] + r[None, None, None, :]
        rows = np.broadcast_to(rows, (ntst, ncol, ncol + 1, nnz))
        cols = (self.idx * n)[:, None, :, None] + c[None, None, None, :]
        cols = np.broadcast_to(cols, (ntst, ncol, ncol + 1, nnz))
        N = self.M * n
        return sp.csc_matrix((data.ravel(), (rows.ravel(), cols.ravel())), shape=(N, N))

    def phase_row(self, U_ref):
        """Coefficients (M n,) of the integral phase condition ∫⟨u, û'⟩ dτ = row · U."""
        _, du = self.at_gauss(U_ref)
        h = self.mesh.h
        # coefficient of U[idx[j, l]] = Σ_k h_j w_k L[k, l] du[j, k]
        coef = np.einsum("j,k,kl,jki->jli", h, self.w, self.L, du)
        row = np.zeros((self.M, self.n))
        np.add.at(row, self.idx, coef)
        return row.ravel()

    def integral_weights(self):
        """Weights (M,) such that Σ_m W_m U[m] = ∫_0^1 u dτ exactly (Gauss rule)."""
        coef = np.einsum("j,k,kl->jl", self.mesh.h, self.w, self.L)
        W = np.zeros(self.M)
        np.add.at(W, self.idx, coef)
        return W

    def mean(self, U):
        """Time average ``∫_0^1 u(τ) dτ`` of the mesh values ``U`` (exact for the collocation
        polynomials)."""
        return self.integral_weights() @ U

    def inner(self, U1, U2):
        """∫⟨u1, u2⟩ dτ on the nodes (simple node quadrature, for norms and arclength)."""
        w = self.mesh.node_weights()
        return float(np.sum(w[:, None] * U1 * U2))

    # ------------------------------------------------------------------ interpolation
    def evaluate(self, U, tau, deriv: int = 0):
        """u (or its τ-derivative) at arbitrary ``tau`` in [0, 1]: (len(tau), n)."""
        tau = np.mod(np.asarray(tau, float), 1.0 + 1e-15)
        mt = self.mesh.tau
        j = np.clip(np.searchsorted(mt, tau, side="right") - 1, 0, self.ntst - 1)
        s = (tau - mt[j]) / self.mesh.h[j]
        B = _basis(self.C, s, deriv)  # (len, ncol+1)
        Ul = U[self.idx[j]]  # (len, ncol+1, n)
        out = np.einsum("ql,qli->qi", B, Ul)
        if deriv:
            out /= self.mesh.h[j][:, None] ** deriv
        return out

    def closed_orbit(self, U):
        """Node values with the closing node appended: (M+1, n), and their τ."""
        return np.vstack([U, U[:1]]), np.concatenate([self.mesh.nodes(), [1.0]])

    def extrema(self, U, samples: int = 4):
        """Minimum and maximum over the orbit of every component, refined by Newton on u'.

        Each component is sampled at ``samples·NCOL`` points per interval; at the best sample,
        three Newton steps on ``u_i'(τ) = 0`` (with ``u_i''``) locate the extremum of the
        piecewise polynomial itself.
        """
        m = samples * self.ncol
        loc = np.arange(m) / m
        taus = (self.mesh.tau[:-1, None] + self.mesh.h[:, None] * loc[None, :]).ravel()
        X = self.evaluate(U, taus)
        out = []
        n = self.n
        hmax = float(self.mesh.h.max())
        for arg, sign in ((np.argmin, -1.0), (np.argmax, 1.0)):
            k = arg(X, axis=0)
            t = taus[k].copy()
            best = X[k, np.arange(n)].copy()
            for _ in range(4):
                d1 = self._comp_eval(U, t, 1)
                d2 = self._comp_eval(U, t, 2)
                ok = sign * d2 < 0
                step = np.where(ok & (d2 != 0), -d1 / np.where(d2 == 0, 1, d2), 0.0)
                step = np.clip(step, -hmax / m, hmax / m)
                t = np.mod(t + step, 1.0)
            val = self._comp_eval(U, t, 0)
            better = sign * (val - best) > 0
            out.append(np.where(better, val, best))
        return out[0], out[1]

    def _comp_eval(self, U, t, deriv):
        """Component i of u^{(deriv)} at t[i], for every i."""
        mt = self.mesh.tau
        j = np.clip(np.searchsorted(mt, t, side="right") - 1, 0, self.ntst - 1)
        s = (t - mt[j]) / self.mesh.h[j]
        B = _basis(self.C, s, deriv)  # (n, ncol+1)
        Ul = U[self.idx[j], np.arange(self.n)[:, None]]  # (n, ncol+1)
        return np.sum(B * Ul, axis=1) / self.mesh.h[j] ** deriv

    # ------------------------------------------------------------------ mesh adaptation
    def error_monitor(self, U):
        """Per-interval monitor ``|u^{(NCOL+1)}|^{1/(NCOL+1)}`` (ntst,) as AUTO estimates it."""
        ncol = self.ncol
        Ul = U[self.idx]  # (ntst, ncol+1, n)
        cN = factorial(ncol) * self.C[ncol]  # NCOL-th derivative of each basis function
        w = np.einsum("l,jli->ji", cN, Ul) / self.mesh.h[:, None] ** ncol
        h = self.mesh.h
        hn = np.roll(h, -1)
        d = (np.roll(w, -1, axis=0) - w) / ((h + hn) / 2.0)[:, None]  # at right end of interval j
        dn = np.max(np.abs(d), axis=1) ** (1.0 / (ncol + 1))
        return 0.5 * (dn + np.roll(dn, 1))

    def adapted_mesh(self, U, ntst=None) -> Mesh:
        """A new mesh (same or given NTST) equidistributing the error monitor."""
        ntst = self.ntst if ntst is None else int(ntst)
        mon = self.error_monitor(U)
        mon = mon + 1e-2 * max(float(np.mean(mon)), 1e-300)
        if not np.all(np.isfinite(mon)) or mon.max() <= 0:
            return Mesh(self.mesh.tau.copy(), self.ncol)
        cum = np.concatenate([[0.0], np.cumsum(mon * self.mesh.h)])
        cum /= cum[-1]
        tau = np.interp(np.linspace(0, 1, ntst + 1), cum, self.mesh.tau)
        tau[0], tau[-1] = 0.0, 1.0
        # guard against degenerate intervals
        hmin = 1e-6 / ntst
        if np.any(np.diff(tau) < hmin):
            tau = np.maximum.accumulate(tau)
            tau = np.linspace(0, 1, ntst + 1) * 1e-3 + tau * (1 - 1e-3)
        return Mesh(tau, self.ncol)

    def transfer(self, U, mesh: Mesh):
        """Node values of the same piecewise polynomial on another mesh."""
        other = Collocation(self.system, mesh, self.free)
        return self.evaluate(U, other.mesh.nodes())
