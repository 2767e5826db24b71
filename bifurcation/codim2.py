"""Curves of folds and Hopf points in two parameters: ``continue_codim2``.

Defining systems (Kuznetsov, *Elements of Applied Bifurcation Theory*, §10.2; Govaerts,
*Numerical Methods for Bifurcations of Dynamical Equilibria*):

- **fold curve** (``"LP-curve"``), minimally augmented, unknowns ``u = (x, p1, p2)``:

  .. math::

     f(x, p) = 0, \\qquad g(x, p) = 0, \\qquad
     \\begin{pmatrix} f_x & b \\\\ c^T & 0 \\end{pmatrix}
     \\begin{pmatrix} v \\\\ g \\end{pmatrix} = \\begin{pmatrix} 0 \\\\ 1 \\end{pmatrix},

  with bordering vectors ``b, c`` (approximate left/right null vectors, refreshed at every
  accepted point). ``g_z = -w^T (f_x)_z v`` with ``w`` from the transposed bordered system.
- **Hopf curve** (``"HB-curve"``), standard system, unknowns ``u = (x, v, kappa, p1, p2)``:

  .. math::

     f(x, p) = 0, \\quad (f_x^2 + \\kappa I) v = 0, \\quad r_1 . v = 1, \\quad r_2 . v = 0,

  ``kappa = omega^2`` at Hopf points; the curve continues smoothly through a
  Bogdanov–Takens point into neutral saddles (``kappa < 0``, eigenvalues ``+-sqrt(-kappa)``),
  which are kept on the curve but flagged by ``data["kappa"] < 0`` (they are not Hopf points).

Derivatives of ``f_x`` along vectors are central differences of the Jacobian
(``M_v = [f_x(x + h v) - f_x(x - h v)] / 2h``, whose ``k``-th column is ``B(v, e_k)``).

Codimension-two points (test function, located by Brent's method on the curve):

- on LP-curves: ``"CP"`` cusp (``psi = w . B(v, v)``, the fold coefficient ``a``), ``"BT"``
  (``psi = w . v``: the zero eigenvalue becomes double), ``"ZH"`` (a complex pair of the other
  eigenvalues crosses the imaginary axis);
- on HB-curves: ``"BT"`` (``psi = kappa``), ``"GH"`` Bautin (``psi = l1``), ``"ZH"`` (``psi =
  det f_x``, with ``kappa > 0`` on both sides), ``"HH"`` (a second complex pair crosses).

Data: CP ``"c"`` (cusp coefficient); BT ``"a"``, ``"b"`` (normal-form coefficients); GH
``"l1"`` (~0) and ``"omega"``; ZH ``"omega"``; HH ``"omega1"``, ``"omega2"``.

Points of cycles (``"LPC"``, ``"PD"``, ``"NS"``) are passed on to
``bifurcation.cycles.continue_cycle_codim2``.

Examples
--------
>>> bnds = {"A": (0.5, 2), "B": (0, 6)}
>>> curve = continue_codim2(hb, params=("A", "B"), bounds=bnds)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import importlib

import numpy as np

from simulate.validation import ParameterError

from .arclength import CurvePoint, CurveProblem, TraceResult, locate_zero, trace
from .branch import Branch, Endpoint, SpecialPoint
from .equilibria import dfdp_inside
from .newton import LinearSolver, NonFinite, OutOfBounds, null_tangent
from .normal_forms import (
    Multilinear,
    bt_coefficients,
    cusp_coefficient,
    first_lyapunov,
    hopf_vectors,
)
from .settings import ContinuationSettings, blas_limit
from .testfunctions import complex_mask, nearest_eigenvalue, track_crossing

__all__ = ["continue_codim2", "FoldCurveProblem", "HopfCurveProblem"]


def _dJdp(system, x, p, i, lo, hi, h=1e-5):
    """``d f_x / d p_i`` by differences of the Jacobian that stay inside ``[lo, hi]``."""
    hh = h * max(1.0, abs(p[i]))

    def J(d):
        q = p.copy()
        q[i] += d
        return system.jacobian(x, q)

    if p[i] - hh >= lo and p[i] + hh <= hi:
        return (J(hh) - J(-hh)) / (2 * hh)
    s = 1.0 if p[i] + 2 * hh <= hi else -1.0
    return s * (-3 * J(0.0) + 4 * J(s * hh) - J(2 * s * hh)) / (2 * hh)


class _Codim2Base(CurveProblem):
    """Shared part of the codim-2 curve problems: ``u = (x / sx, aux..., p1, p2)``.

    Besides the :class:`bifurcation.arclength.CurveProblem` interface, a codim-2 problem
    provides ``detect(a, b, counts)`` (the codim-2 points located between two accepted points)
    and ``special_data(kind, u, extra)`` (the data stored with such a point).
    """

    kind = ""

    def __init__(self, system, params, p_full, bounds, st, sx=1.0):
        self.sx = float(sx)  # the state part of u is x / sx
        self.system = system
        self.names = tuple(params)
        self.idx = [system.param_index[k] for k in params]
        self.p = np.array(p_full, float)
        self.n = system.n_states
        self.pb = [tuple(map(float, bounds[k])) for k in params]
        self.st = st
        self.h = st.fd_step
        self.counts = {}
        self.bound_names = []
        for k, (lo, hi) in zip(self.names, self.pb):
            self.bound_names += [f"{k} = {lo:g}", f"{k} = {hi:g}"]
        m = self.n_unknowns
        self.hard_bounds = [(m - 2, *self.pb[0]), (m - 1, *self.pb[1])]

    def xof(self, u):
        """The state ``x`` of the unknown ``u``."""
        return u[:self.n] * self.sx

    def pvec(self, u):
        """The full parameter vector at ``u`` (the two free parameters are the last two
        unknowns)."""
        p = self.p.copy()
        p[self.idx[0]] = u[-2]
        p[self.idx[1]] = u[-1]
        return p

    def check(self, u):
        """Raise ``OutOfBounds`` if a free parameter is outside its interval."""
        for (j, lo, hi) in self.hard_bounds:
            if not lo <= u[j] <= hi:
                raise OutOfBounds(self.bound_names[0])

    def bounds(self, u):
        g = []
        for (j, lo, hi) in self.hard_bounds:
            g += [u[j] - lo, hi - u[j]]
        return np.array(g)

    def fx(self, u):
        """``f_x`` at ``u``, N x N."""
        return self.system.jacobian(self.xof(u), self.pvec(u))

    def detect(self, a, b, counts):
        """Codim-2 points between accepted points ``a`` and ``b``: a list of
        ``(kind, (u, t), data)``."""
        raise NotImplementedError

    def special_data(self, kind, u, extra):
        """The data stored with a located codim-2 point of type ``kind`` (normal-form
        coefficients where the settings ask for them), starting from ``extra``."""
        raise NotImplementedError

    def f_and_fp(self, u):
        """``f(x, p)`` at ``u``, checked finite (``NonFinite`` otherwise)."""
        x, p = self.xof(u), self.pvec(u)
        f = self.system.rhs(x, p)
        if not np.all(np.isfinite(f)):
            raise NonFinite("rhs")
        return f

    def fp(self, u):
        """``f_p`` with respect to both free parameters (N x 2), kept inside their bounds."""
        return dfdp_inside(self.system, self.xof(u), self.pvec(u), self.idx, self.pb)

    def Mv(self, x, p, v):
        """``[f_x(x + h v) - f_x(x - h v)] / 2h``: column k is ``B(v, e_k)``."""
        nv = np.linalg.norm(v)
        if nv == 0:
            return np.zeros((self.n, self.n))
        h = self.h * (1 + np.max(np.abs(x))) / nv
        return (self.system.jacobian(x + h * v, p) - self.system.jacobian(x - h * v, p)) / (2 * h)

    def Jp(self, u):
        """``d f_x / d p_k`` for both free parameters (list of two N x N matrices)."""
        x, p = self.xof(u), self.pvec(u)
        return [_dJdp(self.system, x, p, i, lo, hi) for i, (lo, hi) in zip(self.idx, self.pb)]

    def describe(self, u):
        return ", ".join(f"{k} = {v:.8g}" for k, v in zip(self.names, u[-2:]))

    def eig(self, u):
        """Eigenvalues of ``f_x`` at ``u`` (counted in ``counts``)."""
        lam = np.linalg.eigvals(self.fx(u))
        self.counts["eigen_decompositions"] = self.counts.get("eigen_decompositions", 0) + 1
        return lam


# ----------------------------------------------------------------------------- fold curve
class FoldCurveProblem(_Codim2Base):
    """Minimally augmented fold curve, ``u = (x, p1, p2)``.

    ``F(u) = (f(x, p), g(x, p))`` with ``g`` the last component of the solution of the bordered
    system ``[[f_x, b], [c^T, 0]] (v, g) = (0, 1)``; ``g = 0`` exactly where ``f_x`` is
    singular. Test functions along the curve: BT ``psi = w . v`` (the null vectors become
    orthogonal), CP ``psi = w . B(v, v)`` (the fold's quadratic coefficient vanishes), ZH (a
    complex pair of the remaining eigenvalues crosses the imaginary axis).
    """

    kind = "LP-curve"

    def __init__(self, system, params, p_full, bounds, st, b, c, sx=1.0):
        self.n_unknowns = system.n_states + 2
        super().__init__(system, params, p_full, bounds, st, sx)
        self.b, self.c = b / np.linalg.norm(b), c / np.linalg.norm(c)

    def _border(self, J):
        n = self.n
        M = np.zeros((n + 1, n + 1))
        M[:n, :n] = J
        M[:n, n] = self.b
        M[n, :n] = self.c
        return LinearSolver(M)

    def _vw(self, J):
        lu = self._border(J)
        e = np.zeros(self.n + 1)
        e[-1] = 1.0
        vg = lu.solve(e)
        wg = lu.solve(e, trans=True)
        return vg[:-1], vg[-1], wg[:-1]

    def residual(self, u):
        self.check(u)
        f = self.f_and_fp(u)
        _, g, _ = self._vw(self.fx(u))
        return np.append(f, g)

    def jacobian(self, u):
        x, p = self.xof(u), self.pvec(u)
        J = self.fx(u)
        v, _, w = self._vw(J)
        gx = -(w @ self.Mv(x, p, v)) * self.sx
        gp = [-(w @ (Jp @ v)) for Jp in self.Jp(u)]
        top = np.hstack([J * self.sx, self.fp(u)])
        return np.vstack([top, np.r_[gx, gp][None, :]])

    def get_context(self):
        return (self.b.copy(), self.c.copy())

    def set_context(self, ctx):
        if ctx is not None:
            self.b, self.c = ctx[0].copy(), ctx[1].copy()

    def update_context(self, u, t):
        v, _, w = self._vw(self.fx(u))
        self.b, self.c = w / np.linalg.norm(w), v / np.linalg.norm(v)

    def vectors(self, u):
        """Unit right and left null vectors ``(v, w)`` of ``f_x`` from the bordered system."""
        v, _, w = self._vw(self.fx(u))
        return v / np.linalg.norm(v), w / np.linalg.norm(w)

    def psi_bt(self, u, t=None):
        """Bogdanov–Takens test function ``w . v``."""
        v, w = self.vectors(u)
        return float(w @ v)

    def psi_cp(self, u, t=None):
        """Cusp test function ``w . B(v, v)`` (B the second derivative of f)."""
        v, w = self.vectors(u)
        ml = Multilinear(self.system, self.xof(u), self.pvec(u), self.h)
        return float(w @ ml.B(v, v))

    def point_info(self, u, t):
        lam = self.eig(u)
        i0 = np.argmin(np.abs(lam))
        rest = np.delete(lam, i0)
        cm = complex_mask(rest, self.st.im_tol)
        info = {
            "eigenvalues": lam[np.argsort(-lam.real, kind="stable")],
            "rest": rest,
            "stable": bool(np.all(rest.real < 0)),
            "n_unstable_complex": int(np.sum((rest.real > 0) & cm)),
            "bt": self.psi_bt(u),
            "cp": self.psi_cp(u) if self.st.detect_codim2 else np.nan,
        }
        return info

    def detect(self, a, b, counts):
        st, found = self.st, []
        ia, ib = a.info, b.info
        if ia["bt"] * ib["bt"] < 0:
            out = locate_zero(self, a, b, self.psi_bt, st, counts)
            if out is not None:
                found.append(("BT", out, {"test_bt": self.psi_bt(out[0])}))
        if ia["cp"] * ib["cp"] < 0:
            out = locate_zero(self, a, b, self.psi_cp, st, counts)
            if out is not None:
                found.append(("CP", out, {"test_cp": self.psi_cp(out[0])}))
        if ia["n_unstable_complex"] != ib["n_unstable_complex"]:
            out = _locate_pair(self, a, b, ia["rest"], ib["rest"], st, counts, exclude=None)
            if out is not None:
                found.append(("ZH", out[0], {"omega": out[1]}))
        return found

    def special_data(self, kind, u, extra):
        x, p = self.xof(u), self.pvec(u)
        data = dict(extra)
        if kind == "CP" and self.st.normal_forms:
            data["c"] = cusp_coefficient(self.system, x, p, None, self.h)
        if kind == "BT" and self.st.normal_forms:
            data["a"], data["b"] = bt_coefficients(self.system, x, p, None, self.h)
        return data


# ----------------------------------------------------------------------------- Hopf curve
class HopfCurveProblem(_Codim2Base):
    """Standard Hopf defining system, ``u = (x, v, kappa, p1, p2)``.

    ``F(u) = (f(x, p), (f_x^2 + kappa I) v, r1 . v - 1, r2 . v)``: at a Hopf point ``f_x`` has
    eigenvalues ``+-i sqrt(kappa)`` and ``v`` spans the real part of their eigenspace;
    ``kappa < 0`` continues through neutral saddles. Test functions: BT (``kappa`` through 0),
    GH (first Lyapunov coefficient ``l1`` through 0), ZH (``det f_x`` through 0), HH (another
    complex pair crosses).
    """

    kind = "HB-curve"

    def __init__(self, system, params, p_full, bounds, st, r1, r2, sx=1.0):
        self.n_unknowns = 2 * system.n_states + 3
        super().__init__(system, params, p_full, bounds, st, sx)
        self.r1, self.r2 = r1, r2

    def split(self, u):
        """``(x, v, kappa)`` of the unknown ``u``."""
        n = self.n
        return u[:n] * self.sx, u[n:2 * n], u[2 * n]

    def residual(self, u):
        self.check(u)
        f = self.f_and_fp(u)
        x, v, kap = self.split(u)
        J = self.fx(u)
        r = J @ (J @ v) + kap * v
        return np.concatenate([f, r, [self.r1 @ v - 1.0, self.r2 @ v]])

    def jacobian(self, u):
        n = self.n
        x, v, kap = self.split(u)
        p = self.pvec(u)
        J = self.fx(u)
        Jv = J @ v
        fp = self.fp(u)
        Jps = self.Jp(u)
        D = np.zeros((2 * n + 2, 2 * n + 3))
        D[:n, :n] = J * self.sx
        D[:n, -2:] = fp
        D[n:2 * n, :n] = (J @ self.Mv(x, p, v) + self.Mv(x, p, Jv)) * self.sx
        D[n:2 * n, n:2 * n] = J @ J + kap * np.eye(n)
        D[n:2 * n, 2 * n] = v
        for c, Jp in enumerate(Jps):
            D[n:2 * n, 2 * n + 1 + c] = Jp @ Jv + J @ (Jp @ v)
        D[2 * n, n:2 * n] = self.r1
        D[2 * n + 1, n:2 * n] = self.r2
        return D

    def get_context(self):
        return (self.r1.copy(), self.r2.copy())

    def set_context(self, ctx):
        if ctx is not None:
            self.r1, self.r2 = ctx[0].copy(), ctx[1].copy()

    def update_context(self, u, t):
        _, v, _ = self.split(u)
        Jv = self.fx(u) @ v
        self.r1 = v / (v @ v)
        r2 = Jv - (v @ Jv) / (v @ v) * v
        self.r2 = r2 / max(np.linalg.norm(r2), 1e-300)

    def critical(self, lam, kap):
        """Indices of the critical pair (nearest +-i sqrt(kappa) or +-sqrt(-kappa))."""
        target = np.sqrt(complex(-kap))
        i1 = np.argmin(np.abs(lam - target))
        d = np.abs(lam - np.conj(target) if kap > 0 else lam + target)
        d[i1] = np.inf
        return i1, int(np.argmin(d))

    def rest(self, lam, kap):
        """The eigenvalues ``lam`` without the critical pair of ``kappa``."""
        i1, i2 = self.critical(lam, kap)
        return np.delete(lam, [i1, i2])

    def l1(self, u):
        """First Lyapunov coefficient at ``u`` (NaN for ``kappa <= 0`` or when it fails)."""
        x, v, kap = self.split(u)
        if kap <= 0:
            return np.nan
        try:
            return first_lyapunov(self.system, x, self.pvec(u), None, np.sqrt(kap), self.h)[0]
        except (ValueError, np.linalg.LinAlgError):
            return np.nan

    def logdet(self, u):
        """``(sign, log|det f_x|)`` at ``u``: the zero-Hopf test function without overflow."""
        return np.linalg.slogdet(self.fx(u))

    def point_info(self, u, t):
        _, _, kap = self.split(u)
        lam = self.eig(u)
        rest = self.rest(lam, kap)
        cm = complex_mask(rest, self.st.im_tol)
        sgn, ld = self.logdet(u)
        return {
            "eigenvalues": lam[np.argsort(-lam.real, kind="stable")],
            "rest": rest,
            "kappa": float(kap),
            "stable": bool(np.all(rest.real < 0)),
            "n_unstable_complex": int(np.sum((rest.real > 0) & cm)),
            "det_sign": float(sgn), "det_log": float(ld),
            "l1": self.l1(u) if self.st.detect_codim2 and self.st.normal_forms else np.nan,
        }

    def detect(self, a, b, counts):
        st, found = self.st, []
        ia, ib = a.info, b.info
        n = self.n
        if ia["kappa"] * ib["kappa"] < 0:
            out = locate_zero(self, a, b, lambda u, t: u[2 * n], st, counts)
            if out is not None:
                found.append(("BT", out, {"kappa": float(out[0][2 * n])}))
            return found
        if ia["kappa"] <= 0 or ib["kappa"] <= 0:
            return found  # neutral saddles: no Hopf-type codim-2 points
        if np.isfinite(ia["l1"]) and np.isfinite(ib["l1"]) and ia["l1"] * ib["l1"] < 0:
            out = locate_zero(self, a, b, lambda u, t: self.l1(u), st, counts)
            # l1 also changes sign through a pole (at a zero-Hopf point, where f_x is
            # singular): accept only a true zero
            if out is not None:
                l1 = self.l1(out[0])
                if abs(l1) <= 1e-4 * max(abs(ia["l1"]), abs(ib["l1"])):
                    found.append(("GH", out, {"l1": l1}))
        if ia["det_sign"] * ib["det_sign"] < 0:
            ref = ia["det_log"]

            def psi(u, t, ref=ref):
                s, ld = self.logdet(u)
                return s * np.exp(ld - ref)

            out = locate_zero(self, a, b, psi, st, counts)
            if out is not None:
                found.append(("ZH", out, {}))
        if ia["n_unstable_complex"] != ib["n_unstable_complex"]:
            out = _locate_pair(self, a, b, ia["rest"], ib["rest"], st, counts,
                               exclude=True)
            if out is not None:
                found.append(("HH", out[0], {"omega2": out[1]}))
        return found

    def special_data(self, kind, u, extra):
        _, v, kap = self.split(u)
        data = dict(extra)
        data["kappa"] = float(kap)
        if kap > 0:
            data["omega"] = float(np.sqrt(kap))
        if kind == "HH":
            data["omega1"] = data.get("omega")
        if kind == "BT" and self.st.normal_forms:
            x, p = self.xof(u), self.pvec(u)
            data["a"], data["b"] = bt_coefficients(self.system, x, p, None, self.h)
        if kind == "GH":
            data["omega"] = float(np.sqrt(kap))
        return data


def _locate_pair(problem, a, b, rest_a, rest_b, st, counts, exclude):
    """Locate where a complex pair among the non-critical eigenvalues crosses the axis."""
    cross = track_crossing(rest_a, rest_b, st.im_tol)
    if cross is None:
        return None
    la, lb = cross
    s_b = float(a.t @ (b.u - a.u))

    def psi(u, t):
        s = float(a.t @ (u - a.u))
        ref = la + (lb - la) * (s / s_b)
        lam = problem.eig(u)
        if exclude:
            lam = problem.rest(lam, problem.split(u)[2])
        else:
            lam = np.delete(lam, np.argmin(np.abs(lam)))
        return nearest_eigenvalue(lam, ref).real

    out = locate_zero(problem, a, b, psi, st, counts)
    if out is None:
        return None
    lam = problem.eig(out[0])
    om = abs(nearest_eigenvalue(lam, 0.5 * (la + lb)).imag)
    return out, float(om)


# ----------------------------------------------------------------------------- driver
def continue_codim2(point, params, bounds, settings=None, **kwargs):
    """Continue a fold (``"LP"``) or Hopf (``"HB"``) point in two parameters.

    Parameters
    ----------
    point : SpecialPoint
        An ``"LP"`` or ``"HB"`` point of an equilibrium branch (or ``"LPC"``, ``"PD"``,
        ``"NS"`` of a cycle branch: passed to ``bifurcation.cycles.continue_cycle_codim2``).
    params : (str, str)
        The two free parameters.
    bounds : dict
        ``{p1: (lo, hi), p2: (lo, hi)}``; the point's values must lie inside.
    settings : ContinuationSettings, optional
    **kwargs
        Fields of :class:`~bifurcation.settings.ContinuationSettings`.

    Returns
    -------
    Branch
        ``kind`` ``"LP-curve"`` or ``"HB-curve"``, ``param == params``; ``states`` the
        equilibria along the curve; ``stable`` whether every non-critical eigenvalue has a
        negative real part; ``data["kappa"]`` (HB-curve: ``omega^2``, negative on neutral
        saddles) and ``data["omega"]``; codimension-two points in ``special_points``;
        continued in both directions. When no step succeeds with the given ``fd_step`` (as on a
        right-hand side that is only piecewise smooth), the run is repeated once with
        ``fd_step = 3e-3`` and the message says so.
    """
    if not isinstance(point, SpecialPoint):
        raise ParameterError(f"point must be a SpecialPoint, got {type(point).__name__}")
    if point.kind in ("LPC", "PD", "NS"):
        try:
            mod = importlib.import_module("bifurcation.cycles")
            fn = mod.continue_cycle_codim2
        except (ImportError, AttributeError):
            raise ParameterError(f"codimension-two continuation of {point.kind!r} points "
                                 "needs bifurcation.cycles.continue_cycle_codim2, which is "
                                 "not available in this build") from None
        return fn(point, params=params, bounds=bounds, settings=settings, **kwargs)
    if point.kind not in ("LP", "HB"):
        raise ParameterError(f"point.kind = {point.kind!r}: continue_codim2 starts from 'LP' "
                             f"or 'HB' (or cycle points 'LPC', 'PD', 'NS')")
    st = ContinuationSettings.from_kwargs(settings, **kwargs)
    with blas_limit(st.blas_threads):
        curve = _continue_codim2(point, params, bounds, st)
        if len(curve) <= 1 and not curve.success and st.fd_step < 3e-3:
            # no step at all: typical of a right-hand side that is only piecewise smooth,
            # where differences of the Jacobian with a small step see the kinks; retry once
            # with a larger difference step (it averages over them)
            retry = dataclasses.replace(st, fd_step=3e-3,
                                        newton_max_iter=max(st.newton_max_iter, 12))
            curve2 = _continue_codim2(point, params, bounds, retry)
            if len(curve2) > 1:
                curve2.message += (f" [retried with fd_step = 3e-3 and newton_max_iter = "
                                   f"{retry.newton_max_iter} after no step succeeded with "
                                   f"fd_step = {st.fd_step:g}: the right-hand side may not be "
                                   f"smooth]")
                return curve2
        return curve


def _continue_codim2(point, params, bounds, st):
    system = point.branch.system
    params = tuple(params)
    if len(params) != 2 or params[0] == params[1]:
        raise ParameterError(f"params = {params!r}: expected two different parameter names")
    for k in params:
        if k not in system.param_index:
            raise ParameterError(f"{k!r} is not a parameter of {system.name}; parameters are "
                                 f"{list(system.params)}")
        if k not in bounds:
            raise ParameterError(f"bounds has no entry for {k!r}; give bounds={{{params[0]!r}: "
                                 f"(lo, hi), {params[1]!r}: (lo, hi)}}")
        lo, hi = map(float, bounds[k])
        if not lo <= point.params[k] <= hi:
            raise ParameterError(f"{k} = {point.params[k]:g} (at the start point) is outside "
                                 f"the bounds [{lo:g}, {hi:g}]")
    p_full = system.param_vector(**point.params)
    x = np.asarray(point.x, float)
    J = system.jacobian(x, p_full)
    c0 = dict(system.counts)
    sx = float(st.state_scale) if st.state_scale is not None else float(
        max(1.0, np.linalg.norm(x)))
    if point.kind == "LP":
        U, s, Vt = np.linalg.svd(J)
        problem = FoldCurveProblem(system, params, p_full, bounds, st, U[:, -1], Vt[-1], sx)
        u0 = np.r_[x / sx, p_full[problem.idx]]
    else:
        omega = point.data.get("omega")
        omega, q, _ = hopf_vectors(J, omega)
        v = q.real / np.linalg.norm(q.real)
        Jv = J @ v
        r2 = Jv - (v @ Jv) * v
        problem = HopfCurveProblem(system, params, p_full, bounds, st, v.copy(),
                                   r2 / np.linalg.norm(r2), sx)
        u0 = np.r_[x / sx, v, omega ** 2, p_full[problem.idx]]
    # correct the start on the defining system (it is a located point already)
    from .newton import correct
    Fu = problem.jacobian(u0)
    t0 = null_tangent(Fu)
    res = correct(problem, u0, t0, u0, 0.0, st.newton_tol, st.newton_max_iter + 10)
    counts = {"newton_start": res.iterations}
    if res.converged:
        u0 = res.u
    problem.update_context(u0, t0)
    t0 = null_tangent(problem.jacobian(u0))
    k = -2 if abs(t0[-2]) > 1e-12 else -1
    t0 = t0 * np.sign(t0[k])
    info0 = problem.point_info(u0, t0)
    results = {}
    for name, sgn in (("backward", -1.0), ("forward", 1.0)):
        problem.update_context(u0, t0)
        start = CurvePoint(u0.copy(), sgn * t0, problem.get_context(), dict(info0))
        if st.direction in ("both", name):
            results[name] = trace(problem, start, st, counts)
        else:
            results[name] = TraceResult([start], "direction", f"not continued ({name})")
    back = results["backward"].points[::-1]
    for pt in back:
        pt.t = -pt.t
    points = back[:-1] + results["forward"].points
    i_start = len(back) - 1
    found = []
    if st.detect_codim2:
        for k in range(len(points) - 1):
            for kind, out, extra in problem.detect(points[k], points[k + 1], counts):
                found.append((kind, k, out[0], extra))
    return _assemble(problem, points, found, results, i_start, st, c0, counts)


def _assemble(problem, points, found, results, i_start, st, c0, counts):
    system = problem.system
    n = problem.n
    N = len(points)
    U = np.array([pt.u for pt in points])
    X = U[:, :n] * problem.sx
    P = np.array([problem.pvec(u) for u in U])
    seg = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(U, axis=0), axis=1))]
    data = {"arclength": seg - seg[i_start]}
    if isinstance(problem, HopfCurveProblem):
        kap = U[:, 2 * n]
        data["kappa"] = kap
        data["omega"] = np.where(kap > 0, np.sqrt(np.abs(kap)), np.nan)
        data["l1"] = np.array([pt.info.get("l1", np.nan) for pt in points])
    else:
        data["test_bt"] = np.array([pt.info["bt"] for pt in points])
        data["test_cp"] = np.array([pt.info["cp"] for pt in points])
    sps = []
    for kind, k, u, extra in sorted(found, key=lambda f: f[1]):
        sps.append(SpecialPoint(kind, system.params_dict(problem.pvec(u)), problem.xof(u),
                                problem.special_data(kind, u, extra), index=k))
    ends, msgs, status = [], [], "success"
    for name, idx in (("backward", 0), ("forward", N - 1)):
        tr = results[name]
        u = points[idx].u
        ends.append(Endpoint(tr.reason, idx, system.params_dict(problem.pvec(u)),
                             problem.xof(u), tr.message))
        msgs.append(f"{name}: {tr.reason} ({tr.message})")
        if tr.reason not in Branch.REGULAR_STOPS + ("direction",) and status == "success":
            status = tr.reason
    counts.update(points=N, rhs_evaluations=system.counts["rhs"] - c0.get("rhs", 0),
                  jacobian_evaluations=system.counts["jac"] - c0.get("jac", 0),
                  eigen_decompositions=problem.counts.get("eigen_decompositions", 0))
    message = ("continuation finished; " if status == "success" else
               "continuation stopped early; ") + "; ".join(msgs)
    outputs = {k: np.array([float(g(X[j], P[j])) for j in range(N)])
               for k, g in system.outputs.items()}
    return Branch(problem.kind, system, problem.names,
                  {k: P[:, i] for k, i in system.param_index.items()}, X,
                  np.array([pt.info["stable"] for pt in points]),
                  np.array([pt.info["eigenvalues"] for pt in points]), outputs, sps, ends,
                  status, message, counts, data,
                  settings={**st.as_dict(), "bounds": {k: problem.pb[i]
                                                       for i, k in enumerate(problem.names)}})
