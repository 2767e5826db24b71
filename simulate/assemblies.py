"""Features of competing assemblies for metastable-switching analysis.

:func:`assembly_rates` gives the box-smoothed rates of chosen populations (Hz per neuron) on a
coarser grid: the coarse population state whose clusters are the metastable states
(:func:`bifurcation.switching.metastable_states`). With two assemblies the difference
r_E1 − r_E2 is the natural one-dimensional order parameter.
"""

from __future__ import annotations

import numpy as np

from .activity import as_activity
from .validation import ParameterError, check_number

__all__ = ["assembly_rates"]


def assembly_rates(obj, pops=("E1", "E2"), smooth_ms: float = 50.0, step_ms: float = 10.0,
                   t_burn: float = 0.0):
    """Box-smoothed population rates sampled every ``step_ms``.

    Parameters
    ----------
    obj : Trajectory, PopulationActivity or integration/chain result
    pops : sequence of str
        Populations (default the two assemblies).
    smooth_ms : float
        Width of the box filter, ms (longer than an MFE cycle, shorter than a dwell).
    step_ms : float
        Spacing of the returned samples, ms.
    t_burn : float
        Discarded initial time, ms.

    Returns
    -------
    t : ndarray (T,)
        Window centres, ms.
    rates : ndarray (T, len(pops))
        Hz per neuron.
    """
    act = as_activity(obj).window(t_burn)
    check_number("smooth_ms", smooth_ms, act.dt, None)
    check_number("step_ms", step_ms, act.dt, None)
    missing = [q for q in pops if q not in act.counts]
    if missing:
        raise ParameterError(
            f"pops = {list(pops)}: populations {missing} are not in the activity "
            f"(it has {act.populations})"
        )
    w = max(1, int(round(smooth_ms / act.dt)))
    step = max(1, int(round(step_ms / act.dt)))
    if len(act.t) < w + step:
        raise ParameterError(
            f"the activity lasts {len(act.t) * act.dt:g} ms, shorter than smooth_ms + step_ms"
        )
    kernel = np.ones(w) / w
    cols = [np.convolve(act.rate_hz(q), kernel, mode="valid")[::step] for q in pops]
    t = (np.asarray(act.t)[: len(act.t) - w + 1] + 0.5 * w * act.dt)[::step]
    return t, np.column_stack(cols)
