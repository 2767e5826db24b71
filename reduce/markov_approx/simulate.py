"""Integration of the Markov approximation: ODE (stiff, error-controlled) or map.

``ma.simulate(t_end, form="ode" | "map", x0=None, ...)`` returns an :class:`MAResult` whose
``activity()`` is a :class:`simulate.PopulationActivity` (counts = flux · dt per output bin),
so the observables of :mod:`simulate` accept it.

ODE: by default the compiled Bogacki–Shampine 3(2) pair (``method="bs23"``,
:mod:`reduce.markov_approx.integrate`) with ``rtol = 1e-3``, ``atol = 1e-6`` (weighted RMS
error norm, PI step control, cubic-Hermite output); measured against DOP853 at rtol 1e-11
over 300 ms of the MFE cycle at the defaults, mean rates and the period agree to 5e-5
relative and MFE peak heights to 6e-4 (docs/markov_approx.md, "Speed").
``method="dopri5"`` is the compiled Dormand–Prince 5(4) pair (≈ 1.35× the cost at the same
tolerance, rates to 6e-6, peak heights to 4e-6); ``"LSODA"``, ``"BDF"``, ``"Radau"``
(with the analytic Jacobian), ``"RK45"``, ``"DOP853"`` call :func:`scipy.integrate.solve_ivp`
with ``rtol = 1e-6``, ``atol = 1e-8`` by default. The flux is sampled on the output grid
(``dt_out``, default 0.1 ms), so ``counts = F(x(t_k)) · dt_out``.
Map: ``dt`` (default h) per step; the flux of each step times dt gives the counts.
"""

from __future__ import annotations

import time

import numpy as np

from simulate.validation import ParameterError, check_choice, check_number

__all__ = ["MAResult", "run", "attractor_summary"]


class MAResult:
    """Result of :meth:`MarkovApproximation.simulate`.

    Attributes
    ----------
    t : ndarray (T,)
        Output times, ms.
    x : ndarray (T, n)
        States (ODE: 148 reduced coordinates; map: 152 with R and F).
    flux : ndarray (T, P)
        Spike flux per population (spikes per ms) on the output grid.
    form, method, rtol, atol, success, message, nfev, njev, wall_time_s, t_burn
    """

    def __init__(self, ma, t, x, flux, dt_out, form, **info):
        self.ma = ma
        self.t = np.asarray(t, float)
        self.x = np.asarray(x, float)
        self.flux = np.asarray(flux, float)
        self.dt_out = float(dt_out)
        self.form = form
        self.t_burn = info.pop("t_burn", 200.0)
        self.__dict__.update(info)

    def activity(self):
        """:class:`simulate.PopulationActivity` with counts = flux · dt per bin."""
        from simulate.activity import PopulationActivity

        pops = self.ma.spec.populations
        counts = {q: self.flux[:, i] * self.dt_out for i, q in enumerate(pops)}
        sizes = {q: float(self.ma.spec.sizes[i]) for i, q in enumerate(pops)}
        if "E" not in pops:
            e = np.flatnonzero(self.ma.spec.excitatory)
            counts["E"] = self.flux[:, e].sum(1) * self.dt_out
            sizes["E"] = float(self.ma.spec.sizes[e].sum())
        return PopulationActivity(self.t, self.dt_out, counts, sizes)

    @property
    def rates_hz(self) -> dict:
        """Mean rates over [t_burn, t_end], Hz per neuron."""
        t_burn = self.t_burn if self.t[-1] > self.t_burn else 0.0
        return self.activity().mean_rates_hz(t_burn)

    def state_view(self):
        """Named view (:class:`StateView`) of the recorded states ``x``."""
        return self.ma.state_view(self.x)

    def attractor(self, smooth_ms: float = 1.0) -> dict:
        """Attractor summary of the first population's rate, box-smoothed over ``smooth_ms``
        (1 ms, as for MFE detection), see :func:`attractor_summary`."""
        rate = self.flux[:, 0] * 1000.0 / self.ma.spec.sizes[0]
        w = max(1, int(round(smooth_ms / self.dt_out)))
        t = self.t
        if 1 < w < len(rate):
            rate = np.convolve(rate, np.ones(w) / w, mode="valid")   # trailing box average
            t = t[w - 1:]
        return attractor_summary(t, rate, t_burn=self.t_burn)

    def summary(self) -> dict:
        """Dict with ``form``, ``rates_hz``, ``t_burn``, ``t_end`` and :meth:`attractor`."""
        return {"form": self.form, "rates_hz": self.rates_hz, "t_burn": self.t_burn,
                "t_end": float(self.t[-1] + self.dt_out), "attractor": self.attractor()}


