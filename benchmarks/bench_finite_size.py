"""Finite-size Markov approximation: speed and comparison with the network (issue 9).

    OMP_NUM_THREADS=1 python benchmarks/bench_finite_size.py speed
    OMP_NUM_THREADS=1 python benchmarks/bench_finite_size.py compare [--t-end 3000]

``speed``: CPU (process) and wall time of one simulated second of the multinomial chain and of
the Langevin chain at the defaults (400 neurons, 35 bins, Δt = h = 0.1 ms), and of one LNA
spectrum (400 frequencies) at p_EI = 0.95 (the defaults have no stable equilibrium).
``compare``: network vs chain vs LNA: E-rate mean, variance of the 1-ms binned E rate,
gamma peak (Welch, 250-ms segments, band 20–200 Hz) per regime; JSON to
``benchmarks/results/finite_size_vs_network.json``.
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
    for scheme in ("multinomial", "langevin"):
        ch = FiniteMAChain(ma, scheme=scheme)
        ch.run(10.0, seed=0)                      # compile / load cache
        best = None
        for rep in range(3):
            t0, c0 = time.perf_counter(), time.process_time()
            ch.run(1000.0, seed=rep)
            w, c = time.perf_counter() - t0, time.process_time() - c0
            best = (w, c) if best is None or c < best[1] else best
        out[f"chain_{scheme}_1s"] = {"wall_s": best[0], "cpu_s": best[1]}
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
    return {"rate_E": obs.firing_rates(obj, t_burn=t_burn)["E"],
            "var_E_1ms": obs.rate_variance(obj, "E", bin_ms=1.0, t_burn=t_burn),
            "peak_hz": pk.frequency_hz, "peak_psd": pk.psd}


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
    ap.add_argument("what", choices=("speed", "compare"))
    ap.add_argument("--t-end", type=float, default=3000.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="benchmarks/results/finite_size_vs_network.json")
    a = ap.parse_args(argv)
    if a.what == "speed":
        speed()
    else:
        compare(a.t_end, a.seed, a.out)


if __name__ == "__main__":
    main()
