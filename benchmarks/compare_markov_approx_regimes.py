"""Markov approximation against the exact jump process (defaults) and the three
Li–Chariker–Young regimes (their own parameters; models.md §1).

Usage::

    python benchmarks/compare_markov_approx_regimes.py [--t-net 2000] [--t-ma 2000]
        [--seeds 4] [--out results.json]

For each case: the network with ``method="exact"`` (event-driven, real voltages) and
``"fixed-step"`` (Δt = 0.1 ms) for ``--seeds`` seeds (3, 4, …), the published map and the ODE
(deterministic, one run each); E/I rates, MFE rate and pattern (simulate.observables, MA-code
settings). Per network method and quantity: per-seed values, their mean, standard deviation
and the 95 % confidence half-width of the mean, ``t_{0.975, n-1} · sd/√n`` (Student t over
seeds: each seed is an independent run, its rate over [200 ms, t_end] one sample). Relative
rate errors of map and ODE are given against the seed means, with the half-width divided by
the mean as the relative uncertainty of the reference.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

CASES = ("ma-default", "lcy-homogeneous", "lcy-regular", "lcy-synchronized")
QUANTITIES = ("rate_E", "rate_I", "mfe_rate_hz")


def summarise(per_seed: list) -> dict:
    """Mean, sd and 95 % t half-width over seeds of every quantity
    (:func:`compare_markov_approx.seed_summary`, with the number of seeds in each entry)."""
    from compare_markov_approx import seed_summary

    s = seed_summary(per_seed)
    out = {k: {**s[k], "n": s["n"]} for k in QUANTITIES}
    out["patterns"] = s["patterns"]
    return out


def main(argv=None):
    sys.path.insert(0, os.path.dirname(__file__))
    from compare_markov_approx import measures

    import reduce
    import simulate

    ap = argparse.ArgumentParser()
    ap.add_argument("--t-net", type=float, default=2000.0)
    ap.add_argument("--t-ma", type=float, default=2000.0)
    ap.add_argument("--seeds", type=int, default=4, help="network seeds 3, 4, ...")
    ap.add_argument("--cases", nargs="*", default=list(CASES))
    ap.add_argument("--out", default="benchmarks/results/markov_approx_regimes.json")
    a = ap.parse_args(argv)
    rows = []
    for case in a.cases:
        row = {"case": case, "t_net_ms": a.t_net, "t_ma_ms": a.t_ma}
        for method in ("exact", "fixed-step"):
            net = simulate.MarkovIFNetwork(preset=case, method=method)
            per_seed = []
            for seed in range(3, 3 + a.seeds):
                t0 = time.perf_counter()
                m = measures(net.run(t_end=a.t_net, seed=seed), 300)
                m["seed"] = seed
                m["wall_s"] = time.perf_counter() - t0
                per_seed.append(m)
            row[method] = {"per_seed": per_seed, "summary": summarise(per_seed)}
        ma = reduce.MarkovApproximation(simulate.MarkovIFNetwork(preset=case))
        for form in ("map", "ode"):
            t0 = time.perf_counter()
            res = ma.simulate(a.t_ma, form=form)
            row[form] = measures(res, 300)
            row[form]["attractor"] = res.attractor()
            row[form]["wall_s"] = time.perf_counter() - t0
            for ref in ("exact", "fixed-step"):
                for q in ("E", "I"):
                    s = row[ref]["summary"][f"rate_{q}"]
                    err = (row[form][f"rate_{q}"] - s["mean"]) / s["mean"]
                    row[form][f"err_{q}_vs_{ref}"] = err
                    row[form][f"err_{q}_vs_{ref}_ref_ci95"] = s["ci95_half"] / s["mean"]
        rows.append(row)
        print(json.dumps({k: row[k] for k in ("case",)} | {
            m: row[m]["summary"] for m in ("exact", "fixed-step")} | {
            f: {k: v for k, v in row[f].items() if k.startswith("err") or k.startswith("rate")}
            for f in ("map", "ode")}), flush=True)
        with open(a.out, "w") as fh:
            json.dump(rows, fh, indent=1)
    return rows


if __name__ == "__main__":
    main()
