"""The largest Lyapunov exponent of a trajectory (Benettin's method).

A tangent vector v is carried along the trajectory by the variational equation
``dv/dt = J(x(t), p) v`` and renormalised every ``renorm_interval``; with ``s_k`` the log of its
growth over interval k,

    λ₁ = lim_{T→∞} (1/T) Σ_k s_k .

The statistical error is estimated from block averages: the run is cut into ``n_blocks``
consecutive blocks, λ₁ is estimated in each, and the standard error is the standard deviation
of the block estimates divided by √n_blocks (blocks much longer than the correlation time of
the s_k are close to independent).

With numba-compiled ``rhs`` and ``jac`` the integration is a compiled fixed-step RK4 (step
``dt``); otherwise the state and tangent are integrated together by
:func:`scipy.integrate.solve_ivp` (slower, same estimator). ``method="separation"`` replaces
the tangent vector by a second trajectory at distance δ (relative, ``separation``) from the
first, both integrated by the system's own stiff solver
(:func:`bifurcation.integration.integrate`, LSODA with the Jacobian, rtol 1e-9); after every
interval the distance d is measured, s_k = log(d/δ), and the companion is put back at
distance δ along the separation. For large stiff systems (the 148-state Markov approximation)
this costs two trajectories instead of a 2n-dimensional non-stiff integration; it is the same
estimator as long as δ·e^{λ·interval} stays in the linear regime.

Examples
--------
>>> res = largest_lyapunov_exponent(lorenz_system, x0, t_end=1e4)   # doctest: +SKIP
>>> res.value, res.stderr                                            # doctest: +SKIP
(0.906, 0.003)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from simulate.validation import ParameterError, check_choice, check_number

from .integration import rk4_variational
from .system import ODESystem

__all__ = ["largest_lyapunov_exponent", "LyapunovResult"]


@dataclass
class LyapunovResult:
    """Estimate of the largest Lyapunov exponent.

    Attributes
    ----------
    value : float
        λ₁ in inverse time units of the system.
    stderr : float
        Standard error from block averages.
    blocks : ndarray (n_blocks,)
        Per-block estimates.
    t_total : float
        Averaging time (after the transient).
    x_final : ndarray (n,)
        State at the end (a point on the attractor).
    method : str
        ``"rk4-compiled"`` or ``"solve_ivp"``.
    """

    value: float
    stderr: float
    blocks: np.ndarray
    t_total: float
    x_final: np.ndarray
    method: str


def _is_compiled(f) -> bool:
    return hasattr(f, "py_func") and hasattr(f, "signatures")


def largest_lyapunov_exponent(
    system: ODESystem,
    x0,
    t_end: float = 1e4,
    *,
    p=None,
    t_transient: float = 100.0,
    dt: float = 0.01,
    renorm_interval: float = 1.0,
    n_blocks: int = 20,
    seed: int = 0,
    method: str = "auto",
    separation: float = 1e-6,
) -> LyapunovResult:
    """Estimate λ₁ along the trajectory from ``x0`` (after a transient).

    Parameters
    ----------
    system : ODESystem
    x0 : array_like (n,)
    t_end : float
        Averaging time after the transient.
    p : array_like or dict, optional
        Parameters (default ``system.params``).
    t_transient : float
        Time integrated first and discarded (the tangent vector aligns meanwhile).
    dt : float
        RK4 step of the compiled path (ignored by the ``solve_ivp`` path, which controls its
        own error at rtol 1e-8).
    renorm_interval : float
        Time between renormalisations of the tangent vector.
    n_blocks : int
        Blocks for the standard error (at least 5).
    seed : int
        Seed of the random initial tangent vector.
    method : {"auto", "rk4-compiled", "solve_ivp", "separation"}
        ``"auto"``: the compiled RK4 when ``rhs`` and ``jac`` are numba-compiled, else
        ``solve_ivp`` on the variational system.
    separation : float
        δ of the ``"separation"`` method, relative to ``1 + |x|``.

    Returns
    -------
    LyapunovResult
    """
    check_number("t_end", t_end, 0.0, None, lo_open=True)
    check_number("t_transient", t_transient, 0.0, None)
    check_number("dt", dt, 0.0, None, lo_open=True)
    check_number("renorm_interval", renorm_interval, dt, None)
    n_blocks = int(check_number("n_blocks", n_blocks, 5, None, integer=True))
    pv = system._as_p(p)
    x = np.asarray(x0, float).copy()
    if x.shape != (system.n_states,):
        raise ParameterError(f"x0 has {x.size} components; n_states = {system.n_states}")
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(system.n_states)
    v /= np.linalg.norm(v)
    every = max(1, int(round(renorm_interval / dt)))
    interval = every * dt
    n_trans = int(np.ceil(t_transient / interval))
    n_int = int(np.ceil(t_end / interval))
    n_int = max(n_blocks, n_int - n_int % n_blocks)
    check_choice("method", method, ("auto", "rk4-compiled", "solve_ivp", "separation"))
    compiled = _is_compiled(system.rhs_func) and _is_compiled(system.jac_func)
    if method == "rk4-compiled" and not compiled:
        raise ParameterError("method = 'rk4-compiled' needs numba-compiled rhs and jac; "
                             "valid here: 'auto', 'solve_ivp', 'separation'")
    if method == "separation":
        check_number("separation", separation, 0.0, 1e-2, lo_open=True)
        x, logs = _separation_path(system, x, v, pv, interval, n_trans, n_int, separation)
    elif compiled and method in ("auto", "rk4-compiled"):
        method = "rk4-compiled"
        if n_trans:
            x, _ = rk4_variational(system.rhs_func, system.jac_func, x, v, pv, dt,
                                   n_trans * every, every)
        x, logs = rk4_variational(system.rhs_func, system.jac_func, x, v, pv, dt,
                                  n_int * every, every)
    else:
        method = "solve_ivp"
        x, logs = _solve_ivp_path(system, x, v, pv, interval, n_trans, n_int)
    if not np.all(np.isfinite(logs)) or not np.all(np.isfinite(x)):
        raise ParameterError(
            "the trajectory or its tangent vector became non-finite; lower dt or check x0"
        )
    blocks = logs.reshape(n_blocks, -1).sum(axis=1) / (interval * (n_int // n_blocks))
    value = float(logs.sum() / (interval * n_int))
    stderr = float(blocks.std(ddof=1) / np.sqrt(n_blocks))
    return LyapunovResult(value, stderr, blocks, interval * n_int, x, method)


def _separation_path(system, x, v, pv, interval, n_trans, n_int, delta):
    from .integration import integrate

    d0 = delta * (1.0 + np.linalg.norm(x))
    y = x + d0 * v
    logs = np.empty(n_int)
    for k in range(n_trans + n_int):
        a = integrate(system, x, interval, p=pv, rtol=1e-9, atol=1e-12)
        b = integrate(system, y, interval, p=pv, rtol=1e-9, atol=1e-12)
        if not (a.success and b.success):
            raise ParameterError("integration failed in the Lyapunov estimate: "
                                 f"{a.message if not a.success else b.message}")
        x, y = a.x[-1], b.x[-1]
        sep = y - x
        d = np.linalg.norm(sep)
        if k >= n_trans:
            logs[k - n_trans] = np.log(d / d0)
        d0 = delta * (1.0 + np.linalg.norm(x))
        y = x + sep * (d0 / d)
    return x, logs


def _solve_ivp_path(system, x, v, pv, interval, n_trans, n_int):
    n = system.n_states

    def f(t, y):
        xs, vs = y[:n], y[n:]
        return np.concatenate([system.rhs_func(xs, pv), system.jacobian(xs, pv) @ vs])

    logs = np.empty(n_int)
    for k in range(n_trans + n_int):
        sol = solve_ivp(f, (0.0, interval), np.concatenate([x, v]), rtol=1e-8, atol=1e-10)
        if not sol.success:
            raise ParameterError(f"integration failed in the Lyapunov estimate: {sol.message}")
        x, v = sol.y[:n, -1], sol.y[n:, -1]
        nv = np.linalg.norm(v)
        v = v / nv
        if k >= n_trans:
            logs[k - n_trans] = np.log(nv)
    return x, logs
