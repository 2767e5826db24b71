"""Contract of design.md "Branches and special points" for cycles, on the Brusselator.

Reference: Brusselator x' = A − (B+1)x + x²y, y' = Bx − x²y has its Hopf point at B = 1 + A²
with ω = A (models.md §8); near it the cycle's period is 2π/ω.
"""

import numpy as np
import pytest

import bifurcation
from bifurcation import CycleBranch, SpecialPoint


def brusselator(x, p):
    A, B = p
    return np.array([A - (B + 1) * x[0] + x[0] ** 2 * x[1], B * x[0] - x[0] ** 2 * x[1]])


def _check_cycle_branch(cyc, system):
    assert isinstance(cyc, CycleBranch) and cyc.kind == "PO"
    assert cyc.system is system and cyc.param == "B"
    N, n = len(cyc), system.n_states
    assert N > 5
    assert cyc.states.shape == (N, n)
    assert cyc.periods.shape == (N,)
    assert cyc.multipliers.shape == (N, n) and cyc.multipliers.dtype == complex
    assert cyc.state_min.shape == (N, n) and cyc.state_max.shape == (N, n)
    assert cyc.amplitude.shape == (N,)
    assert np.allclose(cyc.amplitude, np.max(cyc.state_max - cyc.state_min, axis=1))
    assert set(cyc.params) == {"A", "B"} and cyc.params["B"].shape == (N,)
    assert cyc.stable.shape == (N,)
    assert len(cyc.endpoints) == 2
    t, x = cyc.orbit(N - 1)
    assert t[-1] == pytest.approx(cyc.periods[-1]) and x.shape == (len(t), n)
    assert np.all((cyc.params["B"] >= 0.0) & (cyc.params["B"] <= 4.0))
    # born at the Hopf point with period 2π/ω = 2π
    assert cyc.periods[0] == pytest.approx(2 * np.pi, rel=1e-3)
    # stable cycles (supercritical Hopf), period grows with B
    assert cyc.stable.all()
    assert np.all(np.diff(cyc.periods) > 0)
    chk = bifurcation.cycles.mesh_check(cyc, N - 1)
    assert chk.passed, chk.message


def test_continue_cycles_from_constructed_hopf_point():
    system = bifurcation.ODESystem(brusselator, n_states=2, params={"A": 1.0, "B": 2.0})

    class _B:
        pass

    holder = _B()
    holder.system = system
    hopf_point = SpecialPoint("HB", {"A": 1.0, "B": 2.0}, np.array([1.0, 2.0]),
                              {"omega": 1.0, "l1": -0.5}, holder)
    cyc = bifurcation.continue_cycles(hopf_point, param="B", bounds=(0.0, 4.0))
    _check_cycle_branch(cyc, system)
    assert cyc.endpoints[-1].reason == "bound"
    assert cyc.params["B"][-1] == pytest.approx(4.0, abs=1e-12)


def test_continue_cycles_from_continue_equilibria():
    system = bifurcation.ODESystem(brusselator, n_states=2, params={"A": 1.0, "B": 1.5})
    br = bifurcation.continue_equilibria(system, np.array([1.0, 1.5]), param="B",
                                         bounds=(0.0, 4.0))
    hopf_point = br.points("HB")[0]
    assert hopf_point.params["B"] == pytest.approx(2.0, abs=1e-8)
    cyc = bifurcation.continue_cycles(hopf_point, param="B", bounds=(0.0, 4.0))
    _check_cycle_branch(cyc, system)
    # the normal-form prediction of the first parameter step is right to O(ε⁴)
    hs = cyc.data["hopf_start"]
    assert hs["dmu"] == pytest.approx(hs["dmu_predicted"], rel=1e-3)


def test_orbit_guess_and_codim2_are_exported():
    assert bifurcation.OrbitGuess is bifurcation.cycles.OrbitGuess
    assert callable(bifurcation.cycles.continue_cycle_codim2)
