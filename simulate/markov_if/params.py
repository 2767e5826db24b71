"""Parameters of the discrete-state stochastic integrate-and-fire network (models.md §1).

User-facing names follow the literature in ASCII: ``p_ei`` is the connection probability from
I onto E (the first letter is the target), ``s_ee`` a kick size, ``tau_ee`` a kick delay (ms),
``tau_r`` the mean refractory time (ms), ``lam`` the external kick rate (kicks per ms).

:func:`resolve` turns the user parameters into a :class:`NetworkSpec`: per-population arrays
and target x source matrices that simulators and reductions share. For the two-assembly
topology (populations E1, E2, I) the E parameters apply within each assembly, ``p_ee_x`` and
``s_ee_x`` between assemblies, ``n_e`` is the size of *each* assembly.

Size scaling (models.md §1): the published values hold at the reference sizes ``n_e_ref``,
``n_i_ref``. With ``size_scaling="S"`` (the released code's rule) kick sizes from a source
population Q' scale as S·N_ref(Q')/N(Q'); with ``"p"`` connection probabilities do; with
``"none"`` neither.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import (
    ParameterError,
    check_choice,
    check_known,
    check_number,
    check_positive_int,
    check_probability,
)

__all__ = ["DEFAULTS", "PRESETS", "NetworkSpec", "resolve", "validate"]

#: Defaults of the Markov-approximation paper's released code (models.md §1 table).
DEFAULTS: dict = {
    "topology": "ei",
    "n_e": 300,
    "n_i": 100,
    "m": 100.0,          # threshold M
    "m_r": 66.0,         # inhibitory reversal: V in [-m_r, m]
    "lam_e": 7.0,        # external kicks per ms onto E
    "lam_i": 7.0,        # external kicks per ms onto I
    "tau_ee": 1.4,       # ms, delay of E kicks onto E
    "tau_ie": 1.2,       # ms, E onto I
    "tau_ei": 4.5,       # ms, I onto E
    "tau_ii": 4.5,       # ms, I onto I
    "tau_r": 4.0,        # ms, mean refractory time
    "p_ee": 0.8,
    "p_ie": 0.8,
    "p_ei": 0.8,
    "p_ii": 0.8,
    "s_ee": 0.95,
    "s_ie": 1.25,
    "s_ei": 2.71,
    "s_ii": 2.45,
    "p_ee_x": 0.0,       # two-assembly only: E1 <-> E2 connection probability
    "s_ee_x": 0.0,       # two-assembly only: E1 <-> E2 kick size
    "tau_m": 0.0,        # ms, leak time constant; 0 = no leak (default)
    "dt": 0.1,           # ms, step of the fixed-step methods
    "size_scaling": "S",
    "n_e_ref": 300,
    "n_i_ref": 100,
    "connectivity": "redraw",   # or "fixed": quenched Bernoulli connectivity
    "conn_seed": 0,
}

#: Named parameter sets (models.md §1).
PRESETS: dict = {
    "ma-default": {},
    "lcy": {
        "p_ee": 0.15, "p_ie": 0.5, "p_ei": 0.5, "p_ii": 0.4,
        "s_ee": 5.0, "s_ie": 2.0, "s_ei": 4.91, "s_ii": 4.91,
        "tau_r": 2.5, "lam_e": 7.0, "lam_i": 7.0,
        "tau_ie": 1.2, "tau_ei": 4.5, "tau_ii": 4.5, "tau_ee": 2.0,
    },
}
PRESETS["lcy-homogeneous"] = dict(PRESETS["lcy"], tau_ee=4.0)
PRESETS["lcy-regular"] = dict(PRESETS["lcy"], tau_ee=2.0)
PRESETS["lcy-synchronized"] = dict(PRESETS["lcy"], tau_ee=1.3, tau_ie=0.95)

_TAU_NAMES = ("tau_ee", "tau_ie", "tau_ei", "tau_ii")
_P_NAMES = ("p_ee", "p_ie", "p_ei", "p_ii", "p_ee_x")
_S_NAMES = ("s_ee", "s_ie", "s_ei", "s_ii", "s_ee_x")
#: Names accepted on top of DEFAULTS: ``lam`` sets both external rates.
ALIASES = ("lam",)


def validate(params: dict) -> dict:
    """Check user parameters; return the complete, validated parameter dict.

    Raises
    ------
    ParameterError
        Naming the parameter, the value and the valid range.
    """
    check_known(params, list(DEFAULTS) + list(ALIASES), "MarkovIFNetwork")
    out = dict(DEFAULTS)
    given = dict(params)
    if "lam" in given:
        lam = given.pop("lam")
        given.setdefault("lam_e", lam)
        given.setdefault("lam_i", lam)
    out.update(given)
    check_choice("topology", out["topology"], ("ei", "two-assembly"))
    check_choice("size_scaling", out["size_scaling"], ("S", "p", "none"))
    check_choice("connectivity", out["connectivity"], ("redraw", "fixed"))
    for k in ("n_e", "n_i", "n_e_ref", "n_i_ref"):
        out[k] = check_positive_int(k, out[k], 1, 10_000_000)
    out["conn_seed"] = check_number("conn_seed", out["conn_seed"], 0, integer=True)
    out["m"] = check_number("m", out["m"], 0.0, 1e6, lo_open=True)
    out["m_r"] = check_number("m_r", out["m_r"], 0.0, 1e6)
    lam_name = "lam" if "lam" in params else None
    for k in ("lam_e", "lam_i"):
        out[k] = check_number(
            lam_name or k, out[k], 0.0, 100.0, unit="kicks per ms",
            hint="lam is a rate in kicks per ms (7 per ms = 7000 per s)",
        )
    for k in _TAU_NAMES + ("tau_r",):
        out[k] = check_number(k, out[k], 0.0, 1000.0, lo_open=True, unit="ms",
                              hint="times are in ms")
    out["tau_m"] = check_number("tau_m", out["tau_m"], 0.0, 1e5, unit="ms (0 = no leak)")
    for k in _P_NAMES:
        out[k] = check_probability(k, out[k])
    for k in _S_NAMES:
        out[k] = check_number(k, out[k], 0.0, out["m"] + out["m_r"],
                              hint="kick sizes are in voltage units, at most m + m_r")
    tau_min = min(min(out[k] for k in _TAU_NAMES), out["tau_r"])
    out["dt"] = check_number(
        "dt", out["dt"], 0.0, 0.2 * tau_min, lo_open=True, unit="ms",
        hint="dt must not exceed 0.2 * min(tau_QQ', tau_r)",
    )
    # size scaling must keep probabilities in range
    if out["size_scaling"] == "p":
        for k in ("p_ee", "p_ie", "p_ee_x"):
            if out[k] * out["n_e_ref"] / out["n_e"] > 1.0:
                raise ParameterError(
                    f"{k} = {out[k]:g} scaled to n_e = {out['n_e']} (size_scaling='p') gives a "
                    f"probability above 1; use n_e >= {int(np.ceil(out[k] * out['n_e_ref']))}"
                    " or size_scaling='S'"
                )
        for k in ("p_ei", "p_ii"):
            if out[k] * out["n_i_ref"] / out["n_i"] > 1.0:
                raise ParameterError(
                    f"{k} = {out[k]:g} scaled to n_i = {out['n_i']} (size_scaling='p') gives a "
                    f"probability above 1; use n_i >= {int(np.ceil(out[k] * out['n_i_ref']))}"
                    " or size_scaling='S'"
                )
    return out


@dataclass(frozen=True)
class NetworkSpec:
    """Resolved network: per-population arrays and target x source matrices.

    Attributes
    ----------
    populations : tuple of str
        ``("E", "I")`` or ``("E1", "E2", "I")``.
    sizes : ndarray int (P,)
    excitatory : ndarray bool (P,)
        Whether each population's kicks are excitatory.
    lam : ndarray (P,)
        External kick rate onto each population, per ms.
    p, S, tau : ndarray (P, P)
        ``p[q, r]``: probability that a neuron of q is targeted by a spike of r; ``S[q, r]``
        kick size; ``tau[q, r]`` mean release delay (ms). Sizes and probabilities are already
        scaled to the network size.
    M, M_r, tau_r, tau_m, dt : float
        Threshold, reversal, refractory mean (ms), leak (ms, 0 = none), step (ms).
    connectivity : str
        ``"redraw"`` or ``"fixed"``; ``conn_seed`` seeds the fixed graph.
    """

    populations: tuple
    sizes: np.ndarray
    excitatory: np.ndarray
    lam: np.ndarray
    p: np.ndarray
    S: np.ndarray
    tau: np.ndarray
    M: float
    M_r: float
    tau_r: float
    tau_m: float
    dt: float
    connectivity: str
    conn_seed: int

    @property
    def n_pop(self) -> int:
        return len(self.populations)

    @property
    def n_neurons(self) -> int:
        return int(self.sizes.sum())

    @property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.int64)

    def pathway(self, q: int, r: int) -> str:
        """Name of the pathway from population r onto q, e.g. ``"EI"`` (I onto E)."""
        return self.populations[q] + self.populations[r]

    @property
    def pathways(self) -> list:
        """All ordered (target, source) pairs with their names."""
        P = self.n_pop
        return [(q, r, self.pathway(q, r)) for q in range(P) for r in range(P)]


def resolve(params: dict) -> NetworkSpec:
    """Build the :class:`NetworkSpec` of validated parameters (see :func:`validate`)."""
    v = params
    if v["topology"] == "ei":
        pops = ("E", "I")
        sizes = np.array([v["n_e"], v["n_i"]], np.int64)
        exc = np.array([True, False])
        lam = np.array([v["lam_e"], v["lam_i"]])
        p = np.array([[v["p_ee"], v["p_ei"]], [v["p_ie"], v["p_ii"]]], float)
        S = np.array([[v["s_ee"], v["s_ei"]], [v["s_ie"], v["s_ii"]]], float)
        tau = np.array([[v["tau_ee"], v["tau_ei"]], [v["tau_ie"], v["tau_ii"]]], float)
        ref = np.array([v["n_e_ref"], v["n_i_ref"]], float)
    else:
        pops = ("E1", "E2", "I")
        sizes = np.array([v["n_e"], v["n_e"], v["n_i"]], np.int64)
        exc = np.array([True, True, False])
        lam = np.array([v["lam_e"], v["lam_e"], v["lam_i"]])
        p = np.array([
            [v["p_ee"], v["p_ee_x"], v["p_ei"]],
            [v["p_ee_x"], v["p_ee"], v["p_ei"]],
            [v["p_ie"], v["p_ie"], v["p_ii"]],
        ], float)
        S = np.array([
            [v["s_ee"], v["s_ee_x"], v["s_ei"]],
            [v["s_ee_x"], v["s_ee"], v["s_ei"]],
            [v["s_ie"], v["s_ie"], v["s_ii"]],
        ], float)
        tau = np.array([
            [v["tau_ee"], v["tau_ee"], v["tau_ei"]],
            [v["tau_ee"], v["tau_ee"], v["tau_ei"]],
            [v["tau_ie"], v["tau_ie"], v["tau_ii"]],
        ], float)
        ref = np.array([v["n_e_ref"], v["n_e_ref"], v["n_i_ref"]], float)
    factor = ref / sizes  # per source population
    if v["size_scaling"] == "S":
        S = S * factor[None, :]
    elif v["size_scaling"] == "p":
        p = p * factor[None, :]
    return NetworkSpec(
        populations=pops, sizes=sizes, excitatory=exc, lam=lam, p=p, S=S, tau=tau,
        M=float(v["m"]), M_r=float(v["m_r"]), tau_r=float(v["tau_r"]),
        tau_m=float(v["tau_m"]), dt=float(v["dt"]), connectivity=v["connectivity"],
        conn_seed=int(v["conn_seed"]),
    )
