"""Closed-loop validation of the fitted reduced model on the Markov IF network (models.md §3).

Run ``python -m reduce.estimation.closed_loop --out results.json`` (minutes). Steps:

1. simulate the fixed-step network (defaults of models.md §1) at the fit points ``p_ei`` in
   ``--fit`` and the test points in ``--test`` (coarse states on the MA bins, every 0.1 ms);
2. fit (a) a model on the default network alone (p_ei = 0.8), (b) one model on all fit
   points together (bootstrap over time blocks) and (c) local models on each pair of
   neighbouring fit points, features = pending-kick means onto each population;
3. free-running comparisons: the fitted ODE integrated from the data mean (rates after
   ``t_burn``) against the network's rates at every point, the analytic Markov
   approximation (ODE form) in the same table; model (c) between its two fit points; the
   finite-N chain of model (a) against the
   network's rate variance (1 ms bins), spectrum peak and MFE statistics;
4. equilibria of model (b)'s ODE continued in p_ei, Hopf points located, and the same for
   every bootstrap replicate: a bootstrap interval of the Hopf point.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np


def _net_run(p_ei, t_end, seed):
    import simulate

    net = simulate.MarkovIFNetwork(p_ei=p_ei)
    tr = net.run(t_end=t_end, seed=seed, coarse=True, record_dt=0.1, progress=False)
    return tr


def _ode_rates(model, p_ei, t_end, t_burn):
    from .validation import integrate_ode

    ode = model.ode(p_ei=p_ei)
    run = integrate_ode(ode, model.x0(), t_end, dt_out=0.1, t_burn=t_burn)
    return run


def _ma_rates(p_ei, t_end, t_burn):
    try:
        import simulate
        from reduce import MarkovApproximation

        ma = MarkovApproximation(simulate.MarkovIFNetwork(p_ei=p_ei))
        res = ma.simulate(t_end, form="ode")
        res.t_burn = t_burn
        return res.rates_hz
    except Exception as exc:  # noqa: BLE001 - reported in the table
        return {"error": f"{type(exc).__name__}: {exc}"}


def _hopf_points(model, lo, hi):
    from bifurcation import continue_equilibria

    ode = model.ode()
    p0 = ode.params["p_ei"]
    try:
        br = continue_equilibria(ode, model.x0(), param="p_ei", bounds=(lo, hi),
                                 max_points=400)
    except Exception as exc:  # noqa: BLE001
        return {"error": f"{type(exc).__name__}: {exc}", "start": p0}
    hb = [sp.params["p_ei"] for sp in br.special_points if sp.kind == "HB"]
    return {"HB": hb, "status": str(br.status), "n_points": len(br.states)}


def _save(res, path):
    with open(path, "w") as f:
        json.dump(res, f, indent=1, default=float)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", default="0.6,0.7,0.8,0.9")
    ap.add_argument("--test", default="0.65,0.75,0.85")
    ap.add_argument("--t-end", type=float, default=3000.0)
    ap.add_argument("--t-burn", type=float, default=300.0)
    ap.add_argument("--ode-t", type=float, default=1000.0)
    ap.add_argument("--chain-t", type=float, default=700.0)
    ap.add_argument("--bootstrap", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ma", default="0.8", help="p_ei values for the analytic MA ('' = none)")
    ap.add_argument("--workdir", default=".", help="trajectories and models are cached here")
    ap.add_argument("--out", default="closed_loop.json")
    a = ap.parse_args(argv)
    from pathlib import Path

    from simulate import Trajectory

    from . import FittedMarkovModel, TransitionRateEstimator
    from .validation import activity_statistics

    warnings.simplefilter("ignore")
    wd = Path(a.workdir)
    wd.mkdir(parents=True, exist_ok=True)
    fit_p = [float(v) for v in a.fit.split(",")]
    test_p = [float(v) for v in a.test.split(",")]
    ma_p = [float(v) for v in a.ma.split(",") if v.strip()]
    res = {"settings": vars(a), "timings": {}}
    t0 = time.perf_counter()
    trajs = {}
    for i, p in enumerate(sorted(set(fit_p + test_p + [0.8]))):
        f = wd / f"traj_p{p:g}_t{a.t_end:g}_s{a.seed + i}.h5"
        if f.exists():
            trajs[p] = Trajectory.load(f)
        else:
            trajs[p] = _net_run(p, a.t_end, a.seed + i)
            trajs[p].save(f)
        trajs[p].t_burn = a.t_burn
    res["timings"]["simulate_s"] = time.perf_counter() - t0
    res["network_rates"] = {str(p): tr.rates_hz for p, tr in trajs.items()}
    print("network", res["network_rates"], flush=True)
    _save(res, a.out)

    t0 = time.perf_counter()
    fa, fb = wd / "model_single.h5", wd / f"model_multi_b{a.bootstrap}.h5"
    if fa.exists():
        model_a = FittedMarkovModel.load(fa)
    else:
        est_a = TransitionRateEstimator("ma", features="kicks", t_burn=a.t_burn)
        model_a = est_a.fit([trajs[0.8]]).fetch_model()
        model_a.save(fa)
        res["fit_timings_single"] = est_a.timings
    if fb.exists():
        model_b = FittedMarkovModel.load(fb)
    else:
        est_b = TransitionRateEstimator("ma", features="kicks", t_burn=a.t_burn,
                                        bootstrap=a.bootstrap, workers=a.workers, seed=2)
        model_b = est_b.fit([trajs[p] for p in fit_p]).fetch_model()
        model_b.save(fb)
        res["fit_timings_multi"] = est_b.timings
    res["timings"]["fit_s"] = time.perf_counter() - t0
    res["models"] = {"single": model_a.summary(), "multi": model_b.summary()}
    print("fitted", res["timings"], flush=True)
    _save(res, a.out)

    rows = []
    for p, tr in sorted(trajs.items()):
        row = {"p_ei": p, "role": "fit" if p in fit_p else "test", "network": tr.rates_hz}
        row["ode_multi"] = _ode_rates(model_b, p, a.ode_t, a.t_burn).rates_hz
        if abs(p - 0.8) < 1e-9:
            row["ode_single"] = _ode_rates(model_a, p, a.ode_t, a.t_burn).rates_hz
        if any(abs(p - v) < 1e-9 for v in ma_p):
            row["ma"] = _ma_rates(p, a.ode_t, a.t_burn)
        for key in ("ode_multi", "ode_single", "ma"):
            if key in row and "error" not in row[key]:
                row[f"{key}_rel_err"] = {q: (row[key][q] - tr.rates_hz[q]) / tr.rates_hz[q]
                                         for q in ("E", "I")}
        rows.append(row)
        print(json.dumps(row), flush=True)
        res["rates_table"] = rows
        _save(res, a.out)

    # local fits: neighbouring fit points together, prediction half-way between them
    t0 = time.perf_counter()
    local = []
    fs = sorted(fit_p)
    for lo, hi in zip(fs[:-1], fs[1:]):
        f = wd / f"model_pair_{lo:g}_{hi:g}.h5"
        if f.exists():
            mp = FittedMarkovModel.load(f)
        else:
            mp = TransitionRateEstimator("ma", features="kicks", t_burn=a.t_burn)\
                .fit([trajs[lo], trajs[hi]]).fetch_model()
            mp.save(f)
        for p in sorted(trajs):
            if not lo <= p <= hi:
                continue
            r = _ode_rates(mp, p, a.ode_t, a.t_burn).rates_hz
            net = trajs[p].rates_hz
            row = {"fit": [lo, hi], "p_ei": p, "role": "fit" if p in (lo, hi) else "test",
                   "ode": r, "network": net,
                   "rel_err": {q: (r[q] - net[q]) / net[q] for q in ("E", "I")}}
            local.append(row)
            print(json.dumps(row), flush=True)
        res["local_fits"] = local
        _save(res, a.out)
    res["timings"]["local_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    net_stats = {q: activity_statistics(trajs[0.8], q, t_burn=a.t_burn) for q in ("E", "I")}
    ode_run = _ode_rates(model_a, 0.8, a.ode_t, a.t_burn)
    ode_stats = {q: activity_statistics(ode_run, q, t_burn=a.t_burn) for q in ("E", "I")}
    ch = model_a.chain().run(a.chain_t, seed=3, dt=0.1, t_burn=min(a.t_burn, a.chain_t / 4))
    ch_stats = {q: activity_statistics(ch, q, t_burn=ch.t_burn) for q in ("E", "I")}
    res["timings"]["chain_s"] = time.perf_counter() - t0
    res["fluctuations"] = {"network": net_stats, "chain": ch_stats, "ode_single": ode_stats,
                           "chain_events": ch.n_events, "chain_rates": ch.rates_hz}
    print("fluctuations", json.dumps(res["fluctuations"]), flush=True)
    _save(res, a.out)

    t0 = time.perf_counter()
    hopf = {"point": _hopf_points(model_b, 0.3, 1.2), "samples": []}
    res["hopf"] = hopf
    print("hopf point", json.dumps(hopf["point"]), flush=True)
    _save(res, a.out)
    for s in model_b.samples:
        hopf["samples"].append(_hopf_points(s, 0.3, 1.2))
        first = [h["HB"][0] for h in hopf["samples"] if h.get("HB")]
        if len(first) >= 2:
            hopf["ci95_first_HB"] = [float(np.quantile(first, 0.025)),
                                     float(np.quantile(first, 0.975))]
        hopf["n_samples_with_HB"] = len(first)
        res["timings"]["hopf_s"] = time.perf_counter() - t0
        print("hopf sample", json.dumps(hopf["samples"][-1]), flush=True)
        _save(res, a.out)
    return res


if __name__ == "__main__":
    main()
