"""Generic pseudo-arclength continuation of a curve ``F(u) = 0``, ``F: R^{N+1} -> R^N``.

Used by :mod:`bifurcation.equilibria` (``u = (x, p)``) and :mod:`bifurcation.codim2`
(``u = (x, p1, p2)`` plus auxiliary unknowns). One job: trace the curve with adaptive steps,
stop for a documented reason, and locate zeros of scalar test functions between two computed
points to solver tolerance.

Algorithm (Keller's pseudo-arclength method):

1. predictor ``u_pred = u_k + ds t_k``;
2. Newton corrector on ``F(u) = 0, t_k . (u - u_k) = ds`` (:func:`bifurcation.newton.correct`);
3. new tangent from ``[[F_u(u_{k+1})], [t_k^T]] t = e_{N+1}``, normalised;
4. accept when Newton converged and ``t_k . t_{k+1} >= max_angle_cos``; then enlarge ``ds``
   by ``step_increase`` after an easy step; on failure multiply ``ds`` by ``step_decrease``
   and retry; a failure at ``ds_min`` ends the direction.

Bounds are scalar functions ``g_i(u) >= 0``; a step that makes one negative is cut back to the
exact crossing (Brent's method on the arclength coordinate), which becomes the last point.

The problem object is a :class:`CurveProblem` (residual, Jacobian, bounds, per-point data and
an auxiliary context such as bordering vectors, refreshed at every accepted point).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from .newton import correct, tangent

__all__ = ["CurvePoint", "CurveProblem", "TraceResult", "trace", "locate_zero", "corrector_at"]

FAILURE_TEXT = {
    "newton": "the Newton corrector did not converge",
    "singular": "the bordered Jacobian was singular",
    "nonfinite": "the right-hand side returned non-finite values",
    "angle": "the tangent turned too sharply between steps",
    "outside": "Newton iterates left the parameter bounds",
}


@dataclass
class CurvePoint:
    u: np.ndarray
    t: np.ndarray
    ctx: object = None
    info: dict = field(default_factory=dict)
    newton_iterations: int = 0


@dataclass
class TraceResult:
    points: list
    reason: str
    message: str
    bound_index: int = -1


class CurveProblem:
    """The interface :func:`trace` expects of a curve ``F(u) = 0``, ``F: R^{N+1} -> R^N``.

    Subclasses (:class:`bifurcation.equilibria.EquilibriumProblem`, the codim-2 problems of
    :mod:`bifurcation.codim2`) set ``bound_names`` (one name per scalar bound ``g_i``) and,
    optionally, ``hard_bounds``: a list of ``(j, lo, hi)`` saying that unknown ``u[j]`` must stay
    in ``[lo, hi]`` (steps are cut back to the crossing instead of leaving the box). The context
    methods let a problem carry auxiliary data that changes along the curve (bordering vectors
    of a minimally augmented system); the tracer stores the context with every accepted point
    and restores it before correcting from that point, so located special points see the
    context of the interval they were found in.
    """

    bound_names: tuple = ()
    hard_bounds: tuple = ()

    def residual(self, u):
        """``F(u)``, length N. Raises ``OutOfBounds`` outside hard bounds, ``NonFinite`` if
        the right-hand side is not finite."""
        raise NotImplementedError

    def jacobian(self, u):
        """``F_u(u)``, N x (N+1), dense or scipy.sparse."""
        raise NotImplementedError

    def bounds(self, u):
        """The bound functions ``g_i(u)``, one per entry of ``bound_names``; the curve is
        inside while every ``g_i >= 0``."""
        raise NotImplementedError

    def point_info(self, u, t):
        """Per-point data stored as ``CurvePoint.info`` (eigenvalues, stability, the test
        functions whose sign changes the problem's detector looks for); ``t`` is the unit
        tangent at ``u``."""
        raise NotImplementedError

    def get_context(self):
        """The current auxiliary context (``None`` if the problem has none), stored with each
        accepted point."""
        return None

    def set_context(self, ctx):
        """Restore a context returned by :meth:`get_context` (``None``: leave it)."""

    def update_context(self, u, t):
        """Refresh the context at a newly accepted point ``u`` with tangent ``t``."""

    def describe(self, u):
        """A one-line human-readable position of ``u`` (parameter values), for messages and
        progress output."""
        return f"u[-1] = {u[-1]:.8g}"

    def snap(self, u, i):
        """Put a point located on bound ``i`` exactly on it; by default ``u`` unchanged."""
        return u


def _count(counts, key, n=1):
    counts[key] = counts.get(key, 0) + n


def corrector_at(problem, a: CurvePoint, s, st, counts, guess=None):
    """The point ``u(s)`` on the curve with ``a.t . (u - a.u) = s`` (context of ``a``)."""
    problem.set_context(a.ctx)
    g = a.u + s * a.t if guess is None else guess
    res = correct(problem, g, a.t, a.u, s, st.newton_tol, st.newton_max_iter + 4,
                  allow_singular=True)
    _count(counts, "newton_iterations", res.iterations)
    _count(counts, "locate_corrections")
    return res


def locate_zero(problem, a: CurvePoint, b: CurvePoint, psi, st, counts):
    """Locate ``psi(u, t) = 0`` on the curve between points ``a`` and ``b``.

    ``psi`` is evaluated on corrected points ``u(s)``, ``s`` in ``[0, s_b]`` with
    ``s_b = t_a . (u_b - u_a)``; Brent's method stops at ``|ds| <= locate_tol``.

    Returns ``(u, t, s)`` or ``None`` when the end values of ``psi`` do not bracket a zero
    or a correction fails.
    """
    s_b = float(a.t @ (b.u - a.u))
    if s_b == 0.0:
        return None
    cache = {}

    def u_of(s):
        if s in cache:
            return cache[s]
        guess = a.u + (s / s_b) * (b.u - a.u)
        res = corrector_at(problem, a, s, st, counts, guess=guess)
        if not res.converged:
            raise _LocateFailed(res.reason)
        J = problem.jacobian(res.u)
        t = tangent(J, a.t, allow_singular=True)
        cache[s] = (res.u, t)
        return cache[s]

    def f(s):
        u, t = u_of(s)
        _count(counts, "test_evaluations")
        return float(psi(u, t))

    try:
        fa, fb = f(0.0), f(s_b)
        if not (np.isfinite(fa) and np.isfinite(fb)) or fa * fb > 0:
            return None
        if fa == 0.0:
            s = 0.0
        elif fb == 0.0:
            s = s_b
        else:
            s = brentq(f, 0.0, s_b, xtol=st.locate_tol, rtol=4 * np.finfo(float).eps,
                       maxiter=200)
        u, t = u_of(s)
        return u, t, s
    except (_LocateFailed, np.linalg.LinAlgError, ValueError, RuntimeError):
        return None
    finally:
        problem.set_context(a.ctx)


class _LocateFailed(RuntimeError):
    pass


def _closed(points, u, ds):
    if len(points) < 8:
        return False
    u0 = points[0].u
    return np.linalg.norm(u - u0) < 0.5 * ds and points[0].t @ points[-1].t > 0.5


def trace(problem, start: CurvePoint, st, counts) -> TraceResult:
    """Trace the curve from ``start`` along ``start.t`` until a stop condition."""
    points = [start]
    ds = st.ds
    last_fail = "min_step"
    while True:
        if len(points) > st.max_points:
            return TraceResult(points, "max_points",
                               f"reached max_points = {st.max_points} in this direction; "
                               f"raise max_points or ds_max to go further")
        a = points[-1]
        problem.set_context(a.ctx)
        out = hard_bound_step(problem, a, ds, st) if problem.hard_bounds else None
        if out == "fail":
            _count(counts, "rejected_steps")
            if ds <= st.ds_min * 1.0001:
                return TraceResult(points, "min_step",
                                   f"step size fell below ds_min = {st.ds_min:g} while "
                                   f"approaching a parameter bound at {problem.describe(a.u)}; "
                                   f"try a smaller ds_min or a different start")
            ds = max(ds * st.step_decrease, st.ds_min)
            continue
        if out is not None:
            u_b, t_b, i_b = out
            _count(counts, "steps")
            problem.update_context(u_b, t_b)
            points.append(CurvePoint(u_b, t_b, problem.get_context(),
                                     problem.point_info(u_b, t_b)))
            return TraceResult(points, "bound",
                               f"reached the bound {problem.bound_names[i_b]} at "
                               f"{problem.describe(u_b)}", bound_index=i_b)
        res = correct(problem, a.u + ds * a.t, a.t, a.u, ds, st.newton_tol, st.newton_max_iter)
        _count(counts, "newton_iterations", res.iterations)
        ok = res.converged
        reason = res.reason
        t_new = None
        if ok:
            try:
                t_new = tangent(problem.jacobian(res.u), a.t)
            except (np.linalg.LinAlgError, ValueError):
                ok, reason = False, "singular"
            except ArithmeticError:
                ok, reason = False, "nonfinite"
        if ok and t_new @ a.t < st.max_angle_cos and ds > st.ds_min * 1.0001:
            ok, reason = False, "angle"
        if not ok:
            _count(counts, "rejected_steps")
            last_fail = reason
            if ds <= st.ds_min * 1.0001:
                why = FAILURE_TEXT.get(last_fail, last_fail)
                code = last_fail if last_fail in ("newton", "singular", "nonfinite") \
                    else "min_step"
                return TraceResult(
                    points, code,
                    f"step size fell below ds_min = {st.ds_min:g} ({why}) at "
                    f"{problem.describe(a.u)}; try a smaller ds_min or newton_tol, a larger "
                    f"newton_max_iter, or a different start")
            ds = max(ds * st.step_decrease, st.ds_min)
            continue
        _count(counts, "steps")
        # bounds
        g = problem.bounds(res.u)
        if np.any(g < 0):
            out = _cut_at_bound(problem, a, res.u, t_new, g, ds, st, counts)
            if out is not None:
                u_b, t_b, i_b = out
                u_b = problem.snap(u_b, i_b)
                problem.update_context(u_b, t_b)
                points.append(CurvePoint(u_b, t_b, problem.get_context(),
                                         problem.point_info(u_b, t_b)))
                return TraceResult(points, "bound",
                                   f"reached the bound {problem.bound_names[i_b]} at "
                                   f"{problem.describe(u_b)}", bound_index=i_b)
            return TraceResult(points, "bound",
                               f"left the bounds near {problem.describe(res.u)} "
                               f"(the crossing could not be refined)")
        problem.update_context(res.u, t_new)
        try:
            info = problem.point_info(res.u, t_new)
        except ArithmeticError:
            return TraceResult(points, "nonfinite",
                               f"non-finite Jacobian or eigenvalues at "
                               f"{problem.describe(res.u)}")
        points.append(CurvePoint(res.u, t_new, problem.get_context(), info, res.iterations))
        if st.verbose:
            print(f"  step {len(points) - 1}: {problem.describe(res.u)} ds={ds:.3g} "
                  f"newton={res.iterations}")
        if _closed(points, res.u, ds):
            return TraceResult(points, "closed", "the branch closed on itself (an isola or a "
                                                 "closed curve)")
        if res.iterations <= st.fast_newton:
            ds = min(ds * st.step_increase, st.ds_max)


def hard_bound_step(problem, a, ds, st):
    """Keep the coordinates listed in ``problem.hard_bounds`` (``[(j, lo, hi), ...]``) inside.

    The right-hand side is never evaluated outside these bounds. When the predictor
    ``a.u + ds a.t`` crosses one, the point exactly on the bound is computed instead (Newton
    on ``F(u) = 0, u_j = bound`` from the linear interpolation). Returns None (predictor
    inside), ``"fail"`` (shrink ``ds``) or ``(u, t, i)`` with ``i = 2 k`` (lower bound ``k``)
    or ``2 k + 1`` (upper) indexing ``problem.bound_names``.
    """
    pred = a.u + ds * a.t
    best = None
    for k, (j, lo, hi) in enumerate(problem.hard_bounds):
        if lo <= pred[j] <= hi:
            continue
        bnd, i = (lo, 2 * k) if pred[j] < lo else (hi, 2 * k + 1)
        theta = (bnd - a.u[j]) / (pred[j] - a.u[j])
        if best is None or theta < best[0]:
            best = (theta, j, bnd, i)
    if best is None:
        return None
    theta, j, bnd, i = best
    guess = a.u + theta * (pred - a.u)
    guess[j] = bnd
    e = np.zeros_like(a.u)
    e[j] = 1.0
    res = correct(problem, guess, e, np.zeros_like(a.u), bnd, st.newton_tol,
                  st.newton_max_iter + 4)
    if not res.converged or np.linalg.norm(res.u - a.u) > 2 * ds:
        return "fail"
    u = res.u
    u[j] = bnd
    try:
        t = tangent(problem.jacobian(u), a.t)
    except (np.linalg.LinAlgError, ArithmeticError, ValueError):
        return "fail"
    return u, t, i


def _cut_at_bound(problem, a, u_new, t_new, g_new, ds, st, counts):
    b = CurvePoint(u_new, t_new, a.ctx)
    best = None
    for i in np.flatnonzero(g_new < 0):
        def psi(u, t, i=i):
            return problem.bounds(u)[i]
        out = locate_zero(problem, a, b, psi, st, counts)
        if out is not None and (best is None or out[2] < best[2]):
            best = (out[0], out[1], out[2], i)
    if best is None:
        return None
    return best[0], best[1], int(best[3])
