# ruff: noqa: B023  -- the timed lambdas are called immediately inside the loops
"""Benchmarks of the LIF and hybrid simulators, side by side with Brian2 in one run.

    python benchmarks/bench_lif.py coba        # COBA benchmark: ours vs Brian2 runtime and
                                               # C++ standalone (compile/build times apart)
    python benchmarks/bench_lif.py scaling     # wall/CPU time vs N (1e3..1e5) and vs K; memory
    python benchmarks/bench_lif.py crosscheck  # Sanzeni network, 5 connectivity seeds each,
                                               # rates and CVs vs Brian2 (combined SE)
    python benchmarks/bench_lif.py kscaling    # wall/CPU time vs K at a fixed rate (10 Hz)
    python benchmarks/bench_lif.py brunel      # Brunel network vs Brian2 (spike files)
    python benchmarks/bench_lif.py k1e4        # one slow run at K = 10^4 (procedural)
    python benchmarks/bench_lif.py hybrid      # hybrid network cost vs n

Brian2 runs in its own venv (``bash benchmarks/brian2_env.sh``); pass ``--brian2 PYTHON`` if
it is not at /work/brian2-venv/bin/python. Results print as Markdown tables and, with
``--json FILE``, as JSON. Times: wall (``time.perf_counter``) and CPU
(``time.process_time``, or getrusage of the child for Brian2's standalone binary); on a
shared machine CPU time is the fairer number, and both are reported.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

os.environ.setdefault("NUMBA_CACHE_DIR", "/tmp/numba_cache")
HERE = os.path.dirname(os.path.abspath(__file__))
BRIAN2_DEFAULT = "/work/brian2-venv/bin/python"


def _timed(fn):
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def _brian2(python, *args, timeout=3600):
    cmd = [python, os.path.join(HERE, "brian2_peer.py"), *args]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if res.returncode != 0:
        raise RuntimeError(f"brian2 peer failed: {res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- COBA
def bench_coba(args):
    import simulate

    t_end = args.t_end
    net = simulate.ConductanceLIFNetwork(mode="coba-benchmark")
    # first call: numba compilation (or loading the on-disk cache)
    _, w_first, c_first = _timed(lambda: net.run(10.0, seed=0, progress=False))
    rows = []
    for r in range(args.repeats):
        traj, w, c = _timed(lambda: net.run(t_end, seed=r, progress=False,
                                            record_spikes=False, record_dt=10.0))
        rows.append({"wall_s": w, "cpu_s": c, "kernel_s": traj.meta["kernel_time_s"],
                     "kernel_cpu_s": traj.meta["kernel_cpu_s"],
                     "connect_s": traj.meta["connect_time_s"],
                     "connect_cpu_s": traj.meta["connect_cpu_s"],
                     "rate_hz": traj.meta["n_spikes"] / 4000 / (t_end / 1000.0)})
    ours = {
        "first_call_wall_s": w_first, "first_call_cpu_s": c_first,
        "wall_s": min(r["wall_s"] for r in rows), "cpu_s": min(r["cpu_s"] for r in rows),
        "kernel_s": min(r["kernel_s"] for r in rows),
        "kernel_cpu_s": min(r["kernel_cpu_s"] for r in rows),
        "connect_s": min(r["connect_s"] for r in rows),
        "connect_cpu_s": min(r["connect_cpu_s"] for r in rows),
        "rate_hz": float(np.mean([r["rate_hz"] for r in rows])),
    }
    out = {"t_end_ms": t_end, "ours": ours, "repeats": rows}
    if not args.no_brian2:
        out["brian2_runtime"] = _brian2(args.brian2, "coba", "--device", "runtime",
                                        "--t-end", str(t_end))
        out["brian2_standalone"] = _brian2(args.brian2, "coba", "--device", "cpp_standalone",
                                           "--t-end", str(t_end))
    per_s = 1000.0 / t_end
    lines = ["| simulator | build/compile (s) | network setup (s) | simulation wall (s per "
             "sim. s) | simulation CPU (s per sim. s) | rate (Hz) |", "|---|---|---|---|---|---|"]
    lines.append(f"| snnreduce (numba) | {ours['first_call_wall_s']:.2f} (first call) | "
                 f"{ours['connect_s']:.3f} | {ours['kernel_s'] * per_s:.3f} | "
                 f"{ours['kernel_cpu_s'] * per_s:.3f} | {ours['rate_hz']:.1f} |")
    b = out.get("brian2_runtime")
    if b:
        lines.append(f"| Brian2 runtime (cython) | {b['build_compile_s']:.1f} | (in build) | "
                     f"{b['simulation_s'] * per_s:.3f} | {b['simulation_cpu_s'] * per_s:.3f} | "
                     f"{b['rate_hz']:.1f} |")
    b = out.get("brian2_standalone")
    if b:
        # Brian2's standalone profiling uses std::clock(): CPU time of the code objects
        lines.append(f"| Brian2 C++ standalone | {b['build_compile_s']:.1f} | "
                     f"{b['synapse_create_s']:.3f} (CPU) | n/a (binary total "
                     f"{b['run_wall_s'] * per_s:.3f} incl. setup and I/O) | "
                     f"{b['simulation_s'] * per_s:.3f} | {b['rate_hz']:.1f} |")
        ratio = ours["kernel_cpu_s"] / b["simulation_s"]
        out["ratio_vs_standalone_cpu"] = ratio
        lines.append(f"\nratio (simulation CPU time, ours / Brian2 C++ standalone): {ratio:.2f}")
        if "run_cpu_s" in b:
            r2 = (ours["kernel_cpu_s"] + ours["connect_cpu_s"]) / b["run_cpu_s"]
            out["ratio_vs_standalone_cpu_incl_setup"] = r2
            lines.append(f"ratio (CPU incl. network setup, ours / whole standalone binary): "
                         f"{r2:.2f}")
    return out, "\n".join(lines)


# ----------------------------------------------------------------------------- scaling
def _rss_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def bench_scaling(args):
    import simulate
    from simulate.lif.connectivity import build_csr

    out = {"N": [], "K": [], "memory": []}
    lines = ["COBA-type network, in-degree fixed at 80 (p = 80/N), 200 ms:",
             "", "| N | synapses | connect (s) | kernel wall (s per sim. s) | "
             "CPU (s per sim. s) | rate (Hz) |", "|---|---|---|---|---|---|"]
    for N in args.sizes:
        n_e = int(0.8 * N)
        net = simulate.ConductanceLIFNetwork(mode="coba-benchmark", n_e=n_e, n_i=N - n_e,
                                             p=min(1.0, 80.0 / N))
        net.run(5.0, seed=0, progress=False)
        traj, w, c = _timed(lambda: net.run(200.0, seed=1, progress=False,
                                            record_spikes=False, record_dt=10.0))
        row = {"N": N, "n_synapses": traj.meta["n_synapses"],
               "connect_s": traj.meta["connect_time_s"],
               "kernel_per_sim_s": traj.meta["kernel_time_s"] * 5,
               "cpu_per_sim_s": traj.meta["kernel_cpu_s"] * 5,
               "rate_hz": traj.meta["n_spikes"] / N / 0.2}
        out["N"].append(row)
        lines.append(f"| {N} | {row['n_synapses']} | {row['connect_s']:.2f} | "
                     f"{row['kernel_per_sim_s']:.3f} | {row['cpu_per_sim_s']:.3f} | "
                     f"{row['rate_hz']:.1f} |")
    lines += ["", "Sanzeni network (models.md §4), c = 10, a = 0.01·log(100)/log(K) "
              "(log rule), dt = 0.05 ms, 100 ms:", "",
              "| K | N | synapses | connectivity | kernel wall (s per sim. s) | "
              "CPU (s per sim. s) | mean rate E over the 100 ms, transient included (Hz) |",
              "|---|---|---|---|---|---|---|"]
    for K in args.ks:
        for conn in ("stored", "procedural"):
            net = simulate.ConductanceLIFNetwork(K=K, scaling="log", K0=100, a0=0.01,
                                                 connectivity=conn)
            net.run(1.0, seed=0, progress=False, record_dt=1.0)
            traj, w, c = _timed(lambda: net.run(100.0, seed=1, progress=False,
                                                record_spikes=False, record_dt=10.0))
            row = {"K": K, "N": 2 * net.params["n_e"], "connectivity": conn,
                   "n_synapses": net.n_synapses(), "kernel_per_sim_s":
                   traj.meta["kernel_time_s"] * 10,
                   "cpu_per_sim_s": traj.meta["kernel_cpu_s"] * 10,
                   "rate_e_hz": traj.rates_hz["E"] if traj.t_end > traj.t_burn else
                   float(np.sum(traj["rate/E"]) * 1000 / net.params["n_e"] / 100.0)}
            out["K"].append(row)
            lines.append(f"| {K} | {row['N']} | {row['n_synapses']} | {conn} | "
                         f"{row['kernel_per_sim_s']:.2f} | {row['cpu_per_sim_s']:.2f} | "
                         f"{row['rate_e_hz']:.1f} |")
    # memory per synapse of the stored table (procedural: none)
    net = simulate.ConductanceLIFNetwork(K=300)
    spec = net.spec()
    ptr, idx, dly = build_csr(spec.n_total, spec.paths, spec.dt)
    n_syn = int(ptr[-1])
    mem = {"n_synapses": n_syn, "bytes_per_synapse_stored":
           (idx.nbytes + dly.nbytes + ptr.nbytes) / n_syn,
           "bytes_per_synapse_procedural": 0.0,
           "ring_buffer_bytes": 2 * 4 * (spec.max_delay_steps + 1) * spec.n_total,
           "peak_rss_mb": _rss_mb()}
    out["memory"] = mem
    lines += ["", f"Memory: stored table {mem['bytes_per_synapse_stored']:.2f} bytes per synapse "
              f"(int32 target + int16 delay + row pointers), procedural 0 bytes per synapse; "
              f"procedural delivery uses a dense buffer of 8·(D+1)·N bytes (D = max delay in "
              f"steps; {mem['ring_buffer_bytes'] / 1e6:.1f} MB at K = 300, dt = 0.05 ms), stored "
              f"delivery queues 4 bytes per spike in flight."]
    return out, "\n".join(lines)


def bench_kscaling(args):
    """Cost vs K at a fixed firing rate: a(K) solves ν* = Φ(ν_X + ν*, ν*) for ν* = 10 Hz
    (additive theory, ν_X = 5 Hz), so the synaptic events per simulated second grow like
    N·K = cK² and the neuron updates like N = 2cK."""
    import simulate
    from reduce.meanfield.conductance import ConductanceTheory

    nu_x, target = 5.0, 10.0
    out = []
    lines = [f"Sanzeni network, c = {args.c:g} (N = 2cK), ν_X = {nu_x:g} Hz, a(K) chosen so that "
             f"the additive mean field has a fixed point at {target:g} Hz, dt = 0.05 ms, "
             f"{args.t_end:g} ms (transient included):", "",
             "| K | a | N | synapses | connectivity | rate E (Hz) | synaptic events per sim. s "
             "| kernel wall (s per sim. s) | CPU (s per sim. s) | CPU ns per event |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for K in args.ks:
        th = ConductanceTheory(K=K, a=0.01, nu_x=nu_x)
        a = th.a_for_rate(K, target, nu_x + target, target)
        conn = "stored" if K <= 1000 else "procedural"
        net = simulate.ConductanceLIFNetwork(K=K, a=a, nu_x=nu_x, c=args.c, connectivity=conn)
        net.run(1.0, seed=0, progress=False, record_dt=1.0)
        traj, w, c = _timed(lambda: net.run(args.t_end, seed=1, progress=False,
                                            record_spikes=False, record_dt=10.0, t_burn=0.0))
        n = net.params["n_e"]
        k_i = int(round(net.params["gamma"] * K))
        # an E spike reaches K/n of each population's 2n neurons -> 2K targets; I: 2 gamma K
        events = float(traj["rate/E"].sum() * 2 * K + traj["rate/I"].sum() * 2 * k_i)
        scale = 1000.0 / args.t_end
        row = {"K": K, "a": a, "N": 2 * n, "connectivity": conn,
               "n_synapses": net.n_synapses(), "rate_e_hz": float(traj["rate/E"].sum()) / n
               * scale, "events_per_sim_s": events * scale,
               "kernel_wall_per_sim_s": traj.meta["kernel_time_s"] * scale,
               "cpu_per_sim_s": traj.meta["kernel_cpu_s"] * scale,
               "wall_s": w, "cpu_s": c}
        row["ns_per_event"] = (1e9 * row["cpu_per_sim_s"] / row["events_per_sim_s"]
                               if events else float("nan"))
        out.append(row)
        lines.append(f"| {K} | {a:.5f} | {row['N']} | {row['n_synapses']:.3g} | {conn} | "
                     f"{row['rate_e_hz']:.1f} | {row['events_per_sim_s']:.3g} | "
                     f"{row['kernel_wall_per_sim_s']:.2f} | {row['cpu_per_sim_s']:.2f} | "
                     f"{row['ns_per_event']:.0f} |")
        print(lines[-1], file=sys.stderr, flush=True)
    return out, "\n".join(lines)


# ----------------------------------------------------------------------------- cross-check
def bench_crosscheck(args):
    import simulate
    from simulate.spike_stats import summary_stats

    ours = []
    if args.ours_results:
        with open(args.ours_results) as f:
            ours = json.load(f)["results"]["ours"]
    for s in range(args.seeds if not ours else 0):
        net = simulate.ConductanceLIFNetwork(K=args.K, c=10, a=args.a, g=20.0, nu_x=20.0,
                                             dt=0.01, conn_seed=s)
        traj, w, c = _timed(lambda: net.run(args.t_end, seed=s, progress=False,
                                            record_dt=10.0))
        st = summary_stats(traj, args.t_burn, args.t_end)
        ours.append({"seed": s, "wall_s": w, "cpu_s": c, "rate_E": st["E"]["rate_mean_hz"],
                     "rate_I": st["I"]["rate_mean_hz"], "cv_E": st["E"]["cv_mean"],
                     "cv_I": st["I"]["cv_mean"]})
        print(json.dumps(ours[-1]), file=sys.stderr)
    if args.brian2_results:
        with open(args.brian2_results) as f:
            theirs = [json.loads(line) for line in f if line.strip()]
    else:
        theirs = [_brian2(args.brian2, "sanzeni", "--seed", str(s), "--t-end",
                          str(args.t_end), "--t-burn", str(args.t_burn), "--K", str(args.K),
                          "--a", str(args.a)) for s in range(args.seeds)]
    lines = [f"K = {args.K}, c = 10 (N = {20 * args.K}), a = {args.a}, g = 20, ν_X = 20 Hz, "
             f"dt = 0.01 ms, {args.t_end / 1000:g} s with {args.t_burn / 1000:g} s burn-in, "
             f"{len(ours)} (ours) and {len(theirs)} (Brian2) connectivity seeds.", ""]
    out = {"ours": ours, "brian2": theirs}
    out["z"], rows = _seed_table(ours, theirs, ("rate_E", "rate_I", "cv_E", "cv_I"))
    lines += rows
    return out, "\n".join(lines)


# ----------------------------------------------------------------------------- Brunel
def brunel_stats(path, t_burn):
    """Rates, ISI CV and population synchrony from a spike file (``.npz`` with t, i, n_e,
    n_i, t_end), by the same code for both simulators."""
    from simulate.spike_stats import population_oscillation, summary_stats

    d = np.load(path)
    spikes = (d["t"], d["i"].astype(np.int64), {"E": int(d["n_e"]), "I": int(d["n_i"])})
    t_end = float(d["t_end"])
    st = summary_stats(spikes, t_burn, t_end, min_spikes=5)
    osc = population_oscillation(spikes, "E", t_burn, t_end)
    return {"rate_E": st["E"]["rate_mean_hz"], "rate_I": st["I"]["rate_mean_hz"],
            "cv_E": st["E"]["cv_mean"], "cv_I": st["I"]["cv_mean"],
            "modulation_E": osc["rel_modulation"], "peak_hz": osc["peak_hz"],
            "peak_over_floor": osc["peak_over_floor"], "fano_E": osc["fano"]}


def _seed_table(ours, theirs, keys):
    lines = ["| quantity | snnreduce (mean ± SE) | Brian2 (mean ± SE) | difference | "
             "z = diff / combined SE |", "|---|---|---|---|---|"]
    z = {}
    for key in keys:
        a = np.array([r[key] for r in ours])
        b = np.array([r[key] for r in theirs])
        sa, sb = a.std(ddof=1) / math.sqrt(a.size), b.std(ddof=1) / math.sqrt(b.size)
        z[key] = (a.mean() - b.mean()) / math.hypot(sa, sb)
        lines.append(f"| {key} | {a.mean():.3f} ± {sa:.3f} | {b.mean():.3f} ± {sb:.3f} | "
                     f"{a.mean() - b.mean():+.3f} | {z[key]:+.2f} |")
    return z, lines


def bench_brunel(args):
    """Brunel (2000) network at (g, η) in both simulators, ``--seeds`` connectivity seeds
    each; spike files in ``--spikes-dir`` (ours written there, Brian2's read from
    ``brunel_b2_s<seed>.npz`` there, or produced with the peer when missing)."""
    import simulate
    from reduce.meanfield.brunel import BrunelTheory

    d = args.spikes_dir
    os.makedirs(d, exist_ok=True)
    tag = f"g{args.g:g}_eta{args.eta:g}"
    ours, theirs = [], []
    for s in range(args.seeds):
        f_ours = os.path.join(d, f"brunel_ours_{tag}_s{s}.npz")
        if not os.path.exists(f_ours):
            net = simulate.CurrentLIFNetwork(g=args.g, eta=args.eta, conn_seed=s)
            traj, w, c = _timed(lambda: net.run(args.t_end, seed=s + 10, progress=False,
                                                record_dt=10.0))
            np.savez_compressed(f_ours, t=np.asarray(traj["spikes/t"]),
                                i=np.asarray(traj["spikes/i"], np.int32), n_e=net.params["n_e"],
                                n_i=net.params["n_i"], t_end=args.t_end, cpu_s=c, wall_s=w)
        ours.append({"seed": s, **brunel_stats(f_ours, args.t_burn)})
        f_b2 = os.path.join(d, f"brunel_b2_{tag}_s{s}.npz")
        if not os.path.exists(f_b2) and not args.no_brian2:
            _brian2(args.brian2, "brunel", "--seed", str(s), "--t-end", str(args.t_end),
                    "--t-burn", str(args.t_burn), "--g", str(args.g), "--eta", str(args.eta),
                    "--spikes-out", f_b2)
        if os.path.exists(f_b2):
            theirs.append({"seed": s, **brunel_stats(f_b2, args.t_burn)})
    fp = BrunelTheory(g=args.g, eta=args.eta).self_consistent()
    th = {"rate_hz": float(fp.rates_hz[0]), "cv": float(fp.extra["cv"][0])}
    keys = ("rate_E", "rate_I", "cv_E", "cv_I", "modulation_E", "peak_hz",
            "peak_over_floor", "fano_E")
    lines = [f"Brunel (2000) network, g = {args.g:g}, η = {args.eta:g}, N_E = 10⁴, N_I = 2500, "
             f"C_E = 1000, D = 1.5 ms, dt = 0.1 ms, {args.t_end:g} ms, statistics over "
             f"[{args.t_burn:g}, {args.t_end:g}] ms; {len(ours)} (ours) and {len(theirs)} "
             f"(Brian2) connectivity seeds. Siegert theory: {th['rate_hz']:.2f} Hz, "
             f"CV {th['cv']:.3f}.", ""]
    out = {"ours": ours, "brian2": theirs, "theory": th}
    if len(ours) > 1 and len(theirs) > 1:
        out["z"], rows = _seed_table(ours, theirs, keys)
        lines += rows
    else:
        lines += ["| seed | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
        lines += ["| " + " | ".join([str(r["seed"])] + [f"{r[k]:.3f}" for k in keys]) + " |"
                  for r in ours + theirs]
    return out, "\n".join(lines)


# ----------------------------------------------------------------------------- K = 1e4
def bench_k1e4(args):
    import simulate

    # a(100) = 0.002 with the log rule gives a = 0.001 at K = 1e4; with nu_x = 5 Hz the local
    # Siegert self-consistency predicts a single fixed point near 10 Hz (docs/lif_hybrid.md)
    net = simulate.ConductanceLIFNetwork(K=10_000, c=args.c, scaling="log", K0=100, a0=0.002,
                                         nu_x=5.0, dt=0.05, connectivity="procedural")
    traj, w, c = _timed(lambda: net.run(args.t_end, seed=0, progress=True,
                                        record_spikes=False, record_dt=10.0, t_burn=0.0))
    res = {"K": 10_000, "c": args.c, "N": 2 * net.params["n_e"], "a": net.a,
           "n_synapses": net.n_synapses(), "t_end_ms": args.t_end, "wall_s": w, "cpu_s": c,
           "kernel_s": traj.meta["kernel_time_s"], "n_spikes": traj.meta["n_spikes"],
           "rates_hz": traj.rates_hz, "peak_rss_mb": _rss_mb()}
    # an E spike reaches K E and K I neurons, an I spike gamma*K of each (equal sizes)
    res["synaptic_events"] = int(traj["rate/E"].sum() * 2 * 10_000
                                 + traj["rate/I"].sum() * 2 * 2_500)
    line = (f"K = 10^4, c = {args.c} (N = {res['N']}), a = {res['a']:.5f} (log rule from "
            f"a(100) = 0.002), nu_x = 5 Hz, {res['n_synapses']:.3g} synapses (procedural, "
            "none stored), "
            f"{args.t_end:g} ms simulated: wall {w:.1f} s, CPU {c:.1f} s, "
            f"{res['n_spikes']} spikes ({res['synaptic_events']:.3g} synaptic events), "
            "mean rates "
            f"E {res['rates_hz']['E']:.2f} Hz, I {res['rates_hz']['I']:.2f} Hz, peak RSS "
            f"{res['peak_rss_mb']:.0f} MB.")
    return res, line


# ----------------------------------------------------------------------------- hybrid
def bench_hybrid(args):
    import simulate

    lines = ["| n | spikes | wall (s per sim. s) | CPU (s per sim. s) |", "|---|---|---|---|"]
    out = []
    for n in (100, 1000, 10000):
        for mode in ("per-pair", "shared"):
            net = simulate.BalancedHybridNetwork(n=n, spikes=mode)
            net.run(1.0, seed=0, progress=False)
            _, w, c = _timed(lambda: net.run(100.0, seed=1, progress=False, record_dt=10.0))
            out.append({"n": n, "spikes": mode, "wall_per_sim_s": w * 10, "cpu_per_sim_s": c * 10})
            lines.append(f"| {n} | {mode} | {w * 10:.2f} | {c * 10:.2f} |")
    return out, "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["coba", "scaling", "kscaling", "crosscheck", "k1e4",
                                     "hybrid", "brunel"])
    ap.add_argument("--brian2", default=BRIAN2_DEFAULT, help="python of the Brian2 venv")
    ap.add_argument("--no-brian2", action="store_true")
    ap.add_argument("--t-end", type=float, default=None, help="ms")
    ap.add_argument("--t-burn", type=float, default=1000.0, help="ms (crosscheck)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--ks", type=int, nargs="+", default=[100, 300, 1000])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--K", type=int, default=100)
    ap.add_argument("--a", type=float, default=0.01)
    ap.add_argument("--c", type=float, default=10.0, help="N = c K (k1e4)")
    ap.add_argument("--brian2-results", default=None,
                    help="JSON lines of brian2_peer.py sanzeni runs (instead of running them)")
    ap.add_argument("--ours-results", default=None,
                    help="crosscheck: reuse our runs from a previous --json file")
    ap.add_argument("--g", type=float, default=5.0, help="brunel")
    ap.add_argument("--eta", type=float, default=2.0, help="brunel")
    ap.add_argument("--spikes-dir", default="brunel_spikes", help="brunel: spike files")
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args(argv)
    defaults = {"coba": 1000.0, "crosscheck": 3000.0, "k1e4": 100.0, "kscaling": 100.0,
                "brunel": 1500.0}
    if args.t_end is None:
        args.t_end = defaults.get(args.what, 1000.0)
    fn = {"coba": bench_coba, "scaling": bench_scaling, "crosscheck": bench_crosscheck,
          "k1e4": bench_k1e4, "hybrid": bench_hybrid, "kscaling": bench_kscaling,
          "brunel": bench_brunel}[args.what]
    t0 = time.perf_counter()
    res, text = fn(args)
    print(text)
    print(f"\n(machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the "
          f"end; total {time.perf_counter() - t0:.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"what": args.what, "results": res,
                       "loadavg": os.getloadavg()}, f, indent=1, default=float)


if __name__ == "__main__":
    main()
