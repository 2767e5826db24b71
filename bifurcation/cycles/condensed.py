"""Condensation of parameters: the Newton system of collocation solved interval by interval.

The interior and end nodes of mesh interval ``j`` enter only that interval's ``NCOL·n``
collocation rows and the two border rows (phase, arclength). With the square block
``S_j = [E_I E_1]`` (interior and end columns) factorised by dense LAPACK LU,

.. math::

    \\begin{pmatrix} V_I \\\\ V_e \\end{pmatrix}
      = S_j^{-1} r_j − S_j^{-1} [E_0 \\; G_j] \\begin{pmatrix} V_s \\\\ δ \\end{pmatrix},

(``V_s`` the interval's first node, ``δ = (δT, δp)``), so that only the ``n·NTST`` start
nodes and ``δ`` remain: a cyclic block-bidiagonal system (identity and ``n × n`` blocks)
bordered by two rows and two columns, factorised by SuperLU. This is AUTO's approach; it pays
off when the system Jacobian is not very sparse (a 10 %-full Jacobian makes the fill-in of a
sparse LU of the whole system about 100 million entries at n = 148, NTST = 40, against 0.4 s of
dense per-interval work).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

__all__ = ["CondensedLU"]

from scipy.linalg.lapack import dgetrf as _getrf  # noqa: E402  (low call overhead)
from scipy.linalg.lapack import dgetrs as _getrs  # noqa: E402


def _lu_factor(A):
    lu, piv, info = _getrf(A)
    if info > 0:
        raise np.linalg.LinAlgError("singular interval block in condensation")
    return lu, piv


def _lu_solve(f, b):
    x, info = _getrs(f[0], f[1], b)
    return x


class CondensedLU:
    """Factorisation of the bordered collocation Newton matrix with a ``solve(rhs)`` method.

    Parameters
    ----------
    coll : Collocation
    J : ndarray (ntst, ncol, n, n)
        System Jacobians at the Gauss points.
    T : float
    G : ndarray (M·n, 2)
        Border columns (∂/∂T, ∂/∂p) of the collocation rows.
    border_rows : ndarray (2, M·n + 2)
        Phase row and last (arclength / parameter) row.
    """

    def __init__(self, coll, J, T, G, border_rows):
        n, ncol, ntst, M = coll.n, coll.ncol, coll.ntst, coll.M
        self.n, self.ncol, self.ntst, self.M = n, ncol, ntst, M
        I = np.eye(n)
        self.f = []
        self.X = []  # S^{-1} [E0, G]  (ncol n × (n+2))
        Gr = G.reshape(ntst, ncol * n, 2)
        for j in range(ntst):
            h = coll.mesh.h[j]
            E = (np.kron(coll.D / h, I).reshape(ncol, n, ncol + 1, n)
                 - T * coll.L[:, None, :, None] * J[j][:, :, None, :]).reshape(
                ncol * n, (ncol + 1) * n)
            f = _lu_factor(E[:, n:])
            self.f.append(f)
            self.X.append(_lu_solve(f, np.column_stack([E[:, :n], Gr[j]])))
        B = np.asarray(border_rows, float)
        self.B = B
        # reduced matrix: unknowns start nodes s_j (j = 0..ntst-1) then δ (2)
        Nr = n * ntst + 2
        rows, cols, vals = [], [], []
        ni = (ncol - 1) * n
        Bred = np.zeros((2, Nr))
        Bred[:, -2:] = B[:, -2:]
        for j in range(ntst):
            X = self.X[j]
            Xe0, XeG = X[ni:, :n], X[ni:, n:]
            r0 = j * n
            nxt = ((j + 1) % ntst) * n
            # V_{s_{j+1}} + Xe0 V_{s_j} + XeG δ = y_e
            rr = np.arange(n)
            rows.append(r0 + rr)
            cols.append(nxt + rr)
            vals.append(np.ones(n))
            ii, jj = np.nonzero(Xe0)
            rows.append(r0 + ii)
            cols.append(r0 + jj)
            vals.append(Xe0[ii, jj])
            rows.append(np.repeat(r0 + rr, 2))
            cols.append(np.tile([Nr - 2, Nr - 1], n))
            vals.append(XeG.ravel())
            # border rows: start node coefficient, interior substituted
            s_node = j * ncol
            phi_s = B[:, s_node * n:(s_node + 1) * n]
            phi_I = B[:, (s_node + 1) * n:(s_node + ncol) * n]
            Bred[:, r0:r0 + n] += phi_s - phi_I @ X[:ni, :n]
            Bred[:, -2:] -= phi_I @ X[:ni, n:]
        rows.append(np.repeat(np.array([Nr - 2, Nr - 1]), Nr))
        cols.append(np.tile(np.arange(Nr), 2))
        vals.append(Bred.ravel())
        K = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(Nr, Nr))
        self.lu = spla.splu(K)
        self.size = M * n + 2

    def solve(self, rhs):
        """Solve the bordered collocation system for ``rhs`` (one vector, or one per column)
        with the condensed LU factors."""
        rhs = np.asarray(rhs, float)
        if rhs.ndim == 2:
            return np.column_stack([self.solve(rhs[:, k]) for k in range(rhs.shape[1])])
        n, ncol, ntst, M = self.n, self.ncol, self.ntst, self.M
        ni = (ncol - 1) * n
        r = rhs[: M * n].reshape(ntst, ncol * n)
        rb = rhs[M * n:].copy()
        Y = []
        red = np.zeros(n * ntst + 2)
        for j in range(ntst):
            y = _lu_solve(self.f[j], r[j])
            Y.append(y)
            red[j * n:(j + 1) * n] = y[ni:]
            s_node = j * ncol
            phi_I = self.B[:, (s_node + 1) * n:(s_node + ncol) * n]
            rb -= phi_I @ y[:ni]
        red[-2:] = rb
        z = self.lu.solve(red)
        d = z[-2:]
        out = np.empty(self.size)
        U = out[: M * n].reshape(M, n)
        for j in range(ntst):
            vs = z[j * n:(j + 1) * n]
            U[j * ncol] = vs
            inter = Y[j][:ni] - self.X[j][:ni] @ np.concatenate([vs, d])
            U[j * ncol + 1:(j + 1) * ncol] = inter.reshape(ncol - 1, n)
        out[-2:] = d
        return out
