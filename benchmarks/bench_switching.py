"""Switching benchmarks (issue 10): rate estimation speed, and reduced-chain dwell times vs N.

``rates``: switching rates from 10⁶ chain events (a two-state Markov jump process sampled on
a grid with noisy features → core-set states → dwell times → exact-interval rates), target
≤ 10 s. ``chain-dwell``: the finite-N Markov approximation chain
(:class:`reduce.finite_size.FiniteMAChain`, multinomial tau-leap at Δt = h) of the
two-assembly switching set at n_e per assembly 120/150/200, run in chunks that continue from
the previous chunk's final state until every state has ``--min-visits`` complete visits (or
``--t-max`` ms), analysed exactly like the network (``snnreduce switching`` defaults: 50-ms
box smoothing, 10-ms steps, core sets 0.5, t_burn 200 ms).

Run::

    python benchmarks/bench_switching.py rates [--events 1000000]
    python benchmarks/bench_switching.py chain-dwell --n-e 120 [--t-max 600000]
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

#: the switching set of docs/attractors_and_switching.md (n_e per assembly enters separately)
SWITCHING_SET = {"topology": "two-assembly", "n_e_ref": 150, "n_i_ref": 100,
                 "size_scaling": "S", "s_ee": 1.72, "s_ee_x": 0.28, "p_ee_x": 0.8, "lam": 7.0}
#: the network's pooled mean dwell, ms, per n_e (docs/attractors_and_switching.md)
NETWORK_DWELL_MS = {120: 211.0, 150: 300.0, 200: 514.0}


def _mirrored_summary(analyse, act):
    """``snnreduce switching`` analysis, with switches counted only between mirrored states.

    k-means always returns two clusters; when the run never left one assembly's state both
    centres of m = r_E1 − r_E2 lie on the same side of 0 and the "switches" are fluctuations
    inside one state. Then no complete visit is counted and ``no_switch_bound_ms`` gives the
    one-sided 95 % lower bound of the mean dwell, T/3 (P(no switch in T) = exp(−T/τ) ≥ 0.05).
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary, series, _ = analyse([act], ["E1", "E2"], 50.0, 10.0, 0.0, 2, 200.0)
    t, feat, labels = series[0]
    centres = [float(np.mean(feat[labels == s])) if np.any(labels == s) else np.nan
               for s in (0, 1)]
    summary["state_mean_m_hz"] = centres
    summary["mirrored"] = bool(centres[0] < 0 < centres[1])
    if not summary["mirrored"]:
        dur = float(t[-1] - t[0])
        summary["states"] = {s: {"switches": 0} for s in ("0", "1")}
        summary["no_switch_bound_ms"] = dur / 3.0
    return summary


def _chain_dwell(a):
    import reduce
    import simulate
    from case_studies.cli.switching_cmd import analyse
    from reduce.finite_size import FiniteMAChain
    from simulate.activity import PopulationActivity

    n_e = int(a.n_e)
    n_i = int(round(2 * n_e / 3))
    net = simulate.MarkovIFNetwork(n_e=n_e, n_i=n_i, **SWITCHING_SET)
    ma = reduce.MarkovApproximation(net)
    chain = FiniteMAChain(ma, scheme=a.scheme)
    pops = list(ma.spec.populations)
    sizes = {q: float(s) for q, s in zip(pops, ma.spec.sizes)}
    tag = "" if a.scheme == "multinomial" else f"_{a.scheme}"
    store = a.store or f"/tmp/h7/chain_dwell_ne{n_e}{tag}.npz"
    counts = {q: np.zeros(0) for q in pops}
    x0, t_done, chunk_i, cpu = None, 0.0, 0, 0.0
    if os.path.exists(store):
        z = np.load(store)
        counts = {q: z[q] for q in pops}
        x0, t_done, chunk_i, cpu = z["x_last"], float(z["t_done"]), int(z["chunk"]), float(z["cpu"])
    summary = None
    while True:
        if t_done > 0:
            act = PopulationActivity(np.arange(len(counts[pops[0]])) * a.record_ms,
                                     a.record_ms, counts, sizes)
            summary = _mirrored_summary(analyse, act)
            visits = [summary["states"].get(s, {}).get("switches", 0) for s in ("0", "1")]
            print(json.dumps({"n_e": n_e, "t_done_ms": t_done, "visits": visits,
                              "cpu_s": cpu}), flush=True)
            if min(visits) >= a.min_visits or t_done >= a.t_max:
                break
        c0 = time.process_time()
        res = chain.run(a.chunk, x0=x0, seed=a.seed + chunk_i, dt_record=a.record_ms)
        cpu += time.process_time() - c0
        for i, q in enumerate(pops):
            counts[q] = np.concatenate([counts[q], res.spikes[:, i]])
        x0 = res.x[-1]
        t_done += a.chunk
        chunk_i += 1
        np.savez(store, x_last=x0, t_done=t_done, chunk=chunk_i, cpu=cpu,
                 **{q: counts[q] for q in pops})
    out = {"n_e": n_e, "n_i": n_i, "N": 2 * n_e + n_i, "scheme": chain.scheme,
           "dt_ms": chain.dt, "t_ms": t_done, "cpu_s": cpu, "chunk_ms": a.chunk,
           "seed": a.seed, "summary": summary,
           "network_pooled_mean_dwell_ms": NETWORK_DWELL_MS.get(n_e)}
    path = a.json or f"benchmarks/results/switching_chain_ne{n_e}{tag}.json"
    with open(path, "w") as f:
        json.dump(out, f, indent=2, default=float)
    print(json.dumps(out, default=float))
    return out


