# ruff: noqa: NPY002  -- numba supports only the legacy np.random API in njit code
r"""Self-consistent renewal-input single-neuron theory of the ISI statistics.

A second theory for the rate and the ISI coefficient of variation (CV) of a sparse network,
beside the white-noise (diffusion, Siegert) theory of :mod:`.brunel` and :mod:`.conductance`.
Mechanism (Lerchner et al. 2006; Dummer, Wieland & Lindner 2014, "Self-consistent
determination of the spike-train power spectrum in a neural network with sparse
connectivity"; the method here is our Monte-Carlo version of that idea, not their code): in a
sparse network each neuron's recurrent inputs are nearly independent spike trains of other
neurons, with the *same* statistics as its own output. Approximating them as independent
**renewal** processes whose interspike-interval (ISI) law is the output ISI law, the
single-neuron problem closes on itself:

.. math::

    P_{\text{in}}(\Delta) = P_{\text{out}}(\Delta), \qquad \nu_{\text{in}} = \nu_{\text{out}}.

The white-noise theory replaces the summed input by Gaussian white noise of the same mean
μ and variance σ² per unit time, which is exact only for Poisson inputs; regular trains
(CV < 1) have less power at low frequencies (S(0) = ν CV² for a renewal train), which the
white-noise theory cannot see.

Neuron models (the network's own single-neuron dynamics, on the time grid of
:mod:`simulate.lif.kernels`, steps of ``dt``; step n covers (t_{n−1}, t_n]):

- ``"current"`` (Brunel 2000, models.md §5, **published**): exact leak then δ-synapses,
  ``V ← V e^{−dt/τ} + J n_E − gJ n_I + J n_X``, with n_E, n_I the recurrent input spikes of
  the step (C_E excitatory, C_I = γC_E inhibitory renewal trains) and n_X ~ Poisson(C_X ν_X dt)
  the external ones;
- ``"conductance"`` (Sanzeni, Histed & Brunel, models.md §4, **published**): exact leak
  ``V ← E_L + (V − E_L)e^{−dt/τ_L}``, then the step's inputs as one instantaneous
  conductance pulse, ``A_E = a(n_E + n_X)``, ``A_I = g a n_I``,
  ``V ← V_∞ + (V − V_∞)e^{−(A_E + A_I)}``, ``V_∞ = (A_E E_E + A_I E_I)/(A_E + A_I)`` (for
  one kind of input the exact composition of jumps E_A + (V − E_A)e^{−a}); K excitatory and
  γK inhibitory renewal trains and K external Poisson inputs of rate ν_X;

then ``V ≥ θ`` → spike, ``V ← V_r``, refractory: the next ``ref_steps − 1`` steps are frozen
at V_r and their inputs lost (``ref_steps = round(τ_rp/dt)``), exactly as in the network.

Input trains (per model neuron, O(#input spikes)): every train's spike times are generated
in continuous time and binned into a per-step count. The first spike of a train is drawn at
a forward-recurrence time (pick an ISI of the pool with probability proportional to its
length, then a uniform point inside it), which makes each train stationary from t = 0
(E[N(0, t)] = ν t for every t); further ISIs are drawn from the pool with replacement. The
pool is the pooled output ISIs of the previous iteration divided by their mean (a "shape" of
mean 1) and multiplied by the input's mean ISI 1/ν_in. A discarded warm-up ``t_warm`` lets
the neuron's own state relax.

Iteration (:meth:`RenewalInputNeuron.self_consistent`):

0. Poisson input at ν₀ (the white-noise theory's self-consistent rate): output (ν₀', P₀).
1. k = 1, 2, …: renewal input with shape P_{k−1} at rate
   ν_in,k = ν_in,k−1 + (ν_out,k−1 − ν_in,k−1)/(1 − G), a Newton step on ν_out(ν_in) = ν_in
   with the slope G = dΦ/dν of the white-noise transfer function at ν_in,k−1 (the rate
   feedback of an inhibition-dominated network is strongly negative, G ≈ −5 at Brunel's
   (5, 2), so the plain iteration ν_in ← ν_out would diverge).
2. Converged at the first k ≥ 2 with
   ``|ν_out,k − ν_in,k| ≤ n_se·SE(ν_out,k)`` (rate self-consistent) **and**
   ``|CV_k − CV_{k−1}|/(1 − q) ≤ n_se·√(SE_k² + SE_{k−1}²)`` (the ISI law reproduces
   itself, seen through its CV, including the change still to come), n_se = 3 by default;
   otherwise stop after ``max_iter`` iterations with ``converged = False``. The CV
   approaches its fixed point geometrically, ΔCV_k ≈ q ΔCV_{k−1} (q ≈ 0.4–0.5 measured at
   Brunel's (5, 2)); q is estimated as the largest ratio |ΔCV_j/ΔCV_{j−1}| over steps whose
   previous change exceeds n_se noise levels (capped at 0.9; 0.5 when there is none), and
   the remaining truncation error |ΔCV_k| q/(1 − q) is reported as ``cv_tail``.

Statistics of an iteration (M independent model neurons, recorded time T):

- rate ν = mean over neurons of n_i/T, SE = std_i(n_i/T)/√M;
- CV of the pooled ISIs (the stationary CV, T → ∞), SE = std_i(CV_i)/√M (CV_i from neuron
  i's own ISIs);
- optionally ``cv_window_ms``: the mean over neurons and consecutive windows of that length of
  the per-window CV (windows with ≥ 5 spikes), i.e. the estimator a network analysis with
  that window applies, finite-window bias included; SE across windows.

Variant ``inputs="trains"``: iteration k's inputs are the recorded output trains of
iteration k − 1 themselves (a random one per input, random phase, repeated periodically,
time-scaled to ν_in), which keeps the serial correlations of the ISIs that resampling
destroys; at Brunel's (5, 2) it changes the CV by −0.003 (docs/meanfield.md §3b).

What the theory neglects: cross-correlations between the inputs (shared presynaptic neurons;
of order the connection probability ε), serial correlations of the ISIs of the inputs (a
renewal process has none; see the variant above), and, for the network, the heterogeneity of
rates across neurons. It is a **reconstruction** in the spirit of the cited papers (they
compute the spike-train power spectrum by iterating a single-neuron simulation with
surrogate inputs of the output spectrum; we match the ISI law instead, which fixes the
spectrum of a renewal train).

Examples
--------
>>> from reduce.meanfield.renewal import brunel_renewal
>>> res = brunel_renewal(g=5.0, eta=2.0, n_neurons=50, t_sim=1000.0)   # doctest: +SKIP
>>> round(res.cv, 2)                                                  # doctest: +SKIP
0.4
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from simulate.lif.kernels import COND_INSTANT as _COND
from simulate.lif.kernels import CURRENT as _CURR
from simulate.lif.kernels import seed_numba
from simulate.validation import (
    ParameterError,
    check_choice,
    check_known,
    check_number,
    check_positive_int,
)

__all__ = ["RenewalInputNeuron", "RenewalResponse", "RenewalResult", "brunel_renewal",
           "conductance_renewal", "sample_renewal_trains", "CURRENT_DEFAULTS",
           "CONDUCTANCE_DEFAULTS"]

MODELS = ("current", "conductance")

#: Brunel (2000), models.md §5 (ms, mV, Hz). ``nu_x``: rate of each of the ``C_X`` external
#: inputs (default C_X = C_E); ``C_E`` recurrent E inputs, ``gamma·C_E`` recurrent I inputs.
CURRENT_DEFAULTS = {
    "J": 0.1, "g": 5.0, "C_E": 1000, "gamma": 0.25, "C_X": None, "nu_x": 20.0,
    "tau": 20.0, "theta": 20.0, "v_r": 10.0, "tau_rp": 2.0, "dt": 0.1,
}

#: Sanzeni, Histed & Brunel, models.md §4 (ms, mV, Hz): K excitatory recurrent, γK inhibitory
#: recurrent and K external Poisson inputs of rate ``nu_x`` each; strengths a and g·a.
CONDUCTANCE_DEFAULTS = {
    "K": 1000, "a": 0.01, "g": 20.0, "gamma": 0.25, "nu_x": 10.0,
    "tau_l": 20.0, "e_l": -80.0, "e_e": 0.0, "e_i": -75.0, "theta": -55.0, "v_r": -65.0,
    "tau_rp": 2.0, "dt": 0.05,
}


# ----------------------------------------------------------------------------- kernels
def _seed(seed):
    """Seed numba's generator from any non-negative integer (a 32-bit state derived by
    numpy.random.SeedSequence, so nearby seeds give unrelated streams)."""
    seed_numba(int(np.random.SeedSequence(int(seed)).generate_state(1)[0]))


@njit(cache=True, inline="always")
def _forward_recurrence(shape, cum):
    """A forward-recurrence time (units of the shape): length-biased pick, uniform inside."""
    u = np.random.random() * cum[-1]
    j = np.searchsorted(cum, u)
    if j >= shape.size:
        j = shape.size - 1
    return np.random.random() * shape[j]


@njit(cache=True, inline="always")
def _draw(shape):
    return shape[int(np.random.random() * shape.size)]


@njit(cache=True)
def _train_times(shape, cum, scale, t_end, out):
    """Spike times in [0, t_end) of one stationary renewal train with ISIs ``scale·shape[j]``;
    writes into ``out`` and returns how many (stops at ``out.size``)."""
    t = scale * _forward_recurrence(shape, cum)
    k = 0
    while t < t_end and k < out.size:
        out[k] = t
        k += 1
        t += scale * _draw(shape)
    return k


@njit(cache=True)
def _bin_trains(n_trains, shape, cum, scale, cnt):
    """Add the spikes of ``n_trains`` independent stationary renewal trains (ISIs in steps:
    ``scale·shape[j]``) to the per-step counts ``cnt`` (spike at time t → bin ⌊t⌋)."""
    n_total = cnt.size
    for _ in range(n_trains):
        t = scale * _forward_recurrence(shape, cum)
        while t < n_total:
            cnt[int(t)] += 1
            t += scale * _draw(shape)


@njit(cache=True)
def _bin_source_trains(n_trains, src_t, src_ptr, period, cnt):
    """Add ``n_trains`` input trains, each a randomly chosen recorded train (times in steps,
    ``src_t[src_ptr[j]:src_ptr[j+1]]``, recorded over ``period`` steps) started at a uniform
    random phase and repeated periodically, to the per-step counts ``cnt``."""
    n_total = cnt.size
    n_src = src_ptr.size - 1
    for _ in range(n_trains):
        j = int(np.random.random() * n_src)
        u = np.random.random() * period
        for k in range(src_ptr[j], src_ptr[j + 1]):
            t = src_t[k] - u
            if t < 0.0:
                t += period
            while t < n_total:
                cnt[int(t)] += 1
                t += period


@njit(cache=True)
def _drive_neurons(kind, fp, ref_steps, n_neurons, n_warm, n_steps, c_e, c_i, w_e, w_i,
                   lam_x, w_x, mode, nu_step, shape, cum, src_t, src_ptr, period, spk, ptr):
    """Simulate ``n_neurons`` independent model neurons for ``n_warm + n_steps`` steps.

    ``fp`` = (E_L, E_E, E_I, θ, V_r, e^{−dt/τ}). Recurrent input: ``c_e``, ``c_i`` trains of
    ``nu_step`` spikes per step each; ``mode`` 0: Poisson, 1: renewal with ISI shape
    ``shape`` (mean 1; ``cum`` its cumulative sum), 2: recorded trains (``src_t``,
    ``src_ptr``, ``period``; :func:`_bin_source_trains`); external: Poisson(``lam_x``) per step of
    weight ``w_x``. Spike steps after the warm-up (counted from its end) are written to
    ``spk``, neuron m's in ``spk[ptr[m]:ptr[m+1]]``. Returns False if ``spk`` overflowed.
    """
    e_l, e_e, e_i, theta, v_r, decay = fp[0], fp[1], fp[2], fp[3], fp[4], fp[5]
    n_total = n_warm + n_steps
    cnt_e = np.zeros(n_total, np.int32)
    cnt_i = np.zeros(n_total, np.int32)
    scale = 1.0 / nu_step if nu_step > 0 else 0.0
    lam_e = c_e * nu_step
    lam_i = c_i * nu_step
    cap = spk.size
    k = 0
    poisson_in = mode == 0
    for m in range(n_neurons):
        ptr[m] = k
        if mode == 1 and nu_step > 0:
            cnt_e[:] = 0
            cnt_i[:] = 0
            _bin_trains(c_e, shape, cum, scale, cnt_e)
            _bin_trains(c_i, shape, cum, scale, cnt_i)
        elif mode == 2:
            cnt_e[:] = 0
            cnt_i[:] = 0
            _bin_source_trains(c_e, src_t, src_ptr, period, cnt_e)
            _bin_source_trains(c_i, src_t, src_ptr, period, cnt_i)
        v = v_r + (theta - v_r) * np.random.random()
        ref_end = -1
        for n in range(n_total):
            if poisson_in:
                ne = np.random.poisson(lam_e) if lam_e > 0 else 0
                ni = np.random.poisson(lam_i) if lam_i > 0 else 0
            else:
                ne = cnt_e[n]
                ni = cnt_i[n]
            nx = np.random.poisson(lam_x) if lam_x > 0 else 0
            if n < ref_end:
                continue
            if kind == _CURR:
                v = e_l + (v - e_l) * decay + w_e * ne - w_i * ni + w_x * nx
            else:
                v = e_l + (v - e_l) * decay
                ae = w_e * ne + w_x * nx
                ai = w_i * ni
                tot = ae + ai
                if tot > 0.0:
                    vinf = (ae * e_e + ai * e_i) / tot
                    v = vinf + (v - vinf) * np.exp(-tot)
            if v >= theta:
                v = v_r
                ref_end = n + ref_steps
                if n >= n_warm:
                    if k >= cap:
                        ptr[m + 1] = k
                        return False
                    spk[k] = n - n_warm
                    k += 1
    ptr[n_neurons] = k
    return True


# ----------------------------------------------------------------------------- results
_STATS = ("rate_hz", "rate_se_hz", "cv", "cv_se", "cv_window", "cv_window_se")


@dataclass(frozen=True)
class _Stats:
    """Output statistics shared by :class:`RenewalResponse` and :class:`RenewalResult`."""

    rate_hz: float
    rate_se_hz: float
    cv: float
    cv_se: float
    cv_window: float
    cv_window_se: float


@dataclass(frozen=True)
class RenewalResponse(_Stats):
    """Output statistics of M independent model neurons for one kind of input.

    Attributes
    ----------
    input : str
        ``"poisson"`` or ``"renewal"``.
    nu_in_hz : float
        Rate of each recurrent input train, Hz.
    cv_in : float
        CV of the input ISI law (1 for Poisson).
    rate_hz, rate_se_hz : float
        Mean output rate over neurons and its standard error, Hz.
    cv, cv_se : float
        CV of the pooled output ISIs and its standard error (std of per-neuron CVs / √M).
    cv_window, cv_window_se : float
        Mean per-window CV over windows of ``cv_window_ms`` (NaN when not requested).
    n_isi : int
        Number of pooled output ISIs.
    isi_ms : ndarray
        The pooled output ISIs, ms.
    wall_s : float
    trains : tuple
        ``(times_ms, ptr, t_rec_ms)``: the recorded output spike times, neuron m's in
        ``times_ms[ptr[m]:ptr[m+1]]`` (time from the end of the warm-up), and the recorded
        duration.
    """

    input: str = ""
    nu_in_hz: float = math.nan
    cv_in: float = math.nan
    n_isi: int = 0
    isi_ms: np.ndarray = field(default=None, repr=False)
    wall_s: float = 0.0
    trains: tuple = field(default=None, repr=False)

    def summary(self) -> dict:
        """The scalar fields as a dict (no ISI array)."""
        return {k: getattr(self, k) for k in ("input", "nu_in_hz", "cv_in", *_STATS, "n_isi",
                                              "wall_s")}


@dataclass(frozen=True)
class RenewalResult(_Stats):
    """Result of the self-consistent renewal iteration.

    Attributes
    ----------
    rate_hz, rate_se_hz, cv, cv_se, cv_window, cv_window_se : float
        Statistics of the last iteration (see :class:`RenewalResponse`).
    converged : bool
    cv_tail : float
        Estimated remaining change of the CV had the iteration continued (module docstring,
        step 2): a truncation-error budget.
    message : str
        How the iteration ended (criterion met at which iteration, or why not).
    criterion : str
        The convergence criterion in words.
    history : list of dict
        :meth:`RenewalResponse.summary` of every iteration (iteration 0 is the Poisson one).
    isi_ms : ndarray
        Pooled output ISIs of the last iteration, ms.
    params : dict
        Model and run settings.
    isi_poisson_ms : ndarray
        Pooled output ISIs of iteration 0 (Poisson input: the white-noise-like reference).
    """

    converged: bool = False
    message: str = ""
    criterion: str = ""
    history: list = field(default_factory=list)
    isi_ms: np.ndarray = field(default=None, repr=False)
    params: dict = field(default_factory=dict, repr=False)
    cv_tail: float = math.nan
    isi_poisson_ms: np.ndarray = field(default=None, repr=False)

    @property
    def iterations(self) -> int:
        return len(self.history)

    @property
    def poisson(self) -> dict:
        """Iteration 0 (Poisson input at the starting rate)."""
        return self.history[0]

    def summary(self) -> dict:
        """JSON-friendly dict of the scalar results and the history."""
        return {**{k: getattr(self, k) for k in _STATS}, "converged": self.converged,
                "cv_tail": self.cv_tail,
                "message": self.message, "criterion": self.criterion,
                "history": list(self.history)}


# ----------------------------------------------------------------------------- public
def _shape_of(isi):
    isi = np.asarray(isi, float).ravel()
    if isi.size < 2 or not np.all(np.isfinite(isi)) or np.any(isi < 0) or isi.sum() <= 0:
        raise ParameterError(f"isi_shape: need at least 2 finite, non-negative intervals with a "
                             f"positive sum, got {isi.size} values")
    shape = isi / isi.mean()
    return np.ascontiguousarray(shape), np.cumsum(shape)


def sample_renewal_trains(isi_shape, rate_hz: float, n_trains: int, t_ms: float,
                          seed: int = 0):
    """Spike times of independent stationary renewal trains (the sampler of the theory).

    Each train has ISIs drawn with replacement from ``isi_shape`` rescaled to the mean
    1000/``rate_hz`` ms; its first spike is at a forward-recurrence time (length-biased ISI,
    uniform point inside), so the counting process is stationary from t = 0:
    E[N(0, t)] = ν t for all t.

    Parameters
    ----------
    isi_shape : array_like
        Intervals (any unit; only their shape matters), at least 2.
    rate_hz : float
        Rate of each train, Hz.
    n_trains : int
    t_ms : float
        Duration, ms.
    seed : int

    Returns
    -------
    (times, ids) : tuple of ndarray
        Spike times (ms, sorted within each train) and train index.
    """
    shape, cum = _shape_of(isi_shape)
    rate_hz = check_number("rate_hz", rate_hz, 0.0, 1e4, lo_open=True, unit="Hz")
    n_trains = check_positive_int("n_trains", n_trains, 1, 10**7)
    t_ms = check_number("t_ms", t_ms, 0.0, 1e9, lo_open=True, unit="ms")
    seed = check_number("seed", seed, 0, 2**63 - 1, integer=True)
    scale = 1000.0 / rate_hz
    cap = int(t_ms / (scale * max(shape.min(), 1e-3)) + 10 * math.sqrt(t_ms / scale) + 10)
    _seed(int(seed))
    times, ids = [], []
    buf = np.empty(min(cap, 10**7))
    for j in range(n_trains):
        k = _train_times(shape, cum, scale, t_ms, buf)
        times.append(buf[:k].copy())
        ids.append(np.full(k, j, np.int64))
    return np.concatenate(times), np.concatenate(ids)


class RenewalInputNeuron:
    """A model neuron of the network driven by independent renewal input trains.

    Parameters
    ----------
    model : {"current", "conductance"}
        ``"current"``: Brunel's δ-synapse LIF (parameters :data:`CURRENT_DEFAULTS`: ``J``
        (mV), ``g``, ``C_E``, ``gamma``, ``C_X`` (external inputs, default C_E), ``nu_x``
        (Hz per external input), ``tau``, ``tau_rp``, ``dt`` (ms), ``theta``, ``v_r``
        (mV)); ``"conductance"``: the instantaneous-conductance LIF of models.md §4
        (:data:`CONDUCTANCE_DEFAULTS`: ``K``, ``a``, ``g``, ``gamma``, ``nu_x`` (Hz),
        ``tau_l``, ``tau_rp``, ``dt`` (ms), ``e_l``, ``e_e``, ``e_i``, ``theta``, ``v_r``
        (mV)).
    **params
        Any of the model's parameters by keyword.

    Examples
    --------
    >>> nrn = RenewalInputNeuron("current", g=5.0, nu_x=20.0)
    >>> nrn.n_inputs
    (1000, 250, 1000)
    """

    def __init__(self, model: str = "current", **params):
        self.model = check_choice("model", model, MODELS)
        defaults = CURRENT_DEFAULTS if self.model == "current" else CONDUCTANCE_DEFAULTS
        check_known(params, defaults, f"RenewalInputNeuron({self.model!r})")
        p = {**defaults, **params}
        p["dt"] = check_number("dt", p["dt"], 0.0, 1.0, lo_open=True, unit="ms")
        p["tau_rp"] = check_number("tau_rp", p["tau_rp"], 0.0, 1000.0, unit="ms")
        p["gamma"] = check_number("gamma", p["gamma"], 0.0, 10.0)
        p["g"] = check_number("g", p["g"], 0.0, 1e4)
        p["nu_x"] = check_number("nu_x", p["nu_x"], 0.0, 1e4, unit="Hz",
                                 suspicious_above=2000.0,
                                 suspicious_hint="nu_x is in Hz per external input")
        if self.model == "current":
            p["C_E"] = check_positive_int("C_E", p["C_E"], 0, 10**7)
            p["C_X"] = p["C_E"] if p["C_X"] is None else check_positive_int(
                "C_X", p["C_X"], 0, 10**7)
            p["J"] = check_number("J", p["J"], 0.0, 100.0, lo_open=True, unit="mV")
            p["tau"] = check_number("tau", p["tau"], 0.0, 1e4, lo_open=True, unit="ms")
            p["theta"] = check_number("theta", p["theta"], -1e3, 1e3, unit="mV")
            p["v_r"] = check_number("v_r", p["v_r"], -1e3, p["theta"], hi_open=True, unit="mV")
        else:
            p["K"] = check_positive_int("K", p["K"], 1, 10**7)
            p["a"] = check_number("a", p["a"], 0.0, 1.0, lo_open=True, hi_open=True,
                                  hint="a is the dimensionless jump fraction of an input")
            p["tau_l"] = check_number("tau_l", p["tau_l"], 0.0, 1e4, lo_open=True, unit="ms")
            for k in ("e_l", "e_e", "e_i", "theta"):
                p[k] = check_number(k, p[k], -1e3, 1e3, unit="mV")
            p["v_r"] = check_number("v_r", p["v_r"], -1e3, p["theta"], hi_open=True, unit="mV")
        self.params = p

    @property
    def n_inputs(self) -> tuple:
        """(excitatory recurrent, inhibitory recurrent, external) inputs per neuron."""
        p = self.params
        if self.model == "current":
            return p["C_E"], int(round(p["gamma"] * p["C_E"])), p["C_X"]
        return p["K"], int(round(p["gamma"] * p["K"])), p["K"]

    def _kernel_args(self):
        p = self.params
        dt = p["dt"]
        c_e, c_i, c_x = self.n_inputs
        lam_x = c_x * p["nu_x"] / 1000.0 * dt
        if self.model == "current":
            fp = np.array([0.0, 0.0, 0.0, p["theta"], p["v_r"], math.exp(-dt / p["tau"])])
            return _CURR, fp, c_e, c_i, p["J"], p["g"] * p["J"], lam_x, p["J"]
        fp = np.array([p["e_l"], p["e_e"], p["e_i"], p["theta"], p["v_r"],
                       math.exp(-dt / p["tau_l"])])
        return _COND, fp, c_e, c_i, p["a"], p["g"] * p["a"], lam_x, p["a"]

    def response(self, nu_in_hz: float, isi_shape=None, n_neurons: int = 500,
                 t_sim: float = 5000.0, t_warm: float = 200.0,
                 cv_window_ms: float | None = None, seed: int = 0,
                 source=None) -> RenewalResponse:
        """Output statistics of ``n_neurons`` independent neurons for one input law.

        Parameters
        ----------
        nu_in_hz : float
            Rate of each recurrent input train, Hz.
        isi_shape : array_like, optional
            Input ISI law (only its shape is used; rescaled to mean 1000/nu_in_hz ms);
            None: Poisson trains (then the summed input of a step is Poisson).
        n_neurons : int
            Independent model neurons M.
        t_sim, t_warm : float
            Recorded time and discarded warm-up, ms.
        cv_window_ms : float, optional
            Also the mean per-window CV over consecutive windows of this length (≥ 5 spikes).
        seed : int
        source : RenewalResponse, optional
            Instead of resampled ISIs: each input train is one of ``source``'s recorded
            output trains (chosen at random, random phase, repeated periodically), time-scaled
            to the rate ``nu_in_hz``; keeps the serial correlations of the ISIs that
            resampling destroys (``isi_shape`` must then be None).

        Returns
        -------
        RenewalResponse
        """
        nu_in_hz = check_number("nu_in_hz", nu_in_hz, 0.0, 1e4, unit="Hz")
        n_neurons = check_positive_int("n_neurons", n_neurons, 1, 10**7)
        t_sim = check_number("t_sim", t_sim, 0.0, 1e8, lo_open=True, unit="ms")
        t_warm = check_number("t_warm", t_warm, 0.0, 1e8, unit="ms")
        seed = check_number("seed", seed, 0, 2**63 - 1, integer=True)
        if cv_window_ms is not None:
            cv_window_ms = check_number("cv_window_ms", cv_window_ms, 0.0, t_sim,
                                        lo_open=True, unit="ms")
        dt = self.params["dt"]
        src_t, src_ptr, period = np.zeros(1), np.zeros(2, np.int64), 1.0
        if source is not None:
            if isi_shape is not None:
                raise ParameterError("give isi_shape or source, not both")
            times, sptr, t_rec = source.trains
            n_src = sptr.size - 1
            rate_src = 1000.0 * times.size / (n_src * t_rec)
            if times.size < 2 or nu_in_hz <= 0:
                raise ParameterError(f"source: {times.size} recorded spikes cannot drive an "
                                     f"input of {nu_in_hz:g} Hz")
            stretch = rate_src / nu_in_hz       # times scaled so that the rate is nu_in
            src_t = np.ascontiguousarray(times * stretch / self.params["dt"])
            src_ptr = np.ascontiguousarray(sptr, dtype=np.int64)
            period = t_rec * stretch / self.params["dt"]
            shape, cum, mode, cv_in = np.ones(2), np.cumsum(np.ones(2)), 2, source.cv
        elif isi_shape is None:
            shape, cum, mode, cv_in = np.ones(2), np.cumsum(np.ones(2)), 0, 1.0
        else:
            shape, cum = _shape_of(isi_shape)
            mode, cv_in = 1, float(shape.std() / shape.mean())
        n_steps = int(round(t_sim / dt))
        n_warm = int(round(t_warm / dt))
        ref_steps = int(round(self.params["tau_rp"] / dt))
        kind, fp, c_e, c_i, w_e, w_i, lam_x, w_x = self._kernel_args()
        nu_step = nu_in_hz / 1000.0 * dt
        cap = n_neurons * (n_steps // max(ref_steps, 1) + 1)
        spk = np.empty(cap, np.int64)
        ptr = np.zeros(n_neurons + 1, np.int64)
        t0 = time.perf_counter()
        _seed(int(seed))
        ok = _drive_neurons(kind, fp, ref_steps, n_neurons, n_warm, n_steps, c_e, c_i, w_e,
                            w_i, lam_x, w_x, mode, nu_step, shape, cum, src_t, src_ptr, period,
                            spk, ptr)
        wall = time.perf_counter() - t0
        if not ok:     # cannot happen: at most one spike per ref_steps steps
            raise RuntimeError("renewal kernel: spike buffer overflow")
        return _statistics(spk, ptr, n_neurons, n_steps, dt, cv_window_ms,
                           ("poisson", "renewal", "trains")[mode], nu_in_hz, cv_in, wall)

    def self_consistent(self, nu0_hz: float, gain=0.0, n_neurons: int = 500,
                        t_sim: float = 5000.0, t_warm: float = 200.0,
                        cv_window_ms: float | None = None, max_iter: int = 12,
                        n_se: float = 3.0, seed: int = 0, log=None,
                        inputs: str = "renewal") -> RenewalResult:
        """Iterate the renewal-input map from Poisson input at ``nu0_hz`` (module docstring).

        Parameters
        ----------
        nu0_hz : float
            Starting input rate (e.g. the white-noise self-consistent rate), Hz.
        gain : float or callable
            Slope G = dν_out/dν_in of the rate transfer (a number, or a function of ν_in in
            Hz) for the Newton step ν_in ← ν_in + (ν_out − ν_in)/(1 − G); 0 gives the plain
            iteration ν_in ← ν_out.
        n_neurons, t_sim, t_warm, cv_window_ms :
            As in :meth:`response`, for every iteration.
        max_iter : int
            Iterations including the Poisson one (≥ 2).
        n_se : float
            Convergence tolerance in standard errors (module docstring, step 2).
        seed : int
            Iteration k uses the k-th seed spawned from it.
        log : callable, optional
            Called with a one-line message after each iteration.
        inputs : {"renewal", "trains"}
            ``"renewal"``: input ISIs resampled independently from the output ISI pool (the
            theory of the module docstring); ``"trains"``: the previous iteration's recorded
            output trains themselves (:meth:`response` ``source``), which keeps their serial
            ISI correlations — a variant to measure what the renewal assumption leaves out.

        Returns
        -------
        RenewalResult
        """
        nu_in = check_number("nu0_hz", nu0_hz, 0.0, 1e4, lo_open=True, unit="Hz")
        max_iter = check_positive_int("max_iter", max_iter, 2, 1000)
        n_se = check_number("n_se", n_se, 0.0, 100.0, lo_open=True)
        seed = check_number("seed", seed, 0, 2**63 - 1, integer=True)
        inputs = check_choice("inputs", inputs, ("renewal", "trains"))
        gfun = gain if callable(gain) else (lambda _nu, _g=float(gain): _g)
        seeds = [int(s.generate_state(1)[0]) for s in
                 np.random.SeedSequence(int(seed)).spawn(max_iter)]
        crit = (f"|nu_out - nu_in| <= {n_se:g} SE(nu_out) and |CV_k - CV_k-1|/(1 - q) <= "
                f"{n_se:g} sqrt(SE_k^2 + SE_k-1^2), k >= 2 (q: contraction ratio of the CV)")
        hist, shape, prev, converged, msg = [], None, None, False, ""
        dcv, ratios, tail, isi0 = [], [], math.nan, None
        for k in range(max_iter):
            r = self.response(nu_in, shape if inputs == "renewal" else None, n_neurons,
                              t_sim, t_warm, cv_window_ms, seeds[k],
                              source=prev if inputs == "trains" else None)
            row = {"iteration": k, **r.summary()}
            hist.append(row)
            if k == 0:
                isi0 = r.isi_ms
            if log is not None:
                log(f"renewal iteration {k} ({r.input}): nu_in {r.nu_in_hz:.3f} Hz -> "
                    f"rate {r.rate_hz:.3f} ± {r.rate_se_hz:.3f} Hz, CV {r.cv:.4f} ± "
                    f"{r.cv_se:.4f} ({r.wall_s:.1f} s)")
            if r.n_isi < 2 or not np.isfinite(r.cv):
                msg = (f"iteration {k}: the model neurons fired fewer than 2 intervals "
                       f"(rate {r.rate_hz:.3g} Hz); increase t_sim or n_neurons")
                break
            if prev is not None:
                d_cv = r.cv - prev.cv
                noise = math.hypot(r.cv_se, prev.cv_se)
                if dcv and abs(dcv[-1][0]) > n_se * dcv[-1][1]:
                    ratios.append(abs(d_cv / dcv[-1][0]))
                dcv.append((d_cv, noise))
                q = min(max(ratios), 0.9) if ratios else 0.5
                tail = abs(d_cv) * q / (1.0 - q)
                d_rate = abs(r.rate_hz - r.nu_in_hz)
                row.update(q=q, cv_tail=tail)
                row["converged"] = bool(k >= 2 and d_rate <= n_se * r.rate_se_hz
                                        and abs(d_cv) / (1.0 - q) <= n_se * noise)
                if row["converged"]:
                    converged = True
                    msg = (f"converged at iteration {k}: |nu_out - nu_in| = {d_rate:.3g} Hz, "
                           f"|dCV| = {abs(d_cv):.3g}, q = {q:.2f}")
                    break
            G = float(gfun(nu_in))
            if not np.isfinite(G) or G >= 1.0:
                G = 0.0
            nu_in = max(nu_in + (r.rate_hz - nu_in) / (1.0 - G), 1e-3)
            shape = r.isi_ms
            prev = r
        else:
            msg = (f"not converged after {max_iter} iterations (criterion: {crit}); raise "
                   "max_iter or n_neurons")
        last = r
        return RenewalResult(
            **{k: getattr(last, k) for k in _STATS}, converged=converged, message=msg,
            criterion=crit, history=hist, isi_ms=last.isi_ms, cv_tail=tail,
            isi_poisson_ms=isi0,
            params={"model": self.model, **self.params, "n_neurons": n_neurons,
                    "t_sim": t_sim, "t_warm": t_warm, "cv_window_ms": cv_window_ms,
                    "max_iter": max_iter, "n_se": n_se, "seed": seed, "inputs": inputs,
                    "nu0_hz": float(nu0_hz)})


def _statistics(spk, ptr, n_neurons, n_steps, dt, cv_window_ms, kind, nu_in, cv_in, wall):
    """Rate, pooled CV and windowed CV of the recorded spike steps (see the module)."""
    from simulate.spike_stats import isi_cv_summary

    t_rec = n_steps * dt
    counts = np.diff(ptr).astype(float)
    rates = 1000.0 * counts / t_rec
    rate = float(rates.mean())
    rate_se = float(rates.std(ddof=1) / math.sqrt(n_neurons)) if n_neurons > 1 else math.nan
    t = spk[:ptr[-1]] * dt
    owner = np.repeat(np.arange(n_neurons), np.diff(ptr))
    same = owner[1:] == owner[:-1]
    isi = np.diff(t)[same]
    if isi.size >= 2:
        cv = float(isi.std() / isi.mean())
        # SE from the per-neuron CVs (neurons with >= 3 spikes)
        cv_se = isi_cv_summary((t, owner, n_neurons), "all", 0.0, t_rec, None, 3)["se"]
    else:
        cv, cv_se = math.nan, math.nan
    cvw, cvw_se = math.nan, math.nan
    if cv_window_ms is not None and t.size:
        n_win = int(t_rec // cv_window_ms)
        w = np.floor(t / cv_window_ms).astype(np.int64)
        keep = w < n_win
        if n_win >= 1 and np.any(keep):
            ids = owner[keep] * n_win + w[keep]
            s = isi_cv_summary((t[keep] - w[keep] * cv_window_ms, ids,
                                {"all": n_neurons * n_win}), "all", 0.0, cv_window_ms,
                               None, 5)
            cvw, cvw_se = s["cv"], s["se"]
    return RenewalResponse(rate, rate_se, cv, cv_se, cvw, cvw_se, input=kind,
                           nu_in_hz=float(nu_in), cv_in=float(cv_in), n_isi=int(isi.size),
                           isi_ms=isi, wall_s=wall, trains=(t.copy(), ptr.copy(), float(t_rec)))


# ----------------------------------------------------------------------------- wrappers
def _slope(phi, nu, rel=1e-3):
    h = rel * max(nu, 1.0)
    return (phi(nu + h) - phi(max(nu - h, 0.0))) / (nu + h - max(nu - h, 0.0))


def brunel_renewal(g: float = 5.0, eta: float = 2.0, J: float = 0.1, C_E: int = 1000,
                   gamma: float = 0.25, tau: float = 20.0, theta: float = 20.0,
                   v_r: float = 10.0, tau_rp: float = 2.0, dt: float = 0.1,
                   nu0_hz: float | None = None, **run) -> RenewalResult:
    """Self-consistent renewal-input rate and ISI CV of Brunel's network at (g, η).

    The model neuron is the network's (models.md §5; ``C_E`` E and γC_E I renewal inputs of
    weights J and −gJ, ``C_E`` external Poisson inputs at ν_ext = η θ/(J C_E τ)). The
    iteration starts from Poisson input at the Siegert self-consistent rate
    (:class:`reduce.meanfield.brunel.BrunelTheory`, stable solution) and uses the Siegert
    slope dΦ/dν as the Newton gain (:meth:`RenewalInputNeuron.self_consistent`).

    Parameters
    ----------
    g, eta, J, C_E, gamma, tau, theta, v_r, tau_rp, dt :
        Model parameters (models.md §5 units: mV, ms).
    nu0_hz : float, optional
        Starting rate (default: the Siegert rate).
    **run
        ``n_neurons``, ``t_sim``, ``t_warm``, ``cv_window_ms``, ``max_iter``, ``n_se``,
        ``seed``, ``log`` of :meth:`RenewalInputNeuron.self_consistent`.

    Returns
    -------
    RenewalResult
        ``params`` also holds the Siegert rate and CV (``siegert_rate_hz``, ``siegert_cv``).
    """
    from .brunel import BrunelTheory

    th = BrunelTheory(g=g, eta=eta, J=J, C_E=float(C_E), gamma=gamma, tau=tau, theta=theta,
                      v_r=v_r, tau_rp=tau_rp)
    fp = th.self_consistent()
    if not fp.success:
        raise ParameterError(f"g = {g:g}, eta = {eta:g}: the Siegert self-consistency has no "
                             "solution to start from; give nu0_hz")
    i = fp.selected_index()
    nrn = RenewalInputNeuron("current", J=J, g=g, C_E=C_E, gamma=gamma, nu_x=th.nu_ext,
                             tau=tau, theta=theta, v_r=v_r, tau_rp=tau_rp, dt=dt)
    nu0 = float(fp.rates_hz[i]) if nu0_hz is None else nu0_hz
    res = nrn.self_consistent(nu0, gain=lambda nu: _slope(th.phi, nu), **run)
    res.params.update(siegert_rate_hz=float(fp.rates_hz[i]),
                      siegert_cv=float(fp.extra["cv"][i]), eta=eta)
    return res


def conductance_renewal(K: int = 1000, a: float = 0.01, g: float = 20.0, nu_x: float = 10.0,
                        gamma: float = 0.25, tau_l: float = 20.0, e_l: float = -80.0,
                        e_e: float = 0.0, e_i: float = -75.0, theta: float = -55.0,
                        v_r: float = -65.0, tau_rp: float = 2.0, dt: float = 0.05,
                        nu0_hz: float | None = None, **run) -> RenewalResult:
    """Self-consistent renewal-input rate and ISI CV of the conductance-based network (§4).

    The model neuron (models.md §4, instantaneous conductance jumps
    V → E_A + (V − E_A)e^{−a}): K excitatory renewal inputs of strength ``a`` and γK
    inhibitory ones of strength g·a (reversals E_E, E_I), whose ISI law is the neuron's own
    output law, plus K external Poisson inputs at ``nu_x`` Hz each (strength ``a``). Starts
    from Poisson input at the lowest stable self-consistent rate of
    :class:`reduce.meanfield.conductance.ConductanceTheory` (diffusion theory, additive noise,
    linear jumps) unless ``nu0_hz`` is given, with that theory's slope dΦ/dν as Newton gain.

    Parameters
    ----------
    K, a, g, nu_x, gamma, tau_l, e_l, e_e, e_i, theta, v_r, tau_rp, dt :
        Model parameters (ms, mV, Hz); ``dt`` = 0.05 ms as simulate.ConductanceLIFNetwork.
    nu0_hz : float, optional
        Starting rate, Hz.
    **run
        ``n_neurons``, ``t_sim``, ``t_warm``, ``cv_window_ms``, ``max_iter``, ``n_se``,
        ``seed``, ``log`` of :meth:`RenewalInputNeuron.self_consistent`.

    Returns
    -------
    RenewalResult
        ``params`` also holds the diffusion theory's rate and CV (``theory_rate_hz``,
        ``theory_cv``; NaN when it has no solution and ``nu0_hz`` was given).

    Examples
    --------
    >>> res = conductance_renewal(K=100, a=0.01, g=20, nu_x=20.0, n_neurons=100,
    ...                           t_sim=2000.0)                       # doctest: +SKIP
    >>> res.converged, res.rate_hz, res.cv                            # doctest: +SKIP
    """
    from .conductance import ConductanceTheory

    th = ConductanceTheory(K=float(K), a=a, g=g, gamma=gamma, nu_x=nu_x, tau_l=tau_l, e_l=e_l,
                           e_e=e_e, e_i=e_i, theta=theta, v_r=v_r, tau_rp=tau_rp)
    fp = th.self_consistent()
    th_rate = th_cv = math.nan
    if fp.success:
        i = fp.selected_index()
        th_rate, th_cv = float(fp.rates_hz[i]), float(fp.extra["cv"][i])
    if nu0_hz is None:
        if not np.isfinite(th_rate):
            raise ParameterError(f"K = {K}, a = {a:g}: the diffusion theory has no "
                                 "self-consistent rate to start from; give nu0_hz")
        nu0_hz = th_rate
    nrn = RenewalInputNeuron("conductance", K=K, a=a, g=g, gamma=gamma, nu_x=nu_x,
                             tau_l=tau_l, e_l=e_l, e_e=e_e, e_i=e_i, theta=theta, v_r=v_r,
                             tau_rp=tau_rp, dt=dt)
    res = nrn.self_consistent(nu0_hz, gain=lambda nu: _slope(th.phi, nu), **run)
    res.params.update(theory_rate_hz=th_rate, theory_cv=th_cv)
    return res
