"""Balanced limit of the hybrid network (models.md §6, reconstruction): slow checks.

With J rows equal ([[1, −1.5], [1, −1.5]]), one balance constraint holds: F_E = 1.5 F_I,
F_q = E[f_q(μ + √v Z)]. With equal α and drive, μ_E = μ_I = μ, and the n → ∞ limit
(μ_∞, v_∞) solves F_E(μ, v) = 1.5 F_I(μ, v), 2αv = F_E + 2.25 F_I (reference computed here
by root finding and Gauss–Hermite quadrature, independent of the simulator).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from simulate.hybrid.network import BalancedHybridNetwork, logistic

pytestmark = pytest.mark.slow

Z, W = np.polynomial.hermite_e.hermegauss(60)
W = W / W.sum()


def _F(mu, v, gain):
    return float(np.sum(W * logistic(mu + math.sqrt(v) * Z, 0.05, gain, 0.0)))


def balanced_limit(alpha=0.1):
    v = 0.2
    for _ in range(100):
        mu = brentq(lambda m, v=v: _F(m, v, 1.0) - 1.5 * _F(m, v, 2.0), -5.0, 0.0)
        v = (_F(mu, v, 1.0) + 2.25 * _F(mu, v, 2.0)) / (2 * alpha)
    return mu, v


def test_means_approach_balanced_limit_and_imbalance_is_order_n_minus_half():
    mu_inf, v_inf = balanced_limit()
    dev, imb = [], []
    for n in (200, 800, 3200):
        net = BalancedHybridNetwork(n=n)
        traj = net.run(400.0, seed=1, progress=False, record_dt=5.0)
        late = traj["samples/t"] >= 200.0
        mu = 0.5 * (traj["samples/x_mean/E"][late].mean() + traj["samples/x_mean/I"][late].mean())
        fe = traj["samples/f_mean/E"][late].mean()
        fi = traj["samples/f_mean/I"][late].mean()
        dev.append(abs(mu - mu_inf))
        imb.append(math.sqrt(n) * abs(fe - 1.5 * fi))
        # no blow-up: means and variances stay O(1)
        assert np.all(np.abs(traj["samples/x_mean/E"]) < 5.0)
        assert np.all(traj["samples/x_var/E"] < 5.0)
    # the O(sqrt(n)) drift sqrt(n)*(J F) stays O(1): it may not grow with n
    assert max(imb) < 2.0 * min(imb) + 0.05
    # means approach the limit, deviation shrinking roughly like n^{-1/2} (factor 2 per 4x n);
    # allow a factor 1.5 either way for finite-time and sampling error
    assert dev[0] > dev[1] > dev[2]
    for d0, d1 in zip(dev, dev[1:]):
        assert 2 / 1.5 <= d0 / d1 <= 2 * 1.5 + 1.0
