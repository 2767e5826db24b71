"""Benchmarks and numerical studies of the Markov IF simulators (docs/markov_if.md).

Usage::

    NUMBA_CACHE_DIR=/tmp/numba_cache python benchmarks/bench_markov_if.py speed
    python benchmarks/bench_markov_if.py memory
    python benchmarks/bench_markov_if.py profile        # where the stepped kernels' time goes
    python benchmarks/bench_markov_if.py convergence [--trials 32 --t-trial 3000]
    python benchmarks/bench_markov_if.py convergence-report --raw-out trials.npz
    python benchmarks/bench_markov_if.py isi-dt
    python benchmarks/bench_markov_if.py observables
    python benchmarks/bench_markov_if.py all          # everything, JSON to --json-out

Speed: seconds of CPU time (``time.process_time``) and of wall time per simulated second at
the defaults, compile (or cache-load) time apart, for the three methods and for a *peer*: a
straightforward numba loop of the same fixed-step scheme drawing with NumPy's random functions
inside ``njit`` (``np.random.normal/poisson/binomial``), recording only spike counts.
Memory: peak RSS of a child process streaming a run to disk, for two ``t_end`` values.
Convergence: E and I rates and voltage occupation of tau-leap and fixed-step at several Δt
and of the event-driven method, means over independent trials with 95 % t-intervals,
weighted polynomial fits of rate(Δt), bias-corrected histogram distances
(:mod:`simulate.markov_if.convergence`).
Observables: rates, spike synchrony index, gamma peak, MFE rate at the defaults.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

import numpy as np
from numba import njit

import simulate


# ----------------------------------------------------------------------------- peer
@njit(cache=True)
def peer_fixed_step(V, ref, H, pop, sizes, exc, lam, p, S, tau, M, M_r, tau_r, dt, n_steps,
                    seed):
    """The fixed-step scheme written plainly with NumPy's random draws inside numba."""
    # numba's np.random.* (legacy global-state API, the point of this peer)
    # ruff: noqa: NPY002
    np.random.seed(seed)
    N = V.shape[0]
    P = sizes.shape[0]
    counts = np.zeros((n_steps, P), np.int64)
    p_exit = 1.0 - math.exp(-dt / tau_r)
    nsp = np.zeros(P, np.int64)
    for k in range(n_steps):
        nsp[:] = 0
        for i in range(N):
            if ref[i]:
                if np.random.random() < p_exit:
                    ref[i] = 0
                    V[i] = 0.0
                continue
            q = pop[i]
            v = V[i]
            g = (v + M_r) / (M + M_r)
            dv = np.random.normal(lam[q] * dt, math.sqrt(lam[q] * dt))
            for r in range(P):
                if exc[r]:
                    dv += S[q, r] * H[r, i] * dt / tau[q, r]
                else:
                    dv -= S[q, r] * g * H[r, i] * dt / tau[q, r]
            v = max(v + dv, -M_r)
            if v > M:
                V[i] = 0.0
                ref[i] = 1
                nsp[q] += 1
            else:
                V[i] = v
        for i in range(N):
            q = pop[i]
            for r in range(P):
                h = H[r, i]
                rel = np.random.poisson(h * dt / tau[q, r]) if h > 0 else 0
                add = np.random.binomial(nsp[r], p[q, r]) if nsp[r] > 0 else 0
                H[r, i] = max(h + add - rel, 0)
        counts[k] = nsp
    return counts


