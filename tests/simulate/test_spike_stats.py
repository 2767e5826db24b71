"""ISI CV and per-neuron rate observables (simulate.spike_stats) vs closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulate.spike_stats import isi_cv, rate_distribution, summary_stats
from simulate.validation import ParameterError


def test_regular_and_known_trains():
    t = np.array([0.0, 10.0, 20.0, 30.0, 1.0, 2.0, 5.0])
    i = np.array([0, 0, 0, 0, 1, 1, 1])
    cv = isi_cv((t, i, {"E": 2, "I": 1}), t_start=0.0, t_stop=50.0)
    assert cv["E"][0] == 0.0
    # ISIs 1, 3: mean 2, std 1 -> CV 0.5
    assert cv["E"][1] == pytest.approx(0.5)
    assert np.isnan(cv["I"][0])
    r = rate_distribution((t, i, {"E": 2, "I": 1}), t_start=0.0, t_stop=50.0)
    np.testing.assert_allclose(r["E"], [80.0, 60.0])
    assert r["I"][0] == 0.0


def test_poisson_trains_have_cv_one():
    """Poisson trains: CV -> 1; per-neuron CV estimate SE ~ 1/sqrt(m) for m intervals."""
    rng = np.random.default_rng(0)
    n, m = 200, 400
    isi = rng.exponential(5.0, (n, m))
    t = np.cumsum(isi, axis=1)
    ids = np.repeat(np.arange(n), m)
    cv = isi_cv((t.ravel(), ids, n), t_start=0.0, t_stop=t.max() + 1)["all"]
    assert abs(np.mean(cv) - 1.0) < 4 / math.sqrt(n * m) + 1.5 / m  # small-sample bias O(1/m)
    s = summary_stats((t.ravel(), ids, n), t_start=0.0, t_stop=t.max() + 1)
    assert s["all"]["n_cv"] == n


def test_errors():
    with pytest.raises(ParameterError, match="t_stop"):
        isi_cv((np.zeros(2), np.zeros(2, int), 1))
    with pytest.raises(ParameterError, match="ids"):
        rate_distribution((np.zeros(2), np.array([0, 5]), 2), 0.0, 1.0)
    with pytest.raises(ParameterError, match="min_spikes"):
        isi_cv((np.zeros(2), np.zeros(2, int), 1), 0.0, 1.0, min_spikes=1)
    with pytest.raises(ParameterError, match="cannot read spikes"):
        isi_cv([1, 2, 3])
