"""Equilibrium continuation against closed-form references (models.md §8) and a second method.

Every normal form is shifted (states and parameters offset by non-zero constants) so that a
solver returning its seed or zeros cannot pass. Tolerance 1e-6 (relative, absolute where the
reference is zero) as the issue requires; the located points are in fact refined to ~1e-10.
"""

import numpy as np
import pytest
from scipy.optimize import fsolve

from bifurcation import ODESystem, continue_equilibria
from bifurcation.equilibria import switch_branch
from simulate.validation import ParameterError

TOL = 1e-6


def close(a, b, tol=TOL):
    return abs(a - b) <= tol * max(1.0, abs(b))


# ----------------------------------------------------------------------------- systems
def brusselator():
    def f(x, p):
        A, B = p
        return np.array([A - (B + 1) * x[0] + x[0] ** 2 * x[1], B * x[0] - x[0] ** 2 * x[1]])

    return ODESystem(f, 2, {"A": 1.0, "B": 1.5}, name="brusselator")


XS = np.array([1.5, -2.0, 0.7])  # state shift
RS = 3.0  # parameter shift: rho = r - RS


def lorenz_shifted():
    def f(x, p):
        s, r, b = p
        rho = r - RS
        y = x - XS
        return np.array([s * (y[1] - y[0]), rho * y[0] - y[1] - y[0] * y[2],
                         y[0] * y[1] - b * y[2]])

    return ODESystem(f, 3, {"sigma": 10.0, "r": 0.5 + RS, "b": 8.0 / 3.0}, name="lorenz")


MU_S, LAM_S, X_S = 1.0, -4.0, 0.5  # the cusp at (mu, lam) = (1, -4), x = 0.5


def cusp_shifted(lam):
    def f(x, p):
        mu, la = p
        y = x[0] - X_S
        return np.array([(mu - MU_S) + (la - LAM_S) * y - y ** 3])

    def jac(x, p):
        return np.array([[(p[1] - LAM_S) - 3 * (x[0] - X_S) ** 2]])

    return ODESystem(f, 1, {"mu": MU_S + 0.0, "lam": LAM_S + lam}, jac=jac, name="cusp")


# ----------------------------------------------------------------------------- Brusselator
@pytest.mark.parametrize("A", [1.0, 1.5])
def test_brusselator_hopf_at_1_plus_A2(A):
    sys = brusselator().with_params(A=A, B=0.5 * (1 + A * A))
    br = continue_equilibria(sys, [A, 0.5 * (1 + A * A) / A], "B", (0.2, 5.0))
    assert br.success, br.message
    hb = br.points("HB")
    assert len(hb) == 1
    assert close(hb[0].params["B"], 1 + A * A)
    # omega^2 = det J = A^2 at the Hopf point
    assert close(hb[0].data["omega"], A)
    assert close(hb[0].data["period"], 2 * np.pi / A)
    # the equilibrium (A, B/A) everywhere on the branch: a check of the corrector
    np.testing.assert_allclose(br.states[:, 0], A, atol=1e-9)
    np.testing.assert_allclose(br.states[:, 1], br.params["B"] / A, atol=1e-9)
    # stability: stable exactly for B < 1 + A^2
    np.testing.assert_array_equal(br.stable, br.params["B"] < 1 + A * A)
    # q is the normalised critical eigenvector
    q, J = hb[0].data["q"], np.array([[A * A, A * A], [-1 - A * A, -A * A]])
    np.testing.assert_allclose(J @ q, 1j * A * q, atol=1e-8)
    assert abs(np.vdot(q, q) - 1) < 1e-12
    # endpoints: both bounds, exactly
    assert [e.reason for e in br.endpoints] == ["bound", "bound"]
    assert br.params["B"][0] == 0.2 and br.params["B"][-1] == 5.0
    assert np.all(np.diff(br.data["arclength"]) > 0)


# ----------------------------------------------------------------------------- Lorenz
def test_lorenz_pitchfork_and_no_hopf_at_neutral_saddle():
    sys = lorenz_shifted()
    br = continue_equilibria(sys, XS, "r", (RS + 0.0, RS + 30.0))
    assert br.success, br.message
    assert [sp.kind for sp in br.special_points] == ["BP"]
    assert close(br.points("BP")[0].params["r"] - RS, 1.0)
    # the neutral saddle at rho = 418/90: eigenvalues +-8/3 are there ...
    i = np.argmin(np.abs(br.params["r"] - RS - 418 / 90))
    assert np.any(np.abs(br.eigenvalues[i] - 8 / 3) < 0.1)
    # ... and the bialternate product (sum of pairs) changes sign there, yet no HB is reported
    pairs = br.data["test_hb_pairs"]
    r = br.params["r"] - RS
    sgn = np.sign(pairs)
    crossings = r[1:][sgn[1:] * sgn[:-1] < 0]
    assert np.any(np.abs(crossings - 418 / 90) < 0.2)
    assert br.points("HB") == []


