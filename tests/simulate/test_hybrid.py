"""BalancedHybridNetwork (models.md §6, reconstruction) against closed forms.

With gain = 0 the intensity is the constant f = f_max/2, so event counts are exactly Poisson
and the across-neuron mean and variance obey linear ODEs with closed-form solutions:
    per-pair:  m' = −α m + I + Σ_q J_pq (n − δ_pq) f_q / √n,
               v' = −2α v + Σ_q J_pq² (n − δ_pq) f_q / n.
The scheme applies a step's jumps after the exact flow over the step, which biases the
jump-driven parts by a relative α·dt/2 (mean) and α·dt (variance): budgeted as the
systematic part. Statistical parts: 2000 independent neurons, 4.5 standard errors per check.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import simulate
from simulate.hybrid.network import BalancedHybridNetwork, logistic
from simulate.validation import ParameterError


def _closed(m0, c, rate, t):
    """Solution of y' = -rate*y + c from y(0) = m0."""
    return c / rate + (m0 - c / rate) * np.exp(-rate * t)


def test_between_event_flow_is_exact_linear_ode_solution():
    """No events (f_max = 0): x(t) = x* + (x0 − x*) e^{−α t}, x* = I/α, to rounding."""
    net = BalancedHybridNetwork(n=5, f_max=0.0, alpha=(0.2, 0.05), I=(1.0, -0.5), dt=0.1)
    traj = net.run(40.0, seed=1, progress=False, record_x=[0, 7], record_dt=0.1)
    t = traj["samples/t"]
    tr = traj["samples/x_trace"]
    x0 = tr[0]
    for col, alpha, drive in ((0, 0.2, 1.0), (1, 0.05, -0.5)):
        start = (x0[col] - drive / alpha) * math.exp(0.1 * alpha) + drive / alpha
        np.testing.assert_allclose(tr[:, col], _closed(start, drive, alpha, t), atol=1e-10)


def test_jumps_between_samples_are_whole_events():
    """With events: x(t+dt) − flow(x(t)) is an integer multiple of J_EE/√n (J_EI = 0)."""
    n = 50
    net = BalancedHybridNetwork(n=n, j_ei=0.0, j_ii=0.0, f_max=0.2, gain=0.0, alpha=0.1,
                                I=0.3, dt=0.1)
    traj = net.run(30.0, seed=2, progress=False, record_x=[3], record_dt=0.1)
    x = traj["samples/x_trace"][:, 0]
    flow = 3.0 + (x[:-1] - 3.0) * math.exp(-0.1 * 0.1)
    k = (x[1:] - flow) / (1.0 / math.sqrt(n))
    assert np.max(np.abs(k - np.rint(k))) < 1e-8
    assert k.max() >= 1  # events did happen


def _constant_rate_net(spikes, autapses=False, n=2000):
    return BalancedHybridNetwork(n=n, f_max=(0.04, 0.06), gain=0.0, alpha=(0.1, 0.2),
                                 I=(0.5, 0.2), j_ee=1.0, j_ei=-0.8, j_ie=1.2, j_ii=-0.5,
                                 x0_mean=(0.0, 0.0), x0_var=(1.0, 1.0), spikes=spikes,
                                 autapses=autapses, dt=0.05)


def test_per_pair_mean_and_variance_follow_closed_forms():
    n = 2000
    net = _constant_rate_net("per-pair", n=n)
    traj = net.run(60.0, seed=3, progress=False, record_dt=5.0)
    t = traj["samples/t"]
    J = net.J
    f = np.array([0.02, 0.03])
    alpha = np.array([0.1, 0.2])
    drive = np.array([0.5, 0.2])
    dt = 0.05
    for p, q in enumerate("EI"):
        mult = np.array([n - (p == 0), n - (p == 1)], float)
        c_jump = float(np.sum(J[p] * mult * f) / math.sqrt(n))
        d_var = float(np.sum(J[p] ** 2 * mult * f) / n)
        m_th = _closed(0.0, drive[p] + c_jump, alpha[p], t)
        v_th = _closed(1.0, d_var, 2 * alpha[p], t)
        m_sim = traj[f"samples/x_mean/{q}"]
        v_sim = traj[f"samples/x_var/{q}"]
        # initial sample mean/var are themselves random: SE sqrt(1/n), sqrt(2/n)
        se_m = np.sqrt(v_th / n)
        se_v = v_th * math.sqrt(2.0 / (n - 1))
        sys_m = abs(c_jump / alpha[p]) * alpha[p] * dt / 2 * 1.1
        sys_v = d_var / (2 * alpha[p]) * alpha[p] * dt * 1.1
        assert np.all(np.abs(m_sim - m_th) <= 4.5 * se_m + sys_m), (q, m_sim - m_th, se_m)
        assert np.all(np.abs(v_sim - v_th) <= 4.5 * se_v + sys_v), (q, v_sim - v_th, se_v)


