"""`snnreduce attractors` on a user's own module (tests/case_studies/fixtures_bistable.py)."""

import json

from case_studies.cli.main import main


def test_attractors_cli_user_module(capsys, tmp_path):
    code = main(["attractors", "--system", "tests.case_studies.fixtures_bistable:make_system",
                 "--set", "c=0.5", "--lo", "-1.5", "-0.5", "--hi", "1.5", "1.5",
                 "--samples", "60", "--t-transient", "30", "--t-record", "5", "--workers", "1",
                 "--json", "--figure", str(tmp_path / "b.png")])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    kinds = sorted(a["kind"] for a in out["attractors"])
    assert kinds == ["equilibrium", "equilibrium"]
    assert sum(a["count"] for a in out["attractors"]) == 60
    # box x - c in [-2, 1]: right basin 1/3 of the samples; Wilson intervals are reported
    assert all(a["ci_low"] <= a["fraction"] <= a["ci_high"] for a in out["attractors"])
    assert (tmp_path / "b.png").exists()


def test_attractors_cli_unknown_system(capsys):
    assert main(["attractors", "--system", "nosuch", "--lo", "0", "--hi", "1"]) == 2
    assert "not known" in capsys.readouterr().err


def test_attractors_cli_early_stop_and_full_runs_agree(capsys):
    args = ["attractors", "--system", "tests.case_studies.fixtures_bistable:make_system",
            "--set", "c=0.5", "--lo", "-1.5", "-0.5", "--hi", "1.5", "1.5",
            "--samples", "40", "--t-transient", "30", "--t-record", "5", "--workers", "1",
            "--json"]
    res = {}
    for flag in ("--early-stop", "--no-early-stop"):
        assert main(args + [flag]) == 0
        res[flag] = json.loads(capsys.readouterr().out)
    a, b = res["--early-stop"], res["--no-early-stop"]
    assert [r["count"] for r in a["attractors"]] == [r["count"] for r in b["attractors"]]
    assert b["mean_integrated_time"] == 35.0
    assert a["mean_integrated_time"] <= 35.0