def test_lorenz_hopf_subcritical_after_branch_switch():
    sys = lorenz_shifted()
    br = continue_equilibria(sys, XS, "r", (RS + 0.0, RS + 30.0))
    bp = br.points("BP")[0]
    other = switch_branch(bp)
    assert other.success, other.message
    hbs = other.points("HB")
    assert len(hbs) == 2  # on C+ and C- (symmetric)
    for hb in hbs:
        assert close(hb.params["r"] - RS, 470 / 19)
        # omega^2 = b (sigma + rho) at the Hopf point of C+-
        assert close(hb.data["omega"], np.sqrt(8 / 3 * (10 + 470 / 19)))
        assert hb.data["l1"] > 0  # subcritical
    # C+-: x = y = +-sqrt(b (rho - 1)), z = rho - 1
    rho = other.params["r"] - RS
    y = other.states - XS
    np.testing.assert_allclose(y[:, 2], rho - 1, atol=1e-8)
    np.testing.assert_allclose(y[:, 0] ** 2, 8 / 3 * (rho - 1), atol=1e-8)
    # no fold reported at the pitchfork tip (it is the branch point itself)
    assert other.points("LP") == []
    assert len(other.points("BP")) == 1


# ----------------------------------------------------------------------------- cusp folds
@pytest.mark.parametrize("lam", [3.0, 0.75])
def test_cusp_folds(lam):
    sys = cusp_shifted(lam)
    br = continue_equilibria(sys, [X_S + 2 * np.sqrt(lam)], "mu", (MU_S - 5, MU_S + 5))
    assert br.success, br.message
    lps = sorted(br.points("LP"), key=lambda s: s.params["mu"])
    assert len(lps) == 2
    mu_f = 2 * (lam / 3) ** 1.5
    assert close(lps[0].params["mu"] - MU_S, -mu_f)
    assert close(lps[1].params["mu"] - MU_S, mu_f)
    # fold states x = +-sqrt(lam/3); normal-form coefficient a = f''/2 = -3 y
    for lp, ys in zip(lps, (np.sqrt(lam / 3), -np.sqrt(lam / 3))):
        assert close(lp.x[0] - X_S, ys)
        assert close(lp.data["a"], -3 * ys, 1e-5)
    # middle branch unstable, outer ones stable
    y = br.states[:, 0] - X_S
    np.testing.assert_array_equal(br.stable[np.abs(y) > np.sqrt(lam / 3) + 1e-6],
                                  True)
    np.testing.assert_array_equal(br.stable[np.abs(y) < np.sqrt(lam / 3) - 1e-6],
                                  False)


