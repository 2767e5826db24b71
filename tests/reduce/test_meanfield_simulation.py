"""Mean-field theory against simulation: the single conductance-based neuron (own exact
Monte-Carlo, tests/reduce/meanfield_mc.py) and, in ``slow`` runs, the networks.

Error budgets are kept separate:

- statistical: batch means over 20 time blocks (rate) and block-wise CVs; we allow 4 standard
  errors (two-sided p ≈ 6e-5 per comparison for a Gaussian estimate);
- systematic: the diffusion approximation (jumps a(E − V) of finite size, shot noise of order
  √a) and the choice of where the V-dependent noise is evaluated. Far above threshold it is
  small and shrinks with a (measured 5.8 %, 0.8 %, 0.07 % at a = 2e-3, 6e-4, 2e-4); in the
  fluctuation-driven (escape) regime the rate is exponentially sensitive to σ and the
  systematic error is a factor of 1.5-8. There we use a bracket that we measured and that
  has a mechanism: the additive theory (σ at V = μ) underestimates the noise near threshold
  (the inhibitory term g²γ r_I(V − E_I)² grows towards θ) and the multiplicative theory (B(V)
  kept V-dependent) ignores the finite jump sizes, which in this regime lower the escape rate;
  the simulation lies between the two.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from meanfield_mc import simulate_neuron  # noqa: E402

from reduce.meanfield.conductance import ConductanceTheory  # noqa: E402


def test_single_neuron_mean_driven_small_a():
    # K = 1e4, a = 6e-4, r_E = 20 Hz, r_I = 5 Hz: μ = −47.7 mV above θ, σ = 2.2 mV.
    th = ConductanceTheory()
    thm = ConductanceTheory(noise="multiplicative")
    s = th.single_neuron(20.0, 5.0, K=1e4, a=6e-4)
    sm = thm.single_neuron(20.0, 5.0, K=1e4, a=6e-4)
    sim = simulate_neuron(1e4, 6e-4, 20.0, 5.0, 5000.0, seed=3)
    # rate: statistical 4 SE; systematic 2 % (diffusion approximation; 0.8 % measured at this
    # a with 20 s runs, decreasing ~a² towards smaller a)
    assert abs(sim["rate_hz"] - s["rate_hz"]) <= 4 * sim["rate_se"] + 0.02 * s["rate_hz"]
    # CV: with σ evaluated at μ the additive theory overestimates it by 40 % (0.121 vs 0.086):
    # the noise B(V) along the path V_r -> θ is about half of B(μ). The multiplicative theory
    # keeps B(V) and gets it right (systematic budget 5 %, the rate's at this a, ×2.5).
    assert s["cv"] > sim["cv"] + 4 * sim["cv_se"]
    assert abs(sim["cv"] - sm["cv"]) <= 4 * sim["cv_se"] + 0.05 * sm["cv"]


@pytest.mark.slow
def test_single_neuron_small_a_convergence():
    th = ConductanceTheory()
    errs = []
    for K, a in ((1e3, 2e-3), (1e4, 6e-4), (1e5, 2e-4)):
        s = th.single_neuron(20.0, 5.0, K=K, a=a)
        sim = simulate_neuron(K, a, 20.0, 5.0, 20000.0, seed=2)
        errs.append(abs(sim["rate_hz"] / s["rate_hz"] - 1))
    assert np.all(np.diff(errs) < 0)


@pytest.mark.slow
def test_single_neuron_three_scalings_vs_simulation():
    # r_E = r_I = 100 Hz; a0 makes the additive theory fire at 10 Hz at K0 = 1000
    th = ConductanceTheory()
    thm = ConductanceTheory(noise="multiplicative")
    re = ri = 100.0
    a0 = th.a_for_rate(1e3, 10.0, re, ri)
    res = {}
    for sc in ("log", "sqrt", "const"):
        for K in (1e2, 1e3, 1e4):
            a = float(th.coupling(np.array([K]), sc, a0, 1e3)[0])
            sim = simulate_neuron(K, a, re, ri, 20000.0, seed=1)
            lo = th.rate(re, ri, K=K, a=a)
            hi = thm.rate(re, ri, K=K, a=a)
            res[sc, K] = sim["rate_hz"]
            if sim["n_spikes"] >= 20:
                # systematic bracket (see module docstring) plus 4 statistical SE
                assert lo - 4 * sim["rate_se"] <= sim["rate_hz"] <= hi + 4 * sim["rate_se"], (
                    sc, K, lo, sim, hi)
            else:
                # (almost) silent: the Poisson upper bound of the count must cover the theory
                assert lo * 20.0 <= 10.0
    # constant a saturates, 1/sqrt(K) silences, in the simulation as in the theory
    assert res["const", 1e4] > 100.0 > res["log", 1e2]
    assert res["sqrt", 1e4] < 1.0 < res["sqrt", 1e2]
