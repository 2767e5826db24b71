"""Continuation on the analytic Markov approximation (148 states), issue 3's MA checks (slow).

Checks that do not need published numbers: the branch covers p_ei in [0, 1] without leaving
it; every change of the stability flag between two points has a located HB point in that
interval (so stability is explained by the located bifurcations); located HB points have a
critical eigenvalue pair on the imaginary axis; the Hopf curve in (tau_ee, p_ei) passes through
the one-parameter Hopf point it started from and ends on the bounds.
"""

import numpy as np
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ma_system():
    simulate = pytest.importorskip("simulate")
    reduce = pytest.importorskip("reduce")

    ma = reduce.MarkovApproximation(simulate.MarkovIFNetwork())
    res = ma.equilibrium()  # raises unless Newton converged to max|f| <= 1e-10
    assert res.converged
    return ma.ode(), res.x


def _check_stability_explained(br, param):
    P = br.params[param]
    hb_idx = {sp.index for sp in br.points("HB")}
    for i in np.flatnonzero(br.stable[1:] != br.stable[:-1]):
        assert i in hb_idx, f"stability changes between {P[i]} and {P[i + 1]} without HB"
    for sp in br.points("HB"):
        lam = sp.data["eigenvalues"]
        assert np.min(np.abs(lam.real[np.abs(lam.imag) > 1e-6])) < 1e-6


def test_ma_branch_in_p_ei(ma_system):
    from bifurcation import continue_equilibria

    ode, x = ma_system
    br = continue_equilibria(ode, x, "p_ei", (0.0, 1.0))
    assert br.success, br.message
    assert br.params["p_ei"].min() == 0.0 and br.params["p_ei"].max() == 1.0
    assert np.all((br.params["p_ei"] >= 0) & (br.params["p_ei"] <= 1))
    _check_stability_explained(br, "p_ei")
    assert br.stable[0] and not br.stable[np.argmin(np.abs(br.params["p_ei"] - 0.8))]


def test_ma_hopf_in_tau_ee_and_hopf_curve(ma_system):
    from bifurcation import continue_codim2, continue_equilibria

    ode, x = ma_system
    br = continue_equilibria(ode, x, "tau_ee", (0.1, 20.0))
    assert br.success, br.message
    _check_stability_explained(br, "tau_ee")
    hb = max(br.points("HB"), key=lambda s: s.params["tau_ee"])  # where stability is lost
    assert br.stable[-1]
    # the MA rhs has a kink near the equilibrium (docs/continuation.md): larger fd_step
    curve = continue_codim2(hb, ("tau_ee", "p_ei"), {"tau_ee": (0.1, 20.0), "p_ei": (0, 1)},
                            max_points=150, fd_step=3e-3, newton_max_iter=12)
    assert curve.success, curve.message
    assert all(e.reason == "bound" for e in curve.endpoints)
    d = np.hypot(curve.params["tau_ee"] - hb.params["tau_ee"], curve.params["p_ei"] - 0.8)
    assert d.min() < 1e-8
    assert np.all(curve.data["kappa"] > 0)
