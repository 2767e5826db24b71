r"""Equilibria of the Markov-approximation ODE: Newton on the time average of a short run.

An equilibrium ``x*`` of the reduced-coordinate ODE (:mod:`ode`) solves ``f(x*, p) = 0``.
Starting guess: the time average of a ``t_settle``-ms integration from the quiet start (or
from ``x0``),

    x̄ = (1/T) ∫_0^T x(t) dt     (mean of the output grid, dt_out = 0.1 ms),

which is close to the equilibrium whether it is stable (the run converges to it) or an
unstable focus surrounded by the MFE cycle (the cycle's time average lies near the focus).
Then damped Newton with the analytic Jacobian (:func:`bifurcation.newton.newton_solve`:
the step is halved until ``‖f‖₂`` decreases), converged when ``max|f| ≤ tol`` and the last
update is below ``tol (1 + max|x|)``.

This is the start used by the continuation scripts and the gamma case study; it was written
out five times before (``case_studies/gamma.py``, ``benchmarks/ma_cycles.py``,
``benchmarks/bench_continuation_ma.py`` and two tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulate.validation import ParameterError, check_number, check_positive_int

__all__ = ["MAEquilibrium", "EquilibriumNotFound", "find_equilibrium"]


class EquilibriumNotFound(RuntimeError):
    """Newton did not converge from the time average (message: residual, iterations, why)."""


@dataclass
class MAEquilibrium:
    """An equilibrium of :meth:`MarkovApproximation.ode` (result of ``ma.equilibrium()``).

    Attributes
    ----------
    x : ndarray (n,)
        State in reduced coordinates (the ODE's state vector, named by ``ma.state_names()``).
    p : ndarray
        Parameter vector (order of ``ma.params``) at which it was found.
    params : dict
        The same parameters by name.
    converged : bool
        Whether Newton converged (``max|f(x, p)| ≤ tol``); False only with ``check=False``.
    residual : float
        ``max_i |f_i(x, p)|`` at the returned state.
    iterations : int
        Newton iterations.
    status : str
        ``"converged"`` or the reason of failure (``"newton"``, ``"singular"``,
        ``"nonfinite"``).
    rates_hz : dict
        Population rates at ``x`` (Hz per neuron).
    x_start : ndarray
        The time average Newton started from.
    """

    x: np.ndarray
    p: np.ndarray
    params: dict
    converged: bool
    residual: float
    iterations: int
    status: str
    rates_hz: dict = field(default_factory=dict)
    x_start: np.ndarray | None = field(default=None, repr=False)


def find_equilibrium(ma, p=None, t_settle: float = 100.0, x0=None, tol: float = 1e-10,
                     max_iter: int = 60, check: bool = True, **simulate_kw) -> MAEquilibrium:
    """Equilibrium of the MA ODE by damped Newton from the time average of a short run.

    Parameters
    ----------
    ma : MarkovApproximation
    p : dict or ndarray, optional
        Parameter overrides by name (``{"p_ei": 0.9}``) or a full parameter vector in the
        order of ``ma.params`` (as used by ``ma.ode()``); default: the model's parameters.
    t_settle : float
        Length of the run whose time average starts Newton, ms (default 100).
    x0 : ndarray, optional
        Start of that run (default: the quiet start ``ma.initial_state()``). With
        ``t_settle=0`` Newton starts from ``x0`` itself.
    tol : float
        Newton tolerance on ``max|f|`` (per ms) and on the relative update.
    max_iter : int
        Newton iterations at most.
    check : bool
        Raise :class:`EquilibriumNotFound` when Newton does not converge (default); with
        False the unconverged result is returned with ``converged=False``.
    **simulate_kw
        Passed to ``ma.simulate`` (e.g. ``method="LSODA"``); ``t_burn`` is 0 there.

    Returns
    -------
    MAEquilibrium
    """
    from bifurcation.newton import newton_solve

    params = _as_params(ma, p)
    t_settle = check_number("t_settle", t_settle, 0.0, 1e7, unit="ms")
    tol = check_number("tol", tol, 0.0, 1.0, lo_open=True)
    max_iter = check_positive_int("max_iter", max_iter)
    pv = ma.param_vector(params)
    ode = ma.ode()
    n = ma.layout.n_ode
    if t_settle > 0.0:
        run = ma.simulate(t_settle, form="ode", x0=x0, params=params,
                          **{"t_burn": 0.0, **simulate_kw})
        start = run.x.mean(axis=0)
    elif x0 is None:
        raise ParameterError("t_settle = 0 needs a start x0; the valid range of t_settle is "
                             "(0, 1e7] ms without x0")
    else:
        start = np.asarray(x0, float)[:n].copy()
    res = newton_solve(lambda x: ode.rhs(x, pv), lambda x: ode.jacobian(x, pv), start, tol,
                       max_iter, damped=True)
    out = MAEquilibrium(x=np.asarray(res.u, float), p=pv, params=dict(zip(ma.params, pv)),
                        converged=bool(res.converged), residual=float(res.residual),
                        iterations=int(res.iterations), status=str(res.reason),
                        x_start=start)
    if out.converged:
        out.rates_hz = {k: float(v) for k, v in ma.rates_hz(out.x, params).items()}
    elif check:
        raise EquilibriumNotFound(
            f"Newton did not converge to an equilibrium of the Markov approximation "
            f"({out.status}: max|f| = {out.residual:.3g} per ms after {out.iterations} "
            f"iterations, tol = {tol:g}) from the time average of a {t_settle:g}-ms run at "
            f"{_describe(params)}; try a longer t_settle, another x0 or a larger max_iter "
            f"(or check=False to inspect the last iterate)")
    return out


def _as_params(ma, p) -> dict:
    """Parameter overrides as a dict (``p`` a dict, a full vector or None)."""
    if p is None:
        return {}
    if isinstance(p, dict):
        return dict(p)
    arr = np.asarray(p, float)
    if arr.shape != (len(ma.params),):
        raise ParameterError(
            f"p has shape {arr.shape}; the valid shape is ({len(ma.params)},) (a value for "
            f"each of {', '.join(ma.params)}) or a dict of overrides by name")
    return dict(zip(ma.params, arr.tolist()))


def _describe(params: dict) -> str:
    return ", ".join(f"{k} = {v:g}" for k, v in params.items()) or "the default parameters"
