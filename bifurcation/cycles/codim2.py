"""Curves of cycle bifurcations in two parameters: LPC, PD (and their orbits) by collocation.

Standard augmented systems (as in AUTO's two-parameter continuation of folds and period
doublings), with the orbit ``u``, its period ``T``, an eigenfunction ``v`` and the two free
parameters ``(p_1, p_2)`` as unknowns; everything collocated on the same mesh as ``u``.

**PD curve**: the orbit has a Floquet solution with multiplier −1,

.. math::

    u' − T f(u, p) = 0,\\; u(0)=u(1),\\; ∫⟨u, \\hat u'⟩ = 0,\\quad
    v' − T f_x(u, p) v = 0,\\; v(1) = −v(0),\\; ∫⟨v, \\hat v⟩ = 1.

**LPC curve**: the linearisation in ``(u, T)`` at fixed parameters is singular, with null
vector ``(v, s)``,

.. math::

    v' − T f_x(u, p) v − s f(u, p) = 0,\\; v(0)=v(1),\\;
    ∫⟨v, \\hat u'⟩ = 0,\\; ∫⟨v, \\hat v⟩ + s \\hat s = 1,

hats denoting the previous point. The derivative of ``f_x(u) v`` in ``u`` (second derivatives
of ``f``) is the difference quotient ``(f_x(u + δv) − f_x(u − δv)) / 2δ``, so only Jacobians
of the system are needed. Pseudo-arclength continuation in ``(u, T, p_1, p_2)``, both
directions from the start; multipliers are computed at every point. Codimension-two points on
these curves (CPC, GPD, LPPD, R1–R4, ...) are not detected yet.

**NS curve**: a complex Floquet solution with multiplier ``e^{iθ}`` (θ an unknown):
``v' − T f_x(u) v = 0``, ``v(1) = e^{iθ} v(0)``, ``∫ conj(v̂)·v dτ = 1`` (two real
equations), real and imaginary parts collocated separately.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from simulate.validation import ParameterError, check_number

from ..branch import CycleBranch, Endpoint, SpecialPoint
from ..settings import blas_limit
from .collocation import Collocation
from .continuation import CycleSettings, point_record
from .floquet import floquet

__all__ = ["continue_cycle_codim2"]


class _Augmented:
    def __init__(self, system, mesh, kind, i1, i2):
        self.system = system
        self.coll = Collocation(system, mesh, i1)
        self.kind = kind
        self.i = (i1, i2)
        self.names = [list(system.param_index)[i1], list(system.param_index)[i2]]
        self.n = system.n_states
        self.M = self.coll.M
        self.nS = 1 if kind == "LPC" else 0
        self.wrap = -1.0 if kind == "PD" else 1.0

    @property
    def size(self):
        return 2 * self.M * self.n + 3 + self.nS

    def split(self, Y, p_base):
        N = self.M * self.n
        U = Y[:N].reshape(self.M, self.n)
        V = Y[N:2 * N].reshape(self.M, self.n)
        T = Y[2 * N]
        S = Y[2 * N + 1] if self.nS else 0.0
        p = p_base.copy()
        p[self.i[0]] = Y[-2]
        p[self.i[1]] = Y[-1]
        return U, V, T, S, p

    def weights(self):
        N = self.M * self.n
        w = np.zeros(self.size)
        w[:N] = np.repeat(self.coll.mesh.node_weights() / self.n, self.n)
        w[2 * N] = 1.0
        w[-2:] = 1.0
        return w

    def _v_at_gauss(self, V):
        c = self.coll
        Vl = V[c.idx].copy()
        Vl[c.ntst - 1, c.ncol] *= self.wrap
        vc = np.einsum("kl,jli->jki", c.L, Vl)
        dv = np.einsum("kl,jli->jki", c.D, Vl) / c.mesh.h[:, None, None]
        return vc, dv

    def evaluate(self, Y, p_base, refs, jac=True):
        """Residual (size − 1,) and, if ``jac``, the sparse Jacobian (size − 1, size)."""
        c = self.coll
        n, M = self.n, self.M
        U, V, T, S, p = self.split(Y, p_base)
        Uref, Vref, Sref = refs
        R1, F = c.residual(U, T, p)
        phase = c.phase_row(Uref)
        J, uc = c.jacobians(U, p)
        vc, dv = self._v_at_gauss(V)
        Jv = np.einsum("jkab,jkb->jka", J, vc)
        R3 = dv - T * Jv - S * F
        wn = c.mesh.node_weights()
        rows = [R1, [phase @ U.ravel()], R3.ravel()]
        norm = float(np.sum(wn[:, None] * V * Vref)) + S * Sref - 1.0
        if self.kind == "LPC":
            rows.append([phase @ V.ravel()])
        rows.append([norm])
        res = np.concatenate([np.ravel(r) for r in rows])
        if not jac:
            return res, None
        ntst, ncol = c.ntst, c.ncol
        H = np.empty_like(J)
        dJv = np.empty((ntst, ncol, n, 2))
        dfp = np.empty((ntst, ncol, n, 2))
        for j in range(ntst):
            for k in range(ncol):
                v = vc[j, k]
                nv = np.max(np.abs(v))
                x = uc[j, k]
                dfp[j, k] = self.system.dfdp(x, p, names=self.names)
                if nv == 0:
                    H[j, k] = 0.0
                    dJv[j, k] = 0.0
                    continue
                d = 1e-5 * (1.0 + np.max(np.abs(x))) / nv
                H[j, k] = (self.system.jacobian(x + d * v, p)
                           - self.system.jacobian(x - d * v, p)) / (2 * d)
                dJv[j, k] = (self.system.dfdp(x + d * v, p, names=self.names)
                             - self.system.dfdp(x - d * v, p, names=self.names)) / (2 * d)
        A_uu = c.coll_matrix_u(J, T)
        A_vu = c.coll_matrix_u(H + (S / T) * J if T != 0 else H, T, with_d=False)
        A_vv = c.coll_matrix_u(J, T, wrap=self.wrap)
        N = M * n
        colT1 = -F.reshape(-1, 1)
        colT3 = -Jv.reshape(-1, 1)
        colP1 = -T * dfp.reshape(N, 2)
        colP3 = (-T * dJv - S * dfp).reshape(N, 2)
        zN = sp.csc_matrix((N, N))
        blocks_top = [A_uu, zN, sp.csc_matrix(colT1)]
        blocks_lin = [A_vu, A_vv, sp.csc_matrix(colT3)]
        if self.nS:
            blocks_top.append(sp.csc_matrix((N, 1)))
            blocks_lin.append(sp.csc_matrix(-F.reshape(-1, 1)))
        blocks_top.append(sp.csc_matrix(colP1))
        blocks_lin.append(sp.csc_matrix(colP3))
        top = sp.hstack(blocks_top)
        lin = sp.hstack(blocks_lin)
        extra = []
        r = np.zeros(self.size)
        r[:N] = phase
        extra.append(r)
        if self.kind == "LPC":
            r = np.zeros(self.size)
            r[N:2 * N] = phase
            extra.append(r)
        r = np.zeros(self.size)
        r[N:2 * N] = (wn[:, None] * Vref).ravel()
        if self.nS:
            r[2 * N + 1] = Sref
        extra.append(r)
        # order rows as in the residual: R1, phase, R3, (phase-lin), norm
        K = sp.vstack([top, sp.csr_matrix(extra[0]), lin, sp.csr_matrix(np.array(extra[1:]))],
                      format="csc")
        return res, K


class _AugmentedNS(_Augmented):
    """NS curve: complex Floquet solution v = v_r + i v_i with v(1) = e^{iθ} v(0).

    Unknowns ``(U, V_r, V_i, T, θ, p1, p2)``; equations: collocation and phase of ``u``,
    ``v' − T f_x(u) v = 0`` (real and imaginary parts, rotated wrap), and
    ``∫Re(conj(v̂)·v) = 1``, ``∫Im(conj(v̂)·v) = 0``.
    """

    def __init__(self, system, mesh, i1, i2):
        super().__init__(system, mesh, "NS", i1, i2)
        self.nS = 0

    @property
    def size(self):
        return 3 * self.M * self.n + 4

    def split(self, Y, p_base):
        N = self.M * self.n
        U = Y[:N].reshape(self.M, self.n)
        V = (Y[N:2 * N] + 1j * Y[2 * N:3 * N]).reshape(self.M, self.n)
        T = Y[3 * N]
        th = Y[3 * N + 1]
        p = p_base.copy()
        p[self.i[0]] = Y[-2]
        p[self.i[1]] = Y[-1]
        return U, V, T, th, p

    def weights(self):
        N = self.M * self.n
        w = np.zeros(self.size)
        w[:N] = np.repeat(self.coll.mesh.node_weights() / self.n, self.n)
        w[3 * N] = 1.0
        w[-2:] = 1.0
        return w

    def evaluate(self, Y, p_base, refs, jac=True):
        c = self.coll
        n, M = self.n, self.M
        N = M * n
        U, V, T, th, p = self.split(Y, p_base)
        Uref, Vref, _ = refs
        R1, F = c.residual(U, T, p)
        phase = c.phase_row(Uref)
        J, uc = c.jacobians(U, p)
        Vl = V[c.idx].copy()
        rot = np.exp(1j * th)
        Vl[c.ntst - 1, c.ncol] *= rot
        vc = np.einsum("kl,jli->jki", c.L, Vl)
        dv = np.einsum("kl,jli->jki", c.D, Vl) / c.mesh.h[:, None, None]
        Jv = np.einsum("jkab,jkb->jka", J, vc)
        R3 = dv - T * Jv
        wn = c.mesh.node_weights()
        z = np.sum(wn[:, None] * np.conj(Vref) * V)
        res = np.concatenate([R1, [phase @ U.ravel()], R3.real.ravel(), R3.imag.ravel(),
                              [z.real - 1.0, z.imag]])
        if not jac:
            return res, None
        ntst, ncol = c.ntst, c.ncol
        Hr = np.zeros_like(J)
        Hi = np.zeros_like(J)
        dJv = np.zeros((ntst, ncol, n, 2), complex)
        dfp = np.empty((ntst, ncol, n, 2))
        for j in range(ntst):
            for k in range(ncol):
                x = uc[j, k]
                dfp[j, k] = self.system.dfdp(x, p, names=self.names)
                for part, H in ((vc[j, k].real, Hr), (vc[j, k].imag, Hi)):
                    nv = np.max(np.abs(part))
                    if nv == 0:
                        continue
                    d = 1e-5 * (1.0 + np.max(np.abs(x))) / nv
                    H[j, k] = (self.system.jacobian(x + d * part, p)
                               - self.system.jacobian(x - d * part, p)) / (2 * d)
                    dd = (self.system.dfdp(x + d * part, p, names=self.names)
                          - self.system.dfdp(x - d * part, p, names=self.names)) / (2 * d)
                    dJv[j, k] += dd if H is Hr else 1j * dd
        A_uu = c.coll_matrix_u(J, T)
        A_ru = c.coll_matrix_u(Hr, T, with_d=False)
        A_iu = c.coll_matrix_u(Hi, T, with_d=False)
        A0 = c.coll_matrix_u(J, T, wrap=0.0)
        Bw = (c.coll_matrix_u(J, T) - A0).tocsc()
        cs, sn = np.cos(th), np.sin(th)
        Vr0, Vi0 = V.real.ravel(), V.imag.ravel()
        colth_r = Bw @ (-sn * Vr0 - cs * Vi0)
        colth_i = Bw @ (cs * Vr0 - sn * Vi0)
        zN = sp.csc_matrix((N, N))
        z1 = sp.csc_matrix((N, 1))
        top = sp.hstack([A_uu, zN, zN, sp.csc_matrix(-F.reshape(-1, 1)), z1,
                         sp.csc_matrix(-T * dfp.reshape(N, 2))])
        lr = sp.hstack([A_ru, A0 + cs * Bw, -sn * Bw, sp.csc_matrix(-Jv.real.reshape(-1, 1)),
                        sp.csc_matrix(colth_r.reshape(-1, 1)),
                        sp.csc_matrix((-T * dJv.real).reshape(N, 2))])
        li = sp.hstack([A_iu, sn * Bw, A0 + cs * Bw, sp.csc_matrix(-Jv.imag.reshape(-1, 1)),
                        sp.csc_matrix(colth_i.reshape(-1, 1)),
                        sp.csc_matrix((-T * dJv.imag).reshape(N, 2))])
        r_ph = np.zeros(self.size)
        r_ph[:N] = phase
        wr = (wn[:, None] * Vref.real).ravel()
        wi = (wn[:, None] * Vref.imag).ravel()
        r_re = np.zeros(self.size)
        r_re[N:2 * N] = wr
        r_re[2 * N:3 * N] = wi
        r_im = np.zeros(self.size)
        r_im[N:2 * N] = -wi
        r_im[2 * N:3 * N] = wr
        K = sp.vstack([top, sp.csr_matrix(r_ph), lr, li, sp.csr_matrix(np.array([r_re, r_im]))],
                      format="csc")
        return res, K


def _newton(aug, Y, p_base, refs, last_row, last_rhs, tol, max_iter):
    prev = np.inf
    lu = None
    for it in range(1, max_iter + 1):
        res, K = aug.evaluate(Y, p_base, refs)
        res = np.concatenate([res, [last_row @ Y - last_rhs]])
        K = sp.vstack([K, sp.csr_matrix(last_row)], format="csc")
        try:
            lu = spla.splu(K)
        except RuntimeError:
            return None, None, it
        dY = -lu.solve(res)
        if not np.all(np.isfinite(dY)):
            return None, None, it
        Y = Y + dY
        nrm = float(np.max(np.abs(dY)))
        if nrm <= tol * (1 + float(np.max(np.abs(Y)))):
            return Y, lu, it
        if it >= 3 and nrm > 2 * prev:
            break
        prev = nrm
    return None, None, max_iter


def _initial(sp_, system, kind):
    from .solver import CycleSolution

    rec = getattr(sp_, "_record", None)
    sol = sp_.data.get("solution") if rec is None else rec["sol"]
    if sol is None:
        raise ParameterError(f"the {kind} point carries no orbit (data['solution'])")
    coll = Collocation(system, sol.mesh, sol.free)
    if rec is None or rec.get("fl") is None:
        rec = point_record(coll, sol)
    wn = sol.mesh.node_weights()
    if kind == "PD":
        fl = rec["fl"]
        mu = fl.multipliers
        cand = [i for i in range(len(mu)) if i != fl.trivial_index]
        k = cand[int(np.argmin(np.abs(mu[cand] + 1.0)))]
        v0 = fl.eigenvectors[:, k]
        v0 = np.real(v0 / v0[np.argmax(np.abs(v0))])
        V, _ = fl.propagate(v0, sol.mesh.ncol)
        V = V / np.sqrt(np.sum(wn[:, None] * V * V))
        S = 0.0
    elif kind == "NS":
        fl = rec["fl"]
        mu = fl.multipliers
        cand = [i for i in range(len(mu)) if i != fl.trivial_index and mu[i].imag > 1e-10]
        k = cand[int(np.argmin(np.abs(np.abs(mu[cand]) - 1.0)))]
        v0 = fl.eigenvectors[:, k]
        V, _ = fl.propagate(v0.astype(complex), sol.mesh.ncol)
        V = V / np.sqrt(np.sum(wn[:, None] * np.abs(V) ** 2))
        S = float(np.angle(mu[k]))
    else:
        t = rec.get("t")
        if t is None:
            raise ParameterError("the LPC point carries no tangent")
        V = t[:-2].reshape(sol.U.shape).copy()
        S = float(t[-2])
        nrm = np.sqrt(np.sum(wn[:, None] * V * V) + S * S)
        V /= nrm
        S /= nrm
    return CycleSolution(sol.mesh, sol.U.copy(), sol.T, sol.p.copy(), sol.free), V, S


def continue_cycle_codim2(point, params, bounds, settings=None, **kwargs):
    """Continue an ``"LPC"``, ``"PD"`` or ``"NS"`` point of a cycle branch in two parameters.

    Parameters
    ----------
    point : SpecialPoint
        ``kind`` ``"LPC"``, ``"PD"`` or ``"NS"``, located on a branch from
        :func:`continue_cycles`.
    params : (str, str)
        The two free parameters.
    bounds : dict
        ``{p1: (lo, hi), p2: (lo, hi)}``; the curve stops when it leaves the box.
    settings : CycleSettings or dict, optional
    **kwargs
        Fields of :class:`CycleSettings` (``ds``, ``ds_max``, ``max_points``, ``newton_tol``).

    Returns
    -------
    CycleBranch
        ``kind`` ``"LPC-curve"``, ``"PD-curve"`` or ``"NS-curve"``, ``param = (p1, p2)``, one
        orbit per point (periods, multipliers, extrema, amplitude, ``orbit(i)``), continued
        both ways; ``data["defining_multiplier_distance"]`` (distance of the nearest computed
        multiplier to −1, 1 or e^{iθ}) and, for NS, ``data["theta"]``.
    """
    t0 = time.perf_counter()
    if not isinstance(point, SpecialPoint):
        raise ParameterError(f"point must be a SpecialPoint, got {type(point).__name__}")
    if point.kind not in ("LPC", "PD", "NS"):
        raise ParameterError(f"point.kind = {point.kind!r}: expected 'LPC', 'PD' or 'NS'")
    if isinstance(settings, CycleSettings):
        kw = settings.as_dict()
    elif settings is None or isinstance(settings, dict):
        kw = dict(settings or {})
    else:  # another settings object (e.g. ContinuationSettings): take the shared fields
        from dataclasses import fields as _fields

        mine = {f.name for f in _fields(CycleSettings)}
        kw = {k: v for k, v in vars(settings).items() if k in mine}
    kw.update(kwargs)
    s = CycleSettings.from_kwargs(**kw)
    system = point.branch.system if point.branch is not None else point.system
    params = tuple(params)
    if len(params) != 2 or params[0] == params[1]:
        raise ParameterError(f"params = {params!r}: expected two different parameter names")
    for k in params:
        if k not in system.param_index:
            raise ParameterError(f"{k!r} is not a parameter; parameters are {list(system.params)}")
        if k not in bounds:
            raise ParameterError(f"bounds has no entry for {k!r}")
        lo, hi = bounds[k]
        check_number(k, point.params[k], float(lo), float(hi),
                     hint="the start must lie within bounds")
    i1, i2 = system.param_index[params[0]], system.param_index[params[1]]
    with blas_limit(s.blas_threads):
        sol, V, S = _initial(point, system, point.kind)
        p_base = sol.p.copy()
        if point.kind == "NS":
            aug = _AugmentedNS(system, sol.mesh, i1, i2)
            Y0 = np.concatenate([sol.U.ravel(), V.real.ravel(), V.imag.ravel(), [sol.T, S],
                                 [p_base[i1], p_base[i2]]])
        else:
            aug = _Augmented(system, sol.mesh, point.kind, i1, i2)
            Y0 = np.concatenate([sol.U.ravel(), V.ravel(), [sol.T], [S] if aug.nS else [],
                                 [p_base[i1], p_base[i2]]])
        w = aug.weights()
        # correct the start (fix p2) and get the tangent
        last = np.zeros(aug.size)
        last[-1] = 1.0
        refs = (sol.U, V, S)
        Yc, lu, _ = _newton(aug, Y0, p_base, refs, last, Y0[-1], s.newton_tol,
                            max(s.newton_max_iter, 15))
        if Yc is None:
            raise ParameterError(f"the {point.kind} point could not be corrected on the augmented "
                                 "system; locate it more accurately or refine the mesh (ntst)")
        e = np.zeros(aug.size)
        e[-1] = 1.0
        t = lu.solve(e)
        t /= np.sqrt(np.sum(w * t * t))
        stats = {"newton_iterations": 0, "steps": 0}
        runs = []
        for direction in (1.0, -1.0):
            runs.append(_run(aug, Yc, direction * t, p_base, s, bounds, params, stats))
        pts_b, reason_b = runs[1]
        pts_f, reason_f = runs[0]
        pts = pts_b[::-1] + pts_f[1:]
        return _build(system, aug, pts, p_base, params, point.kind, (reason_b, reason_f), s, stats,
                      t0)


def _run(aug, Y, t, p_base, s, bounds, params, stats):
    w = aug.weights()
    pts = [Y]
    ds = s.ds
    reason = "max_points"
    while len(pts) < s.max_points + 1:
        Yp = Y + ds * t
        U, V, T, S, _ = aug.split(Y, p_base)
        a = w * t
        Yn, lu, nit = _newton(aug, Yp, p_base, (U, V, S), a, a @ Yp, s.newton_tol,
                              s.newton_max_iter)
        stats["newton_iterations"] += nit
        if Yn is None:
            ds *= s.step_decrease
            if ds < s.ds_min:
                reason = "min_step"
                break
            continue
        e = np.zeros(aug.size)
        e[-1] = 1.0
        tn = lu.solve(e)
        tn /= np.sqrt(np.sum(w * tn * tn))
        if tn @ (w * t) < 0:
            tn = -tn
        if tn @ (w * t) < s.max_angle_cos and ds > 1.01 * s.ds_min:
            ds *= s.step_decrease
            continue
        stats["steps"] += 1
        out = False
        for j, k in enumerate(params):
            lo, hi = bounds[k]
            val = Yn[-2 + j]
            if val < lo or val > hi:
                out = True
        if out:
            reason = "bound"
            break
        if aug.split(Yn, p_base)[2] <= 0:
            reason = "nonfinite"
            break
        pts.append(Yn)
        Y, t = Yn, tn
        if nit <= s.fast_newton:
            ds = min(ds * s.step_increase, s.ds_max)
    return pts, reason


def _build(system, aug, pts, p_base, params, kind, reasons, s, stats, t0):
    from .solver import CycleSolution

    n = system.n_states
    N = len(pts)
    coll = aug.coll
    periods = np.empty(N)
    mults = np.empty((N, n), complex)
    means = np.empty((N, n))
    mins = np.empty((N, n))
    maxs = np.empty((N, n))
    stable = np.empty(N, bool)
    pars = {k: np.empty(N) for k in system.params}
    orbits, sols = [], []
    test = np.empty(N)
    theta = np.full(N, np.nan)
    for i, Y in enumerate(pts):
        U, V, T, S, p = aug.split(Y, p_base)
        sol = CycleSolution(coll.mesh, U.copy(), float(T), p, aug.i[0])
        J, _ = coll.jacobians(U, p)
        fl = floquet(coll, J, T)
        periods[i] = T
        mults[i] = fl.multipliers
        stable[i] = bool(np.all(np.abs(fl.nontrivial()) < 1.0))
        means[i] = coll.mean(U)
        mins[i], maxs[i] = coll.extrema(U)
        for k, v in system.params_dict(p).items():
            pars[k][i] = v
        X, tau = coll.closed_orbit(U)
        orbits.append((tau * T, X))
        sols.append(sol)
        mu = fl.nontrivial()
        if kind == "PD":
            test[i] = np.min(np.abs(mu + 1.0))
        elif kind == "NS":
            test[i] = np.min(np.abs(mu - np.exp(1j * S)))
            theta[i] = S
        else:
            test[i] = np.min(np.abs(mu - 1.0)) if mu.size else np.nan
    ends = []
    for reason, idx in ((reasons[0], 0), (reasons[1], N - 1)):
        U, V, T, S, p = aug.split(pts[idx], p_base)
        ends.append(Endpoint(reason, idx, system.params_dict(p), U[0].copy(),
                             f"{kind}-curve stopped: {reason}"))
    status = "success"
    for e in ends:
        if e.reason not in CycleBranch.REGULAR_STOPS:
            status = e.reason
            break
    counts = dict(stats)
    counts["points"] = N
    counts["seconds"] = time.perf_counter() - t0
    data = {"defining_multiplier_distance": test}
    if kind == "NS":
        data["theta"] = theta
    br = CycleBranch(f"{kind}-curve", system, params, pars, means, stable, mults,
                     special_points=[], endpoints=ends, status=status,
                     message="; ".join(e.message for e in ends), counts=counts, data=data,
                     settings=s.as_dict(), periods=periods, multipliers=mults, state_min=mins,
                     state_max=maxs, amplitude=np.max(maxs - mins, axis=1), orbits=orbits)
    br.solutions = sols
    return br
