"""All solutions of a scalar self-consistency ν = Φ(ν): bracketing scan + Brent refinement.

The mean-field theories of this package reduce, for one population (or two identical ones),
to a scalar equation ``h(ν) = Φ(ν) − ν = 0`` on ``[0, ν_max]`` with ``Φ`` smooth. We evaluate
``h`` on a grid that is logarithmic at low rates and linear at high rates (so that both a
quiescent solution at 1e−6 Hz and a saturated one near 1/τ_rp are bracketed), refine every
sign change with Brent's method, and classify each root by the slope of the rate dynamics
``τ dν/dt = −ν + Φ(ν)``: stable when ``Φ'(ν) < 1``. Two roots closer than the grid spacing
(a fold about to happen) can be missed; the result says how fine the grid was.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

__all__ = ["FixedPoints", "find_all_roots", "scan_grid"]


@dataclass(frozen=True)
class FixedPoints:
    """Solutions of a self-consistency equation.

    Attributes
    ----------
    rates_hz : ndarray
        Every solution found, ascending (Hz per neuron).
    stable : ndarray of bool
        Stability under the rate dynamics ``τ dν/dt = −ν + Φ(ν)`` (``Φ'(ν) < 1``).
    slopes : ndarray
        ``Φ'(ν)`` at each solution.
    extra : dict
        Theory-specific values at each solution (``"cv"``, ``"mu"``, ``"sigma"``, ``"tau"``...).
    status : str
        ``"ok"`` or ``"no solution"``.
    message : str
        What was done (grid size) or why nothing was found.
    """

    rates_hz: np.ndarray
    stable: np.ndarray
    slopes: np.ndarray
    extra: dict = field(default_factory=dict)
    status: str = "ok"
    message: str = ""

    @property
    def success(self) -> bool:
        return self.status == "ok" and self.rates_hz.size > 0

    @property
    def n(self) -> int:
        return int(self.rates_hz.size)

    def selected_index(self) -> int:
        """Index of the solution a theory reports: the lowest stable one, or the lowest
        solution (index 0) when none is stable."""
        return int(np.argmax(self.stable)) if np.any(self.stable) else 0

    def lowest_stable(self) -> float:
        """The lowest stable rate (Hz), or ``None`` if no solution is stable."""
        s = self.rates_hz[self.stable]
        return float(s[0]) if s.size else None


def scan_grid(nu_max, n_log=120, n_lin=80, nu_min=1e-6):
    """Grid on [0, nu_max]: 0, log-spaced from nu_min to nu_max/10, then linear."""
    nu_max = float(nu_max)
    lo = np.geomspace(nu_min, 0.1 * nu_max, n_log, endpoint=False)
    hi = np.linspace(0.1 * nu_max, nu_max, n_lin)
    return np.concatenate([[0.0], lo, hi])


def find_all_roots(h_vec, h_scalar, grid, xtol=1e-13, rtol=1e-12):
    """Roots of ``h`` bracketed on ``grid``.

    Parameters
    ----------
    h_vec : callable
        ``h_vec(grid) -> ndarray`` (vectorised, usually compiled).
    h_scalar : callable
        ``h_scalar(x) -> float``, used by Brent's method.
    grid : ndarray
        Increasing scan points.

    Returns
    -------
    ndarray
        Roots in increasing order (exact zeros on the grid included once).
    """
    hv = np.asarray(h_vec(grid), dtype=np.float64)
    if not np.all(np.isfinite(hv)):
        raise FloatingPointError("self-consistency function is not finite on the scan grid")
    roots = []
    for i in range(grid.size - 1):
        h0, h1 = hv[i], hv[i + 1]
        if h0 == 0.0:
            roots.append(grid[i])
        elif h0 * h1 < 0.0:
            roots.append(brentq(h_scalar, grid[i], grid[i + 1], xtol=xtol, rtol=rtol))
    if hv[-1] == 0.0:
        roots.append(grid[-1])
    return np.array(roots, dtype=np.float64)
