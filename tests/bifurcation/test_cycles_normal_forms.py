"""Periodic normal forms of LPC, PD and NS points (bifurcation/cycles/normal_forms.py).

References, all independent of the normal-form code:
- PD example (cycle_problems.pd_system): in the frame rotating at half the cycle's speed the
  plane obeys w' = diag(λ1, −1) w − |w|² w, so along the normalised eigenfunction
  (∫_0^T |v|² dt = 1, |v| = 1/√T) ξ' = λ1 ξ − ξ³/T: c = −1/T exactly (supercritical), a = 0.
- Hopf normal form with amplitude-dependent frequency ż = (β + i(ω + b|z|²)) z + σ z|z|² −
  z|z|⁴ (shifted): fold of cycles at β = −σ²/4, r0² = σ/2, T = 2π/(ω + b r0²). Reduction of
  r' = r(β + σr² − r⁴), θ' = ω + br² to the Iooss form (dτ/dt = 1 − ξ gives
  ρ = r − r0 = −πξ/(b r0 T)): a = 2πσ/(bT), β_β = −σbT/(2π); along the branch
  β(T) = −σr² + r⁴ with r² = (2π/T − ω)/b, so d²β/dT² = 8π²/(b²T⁴) at the fold.
- NS example (cycle_problems.ns_system): the driven oscillator z2' = (γ|z1|² − c + iω2)z2 −
  |z2|²z2 with ∫_0^T |v|² dt = 1 gives dξ/dτ = iωξ − (2/T) ξ|ξ|²: d = −2/T, a1 = 0.
- Rössler PD (quadratic terms and h2 matter): the coefficient of the doubled branch measured by
  branch switching (start.pd_criticality, real doubled orbits solved at two small amplitudes),
  p − p_PD = c_b ε², and the slope μ'(p) of the period-1 multiplier at −1 from the branch give
  c = c_b μ'/T² (ξ = ε√T, ξ² = (1 + μ)/(Tc)); and the doubled branch is stable.
"""

import numpy as np
import pytest

from bifurcation import ODESystem
from bifurcation.cycles import OrbitGuess, continue_cycles
from bifurcation.cycles.normal_forms import lpc_normal_form, ns_normal_form, pd_normal_form

from .cycle_problems import SHIFT, circle_guess, ns_system, pd_system, rossler_system


def _pd_branch():
    s, off = pd_system()
    br = continue_cycles(circle_guess(s, off, 1.0, 1.3), "a", (0.3, 0.9), ntst=12,
                         max_points=60, direction="forward", pd_criticality=False)
    return s, 2 * np.pi / 1.3, br


def test_pd_coefficient_closed_form():
    s, T, br = _pd_branch()
    pd = br.points("PD")[0]
    nf = pd.data["normal_form"]  # computed during continuation
    assert nf["c"] == pytest.approx(-1.0 / T, rel=1e-8)
    assert abs(nf["a"]) < 1e-8
    assert pd.data["criticality"] == "supercritical"
    assert nf["kernel_residual"] < 1e-10
    # the same from the stored solution directly
    assert pd_normal_form(s, pd.data["solution"])["c"] == pytest.approx(nf["c"], rel=1e-12)


def _hopf_b_system(beta, omega, sigma, b):
    def f(x, p):
        be, w, sg, k = p
        y = x - SHIFT
        r2 = y @ y
        g = be + sg * r2 - r2 * r2
        om = w + k * r2
        return np.array([g * y[0] - om * y[1], om * y[0] + g * y[1]])

    return ODESystem(f, 2, {"beta": beta, "omega": omega, "sigma": sigma, "b": b},
                     name="hopf_b")


