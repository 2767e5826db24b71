"""Closed-loop validation of the fitted reduced model on the Markov IF network (models.md §3).

Run ``python -m reduce.estimation.closed_loop --workdir DIR --out results.json`` (minutes to
an hour on a shared machine; trajectories and fitted models are cached in ``DIR``). Stages
(``--stages``, default all):

``rates``
    simulate the fixed-step network (defaults of models.md §1 except p_ei) at the fit points
    ``--fit`` and the test points ``--test``, ``--seeds`` independent runs per point (seed
    ``seed + 100·rep + i`` for point i in increasing p_ei, coarse states on the MA bins every
    0.1 ms); fit (a) one model per run at p_ei = 0.8 on that run alone and (b) one model on
    the first run of every fit point together (bootstrap over time blocks); integrate each
    fitted ODE from the data mean and compare its rates (after ``t_burn``) with the network's:
    model (a) with the run it was fitted on, model (b) with the mean ± sd over the runs at
    every point (the analytic Markov approximation, ODE form, in the same table);
``local``
    models fitted on each pair of neighbouring fit points, predicted between them;
``fluct``
    the finite-N chain of every model (a) (``--chain-scheme``: ``step``, the default for the
    matrix estimand, or ``exact``), ``--chain-seeds`` runs each, against its network:
    rate variance at several bin widths, spectrum peak, MFE period and Δm
    (:func:`reduce.estimation.validation.activity_statistics`, i.e. simulate.observables);
``cv``
    choice of the feature set (``--cv-features``): for each interior fit point, a model
    fitted on the first runs of the other fit points predicts it (free-running ODE rates
    against the network mean at the held-out point);
``hopf``
    equilibria of model (b)'s ODE continued in p_ei, Hopf points located, and the same for
    every bootstrap replicate: a bootstrap interval of each Hopf point.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

_W = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0)


def _net_run(p_ei, t_end, seed):
    import simulate

    net = simulate.MarkovIFNetwork(p_ei=p_ei)
    return net.run(t_end=t_end, seed=seed, coarse=True, record_dt=0.1, progress=False)


def _ode_run(model, p_ei, t_end, t_burn):
    from .validation import integrate_ode

    return integrate_ode(model.ode(p_ei=p_ei), model.x0(), t_end, dt_out=0.1, t_burn=t_burn)


def _ode_rates(model, p_ei, t_end, t_burn):
    try:
        return _ode_run(model, p_ei, t_end, t_burn).rates_hz
    except Exception as exc:  # noqa: BLE001 - reported in the table
        return {"error": f"{type(exc).__name__}: {exc}"}


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


def _rel(model_rates, net_rates):
    if "error" in model_rates:
        return None
    return {q: (model_rates[q] - net_rates[q]) / net_rates[q] for q in net_rates}


def _net_mean(runs):
    """Network rate (Hz) of E and I, mean over the runs at one p_ei."""
    return {q: float(np.mean([tr.rates_hz[q] for tr in runs])) for q in ("E", "I")}


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


def _mean_sd(values):
    v = np.asarray(values, float)
    return {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            "n": int(len(v)), "values": v.tolist()}


def main(argv=None):
    """Command-line entry point of the closed-loop study (``python -m
    reduce.estimation.closed_loop --help``)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", default="0.6,0.7,0.8,0.9")
    ap.add_argument("--test", default="0.65,0.75,0.85")
    ap.add_argument("--features", default="kicks2", help="'kicks' or 'kicks2' (default)")
    ap.add_argument("--seeds", type=int, default=3, help="network runs per p_ei")
    ap.add_argument("--t-end", type=float, default=3000.0)
    ap.add_argument("--t-burn", type=float, default=300.0)
    ap.add_argument("--ode-t", type=float, default=1000.0)
    ap.add_argument("--chain-t", type=float, default=1000.0)
    ap.add_argument("--chain-seeds", default="3,5")
    ap.add_argument("--chain-scheme", default="auto",
                    help="finite-N chain scheme: auto (= step for the matrix estimand), "
                         "step or exact")
    ap.add_argument("--bootstrap", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ma", default="0.8", help="p_ei values for the analytic MA ('' = none)")
    ap.add_argument("--stages", default="rates,local,cv,fluct,hopf")
    ap.add_argument("--cv-features", default="kicks,kicks2")
    ap.add_argument("--workdir", default=".", help="trajectories and models are cached here")
    ap.add_argument("--out", default="closed_loop.json")
    a = ap.parse_args(argv)
    from pathlib import Path

    from simulate import Trajectory

    from . import FittedMarkovModel, TransitionRateEstimator
    from .validation import activity_statistics, variance_vs_window

    warnings.simplefilter("ignore")
    wd = Path(a.workdir)
    wd.mkdir(parents=True, exist_ok=True)
    stages = {s.strip() for s in a.stages.split(",")}
    fit_p = [float(v) for v in a.fit.split(",")]
    test_p = [float(v) for v in a.test.split(",")]
    ma_p = [float(v) for v in a.ma.split(",") if v.strip()]
    feat = a.features
    res = {"settings": vars(a), "timings": {}}
    if Path(a.out).exists():
        res.update({k: v for k, v in json.load(open(a.out)).items() if k != "settings"})

    # ---- network runs (cached)
    t0 = time.perf_counter()
    trajs = {}                          # p -> [traj of rep 0, 1, ...]
    for i, p in enumerate(sorted(set(fit_p + test_p + [0.8]))):
        trajs[p] = []
        for rep in range(a.seeds):
            seed = a.seed + 100 * rep + i
            f = wd / f"traj_p{p:g}_t{a.t_end:g}_s{seed}.h5"
            if f.exists():
                tr = Trajectory.load(f)
            else:
                tr = _net_run(p, a.t_end, seed)
                tr.save(f)
            tr.t_burn = a.t_burn
            trajs[p].append(tr)
    res["timings"]["simulate_s"] = time.perf_counter() - t0
    res["network_rates"] = {str(p): [tr.rates_hz for tr in v] for p, v in trajs.items()}
    _save(res, a.out)

    def _fit(path, runs, features=None, **kw):
        if path.exists():
            return FittedMarkovModel.load(path)
        t1 = time.perf_counter()
        est = TransitionRateEstimator("ma", features=features or feat, t_burn=a.t_burn, **kw)
        m = est.fit(runs).fetch_model()
        m.save(path)
        res["timings"][f"fit_{path.stem}_s"] = time.perf_counter() - t1
        return m

    singles = [_fit(wd / f"model_single_{feat}_r{rep}.h5", [trajs[0.8][rep]])
               for rep in range(a.seeds)]
    res["models"] = {"single_r0": singles[0].summary()}
    model_b = None
    if stages & {"rates", "hopf"}:
        model_b = _fit(wd / f"model_multi_{feat}_b{a.bootstrap}.h5",
                       [trajs[p][0] for p in fit_p], bootstrap=a.bootstrap,
                       workers=a.workers, seed=2)
        res["models"]["multi"] = model_b.summary()
    _save(res, a.out)

    if "rates" in stages:
        rows = []
        for p, runs in sorted(trajs.items()):
            net = {q: _mean_sd([tr.rates_hz[q] for tr in runs]) for q in ("E", "I")}
            net_mean = {q: net[q]["mean"] for q in net}
            row = {"p_ei": p, "role": "fit" if p in fit_p else "test", "network": net}
            r = _ode_rates(model_b, p, a.ode_t, a.t_burn)
            row["ode_multi"] = r
            row["ode_multi_rel_err"] = _rel(r, net_mean)
            if row["ode_multi_rel_err"] is not None:
                row["ode_multi_rel_err_per_run"] = {
                    q: [(r[q] - tr.rates_hz[q]) / tr.rates_hz[q] for tr in runs]
                    for q in ("E", "I")}
            if abs(p - 0.8) < 1e-9:
                per = [_rel(_ode_rates(m, p, a.ode_t, a.t_burn), tr.rates_hz)
                       for m, tr in zip(singles, runs)]
                row["ode_single_rel_err_per_run"] = per
                ok = [d for d in per if d is not None]
                if ok:
                    row["ode_single_rel_err"] = {q: _mean_sd([d[q] for d in ok])
                                                 for q in ("E", "I")}
            if any(abs(p - v) < 1e-9 for v in ma_p):
                row["ma"] = _ma_rates(p, a.ode_t, a.t_burn)
                row["ma_rel_err"] = _rel(row["ma"], net_mean)
            rows.append(row)
            print(json.dumps(row, default=float), flush=True)
            res["rates_table"] = rows
            _save(res, a.out)

    if "local" in stages:
        t0 = time.perf_counter()
        local = []
        fs = sorted(fit_p)
        for lo, hi in zip(fs[:-1], fs[1:]):
            mp = _fit(wd / f"model_pair_{feat}_{lo:g}_{hi:g}.h5", [trajs[lo][0], trajs[hi][0]])
            for p in sorted(trajs):
                if not lo <= p <= hi:
                    continue
                r = _ode_rates(mp, p, a.ode_t, a.t_burn)
                net = _net_mean(trajs[p])
                row = {"fit": [lo, hi], "p_ei": p, "role": "fit" if p in (lo, hi) else "test",
                       "ode": r, "network_mean": net, "rel_err": _rel(r, net)}
                local.append(row)
                print(json.dumps(row, default=float), flush=True)
            res["local_fits"] = local
            _save(res, a.out)
        res["timings"]["local_s"] = time.perf_counter() - t0

    if "cv" in stages:
        cv = {}
        fs = sorted(fit_p)
        for f in [v.strip() for v in a.cv_features.split(",") if v.strip()]:
            cv[f] = {}
            for hold in fs[1:-1]:
                mh = _fit(wd / f"model_cv_{f}_without{hold:g}.h5",
                          [trajs[p][0] for p in fs if p != hold], features=f)
                r = _ode_rates(mh, hold, a.ode_t, a.t_burn)
                net = _net_mean(trajs[hold])
                cv[f][str(hold)] = {"ode": r, "network_mean": net, "rel_err": _rel(r, net)}
                print("cv", f, hold, json.dumps(cv[f][str(hold)], default=float), flush=True)
            errs = [abs(e) for d in cv[f].values() if d["rel_err"] for e in d["rel_err"].values()]
            cv[f]["max_abs_rel_err"] = max(errs) if errs else float("nan")
        cv["selected"] = min((f for f in cv), key=lambda f: cv[f]["max_abs_rel_err"])
        res["cv"] = cv
        _save(res, a.out)

    if "fluct" in stages:
        t0 = time.perf_counter()
        seeds = [int(s) for s in a.chain_seeds.split(",") if s.strip()]
        fl = []
        for rep, (m, tr) in enumerate(zip(singles, trajs[0.8])):
            d = {"rep": rep, "network": {}, "ode": {}, "chains": []}
            for q in ("E", "I"):
                d["network"][q] = activity_statistics(tr, q, t_burn=a.t_burn)
                d["network"][q]["var_vs_window"] = variance_vs_window(tr, q, _W, a.t_burn)
            try:
                run = _ode_run(m, 0.8, a.ode_t, a.t_burn)
                d["ode"] = {q: activity_statistics(run, q, t_burn=a.t_burn) for q in ("E", "I")}
            except Exception as exc:  # noqa: BLE001
                d["ode"] = {"error": str(exc)}
            tb = min(200.0, a.chain_t / 4)
            for s in seeds:
                ch = m.chain(scheme=a.chain_scheme).run(a.chain_t, seed=s, dt=0.1, t_burn=tb)
                c = {"seed": s, "events": ch.n_events, "rates": ch.rates_hz}
                for q in ("E", "I"):
                    c[q] = activity_statistics(ch, q, t_burn=tb)
                    c[q]["var_vs_window"] = variance_vs_window(ch, q, _W, tb)
                    c[q]["var_rel"] = (c[q]["rate_var_hz2"] / d["network"][q]["rate_var_hz2"]
                                       - 1.0)
                d["chains"].append(c)
                print(json.dumps({"rep": rep, **c}, default=float), flush=True)
            fl.append(d)
            res["fluctuations"] = fl
            _save(res, a.out)
        res["timings"]["fluct_s"] = time.perf_counter() - t0

    if "hopf" in stages:
        t0 = time.perf_counter()
        hopf = {"point": _hopf_points(model_b, 0.3, 1.2), "samples": []}
        res["hopf"] = hopf
        print("hopf point", json.dumps(hopf["point"]), flush=True)
        _save(res, a.out)
        for s in model_b.samples:
            hopf["samples"].append(_hopf_points(s, 0.3, 1.2))
            print("hopf sample", json.dumps(hopf["samples"][-1]), flush=True)
            _save(res, a.out)
        pts = hopf["point"].get("HB", [])
        hopf["intervals"] = []
        for h in pts:      # each Hopf point of the point model: nearest replicate point
            near = [min(s["HB"], key=lambda v, h=h: abs(v - h)) for s in hopf["samples"]
                    if s.get("HB")]
            near = [v for v in near if abs(v - h) < 0.1]
            iv = {"point": h, "n_replicates": len(near)}
            if len(near) >= 2:
                iv["ci95"] = [float(np.quantile(near, 0.025)), float(np.quantile(near, 0.975))]
                iv["sd"] = float(np.std(near, ddof=1))
            hopf["intervals"].append(iv)
        res["timings"]["hopf_s"] = time.perf_counter() - t0
        _save(res, a.out)
    return res


if __name__ == "__main__":
    main()
