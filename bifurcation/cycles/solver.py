"""Newton corrector for collocated periodic orbits (shared by continuation, starts and checks).

Unknown ``Y = (U (M·n), T, p_free)``; equations: the collocation residual (M·n rows), the
integral phase condition against a reference ``Û`` (one row), and one more linear condition
``a·Y = b`` (pseudo-arclength ``w ⊙ t_k · (Y − Y_pred) = 0``, a fixed parameter
``p = p*``, or an amplitude condition for branch switching). The Jacobian is assembled sparse
and factorised by SuperLU.

Norm of ``Y`` (for steps and tangents): ``‖Y‖² = (1/n) ∫_0^1 |u|² dτ + T² + p²`` with the
integral taken on the nodes (weights ``h_j / NCOL``).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .collocation import Collocation, Mesh

__all__ = ["CycleSolution", "NewtonFailure", "newton_cycle", "weights", "tangent_from_lu",
           "TIMERS"]

#: Seconds spent per stage (process-wide, for benchmarks): "residual", "jacobians",
#: "assembly", "factorization", "floquet". Reset with ``TIMERS.clear()``.
TIMERS: dict = defaultdict(float)


class NewtonFailure(RuntimeError):
    """The corrector did not converge (``reason`` in {"newton", "singular", "nonfinite"})."""

    def __init__(self, message, reason="newton"):
        super().__init__(message)
        self.reason = reason


@dataclass
class CycleSolution:
    """One collocated periodic orbit: mesh, node values (M, n), period, full parameter vector."""

    mesh: Mesh
    U: np.ndarray
    T: float
    p: np.ndarray
    free: int | None = None
    info: dict = field(default_factory=dict)

    @property
    def pfree(self) -> float:
        return float(self.p[self.free])

    def vector(self) -> np.ndarray:
        """The unknowns as one vector ``(U.ravel(), T, p_free)``."""
        return np.concatenate([self.U.ravel(), [self.T, self.pfree]])

    def with_vector(self, Y) -> CycleSolution:
        """A copy on the same mesh with the unknowns of the vector ``Y`` (inverse of
        :meth:`vector`)."""
        n = self.U.shape[1]
        M = self.U.shape[0]
        p = self.p.copy()
        p[self.free] = Y[-1]
        return CycleSolution(self.mesh, Y[: M * n].reshape(M, n).copy(), float(Y[-2]), p,
                             self.free)


def weights(mesh: Mesh, n: int) -> np.ndarray:
    """Diagonal weights of the norm of Y (see module docstring)."""
    w = np.repeat(mesh.node_weights() / n, n)
    return np.concatenate([w, [1.0, 1.0]])


def _condensed(coll: Collocation, U, T, p, free, phase_row, last_row, F):
    from .condensed import CondensedLU

    t0 = time.perf_counter()
    J, uc = coll.jacobians(U, p)
    names = [list(coll.system.param_index)[free]]
    dp = coll.dfdp_at(uc, p, names)[..., 0]
    TIMERS["jacobians"] += time.perf_counter() - t0
    G = np.column_stack([-F.reshape(-1), -T * dp.reshape(-1)])
    B = np.vstack([np.concatenate([phase_row, [0.0, 0.0]]), last_row])
    return CondensedLU(coll, J, T, G, B)


def use_condensed(coll: Collocation, U, p, setting="auto") -> bool:
    """Condensation when asked, or ("auto") when n ≥ 20 and the Jacobian is ≥ 8 % full."""
    if setting in ("condensed", True):
        return True
    if setting in ("sparse", False) or coll.n < 20:
        return False
    J = coll.system.jacobian(U[0], p)
    return bool(np.mean(J != 0) >= 0.08)


def _matrix(coll: Collocation, U, T, p, free, phase_row, last_row, F):
    n, M = coll.n, coll.M
    t0 = time.perf_counter()
    J, uc = coll.jacobians(U, p)
    names = [list(coll.system.param_index)[free]]
    dp = coll.dfdp_at(uc, p, names)[..., 0]  # (ntst, ncol, n)
    t1 = time.perf_counter()
    TIMERS["jacobians"] += t1 - t0
    A = coll.coll_matrix_u(J, T)
    colT = -F.reshape(-1)
    colP = -T * dp.reshape(-1)
    N = M * n
    border_cols = sp.csc_matrix(np.column_stack([colT, colP]))
    top = sp.hstack([A, border_cols], format="csc")
    rows = sp.csc_matrix(np.vstack([np.concatenate([phase_row, [0.0, 0.0]]), last_row]))
    K = sp.vstack([top, rows], format="csc")
    assert K.shape == (N + 2, N + 2)
    TIMERS["assembly"] += time.perf_counter() - t1
    return K, J


def newton_cycle(coll: Collocation, sol: CycleSolution, U_ref, last_row, last_rhs, *,
                 tol=1e-9, max_iter=10, stats=None, chord=False, condensed="auto"):
    """Solve the collocation system with phase reference ``U_ref`` and ``last_row·Y = last_rhs``.

    Returns ``(solution, lu, iterations)``; ``lu`` is the SuperLU factorisation of the last
    Newton matrix (rows: collocation, phase, last), reused for the tangent. With
    ``chord=True`` the matrix is factorised once and reused while the updates shrink by a
    factor of at least 2 per iteration (refactorised otherwise): fewer factorisations, a few
    more cheap iterations; the returned ``lu`` is then the one of the first iterate.
    ``condensed``: True (condensation of parameters, :mod:`.condensed`), False (SuperLU of the
    whole sparse system) or "auto" (see :func:`use_condensed`).
    """
    free = sol.free
    if not isinstance(condensed, bool):
        condensed = use_condensed(coll, sol.U, sol.p, condensed)
    phase = coll.phase_row(U_ref)
    Y = sol.vector()
    cur = sol
    lu = None
    prev_norm = np.inf
    refactor = True
    if chord:
        max_iter = 2 * max_iter
    for it in range(1, max_iter + 1):
        try:
            t0 = time.perf_counter()
            R, F = coll.residual(cur.U, cur.T, cur.p)
            TIMERS["residual"] += time.perf_counter() - t0
        except FloatingPointError as e:
            raise NewtonFailure(str(e), "nonfinite") from e
        res = np.concatenate([R, [phase @ cur.U.ravel()], [last_row @ Y - last_rhs]])
        if refactor or not chord or lu is None:
            if stats is not None:
                stats["jacobian_evaluations"] = stats.get("jacobian_evaluations", 0) + 1
                stats["factorizations"] = stats.get("factorizations", 0) + 1
            if condensed:
                t0 = time.perf_counter()
                try:
                    lu = _condensed(coll, cur.U, cur.T, cur.p, free, phase, last_row, F)
                except (RuntimeError, np.linalg.LinAlgError, ValueError) as e:
                    raise NewtonFailure(f"singular Newton matrix ({e})", "singular") from e
            else:
                K, _ = _matrix(coll, cur.U, cur.T, cur.p, free, phase, last_row, F)
                t0 = time.perf_counter()
                try:
                    lu = spla.splu(K, permc_spec="COLAMD", options={"SymmetricMode": False})
                except RuntimeError as e:
                    raise NewtonFailure(f"singular Newton matrix ({e})", "singular") from e
            refactor = False
        else:
            t0 = time.perf_counter()
        dY = -lu.solve(res)
        TIMERS["factorization"] += time.perf_counter() - t0
        if not np.all(np.isfinite(dY)):
            raise NewtonFailure("non-finite Newton update", "nonfinite")
        Y = Y + dY
        cur = sol.with_vector(Y)
        if cur.T <= 0:
            raise NewtonFailure("the period became negative", "newton")
        nrm = float(np.max(np.abs(dY)))
        if stats is not None:
            stats["newton_iterations"] = stats.get("newton_iterations", 0) + 1
        if nrm <= tol * (1.0 + float(np.max(np.abs(Y)))):
            cur.info["newton_iterations"] = it
            cur.info["residual"] = float(np.max(np.abs(res)))
            return cur, lu, it
        if chord and nrm > 0.5 * prev_norm:
            refactor = True
        if it >= 3 and nrm > 2.0 * prev_norm and not chord:
            break
        if chord and it >= 4 and nrm > 2.0 * prev_norm and refactor:
            break
        prev_norm = nrm
    raise NewtonFailure(f"Newton did not converge in {it} iterations (last update {nrm:.2e})")


def tangent_from_lu(lu, size, w, t_old=None):
    """Tangent of the solution curve: solve ``K t = e_last`` and normalise in the w-norm."""
    e = np.zeros(size)
    e[-1] = 1.0
    t = lu.solve(e)
    t /= np.sqrt(np.sum(w * t * t))
    if t_old is not None and np.sum(w * t * t_old) < 0:
        t = -t
    return t
