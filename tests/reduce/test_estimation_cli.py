"""``snnreduce reduce fit``: files in, fitted model with provenance out."""

import json

import numpy as np

from case_studies.cli.main import main
from reduce.estimation import FittedMarkovModel
from reduce.estimation.synthetic import loglinear_generator, synthetic_trajectory


def _gen():
    a = np.full((3, 3), -np.inf)
    a[0, 1], a[1, 2], a[2, 0] = np.log([0.5, 0.8, 0.25])
    return loglinear_generator(a)


def test_reduce_fit_writes_model_with_provenance(tmp_path, capsys):
    paths = []
    for s in range(2):
        tr = synthetic_trajectory({"E": _gen()}, {"E": 30}, 60.0, seed=s)
        paths.append(str(tr.save(tmp_path / f"run{s}.h5")))
    out = tmp_path / "model.h5"
    rc = main(["reduce", "fit", *paths, "--features", "none", "--bootstrap", "4",
               "--block", "10", "--out", str(out), "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_transitions"] >= 3 and summary["bootstrap_samples"] == 4
    m = FittedMarkovModel.load(out)
    assert [t["file"] for t in m.provenance["trajectories"]] == paths
    assert m.provenance["settings"]["bootstrap"] == 4
    # the fitted rate 0 -> 1 is count / exposure over both files
    assert m.rate("E", 0, 1) > 0


def test_reduce_fit_rejects_trajectory_without_coarse_states(tmp_path, capsys):
    tr = synthetic_trajectory({"E": _gen()}, {"E": 5}, 5.0, seed=0)
    del tr.arrays["coarse"]
    path = tr.save(tmp_path / "nocoarse.h5")
    rc = main(["reduce", "fit", str(path), "--features", "none"])
    assert rc == 2
    assert "coarse" in capsys.readouterr().err


def test_reduce_fit_product_features_and_selection(tmp_path, capsys):
    tr = synthetic_trajectory({"E": _gen()}, {"E": 30}, 60.0, seed=3,
                              feature=lambda t: np.sin(t / 3.0))
    path = str(tr.save(tmp_path / "run.h5"))
    out = tmp_path / "model.h5"
    rc = main(["reduce", "fit", path, "--features", "kick_mean/EE,kick_mean/EE*kick_mean/EE",
               "--select", "cv", "--out", str(out), "--json"])
    assert rc == 0
    m = FittedMarkovModel.load(out)
    assert m.feature_names == ["kick_mean/EE", "kick_mean/EE*kick_mean/EE"]
    assert m.provenance["settings"]["select"] == "cv"
    assert m.provenance["feature_selection"]["n_columns"] == m.n_transitions
