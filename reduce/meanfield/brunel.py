r"""Brunel's (2000) sparse current-based LIF network: Siegert self-consistency and rate ODE.

**Published** (models.md §5). Each neuron receives C_E = εN_E excitatory inputs of
amplitude J, C_I = γC_E inhibitory inputs of amplitude −gJ and C_E external Poisson inputs of
rate ν_ext = η ν_thr, ν_thr = θ/(J C_E τ). In the diffusion approximation

.. math::

    \mu = C_E J\tau[\nu_{ext} + \nu(1 - g\gamma)], \qquad
    \sigma^2 = J^2 C_E\tau[\nu_{ext} + \nu(1 + g^2\gamma)],

and the stationary rate solves ``ν = Φ(μ(ν), σ(ν))`` with Φ the Siegert function
(:mod:`.siegert`). The rate ODE ``τ_x dν/dt = −ν + Φ(μ(ν), σ(ν))`` is offered as an
:class:`bifurcation.ODESystem` (``τ_x`` a parameter, ms; rates in Hz). Its equilibria are the
self-consistent solutions; its dynamics are a phenomenological relaxation, and the
oscillatory instabilities of the real network (synchronous regimes, which need the delay D
and the linear response of the Fokker–Planck equation) are **not** captured: only the
asynchronous-irregular (AI) regime is a fair comparison.

Two populations (``two_population_ode``): E and I may differ,

.. math::

    \mu_Q = \tau[C_E J_{QE}\nu_E - C_I g_Q J_{QE}\nu_I + C_E J_{QE}\nu_{ext}],\quad
    \sigma_Q^2 = \tau[C_E J_{QE}^2\nu_E + C_I g_Q^2 J_{QE}^2\nu_I + C_E J_{QE}^2\nu_{ext}],

with ``J_E``, ``J_I`` the excitatory amplitudes onto E and I and ``g_E``, ``g_I`` the relative
inhibition onto each; with J_E = J_I and g_E = g_I it reduces to the one-population model.

Inhibition-dominated limit (large g, mean input held at threshold):
``ν ≈ (ν_ext − ν_thr)/(gγ − 1)`` (:meth:`BrunelTheory.linear_limit`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from scipy.optimize import fsolve

from bifurcation.system import ODESystem
from simulate.validation import ParameterError, check_known, check_number

from .roots import FixedPoints, find_all_roots, scan_grid
from .siegert import _siegert_cv, _siegert_rate, _siegert_rate_derivs

__all__ = ["BrunelTheory", "DEFAULTS"]

#: models.md §5 (ms, mV, Hz).
DEFAULTS = {
    "tau": 20.0, "theta": 20.0, "v_r": 10.0, "tau_rp": 2.0, "J": 0.1, "g": 5.0,
    "eta": 2.0, "C_E": 1000.0, "gamma": 0.25, "delay": 1.5, "tau_x": 5.0,
    "J_I": None, "g_I": None,
}


@njit(cache=True)
def _mu_sigma(nu_e, nu_i, nu_ext, J, g, C_E, gamma, tau):
    """μ, σ for rates per ms (two-population form with one target's J, g)."""
    C_I = gamma * C_E
    mu = tau * (C_E * J * nu_e - C_I * g * J * nu_i + C_E * J * nu_ext)
    var = tau * J * J * (C_E * nu_e + C_I * g * g * nu_i + C_E * nu_ext)
    return mu, math.sqrt(var)


@njit(cache=True)
def _phi1(nu, nu_ext, J, g, C_E, gamma, tau, theta, v_r, tau_rp):
    mu, sig = _mu_sigma(nu, nu, nu_ext, J, g, C_E, gamma, tau)
    return _siegert_rate(mu, sig, tau, theta, v_r, tau_rp)


@njit(cache=True)
def _h1(nus, nu_ext, J, g, C_E, gamma, tau, theta, v_r, tau_rp, out):
    for i in range(nus.size):
        out[i] = _phi1(nus[i], nu_ext, J, g, C_E, gamma, tau, theta, v_r, tau_rp) - nus[i]


class BrunelTheory:
    """Mean-field theory of Brunel's network (models.md §5).

    Parameters
    ----------
    tau, theta, v_r, tau_rp : float
        Membrane time constant (ms), threshold and reset (mV), refractory period (ms).
    J, g, eta, C_E, gamma : float
        EPSP amplitude (mV), relative inhibition, external drive η = ν_ext/ν_thr, number of
        excitatory inputs, C_I/C_E.
    delay : float
        Transmission delay (ms); recorded only (the rate theory has no delay).
    tau_x : float
        Time constant of the rate ODE (ms).
    J_I, g_I : float, optional
        Excitatory amplitude and relative inhibition onto I neurons for the two-population
        model (default: equal to J and g).

    Examples
    --------
    >>> th = BrunelTheory(g=5.0, eta=2.0)
    >>> fp = th.self_consistent()
    >>> round(float(fp.rates_hz[0]), 2)
    37.95
    """

    def __init__(self, **params):
        check_known(params, DEFAULTS, "BrunelTheory")
        p = dict(DEFAULTS)
        p.update(params)
        p["tau"] = check_number("tau", p["tau"], 0.0, 1e4, lo_open=True, unit="ms")
        p["tau_rp"] = check_number("tau_rp", p["tau_rp"], 0.0, 1e3, unit="ms")
        p["theta"] = check_number("theta", p["theta"], -1e3, 1e3, unit="mV")
        p["v_r"] = check_number("v_r", p["v_r"], -1e3, 1e3, unit="mV")
        if not p["v_r"] < p["theta"]:
            raise ParameterError(f"v_r = {p['v_r']:g} is outside the valid range (-inf, theta "
                                 f"= {p['theta']:g}) mV")
        if not p["theta"] > 0:
            raise ParameterError(f"theta = {p['theta']:g} is outside the valid range (0, inf) "
                                 "mV (potentials are measured from rest, nu_thr = theta/(J C_E "
                                 "tau))")
        p["J"] = check_number("J", p["J"], 0.0, 1e3, lo_open=True, unit="mV")
        p["g"] = check_number("g", p["g"], 0.0, 1e3)
        p["eta"] = check_number("eta", p["eta"], 0.0, 1e3, lo_open=True)
        p["C_E"] = check_number("C_E", p["C_E"], 1.0, 1e9)
        p["gamma"] = check_number("gamma", p["gamma"], 0.0, 1e3)
        p["delay"] = check_number("delay", p["delay"], 0.0, 1e3, unit="ms")
        p["tau_x"] = check_number("tau_x", p["tau_x"], 0.0, 1e4, lo_open=True, unit="ms")
        p["J_I"] = p["J"] if p["J_I"] is None else check_number("J_I", p["J_I"], 0.0, 1e3,
                                                                 lo_open=True, unit="mV")
        p["g_I"] = p["g"] if p["g_I"] is None else check_number("g_I", p["g_I"], 0.0, 1e3)
        self.params = p

    def with_params(self, **kw) -> BrunelTheory:
        """A new theory with some parameters changed."""
        return BrunelTheory(**{**self.params, **kw})

    # ------------------------------------------------------------------ basics
    @property
    def nu_thr(self) -> float:
        """ν_thr = θ/(J C_E τ) in Hz."""
        p = self.params
        return 1000.0 * p["theta"] / (p["J"] * p["C_E"] * p["tau"])

    @property
    def nu_ext(self) -> float:
        """External rate per input, Hz."""
        return self.params["eta"] * self.nu_thr

    def _neuron(self):
        p = self.params
        return p["tau"], p["theta"], p["v_r"], p["tau_rp"]

    def mu_sigma(self, nu_e, nu_i=None, target="E"):
        """(μ, σ) in mV for rates in Hz."""
        p = self.params
        nu_i = nu_e if nu_i is None else nu_i
        J, g = (p["J"], p["g"]) if target == "E" else (p["J_I"], p["g_I"])
        return _mu_sigma(nu_e / 1000.0, nu_i / 1000.0, self.nu_ext / 1000.0, J, g, p["C_E"],
                         p["gamma"], p["tau"])

    def phi(self, nu) -> float:
        """Φ(ν) in Hz (one population)."""
        nu = check_number("nu", nu, 0.0, unit="Hz")
        mu, sig = self.mu_sigma(nu)
        return 1000.0 * _siegert_rate(mu, sig, *self._neuron())

    def linear_limit(self) -> float:
        """``(ν_ext − ν_thr)/(gγ − 1)`` in Hz (requires gγ > 1 and η > 1)."""
        p = self.params
        gg = p["g"] * p["gamma"]
        if gg <= 1.0:
            raise ParameterError(f"g*gamma = {gg:g} is outside the valid range (1, inf) of the "
                                 "inhibition-dominated limit")
        if p["eta"] <= 1.0:
            raise ParameterError(f"eta = {p['eta']:g} is outside the valid range (1, inf) of "
                                 "the inhibition-dominated limit (below it the limit rate is 0)")
        return (self.nu_ext - self.nu_thr) / (gg - 1.0)

    # ------------------------------------------------------------------ fixed points
    def self_consistent(self, n_log=120, n_lin=80) -> FixedPoints:
        """All solutions of ν = Φ(μ(ν), σ(ν)) (one population), Hz, with CV and stability."""
        p = self.params
        tau, th, vr, trp = self._neuron()
        args = (self.nu_ext / 1000.0, p["J"], p["g"], p["C_E"], p["gamma"], tau, th, vr, trp)
        numax = 1.0 / trp if trp > 0 else 1.0

        def hv(x):
            out = np.empty(x.size)
            _h1(x, *args, out)
            return out

        roots = find_all_roots(hv, lambda v: float(hv(np.array([v]))[0]),
                               scan_grid(numax, n_log, n_lin, nu_min=1e-9))
        rates, slopes, cvs, mus, sigs = [], [], [], [], []
        for r in roots:
            mu, sig = _mu_sigma(r, r, *args[:6])
            nu_, dmu, dsig = _siegert_rate_derivs(mu, sig, tau, th, vr, trp)
            # dΦ/dν = ∂ν/∂μ dμ/dν + ∂ν/∂σ dσ/dν
            dmu_dnu = tau * p["C_E"] * p["J"] * (1 - p["g"] * p["gamma"])
            dsig_dnu = tau * p["J"] ** 2 * p["C_E"] * (1 + p["g"] ** 2 * p["gamma"]) / (2 * sig)
            slopes.append(dmu * dmu_dnu + dsig * dsig_dnu)
            rates.append(1000.0 * r)
            cvs.append(_siegert_cv(mu, sig, tau, th, vr, trp))
            mus.append(mu)
            sigs.append(sig)
        rates = np.array(rates)
        return FixedPoints(rates, np.array(slopes) < 1.0, np.array(slopes),
                           {"cv": np.array(cvs), "mu": np.array(mus), "sigma": np.array(sigs)},
                           "ok" if rates.size else "no solution",
                           f"{rates.size} solution(s); scan of [0, 1/tau_rp] + Brent")

    def two_population_fixed_point(self, guess=None) -> dict:
        """A solution (ν_E, ν_I) in Hz of the two-population self-consistency, by Newton
        (``scipy.optimize.fsolve``) in log-rates from the one-population solution; ``status``
        says whether it converged (residual below 1e-8 Hz/ms)."""
        if guess is None:
            fp = self.self_consistent()
            g0 = fp.rates_hz[0] if fp.n else 1.0
            guess = (g0, g0)
        sys = self.two_population_ode()
        p = sys.p0

        def f(y):
            x = np.exp(y)
            r = sys.rhs(x, p) * self.params["tau_x"] + x     # = Φ(x)
            return np.log(np.maximum(r, 1e-300)) - y

        y, info, ier, msg = fsolve(f, np.log(np.maximum(np.asarray(guess, float), 1e-6)),
                                   full_output=True, xtol=1e-13)
        x = np.exp(y)
        ok = np.all(np.isfinite(x)) and np.max(np.abs(sys.rhs(x))) < 1e-8
        return {"rates_hz": {"E": float(x[0]), "I": float(x[1])},
                "status": "ok" if ok else "no solution", "message": str(msg)}

    # ------------------------------------------------------------------ ODEs
    def ode(self) -> ODESystem:
        """One-population rate ODE τ_x dν/dt = −ν + Φ(μ(ν), σ(ν)), ν in Hz.

        Parameters: g, eta, J, C_E, gamma, tau_x. Outputs ``rate_E`` = ``rate_I`` = ν.
        """
        p = self.params
        tau, th, vr, trp = self._neuron()

        def rhs(x, q):
            g, eta, J, C_E, gamma, tx = q
            nu_ext = eta * th / (J * C_E * tau)
            nu = max(x[0], 0.0) / 1000.0
            r = _phi1(nu, nu_ext, J, g, C_E, gamma, tau, th, vr, trp)
            return np.array([(1000.0 * r - x[0]) / tx])

        params = {k: p[k] for k in ("g", "eta", "J", "C_E", "gamma", "tau_x")}
        out = {"rate_E": lambda x, q: x[0], "rate_I": lambda x, q: x[0]}
        return ODESystem(rhs, 1, params, outputs=out, state_names=["nu"], name="brunel-1pop")

    def two_population_ode(self) -> ODESystem:
        """Two-population rate ODE for (ν_E, ν_I) in Hz.

        ``τ_x dν_Q/dt = −ν_Q + Φ(μ_Q(ν_E, ν_I), σ_Q(ν_E, ν_I))``; parameters g, g_I, eta, J,
        J_I, C_E, gamma, tau_x.
        """
        p = self.params
        tau, th, vr, trp = self._neuron()

        def rhs(x, q):
            g, g_i, eta, J, J_i, C_E, gamma, tx = q
            nu_ext = eta * th / (J * C_E * tau)
            ne = max(x[0], 0.0) / 1000.0
            ni = max(x[1], 0.0) / 1000.0
            mu_e, s_e = _mu_sigma(ne, ni, nu_ext, J, g, C_E, gamma, tau)
            mu_i, s_i = _mu_sigma(ne, ni, nu_ext, J_i, g_i, C_E, gamma, tau)
            re = 1000.0 * _siegert_rate(mu_e, s_e, tau, th, vr, trp)
            ri = 1000.0 * _siegert_rate(mu_i, s_i, tau, th, vr, trp)
            return np.array([(re - x[0]) / tx, (ri - x[1]) / tx])

        params = {"g": p["g"], "g_I": p["g_I"], "eta": p["eta"], "J": p["J"], "J_I": p["J_I"],
                  "C_E": p["C_E"], "gamma": p["gamma"], "tau_x": p["tau_x"]}
        out = {"rate_E": lambda x, q: x[0], "rate_I": lambda x, q: x[1]}
        return ODESystem(rhs, 2, params, outputs=out, state_names=["nu_E", "nu_I"],
                         name="brunel-2pop")
