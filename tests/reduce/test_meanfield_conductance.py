"""Conductance-based strong-coupling theory (models.md §4): limits and internal consistency."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reduce.meanfield.conductance import ConductanceTheory
from reduce.meanfield.siegert import siegert_rate
from simulate.validation import ParameterError


@pytest.fixture(scope="module")
def th():
    return ConductanceTheory()


def test_moments_match_closed_form(th):
    # hand evaluation of models.md §4 at K=1000, a=0.01, r_E = 15 Hz, r_I = 10 Hz
    K, a, g, gam = 1000.0, 0.01, 20.0, 0.25
    re, ri = 0.015, 0.010
    inv_tau = 1 / 20 + a * K * (re + g * gam * ri)
    tau = 1 / inv_tau
    mu = tau * (-80 / 20 + a * K * (re * 0 + g * gam * ri * -75))
    s2 = a * a * K * tau * (re * mu**2 + g * g * gam * ri * (mu + 75) ** 2)
    s = th.single_neuron(15.0, 10.0)
    assert s["tau"] == pytest.approx(tau, rel=1e-14)
    assert s["mu"] == pytest.approx(mu, rel=1e-14)
    assert s["sigma"] == pytest.approx(math.sqrt(s2), rel=1e-14)
    ref = 1000 * siegert_rate(mu, math.sqrt(s2), tau, -55.0, -65.0, 2.0)
    assert s["rate_hz"] == pytest.approx(ref, rel=1e-14)


def test_linear_limit_approached_for_power_law_coupling(th):
    lin = th.linear_limit()
    assert lin == pytest.approx(55.0 / 45.0, rel=1e-15)  # g = 20, gamma = 1/4
    Ks = np.array([1e4, 1e6, 1e8, 1e12])
    for alpha in (0.3, 0.5, 0.7):
        _, r, nsol = th.rate_vs_K(Ks, "power", a0=0.01, K0=100.0, alpha=alpha)
        err = np.abs(r / th.params["nu_x"] - lin)
        assert np.all(np.diff(err) < 0), (alpha, r)        # monotone approach
        assert err[-1] < 0.2 * err[0]                     # and substantial
        assert err[-1] < 0.25 * lin


def test_coupling_rules_single_neuron(th):
    # constant a saturates, 1/sqrt(K) silences, exact a(K) keeps the rate (single neuron,
    # fixed inputs r_E = r_I = 100 Hz, a0 chosen so that the rate is 10 Hz at K0 = 1000)
    re = ri = 100.0
    a0 = th.a_for_rate(1000.0, 10.0, re, ri)
    assert th.rate(re, ri, K=1000.0, a=a0) == pytest.approx(10.0, rel=1e-9)
    Ks = np.array([1e2, 1e3, 1e4, 1e5])
    rc = [th.rate(re, ri, K=K, a=a) for K, a in zip(Ks, th.coupling(Ks, "const", a0, 1e3))]
    rs = [th.rate(re, ri, K=K, a=a) for K, a in zip(Ks, th.coupling(Ks, "sqrt", a0, 1e3))]
    assert rc[-1] > 0.4 * 1000 / th.params["tau_rp"]       # saturation towards 1/tau_rp
    assert rs[-1] < 1e-3 and np.all(np.diff(rs) < 0)         # silenced


def test_a_of_K_log_law(th):
    # a(K) log K -> (theta - mu0)^2 / vbar^2, with the ratio decreasing monotonically to 1;
    # the Kramers relation with its log corrections converges to the exact a(K)
    re = ri = 100.0
    Ks = [1e3, 1e5, 1e8, 1e16]
    lead = [th.a_log_leading(K, re, ri) for K in Ks]
    exact = [th.a_for_rate(K, 10.0, re, ri, a_lo=1e-9) for K in Ks]
    ratio = np.array(exact) / np.array(lead)
    assert np.all(np.diff(ratio) < 0) and ratio[-1] < 1.15 and ratio[-1] > 1.0
    kr = np.array([th.a_kramers(K, 10.0, re, ri) for K in Ks])
    rel = np.abs(kr / np.array(exact) - 1)
    assert np.all(np.diff(rel) < 0) and rel[-1] < 2e-3  # 0.10 % measured at K = 1e16
    # a(K) from the exact rule keeps the rate fixed, and firing irregular (CV near 1)
    for K, a in zip(Ks, exact):
        s = th.single_neuron(re, ri, K=K, a=a)
        assert s["rate_hz"] == pytest.approx(10.0, rel=1e-8)
        assert s["cv"] > 0.95


def test_kramers_rate_is_the_escape_limit(th):
    # deep below threshold the escape formula approaches the full rate (error O(1/y^2))
    s = th.single_neuron(100.0, 100.0, K=1e6, a=0.0005)
    assert s["y_theta"] > 4
    kr = th.kramers_rate(100.0, 100.0, K=1e6, a=0.0005)
    assert abs(kr / s["rate_hz"] - 1) < 1.0 / s["y_theta"] ** 2


def test_self_consistency_all_solutions_and_ode(th):
    t = th.with_params(K=1000.0, a=0.01)
    fp = t.self_consistent()
    assert fp.success
    for nu in fp.rates_hz:
        assert t.phi(nu) == pytest.approx(nu, rel=1e-9, abs=1e-9)
    ode = t.ode(tau_x=5.0)
    for nu in fp.rates_hz:
        assert abs(ode.rhs(np.array([nu]))[0]) < 1e-8 * max(nu, 1.0)


def test_heterogeneous_reduces_to_homogeneous(th):
    t = th.with_params(K=1000.0, a=0.01)
    h0 = t.heterogeneous(0.0)
    assert h0["mean_rate_hz"] == pytest.approx(t.self_consistent().rates_hz[0], rel=1e-8)
    h = t.heterogeneous(0.2)
    assert h["rate_std_hz"] > 0
    # the mean over the in-degree distribution is self-consistent
    assert np.sum(h["weights"] * h["rates_hz"]) == pytest.approx(h["mean_rate_hz"], rel=1e-8)
    # independent gamma in-degrees of E and I inputs (the simulator's rule)
    hi0 = t.heterogeneous(0.0, indegree="independent")
    assert hi0["mean_rate_hz"] == pytest.approx(h0["mean_rate_hz"], rel=1e-10)
    hi = t.heterogeneous(0.2, n_nodes=12, indegree="independent")
    assert np.sum(hi["weights"] * hi["rates_hz"]) == pytest.approx(hi["mean_rate_hz"], rel=1e-8)
    # quantile quadrature converges: 12 vs 24 nodes per factor agree to 1 %
    hi2 = t.heterogeneous(0.2, n_nodes=24, indegree="independent")
    assert hi2["mean_rate_hz"] == pytest.approx(hi["mean_rate_hz"], rel=1e-2)


def test_first_passage_rate_reproduces_siegert():
    from reduce.meanfield.firstpassage import first_passage_rate

    for mu, sig in [(15.0, 5.0), (25.0, 2.0), (5.0, 3.0)]:
        r = first_passage_rate(lambda v, mu=mu: (mu - v) / 20.0,
                               lambda v, sig=sig: sig * sig / 20.0 + 0 * v,
                               mu - 15 * sig, 10.0, 20.0, 2.0)
        assert r == pytest.approx(siegert_rate(mu, sig), rel=1e-7)


def test_multiplicative_noise_raises_escape_rate():
    # the inhibitory term dominates B(V) = a²K[r_E(V−E_E)² + g²γ r_I(V−E_I)²] and grows
    # towards threshold (|θ − E_I| > |μ − E_I|), so the V-dependent noise raises the escape
    # rate relative to σ evaluated at μ (measured: 42.2 Hz vs 2.52 Hz here)
    add = ConductanceTheory(K=1e4, a=0.002)
    mul = ConductanceTheory(K=1e4, a=0.002, noise="multiplicative")
    ra = add.rate(100.0, 100.0)
    rm = mul.rate(100.0, 100.0)
    assert 1.0 < ra < rm < 1000 / 2.0


@pytest.mark.parametrize("kw,match", [
    (dict(a=0.0), "a = 0"), (dict(a=1.5), "a = 1.5"), (dict(K=0.5), "K = 0.5"),
    (dict(nu_x=-1.0), "nu_x"), (dict(nu_x=5000.0), "nu_x"), (dict(v_r=-50.0), "v_r"),
    (dict(Kx=3), "unknown parameter"),
])
def test_bad_input(kw, match):
    with pytest.raises(ParameterError, match=match):
        ConductanceTheory(**kw)


def test_no_linear_limit_is_an_error_not_nan():
    with pytest.raises(ParameterError, match="no finite linear limit"):
        ConductanceTheory(g=1.0).linear_limit()
    th = ConductanceTheory()
    with pytest.raises(ParameterError, match="suprathreshold"):
        th.a_log_leading(1e3, 100.0, 1.0)
    assert th.a_for_rate(1e3, 1e6, 100.0, 100.0) is None   # 1 MHz: "no solution"
