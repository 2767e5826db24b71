"""Conductance network at K = 10^4 against the mean-field theory (slow, ~10 min wall)."""

from __future__ import annotations

import numpy as np
import pytest

import simulate
from reduce.meanfield.conductance import ConductanceTheory

pytestmark = pytest.mark.slow


def test_conductance_network_K1e4_vs_theory():
    # K = 1e4, c = 2 (N = 40 000), a = 0.001 (log rule from a(100) = 0.002), ν_X = 5 Hz: the
    # additive theory predicts 9.85 Hz (CV 0.94), the multiplicative 11.51 Hz. Rate over
    # [50, 150] ms in 4 blocks (≈ 1e4 spikes each; SE from the blocks). Measured (seed 1):
    # 12.02 ± 0.26 Hz, i.e. +22 % above the additive theory and +4 % (2 SE) above the
    # multiplicative one. (The LIF helper's 9.73 Hz, docs/lif_hybrid.md, averages over the
    # first 100 ms including the start from uniform voltages.) Asserted: the additive theory
    # is low beyond statistics; the multiplicative one agrees within 4 SE plus a 5 %
    # systematic budget (diffusion approximation at a = 1e-3).
    net = simulate.ConductanceLIFNetwork(K=10_000, c=2, scaling="log", K0=100, a0=0.002,
                                         nu_x=5.0, dt=0.05, connectivity="procedural")
    traj = net.run(150.0, seed=1, progress=False, record_spikes=True, t_burn=50.0)
    from simulate.spike_stats import rate_distribution

    edges = np.linspace(50.0, 150.0, 5)
    r = []
    for a, b in zip(edges[:-1], edges[1:]):
        rd = rate_distribution(traj, a, b)
        r.append(np.mean(np.concatenate([rd[q] for q in rd])))
    m, se = np.mean(r), np.std(r, ddof=1) / 2.0
    a = float(net.params["a"])
    add = ConductanceTheory(K=1e4, a=a, nu_x=5.0).self_consistent()
    mul = ConductanceTheory(K=1e4, a=a, nu_x=5.0, noise="multiplicative").self_consistent()
    assert add.n == 1 and mul.n == 1
    assert m > add.rates_hz[0] + 4 * se, (m, se, add.rates_hz)
    assert abs(m - mul.rates_hz[0]) <= 0.05 * mul.rates_hz[0] + 4 * se, (m, se, mul.rates_hz)