def test_shared_trains_with_autapses_make_identical_input():
    """Shared spike trains + autapses: every neuron of a population gets the same jumps, so
    the across-neuron variance decays exactly as v0 e^{−2αt} (deterministic)."""
    net = _constant_rate_net("shared", autapses=True, n=500)
    traj = net.run(30.0, seed=4, progress=False, record_dt=0.05)
    t = traj["samples/t"]
    for p, q in enumerate("EI"):
        v = traj[f"samples/x_var/{q}"]
        alpha = (0.1, 0.2)[p]
        np.testing.assert_allclose(v, v[0] * np.exp(-2 * alpha * (t - t[0])), rtol=1e-7)
    assert traj["spikes/t"].size > 0


def test_received_event_counts_are_poisson():
    """Constant f: events received from q over T are Poisson((n − δ_pq) f_q T)."""
    n, t_end = 1000, 50.0
    net = _constant_rate_net("per-pair", n=n)
    traj = net.run(t_end, seed=5, progress=False)
    recv = traj["counts/received"]
    f = (0.02, 0.03)
    for p in range(2):
        for q in range(2):
            lam = (n - (p == q)) * f[q] * t_end
            c = recv[p * n:(p + 1) * n, q]
            assert abs(c.mean() - lam) <= 4.5 * math.sqrt(lam / n)
            assert abs(c.var(ddof=1) - lam) <= 4.5 * lam * math.sqrt(2.0 / n)


def test_rates_report_mean_intensity():
    traj = _constant_rate_net("per-pair", n=100).run(300.0, seed=0, progress=False)
    assert traj.rates_hz["E"] == pytest.approx(20.0, rel=1e-9)
    assert traj.rates_hz["I"] == pytest.approx(30.0, rel=1e-9)


def test_gaussian_variance_ode_along_simulated_means():
    """Nonlinear f (gain > 0), per-pair: integrate dv/dt = −2α v + Σ_q J² F_q(μ_q, v_q)
    with the simulated μ_q(t), F_q by Gauss–Hermite; compare v(t) with the simulation.
    Statistical SE of a sample variance: v sqrt(2/n); systematic: the step bias α dt and
    the non-Gaussian part of x (O(n^{-1/2}) jumps), budgeted at 5 % of v."""
    n = 2000
    net = BalancedHybridNetwork(n=n, alpha=0.1, I=0.0, f_max=0.05, gain=(1.0, 2.0), dt=0.05,
                                x0_mean=0.0, x0_var=0.5)
    traj = net.run(60.0, seed=6, progress=False, record_dt=0.5)
    t = traj["samples/t"]
    z, w = np.polynomial.hermite_e.hermegauss(40)
    w = w / w.sum()
    mu = np.stack([traj["samples/x_mean/E"], traj["samples/x_mean/I"]], axis=1)
    v_sim = np.stack([traj["samples/x_var/E"], traj["samples/x_var/I"]], axis=1)
    J2 = net.J ** 2
    v = v_sim[0].copy()
    out = [v.copy()]
    for k in range(1, t.size):
        h = t[k] - t[k - 1]
        for _ in range(10):   # RK-free small Euler sub-steps with frozen mu (h/10 = 0.05)
            F = np.array([np.sum(w * net.intensity(mu[k - 1, q] + np.sqrt(max(v[q], 0)) * z,
                                                   "EI"[q])) for q in range(2)])
            v = v + h / 10 * (-2 * 0.1 * v + J2 @ F)
        out.append(v.copy())
    v_ode = np.array(out)
    se = v_ode * math.sqrt(2.0 / n)
    assert np.all(np.abs(v_sim - v_ode) <= 4.5 * se + 0.05 * v_ode)


def test_logistic_and_registration():
    assert logistic(0.0, 0.1, 3.0, 0.0) == pytest.approx(0.05)
    assert simulate.BalancedHybridNetwork is BalancedHybridNetwork
    assert simulate.NETWORKS["hybrid"] == "BalancedHybridNetwork"


@pytest.mark.parametrize("kw, words", [
    ({"n": 0}, ["n", "[1"]),
    ({"j_ei": 1.0}, ["j_ei", "inhibitory"]),
    ({"j_ee": -1.0}, ["j_ee", "excitatory"]),
    ({"J": [[1, 2, 3]]}, ["J", "2x2"]),
    ({"J": [[1, -1], [1, -1]], "j_ee": 2.0}, ["either J"]),
    ({"alpha": 0.0}, ["alpha[E]", "per ms"]),
    ({"f_max": 50.0}, ["f_max", "wrong unit"]),
    ({"spikes": "both"}, ["spikes", "per-pair"]),
    ({"f_max": 1.0, "dt": 0.9}, ["dt", "0.5/f_max"]),
    ({"gain": (1, 2, 3)}, ["gain", "pair"]),
    ({"beta": 1}, ["unknown parameter 'beta'"]),
])
def test_bad_input(kw, words):
    with pytest.raises(ParameterError) as err:
        BalancedHybridNetwork(**kw)
    for w in words:
        assert w in str(err.value)


def test_with_params():
    net = BalancedHybridNetwork(J=[[1, -2], [1, -2]])
    assert net.with_params(n=10).J.tolist() == [[1.0, -2.0], [1.0, -2.0]]
    assert net.with_params(j_ee=0.5).J[0, 0] == 0.5
    assert BalancedHybridNetwork().with_params(J=[[2, -1], [1, -1]]).J[0, 0] == 2.0
