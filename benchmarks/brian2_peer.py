# ruff: noqa: F841  -- Brian2 reads the local variables of the model functions by name
"""Brian2 peer of the conductance-based LIF simulator (run in the Brian2 venv, NOT the project).

Create the environment once with ``bash benchmarks/brian2_env.sh`` (Python 3.11 venv at
/work/brian2-venv with numpy<2 and brian2==2.9.0), then:

    /work/brian2-venv/bin/python benchmarks/brian2_peer.py coba --device runtime --t-end 1000
    /work/brian2-venv/bin/python benchmarks/brian2_peer.py coba --device cpp_standalone
    /work/brian2-venv/bin/python benchmarks/brian2_peer.py sanzeni --seed 0 --t-end 2000
    /work/brian2-venv/bin/python benchmarks/brian2_peer.py brunel --seed 0 --spikes-out b.npz

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

``brunel``: Brunel's (2000) sparse current-based network of models.md §5, built here
independently of the project: τ dv/dt = −v (exact integration; frozen while refractory),
v ≥ θ → v = V_r and refractory for τ_rp, δ-synapses +J (E, external) and −gJ (I) with the
fixed delay D, fixed in-degree C_E from E and γC_E from I (numpy, without replacement; the
out-degrees are binomial), C_E external Poisson inputs of rate η ν_thr per neuron
(PoissonInput: independent per neuron and per step). Inputs arriving at a refractory neuron
are discarded (every weight is multiplied by ``not_refractory``), as in Brunel's model.
Brian2's schedule differs from the project's kernel by one step: here the input of step n is
added after the threshold test of step n (so it can cause a spike at step n + 1), there it is
added before. ``--spikes-out`` saves all spike times and ids (``.npz``) so the project's own
analysis code (rates, ISI CV, population-rate spectrum) is applied to both simulators.
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


def _device(b2, device, build_dir, name, dt_ms, seed):
    """Select the device (C++ standalone in one fixed build folder, so unchanged sources are
    not recompiled for the next seed; or runtime with Cython), the step and the seed."""
    from brian2 import ms

    if device == "cpp_standalone":
        build_dir = build_dir or os.path.join(tempfile.gettempdir(), name)
        b2.set_device("cpp_standalone", directory=build_dir, build_on_run=False)
    else:
        b2.prefs.codegen.target = "cython"
    b2.defaultclock.dt = dt_ms * ms
    b2.seed(seed)
    return build_dir


def sanzeni(seed: int, t_end_ms: float, K: int, c: float, a: float, g: float, nu_x: float,
            gamma: float, dt_ms: float, t_burn_ms: float, device: str = "cpp_standalone",
            build_dir: str | None = None):
    b2 = _brian()
    from brian2 import Hz, ms, mV

    build_dir = _device(b2, device, build_dir, "b2_sanzeni_build", dt_ms, seed)
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


def _random_subsets(rng, n_pre, n_post, k, chunk=256):
    """For every postsynaptic neuron, k distinct presynaptic neurons (uniform subsets:
    the k smallest of n_pre i.i.d. uniforms)."""
    pre = np.empty((n_post, k), np.int64)
    for lo in range(0, n_post, chunk):
        hi = min(n_post, lo + chunk)
        u = rng.random((hi - lo, n_pre))
        pre[lo:hi] = np.argpartition(u, k - 1, axis=1)[:, :k]
    post = np.repeat(np.arange(n_post), k)
    return pre.ravel(), post


def brunel(seed: int, t_end_ms: float, n_e: int, K: int, gamma: float, J: float, g: float,
           eta: float, delay_ms: float, dt_ms: float, t_burn_ms: float,
           device: str = "cpp_standalone", build_dir: str | None = None,
           spikes_out: str | None = None):
    b2 = _brian()
    from brian2 import Hz, ms, mV

    build_dir = _device(b2, device, build_dir, "b2_brunel_build", dt_ms, seed)
    rng = np.random.default_rng(seed + 2000)
    n_i = int(round(gamma * n_e))
    k_i = int(round(gamma * K))
    tau, theta, v_r, tau_rp = 20 * ms, 20 * mV, 10 * mV, 2 * ms
    Jv = J * mV
    nu_thr = theta / (Jv * K * tau)
    nu_ext = eta * nu_thr
    eqs = "dv/dt = -v/tau : volt (unless refractory)"
    G = b2.NeuronGroup(n_e + n_i, eqs, threshold="v >= theta", reset="v = v_r",
                       refractory=tau_rp, method="exact")
    G.v = "v_r + rand() * (theta - v_r)"
    t0 = time.perf_counter()
    pre_e, post_e = _random_subsets(rng, n_e, n_e + n_i, K)
    pre_i, post_i = _random_subsets(rng, n_i, n_e + n_i, k_i)
    Se = b2.Synapses(G, G, on_pre="v_post += Jv * int(not_refractory_post)",
                     delay=delay_ms * ms)
    Se.connect(i=pre_e, j=post_e)
    Si = b2.Synapses(G, G, on_pre="v_post -= g * Jv * int(not_refractory_post)",
                     delay=delay_ms * ms)
    Si.connect(i=pre_i + n_e, j=post_i)
    pin = b2.PoissonInput(G, "v", N=K, rate=nu_ext, weight="Jv * int(not_refractory)")
    mon = b2.SpikeMonitor(G)
    net = b2.Network(G, Se, Si, pin, mon)
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    net.run(t_end_ms * ms)
    if device == "cpp_standalone":
        b2.device.build(directory=build_dir, compile=True, run=True)
    wall = time.perf_counter() - t0
    ts = np.asarray(mon.t / ms)
    ids = np.asarray(mon.i)
    if spikes_out:
        np.savez_compressed(spikes_out, t=ts, i=ids.astype(np.int32), n_e=n_e, n_i=n_i,
                            t_end=t_end_ms, dt=dt_ms, seed=seed, K=K, g=g, eta=eta, J=J,
                            delay=delay_ms)
    res = {"seed": seed, "device": device, "dt_ms": dt_ms, "setup_s": setup,
           "build_and_run_s": wall, "n_e": n_e, "n_i": n_i, "K": K, "g": g, "eta": eta,
           "nu_ext_hz": float(nu_ext / Hz), "n_spikes": int(ts.size)}
    keep = ts >= t_burn_ms
    for q, lo, n in (("E", 0, n_e), ("I", n_e, n_i)):
        sel = keep & (ids >= lo) & (ids < lo + n)
        res[f"rate_{q}"] = float(sel.sum() / n * 1000.0 / (t_end_ms - t_burn_ms))
    return res


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
    b = sub.add_parser("brunel")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--t-end", type=float, default=1000.0)
    b.add_argument("--t-burn", type=float, default=200.0)
    b.add_argument("--n-e", type=int, default=10000)
    b.add_argument("--K", type=int, default=1000)
    b.add_argument("--gamma", type=float, default=0.25)
    b.add_argument("--J", type=float, default=0.1)
    b.add_argument("--g", type=float, default=5.0)
    b.add_argument("--eta", type=float, default=2.0)
    b.add_argument("--delay", type=float, default=1.5)
    b.add_argument("--dt", type=float, default=0.1)
    b.add_argument("--device", choices=["runtime", "cpp_standalone"], default="cpp_standalone")
    b.add_argument("--build-dir", default=None)
    b.add_argument("--spikes-out", default=None)
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if args.cmd == "coba":
        res = coba(args.device, args.t_end, args.seed, args.dt)
    elif args.cmd == "brunel":
        res = brunel(args.seed, args.t_end, args.n_e, args.K, args.gamma, args.J, args.g,
                     args.eta, args.delay, args.dt, args.t_burn, args.device, args.build_dir,
                     args.spikes_out)
    else:
        res = sanzeni(args.seed, args.t_end, args.K, args.c, args.a, args.g, args.nu_x,
                      args.gamma, args.dt, args.t_burn, args.device, args.build_dir)
    json.dump(res, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
