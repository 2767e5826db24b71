"""Contract of design.md for the Markov approximation: ``ma = reduce.MarkovApproximation(net);
ode = ma.ode()`` is a ``bifurcation.ODESystem`` in reduced coordinates."""

from __future__ import annotations

import pickle

import numpy as np

import bifurcation
import reduce
import simulate


def test_ma_ode_is_odesystem():
    net = simulate.MarkovIFNetwork(p_ei=0.8)
    ma = reduce.MarkovApproximation(net)
    ode = ma.ode()
    assert isinstance(ode, bifurcation.ODESystem)
    assert ode.n_states == 148  # 2·(2·35) + 8 at the defaults
    assert list(ode.params)[: len(ode.params)] == list(ode.param_index)
    assert ode.params["p_ei"] == 0.8
    for name in ("p_ei", "s_ee", "tau_ee", "lam", "h"):
        assert name in ode.param_index
    x = ma.initial_state()
    p = ode.p0
    f = ode.rhs(x, p)
    assert f.shape == (148,) and f.dtype == np.float64
    J = ode.jacobian(x, p)
    assert J.shape == (148, 148)
    out = ode.eval_outputs(x, p)
    assert {"rate_E", "rate_I"} <= set(out)
    assert len(ode.state_names) == 148
    # parameters by name, pickling (systems rebuild compiled functions on load)
    ode2 = pickle.loads(pickle.dumps(ode.with_params(p_ei=0.9)))
    assert ode2.params["p_ei"] == 0.9
    assert np.allclose(ode2.rhs(x), ode.rhs(x, ode.param_vector(p_ei=0.9)))


def test_ma_from_parameter_dict_and_state_view():
    ma = reduce.MarkovApproximation({"p_ei": 0.7}, h=0.1, variance="published")
    v = ma.state_view(ma.initial_state())
    assert v.E.occupancy.sum() == 300
    assert float(v["EE"].kick_mean) == 0.0


def test_ma_simulate_output_accepted_by_observables():
    from simulate import observables

    ma = reduce.MarkovApproximation()
    res = ma.simulate(50.0, form="map")
    act = simulate.as_activity(res)
    assert isinstance(act, simulate.PopulationActivity)
    rates = observables.firing_rates(res, t_burn=10.0)
    assert set(rates) >= {"E", "I"}
    assert res.x.shape[1] == 152 and len(res.t) == res.x.shape[0]