def run_peer(t_end, seed=0):
    net = simulate.MarkovIFNetwork()
    sp = net.spec
    N = sp.n_neurons
    rng = np.random.default_rng(seed)
    args = lambda: (rng.uniform(0, sp.M, N), np.zeros(N, np.uint8),
                    np.zeros((sp.n_pop, N), np.int64),
                    np.repeat(np.arange(sp.n_pop), sp.sizes).astype(np.int64),
                    sp.sizes.astype(np.int64), sp.excitatory.copy(), sp.lam, sp.p, sp.S,
                    sp.tau, sp.M, sp.M_r, sp.tau_r, sp.dt)
    t0 = time.perf_counter()
    peer_fixed_step(*args(), 1, seed)
    compile_s = time.perf_counter() - t0
    n_steps = int(round(t_end / sp.dt))
    w0, c0 = time.perf_counter(), time.process_time()
    counts = peer_fixed_step(*args(), n_steps, seed)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    burn = int(200 / sp.dt)
    rates = 1000 * counts[burn:].sum(0) / (sp.sizes * (n_steps - burn) * sp.dt)
    return {"compile_s": compile_s, "wall_per_s": wall / (t_end / 1000),
            "cpu_per_s": cpu / (t_end / 1000), "rates_hz": rates.tolist()}


# ----------------------------------------------------------------------------- speed
def speed(t_end=5000.0, repeats=3):
    out = {}
    for method in ("fixed-step", "tau-leap", "exact"):
        net = simulate.MarkovIFNetwork(method=method)
        best = None
        for rep in range(repeats):
            tr = net.run(t_end=t_end, seed=rep, progress=False)
            res = {"compile_s": tr.meta["compile_s"], "wall_per_s": tr.meta["sim_s_per_s"],
                   "cpu_per_s": tr.meta["cpu_s_per_s"], "rates_hz": tr.rates_hz,
                   "n_events_per_s": tr.meta["n_events"] / (t_end / 1000)}
            if rep == 0:
                first_compile = res["compile_s"]
            if best is None or res["cpu_per_s"] < best["cpu_per_s"]:
                best = res
        best["compile_s"] = first_compile      # the first call compiles or loads the cache
        out[method] = best
        print(method, json.dumps(best), flush=True)
    best = None
    for rep in range(repeats):
        res = run_peer(t_end, seed=rep)
        if rep == 0:
            first_compile = res["compile_s"]
        if best is None or res["cpu_per_s"] < best["cpu_per_s"]:
            best = res
    best["compile_s"] = first_compile
    out["peer (numba + np.random)"] = best
    out["peer_ratio_cpu"] = best["cpu_per_s"] / out["fixed-step"]["cpu_per_s"]
    print("peer", json.dumps(best), "ratio", out["peer_ratio_cpu"], flush=True)
    return out


# ----------------------------------------------------------------------------- memory
def _mem_child(t_end, path, method):
    net = simulate.MarkovIFNetwork(method=method)
    net.run(t_end=10.0, seed=0, progress=False)           # compile / load cache first
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    net.run(t_end=t_end, seed=0, out=path, progress=False, load="none")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tr = net.run(t_end=t_end, seed=0, out=path, progress=False)      # default load="rates"
    peak_rates = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"t_end": t_end, "rss_before_mb": base / 1024, "peak_rss_mb": peak / 1024,
                      "peak_rss_mb_with_rates_loaded": peak_rates / 1024,
                      "file_mb": os.path.getsize(path) / 2**20, "rates_hz": tr.rates_hz}))


def memory(t_ends=(2000.0, 20000.0), method="fixed-step"):
    import tempfile

    out = []
    with tempfile.TemporaryDirectory() as d:
        for t_end in t_ends:
            res = subprocess.run(
                [sys.executable, __file__, "_memchild", str(t_end), os.path.join(d, "m.h5"),
                 method], capture_output=True, text=True, check=True)
            out.append(json.loads(res.stdout.strip().splitlines()[-1]))
            print(out[-1], flush=True)
    return out


