"""Fold and Hopf curves in two parameters, with CP, BT, GH, ZH and HH points.

Normal forms are shifted (models.md §8); references are closed forms, or a root solve of an
independent defining system (fsolve) for the CSTR cusp. Tolerance 1e-6 (absolute where the
reference is zero).
"""

import numpy as np
import pytest
from scipy.optimize import fsolve

from bifurcation import ODESystem, continue_codim2, continue_equilibria
from simulate.validation import ParameterError

TOL = 1e-6


def close(a, b, tol=TOL):
    return abs(a - b) <= tol * max(1.0, abs(b))


# ----------------------------------------------------------------------------- Brusselator
def test_brusselator_hopf_curve_is_B_equals_1_plus_A2():
    def f(x, p):
        A, B = p
        return np.array([A - (B + 1) * x[0] + x[0] ** 2 * x[1], B * x[0] - x[0] ** 2 * x[1]])

    sys = ODESystem(f, 2, {"A": 1.0, "B": 1.5})
    hb = continue_equilibria(sys, [1.0, 1.5], "B", (0.5, 4.0)).points("HB")[0]
    curve = continue_codim2(hb, params=("A", "B"), bounds={"A": (0.5, 2.0), "B": (0.0, 6.0)})
    assert curve.kind == "HB-curve" and curve.success, curve.message
    A, B = curve.params["A"], curve.params["B"]
    np.testing.assert_allclose(B, 1 + A ** 2, rtol=1e-9)
    np.testing.assert_allclose(curve.data["omega"], A, rtol=1e-9)
    assert A.min() == 0.5 and A.max() == 2.0  # both directions, to the bounds
    assert curve.special_points == []
    assert curve.param == ("A", "B")


# ----------------------------------------------------------------------------- cusp
MU_S, LAM_S, X_S = 1.0, -4.0, 0.5


def test_cusp_point_on_fold_curve():
    def f(x, p):
        mu, la = p
        y = x[0] - X_S
        return np.array([(mu - MU_S) + (la - LAM_S) * y - y ** 3])

    sys = ODESystem(f, 1, {"mu": MU_S, "lam": LAM_S + 3})
    lp = continue_equilibria(sys, [X_S + 2 * np.sqrt(3)], "mu", (-4, 6)).points("LP")[0]
    curve = continue_codim2(lp, ("mu", "lam"), {"mu": (-5, 7), "lam": (-6, 0)})
    assert curve.kind == "LP-curve" and curve.success, curve.message
    (cp,) = curve.points("CP")
    assert abs(cp.params["mu"] - MU_S) < TOL and abs(cp.params["lam"] - LAM_S) < TOL
    assert abs(cp.x[0] - X_S) < TOL
    assert close(cp.data["c"], -1.0, 1e-5)  # c = f'''/6 = -1
    lam = curve.params["lam"] - LAM_S
    mu = curve.params["mu"] - MU_S
    np.testing.assert_allclose(np.abs(mu), 2 * (np.clip(lam, 0, None) / 3) ** 1.5, atol=1e-9)


# ----------------------------------------------------------------------------- BT
B1, B2, XS, YS = 0.3, -0.2, 0.4, -0.7


def bt_system():
    def f(x, p):
        b1, b2 = p[0] - B1, p[1] - B2
        u, v = x[0] - XS, x[1] - YS
        return np.array([v, b1 + b2 * u + u * u + u * v])

    return ODESystem(f, 2, {"b1": B1 + 0.1, "b2": B2 - 1.0})


@pytest.fixture(scope="module")
def bt_branch():
    u0 = (1 - np.sqrt(1 - 0.4)) / 2
    return continue_equilibria(bt_system(), [XS + u0, YS], "b1", (B1 - 1, B1 + 1))


def test_bogdanov_takens_on_fold_curve(bt_branch):
    lp = bt_branch.points("LP")[0]
    assert close(lp.params["b1"] - B1, 0.25)  # beta1 = beta2^2 / 4
    curve = continue_codim2(lp, ("b1", "b2"), {"b1": (B1 - 1, B1 + 1), "b2": (B2 - 1.5, B2 + 1.5)})
    assert curve.success, curve.message
    (bt,) = curve.points("BT")
    assert abs(bt.params["b1"] - B1) < TOL and abs(bt.params["b2"] - B2) < TOL
    np.testing.assert_allclose(bt.x, [XS, YS], atol=TOL)
    assert close(bt.data["a"], 1.0, 1e-5) and close(bt.data["b"], 1.0, 1e-5)
    b1, b2 = curve.params["b1"] - B1, curve.params["b2"] - B2
    np.testing.assert_allclose(b1, b2 ** 2 / 4, atol=1e-9)
    assert curve.points("CP") == []


