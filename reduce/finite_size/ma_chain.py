# ruff: noqa: NPY002  -- numba supports only the legacy np.random API in njit code
r"""Finite-N stochastic Markov approximation (issue 9): integer neuron counts per voltage bin.

This is **our reconstruction** (the MA paper states no finite-N version). It is the chain
whose large-N mean dynamics is the MA ODE (:mod:`reduce.markov_approx.ode`), built on the
same transition construction (:func:`reduce.markov_approx.transitions.construct`).

The continuous-time chain ("redraw" chain)
-------------------------------------------
Per population q with integer occupancies ``n_k`` (bins), refractory count ``R`` and spike
flux as events, the construction over the horizon h gives for every bin k a row
``P_{k·}`` over the K bins and "fire" (column K), and the partial centred means ``D_{kj}``.
Every neuron of bin k is **redrawn** at rate 1/h: it lands in bin j with probability
``P_{kj}`` carrying the centred voltage ``d_{kj} = D_{kj}/P_{kj}`` (the landing partial
mean), or fires with probability ``P_{kK}`` and becomes refractory. Its own voltage share,
``Z_k/n_k``, leaves bin k. Refractory neurons leave at rate 1/τ_R to the reset bin j0 with
centred voltage ``V_reset − c_{j0}``. Per-neuron bin-to-bin rates are thus
``W_{kj} = P_{kj}/h`` (j ≠ k), i.e. ``(Π_h − I)/h``. A spike of population r changes the
pending-kick moments of every pathway r → q by ``Δm_{qr} = p_{qr}``,
``Δs_{qr} = p_{qr}(1 − p_{qr})``; between spikes they relax as in the ODE,
``dm/dt = −m/τ``, ``ds/dt = −2s/τ + m/τ``. The expected increments reproduce the ODE
exactly::

    E[dn_j]/dt = (1/h)[Σ_k n_k P_{kj} − n_j] + δ_{j j0} R/τ_R
    E[dZ_j]/dt = (1/h)[Σ_k n_k D_{kj} − Z_j] + δ_{j j0} (R/τ_R)(V_reset − c_{j0})
    E[dm_{qr}]/dt = −m_{qr}/τ_{qr} + p_{qr} F_r,   F_r = (1/h) Σ_k n_k P_{k,fire}.

Noise sources included: which bin each redrawn neuron lands in (multinomial), whether it
fires (and hence the spike counts and the kick moments they drive), the refractory exits
(binomial), and the voltage-total jumps that go with them. Not included: the
quenched randomness of the connectivity and the per-neuron spread of pending kicks beyond
its variance s (the kick moments are population means driven by the realised spike counts).

Simulation schemes (compiled, one step Δt ≤ h)
---------------------------------------------
``scheme="multinomial"`` (tau-leap of the redraw chain, the default): the construction is
evaluated once per step at the current state; in every bin ``r_k ~ Binomial(n_k, Δt/h)``
neurons are redrawn and distributed by a multinomial draw with row ``P_{k·}`` (conditional
binomials); the ``n_k − r_k`` others keep their share ``(n_k − r_k) Z_k/n_k`` of the total;
``Binomial(R, Δt/τ_R)`` neurons leave the refractory state; the kick moments take one Euler
step of their relaxation plus the realised spikes. The mean of one step is exactly the
explicit Euler step of the ODE, so with Δt = h it is a stochastic version of the published
map; as Δt → 0 it tends to the continuous-time chain (its one-step covariance differs from
the chain's by O(Δt/h): at Δt = h every neuron is redrawn, and the variance of the
per-bin increment is ``n P(1 − P)`` instead of ``n P(2 − P)``-like diffusion of the
continuous chain; compare ``scheme="exact"`` with the continuous-time linear-noise
approximation, or the Δt = h chain with its discrete one, ``MALinearNoise.discrete_covariance``).
``scheme="langevin"``: the chemical Langevin (diffusion) approximation of the same chain:
every channel (k → j, k → fire, refractory → j0) fires ``a Δt + sqrt(a Δt) ξ`` times,
``a`` its propensity, ξ standard normal; counts are real-valued (propensities of negative
occupancies are clipped at 0; channels with P_{kj} ≤ 1e-14 are skipped).
``scheme="exact"``: the continuous-time redraw chain itself, simulated event by event without
time discretisation (:mod:`reduce.finite_size.ma_exact`: the total event rate is constant
between events, the time dependence of the kick moments only changes where a redrawn neuron
lands); the tau-leaps converge to it at first order in Δt.
``freeze=True`` evaluates the construction once at the initial state and keeps it: then the
neurons are independent and the chain is exactly the product chain whose master equation
:class:`reduce.finite_size.PopulationChain` solves (used in the tests).
"""

