"""Contract of design.md ("ODESystem", "Branches and special points") for equilibria and
codimension-two curves, with the design's own example on the Brusselator.

Reference: the Brusselator has its Hopf point at B = 1 + A², omega = A (models.md §8).
(The ``continue_cycles`` line is tested in test_cycles_contract.py.)
"""

import numpy as np

import bifurcation
from bifurcation import Branch, Endpoint, SpecialPoint


def rhs(x, p):
    A, B = p
    return np.array([A - (B + 1) * x[0] + x[0] ** 2 * x[1], B * x[0] - x[0] ** 2 * x[1]])


def test_odesystem_contract():
    sys = bifurcation.ODESystem(rhs, n_states=2, params={"A": 1.0, "B": 1.5})
    assert sys.n_states == 2 and sys.params == {"A": 1.0, "B": 1.5}
    assert sys.param_index["B"] == 1 and sys.state_names == ["x0", "x1"]
    assert sys.outputs == {}
    x = np.array([1.0, 1.5])
    np.testing.assert_allclose(sys.jacobian(x), [[0.5, 1.0], [-1.5, -1.0]], atol=1e-8)
    assert sys.dfdp(x).shape == (2, 2)


def test_design_example_equilibria_and_codim2():
    sys = bifurcation.ODESystem(rhs, n_states=2, params={"A": 1.0, "B": 1.5})
    x0 = [1.0, 1.5]
    br = bifurcation.continue_equilibria(sys, x0, param="B", bounds=(0.0, 4.0))
    assert isinstance(br, Branch) and br.kind == "EP" and br.success
    N, n = len(br), sys.n_states
    assert br.system is sys and br.param == "B"
    assert set(br.params) == {"A", "B"} and br.params["B"].shape == (N,)
    assert br.states.shape == (N, n)
    assert br.stable.shape == (N,) and br.stable.dtype == bool
    assert br.eigenvalues.shape == (N, n) and br.eigenvalues.dtype == complex
    assert isinstance(br.outputs, dict)
    assert np.all(np.diff(br.data["arclength"]) > 0)  # ordered by signed arclength
    assert len(br.endpoints) == 2 and all(isinstance(e, Endpoint) for e in br.endpoints)
    assert all(e.reason == "bound" for e in br.endpoints)
    assert br.status == "success" and isinstance(br.message, str)
    assert br.counts["steps"] > 0 and br.counts["newton_iterations"] > 0
    assert br.params["B"].min() == 0.0 and br.params["B"].max() == 4.0
    (hopf_point,) = br.special_points
    assert isinstance(hopf_point, SpecialPoint) and hopf_point.kind == "HB"
    assert abs(hopf_point.params["B"] - 2.0) < 1e-6
    assert set(hopf_point.params) == {"A", "B"} and hopf_point.x.shape == (n,)
    assert hopf_point.branch is br and hopf_point.branch.system is sys
    assert abs(hopf_point.data["omega"] - 1.0) < 1e-6
    assert np.isfinite(hopf_point.data["l1"])
    assert hopf_point.data["q"].shape == (n,)

    curve = bifurcation.continue_codim2(hopf_point, params=("A", "B"),
                                        bounds={"A": (0, 2), "B": (0, 6)}, max_points=150)
    assert curve.kind == "HB-curve" and curve.param == ("A", "B")
    assert curve.status == "success", curve.message
    A, B = curve.params["A"], curve.params["B"]
    np.testing.assert_allclose(B, 1 + A ** 2, rtol=1e-8)
    assert A.min() < 1.0 < A.max()  # both directions from the start
    assert A.max() == 2.0
    assert len(curve.endpoints) == 2
