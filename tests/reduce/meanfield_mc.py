"""Independent Monte-Carlo of one conductance-based LIF neuron with fixed Poisson input rates
(models.md §4), used to check the diffusion theory.

Event-driven and exact: between inputs the leak is solved exactly, V → E_L + (V − E_L)e^{−Δt/τ_L};
an input of strength a moves V exactly to E_A + (V − E_A)e^{−a} (g·a and E_I for inhibition);
the pooled excitatory inputs are Poisson of rate K·r_E, the inhibitory ones of rate γK·r_I.
V ≥ θ (only possible right after an excitatory input) is a spike; V is reset to V_r and the
neuron ignores inputs for τ_rp (memorylessness of the Poisson inputs makes "skip τ_rp" exact).
"""

# ruff: noqa: NPY002  -- numba supports only the legacy np.random API in njit code
from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def _run(seed, t_end, rate_e, rate_i, a_e, a_i, tau_l, e_l, e_e, e_i, theta, v_r, tau_rp,
         nblocks, isi_out):
    np.random.seed(seed)
    fe = math.exp(-a_e)
    fi = math.exp(-a_i)
    R = rate_e + rate_i
    pe = rate_e / R
    t = 0.0
    v = v_r
    last = -1.0
    nisi = 0
    counts = np.zeros(nblocks, np.int64)
    tb = t_end / nblocks
    while True:
        dt = -math.log(1.0 - np.random.random()) / R
        t += dt
        if t >= t_end:
            break
        v = e_l + (v - e_l) * math.exp(-dt / tau_l)
        if np.random.random() < pe:
            v = e_e + (v - e_e) * fe
            if v >= theta:
                b = int(t / tb)
                counts[b] += 1
                if last >= 0.0 and nisi < isi_out.size:
                    isi_out[nisi] = t - last
                    nisi += 1
                last = t
                v = v_r
                t += tau_rp
        else:
            v = e_i + (v - e_i) * fi
    return counts, nisi


def simulate_neuron(K, a, r_e_hz, r_i_hz, t_end_ms, seed=0, g=20.0, gamma=0.25, tau_l=20.0,
                    e_l=-80.0, e_e=0.0, e_i=-75.0, theta=-55.0, v_r=-65.0, tau_rp=2.0,
                    nblocks=20, max_isi=2_000_000):
    """Rate (Hz) with its batch-means standard error, and CV with a block standard error."""
    isi = np.empty(max_isi)
    counts, n = _run(seed, t_end_ms, K * r_e_hz / 1000.0, gamma * K * r_i_hz / 1000.0, a,
                     g * a, tau_l, e_l, e_e, e_i, theta, v_r, tau_rp, nblocks, isi)
    tb = t_end_ms / nblocks / 1000.0
    block_rates = counts / tb
    rate = block_rates.mean()
    rate_se = block_rates.std(ddof=1) / math.sqrt(nblocks)
    isi = isi[:n]
    if n >= 2 * nblocks:
        cvs = np.array([c.std() / c.mean() for c in np.array_split(isi, nblocks)])
        cv, cv_se = isi.std() / isi.mean(), cvs.std(ddof=1) / math.sqrt(nblocks)
    else:
        cv, cv_se = float("nan"), float("nan")
    return {"rate_hz": rate, "rate_se": rate_se, "cv": cv, "cv_se": cv_se,
            "n_spikes": int(counts.sum())}
