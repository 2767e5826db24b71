"""`snnreduce switching` on a synthetic two-assembly trajectory with known switching rates."""

import json

import numpy as np

from case_studies.cli.main import main
from simulate.trajectory import Trajectory


def _two_assembly_trajectory(rates_per_ms, t_end, seed):
    """Assemblies alternate high (40 Hz) / low (5 Hz) activity; dwell ~ Exp(rate of state)."""
    from bifurcation.switching import telegraph

    rng = np.random.default_rng(seed)
    dt = 0.1
    t, state, _ = telegraph(rates_per_ms, t_end, dt, seed=seed + 1)
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
    # Detection limit: the 20-ms box moves the smoothed difference d/20 of the way for a visit
    # of length d < 20 ms; entering the other core (radius 0.25 x centre distance, core 0.5)
    # needs 75 %, so visits shorter than ~15 ms are hidden: f_s = 1 - exp(-15 rate_s) of the
    # visits of state s (3.7 % and 5.8 %). Every hidden visit of either state removes one
    # visit from each state's count, so both mean dwells are biased up by
    # b = 1 / (1 - f_0 - f_1) = 1.105. The number of hidden visits is Poisson,
    # (f_0 + f_1) * ~93 visits ~ 9 +- 3: a 4-sd band of 4 * 3 / 93 = 13 % around b.
    f = 1 - np.exp(-15.0 * np.asarray(rates))
    b = 1 / (1 - f.sum())
    n_vis = 60000.0 / (1 / rates[0] + 1 / rates[1])
    band = 4 * np.sqrt(f.sum() * n_vis) / n_vis
    for s in ("0", "1"):
        st = out["states"][s]
        lo, hi = st["rate_ci_per_s"]
        assert lo / (1 + band) <= true_rate[s] / b <= hi * (1 + band), (s, st, true_rate[s])
        # against the realisation itself (no sampling error): the same bias and band
        realised = true_dwells[1 - int(s)].mean()
        assert abs(st["mean_dwell_ms"] / (b * realised) - 1) < band, (st, realised)
        # ~92 complete visits per state in 60 s (Poisson spread +-10), minus ~9 hidden
        assert st["switches"] >= 60


def test_switching_cli_gpcca_matches_core_sets(tmp_path, capsys):
    rates = (1 / 400.0, 1 / 250.0)
    path = tmp_path / "run.h5"
    traj, t, state = _two_assembly_trajectory(rates, 30000.0, seed=6)
    traj.save(path)
    common = ["switching", str(path), "--json", "--t-burn", "0", "--smooth-ms", "20",
              "--step-ms", "5"]
    out = {}
    for m in ("core-sets", "gpcca"):
        assert main(common + ["--method", m, "--n-micro", "20"]) == 0
        out[m] = json.loads(capsys.readouterr().out)
    g = out["gpcca"]["gpcca"][0]
    assert g["crispness"] > 0.8
    for s in ("0", "1"):
        a, b = out["core-sets"]["states"][s], out["gpcca"]["states"][s]
        # the same trajectory: the two labelings differ only near switches, so the numbers
        # of complete visits agree closely (a visit differs only when one method misses a
        # short excursion the other counts; a few per 45 visits)
        assert abs(a["switches"] - b["switches"]) <= 5, (a, b)
        # the microstate chain's MFPT out of set s is the set's mean dwell: within the
        # 95 % interval of the dwell estimate widened by the 10 % detection bias
        lo, hi = b["mean_dwell_ci_ms"]
        mf = g["mfpt_ms"][int(s)][1 - int(s)]
        assert lo / 1.2 <= mf <= hi * 1.2, (s, mf, b)
