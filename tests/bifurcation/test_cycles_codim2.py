"""Period doubling in closed form, branch switching onto the doubled branch, LPC and PD curves.

References: cycle_problems.pd_system (PD on a + b = 1, doubled orbit |v| = sqrt(a + b − 1),
period 2T, supercritical) and the Hopf normal form with quintic term (LPC curve
β = −σ²/4, r² = σ/2). Both closed forms.
"""

import numpy as np
import pytest

from bifurcation import SpecialPoint
from bifurcation.cycles import continue_cycle_codim2, continue_cycles, mesh_check
from simulate.validation import ParameterError

from .cycle_problems import SHIFT, circle_guess, hopf_system, pd_system


class _Holder:
    def __init__(self, system):
        self.system = system


@pytest.fixture(scope="module")
def pd_branch():
    s, off = pd_system()
    T = 2 * np.pi / 1.3
    br = continue_cycles(circle_guess(s, off, 1.0, 1.3), "a", (0.3, 0.9), ntst=12,
                         max_points=60, direction="forward")
    return s, off, T, br


def test_pd_closed_form_location_and_criticality(pd_branch):
    s, off, T, br = pd_branch
    pd = br.points("PD")
    assert len(pd) == 1
    assert pd[0].params["a"] == pytest.approx(0.5, abs=1e-8)
    assert pd[0].data["period"] == pytest.approx(T, rel=1e-8)
    assert pd[0].data["criticality"] == "supercritical"
    mu = pd[0].data["multipliers"]
    assert np.min(np.abs(mu + 1)) < 1e-8
    assert np.min(np.abs(mu - np.exp(-T))) < 1e-6  # the decaying z direction
    assert mesh_check(pd[0], 0).passed


def test_pd_branch_switching_closed_form(pd_branch):
    s, off, T, br = pd_branch
    pd = br.points("PD")[0]
    br2 = continue_cycles(pd, "a", (0.3, 0.9), max_points=20)
    lam1 = br2.params["a"] + 0.5 - 1.0
    assert np.all(lam1 > 0)
    assert np.allclose(br2.periods, 2 * T, rtol=1e-8)
    for sol, l1 in zip(br2.solutions, lam1):
        assert np.allclose(np.hypot(*(sol.U[:, 2:4] - off[2:4]).T), np.sqrt(l1), atol=1e-7)
    assert br2.stable.all()
    assert mesh_check(br2, len(br2) - 1).passed


def test_pd_curve_closed_form(pd_branch):
    s, off, T, br = pd_branch
    pd = br.points("PD")[0]
    cur = continue_cycle_codim2(pd, ("a", "b"), {"a": (0.0, 1.0), "b": (0.0, 1.0)},
                                max_points=30, ds=0.05)
    assert cur.kind == "PD-curve" and cur.param == ("a", "b")
    assert len(cur) > 8
    assert np.max(np.abs(cur.params["a"] + cur.params["b"] - 1.0)) < 1e-8
    assert cur.params["a"].min() < 0.2 and cur.params["a"].max() > 0.8  # both directions
    assert cur.data["defining_multiplier_distance"].max() < 1e-8
    assert np.allclose(cur.periods, T, rtol=1e-8)
    assert [e.reason for e in cur.endpoints] == ["bound", "bound"]


def test_lpc_curve_closed_form():
    sigma, omega = 0.8, 1.5
    hs = hopf_system(beta=0.0, omega=omega, sigma=sigma)
    hb = SpecialPoint("HB", dict(hs.params), SHIFT.copy(),
                      {"omega": omega, "l1": 2 * sigma / omega}, _Holder(hs))
    br = continue_cycles(hb, "beta", (-1.0, 0.5), ntst=10, max_points=80)
    lpc = br.points("LPC")[0]
    cur = continue_cycle_codim2(lpc, ("beta", "sigma"), {"beta": (-1.0, 0.0),
                                                          "sigma": (0.2, 1.5)},
                                max_points=40, ds=0.05)
    assert cur.kind == "LPC-curve"
    assert np.max(np.abs(cur.params["beta"] + cur.params["sigma"] ** 2 / 4)) < 1e-8
    assert cur.params["sigma"].min() < 0.3 and cur.params["sigma"].max() > 1.3
    for sol, sg in zip(cur.solutions, cur.params["sigma"]):
        assert np.allclose(np.hypot(*(sol.U - SHIFT).T), np.sqrt(sg / 2), atol=1e-7)
    # the same through the package-level entry point of design.md
    import bifurcation

    cur2 = bifurcation.continue_codim2(lpc, params=("beta", "sigma"),
                                       bounds={"beta": (-1.0, 0.0), "sigma": (0.2, 1.5)},
                                       max_points=5, ds=0.05)
    assert cur2.kind == "LPC-curve"
    assert np.max(np.abs(cur2.params["beta"] + cur2.params["sigma"] ** 2 / 4)) < 1e-8
    with pytest.raises(ParameterError, match="bounds"):
        continue_cycle_codim2(lpc, ("beta", "sigma"), {"beta": (-1.0, 0.0)})
    with pytest.raises(ParameterError, match="two different"):
        continue_cycle_codim2(lpc, ("beta", "beta"), {"beta": (-1.0, 0.0)})


def test_ns_curve_closed_form():
    """NS example: NS on β = c/γ (γ = 1), angle θ = 2π ω2/ω1 all along the curve."""
    from .cycle_problems import ns_system

    s, off = ns_system()
    br = continue_cycles(circle_guess(s, off, np.sqrt(0.3), 1.0), "beta", (0.2, 0.8), ntst=10,
                         max_points=60, direction="forward")
    ns = br.points("NS")[0]
    cur = continue_cycle_codim2(ns, ("beta", "c"), {"beta": (0.2, 1.0), "c": (0.2, 1.0)},
                                max_points=30, ds=0.05)
    assert cur.kind == "NS-curve"
    assert np.max(np.abs(cur.params["beta"] - cur.params["c"])) < 1e-8
    assert cur.params["c"].min() < 0.35 and cur.params["c"].max() > 0.9
    assert np.allclose(cur.data["theta"], 0.37 * 2 * np.pi, atol=1e-7)
    assert cur.data["defining_multiplier_distance"].max() < 1e-7