from __future__ import annotations

import math
import time

import numpy as np
from numba import njit

from reduce.markov_approx.ode import _split, unpack
from reduce.markov_approx.transitions import construct
from simulate.validation import ParameterError, check_choice, check_number

__all__ = ["FiniteMAChain", "FiniteMAResult", "SCHEMES"]

SCHEMES = {"multinomial": 0, "langevin": 1, "exact": 2}


@njit(cache=True)
def _seed(s):
    np.random.seed(s)


@njit(cache=True)
def _binom(n, p):
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    return np.random.binomial(n, p)


@njit(cache=True)
def copy_state(n0, Z0, mom0, R0):
    """Working copies of the chain state (occupancies, centred totals, moments, refractory)."""
    return n0.copy(), Z0.copy(), mom0.copy(), R0.copy()


@njit(cache=True)
def write_state(states, refr, i, n, Z, mom, R):
    """Row ``i`` of the record: ``(n_q, Z_q)`` per population, then the kick moments
    ``(m_qr, s_qr)`` (the ODE's reduced coordinates); the refractory counts in ``refr``."""
    P, K = n.shape
    for q in range(P):
        for k in range(K):
            states[i, q * 2 * K + k] = n[q, k]
            states[i, q * 2 * K + K + k] = Z[q, k]
        refr[i, q] = R[q]
        for r in range(P):
            states[i, 2 * P * K + 2 * (q * P + r)] = mom[q, r, 0]
            states[i, 2 * P * K + 2 * (q * P + r) + 1] = mom[q, r, 1]


@njit(cache=True)
def chain_run(n0, Z0, mom0, R0, p, n_steps, dt, stride, scheme, freeze, P, K, N, edges, exc,
              j0, v_reset, M, M_r, eps, vkind, ckind, nodes, beta, lam_idx, lam_fac, p_idx,
              p_fac, S_idx, S_fac, tau_idx, sc_idx):
    """Run the chain ``n_steps`` steps of ``dt``; record every ``stride`` steps.

    Returns ``(spikes (T, P), states (T + 1, 2PK + 2P²), refractory (T + 1, P))`` with
    ``T = n_steps // stride``; ``spikes[i]`` are the spikes in record bin i, ``states[i]`` the
    state at its start (``states[T]`` the final state).
    """
    lam, pm, S, tau, tau_r, h, tau_m = unpack(p, P, lam_idx, lam_fac, p_idx, p_fac, S_idx,
                                              S_fac, tau_idx, sc_idx)
    n, Z, mom, R = copy_state(n0, Z0, mom0, R0)
    T = n_steps // stride
    nx = 2 * P * K + 2 * P * P
    spikes = np.zeros((T, P))
    states = np.empty((T + 1, nx))
    refr = np.empty((T + 1, P))
    Pm = np.empty((P, K, K + 1))
    Dm = np.empty((P, K, K))
    dP = np.empty((1, 1, 1, 1))
    dD = np.empty((1, 1, 1, 1))
    coef = np.empty((1, 1, 1))
    nn = np.empty(K)
    zz = np.empty(K)
    sp = np.zeros(P)
    a = dt / h
    pr = dt / tau_r
    cj0 = 0.5 * (edges[j0] + edges[j0 + 1])
    rec = 0
    for step in range(T * stride):
        if step % stride == 0:
            write_state(states, refr, rec, n, Z, mom, R)
        if step == 0 or not freeze:
            construct(n, Z, mom, edges, lam, S, tau, exc, h, tau_m, M, M_r, eps, vkind, ckind,
                      False, nodes, beta, False, Pm, Dm, dP, dD, coef)
        for q in range(P):
            for j in range(K):
                nn[j] = 0.0
                zz[j] = 0.0
            fired = 0.0
            for k in range(K):
                nk = n[q, k]
                if scheme == 0:
                    if nk <= 0.0:
                        continue
                    ik = int(nk + 0.5)
                    rk = _binom(ik, a)
                    stay = ik - rk
                    nn[k] += stay
                    zz[k] += Z[q, k] * stay / nk
                    rem = rk
                    prem = 1.0
                    for j in range(K + 1):
                        if rem == 0:
                            break
                        pj = Pm[q, k, j]
                        if j == K or prem <= 0.0:
                            c = rem
                        else:
                            c = _binom(rem, min(1.0, max(0.0, pj / prem)))
                        rem -= c
                        prem -= pj
                        if c == 0:
                            continue
                        if j < K:
                            nn[j] += c
                            if pj > 0.0:
                                zz[j] += c * Dm[q, k, j] / pj
                        else:
                            fired += c
                else:
                    nk_pos = nk if nk > 0.0 else 0.0
                    if nk_pos == 0.0:
                        nn[k] += nk
                        zz[k] += Z[q, k]
                        continue
                    share = Z[q, k] / nk
                    nn[k] += nk
                    zz[k] += Z[q, k]
                    for j in range(K + 1):
                        pj = Pm[q, k, j]
                        if pj <= 1e-14:      # Gaussian tails: flux < 1e-14 neurons per step
                            continue
                        mean = nk_pos * pj * a
                        c = mean + math.sqrt(mean) * np.random.standard_normal()
                        nn[k] -= c
                        zz[k] -= c * share
                        if j < K:
                            nn[j] += c
                            zz[j] += c * Dm[q, k, j] / pj
                        else:
                            fired += c
            # refractory exits to the reset bin
            if scheme == 0:
                e = float(_binom(int(R[q] + 0.5), pr))
            else:
                mean = (R[q] if R[q] > 0.0 else 0.0) * pr
                e = mean + math.sqrt(mean) * np.random.standard_normal()
            nn[j0] += e
            zz[j0] += e * (v_reset - cj0)
            R[q] += fired - e
            for j in range(K):
                n[q, j] = nn[j]
                Z[q, j] = zz[j]
            sp[q] = fired
            spikes[rec, q] += fired
        for q in range(P):
            for r in range(P):
                t = tau[q, r]
                m = mom[q, r, 0]
                pp = pm[q, r]
                mom[q, r, 0] = m - dt * m / t + pp * sp[r]
                mom[q, r, 1] = (mom[q, r, 1] + dt * (-2.0 * mom[q, r, 1] / t + m / t)
                                + pp * (1.0 - pp) * sp[r])
        if (step + 1) % stride == 0:
            rec += 1
    write_state(states, refr, T, n, Z, mom, R)
    return spikes, states, refr


