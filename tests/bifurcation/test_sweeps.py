"""Brute-force sweeps: measures, clouds and reproducibility across worker counts."""

import numpy as np
import pytest

from bifurcation.sweeps import SweepResult, brute_force_sweep, plot_sweep
from simulate.activity import PopulationActivity
from simulate.sweep_measures import activity_measures


def synthetic_mfe_run(value, seed):
    """MFEs every 20 ms on a flat background; heights alternate +-value around 30 spikes/ms.

    value = 0 gives a period-1 train (delta_m = 0); value > 0 a period-2 train with
    delta_m = +-2 value exactly (the 1-ms box smoothing of a 1-bin-wide, 1-ms-spaced pulse
    keeps the pulse height when the pulse fills whole 0.1 ms bins over 1 ms).
    """
    rng = np.random.default_rng(seed)
    dt, T = 0.1, 1200.0
    t = np.arange(0.0, T, dt)
    counts = rng.poisson(300 * 0.0002 * dt, len(t)).astype(float)  # 0.2 Hz background
    for k, t0 in enumerate(np.arange(210.0, T - 10, 20.0)):
        h = 30.0 + (value if k % 2 == 0 else -value)
        i = int(round(t0 / dt))
        counts[i:i + 10] += h * dt  # a 1-ms plateau of h spikes per ms
    return PopulationActivity(t, dt, {"E": counts}, {"E": 300})


def test_sweep_clouds_show_period_doubling_and_are_worker_independent():
    values = [0.0, 4.0]
    m = activity_measures(populations=("E",), pop="E", t_burn=200.0)
    res1 = brute_force_sweep(synthetic_mfe_run, "amp", values, m, repetitions=2, seed=5,
                             workers=1, progress=False)
    res2 = brute_force_sweep(synthetic_mfe_run, "amp", values, m, repetitions=2, seed=5,
                             workers=2, progress=False)
    assert not res1.errors
    for name in res1.scalars:
        np.testing.assert_array_equal(res1.scalars[name], res2.scalars[name])
    dm0, dm4 = res1.clouds["delta_m"]
    # background spikes in a 1-ms window: Poisson(0.06); a peak shifted by >= 3 spikes/ms has
    # probability 3.6e-5, so |delta_m - exact| <= 2 holds for all ~200 differences.
    assert np.max(np.abs(dm0)) <= 2.0
    np.testing.assert_allclose(np.abs(dm4), 8.0, atol=2.0)
    assert np.mean(np.abs(dm4)) > 4 * np.mean(np.abs(dm0)) + 4
    assert np.mean(res1.scalars["mfe_rate"][0]) == pytest.approx(50.0, rel=0.03)
    rows = res1.to_rows()
    assert {"param", "value", "rep", "measure", "number"} <= set(rows[0])


def _failing_run(value, seed):
    if value > 0.5:
        raise RuntimeError("boom")
    return value


def test_failed_points_are_reported_not_hidden():
    res = brute_force_sweep(_failing_run, "x", [0.0, 1.0], {"v": float}, workers=1,
                            progress=False)
    assert np.isnan(res.scalars["v"][1, 0]) and res.scalars["v"][0, 0] == 0.0
    assert any("boom" in e for e in res.errors)


def test_plot_sweep_overlays(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = SweepResult("p", np.array([0.0, 1.0]), clouds={"d": [np.array([1.0]),
                                                                 np.array([2.0, 3.0])]})
    fig, ax = plt.subplots()
    plot_sweep(res, "d", ax=ax)
    assert len(ax.collections[0].get_offsets()) == 3
    plt.close(fig)
