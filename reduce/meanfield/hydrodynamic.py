r"""Hydrodynamic (n → ∞) limit of the balanced stochastic-hybrid network (models.md §6).

**Reconstruction.** The MacLaurin–Vilanova abstract fixes the ingredients (2n neurons, an ODE
for each neuron's synaptic potentiation x, Poisson interactions with sigmoid intensity,
couplings O(n^{−1/2}), a Gaussian limit with balance-determined means and CLT variances);
the equations below are our consistent model of it, matching ``simulate.BalancedHybridNetwork``
(same parameter names: ``J`` target × source, ``alpha``, ``I``, ``sqrt_n_drive``, ``f_max``,
``gain``, ``threshold``).

Per-pair configuration. Neuron k of population p: ``dx_k/dt = −α_p x_k + I_p`` between events;
each ordered pair (j, k) is an independent Poisson process of intensity f_q(x_j) whose events
add J_pq/√n to x_k. Populations become Gaussian N(μ_p, v_p) with
F_q = E[f_q(μ_q + √v_q Z)] and

.. math::

    \frac{dv_p}{dt} = -2\alpha_p v_p + \sum_q J_{pq}^2 F_q, \qquad
    \frac{d\mu_p}{dt} = -\alpha_p\mu_p + I_p + c_p(t).

The O(√n) drift √n(Σ_q J_pq F_q + I⁰_p) must vanish (balance). When the rows of J are equal
(J_pq = J_q, the default: one common constraint G = Σ_q J_q F_q + I⁰ = 0) the balancing input
is common, c_p = c, and differentiating G along the flow gives it explicitly:

.. math::

    0 = \frac{dG}{dt} = \sum_q J_q\Big[F_q^{\mu}(-\alpha_q\mu_q + I_q + c)
        + F_q^{v}\,\dot v_q\Big]
    \;\Rightarrow\;
    c = -\frac{\sum_q J_q[F_q^{\mu}(-\alpha_q\mu_q + I_q) + F_q^{v}\dot v_q]}
              {\sum_q J_q F_q^{\mu}},

with F^μ = E[f'], F^v = E[f'']/2. The manifold G = 0 attracts under the fast O(√n) drift iff
Σ_q J_q F_q^μ < 0, i.e. J_I·E f_I′ > J_E·E f_E′ (models.md §6); :meth:`balance_gain` reports
it. With distinct rows (a 2 × 2 invertible J) the two constraints fix F_E, F_I and c_p comes
from the 2 × 2 system ``Σ_q J_pq F_q^μ (−α_qμ_q + I_q + c_q) + Σ_q J_pq F_q^v v̇_q = 0``
(``constraint="per-population"``).

Shared-spike-train configuration (one train per neuron shared by all targets): every neuron
of a population receives identical input, so the across-neuron variance obeys
dv_p/dt = −2α_p v_p → 0 and the population mean carries O(1) common noise of variance rate
Σ_q J_pq² F_q: the deterministic ODE limit above does not hold. :meth:`ode` with
``spikes="shared"`` returns the degenerate deterministic part (v decays, means as above) for
documentation only.

States (4): μ_E, μ_I, v_E, v_I. Outputs: ``rate_E``, ``rate_I`` = 1000·F_q (Hz per neuron
per outgoing process), and ``constraint`` = G.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq, fsolve

from bifurcation.system import ODESystem
from simulate.validation import ParameterError, check_choice

__all__ = ["HybridHydrodynamic"]

_Z, _W = np.polynomial.hermite_e.hermegauss(60)
_W = _W / _W.sum()

_PARAM_NAMES = ("j_ee", "j_ei", "j_ie", "j_ii", "alpha_E", "alpha_I", "I_E", "I_I", "I0_E",
                "I0_I", "f_max_E", "f_max_I", "gain_E", "gain_I", "threshold_E", "threshold_I")


def _moments_f(mu, v, fmax, gain, thr):
    """F, E[f'], E[f'']/2 for f logistic, x ~ N(mu, v) (Gauss–Hermite, 60 nodes)."""
    x = mu + math.sqrt(max(v, 0.0)) * _Z
    s = 0.5 * (1.0 + np.tanh(0.5 * gain * (x - thr)))
    f = fmax * s
    f1 = fmax * gain * s * (1 - s)
    f2 = fmax * gain * gain * s * (1 - s) * (1 - 2 * s)
    return float(_W @ f), float(_W @ f1), 0.5 * float(_W @ f2)


class HybridHydrodynamic:
    """Means and variances of the balanced stochastic-hybrid network as n → ∞.

    Parameters
    ----------
    network : simulate.BalancedHybridNetwork, optional
        Take every parameter from it (``n`` is irrelevant in the limit, the √n drive
        coefficient enters through the constraint).
    constraint : {"auto", "common", "per-population"}
        ``"auto"``: common if the two rows of J are equal, else per-population.
    **params
        Otherwise: ``J`` (2×2) or ``j_ee``…``j_ii``, ``alpha``, ``I``, ``sqrt_n_drive``,
        ``f_max``, ``gain``, ``threshold`` (numbers or (E, I) pairs), as in
        ``simulate.BalancedHybridNetwork``.
    """

    def __init__(self, network=None, constraint="auto", spikes="per-pair", **params):
        if network is None:
            from simulate.hybrid.network import BalancedHybridNetwork

            network = BalancedHybridNetwork(**params)
        elif params:
            network = network.with_params(**params)
        self.network = network
        p = network.params
        self.spikes = check_choice("spikes", spikes, ("per-pair", "shared"))
        J = np.array([[p["j_ee"], p["j_ei"]], [p["j_ie"], p["j_ii"]]], float)
        check_choice("constraint", constraint, ("auto", "common", "per-population"))
        if constraint == "auto":
            constraint = "common" if np.allclose(J[0], J[1]) else "per-population"
        if constraint == "common" and not np.allclose(J[0], J[1]):
            raise ParameterError("constraint = 'common' needs equal rows of J (J_EE = J_IE, "
                                 f"J_EI = J_II); got J = {J.tolist()}")
        if constraint == "per-population" and abs(np.linalg.det(J)) < 1e-12:
            raise ParameterError("constraint = 'per-population' needs an invertible J; use "
                                 "'common' for equal rows")
        self.constraint = constraint
        self.J = J
        self.params = {
            "j_ee": J[0, 0], "j_ei": J[0, 1], "j_ie": J[1, 0], "j_ii": J[1, 1],
            "alpha_E": p["alpha"][0], "alpha_I": p["alpha"][1],
            "I_E": p["I"][0], "I_I": p["I"][1],
            "I0_E": p["sqrt_n_drive"][0], "I0_I": p["sqrt_n_drive"][1],
            "f_max_E": p["f_max"][0], "f_max_I": p["f_max"][1],
            "gain_E": p["gain"][0], "gain_I": p["gain"][1],
            "threshold_E": p["threshold"][0], "threshold_I": p["threshold"][1],
        }

    # ------------------------------------------------------------------ pieces
    @staticmethod
    def _unpack(q):
        J = np.array([[q[0], q[1]], [q[2], q[3]]])
        alpha = np.array(q[4:6])
        I = np.array(q[6:8])
        I0 = np.array(q[8:10])
        fmax, gain, thr = np.array(q[10:12]), np.array(q[12:14]), np.array(q[14:16])
        return J, alpha, I, I0, fmax, gain, thr

    def _p(self):
        return np.array([self.params[k] for k in _PARAM_NAMES])

    def population_moments(self, mu, v, q=None):
        """Gaussian moments of the logistic rate function per population: for x ~ N(μ_k, v_k),
        ``(E[f(x)], E[f'(x)], E[f''(x)]/2)`` as three arrays (E, I) (Gauss–Hermite, 60 nodes)."""
        q = self._p() if q is None else q
        J, alpha, I, I0, fmax, gain, thr = self._unpack(q)
        m = [_moments_f(mu[i], v[i], fmax[i], gain[i], thr[i]) for i in range(2)]
        return np.array([a[0] for a in m]), np.array([a[1] for a in m]), np.array([a[2] for a in m])

    def constraint_value(self, x, q=None):
        """G_p = Σ_q J_pq F_q + I⁰_p (both rows; equal in the common case)."""
        q = self._p() if q is None else q
        J, alpha, I, I0, *_ = self._unpack(q)
        F, _, _ = self.population_moments(x[:2], x[2:], q)
        return J @ F + I0

    def balance_gain(self, x, q=None) -> float:
        """Σ_q J_q E[f_q′] (common constraint): negative means the manifold attracts."""
        q = self._p() if q is None else q
        J, *_ = self._unpack(q)
        _, F1, _ = self.population_moments(x[:2], x[2:], q)
        return float(J[0] @ F1)

    def _rhs(self, x, q):
        J, alpha, I, I0, fmax, gain, thr = self._unpack(q)
        mu, v = x[:2], x[2:]
        F, F1, F2 = self.population_moments(mu, v, q)
        if self.spikes == "shared":
            dv = -2.0 * alpha * v
        else:
            dv = -2.0 * alpha * v + (J * J) @ F
        free = -alpha * mu + I
        if self.constraint == "common":
            den = J[0] @ F1
            if den == 0.0:
                c = np.zeros(2)
            else:
                c = np.full(2, -(J[0] @ (F1 * free + F2 * dv)) / den)
        else:
            M = J * F1[None, :]
            rhs = -(M @ free + (J * F2[None, :]) @ dv)
            try:
                c = np.linalg.solve(M, rhs)
            except np.linalg.LinAlgError:
                c = np.zeros(2)
        return np.concatenate([free + c, dv])

    # ------------------------------------------------------------------ public
    def ode(self) -> ODESystem:
        """The 4-state ODE (μ_E, μ_I, v_E, v_I); parameters named as in :data:`_PARAM_NAMES`.

        Trajectories must start on the balanced manifold (:meth:`project`), which the flow
        preserves (G is a first integral of this ODE by construction of c).
        """
        rhs = self._rhs
        out = {
            "rate_E": lambda x, q: 1000.0 * self.population_moments(x[:2], x[2:], q)[0][0],
            "rate_I": lambda x, q: 1000.0 * self.population_moments(x[:2], x[2:], q)[0][1],
            "constraint": lambda x, q: float(self.constraint_value(x, q)[0]),
        }
        return ODESystem(rhs, 4, {k: float(v) for k, v in zip(_PARAM_NAMES, self._p())},
                         outputs=out, state_names=["mu_E", "mu_I", "v_E", "v_I"],
                         name=f"hybrid-hydrodynamic-{self.spikes}")

    def project(self, x) -> np.ndarray:
        """Shift the means onto the balanced manifold G = 0 (common shift; per-population:
        2-D Newton), keeping the variances. Raises ParameterError when G = 0 is unreachable
        (e.g. the drive can never be balanced by the available rates)."""
        x = np.array(x, float)
        if self.constraint == "common":
            g = lambda s: float(self.constraint_value(x + np.array([s, s, 0, 0]))[0])
            lo, hi = -1.0, 1.0
            for _ in range(60):
                if g(lo) * g(hi) < 0:
                    break
                lo, hi = 2 * lo, 2 * hi
            else:
                raise ParameterError("no balanced state: Σ_q J_q F_q + I0 does not change sign "
                                     "under a common shift of the means")
            s = brentq(g, lo, hi, xtol=1e-14)
            return x + np.array([s, s, 0, 0])
        f = lambda m: self.constraint_value(np.concatenate([m, x[2:]]))
        m, info, ier, msg = fsolve(f, x[:2], full_output=True, xtol=1e-13)
        if ier != 1:
            raise ParameterError(f"no balanced state for these couplings: {msg}")
        return np.concatenate([m, x[2:]])

    def equilibrium(self, x0=None) -> dict:
        """Balanced equilibrium: v_p = Σ_q J_pq² F_q/(2α_p) and −α_p μ_p + I_p + c = 0 on G = 0.

        Returns a dict with ``x``, ``rates_hz``, ``status``.
        """
        if self.spikes == "shared":
            raise ParameterError("spikes = 'shared' has no deterministic balanced equilibrium "
                                 "for the variances (they decay to 0); use 'per-pair'")
        q = self._p()
        J, alpha, I, I0, *_ = self._unpack(q)
        x = self.project(np.array([0.0, 0.0, 1.0, 1.0]) if x0 is None else x0)

        def resid(y):
            z = np.array([y[0], y[1], math.exp(y[2]), math.exp(y[3])])
            r = self._rhs(z, q)
            G = self.constraint_value(z, q)
            if self.constraint == "common":
                # unknowns μ_E, μ_I, v_E, v_I; equations: dv = 0 (2), G = 0, μ̇_E − μ̇_I = 0
                return np.array([r[2], r[3], G[0], r[0] - r[1]])
            return np.array([r[2], r[3], G[0], G[1]])

        y0 = np.array([x[0], x[1], math.log(max(x[2], 1e-6)), math.log(max(x[3], 1e-6))])
        y, info, ier, msg = fsolve(resid, y0, full_output=True, xtol=1e-13)
        z = np.array([y[0], y[1], math.exp(y[2]), math.exp(y[3])])
        ok = ier == 1 and np.max(np.abs(resid(y))) < 1e-9
        F, _, _ = self.population_moments(z[:2], z[2:], q)
        return {"x": z, "rates_hz": {"E": 1000 * F[0], "I": 1000 * F[1]},
                "status": "ok" if ok else "no solution", "message": str(msg),
                "balance_gain": self.balance_gain(z)}

    def stationary_variance(self, x) -> np.ndarray:
        """v_p* = Σ_q J_pq² F_q/(2α_p) at the means of ``x``."""
        q = self._p()
        J, alpha, *_ = self._unpack(q)
        F, _, _ = self.population_moments(x[:2], x[2:], q)
        return (J * J) @ F / (2 * alpha)
