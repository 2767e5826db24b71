"""``BalancedHybridNetwork``: the balanced stochastic-hybrid E/I network (models.md §6).

**Reconstruction** (the abstract of MacLaurin & Vilanova fixes only the ingredients; every
modelling choice below is a parameter). 2n neurons, n excitatory (E) and n inhibitory (I),
all-to-all. Neuron k of population p carries a synaptic potentiation x_k with

    dx_k/dt = −α_p x_k + I_p (+ √n·I⁰_p with ``sqrt_n_drive``)     between events,

and for every ordered pair (j, k), j ≠ k, an independent Poisson process of intensity
f_{p(j)}(x_j) (``spikes="per-pair"``) — or one spike train per neuron j shared by all its
targets (``spikes="shared"``) — whose events make x_k += J_{p(k) p(j)}/√n.
The intensity is logistic, f_q(x) = f_max,q / (1 + exp(−gain_q (x − threshold_q))), in
events per ms.

Limit (per-pair form only; the shared form adds O(1) common noise to the means and its
across-neuron variance decays to 0): each population is Gaussian N(μ_p, v_p) with
F_q = E[f_q(μ_q + √v_q Z)],

    dv_p/dt = −2 α_p v_p + Σ_q J_pq² F_q,

and the means are held on the balanced manifold Σ_q J_pq F_q (+ I⁰_p) = O(n^{−1/2}).

Examples
--------
>>> import simulate
>>> net = simulate.BalancedHybridNetwork(n=200, spikes="per-pair")
>>> net.J.tolist()
[[1.0, -1.5], [1.0, -1.5]]
>>> traj = net.run(t_end=100.0, seed=0, progress=False)     # doctest: +SKIP
>>> traj["samples/x_var/E"][-1]                               # doctest: +SKIP
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..executor import spawn_seeds
from ..recording import ChunkSink, progress_bar
from ..trajectory import Trajectory, TrajectoryWriter
from ..validation import (
    ParameterError,
    check_choice,
    check_known,
    check_number,
    check_positive_int,
)
from . import kernels

__all__ = ["BalancedHybridNetwork", "DEFAULTS", "logistic"]

#: Default parameters (a reconstruction: chosen to satisfy the stability condition
#: J_I·E f_I' > J_E·E f_E' of models.md §6 with one common balance constraint).
DEFAULTS: dict = {
    "n": 500,                   # neurons per population
    "J": None,                  # 2x2 matrix [[J_EE, J_EI], [J_IE, J_II]] (target, source)
    "j_ee": 1.0,
    "j_ei": -1.5,
    "j_ie": 1.0,
    "j_ii": -1.5,
    "alpha": (0.1, 0.1),        # per ms, decay of x (E, I); a scalar applies to both
    "I": (0.0, 0.0),            # O(1) drive (E, I), per ms
    "sqrt_n_drive": (0.0, 0.0),  # coefficient I0 of an extra sqrt(n)*I0 drive (E, I)
    "f_max": (0.05, 0.05),      # events per ms (0.05 = 50 Hz)
    "gain": (1.0, 2.0),
    "threshold": (0.0, 0.0),
    "spikes": "per-pair",       # or "shared"
    "autapses": False,
    "dt": 0.05,                 # ms
    "x0_mean": (0.0, 0.0),
    "x0_var": (1.0, 1.0),
}

RECORDING_KEYS = ("rate_dt", "record_dt", "record_spikes", "record_x", "chunk_ms", "t_burn")


def logistic(x, f_max, gain, threshold):
    """f(x) = f_max / (1 + exp(−gain (x − threshold))) (events per ms), vectorised."""
    z = gain * (np.asarray(x, float) - threshold)
    return f_max * 0.5 * (1.0 + np.tanh(0.5 * z))


def _pair(name, value, lo=None, hi=None, lo_open=False, unit=None, suspicious_above=None,
          suspicious_hint=None):
    if np.ndim(value) == 0:
        value = (value, value)
    try:
        a, b = value
    except (TypeError, ValueError):
        raise ParameterError(
            f"{name} = {value!r} must be a number or a pair (E, I)"
        ) from None
    return tuple(
        check_number(f"{name}[{q}]", v, lo, hi, lo_open=lo_open, unit=unit,
                     suspicious_above=suspicious_above, suspicious_hint=suspicious_hint)
        for q, v in zip("EI", (a, b))
    )


class BalancedHybridNetwork:
    """Balanced all-to-all stochastic-hybrid E/I network (models.md §6, reconstruction).

    Parameters
    ----------
    **params
        ``n`` (neurons per population), coupling ``J`` (2×2, rows = target E, I; columns =
        source E, I) or its entries ``j_ee``, ``j_ei``, ``j_ie``, ``j_ii`` (J_EI: I onto E),
        ``alpha`` (decay rate, per ms), ``I`` (drive, per ms), ``sqrt_n_drive`` (I⁰: adds
        √n·I⁰), ``f_max`` (events per ms), ``gain``, ``threshold`` of the logistic
        intensity, ``spikes`` ("per-pair" or "shared"), ``autapses``, ``dt`` (ms),
        ``x0_mean``, ``x0_var`` (Gaussian initial state). Per-population parameters take a
        number (both populations) or a pair (E, I).
    """

    model_name = "hybrid"

    def __init__(self, **params):
        self._given = dict(params)
        check_known(params, DEFAULTS, "BalancedHybridNetwork")
        p = {**DEFAULTS, **params}
        p["n"] = check_positive_int("n", p["n"], 1, 10**7)
        if p["J"] is not None:
            if any(k in params for k in ("j_ee", "j_ei", "j_ie", "j_ii")):
                raise ParameterError("give either J (the 2x2 matrix) or its entries j_ee..j_ii")
            jm = np.asarray(p["J"], dtype=float)
            if jm.shape != (2, 2):
                raise ParameterError(f"J must be a 2x2 matrix [[J_EE, J_EI], [J_IE, J_II]]; "
                                     f"got shape {jm.shape}")
            p["j_ee"], p["j_ei"], p["j_ie"], p["j_ii"] = (float(v) for v in jm.ravel())
            p["J"] = None
        for name in ("j_ee", "j_ie"):
            p[name] = check_number(name, p[name], 0.0, 1e4,
                                   hint="excitatory couplings are >= 0")
        for name in ("j_ei", "j_ii"):
            p[name] = check_number(name, p[name], -1e4, 0.0,
                                   hint="inhibitory couplings are <= 0")
        p["alpha"] = _pair("alpha", p["alpha"], 0.0, 100.0, lo_open=True, unit="per ms")
        p["I"] = _pair("I", p["I"], -1e6, 1e6)
        p["sqrt_n_drive"] = _pair("sqrt_n_drive", p["sqrt_n_drive"], -1e6, 1e6)
        p["f_max"] = _pair("f_max", p["f_max"], 0.0, None, unit="events per ms",
                           suspicious_above=10.0,
                           suspicious_hint="f_max is in events per ms, not Hz")
        p["gain"] = _pair("gain", p["gain"], 0.0, 1e3)
        p["threshold"] = _pair("threshold", p["threshold"], -1e6, 1e6)
        check_choice("spikes", p["spikes"], ("per-pair", "shared"))
        if not isinstance(p["autapses"], (bool, np.bool_)):
            raise ParameterError(f"autapses = {p['autapses']!r} must be True or False")
        p["autapses"] = bool(p["autapses"])
        p["dt"] = check_number("dt", p["dt"], 0.0, 1.0, lo_open=True, unit="ms")
        p["x0_mean"] = _pair("x0_mean", p["x0_mean"], -1e6, 1e6)
        p["x0_var"] = _pair("x0_var", p["x0_var"], 0.0, 1e6)
        fm = max(p["f_max"])
        if fm * p["dt"] > 0.5:
            raise ParameterError(
                f"dt = {p['dt']:g} ms is too coarse for f_max = {fm:g} per ms: the valid "
                f"range is dt <= 0.5/f_max = {0.5 / fm:g} ms"
            )
        self.params = p

    # ------------------------------------------------------------------ views
    @property
    def populations(self) -> tuple:
        return ("E", "I")

    @property
    def sizes(self) -> dict:
        return {"E": self.params["n"], "I": self.params["n"]}

    @property
    def J(self) -> np.ndarray:
        """Coupling matrix [[J_EE, J_EI], [J_IE, J_II]] (target row, source column)."""
        p = self.params
        return np.array([[p["j_ee"], p["j_ei"]], [p["j_ie"], p["j_ii"]]])

    def drive(self) -> np.ndarray:
        """Total drive I_p + √n I⁰_p per population (per ms)."""
        p = self.params
        return np.array(p["I"]) + math.sqrt(p["n"]) * np.array(p["sqrt_n_drive"])

    def intensity(self, x, pop: str):
        """The logistic intensity f_pop(x), events per ms."""
        q = "EI".index(check_choice("pop", pop, ("E", "I")))
        p = self.params
        return logistic(x, p["f_max"][q], p["gain"][q], p["threshold"][q])

    def with_params(self, **changes) -> BalancedHybridNetwork:
        """A new network with some parameters changed."""
        base = dict(self._given)
        if any(k in changes for k in ("j_ee", "j_ei", "j_ie", "j_ii")) and "J" in base:
            jm = np.asarray(base.pop("J"), float)
            base.update(j_ee=jm[0, 0], j_ei=jm[0, 1], j_ie=jm[1, 0], j_ii=jm[1, 1])
        if "J" in changes:
            for k in ("j_ee", "j_ei", "j_ie", "j_ii"):
                base.pop(k, None)
        return BalancedHybridNetwork(**{**base, **changes})

    # ------------------------------------------------------------------ run
    def run(self, t_end: float, seed: int | None = 0, out=None, progress: bool = True,
            **recording):
        """Simulate ``t_end`` ms and return a :class:`simulate.Trajectory` (model "hybrid").

        Recorded: ``rate/t``, ``rate/<Q>`` (per-pair: the integrated intensity Σ_j ∫f(x_j)dt
        of population Q per bin, i.e. the expected spike count of one realised train per
        neuron; shared: the spike count), ``samples/t``, ``samples/x_mean/<Q>``,
        ``samples/x_var/<Q>`` (across-neuron mean and variance, ddof = 0),
        ``samples/f_mean/<Q>`` (mean intensity, per ms), ``samples/x_trace`` and
        ``trace_ids`` (``record_x`` = list of global ids), ``counts/received`` ((2n, 2)
        events received from E and I over the run), ``spikes/t``, ``spikes/i`` (shared mode,
        ``record_spikes``).

        Parameters
        ----------
        t_end : float
            ms.
        seed : int
        out : path, optional
            Stream to this HDF5 file (see :class:`simulate.TrajectoryWriter`).
        progress : bool
        **recording
            ``rate_dt`` (1 ms), ``record_dt`` (1 ms), ``record_spikes`` (True; shared mode
            only), ``record_x`` (ids), ``chunk_ms`` (100), ``t_burn`` (200 ms).
        """
        check_known(recording, RECORDING_KEYS, "hybrid.run")
        p = self.params
        dt = p["dt"]
        t_end = check_number("t_end", t_end, 0.0, 1e9, lo_open=True, unit="ms")
        if seed is not None:
            seed = check_number("seed", seed, 0, None, integer=True)
        n_steps_total = int(round(t_end / dt))
        if n_steps_total < 1:
            raise ParameterError(f"t_end = {t_end:g} ms is shorter than one step dt = {dt:g}")

        def steps_of(name, val):
            k = int(round(val / dt))
            if k < 1 or abs(k * dt - val) > 1e-6 * max(1.0, val):
                raise ParameterError(f"{name} = {val:g} ms must be a positive multiple of "
                                     f"dt = {dt:g} ms")
            return k

        rate_every = steps_of("rate_dt", float(recording.get("rate_dt", 1.0)))
        sample_every = steps_of("record_dt", float(recording.get("record_dt", 1.0)))
        chunk_ms = check_number("chunk_ms", recording.get("chunk_ms", 100.0), 0.0, None,
                                lo_open=True)
        t_burn = check_number("t_burn", recording.get("t_burn", 200.0), 0.0, None)
        shared = p["spikes"] == "shared"
        record_spikes = bool(recording.get("record_spikes", True)) and shared
        n = p["n"]
        N = 2 * n
        trace_ids = np.asarray([] if recording.get("record_x") is None else recording["record_x"],
                           dtype=np.int64).ravel()
        if trace_ids.size and (trace_ids.min() < 0 or trace_ids.max() >= N):
            raise ParameterError(f"record_x contains ids outside the valid range [0, {N - 1}]")
        wall0 = time.perf_counter()

        rng = np.random.default_rng(np.random.SeedSequence(seed))
        pop_of = np.repeat(np.arange(2, dtype=np.int64), n)
        mean0 = np.array(p["x0_mean"])[pop_of]
        sd0 = np.sqrt(np.array(p["x0_var"]))[pop_of]
        x = mean0 + sd0 * rng.standard_normal(N)
        kernels.seed_numba(spawn_seeds(seed, 1)[0] % (2**32))
        alpha = np.array(p["alpha"])
        xstar = self.drive() / alpha
        decay = np.exp(-alpha * dt)
        decay_half = np.exp(-alpha * dt / 2)
        jmat = self.J / math.sqrt(n)
        fmax = np.array(p["f_max"])
        gain = np.array(p["gain"])
        thr = np.array(p["threshold"])
        sizes = np.array([n, n], np.int64)
        lam = np.zeros(N)
        spikes = np.zeros(N, np.int64)
        recv = np.zeros((N, 2), np.int64)
        lcm = int(np.lcm(rate_every, sample_every))
        chunk_steps = max(lcm, int(round(chunk_ms / dt)) // lcm * lcm)
        spk_cap = int(max(4 * N, min(N * chunk_steps, 4_000_000))) if record_spikes else 1
        spk_t = np.empty(spk_cap, np.int64)
        spk_i = np.empty(spk_cap, np.int32)

        writer = TrajectoryWriter(out) if out is not None else None
        sink = ChunkSink(writer)
        emit = sink.append
        bar = progress_bar(progress, t_end, "hybrid")
        mode = kernels.SHARED if shared else kernels.PER_PAIR
        step = 0
        try:
            if writer is not None and trace_ids.size:
                writer.write("trace_ids", trace_ids)
            while step < n_steps_total:
                steps = min(chunk_steps, n_steps_total - step)
                b0 = step // rate_every
                s0 = step // sample_every
                nbins = (step + steps - 1) // rate_every - b0 + 1
                nsamp = (step + steps) // sample_every - s0
                rate_acc = np.zeros((nbins, 2))
                ns = max(nsamp, 1)
                x_sum = np.zeros((ns, 2))
                x_sq = np.zeros((ns, 2))
                f_sum = np.zeros((ns, 2))
                traces = np.zeros((ns, trace_ids.size))
                done = 0
                st, si = [], []
                while done < steps:
                    d, n_spk = kernels.hybrid_steps(
                        mode, step + done, steps - done, dt, x, pop_of, sizes, xstar, decay,
                        decay_half, jmat, fmax, gain, thr, p["autapses"], lam, spikes,
                        rate_every, b0, rate_acc, sample_every, s0, x_sum, x_sq, f_sum,
                        trace_ids, traces, recv, record_spikes, spk_t, spk_i, 0,
                    )
                    if record_spikes:
                        st.append(spk_t[:n_spk] * dt)
                        si.append(spk_i[:n_spk].copy())
                    done += d
                emit("rate/t", (b0 + np.arange(nbins)) * rate_every * dt)
                for qi, q in enumerate(("E", "I")):
                    emit(f"rate/{q}", rate_acc[:, qi])
                if record_spikes:
                    emit("spikes/t", np.concatenate(st))
                    emit("spikes/i", np.concatenate(si))
                if nsamp > 0:
                    emit("samples/t", (s0 + 1 + np.arange(nsamp)) * sample_every * dt)
                    for qi, q in enumerate(("E", "I")):
                        m = x_sum[:nsamp, qi] / n
                        emit(f"samples/x_mean/{q}", m)
                        emit(f"samples/x_var/{q}", np.maximum(x_sq[:nsamp, qi] / n - m * m,
                                                              0.0))
                        emit(f"samples/f_mean/{q}", f_sum[:nsamp, qi] / n)
                    if trace_ids.size:
                        emit("samples/x_trace", traces[:nsamp])
                step += steps
                if bar is not None:
                    bar.update(steps * dt)
            meta = {"rate_dt": rate_every * dt, "record_dt": sample_every * dt, "dt": dt,
                    "method": "fixed-step (exact flow, Poisson counts per step)",
                    "spikes": p["spikes"], "wall_time_s": time.perf_counter() - wall0,
                    "reconstruction": True}
            params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in p.items()}
            shell = Trajectory(self.model_name, params, seed, ("E", "I"), {"E": n, "I": n},
                               n_steps_total * dt, {}, meta, t_burn)
            if writer is not None:
                writer.write("counts/received", recv)
                writer.set_attrs(**shell._attrs())
                writer.close()
                writer = None
                return Trajectory.load(out)
            arrays = sink.arrays()
            arrays["counts/received"] = recv
            if trace_ids.size:
                arrays["trace_ids"] = trace_ids
            shell.arrays = arrays
            return shell
        finally:
            if writer is not None:
                writer.abort()
            if bar is not None:
                bar.close()

    def __repr__(self) -> str:
        p = self.params
        return (f"BalancedHybridNetwork(n={p['n']}, spikes={p['spikes']!r}, "
                f"J={self.J.tolist()})")
