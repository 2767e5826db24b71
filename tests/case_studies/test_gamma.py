"""The gamma case: degrades clearly when a capability is missing; end to end (slow)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from case_studies import framework as fw
from case_studies import gamma
from simulate.activity import PopulationActivity


def _fake_network_task(task):
    """Synthetic activity with a 50-Hz modulated rate (E 20 Hz, I 40 Hz): no numba, fast."""
    p, p_ei, seed = task
    rng = np.random.default_rng(seed % 2**32)
    dt = 0.1
    t = np.arange(int(p["t_end"] / dt)) * dt
    mod = 1 + 0.8 * np.sin(2 * np.pi * 50.0 * t * 1e-3)
    counts = {"E": rng.poisson(300 * 0.020 * dt * mod), "I": rng.poisson(100 * 0.040 * dt * mod)}
    act = PopulationActivity(t, dt, counts, {"E": 300, "I": 100})
    return {"p_ei": float(p_ei), "seed": seed,
            "rates_hz": act.mean_rates_hz(p["t_burn"]), "activity": act, "meta": {}}


def test_missing_reduction_is_skipped_with_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(gamma, "_simulate_task", _fake_network_task)
    real_require = fw.RunContext.require

    def require(self, module, attr=None):
        if module in ("reduce", "bifurcation"):
            raise fw.StepSkipped(f"capability {module}.{attr} is not available in this build")
        return real_require(self, module, attr)

    monkeypatch.setattr(fw.RunContext, "require", require)
    rep = fw.run_case("gamma", tmp_path, quick=True, progress=False, log=lambda m: None)
    steps = {s["name"]: s for s in rep["steps"]}
    assert steps["simulate"]["status"] == "done"
    assert steps["reduce"]["status"] == "skipped"
    assert "reduce.MarkovApproximation" in steps["reduce"]["reason"]
    assert steps["continue"]["status"] == "skipped"
    assert steps["analyse"]["status"] == "done" and steps["figures"]["status"] == "done"
    checks = {c["name"]: c for c in rep["checks"]}
    assert checks["ma-rate-E"]["status"] == "skipped"
    assert "reduce" in checks["ma-rate-E"]["reason"]
    assert checks["ma-rates-sweep"]["reason"].startswith("--quick")
    # the synthetic network: I above E, peak at the 50-Hz modulation (5-Hz resolution)
    assert checks["network-rates"]["pass"] is True
    assert checks["network-gamma-peak"]["value"] == pytest.approx(50.0, abs=2.5)
    assert rep["status"] == "incomplete"
    names = {f["name"] for f in rep["figures"]}
    assert {"timeseries", "spectra", "rates_vs_p_ei"} <= names
    assert "bifurcation" not in names           # nothing to draw, nothing faked
    assert json.loads((tmp_path / "report.json").read_text())["status"] == "incomplete"


def _brusselator(x, p):
    A, B = p
    return np.array([A - (B + 1) * x[0] + x[0] ** 2 * x[1], B * x[0] - x[0] ** 2 * x[1]])


def test_cycles_start_from_the_stored_hopf_point():
    """The cycles step starts from the HB data the continue step stored (pickled), not from a
    second equilibrium continuation: same first cycle as from the live HB point, and the
    Brusselator's closed form (HB at B = 1 + A², ω = A; period 2π/ω at the start)."""
    import pickle

    import bifurcation

    A = 1.5
    system = bifurcation.ODESystem(_brusselator, n_states=2, params={"A": A, "B": 2.0})
    br = bifurcation.continue_equilibria(system, np.array([A, 2.0 / A]), "B", (2.0, 4.0),
                                         ds=0.05, ds_max=0.2)
    (hb,) = br.points("HB")
    assert hb.params["B"] == pytest.approx(1 + A**2, abs=1e-7)
    rec = pickle.loads(pickle.dumps(gamma._hopf_record(hb, "B")))
    assert rec["omega"] == pytest.approx(A, rel=1e-7) and rec["q"].shape == (2,)
    stored = gamma._hopf_point(system, rec)
    assert stored.system is system and stored.kind == "HB"
    kw = {"ntst": 20, "max_points": 3, "ds": 0.05}
    a = bifurcation.continue_cycles(stored, "B", (2.0, 4.0), **kw)
    b = bifurcation.continue_cycles(hb, "B", (2.0, 4.0), **kw)
    assert a.periods[0] == pytest.approx(2 * np.pi / A, rel=1e-3)
    np.testing.assert_allclose(a.periods, b.periods, rtol=1e-12)
    np.testing.assert_allclose(a.params["B"], b.params["B"], rtol=1e-12)


@pytest.mark.slow
def test_gamma_quick_end_to_end(tmp_path):
    """The documented quick run (minutes of CPU; several times that on a loaded machine)."""
    rep = fw.run_case("gamma", tmp_path, quick=True, progress=False, log=lambda m: None)
    steps = {s["name"]: s for s in rep["steps"]}
    assert all(s["status"] != "failed" for s in steps.values()), steps
    assert steps["simulate"]["status"] in ("done", "cached")
    checks = {c["name"]: c for c in rep["checks"]}
    assert checks["network-rates"]["pass"] is True
    for c in checks.values():
        assert c["status"] in ("pass", "skipped"), c