def attractor_summary(t, rate, t_burn=200.0, rel_tol=5e-3) -> dict:
    """Classify a rate trace after ``t_burn``: equilibrium, cycle (with period) or irregular.

    Equilibrium: peak-to-peak variation below ``1e-6 + 1e-4 · mean`` (or below ``1e-3 · mean``
    over the last fifth of the window: a damped approach). Otherwise the peaks of
    the trace (prominence ≥ 5 % of its range) are found (time and height refined by a parabola
    through the three samples); the smallest m ∈ {1, ..., 6} for which peak heights repeat
    after m peaks (relative difference ≤ ``rel_tol`` and intervals
    repeating to 1 %) makes a cycle of period ``t_{i+m} - t_i`` (``"peaks_per_period": m``, so
    m = 2 is the period-2 alternating-MFE pattern); else irregular.
    """
    from scipy.signal import find_peaks

    t = np.asarray(t, float)
    r = np.asarray(rate, float)
    sel = t >= t_burn
    if sel.sum() < 10:
        sel = t >= t[0]
    t, r = t[sel], r[sel]
    span = float(r.max() - r.min())
    if span <= 1e-6 + 1e-4 * abs(float(r.mean())):
        return {"kind": "equilibrium", "period_ms": None}
    # a (damped) approach to an equilibrium: the last fifth of the window varies by less
    # than 1e-3 of its mean
    tail = r[int(0.8 * len(r)):]
    if np.ptp(tail) <= 1e-6 + 1e-3 * abs(float(tail.mean())):
        return {"kind": "equilibrium", "period_ms": None, "converging": True}
    pk, _ = find_peaks(r, prominence=0.05 * span)
    if len(pk) < 4:
        return {"kind": "irregular", "period_ms": None, "n_peaks": int(len(pk))}
    # sub-sample peak position by a parabola through the 3 samples
    tp = t[pk].copy()
    hp = r[pk].copy()
    for i, k in enumerate(pk):
        if 0 < k < len(r) - 1:
            a, b, c = r[k - 1], r[k], r[k + 1]
            den = a - 2 * b + c
            if den != 0:
                tp[i] += 0.5 * (a - c) / den * (t[1] - t[0])
                hp[i] = b - (a - c) ** 2 / (8.0 * den)   # vertex of the parabola
    for m in range(1, 7):
        if len(pk) < 2 * m + 2:
            break
        dh = np.abs(hp[m:] - hp[:-m]) / np.maximum(np.abs(hp[m:]), 1e-12)
        per = tp[m:] - tp[:-m]
        half = len(dh) // 2  # judge the second half (transients decay)
        if np.all(dh[half:] <= rel_tol) and np.ptp(per[half:]) <= 0.01 * per[half:].mean():
            heights = hp[-m:].tolist()
            return {"kind": "cycle", "period_ms": float(per[half:].mean()),
                    "peaks_per_period": m, "peak_heights_hz": heights}
    return {"kind": "irregular", "period_ms": None, "n_peaks": int(len(pk))}


#: Compiled explicit pairs of :mod:`reduce.markov_approx.integrate`.
COMPILED = ("bs23", "dopri5")


def _run_compiled(ma, x, p, arrays, method, t_end, dt_out, rtol, atol, max_step, max_steps,
                  t_burn, t0):
    """``run`` with a compiled explicit pair (see :mod:`reduce.markov_approx.integrate`)."""
    from .integrate import erk_solve, tableau

    A, b, bhat, c, _, order_low = tableau(method)
    max_steps = check_number("max_steps", max_steps, 1, None, integer=True)
    n_out = int(np.floor(t_end / dt_out + 1e-9))
    X, flux, status, nfev, n_acc, n_rej, keep = erk_solve(
        x, p, n_out, float(dt_out), float(rtol), float(atol), min(0.01, dt_out),
        float(max_step), int(max_steps), A, b, b - bhat, c, float(order_low + 1), *arrays)
    msg = {0: "done", 1: f"max_steps = {max_steps} reached",
           2: "step size underflow"}[int(status)]
    t = np.arange(n_out + 1) * dt_out
    return MAResult(ma, t[:keep], X[:keep], flux[:keep], dt_out, "ode", method=method,
                    rtol=rtol, atol=atol, success=status == 0, message=msg, nfev=int(nfev),
                    njev=0, n_accept=int(n_acc), n_reject=int(n_rej), t_burn=t_burn,
                    wall_time_s=time.perf_counter() - t0)