def test_bogdanov_takens_on_hopf_curve(bt_branch):
    hb = bt_branch.points("HB")[0]
    assert abs(hb.params["b1"] - B1) < TOL
    curve = continue_codim2(hb, ("b1", "b2"), {"b1": (B1 - 1, B1 + 1), "b2": (B2 - 1.5, B2 + 1.5)})
    assert curve.success, curve.message
    assert [s.kind for s in curve.special_points] == ["BT"]
    bt = curve.points("BT")[0]
    assert abs(bt.params["b1"] - B1) < TOL and abs(bt.params["b2"] - B2) < TOL
    np.testing.assert_allclose(bt.x, [XS, YS], atol=TOL)
    # Hopf part (kappa = -beta2 > 0) and neutral saddles beyond BT (kappa < 0)
    kap = curve.data["kappa"]
    np.testing.assert_allclose(kap, -(curve.params["b2"] - B2), atol=1e-9)
    assert kap.min() < 0 < kap.max()
    np.testing.assert_allclose(curve.params["b1"], B1, atol=1e-9)


# ----------------------------------------------------------------------------- Bautin (GH)
def test_bautin_point():
    s1, s2, xs = 0.2, -0.3, np.array([0.3, -0.5])

    def f(x, p):
        b1, b2 = p[0] - s1, p[1] - s2
        a, b = x - xs
        r2 = a * a + b * b
        g = b2 * r2 - r2 * r2
        return np.array([b1 * a - b + g * a + 0.3 * a * a, a + b1 * b + g * b - 0.2 * a * b])

    sys = ODESystem(f, 2, {"b1": s1 - 0.5, "b2": s2 + 0.7})
    (hb,) = continue_equilibria(sys, xs, "b1", (s1 - 1, s1 + 1)).points("HB")
    # Guckenheimer–Holmes: a_GH = beta2 (the quadratic terms do not contribute); l1 = 2 a / w
    assert close(hb.data["l1"], 2 * 0.7, 1e-6)
    curve = continue_codim2(hb, ("b1", "b2"), {"b1": (s1 - 1, s1 + 1), "b2": (s2 - 1, s2 + 1)})
    (gh,) = curve.points("GH")
    assert abs(gh.params["b2"] - s2) < TOL and abs(gh.params["b1"] - s1) < TOL
    assert abs(gh.data["l1"]) < 1e-6
    assert [s.kind for s in curve.special_points] == ["GH"]


# ----------------------------------------------------------------------------- zero-Hopf
Z1, Z2, ZX = -0.4, 0.25, np.array([0.2, 0.1, -0.3])


def test_zero_hopf_on_fold_and_hopf_curves():
    def f(x, p):
        b1, b2 = p[0] - Z1, p[1] - Z2
        u, v, w = x - ZX
        return np.array([b1 + u * u + (v * v + w * w), b2 * v - 2 * w + u * v,
                         2 * v + b2 * w + u * w])

    sys = ODESystem(f, 3, {"b1": Z1 - 0.25, "b2": Z2 + 0.3})
    br = continue_equilibria(sys, ZX + [0.5, 0, 0], "b1", (Z1 - 1, Z1 + 1))
    # equilibria u = +-sqrt(-beta1): fold at beta1 = 0, Hopf where beta2 + u = 0
    assert sorted(s.kind for s in br.special_points) == ["HB", "LP"]
    hb = br.points("HB")[0]
    assert close(hb.params["b1"] - Z1, -0.09)
    bnds = {"b1": (Z1 - 1, Z1 + 1), "b2": (Z2 - 1, Z2 + 1)}
    for start in (br.points("LP")[0], hb):
        curve = continue_codim2(start, ("b1", "b2"), bnds)
        assert curve.success, curve.message
        zh = curve.points("ZH")
        assert len(zh) == 1, curve.special_points
        assert abs(zh[0].params["b1"] - Z1) < TOL and abs(zh[0].params["b2"] - Z2) < TOL
        np.testing.assert_allclose(zh[0].x, ZX, atol=TOL)
        assert close(zh[0].data["omega"], 2.0)
        assert curve.points("GH") == []  # l1 passes through a pole at ZH, not a zero


