"""``CurrentLIFNetwork``: Brunel's (2000) sparse current-based LIF network (models.md §5).

**Published** model. Neuron: τ dV/dt = −V + R I(t), with δ-synapses: an input spike of an
excitatory (external or recurrent) neuron moves V by +J, of an inhibitory one by −gJ, after a
transmission delay D. V ≥ θ: spike, V ← V_r, and V stays at V_r (inputs lost) for τ_rp.

Network: N_E excitatory and N_I = γ N_E inhibitory neurons; each neuron receives exactly
C_E = K excitatory and C_I = γK inhibitory recurrent inputs (fixed in-degree, procedural
connectivity as in :mod:`simulate.lif.connectivity`) and C_E external Poisson inputs of rate
ν_ext = η ν_thr, ν_thr = θ/(J C_E τ).

Mean field (diffusion approximation): μ = C_E J τ [ν_ext + ν(1 − gγ)],
σ² = J² C_E τ [ν_ext + ν(1 + g²γ)], rate from the Siegert formula (models.md §4), and in the
inhibition-dominated limit ν ≈ (ν_ext − ν_thr)/(gγ − 1).

Defaults (Brunel 2000): N_E = 10⁴, N_I = 2500, K = C_E = 1000 (ε = 0.1), γ = 0.25,
J = 0.1 mV, g = 5, η = 2, τ = 20 ms, θ = 20 mV, V_r = 10 mV, τ_rp = 2 ms, D = 1.5 ms,
dt = 0.1 ms.

Examples
--------
>>> import simulate
>>> net = simulate.CurrentLIFNetwork(n_e=2000, n_i=500, K=200, g=6.0, eta=4.0)
>>> round(net.nu_thr_hz, 6)
50.0
"""

from __future__ import annotations

import math

import numpy as np

from ..validation import ParameterError, check_choice, check_known, check_number, check_positive_int
from . import kernels
from .connectivity import build_pathways
from .engine import LIFSpec, run_lif

__all__ = ["CurrentLIFNetwork", "DEFAULTS"]

DEFAULTS: dict = {
    "n_e": 10000,
    "n_i": None,          # default gamma * n_e
    "K": 1000,            # C_E; C_I = gamma K
    "gamma": 0.25,
    "J": 0.1,             # mV
    "g": 5.0,
    "eta": 2.0,           # nu_ext / nu_thr (ignored if nu_x is given)
    "nu_x": None,         # Hz, rate of each of the K external inputs
    "tau": 20.0,          # ms
    "theta": 20.0,        # mV
    "v_r": 10.0,          # mV
    "tau_rp": 2.0,        # ms
    "delay": 1.5,         # ms
    "dt": 0.1,            # ms
    "cv_k": 0.0,
    "recurrent": True,
    "conn_seed": 0,
    "connectivity": "auto",
    "v_init": None,       # (lo, hi) mV; default (v_r, theta)... uniform
}

STORED_LIMIT = 200_000_000


