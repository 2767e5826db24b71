"""``snnreduce simulate markov-if``: the command of the issue, its file and JSON summary."""

import json

import numpy as np

from case_studies.cli.main import main
from simulate import Trajectory


def test_cli_simulate_markov_if(tmp_path, capsys):
    out = tmp_path / "run.h5"
    code = main(["simulate", "markov-if", "--set", "p_ei=0.8", "--t-end", "300", "--seed", "1",
                 "--out", str(out), "--json", "--no-progress"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["seed"] == 1 and summary["t_end"] == 300.0
    assert set(summary["rates_hz"]) == {"E", "I"}
    assert summary["params"]["p_ei"] == 0.8 and summary["meta"]["method"] == "fixed-step"
    traj = Trajectory.load(out)
    assert traj.model == "markov-if" and traj.seed == 1
    assert traj.rates_hz == summary["rates_hz"]
    assert "spikes/t" in traj and "samples/hist/E" in traj
    # the same run from Python gives the same numbers
    import simulate
    again = simulate.MarkovIFNetwork(p_ei=0.8).run(t_end=300.0, seed=1, progress=False)
    assert np.array_equal(again["spikes/t"], traj["spikes/t"])


def test_cli_exact_method_and_bad_input(tmp_path, capsys):
    code = main(["simulate", "markov-if", "--set", "method=exact", "--t-end", "50",
                 "--no-progress", "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["meta"]["method"] == "exact"
    code = main(["simulate", "markov-if", "--set", "p_ei=1.5", "--t-end", "50"])
    assert code == 2
    assert "p_ei" in capsys.readouterr().err
    code = main(["simulate", "markov-if", "--t-end", "50", "--out",
                 str(tmp_path / "missing" / "run.h5")])
    assert code == 2
    assert not (tmp_path / "missing").exists()
