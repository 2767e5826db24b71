"""Brute-force Δm diagram of the Markov approximation's ODE over p_ei (issue 5 overlay).

At each p_ei of a grid the ODE (``reduce.MarkovApproximation(eps=1e-3).simulate``, LSODA,
rtol 1e-7) is integrated from the model's default initial state for 350 ms; after 150 ms
every local maximum of the E rate (``simulate.observables.detect_mfes`` with
1-bin smoothing, threshold 1 Hz, peaks at least 5 ms apart) is a peak height ``m_k`` (Hz per
neuron) and ``Δm_k = m_{k+1} − m_k`` (``peak_height_differences``); a period-1 cycle gives
Δm = 0, a period-2 cycle ±|Δm|, chaos a cloud. Runs through ``bifurcation.sweeps``.

Run: ``NUMBA_CACHE_DIR=/tmp/numba_cache python benchmarks/ma_cycles_sweep.py
[--values 0.5 0.6 ...]``; appends to ``benchmarks/results/ma_cycles_sweep.json`` value by
value (values already there are skipped).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

RESULTS = Path(__file__).parent / "results"
T_END, T_BURN, EPS = 350.0, 150.0, 1e-3


def run_ma(value, seed):
    """Integrate the MA ODE at p_ei = value (deterministic: ``seed`` unused)."""
    import reduce
    import simulate

    ma = reduce.MarkovApproximation(simulate.MarkovIFNetwork(), eps=EPS)
    return ma.simulate(T_END, params={"p_ei": float(value)}, method="LSODA", rtol=1e-7,
                       atol=1e-9, dt_out=0.05)


def _mfes(res):
    from simulate.observables import detect_mfes

    return detect_mfes(res, "E", smooth_ms=0.05, height_per_neuron=1e-3,
                       min_separation_ms=5.0, t_burn=T_BURN)


def peaks_hz(res):
    m = _mfes(res)
    return m.heights * 1000.0 / m.n_neurons


def delta_m_hz(res):
    from simulate.observables import peak_height_differences

    return peak_height_differences(peaks_hz(res))


def main(argv=None):
    from bifurcation.sweeps import brute_force_sweep

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--values", type=float, nargs="+",
                    default=[0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 0.55, 0.65, 0.75, 0.85, 0.95])
    ap.add_argument("--tag", default="")
    a = ap.parse_args(argv)
    path = RESULTS / f"ma_cycles_sweep{a.tag}.json"
    RESULTS.mkdir(exist_ok=True)
    out = json.loads(path.read_text()) if path.exists() else {
        "p_ei": [], "peaks_hz": [], "dm_hz": [], "errors": [], "wall_s": [],
        "t_end_ms": T_END, "t_burn_ms": T_BURN, "eps": EPS, "rtol": 1e-7}
    for v in a.values:  # one value at a time: partial results survive an interrupted run
        if v in out["p_ei"]:
            continue
        t0 = time.perf_counter()
        res = brute_force_sweep(run_ma, "p_ei", [v], {"peaks": peaks_hz, "dm": delta_m_hz},
                                workers=1, progress=False)
        out["p_ei"].append(float(v))
        out["peaks_hz"].append(res.clouds["peaks"][0].tolist())
        out["dm_hz"].append(res.clouds["dm"][0].tolist())
        out["errors"].extend(res.errors)
        out["wall_s"].append(time.perf_counter() - t0)
        out["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        path.write_text(json.dumps(out))
        print(v, out["wall_s"][-1], np.round(out["dm_hz"][-1][:6], 2), flush=True)
    return out


if __name__ == "__main__":
    main()
