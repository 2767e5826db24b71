"""Starting a cycle branch: from a Hopf point, from a period-doubling point, from a simulation.

**From a Hopf point** (``kind == "HB"``, equilibrium ``x_0`` at ``μ_H``, frequency ``ω``,
first Lyapunov coefficient ``l_1``, critical eigenvector ``q``, ``J q = iω q``). Near the
Hopf point the cycle is, to leading order (Kuznetsov, *Elements of applied bifurcation theory*,
§3.5, with ``⟨q, q⟩ = 1``):

.. math::

    x(t) ≈ x_0 + 2\\,\\mathrm{Re}(ε q e^{iωt}), \\qquad
    μ − μ_H ≈ −\\frac{ω\\, l_1}{d}\\, ε^2, \\qquad T ≈ 2π/ω,

with ``d = dRe λ/dμ`` (computed here by finite differences of the equilibrium's eigenvalue)
and ``l_1 = Re c_1 / ω``. The first orbit is solved with the amplitude fixed,
``∫⟨u − x_0, v⟩dτ = ε ∫|v|²dτ`` (``v(τ) = 2 Re(q e^{2πiτ})``), parameter and period free, so
that a wrong normalisation of ``l_1`` only spoils the initial guess, never the result; ``ε`` is
chosen so that the first step has length ``ds``. If ``q`` is missing it is computed from the
Jacobian; if ``l_1`` is missing the guess is ``μ = μ_H``.

**From a period-doubling point**: the orbit traversed twice, ``T → 2T`` (mesh doubled), plus
``ε w`` with ``w`` the Floquet solution of multiplier −1 on the first turn and ``−w`` on the
second (a 2T-periodic function); again solved with the amplitude along ``w`` fixed.

**From a simulation** (:class:`OrbitGuess`): one period is cut from the trajectory (return to
the last state through the hyperplane orthogonal to the flow), interpolated onto the mesh, the
mesh is adapted to it, and Newton solves at the given parameter value.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as la

from simulate.validation import ParameterError

from .collocation import Collocation, Mesh, uniform_mesh
from .continuation import point_record
from .solver import CycleSolution, newton_cycle, weights

__all__ = ["OrbitGuess", "start_from_guess", "start_from_hopf", "start_from_pd",
           "pd_criticality", "hopf_vector"]


class OrbitGuess:
    """A periodic orbit found by simulation, used to start :func:`continue_cycles`.

    Parameters
    ----------
    system : ODESystem
    t : array_like (K,)
        Increasing times.
    x : array_like (K, n)
        States; should cover at least one full period after transients died out (a
        trajectory covering exactly one period, ``x[0] ≈ x[-1]``, is also accepted).
    params : dict, optional
        Parameter values of the simulation (default ``system.params``).
    period : float, optional
        The period, if known; otherwise detected from the last return of the trajectory to its
        final state.

    Examples
    --------
    >>> guess = OrbitGuess.from_simulation(system, x0, t_end=200.0)   # doctest: +SKIP
    >>> br = continue_cycles(guess, param="mu", bounds=(0.1, 2.0))      # doctest: +SKIP
    """

    def __init__(self, system, t, x, params=None, period=None):
        t = np.asarray(t, float)
        x = np.asarray(x, float)
        if x.ndim != 2 or x.shape[1] != system.n_states:
            raise ParameterError(
                f"x has shape {x.shape}; expected (len(t), n_states = {system.n_states})"
            )
        if t.ndim != 1 or len(t) != len(x) or len(t) < 8:
            raise ParameterError(f"t has {t.size} values for {len(x)} states; need >= 8, equal")
        if np.any(np.diff(t) <= 0):
            raise ParameterError("t must be strictly increasing")
        self.system = system
        self.t = t
        self.x = x
        self.params = dict(system.params)
        if params:
            self.params.update({k: float(v) for k, v in params.items()})
        self.period = period

    @classmethod
    def from_simulation(cls, system, x0, t_end, params=None, t_transient=None, n_samples=4000,
                        method="LSODA", rtol=1e-9, atol=1e-11):
        """Integrate from ``x0`` for ``t_end`` and keep the last part of the trajectory.

        ``t_transient`` (default ``0.7 t_end``) is discarded.
        """
        from scipy.integrate import solve_ivp

        p = system.param_vector(**(params or {}))
        t_tr = 0.7 * t_end if t_transient is None else float(t_transient)
        ts = np.linspace(t_tr, t_end, n_samples)
        kw = {}
        if method in ("LSODA", "Radau", "BDF"):
            kw["jac"] = lambda t, y: system.jacobian(y, p)
        sol = solve_ivp(lambda t, y: system.rhs(y, p), (0.0, t_end), np.asarray(x0, float),
                        method=method, t_eval=ts, rtol=rtol, atol=atol, **kw)
        if not sol.success:
            raise RuntimeError(f"simulation failed: {sol.message}")
        return cls(system, sol.t, sol.y.T, params=params)

    def one_period(self):
        """``(T, t, x)``: one period of the trajectory, ``t`` from 0 to ``T``."""
        t, x = self.t, self.x
        span = np.ptp(x, axis=0)
        scale = float(np.max(span)) if np.max(span) > 0 else 1.0
        if self.period is not None:
            T = float(self.period)
            if T <= 0 or T > t[-1] - t[0] + 1e-12:
                raise ParameterError(f"period = {T} is outside (0, {t[-1] - t[0]:g}]")
        elif np.max(np.abs(x[0] - x[-1])) < 1e-3 * scale:
            T = t[-1] - t[0]
        else:
            xr = x[-1]
            fr = self.system.rhs(xr, self.system.param_vector(**self.params))
            g = (x - xr) @ fr
            # crossings with the same orientation as the flow at the reference (g from - to +)
            T = None
            k_end = len(t) - 1
            for k in range(k_end - 2, 0, -1):
                if g[k - 1] < 0 <= g[k]:
                    s = g[k - 1] / (g[k - 1] - g[k])
                    xc = x[k - 1] + s * (x[k] - x[k - 1])
                    tc = t[k - 1] + s * (t[k] - t[k - 1])
                    if np.max(np.abs(xc - xr)) < 0.05 * scale and t[-1] - tc > 4 * (t[1] - t[0]):
                        T = t[-1] - tc
                        break
            if T is None:
                raise ParameterError(
                    "could not find a period in the OrbitGuess trajectory: it does not return "
                    "close to its final state; simulate longer or pass period="
                )
        mask = t >= t[-1] - T - 1e-12
        tt = t[mask] - (t[-1] - T)
        return T, tt, x[mask]


def _interp_periodic(tt, X, T, taus):
    tq = np.mod(taus * T, T)
    tt2 = np.concatenate([tt, [T]]) if tt[-1] < T - 1e-12 else tt
    X2 = np.vstack([X, X[:1]]) if tt[-1] < T - 1e-12 else X
    return np.column_stack([np.interp(tq, tt2, X2[:, i]) for i in range(X.shape[1])])


def _fixed_row(size):
    a = np.zeros(size)
    a[-1] = 1.0
    return a


def start_from_guess(guess: OrbitGuess, param, settings, stats):
    """Converged first orbit from a simulation (``rec`` with the tangent in the parameter)."""
    system = guess.system
    free = system.param_index[param]
    p = system.param_vector(**guess.params)
    T, tt, X = guess.one_period()
    # shift so that the orbit starts where the reference crossing is (already), interpolate
    mesh = uniform_mesh(settings.ntst, settings.ncol)
    for _ in range(3):
        coll = Collocation(system, mesh, free)
        U = _interp_periodic(tt, X, T, mesh.nodes())
        mesh = coll.adapted_mesh(U)
    coll = Collocation(system, mesh, free)
    U = _interp_periodic(tt, X, T, mesh.nodes())
    sol = CycleSolution(mesh, U, T, p.copy(), free)
    size = U.size + 2
    sol, lu, _ = newton_cycle(coll, sol, U, _fixed_row(size), p[free], tol=settings.newton_tol,
                              max_iter=max(settings.newton_max_iter, 20), stats=stats)
    for _ in range(2):
        mesh = coll.adapted_mesh(sol.U)
        U = coll.transfer(sol.U, mesh)
        coll = Collocation(system, mesh, free)
        sol = CycleSolution(mesh, U, sol.T, sol.p, free)
        sol, lu, _ = newton_cycle(coll, sol, U, _fixed_row(size), p[free],
                                  tol=settings.newton_tol, max_iter=settings.newton_max_iter,
                                  stats=stats)
    w = weights(mesh, system.n_states)
    e = np.zeros(size)
    e[-1] = 1.0
    t = lu.solve(e)  # tangent with p-component 1 (bordered by the parameter row)
    t /= np.sqrt(np.sum(w * t * t))
    return point_record(coll, sol, t), coll


# ---------------------------------------------------------------------- Hopf
def hopf_vector(system, x0, p, omega=None):
    """Critical eigenvector ``q`` (‖q‖ = 1, Re q ⟂ Im q) and ``ω`` of the Jacobian at ``x0``."""
    J = system.jacobian(x0, p)
    lam, V = la.eig(J)
    if omega is None:
        cand = np.flatnonzero(lam.imag > 0)
        if cand.size == 0:
            raise ParameterError("the Jacobian at the HB point has no complex eigenvalue pair")
        k = cand[np.argmin(np.abs(lam[cand].real))]
    else:
        k = int(np.argmin(np.abs(lam - 1j * abs(omega))))
    q = V[:, k]
    return _normalise_q(q), float(abs(lam[k].imag))


def _normalise_q(q):
    q = np.asarray(q, complex)
    q = q / np.linalg.norm(q)
    a, b = q.real, q.imag
    phi = 0.5 * np.arctan2(2 * a @ b, a @ a - b @ b)
    q = q * np.exp(-1j * phi)
    return q


def _transversality(system, x0, p, free, omega, q, h=1e-6):
    """d = dRe λ/dμ by central differences of the equilibrium and its eigenvalue near iω."""
    vals = []
    for s in (+1, -1):
        pp = p.copy()
        pp[free] += s * h * max(1.0, abs(p[free]))
        x = x0.copy()
        for _ in range(8):
            f = system.rhs(x, pp)
            dx = np.linalg.solve(system.jacobian(x, pp), -f)
            x = x + dx
            if np.max(np.abs(dx)) < 1e-13 * (1 + np.max(np.abs(x))):
                break
        lam = np.linalg.eigvals(system.jacobian(x, pp))
        vals.append(lam[np.argmin(np.abs(lam - 1j * omega))].real)
    return (vals[0] - vals[1]) / (2 * h * max(1.0, abs(p[free])))


def start_from_hopf(sp, param, settings, stats):
    """First cycle of a branch born at the Hopf point ``sp`` (see ``docs/cycles.md``).

    Guess ``x(t) ≈ x0 + 2 Re(ε q e^{iωt})`` with ε from the first Lyapunov coefficient l1,
    then Newton on the collocation equations with the amplitude along ``q`` held fixed.
    """
    system = sp.branch.system if getattr(sp, "branch", None) is not None else sp.system
    if system is None:
        raise ParameterError("the HB point has no branch/system attached (point.branch.system)")
    free = system.param_index[param]
    p = system.param_vector(**sp.params)
    x0 = np.asarray(sp.x, float)
    data = sp.data or {}
    omega = data.get("omega")
    q = data.get("q")
    if q is None:
        q, omega = hopf_vector(system, x0, p, omega)
    else:
        q = _normalise_q(q)
        if omega is None:
            omega = float(abs((q.conj() @ system.jacobian(x0, p) @ q).imag))
    omega = float(abs(omega))
    n = system.n_states
    T0 = 2 * np.pi / omega
    mesh = uniform_mesh(settings.ntst, settings.ncol)
    coll = Collocation(system, mesh, free)
    tau = mesh.nodes()
    V = 2.0 * np.real(q[None, :] * np.exp(2j * np.pi * tau)[:, None])  # (M, n)
    eps = settings.ds * np.sqrt(n / 2.0)
    l1 = data.get("l1")
    dmu = 0.0
    try:
        d = _transversality(system, x0, p, free, omega, q)
    except np.linalg.LinAlgError:
        d = np.nan
    if l1 is not None and np.isfinite(l1) and np.isfinite(d) and abs(d) > 1e-12:
        dmu = -omega * float(l1) * eps**2 / d
    pg = p.copy()
    pg[free] += dmu
    U = x0[None, :] + eps * V
    wn = mesh.node_weights()
    a = np.concatenate([(wn[:, None] * V).ravel(), [0.0, 0.0]])
    base = np.concatenate([np.tile(x0, len(tau)), [T0, p[free]]])
    b = a @ base + eps * float(np.sum(wn[:, None] * V * V))
    sol = CycleSolution(mesh, U, T0, pg, free)
    sol, lu, _ = newton_cycle(coll, sol, U, a, b, tol=settings.newton_tol,
                              max_iter=max(settings.newton_max_iter, 15), stats=stats)
    w = weights(mesh, n)
    t = sol.vector() - base
    t /= np.sqrt(np.sum(w * t * t))
    rec = point_record(coll, sol, t)
    rec["hopf"] = {"d": d, "omega": omega, "l1": l1, "eps": eps, "dmu_predicted": dmu,
                   "dmu": sol.pfree - p[free]}
    return rec, coll


# ---------------------------------------------------------------------- period doubling
def _doubled(rec):
    sol = rec["sol"]
    fl = rec["fl"]
    mu = fl.multipliers
    cand = [i for i in range(len(mu)) if i != fl.trivial_index]
    k = cand[int(np.argmin(np.abs(mu[cand] + 1.0)))]
    v0 = fl.eigenvectors[:, k]
    v0 = v0 / v0[np.argmax(np.abs(v0))]
    v0 = np.real(v0)
    ncol = sol.mesh.ncol
    Vn, vend = fl.propagate(v0, ncol)
    tau = sol.mesh.tau
    tau2 = np.concatenate([tau / 2.0, 0.5 + tau[1:] / 2.0])
    mesh2 = Mesh(tau2, ncol)
    U2 = np.vstack([sol.U, sol.U])
    W2 = np.vstack([Vn, -Vn])
    wn = mesh2.node_weights()
    W2 /= np.sqrt(np.sum(wn[:, None] * W2 * W2))
    return mesh2, U2, W2, 2.0 * sol.T, sol.p.copy(), float(mu[k].real)


def _switch(system, free, mesh2, U2, W2, T2, p, eps, settings, stats):
    coll = Collocation(system, mesh2, free)
    wn = mesh2.node_weights()
    a = np.concatenate([(wn[:, None] * W2).ravel(), [0.0, 0.0]])
    base = np.concatenate([U2.ravel(), [T2, p[free]]])
    b = a @ base + eps
    sol = CycleSolution(mesh2, U2 + eps * W2, T2, p.copy(), free)
    sol, lu, _ = newton_cycle(coll, sol, U2, a, b, tol=settings.newton_tol,
                              max_iter=max(settings.newton_max_iter, 15), stats=stats)
    return coll, sol, base


def start_from_pd(sp, param, settings, stats):
    """First orbit of the period-doubled branch at the PD point ``sp``: the orbit traversed
    twice on a doubled mesh plus a small multiple of the Floquet eigenfunction of −1 (sign
    flipped on the second turn), corrected by Newton."""
    system = sp.branch.system if getattr(sp, "branch", None) is not None else sp.system
    free = system.param_index[param]
    rec = getattr(sp, "_record", None)
    if rec is None:
        sol = sp.data.get("solution")
        if sol is None:
            raise ParameterError("the PD point carries no orbit (data['solution'])")
        coll = Collocation(system, sol.mesh, sol.free)
        rec = point_record(coll, sol)
    sol0 = rec["sol"]
    if sol0.free != free:
        sol0 = CycleSolution(sol0.mesh, sol0.U, sol0.T, sol0.p, free)
        rec = dict(rec, sol=sol0)
    mesh2, U2, W2, T2, p, _ = _doubled(rec)
    n = system.n_states
    eps = settings.ds * np.sqrt(n)
    coll, sol, base = _switch(system, free, mesh2, U2, W2, T2, p, eps, settings, stats)
    w = weights(mesh2, n)
    t = sol.vector() - base
    t /= np.sqrt(np.sum(w * t * t))
    return point_record(coll, sol, t), coll


def pd_criticality(system, param, rec, settings, stable_side):
    """PD criticality from a short step onto the doubled branch.

    Solves the doubled orbit with amplitude ``ε`` along the PD eigenfunction (normalised,
    ``∫|w|² = 1``) for two small ε and fits ``μ − μ_PD = c ε²``. The doubled cycles exist on
    the side ``sign(c)``; the PD is *supercritical* when that is the side where the period-1
    cycle has the multiplier beyond −1 (``sign(c) = −stable_side``), *subcritical* otherwise.
    ``c`` depends on the normalisation of ``w`` and is not the normal-form coefficient itself;
    its sign (relative to the unstable side) is what the criticality needs.
    """
    free = system.param_index[param]
    mesh2, U2, W2, T2, p, _ = _doubled(rec)
    scale = max(1e-8, float(np.sqrt(np.sum(mesh2.node_weights()[:, None] * U2 * U2))))
    cs = []
    for e in (1e-3 * scale, 2e-3 * scale):
        _, sol, _ = _switch(system, free, mesh2, U2, W2, T2, p, e, settings, {})
        cs.append((sol.pfree - p[free]) / e**2)
    # μ(ε) is even in ε (half-period shift maps ε to −ε): c(ε) = c + e ε², Richardson
    c = cs[0] + (cs[0] - cs[1]) / 3.0
    side = np.sign(c)
    crit = "supercritical" if side == -stable_side else "subcritical"
    return {"pd_coefficient": float(c), "criticality": crit}
