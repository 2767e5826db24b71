"""The default census sampler of the Markov approximation produces admissible states."""

import numpy as np

import reduce
import simulate
from reduce.markov_approx.sampler import MASampler


def test_sampler_states_are_admissible_and_spread():
    ma = reduce.MarkovApproximation(simulate.MarkovIFNetwork())
    lay = ma.layout
    X = MASampler(ma)(np.random.default_rng(1), 400)
    assert X.shape == (400, 148)
    for q, N in enumerate(ma.spec.sizes):
        n = X[:, lay.occ(q)]
        assert np.all(n >= 0) and np.all(n.sum(axis=1) <= N + 1e-9)
        # Dirichlet(1) over K+1 cells: E[refractory fraction] = 1/(K+1)
        R = N - n.sum(axis=1)
        assert abs(R.mean() / N - 1 / (lay.K + 1)) < 4 * np.sqrt(1 / (lay.K + 1) ** 2 / 400)
        view = ma.state_view(X)[simulate.MarkovIFNetwork().populations[q]]
        m = view.mean_voltage
        assert np.all(m >= ma.bins.edges[:-1] - 1e-9) and np.all(m <= ma.bins.edges[1:] + 1e-9)
    # right-hand side finite at every sampled state
    ode = ma.ode()
    assert all(np.all(np.isfinite(ode.rhs(x))) for x in X[:20])


def test_sampler_uses_reference_kick_moments():
    ma = reduce.MarkovApproximation(simulate.MarkovIFNetwork())
    x_ref = ma.initial_state()
    i = ma.layout.mom(0, 1)
    x_ref[i], x_ref[i + 1] = 5.0, 2.0
    X = MASampler(ma, x_ref=x_ref, kick_spread=0.0)(np.random.default_rng(0), 3)
    np.testing.assert_allclose(X[:, i], 5.0)
    np.testing.assert_allclose(X[:, i + 1], 2.0)
