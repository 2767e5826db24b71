"""Finite-N stochastic versions of the fitted reduced model: the discrete-time chain with the
lag as step (scheme "step", default for the matrix estimand) and the continuous-time chain,
simulated exactly (scheme "exact", Gillespie).

State: the number n_{Q,s} of Q-neurons in each reduced state, and the total pending kicks
K_QR of every pathway used as a feature. Continuous time ("exact"), events and their
propensities:

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

Two schemes (``scheme`` of :meth:`FittedMarkovModel.chain`):

``"exact"``
    the continuous-time chain above, with the rates r_c (for the matrix estimand
    r_c = P_c(τ)/τ): the finite-N form of the ODE dx/dt = x(P(τ) − I)/τ;
``"step"``
    the discrete-time chain with the estimand's own step τ (the lag), the finite-N form of
    what the matrix estimand measures. One step from the state at its start (features φ from
    n/N and K/N, as the network's sample at the start of the step):

    - every Q-neuron in state a moves independently to b with probability P_ab = r_ab τ
      (stays with 1 − Σ_b P_ab): a multinomial draw per (Q, a), sequential binomials. A row
      with Σ_b P_ab > 1 (regression rates fitted column by column do not add up to at most 1
      outside the data, and capped log-rates can reach 10/τ) is scaled to Σ = 1; the number of
      neuron-steps in such rows is reported (``ChainRun.rows_scaled``);
    - pending kicks of pathway QR: K ← max(0, K − D + B), D ~ Poisson(K τ/τ_QR) the released
      kicks (the sum over neurons of the network's per-neuron Poisson(H τ/τ_QR), K from the
      start of the step) and B ~ Binomial(N_Q s_R, p_QR) the new kicks of the s_R spikes of R
      in this step (the sum of the network's per-neuron Binomial(s_R, p_QR)).

    This is the order of the fixed-step network (models.md §1): transitions of a step use the
    kicks pending at its start, the step's spikes are pending from the next step on. The
    deterministic limit of this scheme is the map x_{t+τ} = x_t P(τ; x_t),
    m_{t+τ} = m_t (1 − τ/τ_QR) + p_QR N_R f_R τ (:func:`iterate_map`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from simulate.activity import PopulationActivity
from simulate.validation import ParameterError

from .ode_kernels import _rates, feature_value, log_rate_cap

__all__ = ["simulate_chain", "ChainRun", "iterate_map"]


@njit(cache=True)
def _z_of_counts(z, n, K, sizes, kick_m, kick_tgt):
    """Fill the extended state z from counts: occupancy fractions n_{Q,s}/N_Q, kick means
    K_QR/N_Q (the feature entries of z that are not kick means are left as they are)."""
    n_pop, n_states = n.shape
    for q in range(n_pop):
        for s in range(n_states):
            z[q * n_states + s] = n[q, s] / sizes[q]
    for j in range(kick_m.shape[0]):
        z[kick_m[j]] = K[j] / sizes[kick_tgt[j]]


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
            _z_of_counts(z, n, K, sizes, kick_m, kick_tgt)
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


@njit(cache=True)
def _features_z(n_frac, K_frac, n_pop, n_states, n_z, kick_m):
    """Extended state z from occupancy fractions (P, S) and kick means (J,)."""
    z = np.zeros(n_z)
    for q in range(n_pop):
        for s in range(n_states):
            z[q * n_states + s] = n_frac[q, s]
    for j in range(kick_m.shape[0]):
        z[kick_m[j]] = K_frac[j]
    return z


@njit(cache=True)
def _row_probabilities(r, tau, row_ptr, row_cols, prob, scaled):
    """P_c = r_c τ for every column, each row (Q, a) scaled to Σ_b P_ab ≤ 1 (``scaled[k]``
    marks the rows that had to be)."""
    for k in range(row_ptr.shape[0] - 1):
        tot = 0.0
        for i in range(row_ptr[k], row_ptr[k + 1]):
            c = row_cols[i]
            prob[c] = r[c] * tau
            tot += prob[c]
        scaled[k] = tot > 1.0
        if tot > 1.0:
            for i in range(row_ptr[k], row_ptr[k + 1]):
                prob[row_cols[i]] /= tot


@njit(cache=True)
def _step_kernel(n0, K0, n_steps, steps_per_bin, occ_every, tau, seed, n_pop, n_states, n_z,
                 sizes, col_pop, col_from, col_to, coef, col_feat, feat_z, feat_z2, mu, sd,
                 eta0, kick_m, kick_tgt, kick_src, kick_pval, kick_tauval, row_ptr, row_cols):
    """Discrete-time chain with step τ (module docstring, scheme "step")."""
    np.random.seed(seed)  # noqa: NPY002
    n = n0.copy()
    K = K0.copy()
    C = coef.shape[0]
    J = kick_m.shape[0]
    n_bins = n_steps // steps_per_bin
    spikes = np.zeros((n_bins, n_pop), np.int64)
    n_occ = n_bins // occ_every + 1
    occ_rec = np.zeros((n_occ, n_pop, n_states), np.int64)
    prob = np.zeros(C)
    delta = np.zeros((n_pop, n_states), np.int64)
    spk = np.zeros(n_pop, np.int64)
    z = np.zeros(n_z)
    n_events = 0
    rows_scaled = 0
    scaled = np.zeros(row_ptr.shape[0] - 1, np.bool_)
    for step in range(n_steps):
        if step % (steps_per_bin * occ_every) == 0:
            occ_rec[step // (steps_per_bin * occ_every)] = n
        _z_of_counts(z, n, K, sizes, kick_m, kick_tgt)
        r = _rates(z, coef, col_feat, feat_z, feat_z2, mu, sd, eta0)
        _row_probabilities(r, tau, row_ptr, row_cols, prob, scaled)
        delta[:, :] = 0
        spk[:] = 0
        for k in range(row_ptr.shape[0] - 1):
            c0 = row_cols[row_ptr[k]]
            left = n[col_pop[c0], col_from[c0]]
            if scaled[k]:
                rows_scaled += left
            rest = 1.0
            for i in range(row_ptr[k], row_ptr[k + 1]):
                if left <= 0:
                    break
                c = row_cols[i]
                pc = prob[c]
                if pc <= 0.0:
                    continue
                frac = 1.0 if pc >= rest else pc / rest
                moved = np.random.binomial(left, frac)  # noqa: NPY002
                rest -= pc
                if moved > 0:
                    q = col_pop[c]
                    delta[q, col_from[c]] -= moved
                    delta[q, col_to[c]] += moved
                    left -= moved
                    n_events += moved
                    if col_to[c] == n_states - 1:
                        spk[q] += moved
        n += delta
        for j in range(J):
            rel = 0
            lam = K[j] * tau / kick_tauval[j]
            if lam > 0.0:
                rel = np.random.poisson(lam)  # noqa: NPY002
            add = 0
            ns = spk[kick_src[j]]
            if ns > 0:
                add = np.random.binomial(ns * sizes[kick_tgt[j]], kick_pval[j])  # noqa: NPY002
            h = K[j] + add - rel
            K[j] = h if h > 0 else 0
        b = step // steps_per_bin
        if b < n_bins:
            for q in range(n_pop):
                spikes[b, q] += spk[q]
    if n_steps % (steps_per_bin * occ_every) == 0 and n_steps // (steps_per_bin
                                                                    * occ_every) < n_occ:
        occ_rec[n_steps // (steps_per_bin * occ_every)] = n
    return spikes, occ_rec, n, K, n_events, rows_scaled


@njit(cache=True)
def _map_kernel(x0, m0, n_steps, tau, n_pop, n_states, n_z, sizes, col_pop, col_from, col_to,
                coef, col_feat, feat_z, feat_z2, mu, sd, eta0, kick_m, kick_src, kick_pval,
                kick_tauval, row_ptr, row_cols):
    """Deterministic limit of the step scheme; returns spikes per neuron per step (T, P)."""
    x = x0.copy()
    m = m0.copy()
    C = coef.shape[0]
    J = kick_m.shape[0]
    prob = np.zeros(C)
    scaled = np.zeros(row_ptr.shape[0] - 1, np.bool_)
    out = np.zeros((n_steps, n_pop))
    xn = np.zeros((n_pop, n_states))
    for step in range(n_steps):
        z = _features_z(x, m, n_pop, n_states, n_z, kick_m)
        r = _rates(z, coef, col_feat, feat_z, feat_z2, mu, sd, eta0)
        _row_probabilities(r, tau, row_ptr, row_cols, prob, scaled)
        xn[:, :] = x
        for c in range(C):
            q = col_pop[c]
            fl = x[q, col_from[c]] * prob[c]
            xn[q, col_from[c]] -= fl
            xn[q, col_to[c]] += fl
            if col_to[c] == n_states - 1:
                out[step, q] += fl
        for j in range(J):
            m[j] = m[j] * (1.0 - tau / kick_tauval[j]) \
                + kick_pval[j] * sizes[kick_src[j]] * out[step, kick_src[j]]
        x[:, :] = xn
    return out


def _rows(struct):
    """Columns grouped by origin (Q, a): pointers and column indices."""
    key = struct.col_pop * struct.n_states + struct.col_from
    order = np.argsort(key, kind="stable").astype(np.int64)
    ks = key[order]
    starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]]) if len(ks) else np.zeros(0, int)
    ptr = np.append(starts, len(ks)).astype(np.int64)
    return ptr, order


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
        Number of simulated events (scheme "step": neuron moves).
    scheme : str
        ``"exact"`` or ``"step"``.
    rows_scaled : int
        Scheme "step": number of neuron-steps spent in a row (population, state) whose
        probabilities Σ_b r_ab τ exceeded 1 and were scaled to 1 (0 for "exact").
    """

    def __init__(self, t, dt, spikes, occupancy, occ_dt, sizes, n_events, t_burn=0.0,
                 scheme="exact", rows_scaled=0):
        self.scheme = scheme
        self.rows_scaled = int(rows_scaled)
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


