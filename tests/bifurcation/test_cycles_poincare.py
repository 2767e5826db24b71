"""Poincaré return map of a directly integrated ODE (bifurcation/cycles/poincare.py).

Reference: the first period doubling of Rössler (a = b = 0.2) located on its 2-d return map
y = 0 with a dense finite-difference Jacobian (cycle_problems.rossler_pd_reference,
c = 2.8324450433683572). Here the section is the same plane given as g(x) = y, the map is
treated as n-dimensional and only its dominant multipliers are computed by Newton–Picard
and Arnoldi, as on the 148-state Markov approximation.

Error budget: multipliers from central differences with step h = 1e-4 (relative): truncation
O(h²) ≈ 1e-8 and integration error (rtol 1e-10) / h ≈ 1e-6; with dμ/dc ≈ −0.67 at the PD this
moves c by ≲ 2e-6. Tolerance 1e-5.
"""

import numpy as np
import pytest

from bifurcation.cycles.poincare import ReturnMap, fixed_point, pd_parameter
from simulate.validation import ParameterError

from .cycle_problems import rossler_system

ROSSLER_PD_REFERENCE = 2.8324450433683572


def test_rossler_pd_from_return_map():
    s = rossler_system(2.8)
    x0 = np.array([5.09, 0.0, 1.63])  # near the cycle on y = 0
    r = pd_parameter(s, "c", lambda x: x[1], x0, 5.8, (2.82, 2.84), k=3)
    assert r["value"] == pytest.approx(ROSSLER_PD_REFERENCE, abs=1e-5)
    mu = r["multipliers"]
    assert abs(mu[0] + 1) < 1e-6
    # second multiplier of Rössler's cycle is tiny (strong contraction in z)
    assert abs(mu[1]) < 1e-3


def test_fixed_point_period_and_bad_input():
    s = rossler_system(2.5)
    P = ReturnMap(s, s.p0, lambda x: x[1], 5.8)
    fp = fixed_point(P, np.array([5.0, 0.0, 1.0]), k=3)
    assert fp["residual"] < 1e-9
    # the fixed point is on the section and returns to itself after one period
    x1, t1 = P(fp["x"])
    assert abs(fp["x"][1]) < 1e-8 and np.allclose(x1, fp["x"], atol=1e-7)
    assert t1 == pytest.approx(fp["period"], rel=1e-9)
    with pytest.raises(ParameterError, match="period"):
        ReturnMap(s, s.p0, lambda x: x[1], -1.0)
    with pytest.raises(ParameterError, match="param"):
        pd_parameter(s, "nope", lambda x: x[1], fp["x"], 5.8, (2.8, 2.9))
