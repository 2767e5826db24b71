r"""Balanced binary network of van Vreeswijk & Sompolinsky: mean-field ODE and balance.

**Published** (models.md §7; van Vreeswijk & Sompolinsky 1996, 1998). Populations k = E, I
of binary units with mean activities m_k, K inputs per population with couplings
``J_kl/√K``, external activity m_0:

.. math::

    \tau_k \frac{dm_k}{dt} = -m_k + H\!\left(\frac{-u_k}{\sqrt{\alpha_k}}\right),\quad
    u_k = \sqrt K\,\Big(J_{k0} m_0 + \sum_l J_{kl} m_l\Big) - \theta_k,\quad
    \alpha_k = \sum_l J_{kl}^2 m_l,

with H(x) = erfc(x/√2)/2 the Gaussian tail, couplings J_EE = J_IE = 1, J_EI = −J_E,
J_II = −J_I, J_E0 = E, J_I0 = I. As K → ∞ the O(√K) terms must cancel (balance):

.. math::

    m_E = \frac{E J_I - I J_E}{J_E - J_I} m_0, \qquad m_I = \frac{E - I}{J_E - J_I} m_0,

which is positive when E/I > J_E/J_I > 1 (or both inequalities reversed); at finite K the
fixed point deviates by O(1/√K).

``rates_hz``: binary units have no spikes; with asynchronous updates at rate 1/τ_k the rate
of 0 → 1 transitions per unit in the stationary state is ``m_k(1 − m_k)/τ_k`` — this is
what :meth:`BinaryBalancedTheory.rates_hz` reports (Hz), next to the activities m_k.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import fsolve

from bifurcation.system import ODESystem
from simulate.validation import ParameterError, check_known, check_number

__all__ = ["BinaryBalancedTheory", "DEFAULTS"]

#: van Vreeswijk & Sompolinsky (1998) parameters (τ in ms).
DEFAULTS = {
    "K": 1000.0, "m0": 0.1, "E": 1.0, "I": 0.8, "J_E": 2.0, "J_I": 1.8,
    "theta_E": 1.0, "theta_I": 0.7, "tau_E": 10.0, "tau_I": 9.0,
}
_NAMES = list(DEFAULTS)


def _H(x):
    return 0.5 * math.erfc(x / math.sqrt(2.0))


def _rhs(x, q):
    K, m0, E, I, J_E, J_I, th_e, th_i, tau_e, tau_i = q
    me = min(max(x[0], 0.0), 1.0)
    mi = min(max(x[1], 0.0), 1.0)
    sk = math.sqrt(K)
    u_e = sk * (E * m0 + me - J_E * mi) - th_e
    u_i = sk * (I * m0 + me - J_I * mi) - th_i
    a_e = me + J_E * J_E * mi
    a_i = me + J_I * J_I * mi
    # α → 0 (silent network): H(−u/√α) → step(u); keep it smooth with a tiny floor
    a_e = max(a_e, 1e-300)
    a_i = max(a_i, 1e-300)
    return np.array([(-x[0] + _H(-u_e / math.sqrt(a_e))) / tau_e,
                     (-x[1] + _H(-u_i / math.sqrt(a_i))) / tau_i])


class BinaryBalancedTheory:
    """Mean-field theory of the balanced binary network (models.md §7).

    Parameters
    ----------
    K, m0, E, I, J_E, J_I, theta_E, theta_I : float
        In-degree, external activity, external couplings, inhibitory couplings, thresholds.
    tau_E, tau_I : float
        Update time constants (ms).

    Examples
    --------
    >>> th = BinaryBalancedTheory(K=1000)
    >>> th.balanced()
    {'E': 0.1, 'I': 0.1}
    """

    def __init__(self, **params):
        check_known(params, DEFAULTS, "BinaryBalancedTheory")
        p = {**DEFAULTS, **params}
        p["K"] = check_number("K", p["K"], 1.0, 1e16)
        p["m0"] = check_number("m0", p["m0"], 0.0, 1.0, lo_open=True)
        for k in ("E", "I", "J_E", "J_I"):
            p[k] = check_number(k, p[k], 0.0, 1e4, lo_open=True)
        for k in ("theta_E", "theta_I"):
            p[k] = check_number(k, p[k], -1e4, 1e4)
        for k in ("tau_E", "tau_I"):
            p[k] = check_number(k, p[k], 0.0, 1e5, lo_open=True, unit="ms")
        self.params = p

    def with_params(self, **kw) -> BinaryBalancedTheory:
        """A new theory with some parameters changed."""
        return BinaryBalancedTheory(**{**self.params, **kw})

    def balanced(self) -> dict:
        """Large-K balanced activities; ParameterError if they are not in (0, 1)."""
        p = self.params
        d = p["J_E"] - p["J_I"]
        if d == 0:
            raise ParameterError("J_E = J_I: the balance equations are singular; valid range "
                                 "J_E != J_I")
        me = (p["E"] * p["J_I"] - p["I"] * p["J_E"]) * p["m0"] / d
        mi = (p["E"] - p["I"]) * p["m0"] / d
        if not (0 < me < 1 and 0 < mi < 1):
            raise ParameterError(
                f"no balanced state: m_E = {me:.4g}, m_I = {mi:.4g} must lie in (0, 1); the "
                "valid range is E/I > J_E/J_I > 1 (or both reversed) with m0 small enough"
            )
        return {"E": me, "I": mi}

    def ode(self) -> ODESystem:
        """The finite-K mean-field ODE for (m_E, m_I); parameters as in :data:`DEFAULTS`.

        Outputs ``rate_E``, ``rate_I``: m_k(1 − m_k)/τ_k in Hz.
        """
        params = {k: self.params[k] for k in _NAMES}
        out = {
            "rate_E": lambda x, q: 1000.0 * x[0] * (1 - x[0]) / q[8],
            "rate_I": lambda x, q: 1000.0 * x[1] * (1 - x[1]) / q[9],
        }
        return ODESystem(_rhs, 2, params, outputs=out, state_names=["m_E", "m_I"],
                         name="binary-balanced")

    def fixed_point(self, guess=None) -> dict:
        """The finite-K fixed point by Newton from the balanced solution.

        Returns ``{"m": {"E", "I"}, "rates_hz": {...}, "status", "stable", "eigenvalues"}``.
        """
        sys = self.ode()
        if guess is None:
            try:
                b = self.balanced()
                guess = (b["E"], b["I"])
            except ParameterError:
                guess = (0.1, 0.1)
        x, info, ier, msg = fsolve(lambda x: sys.rhs(x), np.asarray(guess, float),
                                  full_output=True, xtol=1e-14)
        # accept on the residual: fsolve's "xtol too small" also ends at machine-precision roots
        ok = (np.all(np.isfinite(x)) and np.all((x >= 0) & (x <= 1))
              and np.max(np.abs(sys.rhs(x))) < 1e-12)
        ev = np.linalg.eigvals(sys.fd_jacobian(x)) if ok else np.full(2, np.nan + 0j)
        return {"m": {"E": float(x[0]), "I": float(x[1])},
                "rates_hz": self.rates_hz(x),
                "status": "ok" if ok else "no solution", "message": str(msg),
                "stable": bool(ok and np.all(ev.real < 0)), "eigenvalues": ev}

    def rates_hz(self, m) -> dict:
        """Rates of 0 → 1 transitions per unit, ``1000·m_k(1 − m_k)/τ_k`` Hz, for k = E, I.

        Parameters
        ----------
        m : sequence of float
            Activities ``(m_E, m_I)``.

        Returns
        -------
        dict
            ``{"E": rate, "I": rate}`` in Hz.
        """
        p = self.params
        return {"E": 1000.0 * m[0] * (1 - m[0]) / p["tau_E"],
                "I": 1000.0 * m[1] * (1 - m[1]) / p["tau_I"]}
