"""Finite-N chains and the linear-noise approximation against exact solutions."""

import numpy as np
import pytest
from scipy.optimize import brentq

from reduce.finite_size import (
    PopulationChain,
    output_spectrum,
    spectral_density,
    stationary_covariance,
    transfer_function,
)


def _rates(x):
    # a nonlinear three-state cycle (rest -> active -> refractory -> rest), with recruitment:
    # the rest -> active rate grows with the active fraction (density dependence).
    W = np.zeros((3, 3))
    W[0, 1] = 0.2 + 2.0 * x[1]
    W[1, 2] = 1.0
    W[2, 0] = 0.5
    W[1, 0] = 0.3
    return W


def test_ou_closed_forms():
    k, D = 1.7, 0.9
    A, Dm = np.array([[-k]]), np.array([[D]])
    assert stationary_covariance(A, Dm)[0, 0] == pytest.approx(D / (2 * k), rel=1e-12)
    w = np.array([0.0, 0.5, 3.0])
    np.testing.assert_allclose(spectral_density(A, Dm, w)[:, 0, 0].real, D / (w ** 2 + k ** 2),
                               rtol=1e-12)
    np.testing.assert_allclose(output_spectrum(A, Dm, [1.0], w), D / (w ** 2 + k ** 2),
                               rtol=1e-12)
    np.testing.assert_allclose(transfer_function(A, [1.0], [1.0], w), 1 / (1j * w + k),
                               rtol=1e-12)
    # the spectrum integrates to the variance: int S dw / 2 pi = Sigma
    ww = np.linspace(-2000, 2000, 400001)
    area = np.trapezoid(output_spectrum(A, Dm, [1.0], ww[::100]), ww[::100]) / (2 * np.pi)
    assert area == pytest.approx(D / (2 * k), rel=2e-3)


def test_ssa_matches_master_equation_transient():
    chain = PopulationChain(_rates, 3, N=12)
    n0 = [12, 0, 0]
    t = 1.5
    p, comps = chain.transient_distribution(n0, t)
    mean_exact = p @ comps
    reps = 1500
    finals = np.array([chain.simulate(n0, t, t, seed=s).counts[-1] for s in range(reps)])
    mean_ssa = finals.mean(axis=0)
    se = finals.std(axis=0, ddof=1) / np.sqrt(reps)
    # 4 standard errors per component (three components): false alarm < 2e-4
    assert np.all(np.abs(mean_ssa - mean_exact) < 4 * se)
    # distribution of the active count: chi-square-free check on P(n_1 = 0)
    p0_exact = p[comps[:, 1] == 0].sum()
    p0_ssa = np.mean(finals[:, 1] == 0)
    assert abs(p0_ssa - p0_exact) < 4 * np.sqrt(p0_exact * (1 - p0_exact) / reps)


def test_lna_covariance_matches_master_equation_at_large_n():
    # fixed point of the mean-field ODE (reduced coordinates), then N * Cov vs Sigma
    chain = PopulationChain(_rates, 3, N=10)
    ode = chain.ode()

    def g(x1):
        # at equilibrium with x1 fixed: flux balance along the cycle gives x0, x2
        x0 = x1 * (1.0 + 0.3) / (0.2 + 2.0 * x1)
        x2 = x1 * 1.0 / 0.5
        return x0 + x1 + x2 - 1.0

    x1 = brentq(g, 1e-9, 0.5)
    y = np.array([x1 * 1.3 / (0.2 + 2.0 * x1), x1])
    assert np.max(np.abs(ode.rhs(y))) < 1e-12
    A = ode.fd_jacobian(y)
    Sigma = stationary_covariance(A, chain.reduced_diffusion(y))
    errs = []
    for N in (50, 100, 200):
        ch = PopulationChain(_rates, 3, N=N)
        pi, comps = ch.stationary_distribution()
        x = comps[:, :2] / N
        mean = pi @ x
        cov = (x - mean).T @ ((x - mean) * pi[:, None])
        errs.append(np.max(np.abs(N * cov - Sigma)) / np.max(np.abs(Sigma)))
        # the mean converges to the fixed point at O(1/N)
        assert np.max(np.abs(mean - y)) < 2.0 / N
    # the LNA covariance is the N -> infinity limit: relative error falls ~ 1/N
    assert errs[-1] < 0.05
    assert errs[2] < errs[1] < errs[0]
    assert errs[0] / errs[2] > 2.5  # ~4 for an O(1/N) correction
