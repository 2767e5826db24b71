"""Finite-N stochastic version of the fitted reduced model: exact simulation (Gillespie).

State: the number n_{Q,s} of Q-neurons in each reduced state, and the total pending kicks
K_QR of every pathway used as a feature. Events and their propensities:

- transition c (Q: a → b): n_{Q,a} · r_c(φ), with φ the features at the current state
  (occupancy fractions n/N_Q, kick means m_QR = K_QR / N_Q);
- release of one pending kick of pathway QR: K_QR / τ_QR;
- features: occupancy fractions, kick means and products of two of them (``A*B``); the
  log-rates are capped as in the ODE (:func:`reduce.estimation.ode_kernels.log_rate_cap`);
- a transition into R is a spike of Q; it adds Binomial(N_T, p_TQ) kicks to every pathway TQ
  (Q onto T), the finite-N form of dm/dt = −m/τ + p N f.

Between events nothing changes, so the Gillespie direct method is exact for this chain. The
spike factor κ of the matrix estimand (spikes hidden by a fast exit from R) is not represented:
each chain spike is one transition into R.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from simulate.activity import PopulationActivity

from .ode_kernels import feature_value, log_rate_cap

__all__ = ["simulate_chain", "ChainRun"]


@njit(cache=True)
def _chain_kernel(n0, K0, t_end, dt_rec, seed, n_pop, n_states, n_z, sizes, col_pop,
                  col_from, col_to, coef, col_feat, feat_z, feat_z2, mu, sd, eta0, kick_m,
                  kick_tgt,
                  kick_src, kick_pval, kick_tauval, occ_every, kick_dirty, occ_users):
    np.random.seed(seed)  # noqa: NPY002
    n = n0.copy()
    K = K0.copy()
    C = coef.shape[0]
    J = kick_m.shape[0]
    n_bins = int(np.ceil(t_end / dt_rec - 1e-9))
    spikes = np.zeros((n_bins, n_pop), np.int64)
    n_occ = n_bins // occ_every + 1
    occ_rec = np.zeros((n_occ, n_pop, n_states), np.int64)
    z = np.zeros(n_z)
    r = np.zeros(C)
    prop = np.zeros(C + J)
    dirty = np.ones(n_pop, np.bool_)
    t = 0.0
    n_events = 0
    next_occ = 0
    while True:
        any_dirty = False
        for q in range(n_pop):
            any_dirty = any_dirty or dirty[q]
        if any_dirty:
            for q in range(n_pop):
                for s in range(n_states):
                    z[q * n_states + s] = n[q, s] / sizes[q]
            for j in range(J):
                z[kick_m[j]] = K[j] / sizes[kick_tgt[j]]
            for c in range(C):
                if not dirty[col_pop[c]]:
                    continue
                eta = coef[c, 0]
                for k in range(col_feat.shape[1]):
                    g = col_feat[c, k]
                    if g >= 0:
                        eta += coef[c, k + 1] * (feature_value(z, feat_z, feat_z2, g)
                                                 - mu[g]) / sd[g]
                r[c] = np.exp(log_rate_cap(eta, eta0)[0])
            for q in range(n_pop):
                dirty[q] = False
        total = 0.0
        for c in range(C):
            a = n[col_pop[c], col_from[c]] * r[c]
            prop[c] = a
            total += a
        for j in range(J):
            a = K[j] / kick_tauval[j]
            prop[C + j] = a
            total += a
        if total <= 0.0:
            dt_ev = np.inf
        else:
            dt_ev = -np.log(1.0 - np.random.random()) / total  # noqa: NPY002
        t_new = t + dt_ev
        # record occupancies on the grid up to t_new
        while next_occ < n_occ and next_occ * occ_every * dt_rec <= min(t_new, t_end):
            occ_rec[next_occ] = n
            next_occ += 1
        if t_new >= t_end:
            break
        t = t_new
        u = np.random.random() * total  # noqa: NPY002
        acc = 0.0
        e = C + J - 1
        for i in range(C + J):
            acc += prop[i]
            if u < acc:
                e = i
                break
        n_events += 1
        if e < C:
            q = col_pop[e]
            n[q, col_from[e]] -= 1
            n[q, col_to[e]] += 1
            for qq in range(n_pop):
                if occ_users[qq]:
                    dirty[qq] = True
            if col_to[e] == n_states - 1:
                b = int(t / dt_rec)
                if b < n_bins:
                    spikes[b, q] += 1
                for j in range(J):
                    if kick_src[j] == q:
                        K[j] += np.random.binomial(sizes[kick_tgt[j]],  # noqa: NPY002
                                                   kick_pval[j])
                        for qq in range(n_pop):
                            if kick_dirty[j, qq]:
                                dirty[qq] = True
        else:
            j = e - C
            K[j] -= 1
            for qq in range(n_pop):
                if kick_dirty[j, qq]:
                    dirty[qq] = True
    return spikes, occ_rec, n, K, n_events


class ChainRun:
    """Result of one run of the finite-N chain.

    Attributes
    ----------
    t : ndarray
        Left edges of the spike-count bins (ms).
    dt : float
        Bin width (ms).
    spikes : dict[str, ndarray]
        Spikes per bin of each population (transitions into R).
    occupancy : dict[str, ndarray (T_occ, S)]
        Neurons per reduced state, sampled every ``occ_dt`` ms.
    n_events : int
        Number of simulated events.
    """

    def __init__(self, t, dt, spikes, occupancy, occ_dt, sizes, n_events, t_burn=0.0):
        self.t = t
        self.dt = float(dt)
        self.spikes = spikes
        self.occupancy = occupancy
        self.occ_dt = float(occ_dt)
        self.sizes = dict(sizes)
        self.n_events = int(n_events)
        self.t_burn = float(t_burn)

    def activity(self) -> PopulationActivity:
        """Spike counts per bin as a :class:`simulate.activity.PopulationActivity`."""
        return PopulationActivity(self.t, self.dt, dict(self.spikes), dict(self.sizes))

    @property
    def rates_hz(self) -> dict:
        """Mean rate per population over [t_burn, t_end], Hz per neuron."""
        return self.activity().mean_rates_hz(self.t_burn)


def simulate_chain(struct, sizes, t_end, seed, x0, dt, occ_dt, t_burn):
    """Run the chain of a model structure (see :meth:`FittedMarkovModel.chain`)."""
    P, S = struct.n_pop, struct.n_states
    sz = np.array([sizes[q] for q in struct.populations], np.int64)
    z0 = struct.expand(x0)
    n0 = np.zeros((P, S), np.int64)
    for q in range(P):
        frac = np.clip(z0[q * S:(q + 1) * S], 0.0, None)
        frac = frac / frac.sum()
        raw = frac * sz[q]
        base = np.floor(raw).astype(np.int64)
        rem = sz[q] - base.sum()
        order = np.argsort(-(raw - base))
        base[order[:rem]] += 1
        n0[q] = base
    K0 = np.array([int(round(max(z0[m], 0.0) * sz[t]))
                   for m, t in zip(struct.kick_m, struct.kick_tgt)], np.int64)
    pvals = np.array([struct.param_default(i) for i in struct.kick_p], float)
    tvals = np.array([struct.param_default(i) for i in struct.kick_tau], float)
    every = max(1, int(round(occ_dt / dt)))
    G = len(struct.mu)
    uses = np.zeros((max(G, 1), P), np.bool_)          # feature g enters rates of pop q
    for c in range(len(struct.col_pop)):
        for g in struct.col_feat[c]:
            if g >= 0:
                uses[g, struct.col_pop[c]] = True
    J = len(struct.kick_m)
    kick_dirty = np.zeros((J, P), np.bool_)             # kick state j changes rates of pop q
    occ_users = np.zeros(P, np.bool_)                   # occupancies change rates of pop q
    for g in range(G):
        zs = [struct.feat_z[g]] + ([struct.feat_z2[g]] if struct.feat_z2[g] >= 0 else [])
        for zi in zs:
            if zi < P * S:
                occ_users |= uses[g]
            for j in range(J):
                if struct.kick_m[j] == zi:
                    kick_dirty[j] |= uses[g]
    spikes, occ, _, _, n_ev = _chain_kernel(
        n0, K0, float(t_end), float(dt), int(seed) % (2**32), P, S, struct.n_z, sz,
        struct.col_pop, struct.col_from, struct.col_to, struct.coef, struct.col_feat,
        struct.feat_z, struct.feat_z2, struct.mu, struct.sd, struct.eta0, struct.kick_m,
        struct.kick_tgt,
        struct.kick_src, pvals, tvals, every, kick_dirty, occ_users,
    )
    nb = spikes.shape[0]
    t = np.arange(nb) * dt
    pops = struct.populations
    return ChainRun(t, dt, {q: spikes[:, i] for i, q in enumerate(pops)},
                    {q: occ[:, i, :] for i, q in enumerate(pops)}, every * dt,
                    {q: int(sz[i]) for i, q in enumerate(pops)}, n_ev, t_burn)
