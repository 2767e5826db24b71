"""Compiled explicit Runge–Kutta integration of the Markov-approximation ODE.

References: the classical order of each Butcher tableau measured with a fixed-step NumPy
implementation on a problem with a closed-form solution, and scipy's DOP853 at rtol 1e-10 on
the MA itself.
"""

from __future__ import annotations

import numpy as np
import pytest

import reduce
from reduce.markov_approx.integrate import TABLEAUX, tableau
from simulate.validation import ParameterError


def fixed_step(A, b, c, f, y0, T, n):
    """Fixed-step explicit RK with tableau (A, b, c), NumPy, for the order test."""
    h = T / n
    y = np.array(y0, float)
    t = 0.0
    for _ in range(n):
        k = []
        for i in range(len(c)):
            yi = y + h * sum(A[i, j] * k[j] for j in range(i))
            k.append(f(t + c[i] * h, yi))
        y = y + h * sum(bj * kj for bj, kj in zip(b, k))
        t += h
    return y


@pytest.mark.parametrize("name", sorted(TABLEAUX))
def test_tableau_orders(name):
    """Observed order of b and b̂ on y' = -t y² + cos t·y ... with exact solution.

    Problem: y1' = y2, y2' = -y1 (harmonic, exact cos/sin) coupled to y3' = -2 t y3²
    (exact 1/(1 + t²)); errors at T = 1 with n and 2n steps give
    log2(e_n/e_2n) → order (asserted within 0.3 of the nominal order).
    """
    A, b, bhat, c, p, p_low = tableau(name)
    assert np.allclose(A.sum(1), c, atol=1e-15)   # row-sum condition
    assert np.allclose(A[-1], b) and c[-1] == 1.0    # FSAL

    def f(t, y):
        return np.array([y[1], -y[0], -2.0 * t * y[2] ** 2])

    T = 1.0
    exact = np.array([np.cos(T), -np.sin(T), 1.0 / (1.0 + T * T)])
    y0 = [1.0, 0.0, 1.0]
    for weights, order in ((b, p), (bhat, p_low)):
        n = 8 if order >= 4 else 32
        e1 = np.linalg.norm(fixed_step(A, weights, c, f, y0, T, n) - exact)
        e2 = np.linalg.norm(fixed_step(A, weights, c, f, y0, T, 2 * n) - exact)
        assert abs(np.log2(e1 / e2) - order) < 0.3, (name, order, e1, e2)


@pytest.fixture(scope="module")
def cycle_start():
    ma = reduce.MarkovApproximation()
    x0 = ma.simulate(40.0, form="map", closure="maxent").x[-1][: ma.layout.n_ode].copy()
    ref = ma.simulate(20.0, x0=x0, method="DOP853", rtol=1e-10, atol=1e-12, t_burn=0.0)
    return ma, x0, ref


@pytest.mark.parametrize("method", ["dopri5", "bs23"])
def test_compiled_against_tight_reference(cycle_start, method):
    """20 ms through an MFE from a state on the attractor: the flux on the 0.1 ms grid
    follows a DOP853 rtol 1e-10 reference; the error shrinks with the tolerance (tolerance
    proportionality), staying below 10·rtol of the flux range.

    Budget: the local error per step is held at ≈ tol (weighted RMS); over the ≈ 100 steps
    of the window the transverse directions contract (the cycle is stable), so the global
    error stays a modest multiple of tol: 10·tol is the budget (measured: dopri5 6e-5 and
    2.6e-7, bs23 8e-4 and 1e-6 at rtol 1e-3 and 1e-6); the cubic Hermite output adds
    O(h^4 x'''') << tol·|x|.
    """
    ma, x0, ref = cycle_start
    span = np.ptp(ref.flux[:, 0])
    assert span > 10.0   # an MFE happens in the window (flux in spikes/ms)
    errs = []
    for rtol in (1e-3, 1e-6):
        r = ma.simulate(20.0, x0=x0, method=method, rtol=rtol, atol=rtol * 1e-2, t_burn=0.0)
        assert r.success and r.method == method and r.njev == 0
        assert np.array_equal(r.t, ref.t) and np.array_equal(r.x[0], x0)
        errs.append(np.abs(r.flux - ref.flux).max() / span)
        assert errs[-1] < 10 * rtol, (rtol, errs)
    assert errs[1] < errs[0], errs


def test_default_is_compiled_bs23(cycle_start):
    ma, x0, ref = cycle_start
    r = ma.simulate(5.0, x0=x0, t_burn=0.0)
    assert r.method == "bs23" and r.rtol == 1e-3 and r.atol == 1e-6
    assert r.n_accept > 0 and r.nfev == 1 + 3 * (r.n_accept + r.n_reject)
    # scipy methods keep their own defaults
    r2 = ma.simulate(1.0, x0=x0, method="RK45", t_burn=0.0)
    assert r2.rtol == 1e-6 and r2.atol == 1e-8


def test_max_steps_reported(cycle_start):
    ma, x0, _ = cycle_start
    r = ma.simulate(5.0, x0=x0, max_steps=3, t_burn=0.0)
    assert not r.success and "max_steps" in r.message
    assert len(r.t) == len(r.x) == len(r.flux) < 51


def test_bad_integrator_input():
    ma = reduce.MarkovApproximation()
    with pytest.raises(ParameterError, match="method"):
        ma.simulate(1.0, method="euler")
    with pytest.raises(ParameterError, match="rtol"):
        ma.simulate(1.0, rtol=0.0)
    with pytest.raises(ParameterError, match="max_steps"):
        ma.simulate(1.0, max_steps=0)
