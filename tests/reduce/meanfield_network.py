"""Conductance-based network vs its mean-field theory at one (K, scaling) point.

Shared by the slow test ``test_meanfield_network_scalings_slow.py`` and the table of
``benchmarks/meanfield_compare.py cond`` (docs/meanfield.md), so both use the same runs.

Simulation: ``simulate.ConductanceLIFNetwork(K, a, nu_x=20, c)`` (N = cK per population,
models.md §4; c = 10, the paper's connection probability 0.1), one run, statistics over
[t_burn, t_end]: the rate is the mean over all neurons, its standard error from batch means
over ``n_blocks`` time blocks; the CV is the mean ISI CV over neurons with ≥ 3 spikes, its
standard error std/√n across neurons.

Theory (``reduce.meanfield.conductance.ConductanceTheory``): the self-consistent rate and
CV, additive (published) and multiplicative noise; and the open-loop transfer Φ(ν_sim): the
single neuron driven at the network's measured rates (r_E = ν_X + ν_sim, r_I = ν_sim), which
separates an error of the transfer function from its amplification 1/(1 − Φ′) by the
self-consistency.
"""

from __future__ import annotations

import numpy as np

import simulate
from reduce.meanfield.conductance import ConductanceTheory
from simulate.spike_stats import isi_cv, rate_distribution

NU_X = 20.0
A0, K0 = 0.01, 100.0


def coupling(K, scaling):
    """a(K) of the scaling rule anchored at a(100) = 0.01."""
    return float(ConductanceTheory.coupling(np.array([float(K)]), scaling, A0, K0)[0])


def block_rate(traj, t0, t1, nb=5):
    """Mean rate over all neurons (Hz) in [t0, t1] and its standard error from batch means
    over ``nb`` equal time blocks."""
    edges = np.linspace(t0, t1, nb + 1)
    r = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        rd = rate_distribution(traj, lo, hi)
        r.append(np.mean(np.concatenate([rd[q] for q in rd])))
    r = np.array(r)
    return float(r.mean()), float(r.std(ddof=1) / np.sqrt(nb))


def simulate_point(K, scaling, c=10.0, t_end=1200.0, t_burn=200.0, seed=1, n_blocks=5):
    a = coupling(K, scaling)
    net = simulate.ConductanceLIFNetwork(K=K, a=a, nu_x=NU_X, c=c)
    traj = net.run(t_end=t_end, seed=seed, progress=False, record_spikes=True, record_dt=10.0)
    rate, rate_se = block_rate(traj, t_burn, t_end, n_blocks)
    cv = isi_cv(traj, t_burn, t_end)
    cv = np.concatenate([cv[q] for q in cv])
    cv = cv[np.isfinite(cv)]
    return {"K": K, "scaling": scaling, "a": a, "c": c, "rate_hz": rate, "rate_se": rate_se,
            "cv": float(cv.mean()), "cv_se": float(cv.std(ddof=1) / np.sqrt(cv.size)),
            "n_cv": int(cv.size), "t_end": t_end, "t_burn": t_burn, "seed": seed}


def theory_point(K, scaling, nu_sim=None):
    """Self-consistent (and, given ``nu_sim``, open-loop) rate and CV, additive and
    multiplicative noise."""
    a = coupling(K, scaling)
    out = {}
    for noise in ("additive", "multiplicative"):
        th = ConductanceTheory(K=K, a=a, nu_x=NU_X, noise=noise)
        fp = th.self_consistent()
        i = fp.selected_index()
        out[noise] = {"rate_hz": float(fp.rates_hz[i]), "cv": float(fp.extra["cv"][i]),
                      "n_solutions": int(len(fp.rates_hz))}
        if nu_sim is not None:
            s = th.single_neuron(NU_X + nu_sim, nu_sim)
            out[noise]["open_loop_rate_hz"] = float(s["rate_hz"])
            out[noise]["open_loop_cv"] = float(s["cv"])
    return out


def bracket(x, y1, y2):
    """Distance of x outside the interval spanned by y1 and y2 (0 inside; signed: < 0 below)."""
    lo, hi = min(y1, y2), max(y1, y2)
    return x - lo if x < lo else (x - hi if x > hi else 0.0)