def test_lpc_coefficient_closed_form_and_branch_curvature():
    sigma, omega, b = 0.8, 1.5, 0.5
    s = _hopf_b_system(-0.1, omega, sigma, b)
    r = np.sqrt((sigma + np.sqrt(sigma**2 - 0.4)) / 2)
    guess = circle_guess(s, SHIFT, r, omega + b * r * r, n=80)
    # backward: the stable outer cycle to the fold, then the unstable inner one (stopped at
    # β = −0.05, before it shrinks into the Hopf point at β = 0)
    br = continue_cycles(guess, "beta", (-0.3, -0.05), ntst=20, max_points=60, ds_max=0.05,
                         direction="backward")
    lpc = br.points("LPC")
    assert len(lpc) == 1
    T = 2 * np.pi / (omega + b * sigma / 2)
    assert lpc[0].params["beta"] == pytest.approx(-sigma**2 / 4, abs=1e-8)
    nf = lpc[0].data["normal_form"]
    # B from second differences of f (no analytic Jacobian): O(h²) = O(1e-6) relative
    # truncation, observed 1.6e-5; tolerance 1e-4
    assert nf["a"] == pytest.approx(2 * np.pi * sigma / (b * T), rel=1e-4)
    assert nf["beta_p"] == pytest.approx(-sigma * b * T / (2 * np.pi), rel=1e-8)
    curv = 8 * np.pi**2 / (b**2 * T**4)
    assert nf["d2p_dT2"] == pytest.approx(curv, rel=1e-4)
    assert abs(nf["jordan_defect"]) < 1e-8
    assert lpc_normal_form(s, lpc[0].data["solution"])["a"] == pytest.approx(nf["a"], 1e-10)
    # second method: quartic fit of β(T_cyc) through the 7 branch points nearest the fold
    # (|T_cyc − T| ≤ 0.3); the neglected quintic term enters β'' as ≈ β^(5)ΔT³/60: < 1e-3
    # relative here. Tolerance 1 %.
    k = np.argsort(np.abs(br.periods - T))[:7]
    assert np.max(np.abs(br.periods[k] - T)) < 0.3
    fit = np.polyfit(br.periods[k] - T, br.params["beta"][k], 4)
    assert 2 * fit[-3] == pytest.approx(nf["d2p_dT2"], rel=1e-2)


def test_ns_coefficient_closed_form():
    s, off = ns_system()
    br = continue_cycles(circle_guess(s, off, np.sqrt(0.3), 1.0), "beta", (0.2, 0.8), ntst=10,
                         max_points=60, direction="forward")
    ns = br.points("NS")[0]
    nf = ns.data["normal_form"]
    T = 2 * np.pi
    assert nf["re_d"] == pytest.approx(-2.0 / T, rel=1e-7)
    assert abs(nf["d"].imag) < 1e-7 and abs(nf["a1"]) < 1e-8
    assert ns.data["criticality"] == "supercritical"
    assert ns_normal_form(s, ns.data["solution"])["re_d"] == pytest.approx(nf["re_d"], 1e-10)


def test_rossler_pd_coefficient_against_doubled_branch():
    s = rossler_system(2.5)
    g = OrbitGuess.from_simulation(s, [1.0, 1.0, 0.0], 300.0)
    br = continue_cycles(g, "c", (2.5, 3.2), ntst=40, max_points=60, direction="forward",
                         ds=0.05)
    pd = br.points("PD")[0]
    T = pd.data["period"]
    nf = pd.data["normal_form"]
    assert nf["kernel_residual"] < 1e-8
    # slope of the multiplier nearest −1 along the branch, quadratic fit through the four
    # branch points nearest the PD plus the PD itself (its multiplier is −1 to 1e-10)
    i = pd.index
    idx = [j for j in range(max(0, i - 1), min(len(br), i + 3))]
    cs = [br.params["c"][j] for j in idx] + [pd.params["c"]]
    mus = [br.multipliers[j][np.argmin(np.abs(br.multipliers[j] + 1))].real for j in idx] + [-1]
    fit = np.polyfit(np.array(cs) - pd.params["c"], mus, 2)
    dmu = fit[1]
    c_switch = pd.data["pd_coefficient"] * dmu / T**2
    # c_b is Richardson-extrapolated from ε = 1e-3, 2e-3 (relative to the orbit size), the
    # slope comes from points ≈ 0.05 apart: both good to ~1e-3; tolerance 1 %
    assert nf["c"] == pytest.approx(c_switch, rel=1e-2)
    assert nf["c"] < 0 and pd.data["criticality"] == "supercritical"
    assert pd.data["criticality_switch"] == "supercritical"
    # the doubled branch exists past the PD (where the period-1 cycle is unstable) and is
    # stable: what c < 0 predicts
    br2 = continue_cycles(pd, "c", (2.5, 3.2), max_points=6)
    assert np.all(br2.params["c"] > pd.params["c"])
    assert br2.stable[1:].all()
    assert not br.stable[i + 1]