# ----------------------------------------------------------------------------- profile
#: Block profile: each entry replaces one sampler of a kernel by a cheap stand-in of about the
#: same mean (one uniform and a multiply), in a private copy of the kernel sources; the time
#: difference to the unmodified copy is what that block's exact sampler costs beyond one
#: uniform. The stand-ins change the dynamics slightly (rates move by a few %), so the
#: differences are estimates, not an exact split.
_ALIAS_FO = "add = alias_pick(u, fo_tab, (q * P + r) * w, nsp[r])"
_STRIPS = {
    "tau-leap": {
        "release draws": [("kernels_tauleap.py", "rr = alias_pick(u, ba, (pw * _HT + h) * W, _KB)",
                           "rr = min(h, int(u * (2.0 * h * rrel[pw] + 1.0)))")],
        "external-kick draw": [("kernels_tauleap.py",
                                "ke = alias_pick(u, ea, (q * 2 + 1) * W, _KB)",
                                "ke = int(u * (2.0 * mu_ext[q] + 1.0))")],
    },
    "fixed-step": {
        "release draws": [("kernels_fixed.py", "rr = alias_pick(u, pa, (pw * _HT + h) * W, _KP)",
                           "rr = int(u * (2.0 * h * qrel[pw] + 1.0))")],
        # stand-in: uniform on (−√3, √3) (unit variance) from the same 32 bits
        "normal draw": [("kernels_fixed.py",
                         "if abs(hz) < zkn[iz]:\n                z = hz * zwn[iz]",
                         "if True:\n                z = hz * 8.06549e-10")],
    },
}
_FANOUT = [("kernels_fixed.py", _ALIAS_FO, "add = int(u * (2.0 * nsp[r] * p[q, r] + 1.0))")]


def _kernel_copy(edits):
    """Import a private copy of rng.py, kernels_fixed.py, kernels_tauleap.py with ``edits``
    ((file, old, new) text replacements) applied; returns the copied package's modules."""
    import importlib
    import tempfile

    import simulate.markov_if as mif

    src = os.path.dirname(mif.__file__)
    d = tempfile.mkdtemp(prefix="mif_profile_")
    name = os.path.basename(d)
    os.makedirs(os.path.join(d, name))
    open(os.path.join(d, name, "__init__.py"), "w").close()
    for f in ("rng.py", "kernels_fixed.py", "kernels_tauleap.py"):
        with open(os.path.join(src, f)) as fh:
            text = fh.read()
        for ef, old, new in edits:
            if ef == f:
                assert old in text, (f, old)
                text = text.replace(old, new)
        with open(os.path.join(d, name, f), "w") as fh:
            fh.write(text)
    sys.path.insert(0, d)
    return importlib.import_module(f"{name}.kernels_fixed"), \
        importlib.import_module(f"{name}.kernels_tauleap")


