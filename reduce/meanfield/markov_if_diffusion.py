r"""Diffusion / mean-field rate baseline for the Markov IF network of models.md §1 (no MFEs).

Derivation (ours; a classical baseline, not from the MA paper). Consider one neuron of
population Q in a network whose populations fire as independent Poisson processes of
rates ν_{Q'} (per neuron, per ms); this is the mean-field (asynchronous, no-correlation)
assumption that removes multiple-firing events by construction.

1. *Pending kicks.* Each spike of a Q' neuron gives the neuron a pending kick with probability
   p_{QQ'}; kicks are released after exponential delays of mean τ_{QQ'}. The mean number of
   pending kicks m_{QQ'} obeys (the first moment equation of models.md §2)

   .. math:: \frac{dm_{QQ'}}{dt} = -\frac{m_{QQ'}}{\tau_{QQ'}} + p_{QQ'} N_{Q'}\nu_{Q'},

   and releases arrive, in the mean-field approximation, as a Poisson stream of rate
   m_{QQ'}/τ_{QQ'}.

2. *Diffusion approximation of the voltage.* External unit kicks (rate λ_Q), excitatory
   releases (size S_{QE}) and inhibitory releases (size S_{QI} g(V),
   g(V) = (V + M_r)/(M + M_r)) give the drift and diffusion coefficients

   .. math::

      A_Q(V) = \lambda_Q + \sum_{E'} S_{QE'}\frac{m_{QE'}}{\tau_{QE'}}
               - g(V)\sum_{I'} S_{QI'}\frac{m_{QI'}}{\tau_{QI'}} - \frac{V}{\tau_m},

      B_Q(V) = \lambda_Q + \sum_{E'} S_{QE'}^2\frac{m_{QE'}}{\tau_{QE'}}
               + g(V)^2\sum_{I'} S_{QI'}^2\frac{m_{QI'}}{\tau_{QI'}}

   (the shot-noise variance rate of each Poisson stream; the leak term only if τ_m > 0).

3. *First passage.* V diffuses on [−M_r, M] with a reflecting boundary at −M_r (the exact
   model cannot go below it), fires at M, is refractory for a mean time τ_R and restarts at 0.
   Its stationary rate is ``Φ_Q(m) = 1/(τ_R + T_Q)`` with T_Q the mean first-passage time
   from 0 to M (:mod:`.firstpassage`; Siegert-type double integral with V-dependent
   coefficients). Without recurrent input this reduces to the drift-diffusion passage time
   of external kicks, ``T ≈ M/λ`` for M ≫ 1 (the exact jump process gives exactly M/λ).

4. *Closure.* ν_Q = Φ_Q(m) instantaneously; the state is the vector of kick means m (one per
   ordered pathway, P² states), and the ODE is the moment equation of step 1 with
   ν_{Q'} = Φ_{Q'}(m). Equilibria: m*_{QQ'} = τ_{QQ'} p_{QQ'} N_{Q'} ν*_{Q'} with
   ν* = Φ(m*(ν*)).

What this baseline omits, on purpose: pending-kick variances, correlations between neurons
and the voltage distribution's transient shape — exactly what lets the Markov approximation
produce MFEs. Rates in Hz per neuron in ``rates_hz``.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import fsolve

from bifurcation.system import ODESystem
from simulate.validation import ParameterError, check_number

from .firstpassage import _fpt_time, _grid

__all__ = ["MarkovIFDiffusion"]


class MarkovIFDiffusion:
    """Mean-field diffusion baseline of a :class:`simulate.MarkovIFNetwork`.

    Parameters
    ----------
    network : simulate.MarkovIFNetwork or NetworkSpec, optional
        The network (its ``spec``) to reduce; default: ``MarkovIFNetwork()`` at the defaults.
    n_grid : int
        Coarse voltage grid of the first-passage quadrature (Richardson with 2·n_grid).
    **params
        Passed to ``MarkovIFNetwork(**params)`` when ``network`` is None.

    Examples
    --------
    >>> mf = MarkovIFDiffusion()
    >>> eq = mf.equilibrium()
    >>> eq["status"]
    'ok'
    """

    def __init__(self, network=None, n_grid=400, **params):
        if network is None:
            from simulate.markov_if.network import MarkovIFNetwork

            network = MarkovIFNetwork(**params)
        spec = getattr(network, "spec", network)
        for attr in ("populations", "sizes", "excitatory", "lam", "p", "S", "tau", "M", "M_r",
                     "tau_r"):
            if not hasattr(spec, attr):
                raise ParameterError(f"network has no {attr!r}: pass a MarkovIFNetwork or its "
                                     "NetworkSpec")
        self.spec = spec
        self.n_grid = int(check_number("n_grid", n_grid, 20, 1e6, integer=True))
        self.populations = tuple(spec.populations)
        self.P = len(self.populations)
        self.tau_m = float(getattr(spec, "tau_m", 0.0))
        if spec.M_r <= 0:
            raise ParameterError(f"M_r = {spec.M_r:g} is outside the valid range (0, inf) of the "
                                 "diffusion baseline (the reset 0 must lie above -M_r)")
        n1 = max(int(self.n_grid * spec.M_r / (spec.M + spec.M_r)), 8)
        n2 = max(self.n_grid - n1, 8)
        self._grids = [_grid(-spec.M_r, 0.0, spec.M, m * n1, m * n2) for m in (1, 2)]

    # ------------------------------------------------------------------ transfer
    def _coeffs(self, q, m, V, lam):
        s = self.spec
        g = (V + s.M_r) / (s.M + s.M_r)
        A = np.full(V.shape, float(lam[q]))
        B = np.full(V.shape, float(lam[q]))
        for r in range(self.P):
            rel = m[q, r] / s.tau[q, r]
            if s.excitatory[r]:
                A = A + s.S[q, r] * rel
                B = B + s.S[q, r] ** 2 * rel
            else:
                A = A - s.S[q, r] * g * rel
                B = B + (s.S[q, r] * g) ** 2 * rel
        if self.tau_m > 0:
            A = A - V / self.tau_m
        return A, B

    def transfer(self, m, lam=None) -> np.ndarray:
        """Φ_Q(m) per ms for every population; ``m`` is (P, P) target × source kick means,
        ``lam`` the external rates (default: the network's)."""
        lam = self.spec.lam if lam is None else np.asarray(lam, float)
        m = np.maximum(np.asarray(m, float).reshape(self.P, self.P), 0.0)
        out = np.empty(self.P)
        for q in range(self.P):
            Ts = []
            for x, i_r in self._grids:
                A, B = self._coeffs(q, m, x, lam)
                Ts.append(_fpt_time(x, A, B, i_r))
            T = (4.0 * Ts[1] - Ts[0]) / 3.0
            out[q] = 1.0 / (self.spec.tau_r + T) if np.isfinite(T) else 0.0
        return out

    def m_star(self, nu) -> np.ndarray:
        """Stationary kick means τ_{QQ'} p_{QQ'} N_{Q'} ν_{Q'} for rates ν (per ms)."""
        s = self.spec
        return s.tau * s.p * (s.sizes * np.asarray(nu, float))[None, :]

    # ------------------------------------------------------------------ ODE and equilibrium
    def ode(self) -> ODESystem:
        """Kick-moment ODE dm_{QQ'}/dt = −m_{QQ'}/τ_{QQ'} + p_{QQ'} N_{Q'} Φ_{Q'}(m).

        States ``m_<QQ'>`` (P² of them, e.g. m_EE, m_EI, m_IE, m_II); parameters ``lam_<Q>``
        (kicks per ms) and ``p_<qq'>`` (lower case, as in MarkovIFNetwork); outputs
        ``rate_<Q>`` (Hz per neuron).
        """
        s = self.spec
        P = self.P
        names = [f"m_{a}{b}" for a in self.populations for b in self.populations]
        params = {f"lam_{a}": float(s.lam[i]) for i, a in enumerate(self.populations)}
        for i, a in enumerate(self.populations):
            for j, b in enumerate(self.populations):
                params[f"p_{a.lower()}{b.lower()}"] = float(s.p[i, j])
        me = self

        def unpack(q):
            lam = np.asarray(q[:P], float)
            p = np.asarray(q[P:], float).reshape(P, P)
            return lam, p

        def rhs(x, q):
            lam, p = unpack(q)
            m = np.asarray(x, float).reshape(P, P)
            nu = me.transfer(m, lam)
            return (-m / s.tau + p * (s.sizes * nu)[None, :]).ravel()

        def rate(i):
            return lambda x, q: 1000.0 * me.transfer(np.reshape(x, (P, P)),
                                                           np.asarray(q[:P], float))[i]

        out = {f"rate_{a}": rate(i) for i, a in enumerate(self.populations)}
        return ODESystem(rhs, P * P, params, outputs=out, state_names=names,
                         name="markov-if-diffusion")

    def equilibrium(self, guess_hz=None) -> dict:
        """Self-consistent rates ν = Φ(m*(ν)) by Newton (fsolve) in log-rates.

        Returns ``{"rates_hz": {pop: Hz}, "m": (P, P), "status", "message", "eigenvalues",
        "stable"}``; ``status = "no solution"`` if Newton fails.
        """
        s = self.spec
        if guess_hz is None:
            nu0 = 1.0 / (s.M / np.maximum(s.lam, 1e-9) + s.tau_r)
        else:
            nu0 = np.asarray(guess_hz, float) / 1000.0
        f = lambda y: np.log(self.transfer(self.m_star(np.exp(y)))) - y
        y, info, ier, msg = fsolve(f, np.log(np.maximum(nu0, 1e-9)), full_output=True,
                                   xtol=1e-12)
        nu = np.exp(y)
        ok = ier == 1 and np.max(np.abs(f(y))) < 1e-8
        m = self.m_star(nu)
        ev = np.full(self.P * self.P, np.nan + 0j)
        stable = False
        if ok:
            sys_ = self.ode()
            ev = np.linalg.eigvals(sys_.fd_jacobian(m.ravel()))
            stable = bool(np.all(ev.real < 0))
        return {"rates_hz": {a: 1000.0 * nu[i] for i, a in enumerate(self.populations)},
                "m": m, "status": "ok" if ok else "no solution", "message": str(msg),
                "eigenvalues": ev, "stable": stable}