def _initial_counts(struct, sz, x0):
    """Integer counts n_{Q,s} (largest remainders) and kick totals K from a reduced state."""
    P, S = struct.n_pop, struct.n_states
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
    return n0, K0


def _kick_values(struct):
    pvals = np.array([struct.param_default(i) for i in struct.kick_p], float)
    tvals = np.array([struct.param_default(i) for i in struct.kick_tau], float)
    return pvals, tvals


def simulate_chain(struct, sizes, t_end, seed, x0, dt, occ_dt, t_burn, scheme="exact",
                   tau=None):
    """Run the chain of a model structure (see :meth:`FittedMarkovModel.chain`); ``tau`` is
    the step of ``scheme="step"`` (the model's lag)."""
    P, S = struct.n_pop, struct.n_states
    sz = np.array([sizes[q] for q in struct.populations], np.int64)
    n0, K0 = _initial_counts(struct, sz, x0)
    pvals, tvals = _kick_values(struct)
    every = max(1, int(round(occ_dt / dt)))
    pops = struct.populations
    if scheme == "step":
        per_bin = int(round(dt / tau))
        n_steps = int(round(t_end / tau))
        n_steps -= n_steps % per_bin
        ptr, cols = _rows(struct)
        spikes, occ, _, _, n_ev, n_sc = _step_kernel(
            n0, K0, n_steps, per_bin, every, float(tau), int(seed) % (2**32), P, S,
            struct.n_z, sz, struct.col_pop, struct.col_from, struct.col_to, struct.coef,
            struct.col_feat, struct.feat_z, struct.feat_z2, struct.mu, struct.sd, struct.eta0,
            struct.kick_m, struct.kick_tgt, struct.kick_src, pvals, tvals, ptr, cols)
    else:
        kick_dirty, occ_users = _dirty_masks(struct)
        spikes, occ, _, _, n_ev = _chain_kernel(
            n0, K0, float(t_end), float(dt), int(seed) % (2**32), P, S, struct.n_z, sz,
            struct.col_pop, struct.col_from, struct.col_to, struct.coef, struct.col_feat,
            struct.feat_z, struct.feat_z2, struct.mu, struct.sd, struct.eta0, struct.kick_m,
            struct.kick_tgt,
            struct.kick_src, pvals, tvals, every, kick_dirty, occ_users,
        )
        n_sc = 0
    t = np.arange(spikes.shape[0]) * dt
    return ChainRun(t, dt, {q: spikes[:, i] for i, q in enumerate(pops)},
                    {q: occ[:, i, :] for i, q in enumerate(pops)}, every * dt,
                    {q: int(sz[i]) for i, q in enumerate(pops)}, n_ev, t_burn,
                    "step" if scheme == "step" else "exact", n_sc)


