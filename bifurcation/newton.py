"""Newton correctors and linear solves for continuation.

A curve problem has ``N`` equations ``F(u) = 0`` in ``N + 1`` unknowns ``u``. The corrector
adds the pseudo-arclength condition and solves the square system

.. math::

    F(u) = 0, \\qquad t_k \\cdot (u - u_k) - s = 0

by Newton's method with the bordered Jacobian ``[[F_u], [t_k^T]]``. Linear systems are solved
by dense LU (LAPACK ``getrf``) or, for large sparse problems, by ``scipy.sparse.linalg.splu``.

Failures are returned, never raised: a :class:`NewtonResult` says whether the iteration
converged and, if not, why (``"newton"``: no convergence within the iteration limit,
``"singular"``: singular bordered matrix, ``"nonfinite"``: a non-finite residual).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

__all__ = ["NewtonResult", "LinearSolver", "newton_solve", "correct", "tangent", "NonFinite",
           "OutOfBounds"]


class NonFinite(ArithmeticError):
    """The right-hand side (or a derived quantity) is not finite."""


class OutOfBounds(ArithmeticError):
    """A Newton iterate left the parameter bounds (the rhs is never evaluated there)."""


@dataclass
class NewtonResult:
    """Outcome of a Newton solve.

    Attributes
    ----------
    u : ndarray
        Last iterate.
    converged : bool
    iterations : int
    residual : float
        ``|F(u)|_inf`` at the last iterate.
    reason : str
        ``"converged"``, ``"newton"``, ``"singular"`` or ``"nonfinite"``.
    """

    u: np.ndarray
    converged: bool
    iterations: int
    residual: float
    reason: str


class LinearSolver:
    """LU factorisation of a square matrix (dense or scipy.sparse); raises on singularity."""

    def __init__(self, A, allow_singular=False):
        self._lstsq = None
        if allow_singular:
            try:
                self.__init__(A)
                return
            except np.linalg.LinAlgError:
                self._lstsq = A.toarray() if sp.issparse(A) else np.asarray(A, float)
                self.sparse = False
                return
        self.sparse = sp.issparse(A)
        if self.sparse:
            try:
                self._lu = spla.splu(sp.csc_matrix(A))
            except RuntimeError as exc:  # "Factor is exactly singular"
                raise np.linalg.LinAlgError(str(exc)) from exc
        else:
            A = np.asarray(A, float)
            if not np.all(np.isfinite(A)):
                raise NonFinite("non-finite Jacobian")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                lu, piv = sla.lu_factor(A, check_finite=False)
            d = np.abs(np.diag(lu))
            if d.min() <= 1e-14 * max(d.max(), 1e-300):
                raise np.linalg.LinAlgError("singular matrix")
            self._lu = (lu, piv)

    def solve(self, b, trans=False):
        """Solve ``A x = b`` (``A^T x = b`` if ``trans``) with the stored factorisation; at an
        exactly singular ``A`` the minimum-norm least-squares solution."""
        if self._lstsq is not None:  # minimum-norm solution at an exactly singular matrix
            A = self._lstsq.T if trans else self._lstsq
            return np.linalg.lstsq(A, b, rcond=None)[0]
        if self.sparse:
            return self._lu.solve(np.asarray(b, float), trans="T" if trans else "N")
        return sla.lu_solve(self._lu, b, trans=1 if trans else 0, check_finite=False)


def _bordered(J, t):
    """The square matrix ``[[J], [t^T]]`` (dense or sparse like ``J``)."""
    if sp.issparse(J):
        return sp.vstack([J, sp.csr_matrix(t[None, :])], format="csc")
    return np.vstack([J, t[None, :]])


def newton_solve(residual, jacobian, u0, tol=1e-10, max_iter=10, allow_singular=False,
                 damped=False):
    """Newton's method for a square system ``residual(u) = 0``.

    Parameters
    ----------
    residual, jacobian : callable
        ``residual(u) -> (N,)`` and ``jacobian(u) -> (N, N)`` (dense or sparse).
    u0 : ndarray
        Initial guess.
    tol : float
        Converged when ``|residual|_inf <= tol`` and ``|du|_inf <= tol * (1 + |u|_inf)``.
    max_iter : int
    allow_singular : bool
        Use a least-squares step at an exactly singular Jacobian instead of failing.
    damped : bool
        Backtracking line search: halve the Newton step (up to 30 times) until the residual is
        finite and its norm decreases (used to correct a rough start guess).

    Returns
    -------
    NewtonResult
    """
    u = np.array(u0, float)
    r = None
    for it in range(1, max_iter + 1):
        try:
            r = residual(u)
            if not np.all(np.isfinite(r)):
                return NewtonResult(u, False, it, np.inf, "nonfinite")
            if it == 1 and np.max(np.abs(r)) <= 1e-3 * tol:
                # already a solution (e.g. a located special point where the Jacobian is
                # singular): nothing to do
                return NewtonResult(u, True, 0, float(np.max(np.abs(r))), "converged")
            du = LinearSolver(jacobian(u), allow_singular).solve(-r)
        except NonFinite:
            return NewtonResult(u, False, it, np.inf, "nonfinite")
        except OutOfBounds:
            return NewtonResult(u, False, it, np.inf, "outside")
        except (np.linalg.LinAlgError, ValueError):
            return NewtonResult(u, False, it, float(np.max(np.abs(r))) if r is not None
                                else np.inf, "singular")
        if not np.all(np.isfinite(du)):
            return NewtonResult(u, False, it, np.inf, "singular")
        if damped:
            r0 = np.linalg.norm(r)
            lam = 1.0
            for _ in range(30):
                try:
                    rn = residual(u + lam * du)
                    if np.all(np.isfinite(rn)) and np.linalg.norm(rn) < r0:
                        break
                except (NonFinite, OutOfBounds):
                    pass
                lam *= 0.5
            du = lam * du
        u = u + du
        if np.max(np.abs(du)) <= tol * (1.0 + np.max(np.abs(u))):
            try:
                r = residual(u)
            except NonFinite:
                return NewtonResult(u, False, it, np.inf, "nonfinite")
            except OutOfBounds:
                return NewtonResult(u, False, it, np.inf, "outside")
            res = float(np.max(np.abs(r))) if np.all(np.isfinite(r)) else np.inf
            if res <= max(tol, 1e3 * np.finfo(float).eps * (1 + np.max(np.abs(u)))):
                return NewtonResult(u, True, it, res, "converged")
    try:
        r = residual(u)
        res = float(np.max(np.abs(r)))
    except NonFinite:
        return NewtonResult(u, False, max_iter, np.inf, "nonfinite")
    except OutOfBounds:
        return NewtonResult(u, False, max_iter, np.inf, "outside")
    if not np.isfinite(res):
        return NewtonResult(u, False, max_iter, np.inf, "nonfinite")
    # accept if the residual is at tolerance even though the update test was not met
    if res <= tol * 1e-2:
        return NewtonResult(u, True, max_iter, res, "converged")
    return NewtonResult(u, False, max_iter, res, "newton")


def correct(problem, u_guess, t, u_base, s, tol, max_iter, allow_singular=False):
    """Solve ``F(u) = 0, t . (u - u_base) = s`` by Newton from ``u_guess``."""

    def res(u):
        return np.append(problem.residual(u), t @ (u - u_base) - s)

    def jac(u):
        return _bordered(problem.jacobian(u), t)

    return newton_solve(res, jac, u_guess, tol=tol, max_iter=max_iter,
                        allow_singular=allow_singular)


def tangent(Fu, t_prev, allow_singular=False):
    """Unit tangent ``t`` with ``Fu t = 0`` and ``t_prev . t > 0``.

    Solves ``[[Fu], [t_prev^T]] t = e_{N+1}`` and normalises; ``t_prev`` orients the result.
    Raises ``LinAlgError`` at a singular bordered matrix.
    """
    n1 = Fu.shape[1]
    e = np.zeros(n1)
    e[-1] = 1.0
    t = LinearSolver(_bordered(Fu, t_prev), allow_singular).solve(e)
    nt = np.linalg.norm(t)
    if not np.isfinite(nt) or nt == 0:
        raise np.linalg.LinAlgError("tangent is not finite")
    t = t / nt
    if t @ t_prev < 0:
        t = -t
    return t


def null_tangent(Fu):
    """A unit null vector of the ``N x (N+1)`` matrix ``Fu`` (by SVD; dense)."""
    A = Fu.toarray() if sp.issparse(Fu) else np.asarray(Fu)
    _, _, vt = np.linalg.svd(A)
    return vt[-1] / np.linalg.norm(vt[-1])
