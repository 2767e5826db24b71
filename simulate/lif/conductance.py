"""``ConductanceLIFNetwork``: the strongly coupled conductance-based LIF network (models.md §4).

Neuron (Sanzeni, Histed & Brunel; **published** model):

    τ_L dV/dt = −(V − E_L) − τ_L Σ_k a_k δ(t − t_k) (V − E_{A_k}),

i.e. between inputs the leak is exact, V(t) = E_L + (V(t₀) − E_L) e^{−(t−t₀)/τ_L}, and an
input of strength a moves V exactly to E_A + (V − E_A) e^{−a} (strength a, reversal E_E, for
excitatory and external inputs; strength g·a, reversal E_I, for inhibitory ones). V ≥ θ: spike,
V ← V_r, refractory for τ_rp.

Network: populations E and I of N = c·K neurons each (or ``n_e``, ``n_i`` given); every
neuron has exactly K excitatory, γK inhibitory (fixed in-degree; ``cv_k > 0`` for
gamma-distributed in-degrees with that coefficient of variation) and K external Poisson
inputs of rate ν_X each; transmission delays uniform in [0, 10] ms (E) and [0, 1] ms (I).
The paper uses N = 10 K (``c = 10``, connection probability 0.1). Connectivity is procedural
(:mod:`simulate.lif.connectivity`) and either regenerated at every spike or stored once.

Coupling: ``a`` directly, or through a scaling rule ``scaling`` ∈ {"log", "sqrt", "power",
"const"} anchored at (``K0``, ``a0``) (:mod:`simulate.lif.scaling`).

Optional exponential synapses (``tau_s > 0``): each input adds a·τ_L/τ_S to a dimensionless
conductance G (units of the leak conductance) that decays with τ_S, so ∫G dt/τ_L = a, and
τ_L dV/dt = −(V − E_L) − G_E (V − E_E) − G_I (V − E_I), integrated with Brian2's
exponential-Euler order.

``mode="coba-benchmark"``: the COBA benchmark of Brette et al. (2007) as in Brian2's example
(4000 neurons, 80 % excitatory, Bernoulli connectivity p = 0.02, τ_m = 20 ms, τ_E = 5 ms,
τ_I = 10 ms, E_L = V_r = −60 mV, θ = −50 mV, E_E = 0, E_I = −80 mV, drive 20 mV, w_E = 0.6
and w_I = 6.7 in units of the leak conductance, refractory 5 ms, dt = 0.1 ms, no delays,
initial V uniform in [V_r, θ]).

Time stepping: see :mod:`simulate.lif.kernels` (exact leak, exact Poisson counts per step,
inputs of one step applied as one exact conductance pulse, delays rounded to the grid, at
least one step).

Examples
--------
>>> import simulate
>>> net = simulate.ConductanceLIFNetwork(K=100, a=0.02, g=20, nu_x=10.0)
>>> net.sizes
{'E': 1000, 'I': 1000}
>>> traj = net.run(t_end=300.0, seed=1, progress=False)      # doctest: +SKIP
>>> traj.rates_hz                                            # doctest: +SKIP
"""

from __future__ import annotations

import math

import numpy as np

from ..validation import (
    ParameterError,
    check_choice,
    check_known,
    check_number,
    check_positive_int,
)
from . import kernels
from .connectivity import build_pathways
from .engine import LIFSpec, run_lif
from .scaling import RULES, coupling

__all__ = ["ConductanceLIFNetwork", "DEFAULTS", "COBA_DEFAULTS", "MODES"]

MODES = ("sanzeni", "coba-benchmark")

