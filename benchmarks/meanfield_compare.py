"""Mean-field theories vs simulations: the numbers of docs/meanfield.md.

Usage (each prints one table; minutes each on the shared machine)::

    NUMBA_CACHE_DIR=/tmp/numba_cache python benchmarks/meanfield_compare.py single
    ... meanfield_compare.py cond        # conductance network, three scalings, K = 100..1000
    ... meanfield_compare.py brunel      # Brunel (g=6, eta=4: SI fast, Fig. 8B) and
                                         # (g=5, eta=2: AI in Fig. 8C; oscillates here)
    ... meanfield_compare.py brunel-ai   # (5, 2) at N_E = 1e4 and 4e4; white-noise neuron
    ... meanfield_compare.py hybrid      # hybrid variances/means vs n
    ... meanfield_compare.py hetero      # in-degree heterogeneity
    ... meanfield_compare.py markov-if   # diffusion baseline vs the Markov IF network
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

import simulate
from reduce.meanfield.brunel import BrunelTheory
from reduce.meanfield.conductance import ConductanceTheory
from reduce.meanfield.hydrodynamic import HybridHydrodynamic
from reduce.meanfield.markov_if_diffusion import MarkovIFDiffusion
from simulate.spike_stats import isi_cv, rate_distribution

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "reduce"))
from meanfield_network import block_rate as blocks  # noqa: E402


def mean_cv(traj, t0, t1):
    cv = isi_cv(traj, t0, t1)
    return float(np.nanmean(np.concatenate([cv[q] for q in cv])))


def single():
    from meanfield_mc import simulate_neuron

    th = ConductanceTheory()
    thm = ConductanceTheory(noise="multiplicative")
    re = ri = 100.0
    a0 = th.a_for_rate(1e3, 10.0, re, ri)
    rows = [(sc, K, float(th.coupling(np.array([K]), sc, a0, 1e3)[0]), re, ri)
            for sc in ("log", "sqrt", "const") for K in (1e2, 1e3, 1e4)]
    rows += [("a(K)", K, th.a_for_rate(K, 10.0, re, ri), re, ri) for K in (1e2, 1e3, 1e4)]
    rows += [("mean-driven", K, a, 20.0, 5.0) for K, a in ((1e3, 2e-3), (1e4, 6e-4), (1e5, 2e-4))]
    for sc, K, a, r_e, r_i in rows:
        s = simulate_neuron(K, a, r_e, r_i, 20000.0, seed=1 if r_e == 100 else 2)
        T = th.single_neuron(r_e, r_i, K=K, a=a)
        M = thm.single_neuron(r_e, r_i, K=K, a=a)
        print(f"| {sc} | {int(K)} | {a:.5f} | {s['rate_hz']:.4g} ± {s['rate_se']:.2g} | "
              f"{s['cv']:.3f} ± {s['cv_se']:.3f} | {T['rate_hz']:.4g} | {T['cv']:.3f} | "
              f"{M['rate_hz']:.4g} | {M['cv']:.3f} |", flush=True)


def cond():
    """Rate and CV of the network (c = 10 at every K) vs the self-consistent theory (additive
    and multiplicative) and the open-loop transfer at the measured rate; the same runs as
    tests/reduce/test_meanfield_network_scalings_slow.py."""
    from meanfield_network import simulate_point, theory_point

    print("| K | scaling | a | sim rate (Hz) | sim CV | additive rate (CV) | multiplicative "
          "rate (CV) | open loop Φ(ν_sim): additive, multiplicative | CPU |")
    print("|---|---|---|---|---|---|---|---|---|")
    for K, sc, t_end, t_burn in [(100, "const", 1200.0, 200.0), (300, "const", 1200.0, 200.0),
                                 (300, "sqrt", 1200.0, 200.0), (300, "log", 1200.0, 200.0),
                                 (1000, "const", 400.0, 100.0), (1000, "sqrt", 400.0, 100.0),
                                 (1000, "log", 400.0, 100.0)]:
        c0 = time.process_time()
        s = simulate_point(K, sc, c=10.0, t_end=t_end, t_burn=t_burn, seed=1)
        T = theory_point(K, sc, nu_sim=s["rate_hz"])
        A, M = T["additive"], T["multiplicative"]
        print(f"| {K} | {sc} | {s['a']:.5f} | {s['rate_hz']:.1f} ± {s['rate_se']:.1f} | "
              f"{s['cv']:.3f} ± {s['cv_se']:.3f} | {A['rate_hz']:.1f} ({A['cv']:.3f}) | "
              f"{M['rate_hz']:.1f} ({M['cv']:.3f}) | {A['open_loop_rate_hz']:.1f} "
              f"({A['open_loop_cv']:.3f}), {M['open_loop_rate_hz']:.1f} "
              f"({M['open_loop_cv']:.3f}) | {time.process_time() - c0:.0f} s |", flush=True)


def brunel():
    for g, eta in [(6.0, 4.0), (5.0, 2.0)]:
        traj = simulate.CurrentLIFNetwork(g=g, eta=eta).run(t_end=1000.0, seed=1,
                                                            progress=False, record_spikes=True)
        m, se = blocks(traj, 200.0, 1000.0)
        fp = BrunelTheory(g=g, eta=eta).self_consistent()
        print(f"g={g} eta={eta}: sim {m:.2f} ± {se:.2f} Hz, CV {mean_cv(traj, 200, 1000):.3f}; "
              f"theory {fp.rates_hz[0]:.2f} Hz, CV {fp.extra['cv'][0]:.3f}", flush=True)


def brunel_ai():
    """(g, η) = (5, 2): the network at N_E = 10⁴ and 4·10⁴ (same C_E; finite-size scaling of
    the population fluctuations) and a single LIF neuron driven by Gaussian white noise with
    the network's μ and σ (Euler–Maruyama, dt = 0.01 ms): is the Siegert CV right for its
    assumptions, and does the network's CV differ from it?"""
    from simulate.spike_stats import population_oscillation, summary_stats

    th = BrunelTheory(g=5.0, eta=2.0)
    fp = th.self_consistent()
    nu = fp.rates_hz[0] / 1000.0
    J, C, tau, g, gam, ne = 0.1, 1000, 20.0, 5.0, 0.25, 0.02
    mu = C * J * tau * (ne + nu * (1 - g * gam))
    sig = np.sqrt(J * J * C * tau * (ne + nu * (1 + g * g * gam)))
    print(f"theory: {fp.rates_hz[0]:.2f} Hz, CV {fp.extra['cv'][0]:.3f}; mu {mu:.2f} mV, "
          f"sigma {sig:.2f} mV")
    for n_e, t_end in ((10000, 600.0), (40000, 600.0)):
        traj = simulate.CurrentLIFNetwork(n_e=n_e, conn_seed=0).run(
            t_end=t_end, seed=10, progress=False, record_dt=10.0)
        st = summary_stats(traj, 200.0, t_end, min_spikes=5)
        osc = population_oscillation(traj, "E", 200.0, t_end)
        print(f"N_E = {n_e}: rate {st['E']['rate_mean_hz']:.2f} Hz, CV {st['E']['cv_mean']:.3f},"
              f" modulation {osc['rel_modulation']:.3f}, F_pop {osc['fano']:.1f}, peak "
              f"{osc['peak_hz']:.0f} Hz", flush=True)
    rng = np.random.default_rng(0)
    n, dt, t_end, t_burn = 2000, 0.01, 3000.0, 500.0
    v = rng.uniform(10.0, 20.0, n)
    ref = np.zeros(n)
    last = np.full(n, np.nan)
    s1, s2, m = np.zeros(n), np.zeros(n), np.zeros(n)
    for k in range(int(t_end / dt)):
        t = k * dt
        act = ref <= 0
        v[act] += (dt * (mu - v[act]) / tau
                   + sig * np.sqrt(dt / tau) * rng.standard_normal(int(act.sum())))
        ref -= dt
        idx = np.flatnonzero(act & (v >= 20.0))
        if idx.size and t > t_burn:
            ok = ~np.isnan(last[idx])
            d, j = t - last[idx][ok], idx[ok]
            s1[j] += d
            s2[j] += d * d
            m[j] += 1
        last[idx] = t
        v[idx] = 10.0
        ref[idx] = 2.0
    mean = s1 / m
    cv = np.sqrt(s2 / m - mean**2) / mean
    print(f"white-noise neuron: rate {1000 / np.nanmean(mean):.2f} Hz, CV {np.nanmean(cv):.3f}")


