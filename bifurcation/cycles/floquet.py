"""Floquet multipliers of a collocated periodic orbit, by a stable periodic elimination.

The linearisation ``v' = T J(u(τ)) v`` discretised by the same collocation as the orbit gives,
on each mesh interval ``j``, a square linear system for the interval's interior and end nodes
in terms of its first node,

.. math::

    [E^{(j)}_{I} \\; E^{(j)}_{1}] \\begin{pmatrix} V_{j,1..NCOL-1} \\\\ V_{j+1,0}\\end{pmatrix}
        = -E^{(j)}_0 V_{j,0},

so that ``V_{j+1,0} = A_j V_{j,0}`` with a transfer matrix ``A_j`` of one short interval (well
conditioned even when the orbit is stiff). The multipliers μ are the eigenvalues of the product
``A_{N-1} ⋯ A_0``, which is never formed: the relations ``A_j V_j − V_{j+1} = 0`` are
eliminated one after another with Householder QR (the relation ``P V_0 + Q V_k = 0`` is
stacked on ``A_k V_k − V_{k+1} = 0`` and ``V_k`` removed by an orthogonal transformation),
leaving ``P V_0 + Q V_N = 0`` and, with ``V_N = μ V_0``, the generalised eigenproblem
``P v = −μ Q v`` (scipy's QZ). Orthogonal eliminations and QZ keep multipliers of very
different sizes (1e-30 next to 1) apart, unlike the eigenvalues of an explicitly formed
monodromy matrix (the idea of AUTO's FLOWKM and of periodic Schur methods).

Quality measure: the orbit's own tangent gives a multiplier exactly 1 in exact arithmetic;
``trivial_error = min_i |μ_i − 1|`` is reported.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp
import scipy.sparse.linalg as spla

__all__ = ["FloquetResult", "floquet", "interval_transfers"]


class FloquetResult:
    """Multipliers of one orbit.

    Attributes
    ----------
    multipliers : ndarray (n,) complex
        Sorted by decreasing modulus; infinite values (should not occur) are ``inf``.
    trivial_index : int
        Index of the multiplier closest to 1.
    trivial_error : float
        ``|μ_trivial − 1|``.
    eigenvectors : ndarray (n, n) complex
        Column ``i`` is the start value ``v(0)`` of the Floquet solution of ``multipliers[i]``.
    transfers : list of (ncol·n, n) arrays
        For every interval, the interior and end node values in terms of its first node.
    """

    def __init__(self, multipliers, vectors, transfers):
        order = np.argsort(-np.abs(multipliers), kind="stable")
        self.multipliers = multipliers[order]
        self.eigenvectors = vectors[:, order]
        self.transfers = transfers
        d = np.abs(self.multipliers - 1.0)
        self.trivial_index = int(np.argmin(d))
        self.trivial_error = float(d[self.trivial_index])

    def nontrivial(self):
        """Multipliers without the trivial one."""
        return np.delete(self.multipliers, self.trivial_index)

    def propagate(self, v0, ncol):
        """Node values (M, n) of the discrete Floquet solution starting at ``v0``."""
        n = len(v0)
        out = []
        v = np.asarray(v0)
        for X in self.transfers:
            out.append(v)
            Y = X @ v
            out.extend(Y[: (ncol - 1) * n].reshape(ncol - 1, n))
            v = Y[(ncol - 1) * n:]
        return np.array(out), v


def interval_transfers(coll, J, T, sparse=None):
    """Transfer matrices of each mesh interval (see module docstring).

    Parameters
    ----------
    coll : Collocation
    J : ndarray (ntst, ncol, n, n)
        System Jacobians at the Gauss points.
    T : float
        Period.
    sparse : bool or None
        Use sparse LU per interval (default: when the Jacobians are less than 20 % full and
        n > 30).
    """
    n, ncol = coll.n, coll.ncol
    I = np.eye(n)
    if sparse is None:
        sparse = n > 30 and np.mean(np.any(J != 0, axis=(0, 1))) < 0.2
    if sparse:
        return _transfers_sparse(coll, J, T)
    out = []
    for j in range(coll.ntst):
        h = coll.mesh.h[j]
        # E has shape (ncol n, (ncol+1) n): block (k, l) = D[k,l]/h I - T L[k,l] J[j,k]
        E = (np.kron(coll.D / h, I).reshape(ncol, n, ncol + 1, n)
             - T * coll.L[:, None, :, None] * J[j][:, :, None, :])
        E = E.reshape(ncol * n, (ncol + 1) * n)
        if sparse:
            lu = spla.splu(sp.csc_matrix(E[:, n:]))
            X = lu.solve(-E[:, :n])
        else:
            X = np.linalg.solve(E[:, n:], -E[:, :n])
        out.append(X)
    return out


def _transfers_sparse(coll, J, T):
    """All interval transfers from one sparse solve of the block-diagonal interval system.

    The intervals decouple once their first node is given, so the square blocks
    ``[E_I E_1]`` of all intervals form one block-diagonal sparse matrix, and the right-hand
    sides ``−E_0`` (n columns per interval) can share the same n columns.
    """
    n, ncol, ntst = coll.n, coll.ncol, coll.ntst
    pat = np.any(J != 0.0, axis=(0, 1)) | np.eye(n, dtype=bool)
    r, c = np.nonzero(pat)
    nnz = r.size
    Jv = J[:, :, r, c]  # (ntst, ncol, nnz)
    eye = (r == c).astype(float)
    h = coll.mesh.h
    data = (coll.D[None, :, :, None] / h[:, None, None, None]) * eye[None, None, None, :] \
        - T * coll.L[None, :, :, None] * Jv[:, :, None, :]  # (ntst, ncol, ncol+1, nnz)
    rowbase = (np.arange(ntst)[:, None] * ncol + np.arange(ncol)[None, :]) * n
    rows = np.broadcast_to(rowbase[:, :, None, None] + r[None, None, None, :],
                           (ntst, ncol, ncol, nnz))
    colbase = (np.arange(ntst)[:, None] * ncol + np.arange(ncol)[None, :]) * n  # l = 1..ncol
    cols = np.broadcast_to(colbase[:, None, :, None] + c[None, None, None, :],
                           (ntst, ncol, ncol, nnz))
    N = ntst * ncol * n
    K = sp.csc_matrix((data[:, :, 1:, :].ravel(), (rows.ravel(), cols.ravel())), shape=(N, N))
    rhs = np.zeros((ntst, ncol, n, n))
    rhs[:, :, r, c] = -data[:, :, 0, :]
    lu = spla.splu(K)
    X = lu.solve(rhs.reshape(N, n))
    X = X.reshape(ntst, ncol * n, n)
    return [X[j] for j in range(ntst)]


def _eliminate(A_list):
    """Reduce A_j V_j − V_{j+1} = 0 (j = 0..N−1) to P V_0 + Q V_N = 0 by Householder QR."""
    n = A_list[0].shape[1]
    P = A_list[0].copy()
    Q = -np.eye(n)
    for A in A_list[1:]:
        # unknowns (V_0, V_k, V_{k+1}); rows [P, Q, 0; 0, A, -I]
        stack = np.vstack([Q, A])
        Qh, _ = np.linalg.qr(stack, mode="complete")
        rest0 = np.vstack([P, np.zeros((n, n))])
        rest2 = np.vstack([np.zeros((n, n)), -np.eye(n)])
        Qb = Qh[:, n:].T
        P = Qb @ rest0
        Q = Qb @ rest2
        # rescale rows to keep the numbers of order one
        s = np.maximum(np.max(np.abs(P), axis=1), np.max(np.abs(Q), axis=1))
        s[s == 0] = 1.0
        P /= s[:, None]
        Q /= s[:, None]
    return P, Q


def floquet(coll, J, T, sparse=None) -> FloquetResult:
    """Floquet multipliers of the collocated orbit with Jacobians ``J`` at the Gauss points."""
    X = interval_transfers(coll, J, T, sparse=sparse)
    n = coll.n
    A = [x[-n:] for x in X]
    P, Q = _eliminate(A)
    alpha, beta, vr = _gen_eig(P, -Q)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = np.where(beta != 0, alpha / np.where(beta == 0, 1, beta), np.inf)
    return FloquetResult(mu.astype(complex), vr, X)


def _gen_eig(P, Q):
    w, vr = la.eig(P, Q, right=True, homogeneous_eigvals=True, check_finite=False)
    return w[0], w[1], vr