def run(ma, t_end: float, form: str = "ode", x0=None, params: dict | None = None,
        method: str = "bs23", rtol: float | None = None, atol: float | None = None,
        dt_out: float = 0.1, dt: float | None = None, drop_mass: bool = False,
        closure: str | None = None, t_burn: float = 200.0, max_step: float = np.inf,
        max_steps: int = 10**7):
    """Integrate the ODE or iterate the map for ``t_end`` ms.

    Parameters
    ----------
    form : {"ode", "map"}
    x0 : ndarray, optional
        Start (ODE 148 or map 152 numbers); default :meth:`initial_state`.
    params : dict, optional
        Parameter overrides by name (``p_ei``, ``h``, ...).
    method : {"dopri5", "bs23", "LSODA", "BDF", "Radau", "RK45", "DOP853"}
        ODE integrator: compiled explicit pairs (default "bs23") or ``solve_ivp``. The
        explicit default is the cheaper one for h ≳ 0.015 ms; for smaller horizons the field
        is stiff (eigenvalues ≈ -1/h) and "LSODA" is cheaper.
    rtol, atol : float, optional
        Tolerances; default 1e-3 / 1e-6 for the compiled pairs, 1e-6 / 1e-8 for ``solve_ivp``.
    max_step, max_steps :
        Largest step (ms) and, for the compiled pairs, the largest number of steps.
    dt_out : float
        Output grid of the ODE, ms.
    dt : float
        Map step (default h = 0.1 ms, the published map).
    drop_mass : bool
        Map only: lose the mass that falls below -M_r, as the released code does.
    closure : str
        Map only: ``"uniform-widest"`` (published, default for the map) or ``"maxent"``.
    """
    form = check_choice("form", form, ("ode", "map"))
    t_end = check_number("t_end", t_end, 0.0, 1e8, lo_open=True, unit="ms")
    t_burn = check_number("t_burn", t_burn, 0.0, None, unit="ms")
    p = ma.param_vector(params)
    t0 = time.perf_counter()
    if form == "ode":
        from scipy.integrate import solve_ivp

        check_choice("method", method, COMPILED + ("LSODA", "BDF", "Radau", "RK45", "DOP853"))
        compiled = method in COMPILED
        rtol = check_number("rtol", (1e-3 if compiled else 1e-6) if rtol is None else rtol,
                            0.0, 1.0, lo_open=True)
        atol = check_number("atol", (1e-6 if compiled else 1e-8) if atol is None else atol,
                            0.0, None, lo_open=True)
        dt_out = check_number("dt_out", dt_out, 0.0, t_end, lo_open=True, unit="ms")
        if not max_step == np.inf:
            max_step = check_number("max_step", max_step, 0.0, None, lo_open=True, unit="ms")
        sysm = ma.ode()
        x = ma.initial_state() if x0 is None else np.asarray(x0, float)[: ma.layout.n_ode]
        x = np.ascontiguousarray(x)
        from .ode import flux_many, jac_core, rhs_core

        arrays = ma.kernel_arrays()
        if not np.isfinite(x).all():
            raise ParameterError("x0 contains non-finite values; the valid range is finite")
        if compiled:
            return _run_compiled(ma, x, p, arrays, method, t_end, dt_out, rtol, atol,
                                 max_step, max_steps, t_burn, t0)
        fun = lambda t, y: rhs_core(y, p, *arrays)  # noqa: E731
        jac = None
        if sysm.jac_func is not None and method in ("LSODA", "BDF", "Radau"):
            jac = lambda t, y: jac_core(y, p, *arrays)  # noqa: E731
        n_out = int(np.floor(t_end / dt_out + 1e-9))
        t_eval = np.arange(n_out + 1) * dt_out
        kw = {"jac": jac} if jac is not None else {}
        sol = solve_ivp(fun, (0.0, t_eval[-1]), x, method=method, t_eval=t_eval, rtol=rtol,
                        atol=atol, max_step=max_step, **kw)
        X = sol.y.T
        flux = flux_many(np.ascontiguousarray(X), p, *arrays)
        return MAResult(ma, sol.t, X, flux, dt_out, "ode", method=method, rtol=rtol,
                        atol=atol, success=bool(sol.success), message=sol.message,
                        nfev=int(sol.nfev), njev=int(sol.njev), t_burn=t_burn,
                        wall_time_s=time.perf_counter() - t0)
    from .map import map_run

    h = ma.network_arrays(p)["h"]
    dt = h if dt is None else check_number("dt", dt, 0.0, None, lo_open=True, unit="ms")
    x = ma.to_map_state(ma.initial_state() if x0 is None else x0, None)
    n_steps = int(round(t_end / dt))
    closure = closure or "uniform-widest"
    _, flux, states = map_run(np.ascontiguousarray(x), p, n_steps, float(dt), bool(drop_mass),
                              *ma.kernel_arrays(closure), 1)
    t = np.arange(n_steps) * dt
    return MAResult(ma, t, states[:-1], flux, dt, "map", closure=closure,
                    drop_mass=bool(drop_mass), success=True, message="ok", nfev=n_steps,
                    njev=0, t_burn=t_burn, wall_time_s=time.perf_counter() - t0)
