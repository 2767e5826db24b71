"""Coupling-strength scaling rules a(K) for the conductance-based LIF network (models.md §4).

A rule fixes how the synaptic strength ``a`` changes with the in-degree K, anchored so that
a(K0) = a0:

=========  =====================================  =========================================
rule       a(K)                                   regime (models.md §4)
=========  =====================================  =========================================
"log"      a0 · log(K0) / log(K)                  synapses of order 1/log K: finite rates,
                                                  irregular firing as K grows
"sqrt"     a0 · sqrt(K0 / K)                      current-based balance; the single neuron
                                                  stops firing as K grows
"power"    a0 · (K0 / K)^alpha                    0 < alpha < 1: rates tend to the linear
                                                  limit ν/ν_X = (E_E−θ)/(θ(1+gγ)−E_E−gγE_I)
"const"    a0                                     saturation
=========  =====================================  =========================================

Examples
--------
>>> round(coupling("log", 1000, K0=100, a0=0.02), 6)
0.013333
>>> coupling("sqrt", 400, K0=100, a0=0.02)
0.01
"""

from __future__ import annotations

import math

from ..validation import check_choice, check_number

__all__ = ["RULES", "coupling"]

RULES = ("log", "sqrt", "power", "const")


def coupling(rule: str, K: float, *, K0: float, a0: float, alpha: float | None = None) -> float:
    """Synaptic strength a(K) under ``rule``, with a(K0) = a0.

    Parameters
    ----------
    rule : {"log", "sqrt", "power", "const"}
    K : float
        In-degree (excitatory inputs per neuron), >= 2 for ``"log"``.
    K0, a0 : float
        Anchor: the strength a0 at in-degree K0.
    alpha : float
        Exponent of ``"power"`` (a ∝ K^−alpha), in (0, 2].

    Returns
    -------
    float
        a(K), dimensionless (the jump V -> E_A + (V − E_A)·exp(−a)).
    """
    check_choice("scaling", rule, RULES)
    K = check_number("K", K, 1.0, None)
    K0 = check_number("K0", K0, 1.0, None)
    a0 = check_number("a0", a0, 0.0, 10.0, lo_open=True)
    if rule == "log":
        check_number("K", K, 1.0, None, lo_open=True, hint="the 'log' rule needs K > 1")
        check_number("K0", K0, 1.0, None, lo_open=True, hint="the 'log' rule needs K0 > 1")
        return a0 * math.log(K0) / math.log(K)
    if rule == "sqrt":
        return a0 * math.sqrt(K0 / K)
    if rule == "power":
        if alpha is None:
            from ..validation import ParameterError

            raise ParameterError("scaling = 'power' needs the exponent alpha (valid range (0, 2])")
        alpha = check_number("alpha", alpha, 0.0, 2.0, lo_open=True)
        return a0 * (K0 / K) ** alpha
    return a0
