"""Initial conditions for attractor censuses of the Markov approximation.

The documented default sampler of issue 10 for reduced neuron models. For each population q
with N_q neurons and K bins:

- occupancies: fractions (f_0..f_{K-1}, f_R) ~ Dirichlet(α·1) over the K bins and the
  refractory state, n_k = N_q f_k (so Σ n_k ≤ N_q and R_q = N_q f_R ≥ 0 automatically);
- in-bin means uniform: each bin's mean voltage V̄_k ~ U(e_k, e_{k+1}), stored as the centred
  total Z_k = n_k (V̄_k − c_k);
- pending-kick moments around reference values m*_qr, s*_qr (an equilibrium or any reference
  state): m = m*·exp(κ ξ), s = s*·exp(κ ξ′), ξ, ξ′ ~ N(0, 1), κ = ``kick_spread``. Without a
  reference state, m* = p_qr N_r r₀ τ_qr and s* = m* (Poisson-like spread) with r₀ =
  ``rate_guess_hz`` — the moment equations' fixed point at rate r₀.

Basin fractions from a census are relative to this sampler.

Examples
--------
>>> import numpy as np, reduce
>>> ma = reduce.MarkovApproximation()
>>> X = MASampler(ma)(np.random.default_rng(0), 4)
>>> X.shape
(4, 148)
"""

from __future__ import annotations

import numpy as np

from simulate.validation import ParameterError, check_number

__all__ = ["MASampler"]


class MASampler:
    """Random admissible ODE states of a :class:`~reduce.MarkovApproximation`.

    Parameters
    ----------
    ma : MarkovApproximation
    x_ref : array_like, optional
        Reference ODE state for the kick moments (e.g. an equilibrium).
    concentration : float
        Dirichlet parameter α (1: uniform on the simplex; large: near-even spread).
    kick_spread : float
        Log-normal spread κ of the kick moments around the reference.
    rate_guess_hz : float
        Rate used for reference moments when ``x_ref`` is not given.
    """

    def __init__(self, ma, x_ref=None, concentration: float = 1.0, kick_spread: float = 0.5,
                 rate_guess_hz: float = 30.0):
        self.ma = ma
        self.layout = ma.layout
        self.alpha = check_number("concentration", concentration, 0.0, None, lo_open=True)
        self.kappa = check_number("kick_spread", kick_spread, 0.0, 5.0)
        check_number("rate_guess_hz", rate_guess_hz, 0.0, 1000.0, unit="Hz")
        lay, spec = self.layout, ma.spec
        P = lay.P
        if x_ref is not None:
            x_ref = np.asarray(x_ref, float)
            if x_ref.shape[-1] != lay.n_ode:
                raise ParameterError(
                    f"x_ref has length {x_ref.shape[-1]}; the ODE state has {lay.n_ode}")
            self.m_ref = np.array([[x_ref[lay.mom(q, r)] for r in range(P)] for q in range(P)])
            self.s_ref = np.array([[x_ref[lay.mom(q, r) + 1] for r in range(P)]
                                   for q in range(P)])
        else:
            r0 = rate_guess_hz / 1000.0
            self.m_ref = spec.p * spec.sizes[None, :] * r0 * spec.tau
            self.s_ref = self.m_ref.copy()

    def __call__(self, rng: np.random.Generator, n: int) -> np.ndarray:
        lay, bins = self.layout, self.ma.bins
        P, K = lay.P, lay.K
        X = np.zeros((n, lay.n_ode))
        lo, hi = bins.edges[:-1], bins.edges[1:]
        for q in range(P):
            frac = rng.dirichlet(np.full(K + 1, self.alpha), size=n)
            occ = self.ma.spec.sizes[q] * frac[:, :K]
            vbar = rng.uniform(lo, hi, size=(n, K))
            X[:, lay.occ(q)] = occ
            X[:, lay.ztot(q)] = occ * (vbar - bins.centres)
            for r in range(P):
                i = lay.mom(q, r)
                X[:, i] = self.m_ref[q, r] * np.exp(self.kappa * rng.standard_normal(n))
                X[:, i + 1] = self.s_ref[q, r] * np.exp(self.kappa * rng.standard_normal(n))
        return X
