"""Single shooting (an independent check of periods) and the mesh check of cycle branches.

Shooting solves, at fixed parameters, for a point ``x`` of the orbit and the period ``T``:

.. math::

    φ_T(x) − x = 0, \\qquad ⟨x − x_r, f(x_r)⟩ = 0,

with ``φ_T`` the flow computed by ``scipy.integrate.solve_ivp`` at tight tolerances and
``x_r`` a reference point (Poincaré section through it). Newton's matrix is
``[[M − I, f(φ_T(x))], [f(x_r)ᵀ, 0]]``; ``M`` is the monodromy matrix, from the variational
equations for small systems (n ≤ 20) or, for larger ones, taken from the collocation (then
Newton converges linearly; the converged orbit depends only on the integrator, which is what
makes this an independent check).

:func:`mesh_check` re-solves orbit ``i`` of a branch at NTST and 2·NTST, compares periods and
multipliers (|μ| > 1e-3), and compares the period with shooting.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import solve_ivp

from .collocation import Collocation
from .floquet import floquet
from .solver import CycleSolution, newton_cycle

__all__ = ["shoot", "ShootingResult", "mesh_check", "MeshCheck"]


@dataclass
class ShootingResult:
    period: float
    x0: np.ndarray
    iterations: int
    residual: float
    monodromy: np.ndarray | None = None


def _flow(system, p, x, T, method, rtol, atol):
    kw = {}
    if method in ("Radau", "BDF", "LSODA"):
        kw["jac"] = lambda t, y: system.jacobian(y, p)
    sol = solve_ivp(lambda t, y: system.rhs(y, p), (0.0, T), x, method=method, rtol=rtol,
                    atol=atol, **kw)
    if not sol.success:
        raise RuntimeError(f"integration failed: {sol.message}")
    return sol.y[:, -1]


def _variational(system, p, x, T, rtol, atol):
    n = system.n_states

    def f(t, y):
        xx = y[:n]
        Phi = y[n:].reshape(n, n)
        return np.concatenate([system.rhs(xx, p), (system.jacobian(xx, p) @ Phi).ravel()])

    y0 = np.concatenate([x, np.eye(n).ravel()])
    sol = solve_ivp(f, (0.0, T), y0, method="DOP853", rtol=rtol, atol=atol)
    return sol.y[:n, -1], sol.y[n:, -1].reshape(n, n)


def shoot(system, p, x0, T0, *, monodromy=None, method=None, rtol=1e-12, atol=1e-12,
          tol=1e-11, max_iter=30) -> ShootingResult:
    """Periodic orbit through (near) ``x0`` by single shooting; see the module docstring.

    Parameters
    ----------
    system : ODESystem
    p : ndarray
        Parameter vector.
    x0 : ndarray (n,)
        Point near the orbit (also the section reference ``x_r``).
    T0 : float
        Period guess.
    monodromy : ndarray (n, n), optional
        Approximate monodromy matrix (used when n > 20).
    method : str, optional
        Integrator (default ``"DOP853"`` for n ≤ 20, else ``"Radau"``).
    """
    n = system.n_states
    p = np.asarray(p, float)
    x = np.array(x0, float)
    xr = x.copy()
    fr = system.rhs(xr, p)
    T = float(T0)
    small = n <= 20
    if method is None:
        method = "DOP853" if small else "Radau"
    M = monodromy
    res = np.inf
    for it in range(1, max_iter + 1):
        if small:
            xT, M = _variational(system, p, x, T, rtol, atol)
        else:
            xT = _flow(system, p, x, T, method, rtol, atol)
        G = np.concatenate([xT - x, [(x - xr) @ fr]])
        res = float(np.max(np.abs(G)))
        K = np.zeros((n + 1, n + 1))
        K[:n, :n] = M - np.eye(n)
        K[:n, n] = system.rhs(xT, p)
        K[n, :n] = fr
        d = np.linalg.solve(K, -G)
        x += d[:n]
        T += d[n]
        if np.max(np.abs(d)) <= tol * (1 + np.max(np.abs(x))):
            return ShootingResult(T, x, it, res, M)
    raise RuntimeError(f"shooting did not converge in {max_iter} iterations (residual {res:.2e})")


@dataclass
class MeshCheck:
    """Outcome of :func:`mesh_check` (relative period differences, multiplier differences)."""

    period_ntst: float
    period_2ntst: float
    period_shooting: float
    period_mesh_error: float
    period_shooting_error: float
    multiplier_error: float
    trivial_error: float
    ntst: int
    passed: bool
    message: str = ""
    multipliers_ntst: np.ndarray = field(default=None, repr=False)
    multipliers_2ntst: np.ndarray = field(default=None, repr=False)


def _solve_fixed(system, sol, mesh, U):
    coll = Collocation(system, mesh, sol.free)
    s = CycleSolution(mesh, U, sol.T, sol.p.copy(), sol.free)
    a = np.zeros(U.size + 2)
    a[-1] = 1.0
    s, _, _ = newton_cycle(coll, s, U, a, sol.pfree, tol=1e-11, max_iter=20)
    J, _ = coll.jacobians(s.U, s.p)
    return coll, s, floquet(coll, J, s.T)


def mesh_check(branch, i, *, period_tol=1e-4, multiplier_tol=1e-4, shooting_tol=1e-5,
               multiplier_floor=1e-3, shooting=True, shooting_method=None) -> MeshCheck:
    """Check orbit ``i`` of a cycle branch for discretisation error.

    The orbit is re-solved (same parameter) on its mesh (NTST intervals) and on the mesh with
    every interval halved (2·NTST). Passed when

    - ``|T_NTST − T_2NTST| / T_2NTST ≤ period_tol``;
    - every multiplier with ``|μ| > multiplier_floor`` at 2·NTST has one at NTST within
      ``multiplier_tol · max(1, |μ|)``;
    - the period from :func:`shoot` (started from the 2·NTST orbit) agrees with
      ``T_2NTST`` to ``shooting_tol`` (relative).

    Also accepts a :class:`SpecialPoint` on a cycle branch as ``branch`` (``i`` ignored).
    """
    if hasattr(branch, "data") and "solution" in getattr(branch, "data", {}) and not hasattr(
            branch, "solutions"):
        sol = branch.data["solution"]
        system = branch.branch.system if branch.branch is not None else branch.system
    else:
        sol = branch.solutions[i]
        system = branch.system
    coll0 = Collocation(system, sol.mesh, sol.free)
    c1, s1, f1 = _solve_fixed(system, sol, sol.mesh, sol.U)
    mesh2 = sol.mesh.refined(2)
    c2, s2, f2 = _solve_fixed(system, sol, mesh2, coll0.transfer(s1.U, mesh2))
    T1, T2 = s1.T, s2.T
    perr = abs(T1 - T2) / T2
    m1, m2 = f1.multipliers, f2.multipliers
    merr = 0.0
    for mu in m2[np.abs(m2) > multiplier_floor]:
        merr = max(merr, float(np.min(np.abs(m1 - mu)) / max(1.0, abs(mu))))
    Ts = np.nan
    serr = np.nan
    if shooting:
        A = None
        if system.n_states > 20:
            A = np.eye(system.n_states)
            n = system.n_states
            for X in f2.transfers:
                A = X[-n:] @ A
        try:
            r = shoot(system, s2.p, s2.U[0], T2, monodromy=A, method=shooting_method)
            Ts = r.period
            serr = abs(Ts - T2) / T2
        except RuntimeError:
            serr = np.inf
    ok = perr <= period_tol and merr <= multiplier_tol and (not shooting or serr <= shooting_tol)
    msg = (f"period NTST={sol.mesh.ntst}: {T1:.10g}, 2NTST: {T2:.10g} (rel. diff {perr:.2e}); "
           f"multipliers max diff {merr:.2e}; shooting {Ts:.10g} (rel. diff {serr:.2e})")
    return MeshCheck(T1, T2, Ts, perr, serr, merr, f2.trivial_error, sol.mesh.ntst, bool(ok),
                     msg, m1, m2)