def _kernel_time(kernel, method, sim_ms, rec_steps, seed=0):
    """CPU s per simulated s of one kernel call of ``sim_ms`` after a 200-ms burn-in (state,
    arguments and recording as the engine sets them up: rates every step, samples every
    ``rec_steps`` steps, spikes)."""
    from simulate.markov_if import rng as _rng
    from simulate.markov_if.engine import _buffers, _initial_state, default_hist_edges

    spec = simulate.MarkovIFNetwork(method=method).spec
    st = _initial_state(spec, "real", seed)
    edges = default_hist_edges(spec.M, spec.M_r)
    s = _rng.seed_state(seed, 1)
    a = (st["pop"], spec.sizes.astype(np.int64), spec.excitatory.copy(), spec.lam.astype(float),
         spec.p.astype(float), spec.S.astype(float), spec.tau.astype(float), float(spec.M),
         float(spec.M_r), float(spec.tau_r), float(spec.tau_m), float(spec.dt),
         spec.connectivity == "fixed", st["conn"])

    def call(step0, ns):
        h, r, m, v, c = _buffers(spec, ns // rec_steps + 1, len(edges) - 1, False)
        cap = spec.n_neurons * (ns // 2 + 1)
        kernel(st["V"], st["ref"], st["H"], *a, step0, ns, 1, np.zeros((ns + 1, spec.n_pop),
               np.int64), rec_steps, edges, h, r, m, v, False, edges, c, np.empty(cap),
               np.empty(cap, np.int64), s, np.zeros(2))

    burn = int(round(200.0 / spec.dt))
    call(0, burn)                                   # compile and burn in
    ns = int(round(sim_ms / spec.dt))
    c0 = time.process_time()
    call(burn, ns)
    return (time.process_time() - c0) / (sim_ms / 1000.0)


def profile(sim_ms=1000.0, repeats=4):
    """Block profile of the stepped kernels (kernel alone, no engine): the unmodified kernel,
    each sampler replaced by a cheap stand-in (``_STRIPS``), all of them together, and
    samples of the state switched off. Variants run interleaved; minimum over ``repeats``."""
    out = {}
    for method, strips in _STRIPS.items():
        kname = "run_tauleap" if method == "tau-leap" else "run_fixed"
        variants = {"full kernel": [], **strips, "fan-out draws": _FANOUT}
        variants["all samplers cheap"] = [e for v in variants.values() for e in v]
        kernels = {}
        for label, edits in variants.items():
            kf, kt = _kernel_copy(edits)
            kernels[label] = getattr(kt if method == "tau-leap" else kf, kname)
        times = {label: [] for label in list(kernels) + ["full kernel, no samples"]}
        for _ in range(repeats):
            for label, k in kernels.items():
                times[label].append(_kernel_time(k, method, sim_ms, 10))
            times["full kernel, no samples"].append(
                _kernel_time(kernels["full kernel"], method, sim_ms, 10**9))
        res = {label: min(t) for label, t in times.items()}
        full = res["full kernel"]
        out[method] = {label: {"cpu_per_s": t, "saving_vs_full": full - t}
                       for label, t in res.items()}
        for label, t in res.items():
            print(f"{method:10s} {label:26s} {t:.4f} CPU s/s  (full - this: {full - t:+.4f})",
                  flush=True)
    return out


# ----------------------------------------------------------------------------- convergence
def convergence(trials=32, t_trial=3000.0, burn=200.0, dts=(0.1, 0.05, 0.025, 0.0125),
                fixed=True, workers=2, seed0=1000, raw_out=None):
    """The study of tests/simulate/test_markov_if_convergence.py, plus the fixed-step scheme
    at the same steps (a finding: it does not converge to the jump process). Configurations
    run in the order given; ``raw_out`` (.npz) receives the per-trial rates and occupation
    vectors after each configuration."""
    from simulate.markov_if.convergence import hist_distance, mean_ci, poly_fit, run_trials

    seeds = [seed0 + k for k in range(trials)]
    configs = [("exact", 0.1)] + [("tau-leap", d) for d in dts]
    if fixed:
        configs += [("fixed-step", d) for d in dts]
    raw, table = {}, {}
    for method, dt in configs:
        t0 = time.perf_counter()
        rates, occ = run_trials(method, dt, seeds, t_trial, burn, workers=workers)
        key = method if method == "exact" else f"{method} dt={dt:g}"
        raw[key] = (rates, occ)
        if raw_out:
            np.savez(raw_out, **{f"{k} {what}": v[n] for k, v in raw.items()
                                 for n, what in enumerate(("rates", "occ"))})
        mean, half = mean_ci(rates)
        table[key] = {"E": mean[0], "I": mean[1], "E_ci95": half[0], "I_ci95": half[1],
                      "E_ci_rel": half[0] / mean[0], "I_ci_rel": half[1] / mean[1],
                      "wall_s": time.perf_counter() - t0}
        if method != "exact":
            for j, pop in enumerate(("E", "I")):
                D, se = hist_distance(occ[:, j], raw["exact"][1][:, j])
                table[key][f"hist_D_{pop}"], table[key][f"hist_D_{pop}_se"] = D, se
        print(key, json.dumps(table[key], default=float), flush=True)
    ex = table["exact"]
    t975 = _t975(trials)
    fits = {}
    dts = sorted(dts, reverse=True)
    for method in ("tau-leap",) + (("fixed-step",) if fixed else ()):
        for pop in ("E", "I"):
            d = np.array(dts)
            y = np.array([table[f"{method} dt={v:g}"][pop] for v in dts])
            se = np.array([table[f"{method} dt={v:g}"][f"{pop}_ci95"] for v in dts]) / t975
            for deg, sel in ((1, slice(0, 3)), (1, slice(1, None)), (2, slice(None))):
                coef, cov, chi2, dof = poly_fit(d[sel], y[sel], se[sel], degree=deg)
                fits[f"{method} {pop} deg{deg} dt{d[sel].max():g}-{d[sel].min():g}"] = {
                    "coef": coef.tolist(), "se": np.sqrt(np.diag(cov)).tolist(),
                    "chi2": chi2, "dof": dof, "exact": ex[pop], "exact_se": ex[f"{pop}_ci95"]
                    / t975, "z_intercept": (coef[0] - ex[pop]) / math.hypot(
                        math.sqrt(cov[0, 0]), ex[f"{pop}_ci95"] / t975)}
            fits[f"{method} {pop} rel_diff"] = {f"{v:g}": (y[k] - ex[pop]) / ex[pop]
                                                for k, v in enumerate(dts)}
    for k, v in fits.items():
        print(k, json.dumps(v, default=float), flush=True)
    return {"table": table, "fits": fits, "trials": trials, "t_trial": t_trial, "burn": burn,
            "seeds": [seeds[0], seeds[-1]]}


def convergence_report(raw_path):
    """Summary of a ``convergence --raw-out`` file: per tau-leap step the rate offsets from
    exact with their standard errors, the per-trial SD, the bias-corrected histogram distance
    D ± SE per population, and weighted polynomial fits of rate(Δt) over several ranges."""
    from simulate.markov_if.convergence import hist_distance, mean_ci, poly_fit

    z = np.load(raw_path)
    ex, exo = z["exact rates"], z["exact occ"]
    t975 = _t975(ex.shape[0])
    m0, h0 = mean_ci(ex)
    out = {"exact": {"mean": m0.tolist(), "se": (h0 / t975).tolist(),
                     "sd": ex.std(0, ddof=1).tolist()}}
    dts = sorted((float(k.split("dt=")[1].split()[0]) for k in z.files
                  if k.startswith("tau-leap") and k.endswith("rates")), reverse=True)
    ys, ses = [], []
    for dt in dts:
        r, o = z[f"tau-leap dt={dt:g} rates"], z[f"tau-leap dt={dt:g} occ"]
        m, h = mean_ci(r)
        ys.append(m)
        ses.append(h / t975)
        out[f"tau-leap dt={dt:g}"] = {
            "mean": m.tolist(), "offset": (m - m0).tolist(),
            "offset_se": (np.hypot(h, h0) / t975).tolist(), "sd": r.std(0, ddof=1).tolist(),
            "hist_D": [hist_distance(o[:, q], exo[:, q]) for q in range(o.shape[1])]}
    d, ys, ses = np.array(dts), np.array(ys), np.array(ses)
    for j in range(ys.shape[1]):
        for name, sel, deg in (("linear 3 largest", slice(0, 3), 1),
                               ("linear 3 smallest", slice(-3, None), 1),
                               ("quadratic all", slice(None), 2), ("linear all", slice(None), 1)):
            c, cov, chi2, dof = poly_fit(d[sel], ys[sel, j], ses[sel, j], deg)
            out[f"pop {j} {name}"] = {
                "coef": c.tolist(), "se": np.sqrt(np.diag(cov)).tolist(), "chi2": chi2,
                "dof": dof, "z_intercept_vs_exact": (c[0] - m0[j]) / math.hypot(
                    math.sqrt(cov[0, 0]), h0[j] / t975)}
    for k, v in out.items():
        print(k, json.dumps(v, default=float), flush=True)
    return out


def _t975(n):
    from scipy import stats

    return float(stats.t.ppf(0.975, n - 1))


# ----------------------------------------------------------------------------- observables
def observables_at_defaults(t_end=10000.0, seed=0):
    from simulate import observables as obs

    out = {}
    for method in ("fixed-step", "exact", "tau-leap"):
        tr = simulate.MarkovIFNetwork(method=method).run(t_end=t_end, seed=seed, progress=False)
        act = tr.activity()
        res = {"rates_hz": tr.rates_hz}
        res["ssi_E"] = obs.spike_synchrony_index(act, "E", t_burn=200.0)
        res["ssi_I"] = obs.spike_synchrony_index(act, "I", t_burn=200.0)
        spec = obs.power_spectrum(act, "E", t_burn=200.0)
        gp = obs.gamma_peak(spec)
        res["gamma_peak_hz"] = gp.frequency_hz
        res["gamma_band_power"] = gp.band_power
        m = obs.detect_mfes(act, "E", t_burn=200.0)
        res["mfe_rate_hz"] = m.rate_hz
        res["mfe_mean_height"] = float(np.mean(m.heights)) if len(m.heights) else 0.0
        # chance level of the SSI for independent Poisson neurons at the same rate
        r = tr.rates_hz["E"] / 1000.0
        res["ssi_E_chance"] = (1 + 299 * (1 - math.exp(-2 * 0.5 * r))) / 300
        out[method] = res
        print(method, json.dumps(res), flush=True)
    return out


# ----------------------------------------------------------------------------- checks
def closed_form_checks(seed=5):
    """Uncoupled ISI per method, and kick moments with S = 0 vs each integrator's formula."""
    uncoupled = {"p_ee": 0.0, "p_ie": 0.0, "p_ei": 0.0, "p_ii": 0.0}
    out = {"isi": {}, "kicks": {}}
    for m in ("exact", "fixed-step", "tau-leap"):
        tr = simulate.MarkovIFNetwork(method=m, **uncoupled).run(t_end=4000.0, seed=seed,
                                                                 progress=False)
        t, i = tr["spikes/t"], tr["spikes/i"]
        o = np.lexsort((t, i))
        d = np.diff(t[o])[i[o][1:] == i[o][:-1]]
        out["isi"][m] = {"mean": d.mean(), "se": d.std(ddof=1) / math.sqrt(len(d)),
                         "n": len(d), "closed_form": 100 / 7 + 4.0}
        print("ISI", m, out["isi"][m], flush=True)
    for m in ("exact", "fixed-step", "tau-leap"):
        net = simulate.MarkovIFNetwork(method=m, s_ee=0.0, s_ie=0.0, s_ei=0.0, s_ii=0.0)
        tr = net.run(t_end=4000.0, seed=seed, progress=False, spikes=False)
        sp = net.spec
        for pw in ("EE", "IE", "EI", "II"):
            q, r = sp.populations.index(pw[0]), sp.populations.index(pw[1])
            sel = tr["samples/t"] >= 100.0
            mr = tr[f"samples/kick_mean/{pw}"][sel]
            N = sp.sizes[q]
            vr = tr[f"samples/kick_var/{pw}"][sel] * N / (N - 1)
            F = tr[f"rate/{sp.populations[r]}"][tr["rate/t"] >= 100.0].sum() / (tr.t_end - 100)
            p, tau, dt = sp.p[q, r], sp.tau[q, r], sp.dt
            mb = mr.mean()
            if m == "exact":
                mp, spred = p * F * tau, (mb + p * (1 - p) * F * tau) / 2
            elif m == "fixed-step":
                mp, spred = p * F * tau, (mb + p * (1 - p) * F * tau) / (2 - dt / tau)
            else:
                rr = 1 - math.exp(-dt / tau)
                mp = p * F * dt / rr
                spred = (rr * (1 - rr) * mb + p * (1 - p) * F * dt) / (rr * (2 - rr))
            s_cont = (mb + p * (1 - p) * F * tau) / 2
            bse = lambda x: np.std([b.mean() for b in np.array_split(x, 10)], ddof=1) / 3.1623
            out["kicks"][f"{m} {pw}"] = {"m": mb, "m_pred": mp, "m_se": bse(mr), "s": vr.mean(),
                                         "s_pred": spred, "s_se": bse(vr),
                                         "s_continuous_formula": s_cont}
            print("kicks", m, pw, out["kicks"][f"{m} {pw}"], flush=True)
    return out


def isi_dt(dts=(0.1, 0.05, 0.025, 0.0125), seeds=(5, 6), t_end=4000.0):
    """Mean ISI of uncoupled neurons (p = 0) against the closed form M/λ + τ_R, for exact and
    for tau-leap at several Δt, with a weighted linear fit of the tau-leap excess over Δt."""
    from simulate.markov_if.convergence import poly_fit

    unc = {"p_ee": 0.0, "p_ie": 0.0, "p_ei": 0.0, "p_ii": 0.0}
    cf = 100 / 7 + 4.0
    out = {}
    for m, dt in [("exact", 0.1)] + [("tau-leap", d) for d in dts]:
        ds = []
        for seed in seeds:
            tr = simulate.MarkovIFNetwork(method=m, dt=dt, **unc).run(
                t_end=t_end, seed=seed, progress=False, record_dt=t_end)
            t, i = tr["spikes/t"], tr["spikes/i"]
            o = np.lexsort((t, i))
            ds.append(np.diff(t[o])[i[o][1:] == i[o][:-1]])
        d = np.concatenate(ds)
        key = m if m == "exact" else f"tau-leap dt={dt:g}"
        out[key] = {"excess_ms": d.mean() - cf, "se": d.std(ddof=1) / math.sqrt(len(d)),
                    "n": len(d)}
        print(key, json.dumps(out[key], default=float), flush=True)
    y = np.array([out[f"tau-leap dt={v:g}"]["excess_ms"] for v in dts])
    se = np.array([out[f"tau-leap dt={v:g}"]["se"] for v in dts])
    coef, cov, chi2, dof = poly_fit(dts, y, se, degree=1)
    out["fit"] = {"a": coef[0], "b": coef[1], "se": np.sqrt(np.diag(cov)).tolist(),
                  "chi2": chi2, "dof": dof}
    print("fit", json.dumps(out["fit"], default=float), flush=True)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["speed", "memory", "profile", "convergence",
                                     "convergence-report", "isi-dt", "observables", "checks",
                                     "all", "_memchild"])
    ap.add_argument("args", nargs="*")
    ap.add_argument("--trials", type=int, default=32)
    ap.add_argument("--t-trial", type=float, default=3000.0)
    ap.add_argument("--json-out", default=None)
    ap.add_argument("--dts", type=float, nargs="+", default=[0.1, 0.05, 0.025, 0.0125])
    ap.add_argument("--no-fixed", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--raw-out", default=None)
    a = ap.parse_args(argv)
    if a.what == "_memchild":
        _mem_child(float(a.args[0]), a.args[1], a.args[2])
        return
    if a.what == "convergence-report":
        res = convergence_report(a.raw_out)
        if a.json_out:
            with open(a.json_out, "w") as f:
                json.dump(res, f, indent=1, default=float)
        return
    res = {"machine": {"cpus": os.cpu_count(), "load_avg": os.getloadavg()}}
    if a.what in ("speed", "all"):
        res["speed"] = speed()
    if a.what in ("memory", "all"):
        res["memory"] = memory()
    if a.what == "profile":
        res["profile"] = profile()
    if a.what == "isi-dt":
        res["isi_dt"] = isi_dt()
    if a.what in ("checks", "all"):
        res["checks"] = closed_form_checks()
    if a.what in ("observables", "all"):
        res["observables"] = observables_at_defaults()
    if a.what in ("convergence", "all"):
        res["convergence"] = convergence(a.trials, a.t_trial, dts=a.dts, fixed=not a.no_fixed,
                                         workers=a.workers, raw_out=a.raw_out)
    res["machine"]["load_avg_end"] = os.getloadavg()
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(res, f, indent=1, default=float)


if __name__ == "__main__":
    main()