# ----------------------------------------------------------------------------- double Hopf
def test_double_hopf():
    h1, h2, xs = 0.15, -0.35, np.array([0.5, -0.2, 0.1, 0.3])
    w1, w2 = 1.0, 1.7

    def f(x, p):
        b1, b2 = p[0] - h1, p[1] - h2
        a1, c1, a2, c2 = x - xs
        r1, r2 = a1 * a1 + c1 * c1, a2 * a2 + c2 * c2
        g1 = b1 - r1 - 0.5 * r2
        g2 = b2 - 0.7 * r1 - r2
        return np.array([g1 * a1 - w1 * c1, w1 * a1 + g1 * c1 + 0.1 * a1 * a2,
                         g2 * a2 - w2 * c2, w2 * a2 + g2 * c2])

    sys = ODESystem(f, 4, {"b1": h1 - 0.3, "b2": h2 - 0.4})
    (hb,) = continue_equilibria(sys, xs, "b1", (h1 - 1, h1 + 1)).points("HB")
    assert abs(hb.params["b1"] - h1) < TOL and close(hb.data["omega"], w1)
    curve = continue_codim2(hb, ("b1", "b2"), {"b1": (h1 - 1, h1 + 1), "b2": (h2 - 1, h2 + 1)})
    assert curve.success, curve.message
    (hh,) = curve.points("HH")
    assert abs(hh.params["b2"] - h2) < TOL and abs(hh.params["b1"] - h1) < TOL
    assert close(hh.data["omega2"], w2) and close(hh.data["omega1"], w1)


# ----------------------------------------------------------------------------- second method
def test_cstr_cusp_against_fsolve():
    """CSTR (Uppal–Ray–Poore): cusp on the fold curve in (Da, B) vs. fsolve on G = G' = G'' = 0.

    Eliminating x1 = (1 + beta) x2 / B reduces the equilibria to the scalar
    G(x2) = -c x2 + Da (1 - c x2) exp(x2), c = (1 + beta) / B: folds where G = G' = 0, the cusp
    where also G'' = 0.
    """
    beta = 2.0

    def f(x, p):
        Da, B = p
        r = Da * (1 - x[0]) * np.exp(x[1])
        return np.array([-x[0] + r, -x[1] + B * r - beta * x[1]])

    sys = ODESystem(f, 2, {"Da": 0.05, "B": 14.0})
    x0 = fsolve(lambda x: f(x, [0.05, 14.0]), [0.05, 0.2])
    br = continue_equilibria(sys, x0, "Da", (0.05, 0.3), ds_max=0.05)
    lp = br.points("LP")[0]
    curve = continue_codim2(lp, ("Da", "B"), {"Da": (0.01, 0.5), "B": (2.0, 20.0)})
    cps = curve.points("CP")
    assert len(cps) == 1, curve

    def g(z):
        x2, Da, B = z
        c = (1 + beta) / B
        e = Da * np.exp(x2)
        return [-c * x2 + e * (1 - c * x2), -c + e * (1 - c * x2 - c), e * (1 - c * x2 - 2 * c)]

    cp = cps[0]
    z = fsolve(g, [cp.x[1] * 1.01, cp.params["Da"] * 1.01, cp.params["B"] * 0.99], xtol=1e-14)
    assert np.max(np.abs(g(z))) < 1e-12
    assert close(cp.params["B"], z[2]) and close(cp.params["Da"], z[1])
    assert close(cp.x[1], z[0])


# ----------------------------------------------------------------------------- errors
def test_codim2_bad_input(bt_branch):
    lp = bt_branch.points("LP")[0]
    with pytest.raises(ParameterError, match="bounds has no entry"):
        continue_codim2(lp, ("b1", "b2"), {"b1": (-1, 1)})
    with pytest.raises(ParameterError, match="outside the bounds"):
        continue_codim2(lp, ("b1", "b2"), {"b1": (2, 3), "b2": (-3, 3)})
    with pytest.raises(ParameterError, match="two different"):
        continue_codim2(lp, ("b1", "b1"), {"b1": (-1, 1)})
