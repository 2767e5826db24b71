"""design.md contract for ``simulate``: the documented example runs as written."""

import numpy as np

import simulate


def test_design_example_markov_if():
    net = simulate.MarkovIFNetwork(p_ei=0.8)
    exact = simulate.MarkovIFNetwork(method="exact")
    assert net.method == "fixed-step" and exact.method == "exact"
    assert exact.voltages == "real"
    traj = exact.run(t_end=1000.0, seed=0)
    rates = traj.rates_hz
    assert set(rates) == {"E", "I"}
    assert all(isinstance(v, float) and np.isfinite(v) and v > 0 for v in rates.values())
    assert isinstance(traj, simulate.Trajectory)
    again = exact.run(t_end=1000.0, seed=0)
    assert again.rates_hz == rates            # same seed -> same result


def test_methods_and_integer_voltages_exist():
    for method in ("fixed-step", "exact", "tau-leap"):
        tr = simulate.MarkovIFNetwork(method=method, dt=0.05).run(t_end=20.0, seed=1,
                                                                  progress=False)
        assert set(tr.rates_hz) == {"E", "I"}
    lcy = simulate.MarkovIFNetwork(method="exact", voltages="integer")
    assert set(lcy.run(t_end=20.0, seed=1, progress=False).rates_hz) == {"E", "I"}