class FiniteMAResult:
    """A path of the finite-N MA chain.

    Attributes
    ----------
    t : ndarray (T,)
        Start times of the record bins, ms.
    dt_record : float
    spikes : ndarray (T, P)
        Spikes per record bin and population (integers for the multinomial scheme).
    x : ndarray (T + 1, n)
        States in the ODE's reduced coordinates (occupancies, centred totals, kick moments)
        at the bin starts (last row: final state).
    refractory : ndarray (T + 1, P)
    """

    def __init__(self, ma, t, dt_record, spikes, x, refractory, **info):
        self.ma = ma
        self.t = t
        self.dt_record = float(dt_record)
        self.spikes = spikes
        self.x = x
        self.refractory = refractory
        self.__dict__.update(info)

    def activity(self):
        """:class:`simulate.PopulationActivity` of the spike counts (accepted by
        :mod:`simulate.observables`)."""
        from simulate.activity import PopulationActivity

        pops = self.ma.spec.populations
        counts = {q: self.spikes[:, i].copy() for i, q in enumerate(pops)}
        sizes = {q: float(self.ma.spec.sizes[i]) for i, q in enumerate(pops)}
        if "E" not in pops:
            e = np.flatnonzero(self.ma.spec.excitatory)
            counts["E"] = self.spikes[:, e].sum(1)
            sizes["E"] = float(self.ma.spec.sizes[e].sum())
        return PopulationActivity(self.t, self.dt_record, counts, sizes)

    def rates_hz(self, t_burn: float = 200.0) -> dict:
        """Mean population rates in Hz after ``t_burn`` ms (from 0 if the run is shorter)."""
        return self.activity().mean_rates_hz(t_burn if self.t[-1] > t_burn else 0.0)


