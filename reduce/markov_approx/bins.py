"""Voltage-bin layouts of the Markov approximation (models.md §2).

A layout is a strictly increasing array of edges ``e_0 < e_1 < ... < e_K`` with ``e_0 = -M_r``
(the inhibitory reversal, the lowest voltage a neuron can have) and ``e_K = M`` (threshold).
Bin ``k`` is ``[e_k, e_{k+1})``, its centre ``c_k = (e_k + e_{k+1}) / 2``. Neurons re-enter at
the reset voltage ``V_reset = 0`` into the bin that contains it (the *reset bin*).

The published layout (released code of the MA paper): bins of width ΔV = 4 covering
[-40, 100], the lowest widened to [-M_r, -36) = [-66, -36): 35 bins at the defaults.
Any other layout (a few coarse bins, base/gate-style) is allowed as long as it reaches both
ends of the voltage range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulate.validation import ParameterError

__all__ = ["BinLayout", "default_edges", "make_layout"]


def default_edges(M: float = 100.0, M_r: float = 66.0, width: float = 4.0,
                  lo: float = -40.0) -> np.ndarray:
    """Edges of the published layout: width-``width`` bins from ``lo`` to ``M``, lowest widened.

    The grid points ``lo + width * i`` (``i >= 1``) strictly inside ``(-M_r, M)`` are interior
    edges; ``-M_r`` and ``M`` close the range, so the lowest bin is ``[-M_r, lo + width)``.

    >>> e = default_edges()
    >>> len(e) - 1, e[:3].tolist(), e[-2:].tolist()
    (35, [-66.0, -36.0, -32.0], [96.0, 100.0])
    """
    if not (width > 0 and np.isfinite(width)):
        raise ParameterError(f"bin width = {width!r} is outside the valid range (0, inf)")
    n = int(np.floor((M - lo) / width + 1e-9))
    grid = lo + width * np.arange(1, n + 1)
    grid = grid[(grid > -M_r + 1e-12) & (grid < M - 1e-12)]
    return np.concatenate([[-float(M_r)], grid, [float(M)]]).astype(np.float64)


@dataclass(frozen=True)
class BinLayout:
    """A validated voltage-bin layout.

    Attributes
    ----------
    edges : ndarray (K + 1,)
        Bin edges, ``edges[0] = -M_r``, ``edges[-1] = M``.
    M, M_r : float
        Threshold and inhibitory reversal.
    v_reset : float
        Re-entry voltage after the refractory period (0).
    """

    edges: np.ndarray
    M: float
    M_r: float
    v_reset: float = 0.0

    @property
    def n_bins(self) -> int:
        return len(self.edges) - 1

    @property
    def centres(self) -> np.ndarray:
        return 0.5 * (self.edges[1:] + self.edges[:-1])

    @property
    def widths(self) -> np.ndarray:
        return np.diff(self.edges)

    @property
    def reset_bin(self) -> int:
        """Index of the bin ``[e_k, e_{k+1})`` that contains the reset voltage."""
        return int(np.searchsorted(self.edges, self.v_reset, side="right") - 1)

    def __repr__(self) -> str:
        return (f"BinLayout(K={self.n_bins}, range=[{self.edges[0]:g}, {self.edges[-1]:g}], "
                f"reset_bin={self.reset_bin})")


def make_layout(bins, M: float, M_r: float, v_reset: float = 0.0) -> BinLayout:
    """Build and validate a :class:`BinLayout`.

    Parameters
    ----------
    bins : None, float, array_like or BinLayout
        ``None``: the published layout (width 4, lowest bin widened); a number: the published
        construction with that bin width; an array: explicit edges, which must start at
        ``-M_r`` and end at ``M``.
    M, M_r : float
        Threshold and reversal of the network.

    Raises
    ------
    ParameterError
        Edges not strictly increasing, not finite, fewer than 2 bins, not reaching ``-M_r`` or
        ``M``, or a reset voltage outside the range.
    """
    if isinstance(bins, BinLayout):
        edges = bins.edges
    elif bins is None:
        edges = default_edges(M, M_r)
    elif np.ndim(bins) == 0:
        edges = default_edges(M, M_r, width=float(bins))
    else:
        edges = np.asarray(bins, dtype=np.float64).ravel()
    edges = np.array(edges, dtype=np.float64)
    if edges.size < 3:
        raise ParameterError(
            f"bins has {edges.size} edges; the valid range is at least 3 edges (2 bins) from "
            f"-M_r = {-M_r:g} to M = {M:g}")
    if not np.all(np.isfinite(edges)):
        raise ParameterError("bins: every edge must be finite")
    if np.any(np.diff(edges) <= 0):
        i = int(np.flatnonzero(np.diff(edges) <= 0)[0])
        raise ParameterError(
            f"bins: edges must be strictly increasing, but edges[{i}] = {edges[i]:g} >= "
            f"edges[{i + 1}] = {edges[i + 1]:g}")
    tol = 1e-9 * max(1.0, abs(M), abs(M_r))
    if abs(edges[0] + M_r) > tol:
        raise ParameterError(
            f"bins: lowest edge = {edges[0]:g} must equal -M_r = {-M_r:g} (the layout must "
            f"reach the inhibitory reversal so that no mass leaves the voltage range)")
    if abs(edges[-1] - M) > tol:
        raise ParameterError(
            f"bins: highest edge = {edges[-1]:g} must equal the threshold M = {M:g}")
    edges[0], edges[-1] = -float(M_r), float(M)
    if not (edges[0] <= v_reset < edges[-1]):
        raise ParameterError(
            f"v_reset = {v_reset:g} is outside the voltage range [{edges[0]:g}, {edges[-1]:g})")
    return BinLayout(edges=edges, M=float(M), M_r=float(M_r), v_reset=float(v_reset))
