r"""Strong-coupling mean-field theory of the conductance-based LIF network (models.md §4).

**Published** (Sanzeni, Histed & Brunel): every neuron receives K excitatory, γK inhibitory
and K external Poisson inputs; a spike of strength ``a`` moves V towards the reversal
``E_A`` (V → E_A + (V − E_A)e^{−a}; ``g·a`` for inhibition). In the diffusion approximation
with an effective time constant, for input rates ``r_E`` (E and external together) and
``r_I`` per input,

.. math::

    \frac{1}{\tau} = \frac{1}{\tau_L} + aK(r_E + g\gamma r_I), \qquad
    \mu = \tau\Big[\frac{E_L}{\tau_L} + aK(r_E E_E + g\gamma r_I E_I)\Big],

    \sigma^2 = a^2K\tau\,[\,r_E(\mu - E_E)^2 + g^2\gamma\, r_I(\mu - E_I)^2\,],

and the rate and CV are Siegert's (:mod:`.siegert`) with (μ, σ, τ, θ, V_r, τ_rp). The network
(E and I neurons identical) solves ``ν = Φ(r_E = ν_X + ν, r_I = ν)``.

Options (all documented as choices, not claims of the paper):

- ``jump="linear"`` uses ``a`` (the paper's diffusion coefficients); ``"exact"`` uses the
  exact jump fraction ``1 − e^{−a}`` (``1 − e^{−ga}`` for inhibition) in μ, σ and τ.
- ``noise="additive"`` (the paper): σ evaluated at V = μ. ``"multiplicative"``: the
  diffusion coefficient ``B(V) = a²K[r_E(V − E_E)² + g²γ r_I(V − E_I)²]`` is kept
  V-dependent and the rate comes from the general first-passage formula
  (:mod:`.firstpassage`), and the CV from the first two moments of the passage time.

Limits:

- Kramers/escape: far below threshold, ``ν ≈ y_θ e^{−y_θ²}/(τ√π)``, ``y_θ = (θ − μ)/σ``.
- Single neuron, fixed input rates, K → ∞ with aK → ∞: τ → 0, μ → μ₀ =
  (r_E E_E + gγ r_I E_I)/(r_E + gγ r_I), σ² → a·v̄² with
  v̄² = [r_E(μ₀ − E_E)² + g²γ r_I(μ₀ − E_I)²]/(r_E + gγ r_I); so y_θ² = (θ − μ₀)²/(a v̄²)
  and a finite rate needs ``a ≈ (θ − μ₀)²/(v̄² log K)`` to leading order
  (:meth:`ConductanceTheory.a_log_leading`); :meth:`ConductanceTheory.a_for_rate` solves for
  a(K) exactly.
- Network, a ∝ K^{−α} (0 < α < 1): ν/ν_X → (E_E − θ)/(θ(1 + gγ) − E_E − gγE_I)
  (:meth:`ConductanceTheory.linear_limit`), the rate at which μ₀ = θ.

Heterogeneous in-degree: a neuron's three input counts are scaled by a common factor
``k`` (log-normal, mean 1, coefficient of variation ``cv_k``); the population mean rate solves
``ν̄ = E_k[Φ_k(ν_X + ν̄, ν̄)]`` (Gauss–Hermite quadrature over k), and the distribution of
single-neuron rates follows from the distribution of k (:meth:`heterogeneous`).

Units: times in ms, potentials in mV, rates in Hz at the public interface.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from scipy.optimize import brentq

from bifurcation.system import ODESystem
from simulate.validation import ParameterError, check_choice, check_known, check_number

from .firstpassage import first_passage_moments
from .roots import FixedPoints, find_all_roots, scan_grid
from .siegert import _siegert_cv, _siegert_rate, _siegert_rate_derivs

__all__ = ["ConductanceTheory", "DEFAULTS"]

#: models.md §4 table (ms, mV, Hz).
DEFAULTS = {
    "K": 1000.0, "a": 0.01, "g": 20.0, "gamma": 0.25, "nu_x": 10.0,
    "tau_l": 20.0, "e_l": -80.0, "e_e": 0.0, "e_i": -75.0,
    "theta": -55.0, "v_r": -65.0, "tau_rp": 2.0,
}


@njit(cache=True)
def _moments(r_e, r_i, K, ae, ai, gamma, tau_l, e_l, e_e, e_i):
    """(τ, μ, σ) for input rates per ms; ``ae`` = a, ``ai`` = g·a (or their exact fractions)."""
    ge = ae * K * r_e
    gi = ai * gamma * K * r_i
    inv_tau = 1.0 / tau_l + ge + gi
    tau = 1.0 / inv_tau
    mu = tau * (e_l / tau_l + ge * e_e + gi * e_i)
    # σ² = a²Kτ[r_E(μ−E_E)² + g²γ r_I(μ−E_I)²]
    var = tau * K * (ae * ae * r_e * (mu - e_e) ** 2 + ai * ai * gamma * r_i * (mu - e_i) ** 2)
    return tau, mu, math.sqrt(var)


@njit(cache=True)
def _cond_rate(r_e, r_i, K, ae, ai, gamma, tau_l, e_l, e_e, e_i, theta, v_r, tau_rp):
    tau, mu, sig = _moments(r_e, r_i, K, ae, ai, gamma, tau_l, e_l, e_e, e_i)
    return _siegert_rate(mu, sig, tau, theta, v_r, tau_rp)


@njit(cache=True)
def _net_h(nus, nu_x, K, ae, ai, gamma, tau_l, e_l, e_e, e_i, theta, v_r, tau_rp, out):
    """h(ν) = Φ(ν_X + ν, ν) − ν for an array of ν (per ms)."""
    for i in range(nus.size):
        nu = nus[i]
        out[i] = _cond_rate(nu_x + nu, nu, K, ae, ai, gamma, tau_l, e_l, e_e, e_i, theta, v_r,
                            tau_rp) - nu


@njit(cache=True)
def _net_h_het(nus, nu_x, K, ae, ai, gamma, tau_l, e_l, e_e, e_i, theta, v_r, tau_rp,
               ks, ws, out):
    for i in range(nus.size):
        nu = nus[i]
        s = 0.0
        for j in range(ks.size):
            s += ws[j] * _cond_rate(nu_x + nu, nu, K * ks[j], ae, ai, gamma, tau_l, e_l, e_e,
                                    e_i, theta, v_r, tau_rp)
        out[i] = s - nu


@njit(cache=True)
def _rate_totals(exc, inh, ae, ai, tau_l, e_l, e_e, e_i, theta, v_r, tau_rp):
    """Rate (per ms) for total excitatory and inhibitory input rates (events per ms)."""
    ge = ae * exc
    gi = ai * inh
    tau = 1.0 / (1.0 / tau_l + ge + gi)
    mu = tau * (e_l / tau_l + ge * e_e + gi * e_i)
    var = tau * (ae * ae * exc * (mu - e_e) ** 2 + ai * ai * inh * (mu - e_i) ** 2)
    return _siegert_rate(mu, math.sqrt(var), tau, theta, v_r, tau_rp)


@njit(cache=True)
def _net_h_indep(nus, nu_x, K, ae, ai, gamma, tau_l, e_l, e_e, e_i, theta, v_r, tau_rp,
                 ke, ki, w, out):
    """Independent E and I in-degree factors (ke[i], ki[j], weight w[i]w[j]), external K."""
    for n in range(nus.size):
        nu = nus[n]
        s = 0.0
        for i in range(ke.size):
            for j in range(ki.size):
                s += w[i] * w[j] * _rate_totals(K * nu_x + K * ke[i] * nu, gamma * K * ki[j] * nu,
                                                ae, ai, tau_l, e_l, e_e, e_i, theta, v_r,
                                                tau_rp)
        out[n] = s - nu


class ConductanceTheory:
    """Mean-field theory of the conductance-based network of models.md §4.

    Parameters
    ----------
    K : float
        In-degree (excitatory and external; γK inhibitory), ≥ 1.
    a : float
        Excitatory synaptic strength (dimensionless, 0 < a < 1); inhibitory is g·a.
    g, gamma : float
        Relative inhibitory strength and fraction of inhibitory inputs.
    nu_x : float
        External rate per input, Hz.
    tau_l, e_l, e_e, e_i, theta, v_r, tau_rp : float
        Leak time constant (ms), reversal potentials, threshold, reset (mV), refractory (ms).
    jump : {"linear", "exact"}
    noise : {"additive", "multiplicative"}

    Examples
    --------
    >>> th = ConductanceTheory(K=1000, a=0.0016)
    >>> fp = th.self_consistent()
    >>> fp.status, fp.n >= 1
    ('ok', True)
    """

    def __init__(self, jump="linear", noise="additive", **params):
        check_known(params, DEFAULTS, "ConductanceTheory")
        p = dict(DEFAULTS)
        p.update(params)
        p["K"] = check_number("K", p["K"], 1.0, 1e12)
        p["a"] = check_number("a", p["a"], 0.0, 1.0, lo_open=True, hi_open=True,
                              hint="a is the dimensionless jump fraction of a conductance input")
        p["g"] = check_number("g", p["g"], 0.0, 1e4)
        p["gamma"] = check_number("gamma", p["gamma"], 0.0, 1e3)
        p["nu_x"] = check_number("nu_x", p["nu_x"], 0.0, 1e4, lo_open=True, unit="Hz",
                                 suspicious_above=2000.0,
                                 suspicious_hint="nu_x is in Hz per input")
        p["tau_l"] = check_number("tau_l", p["tau_l"], 0.0, 1e4, lo_open=True, unit="ms")
        p["tau_rp"] = check_number("tau_rp", p["tau_rp"], 0.0, 1e3, unit="ms")
        for k in ("e_l", "e_e", "e_i", "theta", "v_r"):
            p[k] = check_number(k, p[k], -1e3, 1e3, unit="mV")
        if not p["v_r"] < p["theta"]:
            raise ParameterError(f"v_r = {p['v_r']:g} is outside the valid range "
                                 f"(-inf, theta = {p['theta']:g}) mV")
        if not p["e_e"] > p["theta"]:
            raise ParameterError(f"e_e = {p['e_e']:g} is outside the valid range "
                                 f"(theta = {p['theta']:g}, inf) mV: excitation must be able "
                                 "to drive the neuron to threshold")
        self.jump = check_choice("jump", jump, ("linear", "exact"))
        self.noise = check_choice("noise", noise, ("additive", "multiplicative"))
        self.params = p

    # ------------------------------------------------------------------ helpers
    def with_params(self, **kw) -> ConductanceTheory:
        """A new theory with some parameters changed (same ``jump`` and ``noise`` options)."""
        return ConductanceTheory(jump=self.jump, noise=self.noise, **{**self.params, **kw})

    def _strengths(self, a=None):
        a = self.params["a"] if a is None else a
        g = self.params["g"]
        if self.jump == "exact":
            return -math.expm1(-a), -math.expm1(-g * a)
        return a, g * a

    def _args(self, K=None, a=None):
        p = self.params
        ae, ai = self._strengths(a)
        return (p["K"] if K is None else K, ae, ai, p["gamma"], p["tau_l"], p["e_l"],
                p["e_e"], p["e_i"])

    def _neuron(self):
        p = self.params
        return p["theta"], p["v_r"], p["tau_rp"]

    @staticmethod
    def _check_rates(r_e, r_i):
        r_e = check_number("r_e", r_e, 0.0, 1e4, unit="Hz")
        r_i = check_number("r_i", r_i, 0.0, 1e4, unit="Hz")
        if r_e + r_i <= 0:
            raise ParameterError("r_e + r_i = 0: with no input there is no noise (sigma = 0); "
                                 "give a positive input rate")
        return r_e, r_i

    # ------------------------------------------------------------------ single neuron
    def single_neuron(self, r_e, r_i, K=None, a=None) -> dict:
        """Effective τ (ms), μ, σ (mV), rate (Hz) and CV for fixed input rates (Hz).

        ``r_e`` is the rate of each of the K excitatory-type inputs (recurrent E and
        external together, as in ``r_E = ν_X + ν``), ``r_i`` of each of the γK inhibitory ones.
        """
        r_e, r_i = self._check_rates(r_e, r_i)
        args = self._args(K, a)
        tau, mu, sig = _moments(r_e / 1000.0, r_i / 1000.0, *args)
        th, vr, trp = self._neuron()
        if self.noise == "additive":
            rate = _siegert_rate(mu, sig, tau, th, vr, trp)
            cv = _siegert_cv(mu, sig, tau, th, vr, trp)
        else:
            rate, cv = self._rate_multiplicative(r_e / 1000.0, r_i / 1000.0, tau, mu, sig, args)
        b = (th - mu) / sig
        return {"tau": tau, "mu": mu, "sigma": sig, "rate_hz": 1000.0 * rate, "cv": cv,
                "y_theta": b}

    def _rate_multiplicative(self, r_e, r_i, tau, mu, sig, args):
        K, ae, ai, gamma, tau_l, e_l, e_e, e_i = args
        th, vr, trp = self._neuron()
        drift = lambda v: (mu - v) / tau
        diff = lambda v: K * (ae * ae * r_e * (v - e_e) ** 2 + ai * ai * gamma * r_i
                              * (v - e_i) ** 2)
        lo = min(mu, vr) - 12.0 * sig
        T1, T2 = first_passage_moments(drift, diff, lo, vr, th)
        if not (np.isfinite(T1) and np.isfinite(T2)):
            return 0.0, 1.0
        return 1.0 / (trp + T1), math.sqrt(max(T2 - T1 * T1, 0.0)) / (trp + T1)

    def rate(self, r_e, r_i, K=None, a=None) -> float:
        """Single-neuron rate (Hz) for fixed input rates (Hz)."""
        return self.single_neuron(r_e, r_i, K, a)["rate_hz"]

    def kramers_rate(self, r_e, r_i, K=None, a=None) -> float:
        """Escape-limit rate (Hz): ``y_θ e^{−y_θ²}/(τ√π)``, valid for y_θ ≫ 1.

        Returns 0.0 for y_θ ≤ 0, where there is no barrier to escape over.
        """
        s = self.single_neuron(r_e, r_i, K, a)
        b = s["y_theta"]
        if b <= 0:
            return 0.0
        return 1000.0 * b * math.exp(-b * b) / (s["tau"] * math.sqrt(math.pi))

    def strong_coupling_limit(self, r_e, r_i) -> dict:
        """μ₀ and v̄² of the K → ∞ (aK → ∞) limit for fixed input rates (Hz)."""
        r_e, r_i = self._check_rates(r_e, r_i)
        p = self.params
        gg = p["g"] * p["gamma"]
        mu0 = (r_e * p["e_e"] + gg * r_i * p["e_i"]) / (r_e + gg * r_i)
        v2 = (r_e * (mu0 - p["e_e"]) ** 2 + p["g"] ** 2 * p["gamma"] * r_i
              * (mu0 - p["e_i"]) ** 2) / (r_e + gg * r_i)
        return {"mu0": mu0, "vbar2": v2}

    def a_log_leading(self, K, r_e, r_i) -> float:
        """Leading-order coupling that keeps the rate finite: ``(θ − μ₀)²/(v̄² log K)``."""
        K = check_number("K", K, 1.0, lo_open=True)
        lim = self.strong_coupling_limit(r_e, r_i)
        d = self.params["theta"] - lim["mu0"]
        if d <= 0:
            raise ParameterError(
                f"mu0 = {lim['mu0']:.3g} mV is not below theta = {self.params['theta']:g} mV for "
                f"r_e = {r_e:g}, r_i = {r_i:g} Hz: the strong-coupling limit is suprathreshold "
                "and no a(K) ~ 1/log K exists; raise r_i/r_e"
            )
        return d * d / (lim["vbar2"] * math.log(K))

    def a_kramers(self, K, nu_target, r_e, r_i, iters=200):
        """Coupling from the escape (Kramers) relation with its logarithmic corrections.

        Solves ``a = (θ − μ₀)²/(v̄² L)`` with ``L = y_θ² = log(y_θ/(τ√π ν))`` and
        ``1/τ = 1/τ_L + aK(r_E + gγ r_I)`` by fixed-point iteration: the 1/log K law with the
        constant inside the logarithm made explicit. Returns None if the iteration does not
        settle on a positive L (no escape regime for this target).
        """
        K = check_number("K", K, 1.0, lo_open=True)
        nu = check_number("nu_target", nu_target, 0.0, lo_open=True, unit="Hz") / 1000.0
        lim = self.strong_coupling_limit(r_e, r_i)
        d = self.params["theta"] - lim["mu0"]
        if d <= 0:
            return None
        p = self.params
        rtot = (r_e + p["g"] * p["gamma"] * r_i) / 1000.0
        a = self.a_log_leading(K, r_e, r_i)
        for _ in range(iters):
            inv_tau = 1.0 / p["tau_l"] + a * K * rtot
            L = math.log(inv_tau / (math.sqrt(math.pi) * nu))
            for _ in range(50):
                L = math.log(inv_tau * math.sqrt(max(L, 1e-12)) / (math.sqrt(math.pi) * nu))
            if not L > 0:
                return None
            a_new = d * d / (lim["vbar2"] * L)
            if abs(a_new - a) <= 1e-14 * a:
                break
            a = a_new
        return a

    def a_for_rate(self, K, nu_target, r_e, r_i, a_lo=1e-7, a_hi=0.999):
        """The coupling a at which the single neuron fires at ``nu_target`` Hz, or None.

        The rate is not monotone in a over (0, 1) in general; we bracket on a log grid and
        return the smallest a that solves it (None: "no solution" in [a_lo, a_hi]).
        """
        nu_target = check_number("nu_target", nu_target, 0.0, lo_open=True, unit="Hz")
        grid = np.geomspace(a_lo, a_hi, 200)
        f = lambda a: math.log(max(self.rate(r_e, r_i, K=K, a=a), 1e-300)) - math.log(nu_target)
        vals = np.array([f(a) for a in grid])
        idx = np.flatnonzero(vals[:-1] * vals[1:] < 0)
        if idx.size == 0:
            return None
        i = idx[0]
        return brentq(f, grid[i], grid[i + 1], xtol=1e-15, rtol=1e-12)

    # ------------------------------------------------------------------ network
    def phi(self, nu, K=None, a=None) -> float:
        """Network transfer Φ(ν) = rate(r_E = ν_X + ν, r_I = ν) in Hz."""
        return self.rate(self.params["nu_x"] + nu, nu, K, a)

    def self_consistent(self, K=None, a=None, n_log=120, n_lin=80) -> FixedPoints:
        """All solutions of ν = Φ(ν_X + ν, ν) (Hz), with stability and CV.

        Returns a :class:`FixedPoints` with ``status = "no solution"`` (and an explanation)
        when the scan finds none, which cannot happen for the additive theory (Φ(0) > 0 and
        Φ(ν_max) < ν_max) but can for extreme multiplicative cases.
        """
        p = self.params
        args = self._args(K, a)
        th, vr, trp = self._neuron()
        nu_x = p["nu_x"] / 1000.0
        numax = 1.0 / trp if trp > 0 else 1.0
        grid = scan_grid(numax, n_log, n_lin, nu_min=1e-9)
        if self.noise == "additive":
            def hv(x):
                out = np.empty(x.size)
                _net_h(x, nu_x, *args, th, vr, trp, out)
                return out
        else:
            def hv(x):
                return np.array([self.phi(1000 * v, K, a) / 1000.0 - v for v in x])
        hs = lambda v: float(hv(np.array([v]))[0])
        roots = find_all_roots(hv, hs, grid)
        return self._package(roots, K, a, grid.size)

    def _package(self, roots, K, a, ngrid) -> FixedPoints:
        p = self.params
        rates, slopes, cvs, mus, sigs, taus = [], [], [], [], [], []
        for r in roots:
            nu = 1000.0 * r
            s = self.single_neuron(p["nu_x"] + nu, nu, K, a)
            h = 1e-6 * max(nu, 1e-3)
            slope = (self.phi(nu + h, K, a) - self.phi(max(nu - h, 0.0), K, a)) / (
                nu + h - max(nu - h, 0.0))
            rates.append(nu)
            slopes.append(slope)
            cvs.append(s["cv"])
            mus.append(s["mu"])
            sigs.append(s["sigma"])
            taus.append(s["tau"])
        rates = np.array(rates)
        status = "ok" if rates.size else "no solution"
        msg = (f"{rates.size} solution(s) from a {ngrid}-point scan of [0, 1/tau_rp] and Brent "
               "refinement" if rates.size else
               f"no sign change of Phi(nu) - nu on a {ngrid}-point scan")
        return FixedPoints(rates, np.array(slopes) < 1.0, np.array(slopes),
                           {"cv": np.array(cvs), "mu": np.array(mus),
                            "sigma": np.array(sigs), "tau": np.array(taus)}, status, msg)

    def linear_limit(self) -> float:
        """ν/ν_X of the aK → ∞ network limit: (E_E − θ)/(θ(1 + gγ) − E_E − gγ E_I).

        Raises ParameterError when the denominator is ≤ 0 (no finite linear limit: with
        these reversal potentials inhibition cannot balance excitation at threshold).
        """
        p = self.params
        gg = p["g"] * p["gamma"]
        den = p["theta"] * (1.0 + gg) - p["e_e"] - gg * p["e_i"]
        if den <= 0:
            raise ParameterError(
                f"g*gamma = {gg:g}: theta(1 + g gamma) - E_E - g gamma E_I = {den:g} <= 0, so "
                "the network has no finite linear limit; valid range g*gamma > "
                f"{(p['e_e'] - p['theta']) / (p['theta'] - p['e_i']):g}"
            )
        return (p["e_e"] - p["theta"]) / den

    def rate_vs_K(self, Ks, scaling="log", a0=None, K0=100.0, alpha=0.5, which="lowest"):
        """Self-consistent network rate (Hz) along K for a coupling rule a(K).

        Parameters
        ----------
        Ks : array_like
        scaling : {"const", "sqrt", "power", "log"}
            a = a0; a0·(K0/K)^{1/2}; a0·(K0/K)^alpha; a0·log(K0)/log(K).
        which : {"lowest", "highest"}
            Which solution to report when there are several.

        Returns
        -------
        (a, rates_hz, n_solutions) : three ndarrays
        """
        check_choice("scaling", scaling, ("const", "sqrt", "power", "log"))
        a0 = self.params["a"] if a0 is None else a0
        Ks = np.asarray(Ks, float)
        a = self.coupling(Ks, scaling, a0, K0, alpha)
        rates = np.empty(Ks.size)
        nsol = np.empty(Ks.size, int)
        for i, (K, ai) in enumerate(zip(Ks, a)):
            fp = self.self_consistent(K=K, a=ai, n_log=60, n_lin=40)
            nsol[i] = fp.n
            rates[i] = fp.rates_hz[0 if which == "lowest" else -1]
        return a, rates, nsol

    @staticmethod
    def coupling(Ks, scaling, a0, K0=100.0, alpha=0.5):
        """a(K) for the named scaling (see :meth:`rate_vs_K`)."""
        Ks = np.asarray(Ks, float)
        if scaling == "const":
            return np.full(Ks.shape, a0)
        if scaling == "sqrt":
            return a0 * np.sqrt(K0 / Ks)
        if scaling == "power":
            return a0 * (K0 / Ks) ** alpha
        if scaling == "log":
            return a0 * math.log(K0) / np.log(Ks)
        raise ParameterError(f"scaling = {scaling!r} is not one of 'const', 'sqrt', 'power', "
                             "'log'")

    # ------------------------------------------------------------------ heterogeneity
    def heterogeneous(self, cv_k, n_nodes=40, indegree="common") -> dict:
        """Mean rate and rate distribution with heterogeneous in-degrees of CV ``cv_k``.

        ``indegree="common"``: one log-normal factor (mean 1, CV ``cv_k``) scales all three
        input counts of a neuron (Gauss–Hermite nodes). ``"independent"``: the recurrent E and
        I in-degrees are independent gamma variables (mean K and γK, CV ``cv_k``; as in
        ``simulate.ConductanceLIFNetwork(cv_k=...)``) and the K external inputs are fixed;
        ``n_nodes`` equal-probability quantile nodes per factor (midpoint rule in
        probability, error O(n^-2)), ``"k"`` then holds the pairs (k_E, k_I).

        Returns
        -------
        dict
            ``"mean_rate_hz"`` (the lowest solution of ν̄ = E_k[Φ_k]), ``"solutions_hz"``,
            ``"k"``, ``"weights"`` (quadrature nodes and weights of the in-degree factor),
            ``"rates_hz"`` (single-neuron rate at each node), ``"rate_std_hz"``.
        """
        cv_k = check_number("cv_k", cv_k, 0.0, 3.0)
        check_choice("indegree", indegree, ("common", "independent"))
        if indegree == "independent":
            return self._heterogeneous_independent(cv_k, n_nodes)
        s2 = math.log(1.0 + cv_k * cv_k)
        z, w = np.polynomial.hermite_e.hermegauss(n_nodes)
        w = w / w.sum()
        ks = np.exp(math.sqrt(s2) * z - 0.5 * s2)
        p = self.params
        args = self._args()
        th, vr, trp = self._neuron()
        nu_x = p["nu_x"] / 1000.0

        def hv(x):
            out = np.empty(x.size)
            _net_h_het(x, nu_x, *args, th, vr, trp, ks, w, out)
            return out

        grid = scan_grid(1.0 / trp if trp > 0 else 1.0, 60, 40, nu_min=1e-9)
        roots = find_all_roots(hv, lambda v: float(hv(np.array([v]))[0]), grid)
        if roots.size == 0:
            return {"status": "no solution", "mean_rate_hz": None}
        nu = roots[0]
        rates = np.array([1000.0 * _cond_rate(nu_x + nu, nu, args[0] * k, *args[1:], th, vr, trp)
                          for k in ks])
        mean = float(np.sum(w * rates))
        return {"status": "ok", "mean_rate_hz": 1000.0 * nu, "solutions_hz": 1000.0 * roots,
                "k": ks, "weights": w, "rates_hz": rates,
                "rate_std_hz": float(np.sqrt(np.sum(w * (rates - mean) ** 2)))}

    def _heterogeneous_independent(self, cv_k, n_nodes):
        from scipy.stats import gamma as gamma_dist

        if cv_k == 0:
            k = np.ones(1)
            w = np.ones(1)
        else:
            shape = 1.0 / cv_k**2
            q = (np.arange(n_nodes) + 0.5) / n_nodes
            k = gamma_dist.ppf(q, shape, scale=1.0 / shape)
            w = np.full(n_nodes, 1.0 / n_nodes)
        p = self.params
        K, ae, ai, gam, tau_l, e_l, e_e, e_i = self._args()
        th, vr, trp = self._neuron()
        nu_x = p["nu_x"] / 1000.0

        def hv(x):
            out = np.empty(x.size)
            _net_h_indep(x, nu_x, K, ae, ai, gam, tau_l, e_l, e_e, e_i, th, vr, trp, k, k, w,
                         out)
            return out

        grid = scan_grid(1.0 / trp if trp > 0 else 1.0, 60, 40, nu_min=1e-9)
        roots = find_all_roots(hv, lambda v: float(hv(np.array([v]))[0]), grid)
        if roots.size == 0:
            return {"status": "no solution", "mean_rate_hz": None}
        nu = roots[0]
        rates = np.array([[1000.0 * _rate_totals(K * nu_x + K * a_ * nu, gam * K * b_ * nu, ae,
                                                 ai, tau_l, e_l, e_e, e_i, th, vr, trp)
                           for b_ in k] for a_ in k])
        W = np.outer(w, w)
        mean = float(np.sum(W * rates))
        return {"status": "ok", "mean_rate_hz": 1000.0 * nu, "solutions_hz": 1000.0 * roots,
                "k": np.array([[(a_, b_) for b_ in k] for a_ in k]).reshape(-1, 2),
                "weights": W.ravel(), "rates_hz": rates.ravel(),
                "rate_std_hz": float(np.sqrt(np.sum(W * (rates - mean) ** 2)))}

    # ------------------------------------------------------------------ dynamics
    def ode(self, tau_x=5.0) -> ODESystem:
        """Rate ODE ``τ_x dν/dt = −ν + Φ(ν_X + ν, ν)`` (ν in Hz) as an ODESystem.

        Parameters of the system: K, a, g, gamma, nu_x, tau_x (the additive theory).
        Output ``"rate_E"`` = ``"rate_I"`` = ν (E and I identical).
        """
        tau_x = check_number("tau_x", tau_x, 0.0, 1e4, lo_open=True, unit="ms")
        p = self.params
        exact = self.jump == "exact"
        fixed = (p["tau_l"], p["e_l"], p["e_e"], p["e_i"], p["theta"], p["v_r"], p["tau_rp"])
        tau_l, e_l, e_e, e_i, th, vr, trp = fixed

        def rhs(x, q):
            K, a, g, gamma, nu_x, tx = q
            ae, ai = ((-math.expm1(-a), -math.expm1(-g * a)) if exact else (a, g * a))
            nu = max(x[0], 0.0) / 1000.0
            r = _cond_rate(nu_x / 1000.0 + nu, nu, K, ae, ai, gamma, tau_l, e_l, e_e, e_i, th,
                           vr, trp)
            return np.array([(1000.0 * r - x[0]) / tx])

        params = {k: p[k] for k in ("K", "a", "g", "gamma", "nu_x")}
        params["tau_x"] = tau_x
        out = {"rate_E": lambda x, q: x[0], "rate_I": lambda x, q: x[0]}
        return ODESystem(rhs, 1, params, outputs=out, state_names=["nu"], name="cond-lif-rate")

    def rate_derivative_mu(self, r_e, r_i):
        """(ν, ∂ν/∂μ, ∂ν/∂σ) per ms at the single-neuron operating point (diagnostics)."""
        s = self.single_neuron(r_e, r_i)
        th, vr, trp = self._neuron()
        return _siegert_rate_derivs(s["mu"], s["sigma"], s["tau"], th, vr, trp)