#: Defaults of models.md §4; ``a = 0.01`` and ``nu_x = 20`` Hz are our choice (at K = 100 they
#: give irregular firing at about 40 Hz; a = 0.02 gives a saturated ~320 Hz state).
DEFAULTS: dict = {
    "K": 100,            # excitatory in-degree (= external inputs per neuron)
    "c": 10.0,           # N = c·K per population (the paper: c = 10)
    "n_e": None,         # override N_E
    "n_i": None,         # override N_I
    "gamma": 0.25,       # inhibitory in-degree γK
    "a": None,           # coupling; default 0.01 unless a scaling rule gives it
    "g": 20.0,           # relative inhibitory strength
    "nu_x": 20.0,        # Hz, rate of each external input
    "nu_x_inh": 0.0,     # Hz, rate of each of gamma*K external inhibitory inputs (default none)
    "recurrent": True,   # False: no recurrent synapses (independent neurons, single-neuron runs)
    "tau_l": 20.0,       # ms
    "e_l": -80.0,        # mV
    "e_e": 0.0,
    "e_i": -75.0,
    "theta": -55.0,
    "v_r": -65.0,
    "tau_rp": 2.0,       # ms
    "delay_e": (0.0, 10.0),   # ms, uniform range of E delays
    "delay_i": (0.0, 1.0),    # ms, uniform range of I delays
    "tau_s": 0.0,        # ms, 0 = instantaneous conductances
    "cv_k": 0.0,         # CV of the in-degrees (0 = fixed)
    "scaling": None,     # None or one of RULES
    "K0": 100.0,
    "a0": 0.01,
    "alpha": None,       # exponent of the "power" rule
    "dt": 0.05,          # ms
    "conn_seed": 0,
    "connectivity": "auto",   # "stored", "procedural" or "auto" (stored below 2e8 synapses)
    "v_init": None,      # (lo, hi) of initial voltages; default (v_r, theta)
}

DEFAULT_A = 0.01

#: The COBA benchmark (Brette et al. 2007, Brian2's example).
COBA_DEFAULTS: dict = {
    "n_e": 3200, "n_i": 800, "p": 0.02, "tau_l": 20.0, "tau_e": 5.0, "tau_i": 10.0,
    "e_l": -60.0, "v_r": -60.0, "theta": -50.0, "e_e": 0.0, "e_i": -80.0, "drive": 20.0,
    "w_e": 0.6, "w_i": 6.7, "tau_rp": 5.0, "dt": 0.1, "conn_seed": 0,
    "connectivity": "stored", "v_init": None, "nu_x": 0.0, "w_x": 0.6, "K_x": 0,
}

STORED_LIMIT = 200_000_000


def _pair(name, value, lo=0.0, hi=1000.0, unit="ms"):
    try:
        a, b = value
    except (TypeError, ValueError):
        raise ParameterError(f"{name} = {value!r} must be a pair (lo, hi) in {unit}") from None
    a = check_number(f"{name}[0]", a, lo, hi, unit=unit)
    b = check_number(f"{name}[1]", b, a, hi, unit=unit)
    return (a, b)


