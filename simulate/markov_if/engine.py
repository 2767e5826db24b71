"""Run a :class:`MarkovIFNetwork` and record a :class:`simulate.Trajectory`.

The engine validates the recording options, builds the initial state, calls the numba kernel
of the network's method (:mod:`kernels_fixed`, :mod:`kernels_tauleap`, :mod:`kernels_exact`)
in chunks of simulated time, and hands every chunk to memory or, with ``out=``, to a
:class:`simulate.TrajectoryWriter` (memory then independent of ``t_end``; the file appears
atomically at the end, nothing is left behind on failure).

Initial condition (all methods): no neuron refractory, no pending kick, voltages independent
and uniform on [0, M) (integers 0 … ⌈M⌉−1 for ``voltages="integer"``), drawn from a NumPy
generator seeded with ``seed``; the kernels' own streams are seeded from ``seed`` as well, so
the same seed gives the same trajectory (same machine and build).

Time grid. Fixed-step and tau-leap: ``n_steps = t_end/dt`` steps (``t_end`` must be a whole
number of steps), ``rate_dt`` and ``record_dt`` whole multiples of ``dt``. Rate bin k covers
[k·rate_dt, (k+1)·rate_dt); only complete bins are kept (``t_end // rate_dt`` of them).
A spike detected in step [kΔt, (k+1)Δt) is stamped with the step's end (k+1)Δt in
``spikes/t`` and counted in the rate bin that contains the step. Event-driven method: bins
hold the spikes with times in [k·rate_dt, (k+1)·rate_dt).
Samples are taken at t = 0, record_dt, 2·record_dt, … ≤ t_end (the state at the end of the
step that ends at that time; the event-driven method: the state at that instant).
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..recording import ChunkSink, progress_bar
from ..trajectory import Trajectory, TrajectoryWriter
from ..validation import ParameterError, check_number

__all__ = ["run_network", "default_hist_edges"]

#: simulated ms per chunk
_CHUNK_MS_STEP = 200.0
_CHUNK_MS_EXACT = 50.0


def default_hist_edges(M: float = 100.0, M_r: float = 66.0, width: float = 4.0,
                       low: float = -40.0) -> np.ndarray:
    """The Markov-approximation bin layout: [−M_r, low+width), then width ``width`` up to M.

    At the defaults: [−66, −36), [−36, −32), …, [96, 100] (35 bins, 36 edges).
    """
    inner = np.arange(low + width, M + 0.5 * width, width)
    inner = inner[inner <= M + 1e-9]
    if inner[-1] < M - 1e-9:
        inner = np.append(inner, M)
    return np.concatenate([[-M_r], inner]).astype(float)


def _check_edges(name, edges, M, M_r):
    e = np.asarray(edges, float)
    if e.ndim != 1 or len(e) < 3 or not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0):
        raise ParameterError(
            f"{name} must be an increasing 1-D array of at least 3 finite edges, got "
            f"{np.asarray(edges)!r}")
    if e[0] > -M_r + 1e-9 or e[-1] < M - 1e-9:
        raise ParameterError(
            f"{name} = [{e[0]:g} … {e[-1]:g}] must cover the voltage range [-m_r, m] = "
            f"[{-M_r:g}, {M:g}]")
    return e


def _multiple(name, value, dt):
    k = int(round(value / dt))
    if k < 1 or abs(k * dt - value) > 1e-9 * max(1.0, value):
        raise ParameterError(
            f"{name} = {value:g} ms must be a whole multiple of dt = {dt:g} ms for this method "
            f"(e.g. {max(1, k) * dt:g})")
    return k


def _progress_bar(progress, t_end):
    return progress_bar(progress, t_end, "markov-if", delay=3.0,
                        bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} ms [{elapsed}<{remaining}]")


def run_network(net, t_end, seed, out=None, progress=True, *, rate_dt=None, spikes=True,
                record_dt=None, hist_edges=None, coarse=False, coarse_edges=None,
                events=False, load="rates", chunk_ms=None):
    """Simulate ``net`` for ``t_end`` ms; return a :class:`simulate.Trajectory`.

    Parameters
    ----------
    net : MarkovIFNetwork
        Network (``net.spec``, ``net.method``, ``net.voltages``).
    t_end : float
        Simulated time, ms (a whole number of steps ``dt`` for the fixed-step methods).
    seed : int or None
        Root seed (None: drawn from the operating system and stored in the result).
    out : str or Path, optional
        Stream the trajectory to this HDF5 file (atomically; memory independent of
        ``t_end``). The returned trajectory then holds only what ``load`` asks for.
    progress : bool
        Show a tqdm bar (only if the run lasts more than 3 s of wall time).
    rate_dt : float, optional
        Rate-bin width, ms. Default 0.1 ms (fixed-step methods: the multiple of ``dt``
        nearest to 0.1 ms, at least ``dt``). Arrays ``rate/t`` (left edges) and ``rate/<Q>``
        (spikes of population Q per bin).
    spikes : bool
        Record ``spikes/t`` (ms) and ``spikes/i`` (global neuron id). Default True.
    record_dt : float, optional
        Sampling interval, ms (default 1 ms, rounded to a multiple of ``dt`` for the
        fixed-step methods). Arrays ``samples/t``, ``samples/hist/<Q>`` (T, n_bins),
        ``samples/refractory/<Q>`` (T,), ``samples/kick_mean/<QQ'>``,
        ``samples/kick_var/<QQ'>`` (T,): across-neuron mean and variance (ddof = 0) of the
        pending kicks of pathway Q' onto Q, e.g. ``"EI"`` = I onto E.
    hist_edges : array, optional
        Voltage-histogram edges (default :func:`default_hist_edges`: [−66, −36), then width 4
        up to 100); stored as ``bins/<Q>``. The last bin includes M.
    coarse : bool
        Record ``coarse`` (T, N) int16: each neuron's bin on ``coarse_edges`` (default
        ``hist_edges``), or ``n_bins`` when refractory; edges stored as ``bins/coarse``.
    coarse_edges : array, optional
    events : bool
        Method ``"exact"`` only, without leak: log every coarse-state transition as
        ``events/t`` (float64), ``events/i`` (int64), ``events/from``, ``events/to`` (int16).
    load : {"rates", "all", "none"}
        With ``out``: what the returned trajectory holds in memory. ``"rates"`` (default):
        ``rate/*``, ``bins/*`` and ``samples/t`` (enough for ``rates_hz`` and the rate
        observables; 20 bytes per rate bin); ``"none"``: no arrays (memory independent of
        ``t_end``); ``"all"``: everything (same as ``Trajectory.load(out)``).
    chunk_ms : float, optional
        Simulated time per kernel call (default 200 ms fixed-step methods, 50 ms exact).

    Returns
    -------
    Trajectory
        ``meta`` holds ``method``, ``dt`` (0 for the event-driven method), ``voltages``,
        ``rate_dt``, ``record_dt``, ``compile_s`` (kernel compile/cache load), ``wall_s``
        (simulation, wall clock), ``cpu_s`` (simulation, process CPU time), ``sim_s_per_s``
        and ``cpu_s_per_s`` (per simulated second), ``initial_condition``, ``rng``,
        ``n_events`` (event-driven method).
    """
    spec = net.spec
    method = net.method
    t_end = check_number("t_end", t_end, 0.0, 1e9, lo_open=True, unit="ms")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    seed = int(check_number("seed", seed, 0, 2**63 - 1, integer=True))
    if load not in ("rates", "all", "none"):
        raise ParameterError(f"load = {load!r} is not one of 'rates', 'all', 'none'")
    M, M_r = spec.M, spec.M_r
    edges = _check_edges("hist_edges", default_hist_edges(M, M_r) if hist_edges is None
                         else hist_edges, M, M_r)
    cedges = edges if coarse_edges is None else _check_edges("coarse_edges", coarse_edges,
                                                             M, M_r)
    if len(cedges) - 1 >= 32767:
        raise ParameterError(f"coarse_edges has {len(cedges) - 1} bins; at most 32766")
    if events and method != "exact":
        raise ParameterError(
            f"events = True needs method = 'exact' (this network has method = {method!r})")
    if events and spec.tau_m > 0:
        raise ParameterError(
            f"events = True needs tau_m = 0 (got {spec.tau_m:g}): with a leak the coarse state "
            "also changes between events")
    if net.voltages == "integer" and method != "exact":
        raise ParameterError("voltages = 'integer' is only available with method = 'exact'")
    if net.voltages == "integer" and spec.tau_m > 0:
        raise ParameterError(
            f"voltages = 'integer' needs tau_m = 0 (got {spec.tau_m:g}): the integer "
            "(Li–Chariker–Young) form has no leak")
    stepped = method in ("fixed-step", "tau-leap")
    dt = spec.dt
    if stepped:
        if rate_dt is None:
            rate_dt = dt * max(1, int(round(0.1 / dt)))
        if record_dt is None:
            record_dt = dt * max(1, int(round(1.0 / dt)))
    else:
        rate_dt = 0.1 if rate_dt is None else rate_dt
        record_dt = 1.0 if record_dt is None else record_dt
    rate_dt = check_number("rate_dt", rate_dt, 0.0, t_end, lo_open=True, unit="ms")
    record_dt = check_number("record_dt", record_dt, 0.0, t_end, lo_open=True, unit="ms")
    if chunk_ms is not None:
        chunk_ms = check_number("chunk_ms", chunk_ms, 0.0, None, lo_open=True, unit="ms")
    if stepped:
        n_steps = _multiple("t_end", t_end, dt)
        rate_steps = _multiple("rate_dt", rate_dt, dt)
        rec_steps = _multiple("record_dt", record_dt, dt)
    writer = None
    if out is not None:
        writer = TrajectoryWriter(out, {})       # checks the folder before any work
    try:
        state = _initial_state(spec, net.voltages, seed)
        sink = ChunkSink(writer)
        t_wall0 = time.perf_counter()
        t_cpu0 = time.process_time()
        if stepped:
            timing = _run_stepped(spec, method, state, seed, n_steps, rate_steps, rec_steps,
                                  edges, cedges, coarse, spikes, sink, progress, t_end,
                                  chunk_ms)
        else:
            timing = _run_exact(spec, net.voltages, state, seed, t_end, rate_dt, record_dt,
                                edges, cedges, coarse, spikes, events, sink, progress,
                                chunk_ms)
        wall = time.perf_counter() - t_wall0
        cpu = time.process_time() - t_cpu0
        fixed_arrays = {}
        for q in spec.populations:
            fixed_arrays[f"bins/{q}"] = edges
        if coarse:
            fixed_arrays["bins/coarse"] = cedges
        params = dict(net.params, method=method, voltages=net.voltages)
        meta = {
            "method": method, "dt": dt if stepped else 0.0, "voltages": net.voltages,
            "rate_dt": float(rate_dt), "record_dt": float(record_dt),
            "compile_s": timing["compile_s"], "wall_s": wall - timing["compile_s"],
            "sim_s_per_s": (wall - timing["compile_s"]) / (t_end / 1000.0),
            "cpu_s": cpu - timing["compile_cpu_s"],
            "cpu_s_per_s": (cpu - timing["compile_cpu_s"]) / (t_end / 1000.0),
            "initial_condition": "V ~ Uniform[0, M), not refractory, no pending kicks",
            "rng": timing["rng"], "connectivity": spec.connectivity,
            "n_events": timing.get("n_events", 0),
        }
        traj = Trajectory("markov-if", params, seed, list(spec.populations),
                          {q: int(n) for q, n in zip(spec.populations, spec.sizes)},
                          t_end, {}, meta)
        if writer is None:
            arrays = sink.arrays()
            arrays.update(fixed_arrays)
            traj.arrays = arrays
            return traj
        for k, v in fixed_arrays.items():
            writer.write(k, v)
        writer.set_attrs(**traj._attrs())
        writer.close()
        writer = None
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    if load == "all":
        full = Trajectory.load(out)
    else:
        full = traj
        full.arrays = _read_light(out, load)
    full.meta["out"] = str(out)
    return full


def _read_light(path, load):
    """Read only ``rate/*``, ``bins/*`` and ``samples/t`` (or nothing) from a written file."""
    import h5py

    if load == "none":
        return {}
    out = {}
    with h5py.File(path, "r") as f:
        for group in ("rate", "bins"):
            if group in f:
                for name in f[group]:
                    out[f"{group}/{name}"] = f[group][name][()]
        if "samples/t" in f:
            out["samples/t"] = f["samples/t"][()]
    return out


# ---------------------------------------------------------------------------- helpers
def _initial_state(spec, voltages, seed):
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x4D49]))
    N = spec.n_neurons
    P = spec.n_pop
    if voltages == "integer":
        V = rng.integers(0, int(math.ceil(spec.M)), size=N).astype(float)
    else:
        V = rng.uniform(0.0, spec.M, size=N)
    pop = np.repeat(np.arange(P, dtype=np.int64), spec.sizes)
    conn = np.zeros((1, 1), np.uint8)
    if spec.connectivity == "fixed":
        crng = np.random.default_rng(spec.conn_seed)
        prob = spec.p[pop][:, pop]              # prob[i, j] = p[pop i, pop j]
        conn = (crng.random((N, N)) < prob).astype(np.uint8)
    return {
        "V": V, "ref": np.zeros(N, np.uint8), "H": np.zeros((P, N), np.int64),
        "pop": pop, "conn": conn,
    }


def _sample_names(spec):
    P = spec.n_pop
    return [(q * P + r, spec.pathway(q, r)) for q in range(P) for r in range(P)]


def _emit_samples(sink, spec, t, hist, refc, kmean, kvar, coarse_arr, do_coarse):
    sink.append("samples/t", t)
    for q, name in enumerate(spec.populations):
        sink.append(f"samples/hist/{name}", hist[:, q, :])
        sink.append(f"samples/refractory/{name}", refc[:, q])
    for idx, pw in _sample_names(spec):
        sink.append(f"samples/kick_mean/{pw}", kmean[:, idx])
        sink.append(f"samples/kick_var/{pw}", kvar[:, idx])
    if do_coarse:
        sink.append("coarse", coarse_arr)


def _emit_rates(sink, spec, t, counts):
    sink.append("rate/t", t)
    for q, name in enumerate(spec.populations):
        sink.append(f"rate/{name}", counts[:, q].astype(np.int32))


def _buffers(spec, n_smp, nb, do_coarse):
    P, N = spec.n_pop, spec.n_neurons
    return (np.zeros((n_smp, P, nb), np.int32), np.zeros((n_smp, P), np.int32),
            np.zeros((n_smp, P * P)), np.zeros((n_smp, P * P)),
            np.zeros((n_smp, N if do_coarse else 1), np.int16))


def _run_stepped(spec, method, st, seed, n_steps, rate_steps, rec_steps, edges, cedges,
                 do_coarse, do_spikes, sink, progress, t_end, chunk_ms):
    from . import rng as _rng
    from .kernels_fixed import run_fixed, sample_state
    from .kernels_tauleap import run_tauleap

    kernel = run_fixed if method == "fixed-step" else run_tauleap
    dt = spec.dt
    P, N = spec.n_pop, spec.n_neurons
    nb = len(edges) - 1
    s = _rng.seed_state(seed, 1)
    spare = np.zeros(2)
    use_conn = spec.connectivity == "fixed"
    args_net = (st["pop"], spec.sizes.astype(np.int64), spec.excitatory.copy(),
                spec.lam.astype(float), spec.p.astype(float), spec.S.astype(float),
                spec.tau.astype(float), float(spec.M), float(spec.M_r), float(spec.tau_r),
                float(spec.tau_m), float(dt), use_conn, st["conn"])
    # compile (or load from cache) on a zero-step call, timed apart
    tc = time.perf_counter()
    tcc = time.process_time()
    h0, r0, m0, v0, c0 = _buffers(spec, 1, nb, do_coarse)
    kernel(st["V"].copy(), st["ref"].copy(), st["H"].copy(), *args_net, 0, 0, rate_steps,
           np.zeros((1, P), np.int64), rec_steps, edges, h0, r0, m0, v0, do_coarse, cedges,
           c0, np.zeros(1), np.zeros(1, np.int64), s.copy(), spare.copy())
    compile_s = time.perf_counter() - tc
    compile_cpu_s = time.process_time() - tcc
    # initial sample at t = 0
    sample_state(st["V"], st["ref"], st["H"], st["pop"], P, edges, h0[0], r0[0], m0[0], v0[0],
                 do_coarse, cedges, c0[0], spec.sizes.astype(np.int64))
    _emit_samples(sink, spec, np.zeros(1), h0, r0, m0, v0, c0, do_coarse)
    chunk_steps = max(1, int(round((chunk_ms or _CHUNK_MS_STEP) / dt)))
    n_rate = n_steps // rate_steps
    carry = np.zeros(P, np.int64)
    bar = _progress_bar(progress, t_end)
    step0 = 0
    rate_emitted = 0
    while step0 < n_steps:
        ns = min(chunk_steps, n_steps - step0)
        b0 = step0 // rate_steps
        b1 = (step0 + ns - 1) // rate_steps
        counts = np.zeros((b1 - b0 + 1, P), np.int64)
        counts[0] += carry
        first = -(-(step0 + 1) // rec_steps)
        last = (step0 + ns) // rec_steps
        n_smp = max(0, last - first + 1)
        hist, refc, kmean, kvar, carr = _buffers(spec, max(n_smp, 1), nb, do_coarse)
        cap = N * (ns // 2 + 1)      # a neuron spikes at most every other step
        spk_t = np.empty(cap)
        spk_i = np.empty(cap, np.int64)
        n_spk, n_s = kernel(st["V"], st["ref"], st["H"], *args_net, step0, ns, rate_steps,
                            counts, rec_steps, edges, hist, refc, kmean, kvar, do_coarse,
                            cedges, carr, spk_t, spk_i, s, spare)
        assert n_s == n_smp
        # complete rate bins: those ending at or before the end of this chunk
        end = step0 + ns
        n_complete = min(end // rate_steps, n_rate) - b0
        if n_complete > 0:
            _emit_rates(sink, spec, (b0 + np.arange(n_complete)) * rate_steps * dt,
                        counts[:n_complete])
            rate_emitted += n_complete
        carry = counts[n_complete] if n_complete < counts.shape[0] else np.zeros(P, np.int64)
        if end % rate_steps == 0:
            carry = np.zeros(P, np.int64)
        if n_smp:
            ts = np.arange(first, last + 1) * rec_steps * dt
            _emit_samples(sink, spec, ts, hist[:n_smp], refc[:n_smp], kmean[:n_smp],
                          kvar[:n_smp], carr[:n_smp] if do_coarse else carr, do_coarse)
        if do_spikes:
            sink.append("spikes/t", spk_t[:n_spk])
            sink.append("spikes/i", spk_i[:n_spk])
        step0 = end
        if bar is not None:
            bar.update(ns * dt)
    if bar is not None:
        bar.close()
    if rate_emitted == 0:
        _emit_rates(sink, spec, np.zeros(0), np.zeros((0, P), np.int64))
    rng_name = "xoshiro256** (simulate.markov_if.rng)"
    return {"compile_s": compile_s, "compile_cpu_s": compile_cpu_s, "rng": rng_name}


def _run_exact(spec, voltages, st, seed, t_end, rate_dt, record_dt, edges, cedges, do_coarse,
               do_spikes, do_events, sink, progress, chunk_ms):
    from . import kernels_exact as kx

    P, N = spec.n_pop, spec.n_neurons
    nb = len(edges) - 1
    ks = kx.ExactState(spec, st["V"], st["pop"], st["conn"], seed, voltages == "integer")
    tc = time.perf_counter()
    tcc = time.process_time()
    ks.warmup(edges, cedges, do_coarse)
    compile_s = time.perf_counter() - tc
    compile_cpu_s = time.process_time() - tcc
    h0, r0, m0, v0, c0 = _buffers(spec, 1, nb, do_coarse)
    ks.sample(0.0, edges, cedges, do_coarse, h0[0], r0[0], m0[0], v0[0], c0[0])
    _emit_samples(sink, spec, np.zeros(1), h0, r0, m0, v0, c0, do_coarse)
    chunk = chunk_ms or _CHUNK_MS_EXACT
    n_rate = int(math.floor(t_end / rate_dt + 1e-9))
    n_samp_total = int(math.floor(t_end / record_dt + 1e-9)) + 1
    carry = np.zeros(P, np.int64)
    bar = _progress_bar(progress, t_end)
    cap_spk = max(4096, 4 * N)
    cap_ev = 1 << 18
    t0 = 0.0
    next_sample = 1
    rate_emitted = 0
    n_events = 0
    while t0 < t_end:
        t1 = min(t0 + chunk, t_end)
        b0 = int(math.floor(t0 / rate_dt + 1e-9))
        b1 = int(math.floor(t1 / rate_dt + 1e-9))
        counts = np.zeros((b1 - b0 + 1, P), np.int64)
        counts[0] += carry
        last = min(int(math.floor(t1 / record_dt + 1e-9)), n_samp_total - 1)
        n_smp = max(0, last - next_sample + 1)
        hist, refc, kmean, kvar, carr = _buffers(spec, max(n_smp, 1), nb, do_coarse)
        smp_done = 0
        while True:
            spk_t = np.empty(cap_spk)
            spk_i = np.empty(cap_spk, np.int64)
            ev = (np.empty(cap_ev if do_events else 1), np.empty(cap_ev if do_events else 1,
                  np.int64), np.empty(cap_ev if do_events else 1, np.int16),
                  np.empty(cap_ev if do_events else 1, np.int16))
            status, n_spk, n_ev, smp_done, nev = ks.advance(
                t1, b0, rate_dt, counts, next_sample, smp_done, n_smp, record_dt, edges,
                hist, refc, kmean, kvar, do_coarse, cedges, carr, spk_t, spk_i, do_events,
                *ev)
            n_events += nev
            if do_spikes:
                sink.append("spikes/t", spk_t[:n_spk])
                sink.append("spikes/i", spk_i[:n_spk])
            if do_events:
                sink.append("events/t", ev[0][:n_ev])
                sink.append("events/i", ev[1][:n_ev])
                sink.append("events/from", ev[2][:n_ev])
                sink.append("events/to", ev[3][:n_ev])
            if status == 0:
                assert smp_done == n_smp
                break
            if status == 2:
                ks.grow()
        n_complete = min(b1, n_rate) - b0
        if n_complete > 0:
            _emit_rates(sink, spec, (b0 + np.arange(n_complete)) * rate_dt,
                        counts[:n_complete])
            rate_emitted += n_complete
        carry = counts[n_complete].copy() if 0 <= n_complete < counts.shape[0] else \
            np.zeros(P, np.int64)
        if n_smp:
            ts = np.arange(next_sample, next_sample + n_smp) * record_dt
            _emit_samples(sink, spec, ts, hist[:n_smp], refc[:n_smp], kmean[:n_smp],
                          kvar[:n_smp], carr[:n_smp] if do_coarse else carr, do_coarse)
            next_sample += n_smp
        if bar is not None:
            bar.update(t1 - t0)
        t0 = t1
    if bar is not None:
        bar.close()
    if rate_emitted == 0:
        _emit_rates(sink, spec, np.zeros(0), np.zeros((0, P), np.int64))
    return {"compile_s": compile_s, "compile_cpu_s": compile_cpu_s, "rng": ks.rng_name,
            "n_events": n_events}