def _dirty_masks(struct):
    """Scheme "exact": which populations' rates change with kick state j (``kick_dirty``
    (J, P)) and with the occupancies (``occ_users`` (P,)), to recompute only those."""
    P, S = struct.n_pop, struct.n_states
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
    return kick_dirty, occ_users


def iterate_map(model, n_steps, x0=None, **params):
    """Deterministic limit of the step scheme: iterate x_{t+τ} = x_t P(τ; x_t),
    m_{t+τ} = m_t (1 − τ/τ_QR) + p_QR N_R f_R τ for ``n_steps`` steps of the model's lag τ
    (rows of P scaled to Σ_b P_ab ≤ 1 as in the chain).

    Returns a :class:`simulate.activity.PopulationActivity` with the expected spikes per
    step, N_Q f_Q τ (bins of width τ).
    """
    from .model import _Structure

    struct = _Structure(model, model.coef)
    unknown = [k for k in params if k not in struct.params]
    if unknown:
        raise ParameterError(f"unknown parameters {unknown}; known: {list(struct.params)}")
    struct.params = {**struct.params, **{k: float(v) for k, v in params.items()}}
    P, S = struct.n_pop, struct.n_states
    z0 = struct.expand(model.x0() if x0 is None else np.asarray(x0, float))
    x = np.ascontiguousarray(z0[:P * S].reshape(P, S))
    m = np.array([z0[k] for k in struct.kick_m], float)
    nsz = {q: float(struct.params.get(f"n_{q.lower()}",
                                      model.ode_params.get(f"n_{q.lower()}", 1.0)))
           for q in model.populations}
    sizes = np.array([nsz[q] for q in model.populations], float)
    pvals, tvals = _kick_values(struct)
    ptr, cols = _rows(struct)
    out = _map_kernel(x, m, int(n_steps), float(model.lag), P, S, struct.n_z, sizes,
                      struct.col_pop, struct.col_from, struct.col_to, struct.coef,
                      struct.col_feat, struct.feat_z, struct.feat_z2, struct.mu, struct.sd,
                      struct.eta0, struct.kick_m, struct.kick_src, pvals, tvals, ptr, cols)
    t = np.arange(int(n_steps)) * model.lag
    return PopulationActivity(t, float(model.lag),
                              {q: out[:, i] * nsz[q] for i, q in enumerate(model.populations)},
                              nsz)
