"""Run driver shared by the LIF networks: chunks, recording, progress, streaming to HDF5.

A network class resolves its parameters into a :class:`LIFSpec` (flat arrays for
:func:`simulate.lif.kernels.run_steps`); :func:`run_lif` advances the kernel chunk by chunk and
collects the arrays of a :class:`simulate.Trajectory` (names as in
:mod:`simulate.trajectory`):

``rate/t``, ``rate/<Q>``                  spikes per rate bin (``rate_dt`` ms)
``spikes/t``, ``spikes/i``                spike times (ms, on the step grid) and global ids
``samples/t``                             sample times (ms), every ``record_dt``
``samples/hist/<Q>``, ``bins/<Q>``        histogram of V over non-refractory neurons
                                          (outer bins also collect values beyond the edges)
``samples/v_mean/<Q>``                    mean V of non-refractory neurons (mV)
``samples/refractory/<Q>``                number of refractory neurons
``samples/v_trace``, ``trace_ids``        V of chosen neurons (``record_v``)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..executor import spawn_seeds
from ..recording import ChunkSink, progress_bar
from ..trajectory import Trajectory, TrajectoryWriter
from ..validation import ParameterError, check_number, check_positive_int
from . import kernels
from .connectivity import Pathways, build_csr

__all__ = ["LIFSpec", "run_lif", "RECORDING_KEYS"]

RECORDING_KEYS = ("rate_dt", "record_dt", "record_spikes", "v_bins", "v_range", "record_v",
                  "chunk_ms", "t_burn", "kernel")


@dataclass
class LIFSpec:
    """Everything the kernel needs, as flat arrays (built by the network classes)."""

    kind: int
    populations: tuple
    sizes: tuple
    dt: float
    fp: np.ndarray
    ref_steps: int
    pop_exc: np.ndarray
    w_pre: np.ndarray
    ext_lam: np.ndarray          # external events per step, per population
    w_ext: np.ndarray
    ext_lam_i: np.ndarray        # external inhibitory events per step, per population
    w_ext_i: np.ndarray
    paths: Pathways
    max_delay_steps: int
    connectivity: str            # "stored" or "procedural"
    v_init: tuple                # (lo, hi) of the uniform initial voltages
    v_range: tuple               # default histogram range
    g_init: tuple = (0.0, 0.0)
    meta: dict = field(default_factory=dict)

    @property
    def n_total(self) -> int:
        return int(sum(self.sizes))


def _steps(name, value_ms, dt):
    k = int(round(value_ms / dt))
    if k < 1 or abs(k * dt - value_ms) > 1e-6 * max(1.0, value_ms):
        raise ParameterError(
            f"{name} = {value_ms:g} ms must be a positive multiple of dt = {dt:g} ms"
        )
    return k


def run_lif(spec: LIFSpec, model: str, params: dict, t_end: float, seed, out=None,
            progress=True, **recording):
    """Simulate ``spec`` for ``t_end`` ms; see the module docstring for what is recorded.

    Parameters
    ----------
    spec : LIFSpec
    model : str
        Registry name written into the trajectory.
    params : dict
        The network's parameters (provenance).
    t_end : float
        Simulated time, ms.
    seed : int or None
        Root seed of the dynamics (the connectivity has its own ``conn_seed``).
    out : str or Path, optional
        Stream the arrays into this HDF5 file while running (memory then does not grow with
        ``t_end``); the returned trajectory is read back from it.
    progress : bool
        Progress bar over simulated time (stderr).
    **recording
        ``rate_dt`` (ms, default 1), ``record_dt`` (ms, default 1), ``record_spikes``
        (default True), ``v_bins`` (default 60), ``v_range`` (mV pair), ``record_v``
        (global neuron ids whose V is sampled), ``chunk_ms`` (default 100), ``t_burn``
        (ms, default 200), ``kernel`` ("auto": the direct fast path when it applies, i.e.
        exponential conductances, no external input, one-step delays; "ring": always the
        general ring-buffer kernel).
    """
    from ..validation import check_known

    check_known(recording, RECORDING_KEYS, f"{model}.run")
    dt = spec.dt
    t_end = check_number("t_end", t_end, 0.0, 1e9, lo_open=True, unit="ms")
    n_total_steps = int(round(t_end / dt))
    if n_total_steps < 1:
        raise ParameterError(f"t_end = {t_end:g} ms is shorter than one step dt = {dt:g} ms")
    rate_every = _steps("rate_dt", float(recording.get("rate_dt", 1.0)), dt)
    sample_every = _steps("record_dt", float(recording.get("record_dt", 1.0)), dt)
    record_spikes = bool(recording.get("record_spikes", True))
    nb = check_positive_int("v_bins", recording.get("v_bins", 60), 1, 100000)
    v_lo, v_hi = recording.get("v_range", spec.v_range)
    v_lo = check_number("v_range[0]", v_lo, unit="mV")
    v_hi = check_number("v_range[1]", v_hi, v_lo, None, lo_open=True, unit="mV")
    chunk_ms = check_number("chunk_ms", recording.get("chunk_ms", 100.0), 0.0, None,
                            lo_open=True, unit="ms")
    t_burn = check_number("t_burn", recording.get("t_burn", 200.0), 0.0, None, unit="ms")
    N = spec.n_total
    trace_ids = np.asarray([] if recording.get("record_v") is None else recording["record_v"],
                           dtype=np.int64).ravel()
    if trace_ids.size and (trace_ids.min() < 0 or trace_ids.max() >= N):
        raise ParameterError(
            f"record_v contains ids outside the valid range [0, {N - 1}]"
        )
    if seed is not None:
        seed = check_number("seed", seed, 0, None, integer=True)
    wall0 = time.perf_counter()

    # ---------------------------------------------------------------- state
    npop = len(spec.populations)
    pop_of = np.repeat(np.arange(npop, dtype=np.int64), spec.sizes)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    v = rng.uniform(spec.v_init[0], spec.v_init[1], size=N)
    g_e = np.full(N, float(spec.g_init[0]))
    g_i = np.full(N, float(spec.g_init[1]))
    ref_end = np.zeros(N, np.int64)
    D = spec.max_delay_steps + 1
    # spike queues by arrival slot (grown by the kernel when full) and per-neuron input counts
    use_queue = spec.connectivity == "stored"
    queue_e = np.empty((D if use_queue else 1, 1024), np.int32)
    queue_i = np.empty((D if use_queue else 1, 1024), np.int32)
    ring_e = np.zeros((1, 1) if use_queue else (D, N), np.float32)
    ring_i = np.zeros((1, 1) if use_queue else (D, N), np.float32)
    ce = np.zeros(D, np.int64)
    ci = np.zeros(D, np.int64)
    in_e = np.zeros(N)
    in_i = np.zeros(N)
    exc_pops = np.flatnonzero(spec.pop_exc == 1)
    inh_pops = np.flatnonzero(spec.pop_exc == 0)
    w_exc = float(spec.w_pre[exc_pops[0]]) if exc_pops.size else 0.0
    w_inh = float(spec.w_pre[inh_pops[0]]) if inh_pops.size else 0.0
    if (np.any(spec.w_pre[exc_pops] != w_exc) or np.any(spec.w_pre[inh_pops] != w_inh)):
        raise ParameterError("all excitatory (inhibitory) populations must share one weight")
    kernels.seed_numba(spawn_seeds(seed, 1)[0] % (2**32))
    next_ext = np.empty(N)
    kernels.init_next_ext(next_ext, pop_of, spec.ext_lam)
    next_ext_i = np.empty(N)
    kernels.init_next_ext(next_ext_i, pop_of, spec.ext_lam_i)
    paths_t = spec.paths.as_tuple()
    t_conn = time.perf_counter()
    c_conn = time.process_time()
    if spec.connectivity == "stored":
        ptr, idx, dly = build_csr(N, spec.paths, dt)
        stored = True
    else:
        ptr = np.zeros(1, np.int64)
        idx = np.zeros(1, np.int32)
        dly = np.zeros(1, np.int16)
        stored = False
    t_conn = time.perf_counter() - t_conn
    c_conn = time.process_time() - c_conn
    n_syn = int(ptr[-1]) if stored else None
    from ..validation import check_choice

    kernel = check_choice("kernel", recording.get("kernel", "auto"), ("auto", "ring"))
    direct = (kernel == "auto" and spec.kind == kernels.COND_EXP and stored
              and not np.any(spec.ext_lam > 0) and not np.any(spec.ext_lam_i > 0)
              and float(spec.paths.d_hi.max(initial=0.0)) < 0.5 * dt)
    v_prev = v.copy()
    buf_idx = np.empty(N, np.int64)
    buf_del = np.empty(N, np.int64)
    v_width = (v_hi - v_lo) / nb

    # ---------------------------------------------------------------- chunking
    lcm = int(np.lcm(rate_every, sample_every))
    chunk_steps = max(lcm, int(round(chunk_ms / dt)) // lcm * lcm)
    min_ref = max(spec.ref_steps, 1)
    spk_cap = N * (chunk_steps // min_ref + 2) if record_spikes else 1
    spk_cap = int(min(spk_cap, max(50 * N, 4_000_000)))
    spk_t = np.empty(spk_cap, np.int64)
    spk_i = np.empty(spk_cap, np.int32)

    writer = None
    if out is not None:
        writer = TrajectoryWriter(out)
        bin_edges = np.linspace(v_lo, v_hi, nb + 1)
        for q in spec.populations:
            writer.write(f"bins/{q}", bin_edges)
        if trace_ids.size:
            writer.write("trace_ids", trace_ids)
    sink = ChunkSink(writer)
    emit = sink.append
    bar = progress_bar(progress, t_end, model)
    n = 0
    wall_kernel = 0.0
    cpu_kernel = 0.0
    n_spikes_total = 0
    try:
        while n < n_total_steps:
            steps = min(chunk_steps, n_total_steps - n)
            b0 = n // rate_every
            s0 = n // sample_every
            nbins = (n + steps - 1) // rate_every - b0 + 1
            nsamp = (n + steps) // sample_every - s0
            rate_counts = np.zeros((nbins, npop), np.int64)
            hist = np.zeros((max(nsamp, 1), npop, nb), np.int64)
            n_ref = np.zeros((max(nsamp, 1), npop), np.int64)
            v_sum = np.zeros((max(nsamp, 1), npop))
            traces = np.zeros((max(nsamp, 1), trace_ids.size))
            done_total = 0
            spikes_chunk_t, spikes_chunk_i = [], []
            while done_total < steps:
                tk = time.perf_counter()
                ck = time.process_time()
                if direct:
                    done, n_spk = kernels.run_steps_direct(
                        n + done_total, steps - done_total, spec.fp, spec.ref_steps,
                        v, g_e, g_i, ref_end, v_prev, pop_of, spec.pop_exc, spec.w_pre,
                        ptr, idx, rate_every, b0, rate_counts,
                        sample_every, s0, v_lo, v_width, hist, n_ref, v_sum, trace_ids,
                        traces, record_spikes, spk_t, spk_i, 0,
                    )
                else:
                    done, n_spk, queue_e, queue_i = kernels.run_steps(
                        spec.kind, n + done_total, steps - done_total, spec.fp,
                        spec.ref_steps, v, g_e, g_i, ref_end, next_ext, next_ext_i, queue_e,
                        queue_i, ce, ci, in_e, in_i, use_queue, ring_e, ring_i, w_exc, w_inh,
                        pop_of, spec.pop_exc, spec.w_pre, spec.ext_lam, spec.w_ext,
                        spec.ext_lam_i, spec.w_ext_i,
                        stored, ptr, idx, dly, paths_t, dt, buf_idx, buf_del,
                        rate_every, b0, rate_counts,
                        sample_every, s0, v_lo, v_width, hist, n_ref, v_sum, trace_ids,
                        traces, record_spikes, spk_t, spk_i, 0,
                    )
                wall_kernel += time.perf_counter() - tk
                cpu_kernel += time.process_time() - ck
                if record_spikes:
                    spikes_chunk_t.append(spk_t[:n_spk] * dt)
                    spikes_chunk_i.append(spk_i[:n_spk].copy())
                done_total += done
                if done == 0 and n_spk == 0:  # pragma: no cover - cannot happen (cap >= N)
                    raise RuntimeError("spike buffer too small for one step")
            # the last rate bin may be partial only at t_end; keep it
            emit("rate/t", (b0 + np.arange(nbins)) * rate_every * dt)
            for qi, q in enumerate(spec.populations):
                emit(f"rate/{q}", rate_counts[:, qi])
            n_spikes_total += int(rate_counts.sum())
            if record_spikes:
                emit("spikes/t", np.concatenate(spikes_chunk_t))
                emit("spikes/i", np.concatenate(spikes_chunk_i))
            if nsamp > 0:
                emit("samples/t", (s0 + 1 + np.arange(nsamp)) * sample_every * dt)
                for qi, q in enumerate(spec.populations):
                    emit(f"samples/hist/{q}", hist[:nsamp, qi, :])
                    emit(f"samples/refractory/{q}", n_ref[:nsamp, qi])
                    active = spec.sizes[qi] - n_ref[:nsamp, qi]
                    with np.errstate(invalid="ignore", divide="ignore"):
                        emit(f"samples/v_mean/{q}", v_sum[:nsamp, qi] / active)
                if trace_ids.size:
                    emit("samples/v_trace", traces[:nsamp])
            n += steps
            if bar is not None:
                bar.update(steps * dt)
        wall = time.perf_counter() - wall0
        meta = {
            "rate_dt": rate_every * dt, "record_dt": sample_every * dt, "dt": dt,
            "method": "fixed-step", "connectivity": spec.connectivity,
            "kernel": "direct" if direct else "ring",
            "delivery": "direct" if direct else ("queue" if use_queue else "ring"),
            "queue_capacity": int(queue_e.shape[1]) if (use_queue and not direct) else 0,
            "n_synapses": n_syn if n_syn is not None else -1,
            "wall_time_s": wall, "kernel_time_s": wall_kernel, "connect_time_s": t_conn,
            "kernel_cpu_s": cpu_kernel, "connect_cpu_s": c_conn,
            "n_spikes": n_spikes_total, **spec.meta,
        }
        shell = Trajectory(model, params, seed, spec.populations,
                           dict(zip(spec.populations, spec.sizes)), n_total_steps * dt, {},
                           meta, t_burn)
        if writer is not None:
            writer.set_attrs(**shell._attrs())
            writer.close()
            writer = None
            traj = Trajectory.load(out)
            return traj
        arrays = sink.arrays()
        for q in spec.populations:
            arrays[f"bins/{q}"] = np.linspace(v_lo, v_hi, nb + 1)
        if trace_ids.size:
            arrays["trace_ids"] = trace_ids
        shell.arrays = arrays
        return shell
    finally:
        if writer is not None:
            writer.abort()
        if bar is not None:
            bar.close()
