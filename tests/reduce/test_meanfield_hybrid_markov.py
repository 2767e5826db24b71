"""Hydrodynamic limit of the hybrid network (§6, reconstruction) and the diffusion baseline of
the Markov IF network (§1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import simulate
from reduce.meanfield.hydrodynamic import HybridHydrodynamic
from reduce.meanfield.markov_if_diffusion import MarkovIFDiffusion
from simulate.validation import ParameterError


@pytest.fixture(scope="module")
def hyd():
    return HybridHydrodynamic()


def test_balance_is_preserved_and_equilibrium_consistent(hyd):
    ode = hyd.ode()
    x0 = hyd.project(np.array([0.5, -0.3, 2.0, 0.5]))
    assert abs(hyd.constraint_value(x0)[0]) < 1e-12
    sol = solve_ivp(lambda t, x: ode.rhs(x), (0, 60.0), x0, rtol=1e-10, atol=1e-12)
    G = [hyd.constraint_value(sol.y[:, i])[0] for i in range(sol.y.shape[1])]
    assert np.max(np.abs(G)) < 1e-7          # c(t) keeps the O(sqrt n) drift at zero
    eq = hyd.equilibrium()
    assert eq["status"] == "ok"
    x = eq["x"]
    assert np.max(np.abs(ode.rhs(x))) < 1e-9
    # variance at equilibrium: v = Σ_q J_pq² F_q / (2 α_p)
    assert np.allclose(x[2:], hyd.stationary_variance(x), rtol=1e-9)
    # the balanced manifold attracts (inhibitory gain wins) at the default parameters
    assert eq["balance_gain"] < 0
    # and the flow relaxes to it: after 60 ms (6 decay times of v) close to equilibrium
    assert np.allclose(sol.y[2:, -1], x[2:], rtol=0.05)


def test_variance_ode_closed_form_when_rates_frozen():
    # with f constant (gain 0: f = f_max/2) F = f_max/2 exactly and v(t) = v* + (v0 − v*)e^{−2αt}
    h = HybridHydrodynamic(gain=(0.0, 0.0), sqrt_n_drive=(0.02 * 0.5, 0.02 * 0.5),
                           f_max=(0.02, 0.02), J=[[1.0, -1.5], [1.0, -1.5]])
    ode = h.ode()
    x0 = np.array([0.0, 0.0, 3.0, 0.1])
    sol = solve_ivp(lambda t, x: ode.rhs(x), (0, 10.0), x0, rtol=1e-11, atol=1e-13)
    vstar = (1.0 + 1.5**2) * 0.01 / (2 * 0.1)
    ref = vstar + (x0[2:] - vstar) * math.exp(-2 * 0.1 * 10.0)
    assert np.allclose(sol.y[2:, -1], ref, rtol=1e-8)


def test_shared_configuration_is_degenerate(hyd):
    shared = HybridHydrodynamic(spikes="shared")
    x = np.array([0.0, 0.0, 1.0, 1.0])
    d = shared.ode().rhs(x)
    assert np.allclose(d[2:], -2 * 0.1 * x[2:])
    with pytest.raises(ParameterError, match="shared"):
        shared.equilibrium()


def test_hybrid_bad_input():
    with pytest.raises(ParameterError, match="common"):
        HybridHydrodynamic(constraint="common", J=[[1.0, -1.5], [1.2, -1.5]])


def test_markov_if_diffusion_uncoupled_limit():
    # no recurrent kicks: drift λ, diffusion λ, passage 0 -> M with reflection at −M_r;
    # the drift-diffusion passage time is M/λ up to a boundary-layer correction of order 1/λ
    net = simulate.MarkovIFNetwork(p_ee=0.0, p_ie=0.0, p_ei=0.0, p_ii=0.0)
    eq = MarkovIFDiffusion(net).equilibrium()
    exact = 1000.0 / (100.0 / 7.0 + 4.0)        # jump process: mean ISI M/λ + τ_R
    assert eq["status"] == "ok"
    assert eq["rates_hz"]["E"] == pytest.approx(exact, rel=1e-3)


def test_markov_if_diffusion_equilibrium_and_ode():
    mf = MarkovIFDiffusion()
    eq = mf.equilibrium()
    assert eq["status"] == "ok"
    nu = np.array([eq["rates_hz"]["E"], eq["rates_hz"]["I"]]) / 1000.0
    # self-consistency and zero of the kick-moment ODE
    assert np.allclose(mf.transfer(mf.m_star(nu)), nu, rtol=1e-8)
    ode = mf.ode()
    assert np.max(np.abs(ode.rhs(eq["m"].ravel()))) < 1e-8 * np.max(eq["m"])
    assert ode.eval_outputs(eq["m"].ravel())["rate_E"] == pytest.approx(eq["rates_hz"]["E"])
    # models.md §1: I fires above E at the defaults
    assert eq["rates_hz"]["I"] > eq["rates_hz"]["E"] > 1.0
    # more I -> E coupling lowers the E rate
    e2 = MarkovIFDiffusion(p_ei=0.9).equilibrium()
    assert e2["rates_hz"]["E"] < eq["rates_hz"]["E"]
