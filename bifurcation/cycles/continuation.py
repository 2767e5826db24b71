"""Pseudo-arclength continuation of periodic orbits, with LPC / PD / NS detection and location.

A step from a converged orbit ``Y_k`` with unit tangent ``t_k`` (norm of :mod:`.solver`)
predicts ``Y_pred = Y_k + ds t_k`` and corrects with Newton on

.. math::

    \\text{collocation}(Y) = 0, \\quad ∫_0^1⟨u, u_k'⟩dτ = 0, \\quad
    w ⊙ t_k · (Y − Y_pred) = 0.

The new tangent solves the same bordered system with right-hand side ``e_last``.

Test functions (evaluated at every point, zeros located by a safeguarded secant (Illinois)
iteration on the step length, to the Newton tolerance):

- ``LPC`` (fold of cycles): ``ψ = ṗ``, the parameter component of the tangent;
- ``PD`` (period doubling): a real multiplier crosses −1 (detected by the sign of
  ``∏_{i≠triv}(1 + μ_i)``, located on ``ψ = Re μ* + 1`` with ``μ*`` the multiplier nearest −1);
- ``NS`` (Neimark–Sacker): a complex pair crosses the unit circle (detected by the number of
  non-real multipliers outside it, located on ``ψ = |μ*| − 1``; neutral saddles of cycles, real
  ``μ_i μ_j = 1``, are not reported).

Endpoints: ``"bound"`` (the parameter reached a bound; the last point lies on it),
``"max_points"``, ``"period"`` (the period grew without bound: approach to a homoclinic orbit
or a SNIC; reported when the period exceeds ``period_max`` or when steps fail while the period
has been growing steeply), ``"min_step"``, ``"newton"``, ``"nonfinite"``, ``"closed"``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields

import numpy as np

from simulate.validation import ParameterError, check_number, check_positive_int

from ..branch import CycleBranch, Endpoint, SpecialPoint
from ..settings import blas_limit
from .collocation import Collocation
from .floquet import floquet
from .solver import (
    TIMERS,
    CycleSolution,
    NewtonFailure,
    newton_cycle,
    tangent_from_lu,
    weights,
)

__all__ = ["CycleSettings", "continue_from_solution", "build_branch", "point_record"]


@dataclass
class CycleSettings:
    """Settings of cycle continuation (keyword arguments of :func:`continue_cycles`).

    Parameters
    ----------
    ntst : int
        Mesh intervals (default 20; a start from a PD point doubles the mesh it inherits).
    ncol : int
        Collocation points per interval, polynomial degree (default 4).
    ds, ds_min, ds_max : float
        Initial, smallest, largest step in the norm of :mod:`.solver` (defaults 0.02, 1e-6,
        0.5).
    max_points : int
        Points in each direction (default 200).
    newton_tol : float
        Newton stops when ``|ΔY|_∞ ≤ tol (1 + |Y|_∞)`` (default 1e-9).
    newton_max_iter : int
        Default 10.
    step_increase, step_decrease : float
        Default 1.3, 0.5.
    fast_newton : int
        Steps converging in at most this many iterations enlarge ``ds`` (default 4).
    max_angle_cos : float
        Reject a step whose tangent turns more than ``arccos`` of this (default 0.9).
    adapt_every : int
        Re-distribute the mesh every this many points (0: never; default 3).
    detect : tuple of str
        Subset of ``("LPC", "PD", "NS")`` (default all three).
    locate : bool
        Refine special points to solver tolerance (default True).
    period_max : float or None
        Stop with reason ``"period"`` when the period exceeds this (default: 50 × the period
        at the start).
    direction : str
        ``"both"`` (default for an :class:`OrbitGuess`), ``"forward"`` (increasing parameter
        first) or ``"backward"``. Starts from HB and PD points go away from the bifurcation.
    store_orbits : bool
        Keep every orbit for :meth:`CycleBranch.orbit` (default True).
    pd_criticality : bool
        Also estimate PD criticality by a short step onto the doubled branch (default True;
        ``data["criticality_switch"]``, ``data["pd_coefficient"]``).
    normal_forms : bool
        Periodic normal-form coefficients of LPC, PD and NS points on the collocation mesh
        (:mod:`.normal_forms`; default True): ``data["normal_form"]``, and
        ``data["criticality"]`` of PD and NS points from the sign of ``c`` / ``Re d``.
    newton : str
        ``"full"`` (new Jacobian every iteration), ``"chord"`` (one factorisation per step
        while it contracts; tangents then come from the predictor's matrix, special points
        are still located with full Newton) or ``"auto"`` (default: chord for n ≥ 20).
    linear_solver : str
        ``"sparse"`` (SuperLU of the whole collocation system), ``"condensed"`` (condensation
        of parameters: dense LU per interval, then a sparse cyclic system of the interval
        start nodes; :mod:`.condensed`) or ``"auto"`` (default: condensed when n ≥ 20 and the
        Jacobian is at least 8 % full, where the sparse LU fills in badly).
    blas_threads : int or None
        Limit of BLAS/LAPACK threads during the run (via ``threadpoolctl``), as in
        :class:`bifurcation.ContinuationSettings`. Default 1: the dense per-interval blocks
        and Floquet eigenproblems are small, and threaded BLAS on a busy 2-core machine made
        the MA cycle branch of the gamma case about 10× more expensive in CPU time. None
        leaves the BLAS setting alone.
    """

    ntst: int = 20
    ncol: int = 4
    ds: float = 0.02
    ds_min: float = 1e-6
    ds_max: float = 0.5
    max_points: int = 200
    newton_tol: float = 1e-9
    newton_max_iter: int = 10
    step_increase: float = 1.3
    step_decrease: float = 0.5
    fast_newton: int = 4
    max_angle_cos: float = 0.9
    adapt_every: int = 3
    detect: tuple = ("LPC", "PD", "NS")
    locate: bool = True
    period_max: float | None = None
    direction: str = "both"
    store_orbits: bool = True
    pd_criticality: bool = True
    normal_forms: bool = True
    newton: str = "auto"
    linear_solver: str = "auto"
    blas_threads: int | None = 1

    @classmethod
    def from_kwargs(cls, **kw):
        """Settings from keyword arguments; unknown names raise ``ParameterError`` listing the
        valid ones, values are validated."""
        names = {f.name for f in fields(cls)}
        bad = set(kw) - names
        if bad:
            raise ParameterError(
                f"unknown setting(s) {sorted(bad)}; valid settings: {sorted(names)}"
            )
        s = cls(**kw)
        s.ntst = check_positive_int("ntst", s.ntst, 2, 5000)
        s.ncol = check_positive_int("ncol", s.ncol, 2, 7)
        s.ds = check_number("ds", s.ds, 0.0, None, lo_open=True)
        s.ds_min = check_number("ds_min", s.ds_min, 0.0, s.ds, lo_open=True)
        s.ds_max = check_number("ds_max", s.ds_max, s.ds, None)
        s.max_points = check_positive_int("max_points", s.max_points, 1)
        s.newton_tol = check_number("newton_tol", s.newton_tol, 0.0, 1e-2, lo_open=True)
        s.newton_max_iter = check_positive_int("newton_max_iter", s.newton_max_iter, 1, 100)
        s.adapt_every = check_positive_int("adapt_every", s.adapt_every, 0)
        for k in s.detect:
            if k not in ("LPC", "PD", "NS"):
                raise ParameterError(f"detect contains {k!r}; valid: 'LPC', 'PD', 'NS'")
        if s.linear_solver not in ("auto", "sparse", "condensed"):
            raise ParameterError(f"linear_solver = {s.linear_solver!r} is not one of 'auto', "
                                 "'sparse', 'condensed'")
        if s.newton not in ("auto", "full", "chord"):
            raise ParameterError(f"newton = {s.newton!r} is not one of 'auto', 'full', 'chord'")
        if s.direction not in ("both", "forward", "backward"):
            raise ParameterError(
                f"direction = {s.direction!r} is not one of 'both', 'forward', 'backward'"
            )
        if s.blas_threads is not None:
            s.blas_threads = check_positive_int("blas_threads", s.blas_threads, 1)
        return s

    def as_dict(self):
        """The settings as a plain dict (stored with every branch for provenance)."""
        return asdict(self)


# ---------------------------------------------------------------------- point records
def point_record(coll: Collocation, sol: CycleSolution, tangent=None, fl=None):
    """Everything stored for one orbit (multipliers computed when ``fl`` is None)."""
    if fl is None:
        t0 = time.perf_counter()
        J, _ = coll.jacobians(sol.U, sol.p)
        fl = floquet(coll, J, sol.T)
        TIMERS["floquet"] += time.perf_counter() - t0
    return {"sol": sol, "t": tangent, "fl": fl, "mult": fl.multipliers,
            "trivial_error": fl.trivial_error}


def _real_mask(mu):
    return np.abs(mu.imag) <= 1e-8 * np.maximum(1.0, np.abs(mu))


def test_values(rec):
    """Discrete indicators and continuous test functions of one point."""
    mu = rec["fl"].nontrivial()
    real = _real_mask(mu)
    pd_sign = np.sign(np.prod(np.where(real, (1.0 + mu.real), 1.0)))
    ns_count = int(np.sum((~real) & (np.abs(mu) > 1.0)))
    k = int(np.argmin(np.abs(mu + 1.0))) if mu.size else 0
    psi_pd = float(mu[k].real + 1.0) if mu.size else 1.0
    cm = mu[~real]
    psi_ns = np.nan
    if cm.size:
        psi_ns = float(np.abs(cm[np.argmin(np.abs(np.abs(cm) - 1.0))]) - 1.0)
    lpc = float(rec["t"][-1]) if rec["t"] is not None else np.nan
    return {"pd_sign": pd_sign, "ns_count": ns_count, "psi_pd": psi_pd, "psi_ns": psi_ns,
            "psi_lpc": lpc}


# ---------------------------------------------------------------------- continuation
class _Runner:
    def __init__(self, system, param, bounds, settings: CycleSettings, stats):
        self.system = system
        self.param = param
        self.free = system.param_index[param]
        self.lo, self.hi = bounds
        self.s = settings
        self.stats = stats

    def coll(self, mesh):
        return Collocation(self.system, mesh, self.free)

    def correct_arclength(self, coll, rec, ds, chord=None):
        if chord is None:
            chord = self.s.newton == "chord" or (self.s.newton == "auto"
                                                 and self.system.n_states >= 20)
        sol0 = rec["sol"]
        w = weights(sol0.mesh, self.system.n_states)
        t = rec["t"]
        Y0 = sol0.vector()
        Ypred = Y0 + ds * t
        a = w * t
        guess = sol0.with_vector(Ypred)
        sol, lu, nit = newton_cycle(coll, guess, sol0.U, a, a @ Ypred, tol=self.s.newton_tol,
                                    max_iter=self.s.newton_max_iter, stats=self.stats,
                                    chord=chord, condensed=self.s.linear_solver)
        tn = tangent_from_lu(lu, Y0.size, w, t)
        if chord:
            nit = (nit + 1) // 2  # chord iterations are cheap: count two as one
        return sol, tn, nit

    def correct_fixed(self, coll, guess, U_ref, value):
        size = guess.vector().size
        a = np.zeros(size)
        a[-1] = 1.0
        sol, lu, nit = newton_cycle(coll, guess, U_ref, a, value, tol=self.s.newton_tol,
                                    max_iter=self.s.newton_max_iter, stats=self.stats,
                                    condensed=self.s.linear_solver)
        return sol, lu, nit

    # ------------------------------------------------------------------ locating
    def locate(self, coll, recA, recB, ds, kind, key):
        """Illinois iteration on the step θ·ds from point A for test function ``key``."""
        fa = test_values(recA)[key]
        fb = test_values(recB)[key]
        a, b = 0.0, 1.0
        best = None
        side = 0
        for _ in range(30):
            if not (np.isfinite(fa) and np.isfinite(fb)) or fa * fb > 0:
                break
            theta = b - fb * (b - a) / (fb - fa)
            if not (a < theta < b):
                theta = 0.5 * (a + b)
            try:
                sol, tn, _ = self.correct_arclength(coll, recA, theta * ds, chord=False)
            except NewtonFailure:
                break
            rec = point_record(coll, sol, tn)
            f = test_values(rec)[key]
            best = (rec, theta, f)
            if abs(f) < 1e-10 or abs(b - a) < 1e-12:
                break
            if f * fb < 0:
                a, fa = b, fb
                b, fb = theta, f
                side = 0
            else:
                b, fb = theta, f
                if side == 1:
                    fa *= 0.5
                side = 1
        return best

    # ------------------------------------------------------------------ main loop
    def run(self, rec0, direction_sign, period_ref):
        s = self.s
        rec0 = dict(rec0)
        t = rec0["t"]
        if direction_sign != 0 and np.sign(t[-1]) != direction_sign and t[-1] != 0:
            t = -t
        rec0["t"] = t
        points = [rec0]
        specials = []
        ds = s.ds
        coll = self.coll(rec0["sol"].mesh)
        period_max = s.period_max if s.period_max is not None else 50.0 * period_ref
        reason, message = "max_points", f"reached max_points = {s.max_points}"
        since_adapt = 0
        while len(points) < s.max_points + 1:
            rec = points[-1]
            try:
                sol, tn, nit = self.correct_arclength(coll, rec, ds)
                w = weights(sol.mesh, self.system.n_states)
                if np.sum(w * tn * rec["t"]) < s.max_angle_cos and ds > s.ds_min * 1.01:
                    raise NewtonFailure("tangent turned too much", "angle")
            except NewtonFailure as e:
                ds *= s.step_decrease
                if ds < s.ds_min:
                    reason = "period" if self._period_diverging(points) else e.reason
                    if reason == "angle":
                        reason = "min_step"
                    message = (f"step size fell below ds_min = {s.ds_min:g} ({e}); try a "
                               "smaller ds_min, a finer mesh (ntst) or another start")
                    if reason == "period":
                        message = (f"the period grew from {points[0]['sol'].T:.6g} to "
                                   f"{points[-1]['sol'].T:.6g} while steps failed: approach "
                                   "to a homoclinic orbit or SNIC")
                    break
                continue
            new = point_record(coll, sol, tn)
            p = sol.pfree
            # bound
            if p < self.lo or p > self.hi:
                target = self.hi if p > self.hi else self.lo
                p0 = rec["sol"].pfree
                theta = (target - p0) / (p - p0) if p != p0 else 1.0
                Yg = rec["sol"].vector() * (1 - theta) + sol.vector() * theta
                try:
                    sb, lu, _ = self.correct_fixed(coll, rec["sol"].with_vector(Yg),
                                                   rec["sol"].U, target)
                    wt = weights(sb.mesh, self.system.n_states)
                    tb = tangent_from_lu(lu, Yg.size, wt, None)
                    if np.sum(wt * tb * rec["t"]) < 0:
                        tb = -tb
                    new = point_record(coll, sb, tb)
                    self._detect(coll, rec, new, (target - p0) / (p - p0) * ds
                                 if p != p0 else ds, specials, len(points) - 1)
                    points.append(new)
                except NewtonFailure:
                    pass
                reason, message = "bound", f"{self.param} reached the bound {target:g}"
                break
            self._detect(coll, rec, new, ds, specials, len(points) - 1)
            points.append(new)
            if sol.T > period_max:
                reason = "period"
                message = (f"the period {sol.T:.6g} exceeded period_max = {period_max:.6g}: "
                           "approach to a homoclinic orbit or SNIC")
                break
            if len(points) > 12 and self._closed(points):
                reason, message = "closed", "the branch closed on itself"
                break
            if nit <= s.fast_newton:
                ds = min(ds * s.step_increase, s.ds_max)
            since_adapt += 1
            if s.adapt_every and since_adapt >= s.adapt_every:
                since_adapt = 0
                coll, points[-1] = self._adapt(coll, points[-1])
        return points, specials, reason, message

    def _adapt(self, coll, rec):
        sol = rec["sol"]
        mesh = coll.adapted_mesh(sol.U)
        U = coll.transfer(sol.U, mesh)
        n = self.system.n_states
        tU = rec["t"][:-2].reshape(sol.U.shape)
        tUn = coll.transfer(tU, mesh)
        newc = self.coll(mesh)
        new_sol = CycleSolution(mesh, U, sol.T, sol.p.copy(), sol.free)
        try:  # re-correct on the new mesh (fixed parameter), keep the tangent direction
            new_sol, lu, _ = self.correct_fixed(newc, new_sol, U, sol.pfree)
        except NewtonFailure:
            return coll, rec
        t = np.concatenate([tUn.ravel(), rec["t"][-2:]])
        w = weights(mesh, n)
        t /= np.sqrt(np.sum(w * t * t))
        out = dict(rec)
        out.update(point_record(newc, new_sol, t))
        return newc, out

    def _period_diverging(self, points):
        if len(points) < 5:
            return False
        T = np.array([r["sol"].T for r in points[-6:]])
        return bool(np.all(np.diff(T) > 0) and T[-1] > 3.0 * points[0]["sol"].T)

    def _closed(self, points):
        a, b = points[0]["sol"], points[-1]["sol"]
        if abs(a.pfree - b.pfree) > 1e-3 * (1 + abs(a.pfree)) or abs(a.T - b.T) > 1e-3 * a.T:
            return False
        ma = np.mean(a.U, axis=0)
        mb = np.mean(b.U, axis=0)
        return bool(np.max(np.abs(ma - mb)) < 1e-3 * (1 + np.max(np.abs(ma))))

    def _detect(self, coll, recA, recB, ds, specials, index):
        s = self.s
        ta, tb = test_values(recA), test_values(recB)
        found = []
        if "LPC" in s.detect and np.sign(ta["psi_lpc"]) * np.sign(tb["psi_lpc"]) < 0:
            found.append(("LPC", "psi_lpc"))
        if "PD" in s.detect and ta["pd_sign"] * tb["pd_sign"] < 0:
            found.append(("PD", "psi_pd"))
        if "NS" in s.detect and ta["ns_count"] != tb["ns_count"]:
            found.append(("NS", "psi_ns"))
        for kind, key in found:
            rec = None
            if s.locate:
                res = self.locate(coll, recA, recB, ds, kind, key)
                if res is not None:
                    rec = res[0]
            if rec is None:  # not located: report the nearer grid point
                rec = recB if abs(tb[key]) < abs(ta[key]) else recA
            sp = self._special(coll, kind, rec, recA, recB, index)
            specials.append(sp)

    def _special(self, coll, kind, rec, recA, recB, index):
        sol = rec["sol"]
        tv = test_values(rec)
        data = {"period": sol.T, "multipliers": rec["mult"].copy(),
                "trivial_error": rec["trivial_error"], "test": tv,
                "solution": sol, "ntst": sol.mesh.ntst, "ncol": sol.mesh.ncol,
                "free": self.param}
        if kind == "LPC":
            # curvature d²p/ds² from the tangents on both sides: sign says where cycles exist
            dsab = np.sqrt(np.sum(weights(sol.mesh, self.system.n_states)
                                  * (recB["sol"].vector() - recA["sol"].vector()) ** 2))
            data["d2p_ds2"] = float((recB["t"][-1] - recA["t"][-1]) / max(dsab, 1e-300))
        if kind == "NS":
            mu = rec["fl"].nontrivial()
            cm = mu[~_real_mask(mu)]
            if cm.size:
                k = int(np.argmin(np.abs(np.abs(cm) - 1.0)))
                data["theta"] = float(abs(np.angle(cm[k])))
        if kind == "PD":
            mu = rec["fl"].nontrivial()
            k = int(np.argmin(np.abs(mu + 1.0)))
            data["pd_vector"] = rec["fl"].eigenvectors[
                :, [i for i in range(len(rec["mult"])) if i != rec["fl"].trivial_index][k]]
        params = self.system.params_dict(sol.p)
        x = sol.U[0].copy()
        sp = SpecialPoint(kind, params, x, data, None, index)
        sp._record = rec  # noqa: SLF001  (kept for branch switching)
        if kind == "PD" and self.s.pd_criticality:
            try:
                from .start import pd_criticality
                data.update(pd_criticality(self.system, self.param, rec, self.s,
                                           stable_side=self._stable_side(recA, recB)))
            except Exception as e:  # noqa: BLE001 - a diagnostic must not stop the branch
                data["criticality"] = "unknown"
                data["criticality_error"] = str(e)
            data["criticality_switch"] = data["criticality"]
        if self.s.normal_forms:
            _add_normal_form(self.system, kind, sol, data)
        return sp

    def _stable_side(self, recA, recB):
        """Sign of (p − p_PD) on which the period-1 cycle has no real multiplier < −1."""
        ta = test_values(recA)
        pa, pb = recA["sol"].pfree, recB["sol"].pfree
        # pd_sign = +1: even number of real multipliers < -1 (typically none)
        return float(np.sign(pa - pb)) if ta["pd_sign"] > 0 else float(np.sign(pb - pa))


def _add_normal_form(system, kind, sol, data):
    """``data["normal_form"]`` (and the criticality of PD / NS points) from :mod:`.normal_forms`."""
    from . import normal_forms as nfm

    try:
        if kind == "LPC":
            nf = nfm.lpc_normal_form(system, sol)
            data["lpc_coefficient"] = nf["a"]
        elif kind == "PD":
            nf = nfm.pd_normal_form(system, sol)
            data["pd_nf_coefficient"] = nf["c"]
            data["criticality"] = nf["criticality"]
        else:
            nf = nfm.ns_normal_form(system, sol, data.get("theta"))
            data["ns_coefficient"] = nf["d"]
            data["criticality"] = nf["criticality"]
        data["normal_form"] = nf
    except Exception as e:  # noqa: BLE001 - a diagnostic must not stop the branch
        data["normal_form_error"] = f"{type(e).__name__}: {e}"


def continue_from_solution(system, param, bounds, rec0, settings, directions, period_ref,
                           stats):
    """Run continuation from a point record in the given directions (+1/-1 in parameter)."""
    runner = _Runner(system, param, bounds, settings, stats)
    runs = []
    for d in directions:
        runs.append(runner.run(rec0, d, period_ref))
    return runs


# ---------------------------------------------------------------------- assembling
def build_branch(system, param, runs, settings, stats, start_kind, t0):
    """Merge one or two runs (the second reversed in front) into a :class:`CycleBranch`."""
    if len(runs) == 2:
        (pb, sb, rb, mb), (pf, sf, rf, mf) = runs[1], runs[0]
        nb = len(pb)
        points = pb[::-1] + pf[1:]
        specials = []
        for sp_ in sb:
            sp_.index = nb - 2 - sp_.index
            specials.append(sp_)
        for sp_ in sf:
            sp_.index = sp_.index + nb - 1
            specials.append(sp_)
        ends = [(rb, mb, 0), (rf, mf, len(points) - 1)]
    else:
        points, specials, r, m = runs[0]
        ends = [("start", f"start ({start_kind})", 0), (r, m, len(points) - 1)]
    specials.sort(key=lambda s_: s_.index)
    n = system.n_states
    N = len(points)
    periods = np.empty(N)
    mults = np.empty((N, n), complex)
    means = np.empty((N, n))
    mins = np.empty((N, n))
    maxs = np.empty((N, n))
    stable = np.empty(N, bool)
    triv = np.empty(N)
    params = {k: np.empty(N) for k in system.params}
    outs = {k: np.empty(N) for k in system.outputs}
    outs_min = {k: np.empty(N) for k in system.outputs}
    outs_max = {k: np.empty(N) for k in system.outputs}
    orbits = [] if settings.store_orbits else None
    sols = []
    ntst = np.empty(N, int)
    for i, rec in enumerate(points):
        sol = rec["sol"]
        coll = Collocation(system, sol.mesh)
        periods[i] = sol.T
        mults[i] = rec["mult"]
        triv[i] = rec["trivial_error"]
        mu = rec["fl"].nontrivial()
        stable[i] = bool(np.all(np.abs(mu) < 1.0))
        means[i] = coll.mean(sol.U)
        mins[i], maxs[i] = coll.extrema(sol.U)
        for k, v in system.params_dict(sol.p).items():
            params[k][i] = v
        if system.outputs:
            W = coll.integral_weights()
            for k, g in system.outputs.items():
                vals = np.array([float(g(u, sol.p)) for u in sol.U])
                outs[k][i] = W @ vals
                outs_min[k][i] = vals.min()
                outs_max[k][i] = vals.max()
        if orbits is not None:
            X, tau = coll.closed_orbit(sol.U)
            orbits.append((tau * sol.T, X))
        sols.append(sol)
        ntst[i] = sol.mesh.ntst
    amplitude = np.max(maxs - mins, axis=1)
    endpoints = []
    status = "success"
    msgs = []
    for reason, msg, idx in ends:
        sol = points[idx]["sol"]
        endpoints.append(Endpoint(reason, idx, system.params_dict(sol.p), sol.U[0].copy(), msg))
        msgs.append(msg)
        if reason not in CycleBranch.REGULAR_STOPS and reason != "start" and status == "success":
            status = reason
    data = {"trivial_multiplier_error": triv, "ntst": ntst}
    for k in system.outputs:
        data[f"{k}_min"] = outs_min[k]
        data[f"{k}_max"] = outs_max[k]
    counts = dict(stats)
    counts["points"] = N
    counts["rhs_evaluations"] = system.counts.get("rhs", 0)
    counts["seconds"] = time.perf_counter() - t0
    br = CycleBranch(
        "PO", system, param, params, means, stable, mults, outputs=outs,
        special_points=specials, endpoints=endpoints, status=status,
        message="; ".join(msgs), counts=counts, data=data, settings=settings.as_dict(),
        periods=periods, multipliers=mults, state_min=mins, state_max=maxs,
        amplitude=amplitude, orbits=orbits,
    )
    br.solutions = sols
    br.start_kind = start_kind
    return br


# ---------------------------------------------------------------------- public entry point
def continue_cycles(start, param, bounds, **settings):
    """Continue a branch of periodic orbits in one parameter.

    Parameters
    ----------
    start : SpecialPoint or OrbitGuess
        An ``"HB"`` point of an equilibrium branch (the cycle is born there; amplitude
        predicted from ``data["omega"]``, ``data["l1"]`` and, if present, ``data["q"]``), a
        ``"PD"`` point of a cycle branch (continues the period-doubled branch), or an
        :class:`OrbitGuess` (an orbit found by simulation; continued in both directions).
    param : str
        The free parameter.
    bounds : (float, float)
        ``lo ≤ param ≤ hi``; the branch stops on a bound (reason ``"bound"``).
    **settings
        Fields of :class:`CycleSettings` (``ntst``, ``ncol``, ``ds``, ``max_points``, ...).

    Returns
    -------
    CycleBranch
        ``kind == "PO"``; ``states`` are period means ``∫_0^1 u dτ``; ``periods``;
        ``multipliers`` (N, n) sorted by decreasing modulus (including the trivial one);
        ``state_min``, ``state_max``; ``amplitude[i] = max_k (max_t x_k − min_t x_k)``, the
        largest peak-to-peak range over the state components; ``outputs`` are period means
        (``data[name + "_min"]``, ``data[name + "_max"]`` their extremes on the orbit);
        ``data["trivial_multiplier_error"]`` = ``|μ_trivial − 1|`` per point (quality of the
        multipliers); ``orbit(i)`` returns ``(t, x)`` on the collocation nodes, t ∈ [0, T];
        ``solutions[i]`` the collocation solution (mesh, node values, period, parameters).
        ``endpoints``: both ends; a branch started at an HB or PD point goes one way only and
        its first endpoint has reason ``"start"`` (the bifurcation point itself).

    Examples
    --------
    >>> cyc = continue_cycles(hopf_point, param="B", bounds=(0.0, 4.0))  # doctest: +SKIP
    >>> cyc.periods[:3], cyc.points("PD")                              # doctest: +SKIP
    """
    from .start import OrbitGuess, start_from_guess, start_from_hopf, start_from_pd

    t0 = time.perf_counter()
    s = CycleSettings.from_kwargs(**settings)
    if isinstance(start, OrbitGuess):
        system = start.system
    else:
        kind = getattr(start, "kind", None)
        if kind not in ("HB", "PD"):
            raise ParameterError(
                f"start must be an 'HB' or 'PD' SpecialPoint or an OrbitGuess; got "
                f"{type(start).__name__} with kind {kind!r}"
            )
        system = start.branch.system if getattr(start, "branch", None) is not None \
            else start.system
    if param not in system.param_index:
        raise ParameterError(f"param = {param!r} is not one of {list(system.params)}")
    try:
        lo, hi = (float(bounds[0]), float(bounds[1]))
    except (TypeError, ValueError, IndexError):
        raise ParameterError(f"bounds = {bounds!r} is not a pair (lo, hi)") from None
    if not lo < hi:
        raise ParameterError(f"bounds = {bounds!r}: need lo < hi")
    p_start = (start.params if isinstance(start, OrbitGuess) else start.params)[param]
    check_number(param, p_start, lo, hi, hint="the start must lie within bounds")
    with blas_limit(s.blas_threads):
        stats = {}
        if isinstance(start, OrbitGuess):
            rec0, _ = start_from_guess(start, param, s, stats)
            dirs = {"both": (1, -1), "forward": (1,), "backward": (-1,)}[s.direction]
            kind = "OrbitGuess"
        elif start.kind == "HB":
            rec0, _ = start_from_hopf(start, param, s, stats)
            dirs = (0,)
            kind = "HB"
        else:
            s.ntst = 2 * start.data.get("ntst", s.ntst)
            rec0, _ = start_from_pd(start, param, s, stats)
            dirs = (0,)
            kind = "PD"
        T_ref = rec0["sol"].T
        runs = continue_from_solution(system, param, (lo, hi), rec0, s, dirs, T_ref, stats)
        br = build_branch(system, param, runs, s, stats, kind, t0)
        if kind == "HB":
            br.data["hopf_start"] = rec0.get("hopf", {})
    return br
