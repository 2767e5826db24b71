"""Figure: cycle branches of the Markov approximation over p_ei with the brute-force Δm diagram.

Reads ``benchmarks/results/ma_cycles_<tag>.json`` (branches written by ``ma_cycles.py``; every
point carries the E-rate peak heights of its orbit over one period) and
``benchmarks/results/ma_cycles_sweep.json`` (``ma_cycles_sweep.py``), and draws

* top: period vs p_ei (stable solid, unstable dashed; PD, LPC, NS points marked);
* bottom: Δm = successive differences of E-rate peak heights. Sweep: every Δm of the
  integrated ODE after its transient (grey dots). Continuation: for each orbit the cyclic
  differences ``m_{i+1} − m_i`` of its peaks within one period (a period-1 orbit with one
  peak gives Δm = 0; an orbit with two unequal peaks per period — the period-2 MFE pattern —
  gives ±|Δm|), stable solid, unstable dashed.

Run: ``python benchmarks/ma_cycles_figure.py hb [--logs run.log ...]
[--out docs/figures/cycles_ma_pei.png]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
STYLE = {"PD": ("s", "C3"), "LPC": ("o", "C2"), "NS": ("^", "C4")}


def _segments(x, y, stable):
    """Split a curve into runs of equal stability: [(x, y, stable)]."""
    out, start = [], 0
    for i in range(1, len(x) + 1):
        if i == len(x) or stable[i] != stable[start]:
            lo = max(start - 1, 0)
            out.append((x[lo:i], y[lo:i], bool(stable[start])))
            start = i
    return out


def parse_log(path):
    """Branch rows and special points from the progress log of ``ma_cycles.py``
    (``#k p=… T=… mu=[…]`` lines; stability from the two leading nontrivial multipliers), for
    runs stopped before they wrote their JSON. No peak heights: the Δm panel then shows the
    branch only if it is known to have one peak per period (``one_peak``)."""
    import re

    rows, specials = [], []
    num = r"[-+]?\d*\.?\d+(?:e[-+]?\d+)?"
    for line in Path(path).read_text().splitlines():
        m = re.search(r"#(\d+) p=(\S+) T=(\S+) .*mu=\[(.*)\] triv", line)
        if not m:
            continue
        mus = [complex(z.replace(" ", "")) for z in
               re.findall(rf"{num}\s*[-+]\s*{num}j|{num}(?![\d.j])", m.group(4))]
        p, T = float(m.group(2)), float(m.group(3))
        rows.append({"p_ei": p, "T": T, "stable": all(abs(z) < 1 for z in mus)})
        for kind, val in re.findall(r"(PD|LPC|NS)@(\S+)", line):
            specials.append({"kind": kind, "p_ei": float(val), "T": T})
    return {"branch": rows, "specials": specials}


def cyclic_dm(peaks):
    """Cyclic successive differences of the peaks of one period (empty for no peaks)."""
    p = np.asarray(peaks, float)
    if p.size < 2:
        return np.zeros(min(p.size, 1))
    return np.roll(p, -1) - p


def draw(tags, out, sweep="ma_cycles_sweep.json", logs=(), one_peak=()):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 8), sharex=True)
    sw = RESULTS / sweep
    if sw.exists():
        s = json.loads(sw.read_text())
        for p, dm in zip(s["p_ei"], s["dm_hz"]):
            ax2.plot(np.full(len(dm), p), dm, ".", color="0.55", ms=3, zorder=1)
        ax2.plot([], [], ".", color="0.55", label="ODE integrated (sweep)")
    sources = [(t, json.loads((RESULTS / f"ma_cycles_{t}.json").read_text())) for t in tags]
    sources += [(Path(lg).stem, parse_log(lg)) for lg in logs]
    for j, (tag, d) in enumerate(sources):
        rows = d["branch"]
        p = np.array([r["p_ei"] for r in rows])
        T = np.array([r["T"] for r in rows])
        st = np.array([r["stable"] for r in rows])
        col = f"C{j}"
        for xs, ys, stb in _segments(p, T, st):
            ax1.plot(xs, ys, "-" if stb else "--", color=col, lw=1.5)
        ax1.plot([], [], "-", color=col, label=f"branch '{tag}' (solid: stable)")
        # Δm of the orbits: one curve per cyclic difference index (as many as peaks)
        if "peaks_hz" not in rows[0] and tag not in one_peak:
            continue
        dms = [cyclic_dm(r["peaks_hz"]) if isinstance(r.get("peaks_hz", 0), list)
               else np.zeros(1) for r in rows]
        kmax = max(len(v) for v in dms)
        for k in range(kmax):
            y = np.array([v[k] if k < len(v) else np.nan for v in dms])
            for xs, ys, stb in _segments(p, y, st):
                ax2.plot(xs, ys, "-" if stb else "--", color=col, lw=1.3, zorder=2)
    for _, d in sources:
        for sp in d["specials"]:
            m, c = STYLE.get(sp["kind"], ("x", "k"))
            ax1.plot(sp["p_ei"], sp["T"], m, color=c, mfc="none", ms=8)
            ax2.axvline(sp["p_ei"], color=c, lw=0.6, ls=":")
    for k, (m, c) in STYLE.items():
        ax1.plot([], [], m, color=c, mfc="none", label=k)
    ax1.set_ylabel("period (ms)")
    ax1.legend(fontsize=8, loc="best")
    ax2.set_ylabel("Δm, E-rate peak differences (Hz)")
    ax2.set_xlabel("p_EI")
    ax2.legend(fontsize=8, loc="best")
    fig.suptitle("Markov approximation (148 states, ε = 1e-3): cycles over p_EI")
    fig.tight_layout()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("tags", nargs="*")
    ap.add_argument("--logs", nargs="*", default=[], help="progress logs of unfinished runs")
    ap.add_argument("--one-peak", nargs="*", default=[],
                    help="log stems whose orbits have one E-rate peak per period (Δm = 0)")
    ap.add_argument("--out", default=str(Path(__file__).parents[1] / "docs" / "figures"
                                          / "cycles_ma_pei.png"))
    ap.add_argument("--sweep", default="ma_cycles_sweep.json")
    a = ap.parse_args(argv)
    print(draw(a.tags, a.out, a.sweep, a.logs, a.one_peak))


if __name__ == "__main__":
    main()
