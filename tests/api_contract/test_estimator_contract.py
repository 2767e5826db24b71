"""design.md contract: ``reduce.TransitionRateEstimator(...).fit([traj, ...])``,
``fetch_model()``; ``fitted.ode()`` is a ``bifurcation.ODESystem``; ``fitted.chain(sizes)`` a
finite-N chain whose runs give a ``simulate.PopulationActivity``."""

import warnings

import numpy as np

import bifurcation
import reduce
import simulate
from reduce.estimation.synthetic import loglinear_generator, synthetic_trajectory


def _traj(seed):
    a = np.full((3, 3), -np.inf)
    a[0, 1], a[1, 2], a[2, 0], a[1, 0] = np.log([0.5, 0.8, 0.25, 0.1])
    b = np.zeros((3, 3))
    b[0, 1] = 0.5
    return synthetic_trajectory({"E": loglinear_generator(a, b), "I": loglinear_generator(a)},
                                {"E": 40, "I": 20}, 100.0, seed=seed,
                                params={"p_ee": 0.5, "p_ii": 0.5, "tau_ee": 2.0,
                                        "tau_ii": 3.0},
                                feature=lambda t: np.sin(t / 7.0))


def test_estimator_contract():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = reduce.TransitionRateEstimator(
            "trajectory", features={"E": ["kick_mean/EE"], "I": ["kick_mean/II"]}, lag=0.1,
            bootstrap=3,
        ).fit([_traj(0), _traj(1)])
    assert est.fit is not None
    fitted = est.fetch_model()
    ode = fitted.ode()
    assert isinstance(ode, bifurcation.ODESystem)
    x = fitted.x0()
    assert ode.rhs(x, ode.p0).shape == (ode.n_states,)
    assert set(ode.outputs) >= {"rate_E", "rate_I"}
    assert "p_ee" in ode.param_index
    assert len(fitted.samples) == 3
    chain = fitted.chain({"E": 40, "I": 20})
    act = chain.run(t_end=50.0, seed=0).activity()
    assert isinstance(act, simulate.PopulationActivity)
    assert set(act.counts) == {"E", "I"}
