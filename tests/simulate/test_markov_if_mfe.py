"""At the MA defaults the network shows gamma-band multiple-firing events (models.md §1).

Reference behaviour (models.md §2, qualitative): E and I rates of a few tens of Hz with I
above E, MFEs recurring at roughly 40–80 Hz. Chance level of the spike synchrony index for
independent Poisson neurons at rate r: (1 + (N−1)(1 − e^{−2wr}))/N ≈ 0.05 here (w = 0.5 ms);
synchronous MFEs must put it several times higher.
"""

import math

import pytest

import simulate
from simulate import observables as obs


@pytest.mark.parametrize("method", ["fixed-step", "exact"])
def test_defaults_show_gamma_band_mfes(method):
    tr = simulate.MarkovIFNetwork(method=method).run(t_end=2000.0, seed=4, progress=False)
    rates = tr.rates_hz
    assert 10.0 < rates["E"] < rates["I"] < 150.0
    act = tr.activity()
    ssi = obs.spike_synchrony_index(act, "E", t_burn=200.0)
    r = rates["E"] / 1000.0
    chance = (1 + 299 * (1 - math.exp(-2 * 0.5 * r))) / 300
    assert ssi > 3 * chance, (ssi, chance)
    mfes = obs.detect_mfes(act, "E", t_burn=200.0)
    assert 30.0 < mfes.rate_hz < 90.0, mfes.rate_hz
    peak = obs.gamma_peak(obs.power_spectrum(act, "E", t_burn=200.0))
    assert 30.0 <= peak.frequency_hz <= 90.0, peak.frequency_hz
