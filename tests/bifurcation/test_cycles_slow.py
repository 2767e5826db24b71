"""Long checks of cycle continuation (run with ``pytest -m slow``).

- Rössler (a = b = 0.2): the first two period doublings by continuation (period-1 branch,
  then the doubled branch) against the Poincaré return map integrated directly (fixed point of
  P resp. P∘P by Newton, eigenvalue −1 by the secant method; no collocation involved).
- Every point of the fast tests' branches passes the mesh check.
"""

import numpy as np
import pytest

from bifurcation import ODESystem
from bifurcation.cycles import OrbitGuess, continue_cycles, mesh_check

from .cycle_problems import (
    SHIFT,
    hopf_radius,
    hopf_system,
    ns_system,
    rossler_pd_reference,
    rossler_system,
    snic,
    vdp_system,
)

pytestmark = pytest.mark.slow


def test_rossler_cascade_against_poincare_map():
    s = rossler_system(2.5)
    g = OrbitGuess.from_simulation(s, [1.0, 1.0, 0.0], 300.0)
    br = continue_cycles(g, "c", (2.5, 4.0), ntst=40, max_points=80, direction="forward",
                         ds=0.05)
    pd1 = br.points("PD")[0]
    ref1 = rossler_pd_reference()
    assert pd1.params["c"] == pytest.approx(ref1, abs=1e-4)
    br2 = continue_cycles(pd1, "c", (2.5, 4.0), max_points=80, ds=0.05)
    pd2 = br2.points("PD")[0]
    ref2 = rossler_pd_reference(3.7, 3.95, iterate=2)
    assert pd2.params["c"] == pytest.approx(ref2, abs=1e-4)
    for sp in (pd1, pd2):
        chk = mesh_check(sp, 0)
        assert chk.passed, chk.message
    for b in (br, br2):
        for i in range(len(b)):
            chk = mesh_check(b, i)
            assert chk.passed, (i, chk.message)


@pytest.mark.parametrize("case", ["hopf", "vdp", "snic", "ns"])
def test_every_point_passes_mesh_check(case):
    if case == "hopf":
        sys_ = hopf_system(beta=0.5, omega=2.0, sigma=-1.0)
        r = hopf_radius(0.5, -1.0)
        t = np.linspace(0, np.pi, 101)
        x = SHIFT + np.column_stack([r * np.cos(2 * t), r * np.sin(2 * t)])
        br = continue_cycles(OrbitGuess(sys_, t, x), "beta", (0.05, 2.0), ntst=10,
                             max_points=60)
    elif case == "vdp":
        s = vdp_system(1.0)
        g = OrbitGuess.from_simulation(s, [2.0, 0.0], 60.0)
        br = continue_cycles(g, "mu", (0.5, 3.0), ntst=30, max_points=40, ds=0.1)
    elif case == "snic":
        sn = ODESystem(snic, 2, {"mu": 1.5})
        g = OrbitGuess.from_simulation(sn, [1.0, 0.0], 60.0)
        br = continue_cycles(g, "mu", (1.0, 3.0), ntst=30, max_points=150,
                             direction="backward", period_max=30.0)
    else:
        s, off = ns_system()
        t = np.linspace(0, 2 * np.pi, 101)
        x = np.tile(off, (len(t), 1))
        x[:, 0] += np.sqrt(0.3) * np.cos(t)
        x[:, 1] += np.sqrt(0.3) * np.sin(t)
        br = continue_cycles(OrbitGuess(s, t, x), "beta", (0.2, 0.8), ntst=10, max_points=60,
                             direction="forward")
    bad = []
    for i in range(len(br)):
        chk = mesh_check(br, i)
        if not chk.passed:
            bad.append((i, chk.message))
    assert not bad, bad


def test_markov_approximation_cycle_from_hopf_passes_mesh_check():
    """MA (148 states, ε = 1e-3): the cycle born at the supercritical Hopf point p_ei ≈ 0.50324.

    References: the period at the start equals 2π/ω of the equilibrium Jacobian's critical
    pair (the start is at small amplitude; the period changes by O(amplitude²), observed 1e-4
    relative at ds = 0.1: tolerance 2e-3); the cycle is stable with a multiplier that leaves 1
    as p_ei grows (supercritical: l1 < 0); mesh check (NTST = 40 vs 80 and single shooting of
    the integrated ODE with LSODA) at the last point. A few minutes of CPU (42 min of wall time
    at load 22, partly at low priority).
    """
    import reduce
    import simulate
    from bifurcation import continue_equilibria

    ma = reduce.MarkovApproximation(simulate.MarkovIFNetwork(p_ei=0.52), eps=1e-3)
    ode = ma.ode()
    st = ma.equilibrium(method="LSODA", rtol=1e-6, atol=1e-8)
    eq = continue_equilibria(ode, st.x, "p_ei", (0.49, 0.52), ds=0.005, ds_max=0.005)
    hb = eq.points("HB")
    assert len(hb) == 1 and hb[0].params["p_ei"] == pytest.approx(0.50324, abs=1e-4)
    lam = np.linalg.eigvals(ode.jacobian(hb[0].x, ode.param_vector(**hb[0].params)))
    omega = np.max(np.abs(lam[np.abs(lam.real) < 1e-6].imag))
    br = continue_cycles(hb[0], "p_ei", (0.5, 1.0), ntst=40, ds=0.1, max_points=5)
    assert br.periods[0] == pytest.approx(2 * np.pi / omega, rel=2e-3)
    assert np.all(np.diff(br.params["p_ei"]) > 0) and br.stable.all()
    lead = np.array([np.sort(np.abs(m))[-2] for m in br.multipliers])  # largest: trivial
    assert np.all(np.diff(lead) < 0)
    chk = mesh_check(br, len(br) - 1, shooting_method="LSODA")
    assert chk.passed, chk.message
