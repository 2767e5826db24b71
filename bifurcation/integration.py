"""Time integration of an :class:`ODESystem`, with its status reported.

:func:`integrate` wraps :func:`scipy.integrate.solve_ivp` (stiff methods get the system's
Jacobian) and returns an :class:`IntegrationResult` that says whether it succeeded, why not,
and how much work it did. Non-finite states stop the integration with a clear message instead
of propagating NaN.

:func:`rk4_variational` is a compiled fixed-step integrator of the state together with a tangent
vector, ``dx/dt = f(x, p)``, ``dv/dt = J(x, p) v``, used by :mod:`bifurcation.lyapunov`; it needs
numba-compiled ``rhs`` and ``jac``.

Examples
--------
>>> import numpy as np
>>> from bifurcation import ODESystem
>>> from bifurcation.integration import integrate
>>> decay = ODESystem(lambda x, p: -p[0] * x, 1, {"k": 2.0})
>>> res = integrate(decay, [1.0], t_end=1.0, rtol=1e-10, atol=1e-12)
>>> bool(abs(res.x[-1, 0] - np.exp(-2.0)) < 1e-8)
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import solve_ivp

from simulate.validation import ParameterError, check_number

from .system import ODESystem

__all__ = ["integrate", "IntegrationResult", "rk4_variational"]

STIFF_METHODS = ("Radau", "BDF", "LSODA")


@dataclass
class IntegrationResult:
    """Result of :func:`integrate`.

    Attributes
    ----------
    t : ndarray (T,)
        Output times.
    x : ndarray (T, n)
        States at those times.
    success : bool
    message : str
        What happened; on failure, what to change.
    counts : dict
        ``rhs_evaluations``, ``jacobian_evaluations``, ``lu_decompositions``.
    method, rtol, atol : the settings used (so results state their tolerance).
    system : ODESystem
    p : ndarray
        The parameter vector used.
    """

    t: np.ndarray
    x: np.ndarray
    success: bool
    message: str
    counts: dict = field(default_factory=dict)
    method: str = "LSODA"
    rtol: float = 1e-6
    atol: float = 1e-9
    system: ODESystem | None = field(default=None, repr=False)
    p: np.ndarray | None = field(default=None, repr=False)

    def outputs(self) -> dict:
        """Every named output of the system along the trajectory."""
        if self.system is None:
            return {}
        return {
            k: np.array([g(xi, self.p) for xi in self.x]) for k, g in self.system.outputs.items()
        }


def integrate(
    system: ODESystem,
    x0,
    t_end: float,
    *,
    p=None,
    t_start: float = 0.0,
    dt_out: float | None = None,
    method: str = "LSODA",
    rtol: float = 1e-6,
    atol: float = 1e-9,
    max_step: float = np.inf,
    events=None,
) -> IntegrationResult:
    """Integrate ``dx/dt = f(x, p)`` from ``x0`` over [t_start, t_end].

    Parameters
    ----------
    system : ODESystem
    x0 : array_like (n,)
        Initial state.
    t_end : float
        Final time (the system's time unit; ms for neuron models).
    p : array_like or dict, optional
        Parameters (default: ``system.params``).
    dt_out : float, optional
        Output spacing; default: the solver's own steps.
    method : str
        Any :func:`scipy.integrate.solve_ivp` method; stiff methods use ``system.jacobian``.
    rtol, atol : float
        Error-control tolerances (stated in the result).
    max_step : float
        Largest step the solver may take.
    events : callable or list, optional
        Passed to ``solve_ivp`` as ``event(t, x)``.

    Returns
    -------
    IntegrationResult
    """
    if not isinstance(system, ODESystem):
        raise ParameterError(f"system must be a bifurcation.ODESystem, got {type(system).__name__}")
    x0 = np.asarray(x0, dtype=float).reshape(-1)
    if x0.shape != (system.n_states,):
        raise ParameterError(
            f"x0 has {x0.size} components; the system has n_states = {system.n_states}"
        )
    if not np.all(np.isfinite(x0)):
        raise ParameterError("x0 contains non-finite values")
    check_number("t_end", t_end, t_start, None, lo_open=True)
    check_number("rtol", rtol, 0.0, 1.0, lo_open=True)
    check_number("atol", atol, 0.0, None, lo_open=True)
    pv = system._as_p(p)
    rhs_func, jac_func = system.rhs_func, system.jacobian
    nonfinite = {"hit": False}

    def f(t, x):
        out = np.asarray(rhs_func(x, pv), dtype=float)
        if not np.all(np.isfinite(out)):
            nonfinite["hit"] = True
            return np.zeros_like(out)  # lets the solver stop cleanly through the event below
        return out

    def guard(t, x):
        return -1.0 if nonfinite["hit"] else 1.0

    guard.terminal = True
    evs = [guard] + (list(events) if isinstance(events, (list, tuple)) else
                     ([events] if events is not None else []))
    kw = {}
    if method in STIFF_METHODS:
        kw["jac"] = lambda t, x: jac_func(x, pv)
    t_eval = None
    if dt_out is not None:
        check_number("dt_out", dt_out, 0.0, None, lo_open=True)
        t_eval = np.arange(t_start, t_end + 0.5 * dt_out, dt_out)
        t_eval = t_eval[t_eval <= t_end]
    sol = solve_ivp(f, (t_start, t_end), x0, method=method, rtol=rtol, atol=atol,
                    max_step=max_step, t_eval=t_eval, events=evs, **kw)
    success = bool(sol.success) and not nonfinite["hit"]
    if nonfinite["hit"]:
        msg = (f"the right-hand side became non-finite near t = {sol.t[-1]:g}; check the "
               "parameters or lower rtol/max_step")
    elif not sol.success:
        msg = f"integration failed: {sol.message}; try method='Radau' or a smaller rtol"
    else:
        msg = "integration reached t_end"
    counts = {"rhs_evaluations": int(sol.nfev), "jacobian_evaluations": int(sol.njev),
              "lu_decompositions": int(sol.nlu)}
    result = IntegrationResult(
        np.asarray(sol.t), np.asarray(sol.y).T, success, msg, counts, method, rtol, atol,
        system, pv,
    )
    result.events = sol.t_events[1:] if sol.t_events is not None else []
    result.event_states = sol.y_events[1:] if sol.y_events is not None else []
    return result


def rk4_variational(rhs, jac, x0, v0, p, dt, n_steps, renorm_every):
    """Fixed-step RK4 of the state and one tangent vector, with periodic renormalisation.

    Integrates ``x' = f(x, p)``, ``v' = J(x, p) v`` and every ``renorm_every`` steps replaces
    ``v`` by ``v/|v|``, accumulating ``log |v|``.

    Parameters
    ----------
    rhs, jac : numba-compiled functions ``(x, p) -> array``
    x0, v0 : ndarray (n,)
    p : ndarray (m,)
    dt : float
    n_steps : int
    renorm_every : int

    Returns
    -------
    x : ndarray (n,)
        Final state.
    logs : ndarray (n_steps // renorm_every,)
        ``log |v|`` at each renormalisation (the local stretching over that interval).
    """
    return _rk4_variational(rhs, jac, np.asarray(x0, float).copy(), np.asarray(v0, float).copy(),
                            np.asarray(p, float), float(dt), int(n_steps), int(renorm_every))


def _make_rk4():
    from numba import njit

    @njit
    def kernel(rhs, jac, x, v, p, dt, n_steps, renorm_every):
        n_blocks = n_steps // renorm_every
        logs = np.empty(n_blocks)
        for b in range(n_blocks):
            for _ in range(renorm_every):
                k1 = rhs(x, p)
                J1 = jac(x, p)
                l1 = J1 @ v
                x2 = x + 0.5 * dt * k1
                v2 = v + 0.5 * dt * l1
                k2 = rhs(x2, p)
                l2 = jac(x2, p) @ v2
                x3 = x + 0.5 * dt * k2
                v3 = v + 0.5 * dt * l2
                k3 = rhs(x3, p)
                l3 = jac(x3, p) @ v3
                x4 = x + dt * k3
                v4 = v + dt * l3
                k4 = rhs(x4, p)
                l4 = jac(x4, p) @ v4
                x = x + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
                v = v + dt / 6.0 * (l1 + 2 * l2 + 2 * l3 + l4)
            nv = np.sqrt(np.sum(v * v))
            logs[b] = np.log(nv)
            v = v / nv
        return x, logs

    return kernel


_kernel_cache: dict = {}


def _rk4_variational(rhs, jac, x, v, p, dt, n_steps, renorm_every):
    if "k" not in _kernel_cache:
        _kernel_cache["k"] = _make_rk4()
    return _kernel_cache["k"](rhs, jac, x, v, p, dt, n_steps, renorm_every)