def _double_well_rates(L, barrier):
    """Birth-death chain on {0..L} in the potential U(x) = barrier (x² − 1)², x = 2i/L − 1:
    up/down rates exp(−ΔU/2) (detailed balance with π ∝ exp(−U))."""
    x = 2 * np.arange(L + 1) / L - 1
    U = barrier * (x * x - 1) ** 2
    up = np.zeros(L + 1)
    down = np.zeros(L + 1)
    up[:-1] = np.exp(-(U[1:] - U[:-1]) / 2)
    down[1:] = np.exp(-(U[:-1] - U[1:]) / 2)
    return up, down


def _gillespie_bd(up, down, i0, n_events, seed):
    from numba import njit

    @njit(cache=False)
    def run(up, down, i0, u):
        n_events = u.shape[0]
        t = np.empty(n_events + 1)
        s = np.empty(n_events + 1, np.int64)
        t[0], s[0] = 0.0, i0
        i, now = i0, 0.0
        for k in range(n_events):
            a = up[i] + down[i]
            now += -np.log(u[k, 0]) / a
            i = i + 1 if u[k, 1] * a < up[i] else i - 1
            t[k + 1], s[k + 1] = now, i
        return t, s

    u = np.random.default_rng(seed).random((n_events, 2))
    return run(up, down, i0, 1.0 - u)