class CurrentLIFNetwork:
    """Brunel's sparse current-based LIF E/I network (models.md §5).

    Parameters
    ----------
    **params
        ``n_e``, ``n_i`` (default γ·n_e), ``K`` (= C_E), ``gamma``, ``J`` (mV), ``g``,
        ``eta`` or ``nu_x`` (Hz per external input), ``tau``, ``tau_rp``, ``delay``, ``dt``
        (ms), ``theta``, ``v_r`` (mV), ``cv_k``, ``recurrent``, ``conn_seed``,
        ``connectivity`` ("stored", "procedural", "auto"), ``v_init`` ((lo, hi) mV).
    """

    model_name = "current-lif"

    def __init__(self, **params):
        self._given = dict(params)
        check_known(params, DEFAULTS, "CurrentLIFNetwork")
        p = {**DEFAULTS, **params}
        if not isinstance(p["recurrent"], (bool, np.bool_)):
            raise ParameterError(f"recurrent = {p['recurrent']!r} must be True or False")
        p["recurrent"] = bool(p["recurrent"])
        p["n_e"] = check_positive_int("n_e", p["n_e"], 1, 10**8)
        p["gamma"] = check_number("gamma", p["gamma"], 0.0, 10.0, lo_open=True)
        if p["n_i"] is None:
            p["n_i"] = max(1, int(round(p["gamma"] * p["n_e"])))
        p["n_i"] = check_positive_int("n_i", p["n_i"], 1, 10**8)
        p["K"] = check_positive_int("K", p["K"], 1, 10**7)
        k_i = int(round(p["gamma"] * p["K"]))
        if p["recurrent"]:
            if p["K"] > p["n_e"]:
                raise ParameterError(
                    f"K = {p['K']} is outside the valid range [1, n_e = {p['n_e']}]")
            if not 1 <= k_i <= p["n_i"]:
                raise ParameterError(
                    f"gamma·K = {k_i} is outside the valid range [1, n_i = {p['n_i']}]")
        p["J"] = check_number("J", p["J"], 0.0, 100.0, lo_open=True, unit="mV")
        p["g"] = check_number("g", p["g"], 0.0, 1000.0)
        p["tau"] = check_number("tau", p["tau"], 0.0, 1000.0, lo_open=True, unit="ms")
        p["theta"] = check_number("theta", p["theta"], 0.0, 1000.0, lo_open=True, unit="mV")
        p["v_r"] = check_number("v_r", p["v_r"], -1000.0, p["theta"], hi_open=True, unit="mV")
        p["tau_rp"] = check_number("tau_rp", p["tau_rp"], 0.0, 1000.0, unit="ms")
        p["dt"] = check_number("dt", p["dt"], 0.0, 1.0, lo_open=True, unit="ms")
        p["delay"] = check_number("delay", p["delay"], p["dt"], 1000.0, unit="ms",
                                  hint="the delay must be at least one step dt")
        p["cv_k"] = check_number("cv_k", p["cv_k"], 0.0, 3.0)
        p["eta"] = check_number("eta", p["eta"], 0.0, 1000.0)
        if p["nu_x"] is not None:
            if "eta" in params:
                raise ParameterError("give either eta or nu_x (the external rate), not both")
            p["nu_x"] = check_number("nu_x", p["nu_x"], 0.0, 5000.0, unit="Hz")
        p["conn_seed"] = check_number("conn_seed", p["conn_seed"], 0, 2**62, integer=True)
        check_choice("connectivity", p["connectivity"], ("auto", "stored", "procedural"))
        if p["v_init"] is not None:
            lo, hi = p["v_init"]
            p["v_init"] = (check_number("v_init[0]", lo, -1000, 1000, unit="mV"),
                           check_number("v_init[1]", hi, lo, 1000, unit="mV"))
        self.params = p

    @property
    def populations(self) -> tuple:
        return ("E", "I")

    @property
    def sizes(self) -> dict:
        return {"E": self.params["n_e"], "I": self.params["n_i"]}

    @property
    def nu_thr_hz(self) -> float:
        """ν_thr = θ/(J C_E τ), the external rate that brings μ to threshold, Hz."""
        p = self.params
        return 1000.0 * p["theta"] / (p["J"] * p["K"] * p["tau"])

    @property
    def nu_x_hz(self) -> float:
        """External rate per input, Hz (η ν_thr unless ``nu_x`` is given)."""
        p = self.params
        return p["nu_x"] if p["nu_x"] is not None else p["eta"] * self.nu_thr_hz

    def n_synapses(self) -> int:
        """Number of recurrent synapses, (n_e + n_i)·(K + round(γK)); 0 if not ``recurrent``."""
        p = self.params
        if not p["recurrent"]:
            return 0
        return (p["n_e"] + p["n_i"]) * (p["K"] + int(round(p["gamma"] * p["K"])))

    def with_params(self, **changes) -> CurrentLIFNetwork:
        """A new network with some parameters changed (n_i = γ·n_e recomputed unless given)."""
        base = dict(self._given)
        if "nu_x" in changes:
            base.pop("eta", None)
        if "eta" in changes:
            base.pop("nu_x", None)
        return CurrentLIFNetwork(**{**base, **changes})

    def spec(self) -> LIFSpec:
        """The :class:`LIFSpec` of this network for the current-based LIF kernel.

        Builds the E/I pathways (K excitatory and round(γK) inhibitory inputs per neuron, or none
        if not ``recurrent``; one delay for all), recurrent weights J (E) and g·J (I), external
        input at rate K·ν_x per neuron with weight J, and chooses ``connectivity="auto"`` as
        "stored" when :meth:`n_synapses` ≤ ``STORED_LIMIT``, else "procedural".
        """
        p = self.params
        dt = p["dt"]
        K = p["K"]
        k_i = int(round(p["gamma"] * K))
        sizes = (p["n_e"], p["n_i"])
        kin = [[K, k_i], [K, k_i]] if p["recurrent"] else [[0, 0], [0, 0]]
        d = (p["delay"], p["delay"])
        paths = build_pathways(sizes, kin, [d, d], p["conn_seed"], cv_k=p["cv_k"])
        lam = K * self.nu_x_hz / 1000.0 * dt
        fp = np.array([0.0, 0.0, 0.0, p["theta"], p["v_r"], math.exp(-dt / p["tau"]),
                       dt / p["tau"], 0.0, 1.0, 1.0, 1.0, 1.0])
        conn = p["connectivity"]
        if conn == "auto":
            conn = "stored" if self.n_synapses() <= STORED_LIMIT else "procedural"
        J = p["J"]
        return LIFSpec(
            kind=kernels.CURRENT, populations=("E", "I"), sizes=sizes, dt=dt, fp=fp,
            ref_steps=int(round(p["tau_rp"] / dt)), pop_exc=np.array([1, 0], np.int64),
            w_pre=np.array([J, p["g"] * J]), ext_lam=np.array([lam, lam]),
            w_ext=np.array([J, J]), ext_lam_i=np.zeros(2), w_ext_i=np.zeros(2),
            paths=paths, max_delay_steps=int(math.ceil(p["delay"] / dt)) + 1,
            connectivity=conn, v_init=p["v_init"] or (p["v_r"], p["theta"]),
            v_range=(p["v_r"] - 2 * (p["theta"] - p["v_r"]), p["theta"]),
            meta={"nu_x_hz": self.nu_x_hz, "nu_thr_hz": self.nu_thr_hz},
        )

    def run(self, t_end: float, seed: int | None = 0, out=None, progress: bool = True,
            **recording):
        """Simulate ``t_end`` ms; returns a :class:`simulate.Trajectory` ("current-lif").

        See :func:`simulate.lif.engine.run_lif` for the recording keywords.
        """
        params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.params.items()}
        return run_lif(self.spec(), self.model_name, params, t_end, seed, out=out,
                       progress=progress, **recording)

    def __repr__(self) -> str:
        p = self.params
        return (f"CurrentLIFNetwork(n_e={p['n_e']}, n_i={p['n_i']}, K={p['K']}, "
                f"J={p['J']:g} mV, g={p['g']:g}, nu_x={self.nu_x_hz:g} Hz)")
