"""Slow, plain reference of the fixed-step and tau-leap schemes (NumPy, no numba).

Written to be read, not to be fast: one Python loop over steps, NumPy vector operations over
neurons, NumPy's ``Generator`` (PCG64) for every random draw — an independent random stream
and independent samplers from the numba kernels. The step follows the order documented in
:mod:`simulate.markov_if.kernels_fixed` and :mod:`simulate.markov_if.kernels_tauleap`:

fixed-step
    (1) refractory neurons leave with probability 1 − e^{−Δt/τ_R}, re-enter at V = 0;
    (2) the others: V += Normal(λΔt, λΔt) + Σ_exc S·H·Δt/τ − Σ_inh S·g(V)·H·Δt/τ (− V·Δt/τ_m),
    clamp at −M_r, spike if V > M;
    (3) H ← max(0, H + Binomial(n_r, p) − Poisson(H·Δt/τ)).
tau-leap
    (1) as above; (2) releases Binomial(H, 1 − e^{−Δt/τ}) from every neuron (lost if
    refractory); non-refractory neurons: leak factor, I jumps (closed form of repeated
    V ← V − S·g(V)), then V += Poisson(λΔt) + Σ_exc S·released, spike if V ≥ M;
    (3) H += Binomial(n_r, p).

Only "redraw" connectivity. Returns plain arrays (no Trajectory): spike counts per population
per step, and at every ``record_steps`` steps the voltage histogram, refractory counts and
across-neuron mean/variance (ddof = 0) of the pending kicks.
"""

from __future__ import annotations

import numpy as np

__all__ = ["simulate_reference"]


def simulate_reference(spec, method: str, n_steps: int, seed: int, record_steps: int = 10,
                       edges=None):
    """Run the reference scheme ``method`` ("fixed-step" or "tau-leap") for ``n_steps``.

    Returns
    -------
    dict
        ``counts`` (n_steps, P) spikes per step and population; ``t_samples`` (T,) ms;
        ``hist`` (T, P, n_bins); ``refractory`` (T, P); ``kick_mean``, ``kick_var``
        (T, P, P) indexed [target, source].
    """
    if method not in ("fixed-step", "tau-leap"):
        raise ValueError(f"method = {method!r}: the reference has 'fixed-step', 'tau-leap'")
    rng = np.random.default_rng(seed)
    P, N = spec.n_pop, spec.n_neurons
    dt, M, M_r = spec.dt, spec.M, spec.M_r
    pop = np.repeat(np.arange(P), spec.sizes)
    if edges is None:
        from .engine import default_hist_edges
        edges = default_hist_edges(M, M_r)
    edges = np.asarray(edges, float)
    V = rng.uniform(0.0, M, N)
    ref = np.zeros(N, bool)
    H = np.zeros((P, N), np.int64)                 # H[r, i]: kicks from r onto neuron i
    lam = spec.lam[pop]
    tau_i = spec.tau[pop, :].T                       # (P, N): tau[pop i, r]
    S_i = spec.S[pop, :].T
    p_i = spec.p[pop, :].T
    exc = spec.excitatory
    p_exit = 1.0 - np.exp(-dt / spec.tau_r)
    counts = np.zeros((n_steps, P), np.int64)
    samples = {"t": [], "hist": [], "refractory": [], "kick_mean": [], "kick_var": []}

    def record(t):
        samples["t"].append(t)
        h = np.zeros((P, len(edges) - 1), np.int64)
        for q in range(P):
            v = V[(pop == q) & ~ref]
            k = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, len(edges) - 2)
            h[q] = np.bincount(k, minlength=len(edges) - 1)
        samples["hist"].append(h)
        samples["refractory"].append(np.array([np.sum(ref & (pop == q)) for q in range(P)]))
        km = np.array([[H[r, pop == q].mean() for r in range(P)] for q in range(P)])
        kv = np.array([[H[r, pop == q].var() for r in range(P)] for q in range(P)])
        samples["kick_mean"].append(km)
        samples["kick_var"].append(kv)

    record(0.0)
    for k in range(n_steps):
        was_ref = ref.copy()
        leave = was_ref & (rng.random(N) < p_exit)
        active = ~was_ref
        if method == "fixed-step":
            g = (V + M_r) / (M + M_r)
            dv = rng.normal(lam * dt, np.sqrt(lam * dt))
            for r in range(P):
                drift = S_i[r] * H[r] * dt / tau_i[r]
                dv += drift if exc[r] else -g * drift
            if spec.tau_m > 0:
                dv -= V * dt / spec.tau_m
            Vn = np.maximum(V + dv, -M_r)
            spike = active & (Vn > M)
            V = np.where(active, Vn, V)
            released = rng.poisson(H * dt / tau_i)
        else:
            released = rng.binomial(H, 1.0 - np.exp(-dt / tau_i))
            H = H - released
            Vn = V.copy()
            if spec.tau_m > 0:
                Vn *= np.exp(-dt / spec.tau_m)
            for r in range(P):
                if not exc[r]:
                    Vn = -M_r + (Vn + M_r) * (1.0 - S_i[r] / (M + M_r)) ** released[r]
            Vn += rng.poisson(lam * dt)
            for r in range(P):
                if exc[r]:
                    Vn += S_i[r] * released[r]
            Vn = np.maximum(Vn, -M_r)
            spike = active & (Vn >= M)
            V = np.where(active, Vn, V)
        V[spike] = 0.0
        ref = (was_ref & ~leave) | spike
        V[leave] = 0.0
        n_r = np.array([np.sum(spike & (pop == r)) for r in range(P)])
        counts[k] = n_r
        new = np.stack([rng.binomial(n_r[r], p_i[r]) for r in range(P)])
        if method == "fixed-step":
            H = np.maximum(H + new - released, 0)
        else:
            H = H + new
        if (k + 1) % record_steps == 0:
            record((k + 1) * dt)
    out = {"counts": counts, "t_samples": np.array(samples["t"])}
    for key in ("hist", "refractory", "kick_mean", "kick_var"):
        out[key] = np.array(samples[key])
    return out
