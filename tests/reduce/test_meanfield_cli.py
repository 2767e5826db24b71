"""``snnreduce reduce meanfield THEORY --json`` summaries."""

from __future__ import annotations

import json

import pytest

from case_studies.cli.main import main
from reduce.meanfield.conductance import ConductanceTheory


def _run(capsys, *argv):
    rc = main(["reduce", "meanfield", *argv, "--json"])
    out = capsys.readouterr()
    return rc, out


def test_cond_lif_summary_matches_library(capsys):
    rc, out = _run(capsys, "cond-lif", "--set", "K=1000", "--set", "a=0.0016")
    assert rc == 0
    s = json.loads(out.out)
    ref = ConductanceTheory(K=1000, a=0.0016).self_consistent().rates_hz[0]
    assert s["rates_hz"]["E"] == pytest.approx(ref, rel=1e-12)
    assert set(s["rates_hz"]) == {"E", "I"}
    assert s["attractor"] == {"kind": "equilibrium", "period_ms": None}


@pytest.mark.parametrize("theory", ["brunel", "binary", "hybrid"])
def test_other_theories_report_rates_and_attractor(capsys, theory):
    rc, out = _run(capsys, theory)
    assert rc == 0
    s = json.loads(out.out)
    assert s["status"] == "ok"
    assert set(s["rates_hz"]) == {"E", "I"} and all(v > 0 for v in s["rates_hz"].values())
    assert s["attractor"]["kind"] in ("equilibrium", "cycle", "irregular")


def test_bad_parameter_is_one_clear_line(capsys):
    rc, out = _run(capsys, "cond-lif", "--set", "a=2")
    assert rc == 2
    assert "a = 2 is outside the valid range" in out.err
