"""`snnreduce switching` on a synthetic two-assembly trajectory with known switching rates."""

import json

import numpy as np

from case_studies.cli.main import main
from simulate.trajectory import Trajectory


def _two_assembly_trajectory(rates_per_ms, t_end, seed):
    """Assemblies alternate high (40 Hz) / low (5 Hz) activity; dwell ~ Exp(rate of state)."""
    rng = np.random.default_rng(seed)
    dt = 0.1
    t = np.arange(0.0, t_end, dt)
    state = np.empty(len(t), int)
    s, t_next = 0, rng.exponential(1 / rates_per_ms[0])
    for i, ti in enumerate(t):
        while ti >= t_next:
            s = 1 - s
            t_next += rng.exponential(1 / rates_per_ms[s])
        state[i] = s
    n = 150
    hi, lo = 0.040, 0.005  # spikes per ms per neuron
    r1 = np.where(state == 0, hi, lo)
    r2 = np.where(state == 0, lo, hi)
    arrays = {
        "rate/t": t,
        "rate/E1": rng.poisson(n * r1 * dt),
        "rate/E2": rng.poisson(n * r2 * dt),
        "rate/I": rng.poisson(100 * 0.05 * dt, len(t)),
    }
    traj = Trajectory("synthetic", {}, seed, ["E1", "E2", "I"], {"E1": n, "E2": n, "I": 100},
                      t_end, arrays, {"rate_dt": dt})
    return traj, t, state


def test_switching_cli_recovers_rates(tmp_path, capsys):
    rates = (1 / 400.0, 1 / 250.0)  # per ms: mean dwells 400 and 250 ms
    path = tmp_path / "run.h5"
    traj, t, state = _two_assembly_trajectory(rates, 60000.0, seed=4)
    traj.save(path)
    from bifurcation.switching import dwell_times

    true_dwells = dwell_times(state, t)  # this realisation's own dwell times
    fig = tmp_path / "sw.png"
    assert main(["switching", str(path), "--json", "--figure", str(fig), "--t-burn", "0",
                 "--smooth-ms", "20", "--step-ms", "5", "--min-dwell-ms", "0"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert fig.exists()
    # state 0 = lower E1-E2 difference = assembly 2 active (true state 1) and vice versa
    true_rate = {"0": 1000 * rates[1], "1": 1000 * rates[0]}
    for s in ("0", "1"):
        st = out["states"][s]
        lo, hi = st["rate_ci_per_s"]
        # the 20-ms smoothing hides visits shorter than ~10 ms: P = 1 - exp(-10/250) = 4 % of
        # the visits of the shorter state (2.5 % of the longer), each merging two visits of
        # the other state; budget 10 % on top of the exact interval for that bias.
        assert lo / 1.10 <= true_rate[s] <= hi * 1.10, (s, st, true_rate[s])
        # against the realisation itself (no sampling error): the same 10 % bias budget
        realised = true_dwells[1 - int(s)].mean()
        assert abs(st["mean_dwell_ms"] / realised - 1) < 0.10, (st, realised)
        # ~92 complete visits per state in 60 s (Poisson spread +-10)
        assert st["switches"] >= 65
