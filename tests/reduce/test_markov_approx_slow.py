"""Long checks of the Markov approximation (run with ``pytest -m slow``).

The full comparison over p_EI ∈ {0.5, ..., 1.0} is ``benchmarks/compare_markov_approx.py``;
its numbers are in docs/markov_approx.md. Here: conservation over 1e5 steps at the published
layout, and a short network comparison at two p_EI values.
"""

from __future__ import annotations

import numpy as np
import pytest

import reduce
import simulate
from reduce.markov_approx.map import map_run

pytestmark = pytest.mark.slow


def test_map_conserves_neurons_1e5_steps_published_layout():
    ma = reduce.MarkovApproximation()
    x0 = ma.to_map_state(ma.initial_state())
    N = ma.spec.sizes.astype(float)
    xe, _, _ = map_run(x0, ma.param_vector(), 100_000, 0.1, False,
                       *ma.kernel_arrays("uniform-widest"), 100_000)
    v = ma.state_view(xe)
    tot = np.array([v[q].occupancy.sum() + v[q].refractory for q in ("E", "I")])
    assert np.max(np.abs(tot - N) / N) <= 1e5 * 2.2e-16


@pytest.mark.parametrize("p_ei", [0.6, 0.8])
def test_map_rates_close_to_network(p_ei):
    """Map (published form) vs the fixed-step network: relative rate error ≤ 10 % (the
    issue's target for p_EI ≤ 0.9). Statistical error of the network rates over 3 s at
    ~50 Hz x 300 neurons is < 1 % (MFE-correlated counts: a few % at most), so the budget is
    dominated by the approximation's systematic error."""
    net = simulate.MarkovIFNetwork(p_ei=p_ei)
    tr = net.run(t_end=3000.0, seed=2)
    ma = reduce.MarkovApproximation(net)
    res = ma.simulate(3000.0, form="map")
    snn = tr.rates_hz
    for q in ("E", "I"):
        err = abs(res.rates_hz[q] - snn[q]) / snn[q]
        assert err <= 0.10, (q, res.rates_hz[q], snn[q])