def hybrid():
    eq = HybridHydrodynamic().equilibrium()
    print("theory", eq["x"], eq["rates_hz"])
    for n in [100, 200, 400, 800, 1600]:
        vs, ms, rs = [], [], []
        for seed in range(4):
            tr = simulate.BalancedHybridNetwork(n=n).run(t_end=400.0, seed=seed, progress=False)
            ts = np.asarray(tr["samples/t"])
            w = ts >= 100.0
            vs.append([np.mean(np.asarray(tr[f"samples/x_var/{q}"])[w]) for q in "EI"])
            ms.append([np.mean(np.asarray(tr[f"samples/x_mean/{q}"])[w]) for q in "EI"])
            rs.append([tr.rates_hz[q] for q in "EI"])
        vs, ms, rs = map(np.array, (vs, ms, rs))
        print(n, "v", vs.mean(0), vs.std(0, ddof=1) / 2, "mu", ms.mean(0),
              ms.std(0, ddof=1) / 2, "rates", rs.mean(0), flush=True)


def hetero():
    th = ConductanceTheory(K=100, a=0.01, nu_x=20.0)
    for cv in [0.1, 0.2]:
        tr = simulate.ConductanceLIFNetwork(K=100, a=0.01, nu_x=20.0, cv_k=cv).run(
            t_end=1200.0, seed=1, progress=False, record_spikes=True)
        rd = rate_distribution(tr, 200.0, 1200.0)
        r = np.concatenate([rd[q] for q in rd])
        h = th.heterogeneous(cv, n_nodes=16, indegree="independent")
        print(f"cv_k={cv}: sim mean {r.mean():.1f}, std {np.sqrt(r.var() - r.mean()):.1f} "
              f"(counting noise removed); theory {h['mean_rate_hz']:.1f}, "
              f"std {h['rate_std_hz']:.1f}", flush=True)


def markov_if():
    for pei in [0.5, 0.6, 0.7, 0.8, 0.9]:
        r = np.array([[simulate.MarkovIFNetwork(p_ei=pei).run(t_end=2200.0, seed=s).rates_hz[q]
                       for q in "EI"] for s in range(2)])
        eq = MarkovIFDiffusion(p_ei=pei).equilibrium()
        print(f"p_ei={pei}: sim E {r[:, 0].mean():.2f} I {r[:, 1].mean():.2f}; baseline "
              f"{eq['rates_hz']['E']:.2f} {eq['rates_hz']['I']:.2f} stable={eq['stable']}",
              flush=True)


if __name__ == "__main__":
    {"single": single, "cond": cond, "brunel": brunel, "brunel-ai": brunel_ai,
     "hybrid": hybrid, "hetero": hetero, "markov-if": markov_if}[sys.argv[1]]()
