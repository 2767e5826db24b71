"""Bifurcation diagrams with matplotlib: ``plot_branch``.

One-parameter diagrams (equilibria ``"EP"``, cycles ``"PO"``): the free parameter on the
horizontal axis, any state, output, parameter or data array on the vertical axis; stable parts
solid, unstable parts dashed; special points marked and labelled with their kind. For cycle
branches a state ``y`` is drawn as its maximum and minimum over the period (the envelope),
``y="period"`` and ``y="amplitude"`` as such.

Two-parameter curves (``"LP-curve"``, ``"HB-curve"``, ...): ``params[0]`` against
``params[1]`` by default, codimension-two points labelled; HB-curve parts with
``kappa < 0`` (neutral saddles, not Hopf points) dotted.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> ax = plot_branch(br, y="x0")          # doctest: +SKIP
>>> plot_branch(cyc, y="x0", ax=ax)       # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

__all__ = ["plot_branch"]

_COLORS = {"EP": "C0", "PO": "C1", "LP-curve": "C2", "HB-curve": "C3", "LPC-curve": "C4",
           "PD-curve": "C5", "NS-curve": "C6"}


def _series(branch, name):
    """(values, values_max_or_None) of a named quantity along the branch."""
    is_cycle = branch.kind == "PO" or hasattr(branch, "periods")
    if is_cycle and name in ("period", "periods"):
        return np.asarray(branch.periods), None
    if is_cycle and name == "amplitude":
        return np.asarray(branch.amplitude), None
    if is_cycle and name in branch.system.state_names and getattr(branch, "state_max",
                                                                   None) is not None \
            and np.size(branch.state_max):
        j = branch.system.state_names.index(name)
        return branch.state_min[:, j], branch.state_max[:, j]
    return branch.values(name), None


def _point_value(branch, sp, name):
    sysm = branch.system
    if name in sp.params:
        return sp.params[name]
    if name in sysm.state_names:
        return float(np.asarray(sp.x)[sysm.state_names.index(name)])
    if name in sysm.outputs:
        try:
            return float(sysm.outputs[name](np.asarray(sp.x, float), sysm.param_vector(
                **sp.params)))
        except Exception:  # noqa: BLE001 - a placeholder system after loading
            pass
    if name in ("period", "periods") and "period" in sp.data:
        return sp.data["period"]
    i = sp.index
    vals, _ = _series(branch, name)
    if 0 <= i < len(vals) - 1:
        return 0.5 * (vals[i] + vals[i + 1])
    return np.nan


def _default_y(branch):
    if branch.outputs:
        return next(iter(branch.outputs))
    return branch.system.state_names[0]


def _segments(mask):
    """Index ranges [a, b] (inclusive, overlapping by one point) of constant ``mask``."""
    out = []
    if len(mask) == 0:
        return out
    start = 0
    for i in range(1, len(mask)):
        if mask[i] != mask[start]:
            out.append((start, i, bool(mask[start])))
            start = i
    out.append((start, len(mask) - 1, bool(mask[start])))
    return out


def plot_branch(branch, y=None, x=None, ax=None, color=None, label=None, special=True,
                **line_kw):
    """Draw a branch; returns the matplotlib ``Axes``.

    Parameters
    ----------
    branch : Branch or CycleBranch
    y : str, optional
        Quantity on the vertical axis: a state name, output, parameter, or data array (for
        cycles also ``"period"``, ``"amplitude"``). Default: the first output, else the first
        state; for two-parameter curves the second free parameter.
    x : str, optional
        Horizontal axis; default the free parameter (the first of two).
    ax : matplotlib Axes, optional
        Axes to draw into (a new figure otherwise).
    color, label : optional
        Line colour and legend label.
    special : bool
        Mark and label special points (default True).
    **line_kw
        Passed to ``ax.plot``.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    two = isinstance(branch.param, (tuple, list))
    if x is None:
        x = branch.param[0] if two else branch.param
    if y is None:
        y = branch.param[1] if two else _default_y(branch)
    color = color or _COLORS.get(branch.kind, "k")
    xs, _ = _series(branch, x)
    ys, ys_max = _series(branch, y)
    if two:
        good = np.ones(len(xs), bool)
        if "kappa" in branch.data:
            good = np.asarray(branch.data["kappa"]) > 0
        for a, b, ok in _segments(good):
            ax.plot(xs[a:b + 1], ys[a:b + 1], color=color, ls="-" if ok else ":",
                    label=(label or branch.kind) if a == 0 else None, **line_kw)
    else:
        stable = np.asarray(branch.stable, bool)
        first = True
        for a, b, st in _segments(stable):
            ls = "-" if st else "--"
            for yy in ((ys,) if ys_max is None else (ys, ys_max)):
                ax.plot(xs[a:b + 1], yy[a:b + 1], color=color, ls=ls,
                        label=(label or branch.kind) if first else None, **line_kw)
                first = False
    if special:
        for sp in branch.special_points:
            px = _point_value(branch, sp, x)
            py = _point_value(branch, sp, y)
            if ys_max is not None and y in branch.system.state_names:
                py = float(np.asarray(sp.x)[branch.system.state_names.index(y)])
            if not (np.isfinite(px) and np.isfinite(py)):
                continue
            ax.plot([px], [py], "o", color="k", ms=4, zorder=5)
            ax.annotate(sp.kind, (px, py), textcoords="offset points", xytext=(4, 4),
                        fontsize=8)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    return ax
