"""MA: the PD of the period-1 branch located again from a simulated orbit (p_ei = 0.786), with its
periodic normal form and branch-switch criticality, then a few points of the doubled branch.

With ``--lpc``: the same start, 12 points forward with PD detection off, up to the fold of
cycles at p_ei ≈ 0.828 and its normal form (``ma_cycles_lpc_normal_form.json``).

Run: ``NUMBA_CACHE_DIR=/tmp/numba_cache OMP_NUM_THREADS=1 python
benchmarks/ma_cycles_pd_normal_form.py [--lpc]``; writes
``benchmarks/results/ma_cycles_pd_normal_form.json`` (or ``..._lpc_...``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
RESULTS = Path(__file__).parent / "results"


def main():
    lpc = "--lpc" in sys.argv[1:]
    OUT = RESULTS / ("ma_cycles_lpc_normal_form.json" if lpc else "ma_cycles_pd_normal_form.json")
    import ma_cycles as m

    from bifurcation.cycles import OrbitGuess, continue_cycles

    ma, ode = m.ma_system()
    p0 = 0.786
    c0 = time.process_time()
    res = ma.simulate(500.0, params={"p_ei": p0}, method="LSODA", rtol=1e-9, atol=1e-11,
                      dt_out=0.02)
    k = res.t > 400.0
    guess = OrbitGuess(ode, res.t[k], res.x[k][:, : ode.n_states], params={"p_ei": p0})
    if lpc:
        br = continue_cycles(guess, "p_ei", (0.5, 1.0), ntst=40, ds=0.1, ds_max=0.5,
                             max_points=12, direction="forward", detect=("LPC",),
                             pd_criticality=False)
    else:
        br = continue_cycles(guess, "p_ei", (0.5, 1.0), ntst=40, ds=0.05, ds_max=0.1,
                             max_points=3, direction="forward")
    out = {"cpu_s": time.process_time() - c0, "p": br.params["p_ei"].tolist(),
           "T": br.periods.tolist(), "specials": m.special_summary(br)}
    print(json.dumps(out), flush=True)
    OUT.write_text(json.dumps(out))
    pd = br.points("PD")
    if pd and not lpc:
        c0 = time.process_time()
        br2 = continue_cycles(pd[0], "p_ei", (0.5, 1.0), ds=0.05, ds_max=0.2, max_points=6)
        out["doubled"] = {"cpu_s": time.process_time() - c0, "rows": m.branch_summary(br2),
                          "specials": m.special_summary(br2),
                          "endpoints": [(e.reason, float(e.params["p_ei"]))
                                        for e in br2.endpoints]}
        print(json.dumps(out["doubled"]), flush=True)
        OUT.write_text(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
