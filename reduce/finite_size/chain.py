"""Density-dependent population chains: N neurons hopping between K coarse states.

Each of N neurons is in one of K states; a neuron in state i jumps to state j at the
per-neuron rate W_ij(x), where x = n/N are the population fractions. This is the finite-N
object behind the coarse-grained reductions (bins, base/gate states, refractory), and the
chain has three views that share the same rate function:

- exact stochastic simulation (Gillespie's direct method) of the counts n;
- the master equation on all compositions of N into K parts (small N), a sparse generator Q,
  for exact transient and stationary distributions;
- the large-N limit (Kurtz): the mean-field ODE
      dx_j/dt = Σ_i x_i W_ij(x) − x_j Σ_k W_jk(x),
  and the linear-noise diffusion matrix
      D(x) = Σ_{i≠j} x_i W_ij(x) (e_j − e_i)(e_j − e_i)ᵀ
  (fluctuations of x are of order N^(−1/2), covariance Σ/N with Σ from
  :func:`reduce.finite_size.lna.stationary_covariance`).

The ODE and LNA use reduced coordinates: x_K = 1 − Σ_{i<K} x_i is removed (conservation), so
equilibria are isolated.

Examples
--------
>>> import numpy as np
>>> def W(x):
...     return np.array([[0.0, 1.0], [2.0, 0.0]])    # two states, constant rates
>>> chain = PopulationChain(W, n_states=2, N=10)
>>> chain.drift(np.array([2/3, 1/3]))
array([0., 0.])
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from bifurcation.system import ODESystem
from simulate.validation import ParameterError, check_number, check_positive_int

__all__ = ["PopulationChain", "ChainPath"]


@dataclass
class ChainPath:
    """A sampled path of a population chain: counts recorded on a regular grid.

    Attributes
    ----------
    t : ndarray (T,)
    counts : ndarray (T, K) int
    n_events : int
        Number of jumps simulated.
    """

    t: np.ndarray
    counts: np.ndarray
    n_events: int


class PopulationChain:
    """N neurons among K states with per-neuron rates W(x), x = n/N.

    Parameters
    ----------
    rates : callable
        ``rates(x) -> ndarray (K, K)``: per-neuron jump rates (off-diagonal used; the diagonal
        is ignored), as functions of the fractions x (shape (K,)).
    n_states : int
        K.
    N : int
        Number of neurons.
    state_names : list of str, optional
    """

    def __init__(self, rates, n_states: int, N: int, state_names=None):
        self.rates = rates
        self.K = check_positive_int("n_states", n_states, 2)
        self.N = check_positive_int("N", N, 1)
        self.state_names = list(state_names or [f"s{i}" for i in range(self.K)])

    # ------------------------------------------------------------------ rates
    def _W(self, x):
        W = np.array(self.rates(np.asarray(x, float)), dtype=float)
        if W.shape != (self.K, self.K):
            raise ParameterError(f"rates(x) returned shape {W.shape}; expected {(self.K,) * 2}")
        np.fill_diagonal(W, 0.0)
        if np.any(W < 0) or not np.all(np.isfinite(W)):
            raise ParameterError("rates(x) returned negative or non-finite rates")
        return W

    def drift(self, x) -> np.ndarray:
        """dx/dt of the large-N limit (full coordinates)."""
        x = np.asarray(x, float)
        W = self._W(x)
        return x @ W - x * W.sum(axis=1)

    def diffusion(self, x) -> np.ndarray:
        """Linear-noise diffusion matrix D(x) (full coordinates, K x K)."""
        x = np.asarray(x, float)
        W = self._W(x)
        flux = x[:, None] * W
        D = -(flux + flux.T)
        np.fill_diagonal(D, flux.sum(axis=1) + flux.sum(axis=0))
        return D

    # ------------------------------------------------------------------ reduced coordinates
    def full(self, y) -> np.ndarray:
        """Full fractions from reduced coordinates y = x[:-1]."""
        y = np.asarray(y, float)
        return np.concatenate([y, [1.0 - y.sum()]])

    def ode(self) -> ODESystem:
        """The mean-field ODE in reduced coordinates (K − 1 states) as an :class:`ODESystem`."""

        def rhs(y, p):
            return self.drift(self.full(y))[:-1]

        return ODESystem(rhs, self.K - 1, {}, state_names=self.state_names[:-1],
                         name="population-chain mean field")

    def reduced_diffusion(self, y) -> np.ndarray:
        """D in reduced coordinates (drop the last row and column)."""
        return self.diffusion(self.full(y))[:-1, :-1]

    # ------------------------------------------------------------------ exact simulation
    def simulate(self, n0, t_end: float, dt_record: float, seed: int = 0,
                 max_events: int = 50_000_000) -> ChainPath:
        """Gillespie's direct method from counts ``n0``; counts recorded every ``dt_record``.

        The recorded value at time t is the state just after the last jump before t.
        """
        n = np.array(n0, dtype=np.int64)
        if n.shape != (self.K,) or n.sum() != self.N or np.any(n < 0):
            raise ParameterError(f"n0 must be {self.K} non-negative counts summing to N={self.N}")
        check_number("t_end", t_end, 0.0, None, lo_open=True)
        check_number("dt_record", dt_record, 0.0, t_end, lo_open=True)
        rng = np.random.default_rng(seed)
        grid = np.arange(0.0, t_end + 1e-12, dt_record)
        out = np.empty((len(grid), self.K), np.int64)
        t, k, events = 0.0, 0, 0
        while k < len(grid):
            W = self._W(n / self.N)
            prop = n[:, None] * W
            total = prop.sum()
            t_next = np.inf if total <= 0 else t + rng.exponential(1.0 / total)
            while k < len(grid) and grid[k] < t_next:
                out[k] = n
                k += 1
            if k >= len(grid):
                break
            flat = np.cumsum(prop.ravel())
            idx = int(np.searchsorted(flat, rng.random() * flat[-1], side="right"))
            i, j = divmod(min(idx, flat.size - 1), self.K)
            n[i] -= 1
            n[j] += 1
            t = t_next
            events += 1
            if events > max_events:
                raise ParameterError(f"more than max_events = {max_events} jumps; shorten t_end")
        return ChainPath(grid, out, events)

    # ------------------------------------------------------------------ master equation
    def compositions(self) -> np.ndarray:
        """All count vectors (n_1..n_K) with Σ n = N, shape (S, K)."""
        out = []
        for cut in itertools.combinations(range(self.N + self.K - 1), self.K - 1):
            prev, comp = -1, []
            for c in cut:
                comp.append(c - prev - 1)
                prev = c
            comp.append(self.N + self.K - 1 - prev - 1)
            out.append(comp)
        return np.array(out, dtype=np.int64)

    def generator(self, max_states: int = 2_000_000):
        """Sparse generator Q (S x S) of the master equation and the compositions it indexes."""
        from math import comb

        S = comb(self.N + self.K - 1, self.K - 1)
        if S > max_states:
            raise ParameterError(
                f"the master equation has {S} states for N={self.N}, K={self.K}; at most "
                f"max_states = {max_states}: use the stochastic simulation or the LNA"
            )
        comps = self.compositions()
        index = {tuple(c): s for s, c in enumerate(comps)}
        rows, cols, vals = [], [], []
        for s, c in enumerate(comps):
            W = self._W(c / self.N)
            for i in range(self.K):
                if c[i] == 0:
                    continue
                for j in range(self.K):
                    if i == j or W[i, j] == 0:
                        continue
                    d = c.copy()
                    d[i] -= 1
                    d[j] += 1
                    rows.append(s)
                    cols.append(index[tuple(d)])
                    vals.append(c[i] * W[i, j])
        Q = sp.csr_matrix((vals, (rows, cols)), shape=(S, S))
        Q = Q - sp.diags(np.asarray(Q.sum(axis=1)).ravel())
        return Q.tocsr(), comps

    def stationary_distribution(self):
        """Stationary distribution π (πQ = 0, Σπ = 1) and the compositions."""
        import scipy.sparse.linalg as spla

        Q, comps = self.generator()
        S = Q.shape[0]
        A = Q.T.tolil()
        A[0, :] = 1.0
        b = np.zeros(S)
        b[0] = 1.0
        pi = spla.spsolve(A.tocsc(), b)
        pi = np.clip(pi, 0.0, None)
        return pi / pi.sum(), comps

    def transient_distribution(self, n0, t: float):
        """Distribution of the counts at time t from the point mass at ``n0``."""
        from scipy.sparse.linalg import expm_multiply

        Q, comps = self.generator()
        p0 = np.zeros(Q.shape[0])
        match = np.flatnonzero(np.all(comps == np.asarray(n0), axis=1))
        if len(match) != 1:
            raise ParameterError(f"n0 = {list(n0)} is not a composition of N = {self.N}")
        p0[match[0]] = 1.0
        return expm_multiply(Q.T * t, p0), comps