# ----------------------------------------------------------------------------- l1 vs GH
def _gh_coefficient(w, F, G):
    """Guckenheimer–Holmes (3.4.11) coefficient a for x'=-w y+F, y'=w x+G (derivatives at 0)."""
    return (1 / 16) * (F["xxx"] + F["xyy"] + G["xxy"] + G["yyy"]) + 1 / (16 * w) * (
        F["xy"] * (F["xx"] + F["yy"]) - G["xy"] * (G["xx"] + G["yy"]) - F["xx"] * G["xx"]
        + F["yy"] * G["yy"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_first_lyapunov_matches_guckenheimer_holmes(seed):
    """l1 (|q| = 1 normalisation) = 2 a_GH / w, a second independent formula."""
    rng = np.random.default_rng(seed)
    w = 1.3
    c = rng.normal(size=14)
    xs = np.array([0.4, -1.1])
    ms = 0.25

    def nl(x, y, k):  # quadratic + cubic polynomial
        return (k[0] * x * x + k[1] * x * y + k[2] * y * y + k[3] * x ** 3
                + k[4] * x * x * y + k[5] * x * y * y + k[6] * y ** 3)

    def f(x, p):
        mu = p[0] - ms
        a, b = x - xs
        return np.array([mu * a - w * b + nl(a, b, c[:7]), w * a + mu * b + nl(a, b, c[7:])])

    F = {"xx": 2 * c[0], "xy": c[1], "yy": 2 * c[2], "xxx": 6 * c[3], "xyy": 2 * c[5]}
    G = {"xx": 2 * c[7], "xy": c[8], "yy": 2 * c[9], "xxy": 2 * c[11], "yyy": 6 * c[13]}
    sys = ODESystem(f, 2, {"mu": ms - 0.3})
    br = continue_equilibria(sys, xs, "mu", (ms - 0.5, ms + 0.5))
    hb = br.points("HB")
    assert len(hb) == 1
    assert abs(hb[0].params["mu"] - ms) < TOL
    ref = 2 * _gh_coefficient(w, F, G) / w
    assert abs(hb[0].data["l1"] - ref) <= 1e-5 * max(1, abs(ref))


# ----------------------------------------------------------------------------- BP switching
def test_transcritical_branch_switch():
    ps, xs = 0.7, -0.3

    def f(x, p):
        y = x[0] - xs
        return np.array([(p[0] - ps) * y - y * y])

    sys = ODESystem(f, 1, {"p": ps - 1.0})
    br = continue_equilibria(sys, [xs], "p", (ps - 1.0, ps + 1.0))
    bps = br.points("BP")
    assert len(bps) == 1 and close(bps[0].params["p"], ps)
    np.testing.assert_allclose(br.states[:, 0], xs, atol=1e-12)
    other = continue_equilibria(bps[0])  # a BP point switches branch
    assert other.success, other.message
    np.testing.assert_allclose(other.states[:, 0] - xs, other.params["p"] - ps, atol=1e-9)
    assert other.params["p"].min() == ps - 1.0 and other.params["p"].max() == ps + 1.0
    # exchange of stability: x = xs stable for p < ps, the other branch for p > ps
    np.testing.assert_array_equal(br.stable[br.params["p"] < ps - 1e-6], True)
    np.testing.assert_array_equal(other.stable[other.params["p"] > ps + 1e-6], True)


# ----------------------------------------------------------------------------- second method
def test_wilson_cowan_against_fsolve():
    """Wilson–Cowan (1972) E-I model: folds and Hopf in P checked by fsolve on the defining
    systems (f = 0, det J = 0) and (f = 0, tr J = 0)."""
    c1, c2, c3, c4 = 16.0, 12.0, 15.0, 3.0

    def S(z, a, th):
        return 1 / (1 + np.exp(-a * (z - th))) - 1 / (1 + np.exp(a * th))

    def f(x, p):
        E, I_ = x
        return np.array([-E + (1 - E) * S(c1 * E - c2 * I_ + p[0], 1.3, 4.0),
                         -I_ + (1 - I_) * S(c3 * E - c4 * I_ + p[1], 2.0, 3.7)])

    sys = ODESystem(f, 2, {"P": -1.0, "Q": 0.0}, state_names=["E", "I"])
    x0 = fsolve(lambda x: f(x, [-1.0, 0.0]), [0.0, 0.0])
    br = continue_equilibria(sys, x0, "P", (-1.0, 4.0), ds_max=0.05)
    assert br.success, br.message
    assert sorted(sp.kind for sp in br.special_points) == ["HB", "LP", "LP"]

    def jac(x, P):
        h = 1e-6
        cols = [(f(x + h * e, [P, 0.0]) - f(x - h * e, [P, 0.0])) / (2 * h) for e in np.eye(2)]
        return np.array(cols).T

    for sp in br.special_points:
        z0 = np.r_[sp.x, sp.params["P"]] + 1e-3
        if sp.kind == "HB":
            def g(z):
                return np.r_[f(z[:2], [z[2], 0.0]), np.trace(jac(z[:2], z[2]))]
        else:
            def g(z):
                return np.r_[f(z[:2], [z[2], 0.0]), np.linalg.det(jac(z[:2], z[2]))]
        z = fsolve(g, z0, xtol=1e-13)
        assert np.max(np.abs(g(z))) < 1e-9
        assert close(sp.params["P"], z[2])
        np.testing.assert_allclose(sp.x, z[:2], atol=TOL)


def test_chemical_saddle_node_against_fsolve():
    """Exothermic CSTR (Uppal–Ray–Poore): folds in the Damkohler number Da, checked by fsolve."""
    B, beta = 14.0, 2.0

    def f(x, p):
        x1, x2 = x
        Da = p[0]
        r = Da * (1 - x1) * np.exp(x2)
        return np.array([-x1 + r, -x2 + B * r - beta * x2])

    sys = ODESystem(f, 2, {"Da": 0.05})
    x0 = fsolve(lambda x: f(x, [0.05]), [0.05, 0.2])
    br = continue_equilibria(sys, x0, "Da", (0.05, 0.3), ds_max=0.05)
    lps = br.points("LP")
    assert len(lps) == 2

    def g(z):
        x, Da = z[:2], z[2]
        J = np.array([[-1 - Da * np.exp(x[1]), Da * (1 - x[0]) * np.exp(x[1])],
                      [-B * Da * np.exp(x[1]), -1 - beta + B * Da * (1 - x[0]) * np.exp(x[1])]])
        return np.r_[f(x, [Da]), np.linalg.det(J)]

    for lp in lps:
        z = fsolve(g, np.r_[lp.x, lp.params["Da"]] * 1.001, xtol=1e-13)
        assert close(lp.params["Da"], z[2])
        np.testing.assert_allclose(lp.x, z[:2], rtol=TOL, atol=TOL)


def test_van_der_pol_lienard_hopf():
    """Lienard form x' = y - (x^3/3 - mu x), y' = -x: Hopf at mu = 0 (shifted), l1 = 2a/w < 0."""
    ms = -0.6

    def f(x, p):
        mu = p[0] - ms
        return np.array([x[1] - (x[0] ** 3 / 3 - mu * x[0]), -x[0]])

    sys = ODESystem(f, 2, {"mu": ms - 0.5})
    br = continue_equilibria(sys, [0.0, 0.0], "mu", (ms - 0.5, ms + 0.5))
    (hb,) = br.points("HB")
    assert abs(hb.params["mu"] - ms) < TOL
    assert close(hb.data["omega"], 1.0)
    # y -> -Y gives x' = -Y + F, Y' = x with F = -x^3/3: a_GH = F_xxx/16 = -1/8, l1 = 2a/w
    assert abs(hb.data["l1"] - (-0.25)) < 1e-5


# ----------------------------------------------------------------------------- bounds
def test_probability_parameter_stays_in_unit_interval():
    def f(x, p):
        q = p[0]
        if not 0.0 <= q <= 1.0:
            raise AssertionError(f"q = {q!r} left [0, 1]")
        return np.array([q - x[0] - 0.3 * x[0] ** 3])

    sys = ODESystem(f, 1, {"q": 0.5})
    br = continue_equilibria(sys, [0.4], "q", (0.0, 1.0), ds_max=0.3)
    assert br.success
    assert br.params["q"].min() == 0.0 and br.params["q"].max() == 1.0


def test_start_on_bound_continues_inward():
    sys = brusselator().with_params(B=0.2)
    br = continue_equilibria(sys, [1.0, 0.2], "B", (0.2, 3.0))
    assert br.params["B"][0] == 0.2 and br.params["B"][-1] == 3.0
    assert np.all(np.diff(br.params["B"]) > 0)


def test_state_bound_stops_exactly():
    sys = brusselator()
    br = continue_equilibria(sys, [1.0, 1.5], "B", (0.5, 4.0), state_bounds={"x1": (0.0, 2.5)})
    assert br.endpoints[-1].reason == "bound"
    assert abs(br.states[-1, 1] - 2.5) < 1e-9
    assert "x1 = 2.5" in br.endpoints[-1].message


# ----------------------------------------------------------------------------- failures
def test_newton_failure_at_start_is_reported():
    sys = ODESystem(lambda x, p: np.array([1.0 + x[0] ** 2 + p[0] ** 2]), 1, {"a": 0.0})
    br = continue_equilibria(sys, [0.3], "a", (-1.0, 1.0))
    assert not br.success
    assert br.status in ("newton", "singular")
    assert "x0" in br.message and len(br) == 0


def test_nonfinite_rhs_is_reported():
    def f(x, p):
        return np.array([x[0] - p[0] if p[0] < 1.0 else np.nan])  # undefined for p >= 1

    sys = ODESystem(f, 1, {"p": 0.0})
    with np.errstate(all="ignore"):
        br = continue_equilibria(sys, [0.0], "p", (-1.0, 3.0), max_points=2000)
    assert not br.success
    assert br.endpoints[-1].reason in ("nonfinite", "newton", "min_step")
    assert "ds_min" in br.endpoints[-1].message
    assert br.params["p"].max() < 1.0


def test_max_points_is_a_regular_stop():
    br = continue_equilibria(brusselator(), [1.0, 1.5], "B", (0.5, 4.0), max_points=5, ds=0.01,
                             ds_max=0.01)
    assert br.success
    assert [e.reason for e in br.endpoints] == ["max_points", "max_points"]
    assert len(br) == 11


def test_bad_input_errors():
    sys = brusselator()
    with pytest.raises(ParameterError, match="B .*outside the valid range"):
        continue_equilibria(sys, [1.0, 1.5], "B", (2.0, 4.0))
    with pytest.raises(ParameterError, match="unknown continuation setting"):
        continue_equilibria(sys, [1.0, 1.5], "B", (0.0, 4.0), dss=0.1)
    with pytest.raises(ParameterError, match="not a parameter"):
        continue_equilibria(sys, [1.0, 1.5], "C", (0.0, 4.0))
    with pytest.raises(ParameterError, match="x0 has shape"):
        continue_equilibria(sys, [1.0], "B", (0.0, 4.0))
    with pytest.raises(ParameterError, match="ds_min"):
        continue_equilibria(sys, [1.0, 1.5], "B", (0.0, 4.0), ds_min=-1)
