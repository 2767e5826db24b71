"""``MarkovApproximation.equilibrium()``: Newton on the time average of a short run.

Independent reference: ``scipy.optimize.root`` (MINPACK hybrd, finite-difference Jacobian, no
use of the analytic Jacobian) on the vectorised NumPy/SciPy field ``map.field_numpy`` (no use
of the compiled kernels), started from the same time average.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import root

import reduce
from reduce.markov_approx.equilibrium import EquilibriumNotFound
from reduce.markov_approx.map import field_numpy
from simulate.validation import ParameterError


@pytest.fixture(scope="module")
def ma():
    return reduce.MarkovApproximation()


@pytest.fixture(scope="module")
def eq(ma):
    return ma.equilibrium()


def test_equilibrium_is_a_root_of_the_independent_field(ma, eq):
    assert eq.converged and eq.status == "converged"
    assert eq.x.shape == (ma.layout.n_ode,)
    # the compiled field and the NumPy field agree to 1e-11·max(1, |f|) (test_markov_approx),
    # and the terms of f at the equilibrium are O(100) per ms: |f_numpy(x*)| ≤ 1e-10 (Newton
    # tolerance) + 1e-11·100
    assert np.max(np.abs(field_numpy(ma, eq.x)[0])) <= 1e-10 + 1e-9
    assert np.max(np.abs(ma.ode().rhs(eq.x))) == pytest.approx(eq.residual, abs=1e-15)
    # scipy's hybrd from the same time average converges to the same point: two approximate
    # roots with residuals r1, r2 differ by at most ‖J⁻¹‖₂ (‖r1‖₂ + ‖r2‖₂), ‖J⁻¹‖₂ = 1/σ_min
    ref = root(lambda x: field_numpy(ma, x)[0], eq.x_start, method="hybr",
               options={"xtol": 1e-13})
    assert ref.success, ref.message
    J = ma.ode().jacobian(eq.x)
    inv_norm = 1.0 / np.linalg.svd(J, compute_uv=False)[-1]
    r1 = np.linalg.norm(field_numpy(ma, eq.x)[0])
    r2 = np.linalg.norm(field_numpy(ma, ref.x)[0])
    assert np.linalg.norm(ref.x - eq.x) <= inv_norm * (r1 + r2) + 1e-12 * np.abs(eq.x).max()
    # and the rates of the two points agree (the equilibrium of docs/markov_approx.md)
    assert eq.rates_hz["E"] == pytest.approx(ma.rates_hz(ref.x)["E"], rel=1e-9)


def test_start_is_not_already_the_equilibrium(ma, eq):
    # the time average is a rough start (the run is on its way to the MFE cycle), so the
    # test above exercises Newton, not a lucky start
    assert np.max(np.abs(ma.ode().rhs(eq.x_start))) > 1e3 * eq.residual


def test_parameter_vector_and_dict_agree(ma):
    a = ma.equilibrium({"p_ei": 0.9})
    p = ma.param_vector({"p_ei": 0.9})
    b = ma.equilibrium(p)
    assert a.params["p_ei"] == b.params["p_ei"] == 0.9
    np.testing.assert_allclose(a.x, b.x, rtol=0, atol=1e-12)
    assert np.max(np.abs(field_numpy(ma, a.x, p)[0])) <= 1e-9


def test_unconverged_newton_raises_or_reports(ma):
    with pytest.raises(EquilibriumNotFound, match="did not converge.*max_iter"):
        ma.equilibrium(max_iter=1)
    e = ma.equilibrium(max_iter=1, check=False)
    assert not e.converged and e.residual > 1e-10 and e.rates_hz == {}


@pytest.mark.parametrize("kw, name", [({"t_settle": -1.0}, "t_settle"),
                                      ({"tol": 0.0}, "tol"),
                                      ({"max_iter": 0}, "max_iter"),
                                      ({"p": np.ones(3)}, "p has shape"),
                                      ({"p": {"p_xx": 0.5}}, "unknown parameter"),
                                      ({"t_settle": 0.0}, "needs a start x0")])
def test_bad_input(ma, kw, name):
    with pytest.raises(ParameterError, match=name):
        ma.equilibrium(**kw)
