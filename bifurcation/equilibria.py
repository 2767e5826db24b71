"""Continuation of equilibria in one parameter: ``continue_equilibria`` and ``switch_branch``.

The branch ``f(x, p) = 0`` is traced by pseudo-arclength continuation in ``u = (x, p)``
(:mod:`bifurcation.arclength`), with Newton correction, adaptive steps and the eigenvalues of
``f_x`` at every point (``stable``: every eigenvalue has a negative real part). Folds (LP),
Hopf points (HB) and branch points (BP) are detected by the test functions of
:mod:`bifurcation.testfunctions` and located by Brent's method on the test function to
``locate_tol`` in arclength, i.e. to Newton tolerance in ``(x, p)``.

Special-point data:

- ``"LP"``: ``"a"`` (fold normal-form coefficient,
  :func:`~bifurcation.normal_forms.fold_coefficient`), ``"test_lp"``, ``"eigenvalues"``;
- ``"HB"``: ``"omega"`` (angular frequency), ``"l1"`` (first Lyapunov coefficient; < 0
  supercritical, > 0 subcritical), ``"q"`` (complex critical right eigenvector,
  ``conj(q).q = 1``, ``Re q . Im q = 0``), ``"p"`` (left eigenvector, ``conj(p).q = 1``),
  ``"period"`` ``= 2 pi / omega``, ``"re_lambda"`` (test value at the located point),
  ``"eigenvalues"``;
- ``"BP"``: ``"test_bp"``, ``"tangent"`` (the branch's own tangent in ``(x, p)``) and
  ``"switch_tangent"`` (the other branch's tangent from the algebraic bifurcation equation).
  Continue the other branch with :func:`switch_branch` or ``continue_equilibria(bp_point)``.

Examples
--------
>>> import numpy as np
>>> from bifurcation import ODESystem, continue_equilibria
>>> def bruss(x, p):
...     A, B = p
...     return np.array([A - (B + 1) * x[0] + x[0] ** 2 * x[1], B * x[0] - x[0] ** 2 * x[1]])
>>> sys = ODESystem(bruss, 2, {"A": 1.0, "B": 1.5})
>>> br = continue_equilibria(sys, [1.0, 1.5], "B", (0.5, 4.0))
>>> hb = br.points("HB")[0]
>>> round(hb.params["B"], 8), round(hb.data["omega"], 8)
(2.0, 1.0)
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

from simulate.validation import ParameterError, check_number

from .arclength import CurvePoint, CurveProblem, corrector_at, locate_zero, trace
from .branch import Branch, Endpoint, SpecialPoint
from .newton import NonFinite, OutOfBounds, newton_solve, null_tangent, tangent
from .normal_forms import first_lyapunov, fold_coefficient
from .settings import ContinuationSettings, blas_limit
from .testfunctions import (
    complex_mask,
    eigen_nearest,
    eigen_summary,
    nearest_eigenvalue,
    pair_product,
    track_crossing,
    track_crossings,
)

__all__ = ["continue_equilibria", "switch_branch", "EquilibriumProblem"]


def _parse_state_bounds(system, state_bounds):
    out = []
    for key, (lo, hi) in (state_bounds or {}).items():
        if isinstance(key, str):
            if key not in system.state_names:
                raise ParameterError(
                    f"state_bounds: unknown state {key!r}; states are "
                    f"{system.state_names[:8]}{'...' if system.n_states > 8 else ''}")
            j = system.state_names.index(key)
        else:
            j = int(key)
            if not 0 <= j < system.n_states:
                raise ParameterError(f"state_bounds: index {j} is outside [0, "
                                     f"{system.n_states - 1}]")
        out.append((j, float(lo), float(hi)))
    return out


def dfdp_inside(system, x, p, idx, bounds):
    """Columns ``idx`` of df/dp, by differences that never step outside ``bounds``.

    Central differences ``(f(p + h) - f(p - h)) / 2h`` inside; second-order one-sided
    differences ``(-3 f(p) + 4 f(p + h) - f(p + 2h)) / 2h`` (mirrored at the upper bound)
    within ``2h`` of a bound. The analytic ``system.dfdp`` is used when given.
    """
    if system.dfdp_func is not None:
        return np.asarray(system.dfdp_func(x, p), float)[:, list(idx)]
    out = np.zeros((system.n_states, len(idx)))
    f0 = None
    for c, (i, (lo, hi)) in enumerate(zip(idx, bounds)):
        h = np.cbrt(np.finfo(float).eps) * max(1.0, abs(p[i]))

        def fp(d, i=i):
            q = p.copy()
            q[i] += d
            return system.rhs(x, q)

        if p[i] - h >= lo and p[i] + h <= hi:
            out[:, c] = (fp(h) - fp(-h)) / (2 * h)
        else:
            s = 1.0 if p[i] + 2 * h <= hi else -1.0
            if f0 is None:
                f0 = system.rhs(x, p)
            out[:, c] = s * (-3 * f0 + 4 * fp(s * h) - fp(2 * s * h)) / (2 * h)
    return out


class EquilibriumProblem(CurveProblem):
    """``F(x, p) = f(x, p)`` with one free parameter; ``u = (x / sx, p)``.

    The curve interface of :class:`bifurcation.arclength.CurveProblem` for a branch of
    equilibria: bounds are the parameter interval and any ``state_bounds`` of the settings;
    ``point_info`` stores the eigenvalues and the LP (last tangent component), BP (sign of the
    bordered determinant) and HB (products of eigenvalue pairs) test functions.
    """

    def __init__(self, system, param, p_full, lo, hi, st, sx=1.0):
        self.sx = float(sx)  # state scale: u = (x / sx, p)
        self.system = system
        self.param = param
        self.i = system.param_index[param]
        self.p = np.array(p_full, float)
        self.n = system.n_states
        self.lo, self.hi = float(lo), float(hi)
        self.st = st
        self.state_bounds = _parse_state_bounds(system, st.state_bounds)
        self.bound_names = [f"{param} = {lo:g}", f"{param} = {hi:g}"]
        self.hard_bounds = [(self.n, self.lo, self.hi)]
        for j, a, b in self.state_bounds:
            nm = system.state_names[j]
            self.bound_names += [f"{nm} = {a:g}", f"{nm} = {b:g}"]
        use_sparse = st.sparse
        if use_sparse is None:
            use_sparse = system.jac_sparsity is not None and self.n >= st.sparse_threshold
        self.sparse = bool(use_sparse)
        self.counts = {}

    # --- curve interface
    def xof(self, u):
        """The state of the unknown ``u = (x / sx, p)``."""
        return u[:-1] * self.sx

    def pvec(self, u):
        """The full parameter vector at ``u`` (the free parameter set to ``u[-1]``)."""
        p = self.p.copy()
        p[self.i] = u[-1]
        return p

    def residual(self, u):
        if not self.lo <= u[-1] <= self.hi:
            raise OutOfBounds(self.param)
        f = self.system.rhs(self.xof(u), self.pvec(u))
        if not np.all(np.isfinite(f)):
            raise NonFinite("rhs")
        return f

    def fx(self, u):
        """``f_x`` at ``u``: the system Jacobian, N x N."""
        return self.system.jacobian(self.xof(u), self.pvec(u))

    def fp(self, u):
        """``f_p`` at ``u`` (N x 1), by central differences kept inside the parameter bounds."""
        return dfdp_inside(self.system, self.xof(u), self.pvec(u), [self.i],
                           [(self.lo, self.hi)])

    def jacobian(self, u, J=None):
        """``[f_x sx | f_p]``, sparse when the system's sparsity pattern is used; ``J`` reuses
        an already computed ``f_x``."""
        J = self.fx(u) if J is None else J
        fp = self.fp(u)
        if self.sparse:
            return sp.hstack([sp.csr_matrix(J * self.sx), sp.csr_matrix(fp)], format="csc")
        return np.hstack([J * self.sx, fp])

    def bounds(self, u):
        g = [u[-1] - self.lo, self.hi - u[-1]]
        x = self.xof(u)
        for j, a, b in self.state_bounds:
            g += [x[j] - a, b - x[j]]
        return np.array(g)

    def snap(self, u, i, strict=False):
        """Put a point located on bound ``i`` exactly on it (re-solving for the rest)."""
        if i > 1:
            return u
        pb = self.lo if i == 0 else self.hi
        p = self.p.copy()
        p[self.i] = pb
        res = newton_solve(lambda x: self.system.rhs(x, p),
                           lambda x: self.system.jacobian(x, p), self.xof(u),
                           self.st.newton_tol, self.st.newton_max_iter)
        if res.converged:
            return np.append(res.u / self.sx, pb)
        return None if strict else u

    def point_info(self, u, t):
        J = self.fx(u)
        Fd = np.hstack([J * self.sx, self.fp(u)])
        if not np.all(np.isfinite(Fd)):
            raise NonFinite("jacobian")
        lam = np.linalg.eigvals(J)
        self.counts["eigen_decompositions"] = self.counts.get("eigen_decompositions", 0) + 1
        info = eigen_summary(lam, self.st.im_tol, self.st.stability_tol)
        info["eigenvalues"] = lam[np.argsort(-lam.real, kind="stable")]
        info["lp"] = float(t[-1])
        sign, logdet = np.linalg.slogdet(np.vstack([Fd, t[None, :]]))
        info["bp_sign"], info["bp_logdet"] = float(sign), float(logdet)
        info["hb_pairs"] = pair_product(lam) if self.n <= 12 else np.nan
        return info

    def get_context(self):
        return None

    def set_context(self, ctx):
        pass

    def update_context(self, u, t):
        pass

    def describe(self, u):
        return f"{self.param} = {u[-1]:.8g}"


# ----------------------------------------------------------------------------- detection
def _orient(points, sign):
    for pt in points:
        pt.t = sign * pt.t
        if "lp" in pt.info:
            pt.info["lp"] = float(pt.t[-1])
        if "bp_sign" in pt.info and sign < 0:  # one bordered row negated
            pt.info["bp_sign"] = -pt.info["bp_sign"]
    return points


def _bp_sign(problem, u, t):
    Fu = problem.jacobian(u)
    Fd = Fu.toarray() if sp.issparse(Fu) else Fu
    return np.linalg.slogdet(np.vstack([Fd, t[None, :]]))


def _detect(problem, points, st, counts):
    """Locate LP, HB and BP between consecutive points; returns a list of (kind, k, u, t, extra)."""
    found = []
    for k in range(len(points) - 1):
        a, b = points[k], points[k + 1]
        ia, ib = a.info, b.info
        if not ia or not ib:
            continue
        if st.detect_lp and ia["lp"] * ib["lp"] < 0:
            out = locate_zero(problem, a, b, lambda u, t: t[-1], st, counts)
            if out is not None:
                found.append(("LP", k, out[0], out[1], {"test_lp": float(out[1][-1])}))
        if st.detect_bp and ia["bp_sign"] * ib["bp_sign"] < 0:
            ref = ia["bp_logdet"]

            def psi_bp(u, t, ref=ref):
                s, ld = _bp_sign(problem, u, t)
                return s * np.exp(ld - ref)

            out = locate_zero(problem, a, b, psi_bp, st, counts)
            if out is not None:
                found.append(("BP", k, out[0], out[1], {"test_bp": 0.0}))
        if st.detect_hb:
            found += _hopf_in_interval(problem, a, b, st, counts, k, depth=0)
    # at a pitchfork the other branch turns exactly at the branch point: report BP only
    bps = [f[2] for f in found if f[0] == "BP"]
    found = [f for f in found if not (f[0] == "LP" and any(
        np.max(np.abs(f[2] - u)) <= 1e-6 * (1 + np.max(np.abs(u))) for u in bps))]
    return found


MAX_HB_SUBDIVISIONS = 3


def _hopf_in_interval(problem, a, b, st, counts, k, depth):
    """Locate every complex pair crossing the imaginary axis between points ``a`` and ``b``.

    Each crossing pair is tracked (nearest eigenvalue to the linear interpolation of its end
    values) and located by Brent's method on its real part. A located point is accepted only if
    an eigenvalue there has ``|Re| <= 1e-6 max(1, |lambda|)`` and non-zero imaginary part; when
    tracking is ambiguous (dense spectra, several pairs crossing in one step) the interval is
    halved, up to ``MAX_HB_SUBDIVISIONS`` (3) times.
    """
    ia, ib = a.info, b.info
    crossings = track_crossings(ia["eigenvalues"], ib["eigenvalues"], st.im_tol)
    if not crossings and ia["n_unstable_complex"] != ib["n_unstable_complex"]:
        c1 = track_crossing(ia["eigenvalues"], ib["eigenvalues"], st.im_tol)
        crossings = [] if c1 is None else [c1]
    if not crossings:
        return []
    s_b = float(a.t @ (b.u - a.u))
    found, ok = [], True
    for la, lb in crossings:

        def psi_hb(u, t, la=la, lb=lb):
            s = float(a.t @ (u - a.u))
            ref = la + (lb - la) * (s / s_b)
            J = problem.fx(u)
            if problem.n <= 20:
                return nearest_eigenvalue(np.linalg.eigvals(J), ref).real
            return eigen_nearest(J, ref).real

        out = locate_zero(problem, a, b, psi_hb, st, counts)
        if out is None:
            ok = False
            break
        lam = np.linalg.eigvals(problem.fx(out[0]))
        cm = complex_mask(lam, st.im_tol)
        crit = np.abs(lam.real) <= 1e-6 * np.maximum(1.0, np.abs(lam))
        if not np.any(crit & cm):
            ok = False
            break
        found.append(("HB", k, out[0], out[1], {"re_lambda": float(psi_hb(out[0], out[1]))}))
    if ok or depth >= MAX_HB_SUBDIVISIONS:
        return found
    # ambiguous: halve the interval and treat both halves
    res = corrector_at(problem, a, 0.5 * s_b, st, counts, guess=0.5 * (a.u + b.u))
    if not res.converged:
        return found
    try:
        t_m = tangent(problem.jacobian(res.u), a.t)
    except (np.linalg.LinAlgError, ArithmeticError):
        return found
    m = CurvePoint(res.u, t_m, a.ctx, problem.point_info(res.u, t_m))
    return (_hopf_in_interval(problem, a, m, st, counts, k, depth + 1)
            + _hopf_in_interval(problem, m, b, st, counts, k, depth + 1))


def _special_data(problem, kind, u, t, extra, st):
    sysm = problem.system
    x, p = problem.xof(u), problem.pvec(u)
    J = sysm.jacobian(x, p)
    lam = np.linalg.eigvals(J)
    data = dict(extra)
    data["eigenvalues"] = lam[np.argsort(-lam.real, kind="stable")]
    if kind == "LP" and st.normal_forms:
        a, q, w = fold_coefficient(sysm, x, p, J, st.fd_step)
        data.update(a=a, q=q, p=w)
    elif kind == "HB":
        cand = lam[lam.imag > 0]
        crit = cand[np.argmin(np.abs(cand.real))]
        l1, omega, q, pl = first_lyapunov(sysm, x, p, J, float(crit.imag), st.fd_step) \
            if st.normal_forms else (np.nan,) + (None,) * 3
        if omega is None:
            from .normal_forms import hopf_vectors
            omega, q, pl = hopf_vectors(J, float(crit.imag))
        data.update(omega=float(omega), l1=float(l1), q=q, p=pl,
                    period=float(2 * np.pi / omega))
    elif kind == "BP":
        data["tangent"] = t.copy()
        data["state_scale"] = problem.sx
        try:
            data["switch_tangent"] = _switch_direction(problem, u, t, st)
        except (np.linalg.LinAlgError, ValueError) as exc:
            data["switch_tangent"] = None
            data["switch_error"] = str(exc)
    return data


def _switch_direction(problem, u, t, st):
    """Tangent of the other branch at a simple branch point (algebraic bifurcation equation).

    With ``phi1, phi2`` spanning the null space of ``F_u`` and ``psi`` its left null vector,
    the tangents ``alpha phi1 + beta phi2`` of the two branches solve
    ``c11 alpha^2 + 2 c12 alpha beta + c22 beta^2 = 0``, ``cij = psi . F_uu(phi_i, phi_j)``.
    Returns the root least parallel to the current tangent ``t``.
    """
    Fu = problem.jacobian(u)
    Fd = Fu.toarray() if sp.issparse(Fu) else Fu
    U, s, Vt = np.linalg.svd(Fd)
    phi1, phi2 = Vt[-1], Vt[-2]
    psi = U[:, -1]
    h = st.fd_step * (1 + np.max(np.abs(u)))

    def F(v):
        return problem.residual(u + v)

    def Buu(a, b):
        return (F(h * (a + b)) - F(h * (a - b)) - F(h * (b - a)) + F(-h * (a + b))) / (4 * h * h)

    c11, c12, c22 = psi @ Buu(phi1, phi1), psi @ Buu(phi1, phi2), psi @ Buu(phi2, phi2)
    M = np.array([[c11, c12], [c12, c22]])
    mu, E = np.linalg.eigh(M)
    if mu[0] * mu[1] >= 0:
        raise ValueError("the algebraic bifurcation equation has no real roots "
                         "(not a simple branch point)")
    dirs = []
    for sgn in (1, -1):
        v = np.sqrt(abs(mu[1])) * E[:, 0] + sgn * np.sqrt(abs(mu[0])) * E[:, 1]
        d = v[0] * phi1 + v[1] * phi2
        dirs.append(d / np.linalg.norm(d))
    return min(dirs, key=lambda d: abs(d @ t))


# ----------------------------------------------------------------------------- driver
def _state_scale(st, x):
    """``sx`` of the unknown ``u = (x / sx, p)``: the setting, or ``max(1, |x0|_2)``."""
    if st.state_scale is not None:
        return float(st.state_scale)
    return float(max(1.0, np.linalg.norm(x)))


def _initial_point(system, x0, p, st):
    res = newton_solve(lambda x: system.rhs(x, p), lambda x: system.jacobian(x, p),
                       np.asarray(x0, float), st.newton_tol, max(st.newton_max_iter, 50),
                       damped=True)
    return res


def _system_counts(system):
    return dict(system.counts)


def continue_equilibria(system, x0=None, param=None, bounds=None, settings=None, **kwargs):
    """Continue a branch of equilibria of ``system`` in the parameter ``param``.

    Parameters
    ----------
    system : ODESystem or SpecialPoint
        The system; its current ``params`` give the start. A ``"BP"`` special point instead
        starts the *other* branch through that branch point (see :func:`switch_branch`); any
        other special point starts a new branch at its state and parameters.
    x0 : array_like (n_states,)
        Guess of the equilibrium at ``system.params[param]``; corrected by Newton.
    param : str
        Free parameter.
    bounds : (lo, hi)
        Interval of the free parameter; ``lo <= system.params[param] <= hi``. A start on a
        bound continues inward only.
    settings : ContinuationSettings, optional
    **kwargs
        Any field of :class:`~bifurcation.settings.ContinuationSettings` (``ds``, ``ds_min``,
        ``ds_max``, ``max_points``, ``newton_tol``, ``state_bounds``, ``detect_hb``, ...).

    Returns
    -------
    Branch
        ``kind == "EP"``; points ordered by signed arclength (``data["arclength"]``, 0 at
        the start, negative on the backward side); ``special_points`` (LP, HB, BP);
        ``endpoints`` (backward end first); ``status`` / ``message``; ``counts``.
    """
    st = ContinuationSettings.from_kwargs(settings, **kwargs)
    with blas_limit(st.blas_threads):
        return _continue_equilibria(system, x0, param, bounds, st)


def _continue_equilibria(system, x0, param, bounds, st):
    if isinstance(system, SpecialPoint):
        return _switch_branch(system, param, bounds, st) if system.kind == "BP" \
            else _restart(system, param, bounds, st)
    if param not in system.param_index:
        raise ParameterError(f"param = {param!r} is not a parameter of {system.name}; "
                             f"parameters are {list(system.params)}")
    lo, hi = _check_bounds(param, bounds)
    p0 = system.p0
    check_number(f"{param} (start value system.params[{param!r}])", p0[system.param_index[param]],
                 lo=lo, hi=hi)
    x0 = np.asarray(x0, float).ravel()
    if x0.shape != (system.n_states,):
        raise ParameterError(f"x0 has shape {x0.shape}; expected ({system.n_states},)")
    c0 = _system_counts(system)
    res = _initial_point(system, x0, p0, st)
    problem = EquilibriumProblem(system, param, p0, lo, hi, st)
    if not res.converged:
        return _failed_start(system, param, p0, x0, res, st, lo, hi)
    problem.sx = _state_scale(st, res.u)
    u0 = np.append(res.u / problem.sx, p0[problem.i])
    Fu = problem.jacobian(u0)
    t0 = null_tangent(Fu)
    k = -1 if abs(t0[-1]) > 1e-12 else int(np.argmax(np.abs(t0)))
    t0 = t0 * np.sign(t0[k])
    return _run_both(problem, u0, t0, st, c0, {"newton_start": res.iterations})


def _restart(point, param, bounds, st):
    br = point.branch
    sysm = br.system.with_params(**point.params)
    param = param or (br.param if isinstance(br.param, str) else br.param[0])
    bounds = bounds or br.settings.get("bounds")
    if isinstance(bounds, dict):
        bounds = bounds[param]
    return _continue_equilibria(sysm, point.x, param, bounds, st)


def _check_bounds(param, bounds):
    try:
        lo, hi = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise ParameterError(f"bounds = {bounds!r}: expected (lo, hi) for {param}") from None
    if not lo < hi:
        raise ParameterError(f"bounds = ({lo:g}, {hi:g}) for {param}: need lo < hi")
    return lo, hi


def _failed_start(system, param, p0, x0, res, st, lo, hi):
    n = system.n_states
    msg = (f"Newton did not converge at the start ({param} = {p0[system.param_index[param]]:g}; "
           f"residual {res.residual:.3g} after {res.iterations} iterations, {res.reason}); "
           f"give a better x0 (e.g. integrate the system to an equilibrium first) or change "
           f"the start parameter")
    return Branch("EP", system, param, {k: np.zeros(0) for k in system.params},
                  np.zeros((0, n)), np.zeros(0, bool), np.zeros((0, n), complex),
                  status=res.reason if res.reason != "converged" else "newton", message=msg,
                  counts={"newton_iterations": res.iterations},
                  settings={**st.as_dict(), "bounds": (lo, hi)})


def _run_both(problem, u0, t0, st, c0, counts, start_info=None):
    counts = dict(counts)
    problem.update_context(u0, t0)
    info0 = problem.point_info(u0, t0) if start_info is None else start_info
    p_start = u0[-1]
    on_lo = abs(p_start - problem.lo) <= 1e-14 * (1 + abs(p_start))
    on_hi = abs(p_start - problem.hi) <= 1e-14 * (1 + abs(p_start))
    do_fwd = st.direction in ("both", "forward")
    do_bwd = st.direction in ("both", "backward")
    if on_lo:  # continue inward only (t0 is oriented with t0[-1] >= 0)
        do_fwd, do_bwd = t0[-1] >= 0, t0[-1] < 0
    if on_hi:
        do_fwd, do_bwd = t0[-1] < 0, t0[-1] >= 0
    results = {}
    for name, sgn, go in (("backward", -1.0, do_bwd), ("forward", 1.0, do_fwd)):
        start = CurvePoint(u0.copy(), sgn * t0, problem.get_context(), dict(info0))
        if go:
            tr = trace(problem, start, st, counts)
        else:
            from .arclength import TraceResult
            why = "bound" if (on_lo or on_hi) else "direction"
            tr = TraceResult([start], why, "start on the bound" if why == "bound"
                             else f"not continued ({name}) by the direction setting")
        results[name] = tr
    back = _orient(results["backward"].points[::-1], -1.0)
    fwd = results["forward"].points
    # the start point appears in both; its info 'lp' must use the forward orientation
    points = back[:-1] + fwd
    i_start = len(back) - 1
    found = _detect(problem, points, st, counts)
    return _assemble(problem, points, found, results, i_start, st, c0, counts)


def _assemble(problem, points, found, results, i_start, st, c0, counts):
    system, param = problem.system, problem.param
    N = len(points)
    U = np.array([pt.u for pt in points])
    X = U[:, :problem.n] * problem.sx
    P = np.array([problem.pvec(u) for u in U])
    seg = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(U, axis=0), axis=1))]
    arclength = seg - seg[i_start]
    params = {k: P[:, i] for k, i in system.param_index.items()}
    eig = np.array([pt.info["eigenvalues"] for pt in points])
    stable = np.array([pt.info["stable"] for pt in points])
    outputs = {k: np.array([float(g(X[j], P[j])) for j in range(N)])
               for k, g in system.outputs.items()}
    sps = []
    for kind, k, u, t, extra in sorted(found, key=lambda f: (f[1], f[0])):
        data = _special_data(problem, kind, u, t, extra, st)
        sps.append(SpecialPoint(kind, system.params_dict(problem.pvec(u)), problem.xof(u),
                                data, index=k))
    ends = []
    msgs = []
    status = "success"
    for name, idx in (("backward", 0), ("forward", N - 1)):
        tr = results[name]
        u = points[idx].u
        ends.append(Endpoint(tr.reason, idx, system.params_dict(problem.pvec(u)),
                             problem.xof(u), tr.message))
        msgs.append(f"{name}: {tr.reason} ({tr.message})")
        if tr.reason not in Branch.REGULAR_STOPS + ("direction",) and status == "success":
            status = tr.reason
    sc = system.counts
    counts.update(
        points=N,
        rhs_evaluations=sc.get("rhs", 0) - c0.get("rhs", 0),
        jacobian_evaluations=sc.get("jac", 0) - c0.get("jac", 0),
        eigen_decompositions=problem.counts.get("eigen_decompositions", 0),
    )
    data = {
        "arclength": arclength,
        "test_lp": np.array([pt.info["lp"] for pt in points]),
        "test_bp_sign": np.array([pt.info["bp_sign"] for pt in points]),
        "test_hb_pairs": np.array([pt.info["hb_pairs"] for pt in points]),
        "n_unstable": np.array([pt.info["n_unstable_real"] + pt.info["n_unstable_complex"]
                                for pt in points]),
    }
    message = ("continuation finished; " if status == "success" else
               "continuation stopped early; ") + "; ".join(msgs)
    return Branch("EP", system, param, params, X, stable, eig, outputs, sps, ends, status,
                  message, counts, data,
                  settings={**st.as_dict(), "bounds": (problem.lo, problem.hi)})


def switch_branch(point, param=None, bounds=None, settings=None, **kwargs):
    """Continue the other branch through a branch point ``point`` (kind ``"BP"``).

    The new branch starts one step ``ds`` along ``point.data["switch_tangent"]`` (the root of
    the algebraic bifurcation equation transversal to the old branch), is corrected by Newton
    on the hyperplane orthogonal to that direction, and is continued in both directions (so
    it passes through the branch point again, where it reports a ``"BP"`` too).
    """
    st = ContinuationSettings.from_kwargs(settings, **kwargs)
    with blas_limit(st.blas_threads):
        return _switch_branch(point, param, bounds, st)


def _switch_branch(point, param, bounds, st):
    if point.kind != "BP":
        raise ParameterError(f"switch_branch needs a 'BP' point, got {point.kind!r}")
    br = point.branch
    st = dataclasses.replace(st)  # a copy: ds is changed below
    param = param or br.param
    lo, hi = _check_bounds(param, bounds or br.settings.get("bounds"))
    system = br.system
    d = point.data.get("switch_tangent")
    if d is None:
        raise ParameterError("this branch point has no switch_tangent ("
                             f"{point.data.get('switch_error', 'not computed')})")
    p0 = system.param_vector(**point.params)
    problem = EquilibriumProblem(system, param, p0, lo, hi, st)
    problem.sx = float(point.data.get("state_scale", 1.0))
    ub = np.append(point.x / problem.sx, point.params[param])
    c0 = _system_counts(system)
    from .newton import correct, tangent
    for _ in range(12):
        res = correct(problem, ub + st.ds * d, d, ub, st.ds, st.newton_tol, st.newton_max_iter)
        if res.converged:
            break
        st.ds *= 0.5
    if not res.converged:
        return _failed_start(system, param, p0, point.x, res, st, lo, hi)
    t1 = tangent(problem.jacobian(res.u), d)
    if t1[-1] < 0:
        t1 = -t1
    return _run_both(problem, res.u, t1, st, c0, {"newton_start": res.iterations})