class ConductanceLIFNetwork:
    """Conductance-based LIF E/I network with strong coupling (models.md §4).

    Parameters
    ----------
    mode : {"sanzeni", "coba-benchmark"}
        Model family; each has its own parameter set (:data:`DEFAULTS`,
        :data:`COBA_DEFAULTS`).
    **params
        ``K`` (in-degree), ``c`` (N = c·K per population) or ``n_e``/``n_i``, ``gamma``,
        ``a`` (dimensionless strength) or ``scaling`` ("log", "sqrt", "power", "const") with
        ``K0``, ``a0`` and (power) ``alpha``, ``g``, ``nu_x`` (Hz), ``tau_l``, ``tau_rp``,
        ``tau_s``, ``dt`` (ms), ``nu_x_inh`` (Hz, γK external inhibitory Poisson inputs per
        neuron, default 0), ``recurrent`` (False: no recurrent synapses), ``e_l``,
        ``e_e``, ``e_i``, ``theta``, ``v_r`` (mV),
        ``delay_e``/``delay_i`` ((lo, hi) ms), ``cv_k``, ``conn_seed``, ``connectivity``
        ("stored", "procedural", "auto"), ``v_init`` ((lo, hi) mV).
        COBA mode: ``n_e``, ``n_i``, ``p``, ``tau_l``, ``tau_e``, ``tau_i``, ``e_l``,
        ``v_r``, ``theta``, ``e_e``, ``e_i``, ``drive`` (mV), ``w_e``, ``w_i`` (leak
        conductance units), ``tau_rp``, ``dt``, ``conn_seed``, ``connectivity``, and optional
        external Poisson input ``K_x`` inputs at ``nu_x`` Hz of weight ``w_x``.
    """

    model_name = "cond-lif"

    def __init__(self, mode: str = "sanzeni", **params):
        self._given = dict(params)
        self.mode = check_choice("mode", mode, MODES)
        if mode == "coba-benchmark":
            check_known(params, COBA_DEFAULTS, "ConductanceLIFNetwork(mode='coba-benchmark')")
            self.params = self._validate_coba({**COBA_DEFAULTS, **params})
        else:
            check_known(params, DEFAULTS, "ConductanceLIFNetwork")
            self.params = self._validate({**DEFAULTS, **params})
        self.params["mode"] = mode

    # ------------------------------------------------------------------ validation
    @staticmethod
    def _validate(p: dict) -> dict:
        p = dict(p)
        if not isinstance(p["recurrent"], (bool, np.bool_)):
            raise ParameterError(f"recurrent = {p['recurrent']!r} must be True or False")
        p["recurrent"] = bool(p["recurrent"])
        p["K"] = check_positive_int("K", p["K"], 1, 10**7)
        p["c"] = check_number("c", p["c"], 1.0, 1e4)
        p["gamma"] = check_number("gamma", p["gamma"], 0.0, 10.0, lo_open=True)
        K = p["K"]
        k_i = int(round(p["gamma"] * K))
        if k_i < 1:
            raise ParameterError(
                f"gamma = {p['gamma']:g} with K = {K} gives {p['gamma'] * K:g} inhibitory "
                "inputs; the valid range of gamma·K is [1, N_I]"
            )
        for name in ("n_e", "n_i"):
            if p[name] is None:
                p[name] = int(round(p["c"] * K))
            else:
                p[name] = check_positive_int(name, p[name], 1, 10**8)
        if p["recurrent"] and K > p["n_e"]:
            raise ParameterError(f"K = {K} is outside the valid range [1, n_e = {p['n_e']}]")
        if p["recurrent"] and k_i > p["n_i"]:
            raise ParameterError(
                f"gamma·K = {k_i} is outside the valid range [1, n_i = {p['n_i']}]"
            )
        if p["scaling"] is not None:
            check_choice("scaling", p["scaling"], RULES)
            if p["a"] is not None:
                raise ParameterError(
                    "give either a (the coupling itself) or scaling (with K0, a0), not both"
                )
            p["K0"] = check_number("K0", p["K0"], 1.0, None)
            p["a0"] = check_number("a0", p["a0"], 0.0, 10.0, lo_open=True)
            p["a"] = coupling(p["scaling"], K, K0=p["K0"], a0=p["a0"], alpha=p["alpha"])
        elif p["a"] is None:
            p["a"] = DEFAULT_A
        p["a"] = check_number("a", p["a"], 0.0, 10.0, lo_open=True,
                              hint="a is the dimensionless jump exponent, ~0.01 is realistic")
        p["g"] = check_number("g", p["g"], 0.0, 1000.0)
        p["nu_x"] = check_number("nu_x", p["nu_x"], 0.0, 5000.0, unit="Hz")
        p["nu_x_inh"] = check_number("nu_x_inh", p["nu_x_inh"], 0.0, 5000.0, unit="Hz")
        p["tau_l"] = check_number("tau_l", p["tau_l"], 0.0, 1000.0, lo_open=True, unit="ms")
        p["tau_rp"] = check_number("tau_rp", p["tau_rp"], 0.0, 1000.0, unit="ms")
        p["tau_s"] = check_number("tau_s", p["tau_s"], 0.0, 1000.0, unit="ms")
        p["dt"] = check_number("dt", p["dt"], 0.0, 1.0, lo_open=True, unit="ms")
        p["cv_k"] = check_number("cv_k", p["cv_k"], 0.0, 3.0)
        for name in ("e_l", "e_e", "e_i", "theta", "v_r"):
            p[name] = check_number(name, p[name], -500.0, 500.0, unit="mV")
        if not p["e_i"] <= p["v_r"] < p["theta"] < p["e_e"]:
            raise ParameterError(
                f"need e_i <= v_r < theta < e_e (got e_i = {p['e_i']:g}, v_r = {p['v_r']:g}, "
                f"theta = {p['theta']:g}, e_e = {p['e_e']:g} mV)"
            )
        p["delay_e"] = _pair("delay_e", p["delay_e"])
        p["delay_i"] = _pair("delay_i", p["delay_i"])
        p["conn_seed"] = check_number("conn_seed", p["conn_seed"], 0, 2**62, integer=True)
        check_choice("connectivity", p["connectivity"], ("auto", "stored", "procedural"))
        if p["v_init"] is not None:
            p["v_init"] = _pair("v_init", p["v_init"], -500.0, 500.0, unit="mV")
        return p

    @staticmethod
    def _validate_coba(p: dict) -> dict:
        p = dict(p)
        p["n_e"] = check_positive_int("n_e", p["n_e"], 1, 10**8)
        p["n_i"] = check_positive_int("n_i", p["n_i"], 1, 10**8)
        p["p"] = check_number("p", p["p"], 0.0, 1.0)
        for name in ("tau_l", "tau_e", "tau_i"):
            p[name] = check_number(name, p[name], 0.0, 1000.0, lo_open=True, unit="ms")
        p["tau_rp"] = check_number("tau_rp", p["tau_rp"], 0.0, 1000.0, unit="ms")
        p["dt"] = check_number("dt", p["dt"], 0.0, 1.0, lo_open=True, unit="ms")
        for name in ("e_l", "e_e", "e_i", "theta", "v_r", "drive"):
            p[name] = check_number(name, p[name], -500.0, 500.0, unit="mV")
        if not p["v_r"] < p["theta"]:
            raise ParameterError(
                f"v_r = {p['v_r']:g} mV is outside the valid range (-inf, theta = "
                f"{p['theta']:g})"
            )
        for name in ("w_e", "w_i", "w_x"):
            p[name] = check_number(name, p[name], 0.0, 1000.0)
        p["nu_x"] = check_number("nu_x", p["nu_x"], 0.0, 5000.0, unit="Hz")
        p["K_x"] = check_number("K_x", p["K_x"], 0, 10**7, integer=True)
        p["conn_seed"] = check_number("conn_seed", p["conn_seed"], 0, 2**62, integer=True)
        check_choice("connectivity", p["connectivity"], ("auto", "stored", "procedural"))
        if p["v_init"] is not None:
            p["v_init"] = _pair("v_init", p["v_init"], -500.0, 500.0, unit="mV")
        return p

    # ------------------------------------------------------------------ views
    @property
    def populations(self) -> tuple:
        return ("E", "I")

    @property
    def sizes(self) -> dict:
        return {"E": self.params["n_e"], "I": self.params["n_i"]}

    @property
    def a(self) -> float:
        """The coupling strength in use (after any scaling rule)."""
        return self.params.get("a", float("nan"))

    def n_synapses(self) -> int:
        """Number of recurrent synapses (expected number for Bernoulli connectivity)."""
        p = self.params
        if self.mode == "coba-benchmark":
            n = p["n_e"] + p["n_i"]
            return int(round(p["p"] * n * n))
        k_i = int(round(p["gamma"] * p["K"]))
        return (p["n_e"] + p["n_i"]) * (p["K"] + k_i) if p["recurrent"] else 0

    def with_params(self, **changes) -> ConductanceLIFNetwork:
        """A new network with some parameters changed (derived values such as N = c·K and
        a from a scaling rule are recomputed)."""
        mode = changes.pop("mode", self.mode)
        base = dict(self._given) if mode == self.mode else {}
        if "a" in changes:
            base.pop("scaling", None)
        if "scaling" in changes:
            base.pop("a", None)
        return ConductanceLIFNetwork(mode=mode, **{**base, **changes})

    # ------------------------------------------------------------------ spec
    def spec(self) -> LIFSpec:
        """Flat arrays for the kernel."""
        p = self.params
        if self.mode == "coba-benchmark":
            return self._spec_coba()
        dt = p["dt"]
        K = p["K"]
        k_i = int(round(p["gamma"] * K))
        sizes = (p["n_e"], p["n_i"])
        kin = [[K, k_i], [K, k_i]] if p["recurrent"] else [[0, 0], [0, 0]]
        paths = build_pathways(sizes, kin, [p["delay_e"], p["delay_i"]],
                               p["conn_seed"], cv_k=p["cv_k"])
        a, g = p["a"], p["g"]
        tau_s = p["tau_s"]
        lam = K * p["nu_x"] / 1000.0 * dt
        lam_i = k_i * p["nu_x_inh"] / 1000.0 * dt
        if tau_s > 0:
            kind = kernels.COND_EXP
            scale = p["tau_l"] / tau_s
            decay_s = math.exp(-dt / tau_s)
            avg = tau_s * (1.0 - decay_s) / dt   # exact step average of the conductance
            fp = np.array([p["e_l"], p["e_e"], p["e_i"], p["theta"], p["v_r"],
                           math.exp(-dt / p["tau_l"]), dt / p["tau_l"], 0.0, decay_s, decay_s,
                           avg, avg])
        else:
            kind = kernels.COND_INSTANT
            scale = 1.0
            fp = np.array([p["e_l"], p["e_e"], p["e_i"], p["theta"], p["v_r"],
                           math.exp(-dt / p["tau_l"]), dt / p["tau_l"], 0.0, 1.0, 1.0, 1.0,
                           1.0])
        conn = p["connectivity"]
        if conn == "auto":
            conn = "stored" if self.n_synapses() <= STORED_LIMIT else "procedural"
        max_d = int(np.ceil(max(p["delay_e"][1], p["delay_i"][1]) / dt)) + 1
        return LIFSpec(
            kind=kind, populations=("E", "I"), sizes=sizes, dt=dt, fp=fp,
            ref_steps=int(round(p["tau_rp"] / dt)),
            pop_exc=np.array([1, 0], np.int64),
            w_pre=np.array([a * scale, g * a * scale]),
            ext_lam=np.array([lam, lam]), w_ext=np.array([a * scale, a * scale]),
            ext_lam_i=np.array([lam_i, lam_i]), w_ext_i=np.array([g * a * scale] * 2),
            paths=paths, max_delay_steps=max_d, connectivity=conn,
            v_init=p["v_init"] or (p["v_r"], p["theta"]),
            v_range=(min(p["e_i"], p["e_l"]), p["theta"]),
            meta={"a": a, "K_i": k_i, "mode": "sanzeni"},
        )

    def _spec_coba(self) -> LIFSpec:
        p = self.params
        dt = p["dt"]
        sizes = (p["n_e"], p["n_i"])
        pr = p["p"]
        paths = build_pathways(sizes, None, [(0.0, 0.0), (0.0, 0.0)], p["conn_seed"],
                               rule="bernoulli", prob=[[pr, pr], [pr, pr]])
        fp = np.array([p["e_l"], p["e_e"], p["e_i"], p["theta"], p["v_r"],
                       math.exp(-dt / p["tau_l"]), dt / p["tau_l"], p["drive"],
                       math.exp(-dt / p["tau_e"]), math.exp(-dt / p["tau_i"]), 1.0, 1.0])
        lam = p["K_x"] * p["nu_x"] / 1000.0 * dt
        conn = p["connectivity"]
        if conn == "auto":
            conn = "stored" if self.n_synapses() <= STORED_LIMIT else "procedural"
        return LIFSpec(
            kind=kernels.COND_EXP, populations=("E", "I"), sizes=sizes, dt=dt, fp=fp,
            ref_steps=int(round(p["tau_rp"] / dt)),
            pop_exc=np.array([1, 0], np.int64), w_pre=np.array([p["w_e"], p["w_i"]]),
            ext_lam=np.array([lam, lam]), w_ext=np.array([p["w_x"], p["w_x"]]),
            ext_lam_i=np.zeros(2), w_ext_i=np.zeros(2),
            paths=paths, max_delay_steps=1, connectivity=conn,
            v_init=p["v_init"] or (p["v_r"], p["theta"]),
            v_range=(min(p["e_i"], p["e_l"], p["v_r"]), p["theta"]),
            meta={"mode": "coba-benchmark"},
        )

    def run(self, t_end: float, seed: int | None = 0, out=None, progress: bool = True,
            **recording):
        """Simulate ``t_end`` ms and return a :class:`simulate.Trajectory` (model "cond-lif").

        See :func:`simulate.lif.engine.run_lif` for the recording keywords.
        """
        params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.params.items()}
        return run_lif(self.spec(), self.model_name, params, t_end, seed, out=out,
                       progress=progress, **recording)

    def __repr__(self) -> str:
        if self.mode == "coba-benchmark":
            return f"ConductanceLIFNetwork(mode='coba-benchmark', sizes={self.sizes})"
        p = self.params
        return (f"ConductanceLIFNetwork(K={p['K']}, a={p['a']:g}, g={p['g']:g}, "
                f"nu_x={p['nu_x']:g} Hz, sizes={self.sizes})")