class FiniteMAChain:
    """Finite-N stochastic version of a :class:`reduce.MarkovApproximation`.

    Parameters
    ----------
    ma : reduce.MarkovApproximation
        The population sizes N_q are those of its network (``ma.spec.sizes``).
    scheme : {"multinomial", "langevin", "exact"}
        Tau-leap of the redraw chain with integer counts, its chemical Langevin
        approximation, or the exact event-driven simulation of the chain (see the module
        docstring and :mod:`reduce.finite_size.ma_exact`).
    dt : float, optional
        Step, ms, 0 < dt ≤ h (default h). For ``scheme="exact"`` only the default record
        step (the simulation has no step).
    params : dict, optional
        Parameter overrides (names of ``ma.params``).

    Examples
    --------
    >>> import reduce
    >>> from reduce.finite_size import FiniteMAChain
    >>> ma = reduce.MarkovApproximation(bins=[-66, -20, 20, 60, 100])
    >>> res = FiniteMAChain(ma).run(50.0, seed=1)
    >>> res.spikes.shape
    (500, 2)
    """

    def __init__(self, ma, scheme: str = "multinomial", dt: float | None = None,
                 params: dict | None = None):
        self.ma = ma
        self.scheme = check_choice("scheme", scheme, tuple(SCHEMES))
        self.p = ma.param_vector(params)
        h = float(ma.network_arrays(self.p)["h"])
        self.dt = h if dt is None else check_number(
            "dt", dt, 0.0, h, lo_open=True, unit="ms", hint="the step must not exceed h")
        sizes = ma.spec.sizes
        if np.any(np.abs(sizes - np.round(sizes)) > 0):
            raise ParameterError(f"population sizes {sizes.tolist()} must be integers")

    def initial_counts(self, x0=None):
        """Integer counts from an ODE state (largest-remainder rounding per population), the
        centred totals scaled to the rounded counts, the kick moments copied, R = N − Σ n."""
        ma = self.ma
        lay = ma.layout
        x0 = ma.initial_state() if x0 is None else np.asarray(x0, float)
        if x0.shape != (lay.n_ode,):
            raise ParameterError(f"x0 has shape {x0.shape}; the valid shape is ({lay.n_ode},)")
        n, Z, mom = _split(np.ascontiguousarray(x0), lay.P, lay.K)
        ni = np.zeros_like(n)
        R = np.zeros(lay.P)
        for q in range(lay.P):
            N = float(ma.spec.sizes[q])
            v = np.clip(n[q], 0.0, None)
            R_real = max(N - v.sum(), 0.0)
            full = np.concatenate([v, [R_real]])
            full = full * N / full.sum()
            fl = np.floor(full)
            rest = int(round(N - fl.sum()))
            order = np.argsort(-(full - fl))
            fl[order[:rest]] += 1
            ni[q] = fl[:-1]
            R[q] = fl[-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            Zi = np.where(n > 0, Z / np.where(n > 0, n, 1) * ni, 0.0)
        return ni, Zi, mom, R

    def run(self, t_end: float, x0=None, seed: int = 0, dt_record: float | None = None,
            freeze: bool = False) -> FiniteMAResult:
        """Simulate ``t_end`` ms from the ODE state ``x0`` (default: the quiet start).

        ``dt_record`` (default ``dt``) must be a multiple of ``dt`` (any positive value for
        ``scheme="exact"``).
        """
        check_number("t_end", t_end, 0.0, None, lo_open=True, unit="ms")
        dt_record = self.dt if dt_record is None else float(dt_record)
        if self.scheme == "exact":
            return self._run_exact(t_end, x0, seed, dt_record, freeze)
        stride = int(round(dt_record / self.dt))
        if stride < 1 or abs(stride * self.dt - dt_record) > 1e-9 * dt_record:
            raise ParameterError(
                f"dt_record = {dt_record!r} must be a positive multiple of dt = {self.dt:g}")
        n_steps = int(round(t_end / self.dt))
        n, Z, mom, R = self.initial_counts(x0)
        t0 = time.perf_counter()
        _seed(int(seed))
        spikes, states, refr = chain_run(
            n, Z, mom, R, self.p, n_steps, self.dt, stride, SCHEMES[self.scheme], bool(freeze),
            *self.ma.kernel_arrays())
        T = spikes.shape[0]
        return FiniteMAResult(self.ma, np.arange(T) * dt_record, dt_record, spikes, states,
                              refr, scheme=self.scheme, dt=self.dt, seed=int(seed),
                              wall_time_s=time.perf_counter() - t0)

    def _run_exact(self, t_end, x0, seed, dt_record, freeze):
        from .ma_exact import exact_run

        check_number("dt_record", dt_record, 0.0, t_end, lo_open=True, unit="ms")
        n, Z, mom, R = self.initial_counts(x0)
        t0 = time.perf_counter()
        _seed(int(seed))
        spikes, states, refr, n_events = exact_run(
            n, Z, mom, R, self.p, float(t_end), dt_record, bool(freeze),
            *self.ma.kernel_arrays())
        T = spikes.shape[0]
        return FiniteMAResult(self.ma, np.arange(T) * dt_record, dt_record, spikes, states,
                              refr, scheme=self.scheme, dt=self.dt, seed=int(seed),
                              n_events=int(n_events), wall_time_s=time.perf_counter() - t0)
