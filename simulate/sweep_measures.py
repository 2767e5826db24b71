"""Measures of population activity for brute-force sweeps (:mod:`bifurcation.sweeps`).

:func:`activity_measures` returns picklable measure functions built on
:mod:`simulate.observables`, applicable to anything with population activity (a network
trajectory, an ODE or map integration, a chain path):

- ``rate_<Q>``: mean rate of each population, Hz per neuron (after ``t_burn``);
- ``mfe_rate``: MFEs per second;
- ``peak_heights``: every MFE peak height (a cloud);
- ``delta_m``: every successive peak-height difference Δm (a cloud, the literature's
  period-1 vs period-2 diagram);
- ``gamma_peak_hz``: frequency of the spectral peak in the gamma band.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from . import observables as obs

__all__ = ["activity_measures"]


def _rate(result, pop, t_burn):
    return obs.firing_rates(result, t_burn=t_burn)[pop]


def _mfes(result, pop, t_burn):
    return obs.detect_mfes(result, pop=pop, t_burn=t_burn)


def _mfe_rate(result, pop, t_burn):
    return _mfes(result, pop, t_burn).rate_hz


def _heights(result, pop, t_burn):
    return np.asarray(_mfes(result, pop, t_burn).heights, float)


def _delta_m(result, pop, t_burn):
    return np.asarray(obs.peak_height_differences(_mfes(result, pop, t_burn)), float)


def _gamma(result, pop, t_burn):
    return obs.gamma_peak(obs.power_spectrum(result, pop=pop, t_burn=t_burn)).frequency_hz


def activity_measures(populations=("E", "I"), pop: str = "E", t_burn: float = 200.0) -> dict:
    """Measure functions for :func:`bifurcation.sweeps.brute_force_sweep`.

    Parameters
    ----------
    populations : sequence of str
        Populations whose mean rates are measured.
    pop : str
        Population whose MFEs and spectrum are measured.
    t_burn : float
        Discarded initial time, ms.
    """
    m = {f"rate_{q}": partial(_rate, pop=q, t_burn=t_burn) for q in populations}
    m["mfe_rate"] = partial(_mfe_rate, pop=pop, t_burn=t_burn)
    m["peak_heights"] = partial(_heights, pop=pop, t_burn=t_burn)
    m["delta_m"] = partial(_delta_m, pop=pop, t_burn=t_burn)
    m["gamma_peak_hz"] = partial(_gamma, pop=pop, t_burn=t_burn)
    return m
