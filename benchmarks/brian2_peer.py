# ruff: noqa: F841  -- Brian2 reads the local variables of the model functions by name
"""Brian2 peer of the conductance-based LIF simulator (run in the Brian2 venv, NOT the project).

Create the environment once with ``bash benchmarks/brian2_env.sh`` (Python 3.11 venv at
/work/brian2-venv with numpy<2 and brian2==2.9.0), then:

    /work/brian2-venv/bin/python benchmarks/brian2_peer.py coba --device runtime --t-end 1000
    /work/brian2-venv/bin/python benchmarks/brian2_peer.py coba --device cpp_standalone
    /work/brian2-venv/bin/python benchmarks/brian2_peer.py sanzeni --seed 0 --t-end 2000

Every command prints one JSON object on stdout (timings in seconds, rates in Hz, CVs).

``coba``: the COBA benchmark (Brette et al. 2007) exactly as simulate.ConductanceLIFNetwork
(mode="coba-benchmark") defines it: 4000 neurons (3200 E), Bernoulli p = 0.02, τ_m 20 ms,
τ_e 5 ms, τ_i 10 ms, E_L = V_r = −60 mV, V_t = −50 mV, E_exc 0, E_inh −80 mV, drive 20 mV,
w_e 0.6, w_i 6.7 (leak-conductance units), refractory 5 ms, dt 0.1 ms, exponential Euler,
V(0) uniform in [V_r, V_t], g(0) = 0.

``sanzeni``: the strongly coupled conductance-based network of models.md §4 with
instantaneous conductance jumps v → E + (v − E)e^{−a} (none while refractory), fixed
in-degree K (E) and γK (I) drawn here independently of the project's generator (numpy,
without replacement), K external Poisson inputs at ν_X per neuron (PoissonInput counts, then
one jump per step), delays uniform in [0, 10] ms (E) and [0, 1] ms (I).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np


def _brian():
    import brian2 as b2

    b2.prefs.logging.console_log_level = "WARNING"
    return b2


def coba(device: str, t_end_ms: float, seed: int, dt_ms: float = 0.1, n_threads: int = 1):
    b2 = _brian()
    from brian2 import ms, mV

    out = {"device": device, "t_end_ms": t_end_ms, "dt_ms": dt_ms, "seed": seed}
    tmpdir = None
    t_setup0 = time.perf_counter()
    if device == "cpp_standalone":
        tmpdir = tempfile.mkdtemp(prefix="b2coba_")
        b2.set_device("cpp_standalone", directory=tmpdir, build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = 0 if n_threads <= 1 else n_threads
    else:
        b2.prefs.codegen.target = "cython"
    b2.defaultclock.dt = dt_ms * ms
    b2.seed(seed)
    taum, taue, taui = 20 * ms, 5 * ms, 10 * ms
    Vt, Vr, El = -50 * mV, -60 * mV, -60 * mV
    Ee, Ei, I_drive = 0 * mV, -80 * mV, 20 * mV
    eqs = """
    dv/dt = (ge*(Ee-v) + gi*(Ei-v) - (v-El) + I_drive)/taum : volt (unless refractory)
    dge/dt = -ge/taue : 1
    dgi/dt = -gi/taui : 1
    """
    P = b2.NeuronGroup(4000, eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * ms,
                       method="exponential_euler")
    P.v = "Vr + rand() * (Vt - Vr)"
    P.ge = 0
    P.gi = 0
    we, wi = 0.6, 6.7
    Ce = b2.Synapses(P, P, on_pre="ge += we")
    Ci = b2.Synapses(P, P, on_pre="gi += wi")
    Ce.connect("i<3200", p=0.02)
    Ci.connect("i>=3200", p=0.02)
    spikes = b2.SpikeMonitor(P, record=False)
    net = b2.Network(P, Ce, Ci, spikes)
    if device == "cpp_standalone":
        net.run(t_end_ms * ms, profile=True)
        t0 = time.perf_counter()
        b2.device.build(directory=tmpdir, compile=True, run=False)
        out["build_compile_s"] = time.perf_counter() - t0
        import resource

        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        b2.device.run(directory=tmpdir, with_output=False)
        out["run_wall_s"] = time.perf_counter() - t0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        out["run_cpu_s"] = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        # profiling_info: CPU time (std::clock) of every code object during the run
        prof = {str(name): float(t) for name, t in net.profiling_info}
        out["simulation_s"] = sum(prof.values())
        # the rest of the binary's CPU time: synapse creation, initialisation, file I/O
        out["synapse_create_s"] = out["run_cpu_s"] - out["simulation_s"]
        out["n_spikes"] = int(spikes.num_spikes)
        out["n_synapses"] = int(len(Ce) + len(Ci))
        shutil.rmtree(tmpdir, ignore_errors=True)
    else:
        t0 = time.perf_counter()
        net.run(0 * ms)     # code generation + cython compilation (cached on disk)
        out["build_compile_s"] = time.perf_counter() - t0
        out["synapse_create_s"] = out["build_compile_s"]
        t0 = time.perf_counter()
        c0 = time.process_time()
        net.run(t_end_ms * ms)
        out["simulation_s"] = time.perf_counter() - t0
        out["simulation_cpu_s"] = time.process_time() - c0
        out["run_wall_s"] = out["simulation_s"]
        out["n_spikes"] = int(spikes.num_spikes)
        out["n_synapses"] = int(len(Ce) + len(Ci))
    out["total_wall_s"] = time.perf_counter() - t_setup0
    out["rate_hz"] = out["n_spikes"] / 4000 / (t_end_ms / 1000.0)
    return out


def _fixed_indegree(rng, n_pre, n_post, k):
    """For every postsynaptic neuron, k distinct presynaptic neurons (uniform)."""
    pre = np.empty(n_post * k, np.int64)
    for i in range(n_post):
        pre[i * k:(i + 1) * k] = rng.choice(n_pre, size=k, replace=False)
    post = np.repeat(np.arange(n_post), k)
    return pre, post


def sanzeni(seed: int, t_end_ms: float, K: int, c: float, a: float, g: float, nu_x: float,
            gamma: float, dt_ms: float, t_burn_ms: float, device: str = "cpp_standalone",
            build_dir: str | None = None):
    b2 = _brian()
    from brian2 import Hz, ms, mV

    if device == "cpp_standalone":
        # one fixed build folder: unchanged sources are not recompiled for the next seed
        build_dir = build_dir or os.path.join(tempfile.gettempdir(), "b2_sanzeni_build")
        b2.set_device("cpp_standalone", directory=build_dir, build_on_run=False)
    else:
        b2.prefs.codegen.target = "cython"
    b2.defaultclock.dt = dt_ms * ms
    b2.seed(seed)
    rng = np.random.default_rng(seed + 1000)
    n = int(round(c * K))
    k_i = int(round(gamma * K))
    tau_l, e_l, e_e, e_i = 20 * ms, -80 * mV, 0 * mV, -75 * mV
    theta, v_r = -55 * mV, -65 * mV
    eqs = """
    dv/dt = -(v - e_l)/tau_l : volt (unless refractory)
    x_ext : 1
    """
    G = b2.NeuronGroup(2 * n, eqs, threshold="v >= theta", reset="v = v_r",
                       refractory=2 * ms, method="exact")
    G.v = "v_r + rand() * (theta - v_r)"
    t0 = time.perf_counter()
    pre_e, post_e = _fixed_indegree(rng, n, 2 * n, K)
    pre_i, post_i = _fixed_indegree(rng, n, 2 * n, k_i)
    jump = "v_post = {E} + (v_post - {E}) * exp(-{s} * int(not_refractory_post))"
    Se = b2.Synapses(G, G, on_pre=jump.format(E="e_e", s="a"))
    Se.connect(i=pre_e, j=post_e)
    Se.delay = "rand() * 10 * ms"
    Si = b2.Synapses(G, G, on_pre=jump.format(E="e_i", s="g * a"))
    Si.connect(i=pre_i + n, j=post_i)
    Si.delay = "rand() * 1 * ms"
    pin = b2.PoissonInput(G, "x_ext", N=K, rate=nu_x * Hz, weight=1.0)
    apply = G.run_regularly(
        "v = e_e + (v - e_e) * exp(-a * x_ext * int(not_refractory)); x_ext = 0",
        when="synapses", order=10)
    mon = b2.SpikeMonitor(G)
    net = b2.Network(G, Se, Si, pin, apply, mon)
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    net.run(t_end_ms * ms)
    if device == "cpp_standalone":
        b2.device.build(directory=build_dir, compile=True, run=True)
    wall = time.perf_counter() - t0
    ts = np.asarray(mon.t / ms)
    ids = np.asarray(mon.i)
    return {"seed": seed, "device": device, "dt_ms": dt_ms, "setup_s": setup,
            "build_and_run_s": wall, "n": n, "K": K, "a": a,
            **_stats(ts, ids, n, t_burn_ms, t_end_ms)}


def _stats(ts, ids, n, t0, t1):
    keep = (ts >= t0) & (ts < t1)
    ts, ids = ts[keep], ids[keep]
    out = {}
    for q, lo in (("E", 0), ("I", n)):
        sel = (ids >= lo) & (ids < lo + n)
        counts = np.bincount(ids[sel] - lo, minlength=n)
        out[f"rate_{q}"] = float(counts.mean() * 1000.0 / (t1 - t0))
        order = np.lexsort((ts[sel], ids[sel]))
        tt, ii = ts[sel][order], ids[sel][order]
        d = np.diff(tt)
        same = ii[1:] == ii[:-1]
        cvs = []
        for k in np.unique(ii):
            isi = d[same & (ii[1:] == k)]
            if isi.size >= 2:
                cvs.append(isi.std() / isi.mean())
        out[f"cv_{q}"] = float(np.mean(cvs)) if cvs else float("nan")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("coba")
    p.add_argument("--device", choices=["runtime", "cpp_standalone"], default="runtime")
    p.add_argument("--t-end", type=float, default=1000.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dt", type=float, default=0.1)
    s = sub.add_parser("sanzeni")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--t-end", type=float, default=2000.0)
    s.add_argument("--t-burn", type=float, default=500.0)
    s.add_argument("--K", type=int, default=100)
    s.add_argument("--c", type=float, default=10.0)
    s.add_argument("--a", type=float, default=0.01)
    s.add_argument("--g", type=float, default=20.0)
    s.add_argument("--gamma", type=float, default=0.25)
    s.add_argument("--nu-x", type=float, default=20.0)
    s.add_argument("--dt", type=float, default=0.01)
    s.add_argument("--device", choices=["runtime", "cpp_standalone"], default="cpp_standalone")
    s.add_argument("--build-dir", default=None)
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if args.cmd == "coba":
        res = coba(args.device, args.t_end, args.seed, args.dt)
    else:
        res = sanzeni(args.seed, args.t_end, args.K, args.c, args.a, args.g, args.nu_x,
                      args.gamma, args.dt, args.t_burn, args.device, args.build_dir)
    json.dump(res, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
