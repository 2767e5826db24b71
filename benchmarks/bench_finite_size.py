"""Finite-size Markov approximation: speed and comparison with the network (issue 9).

    OMP_NUM_THREADS=1 python benchmarks/bench_finite_size.py speed
    OMP_NUM_THREADS=1 python benchmarks/bench_finite_size.py compare [--t-end 3000]
    OMP_NUM_THREADS=1 python benchmarks/bench_finite_size.py seeds --t-end 4000 \
        --schemes multinomial exact [--seeds 11 12 13 14 15 16]
    OMP_NUM_THREADS=1 python benchmarks/bench_finite_size.py dtconv --seed 7

``speed``: CPU (process) and wall time of one simulated second of the multinomial chain, the
Langevin chain and the exact event-driven chain at the defaults (400 neurons, 35 bins,
Δt = h = 0.1 ms), and of one LNA spectrum (400 frequencies) at p_EI = 0.95 (the defaults have
no stable equilibrium).
``compare``: network vs chain vs LNA: E-rate mean, variance of the 1-ms binned E rate,
gamma peak (Welch, 250-ms segments, band 20–200 Hz) per regime; JSON to
``benchmarks/results/finite_size_vs_network.json``.
``seeds``: the same statistics over several seeds per regime (network and chain schemes),
mean and 95 % t-interval across seeds; JSON to ``benchmarks/results/finite_size_seeds.json``.
``dtconv``: stationary occupancy variances of the tau-leap at Δt = h, h/2, h/4 against the
exact chain (first-order convergence), JSON to
``benchmarks/results/finite_size_dt_convergence_seed<S>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

REGIMES = {
    "defaults (p_EI=0.8)": dict(),
    "p_EI=0.95": dict(p_ei=0.95),
    "lcy-homogeneous": dict(preset="lcy-homogeneous"),
    "lcy-regular": dict(preset="lcy-regular"),
}
BAND = (20.0, 200.0)


def speed():
    import reduce
    import simulate
    from reduce.finite_size import FiniteMAChain, MALinearNoise, find_equilibrium

    out = {}
    ma = reduce.MarkovApproximation()
    for scheme in ("multinomial", "langevin", "exact"):
        ch = FiniteMAChain(ma, scheme=scheme)
        ch.run(10.0, seed=0)                      # compile / load cache
        best = None
        for rep in range(3):
            t0, c0 = time.perf_counter(), time.process_time()
            r = ch.run(1000.0, seed=rep)
            w, c = time.perf_counter() - t0, time.process_time() - c0
            best = (w, c) if best is None or c < best[1] else best
        out[f"chain_{scheme}_1s"] = {"wall_s": best[0], "cpu_s": best[1]}
        if scheme == "exact":
            out["chain_exact_1s"]["events"] = r.n_events
    ma95 = reduce.MarkovApproximation(simulate.MarkovIFNetwork(p_ei=0.95))
    t0 = time.perf_counter()
    eq = find_equilibrium(ma95)
    out["equilibrium_s"] = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    lna = MALinearNoise(ma95, eq["x"])
    out["lna_setup"] = {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}
    f = np.linspace(1.0, 400.0, 400)
    t0, c0 = time.perf_counter(), time.process_time()
    lna.spectrum(f)
    out["lna_spectrum_400f"] = {"wall_s": time.perf_counter() - t0,
                                "cpu_s": time.process_time() - c0}
    t0, c0 = time.perf_counter(), time.process_time()
    lna2 = MALinearNoise(ma95, eq["x"])
    lna2.spectrum(f)
    out["lna_setup_plus_spectrum"] = {"wall_s": time.perf_counter() - t0,
                                      "cpu_s": time.process_time() - c0}
    print(json.dumps(out, indent=1))
    return out


def _stats(obj, t_burn):
    from simulate import observables as obs

    sp = obs.power_spectrum(obj, segment_ms=250.0, t_burn=t_burn)
    pk = obs.gamma_peak(sp, band=BAND)
    # smoothed estimate (100-ms segments, 10-Hz grid): the arg-max of a broad peak on the
    # 4-Hz grid jumps with the seed
    sm = obs.gamma_peak(obs.power_spectrum(obj, segment_ms=100.0, t_burn=t_burn), band=BAND)
    return {"rate_E": obs.firing_rates(obj, t_burn=t_burn)["E"],
            "var_E_1ms": obs.rate_variance(obj, "E", bin_ms=1.0, t_burn=t_burn),
            "peak_hz": pk.frequency_hz, "peak_psd": pk.psd,
            "peak_hz_smooth": sm.frequency_hz, "peak_psd_smooth": sm.psd}


def seeds(t_end: float = 5000.0, seed_list=(11, 12, 13, 14, 15, 16),
          out: str = "benchmarks/results/finite_size_seeds.json", schemes=("multinomial",)):
    """Network and chain over several seeds per regime; mean and 95 % t-interval of every
    statistic across seeds (independent runs). Results are cached per (regime, seed, model)
    in ``out`` so an interrupted run resumes."""
    import reduce
    import simulate
    from reduce.finite_size import FiniteMAChain, MALinearNoise, find_equilibrium

    t_burn = 200.0
    done = {}
    if os.path.exists(out):
        with open(out) as fh:
            done = json.load(fh).get("runs", {})
    lna_rows = {}
    for name, kw in REGIMES.items():
        net = simulate.MarkovIFNetwork(**kw)
        ma = reduce.MarkovApproximation(net)
        eq = find_equilibrium(ma)
        if eq["stable"]:
            lna = MALinearNoise(ma, eq["x"])
            pk = lna.peak(BAND)
            lna_rows[name] = {"rate_E": float(eq["rates_hz"]["E"]),
                              "var_E_1ms": lna.binned_rate_variance("E", 1.0),
                              "peak_hz": pk["frequency_hz"], "peak_psd": pk["psd"]}
        for s in seed_list:
            for model in ("snn",) + tuple(schemes):
                key = f"{name}|{model}|{s}"
                if key in done:
                    continue
                c0 = time.process_time()
                if model == "snn":
                    obj = net.run(t_end=t_end, seed=s)
                else:
                    obj = FiniteMAChain(ma, scheme=model).run(t_end, seed=s, dt_record=0.1)
                row = _stats(obj, t_burn)
                row["cpu_s"] = time.process_time() - c0
                done[key] = row
                print(key, json.dumps(row), flush=True)
                _dump(out, done, lna_rows, t_end)
    summary = _summarise(done, lna_rows)
    _dump(out, done, lna_rows, t_end, summary)
    print(json.dumps(summary, indent=1))
    return summary


BINS8 = [-66, -40, -20, 0, 20, 40, 60, 80, 100]


def dt_convergence(t_end: float = 20000.0, seed: int = 7,
                   out: str = "benchmarks/results/finite_size_dt_convergence.json"):
    """Stationary occupancy variances of the tau-leap at Δt = h, h/2, h/4 vs the exact
    event-driven chain (lcy-homogeneous, 8 bins, N = 300 + 100, started at the ODE
    equilibrium, first 200 ms dropped), with 20-batch standard errors, and the discrete
    linear-noise prediction Σ_Δt of each (Σ_0 for the exact chain)."""
    import reduce
    import simulate
    from reduce.finite_size import FiniteMAChain, MALinearNoise, find_equilibrium

    ma = reduce.MarkovApproximation(simulate.MarkovIFNetwork(preset="lcy-homogeneous"),
                                    bins=BINS8)
    eq = find_equilibrium(ma, t_int=200.0)
    lna = MALinearNoise(ma, eq["x"])
    K = ma.layout.K
    res = {}
    for scheme, dt in (("exact", None), ("multinomial", ma.h), ("multinomial", ma.h / 2),
                       ("multinomial", ma.h / 4)):
        c0 = time.process_time()
        r = FiniteMAChain(ma, scheme=scheme, dt=dt).run(t_end, x0=eq["x"], seed=seed,
                                                         dt_record=0.1)
        cpu = time.process_time() - c0
        X = r.x[2000:-1, :K]
        xb = X - X.mean(0)
        nb = 20
        bm = (xb ** 2)[: len(xb) // nb * nb].reshape(nb, -1, K).mean(1)
        var = (xb ** 2).mean(0)
        se = bm.std(0, ddof=1) / np.sqrt(nb)
        pred = np.diag(lna.covariance if dt is None else lna.discrete_covariance(dt))[:K]
        key = "exact" if dt is None else f"multinomial dt={dt:g}"
        res[key] = {"dt": 0.0 if dt is None else dt, "var": var.tolist(), "se": se.tolist(),
                    "lna": pred.tolist(), "total": float(var.sum()),
                    "total_se": float(np.sqrt(np.sum(se ** 2))), "lna_total": float(pred.sum()),
                    "cpu_s": cpu, "rate_E": r.rates_hz()["E"]}
        print(key, json.dumps({k: v for k, v in res[key].items() if k not in ("var", "se",
                                                                             "lna")}),
              flush=True)
    dts = np.array([v["dt"] for v in res.values()])
    tot = np.array([v["total"] for v in res.values()])
    ex = res["exact"]["total"]
    fit = np.polyfit(dts[1:], tot[1:], 1)       # linear in Δt through the three tau-leaps
    res["fit"] = {"intercept": float(fit[1]), "slope_per_ms": float(fit[0]),
                  "exact_total": ex,
                  "order": float(np.polyfit(np.log(dts[1:]), np.log(np.abs(tot[1:] - ex)),
                                            1)[0])}
    print(json.dumps(res["fit"]), flush=True)
    _dump_plain(out, res)
    return res


def _dump_plain(out, obj):
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as fh:
        json.dump(obj, fh, indent=1)


def seeds_table(path: str = "benchmarks/results/finite_size_seeds.json") -> str:
    """Markdown table of a ``seeds`` result: mean ± 95 % half-width across seeds."""
    with open(path) as fh:
        d = json.load(fh)
    summ = _summarise(d["runs"], d["lna"])

    def cell(st, key, fmt):
        if st is None or key not in st:
            return "—"
        v = st[key]
        if isinstance(v, dict):
            return f"{v['mean']:{fmt}} ± {v['ci95']:{fmt}}"
        return f"{v:{fmt}}"

    lines = ["| regime | model | n | rate E Hz | Var 1-ms E rate Hz² | peak Hz (250-ms Welch) "
             "| peak Hz (100-ms Welch) | peak PSD Hz²/Hz |", "|---" * 8 + "|"]
    for regime, models in summ.items():
        for model in ("snn", "multinomial", "exact", "lna"):
            st = models.get(model)
            if st is None:
                continue
            n = st["rate_E"]["n"] if isinstance(st["rate_E"], dict) else "—"
            lines.append(f"| {regime} | {model} | {n} | {cell(st, 'rate_E', '.1f')} | "
                         f"{cell(st, 'var_E_1ms', '.0f')} | {cell(st, 'peak_hz', '.1f')} | "
                         f"{cell(st, 'peak_hz_smooth', '.1f')} | {cell(st, 'peak_psd', '.2f')} |")
    return "\n".join(lines)


def _dump(out, runs, lna_rows, t_end, summary=None):
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out + ".tmp", "w") as fh:
        json.dump({"t_end_ms": t_end, "runs": runs, "lna": lna_rows, "summary": summary},
                  fh, indent=1)
    os.replace(out + ".tmp", out)


def _summarise(runs, lna_rows):
    """Mean, sample sd, n and the 95 % t-interval half-width per (regime, model, statistic)."""
    from scipy.stats import t as student

    groups = {}
    for key, row in runs.items():
        regime, model, _ = key.split("|")
        groups.setdefault((regime, model), []).append(row)
    out = {}
    for (regime, model), rows in groups.items():
        st = {}
        for stat in rows[0]:
            v = np.array([r[stat] for r in rows], float)
            sd = float(v.std(ddof=1)) if len(v) > 1 else float("nan")
            hw = float(student.ppf(0.975, len(v) - 1) * sd / np.sqrt(len(v))) if len(v) > 1 \
                else float("nan")
            st[stat] = {"mean": float(v.mean()), "sd": sd, "n": len(v), "ci95": hw}
        out.setdefault(regime, {})[model] = st
    for regime, row in lna_rows.items():
        out.setdefault(regime, {})["lna"] = row
    return out


def compare(t_end: float = 3000.0, seed: int = 1,
            out: str = "benchmarks/results/finite_size_vs_network.json"):
    import reduce
    import simulate
    from reduce.finite_size import FiniteMAChain, MALinearNoise, find_equilibrium

    rows = []
    t_burn = 200.0
    for name, kw in REGIMES.items():
        row = {"regime": name}
        net = simulate.MarkovIFNetwork(**kw)
        t0 = time.perf_counter()
        tr = net.run(t_end=t_end, seed=seed)
        row["snn"] = _stats(tr, t_burn)
        row["snn_wall_s"] = time.perf_counter() - t0
        ma = reduce.MarkovApproximation(net)
        eq = find_equilibrium(ma)
        row["ma_equilibrium"] = {"converged": eq["converged"], "stable": eq["stable"],
                                 "rate_E": float(eq["rates_hz"]["E"]),
                                 "lead_eig": [float(eq["eigenvalues"][0].real),
                                              float(abs(eq["eigenvalues"][0].imag))],
                                 "lead_eig_hz": float(abs(eq["eigenvalues"][0].imag)
                                                      * 1000 / (2 * np.pi))}
        res = FiniteMAChain(ma).run(t_end, seed=seed, dt_record=0.1)
        row["chain"] = _stats(res, t_burn)
        if eq["stable"]:
            lna = MALinearNoise(ma, eq["x"])
            pk = lna.peak(BAND)
            row["lna"] = {"rate_E": float(eq["rates_hz"]["E"]),
                          "var_E_1ms": lna.binned_rate_variance("E", 1.0),
                          "peak_hz": pk["frequency_hz"], "peak_psd": pk["psd"]}
        else:
            row["lna"] = None
        rows.append(row)
        print(json.dumps(row), flush=True)
    os.makedirs("benchmarks/results", exist_ok=True)
    with open(out, "w") as fh:
        json.dump(rows, fh, indent=1)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("speed", "compare", "seeds", "dtconv", "table"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[11, 12, 13, 14, 15, 16])
    ap.add_argument("--schemes", nargs="+", default=["multinomial"])
    ap.add_argument("--t-end", type=float, default=3000.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=None,
                    help="JSON file (default: benchmarks/results/finite_size_vs_network.json "
                         "for compare, finite_size_seeds.json for seeds and table, "
                         "finite_size_dt_convergence_seed<S>.json for dtconv)")
    a = ap.parse_args(argv)
    if a.what == "speed":
        speed()
    elif a.what == "table":
        print(seeds_table(a.out or "benchmarks/results/finite_size_seeds.json"))
    elif a.what == "dtconv":
        out = a.out or f"benchmarks/results/finite_size_dt_convergence_seed{a.seed}.json"
        dt_convergence(a.t_end if a.t_end != 3000.0 else 20000.0, a.seed, out)
    elif a.what == "seeds":
        seeds(a.t_end, a.seeds, a.out or "benchmarks/results/finite_size_seeds.json",
              tuple(a.schemes))
    else:
        compare(a.t_end, a.seed, a.out or "benchmarks/results/finite_size_vs_network.json")


if __name__ == "__main__":
    main()