def _rates(a):
    """Switching rates from a chain path of ``a.events`` jumps, timed; checked against the
    chain's own mean first-passage times between the cores."""
    import warnings

    from bifurcation.switching import (
        dwell_times,
        mean_first_passage_times,
        metastable_states,
        switching_rates,
    )

    L = a.L
    up, down = _double_well_rates(L, a.barrier)
    t0 = time.process_time()
    t, s = _gillespie_bd(up, down, L // 4, a.events, a.seed)
    sim_cpu = time.process_time() - t0
    w0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        labels = metastable_states(s.astype(float), t, n_states=2)
        rates = switching_rates(dwell_times(labels, t))
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    # reference: MFPT of the chain from the well bottom of one side to the other side's core
    # (the core-set visit starts on entering a core; core = 0.5 x half the centre distance)
    Q = np.diag(up[:-1], 1) + np.diag(down[1:], -1)
    Q -= np.diag(Q.sum(axis=1))
    lo_c, hi_c = np.mean(s[labels == 0]), np.mean(s[labels == 1])
    half = 0.25 * (hi_c - lo_c)
    core0 = np.flatnonzero(np.arange(L + 1) <= lo_c + half)
    core1 = np.flatnonzero(np.arange(L + 1) >= hi_c - half)
    entry0, entry1 = int(np.floor(lo_c + half)), int(np.ceil(hi_c - half))
    mfpt01 = mean_first_passage_times(Q, core1)[entry0]
    mfpt10 = mean_first_passage_times(Q, core0)[entry1]
    out = {"events": a.events, "L": L, "barrier": a.barrier, "t_end": float(t[-1]),
           "simulation_cpu_s": sim_cpu, "estimation_wall_s": wall, "estimation_cpu_s": cpu,
           "target_s": 10.0,
           "states": {str(k): {"visits": r.n, "mean_dwell": r.mean_dwell,
                               "mean_dwell_ci": list(r.mean_dwell_ci)}
                      for k, r in rates.items()},
           "mfpt_reference": {"0": float(mfpt01), "1": float(mfpt10)}}
    path = a.json or "benchmarks/results/switching_rates_1e6.json"
    with open(path, "w") as f:
        json.dump(out, f, indent=2, default=float)
    print(json.dumps(out, indent=2, default=float))
    return out


#: the network's complete visits per state (docs/attractors_and_switching.md, seed 11)
NETWORK_VISITS = {120: (94, 93), 150: (97, 98), 200: (145, 144)}


def _exact_mean_ci(mean, n, level=0.95):
    """Exact interval of an exponential mean from n dwells: 2Σd/τ ~ χ²(2n)."""
    from scipy import stats

    a = (1 - level) / 2
    tot = mean * n
    return (2 * tot / stats.chi2.ppf(1 - a, 2 * n), 2 * tot / stats.chi2.ppf(a, 2 * n))


def _table(a):
    """One table: network and chain pooled mean dwells per size, ratios, scaling fits, and
    the chain's MFPT from its coarse-grained (microstate) chain."""
    import warnings

    from scipy import stats

    from bifurcation.switching import fit_dwell_scaling, gpcca_states
    from simulate.activity import PopulationActivity
    from simulate.assemblies import assembly_rates

    rows = []
    for n_e in (120, 150, 200):
        path = f"benchmarks/results/switching_chain_ne{n_e}.json"
        store = f"/tmp/h7/chain_dwell_ne{n_e}.npz"
        if os.path.exists(store):      # newest state of a running measurement
            z = np.load(store)
            n_i = int(round(2 * n_e / 3))
            act = PopulationActivity(np.arange(len(z["E1"])) * 5.0, 5.0,
                                     {q: z[q] for q in ("E1", "E2", "I")},
                                     {"E1": n_e, "E2": n_e, "I": n_i})
            from case_studies.cli.switching_cmd import analyse

            summ = _mirrored_summary(analyse, act)
            t_ms = float(z["t_done"])
            cpu = float(z["cpu"])
            t, X = assembly_rates(act, ["E1", "E2"], 50.0, 10.0, 200.0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    g = gpcca_states(X[:, 0] - X[:, 1], t, n_states=2, n_micro=30, lag=5)
                    mfpt = g["mfpt"].tolist()
                    crisp = g["result"].crispness
                except Exception as exc:    # e.g. a state never left
                    mfpt, crisp = str(exc), None
        else:
            d = json.load(open(path))
            summ, t_ms, cpu, mfpt, crisp = d["summary"], d["t_ms"], d["cpu_s"], None, None
        st = summ["states"]
        n_c = int(sum(st[s]["switches"] for s in ("0", "1")))
        if n_c:
            T_c = sum(st[s]["switches"] * st[s]["mean_dwell_ms"] for s in ("0", "1")) / n_c
        else:
            T_c = np.nan
        n_n = sum(NETWORK_VISITS[n_e])
        T_n = NETWORK_DWELL_MS[n_e]
        row = {"n_e": n_e, "n_i": int(round(2 * n_e / 3)), "N": 2 * n_e + int(round(2 * n_e / 3)),
               "network_mean_dwell_ms": T_n, "network_visits": n_n,
               "network_ci_ms": _exact_mean_ci(T_n, n_n),
               "chain_t_ms": t_ms, "chain_cpu_s": cpu, "chain_visits": n_c,
               "chain_visits_per_state": [st[s]["switches"] for s in ("0", "1")],
               "chain_mean_dwell_ms": T_c,
               "chain_ci_ms": _exact_mean_ci(T_c, n_c) if n_c else (t_ms / 3, np.inf),
               "chain_mfpt_ms_microstate_chain": mfpt, "chain_gpcca_crispness": crisp}
        if n_c:
            R = T_c / T_n
            row["ratio"] = R
            row["ratio_ci"] = (R / stats.f.ppf(0.975, 2 * n_c, 2 * n_n),
                               R / stats.f.ppf(0.025, 2 * n_c, 2 * n_n))
        rows.append(row)
    out = {"rows": rows}
    for who, key, nkey in (("network", "network_mean_dwell_ms", "network_visits"),
                           ("chain", "chain_mean_dwell_ms", "chain_visits")):
        ok = [r for r in rows if r[nkey] >= 2 and np.isfinite(r[key])]
        if len(ok) >= 3:
            N = [r["N"] for r in ok]
            T = [r[key] for r in ok]
            se = [r[key] / np.sqrt(r[nkey]) for r in ok]
            out[f"fit_{who}"] = fit_dwell_scaling(N, T, se)
    path = a.json or "benchmarks/results/switching_dwell_table.json"
    with open(path, "w") as f:
        json.dump(out, f, indent=2, default=float)
    print(json.dumps(out, indent=1, default=float))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("chain-dwell")
    c.add_argument("--n-e", type=int, required=True)
    c.add_argument("--chunk", type=float, default=20000.0, help="ms per chunk")
    c.add_argument("--t-max", type=float, default=600000.0, help="ms")
    c.add_argument("--min-visits", type=int, default=40)
    c.add_argument("--record-ms", type=float, default=5.0)
    c.add_argument("--seed", type=int, default=100)
    c.add_argument("--store", default=None)
    c.add_argument("--scheme", default="multinomial", help="FiniteMAChain scheme")
    c.add_argument("--json", default=None)
    r = sub.add_parser("rates")
    r.add_argument("--events", type=int, default=1_000_000)
    r.add_argument("--L", type=int, default=40)
    r.add_argument("--barrier", type=float, default=3.5)
    r.add_argument("--seed", type=int, default=3)
    r.add_argument("--json", default=None)
    tb = sub.add_parser("table")
    tb.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    if a.cmd == "table":
        return _table(a)
    if a.cmd == "chain-dwell":
        return _chain_dwell(a)
    return _rates(a)


if __name__ == "__main__":
    main()
