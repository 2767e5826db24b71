"""``snnreduce reduce markov-approx``: JSON summary, saved ODE system, bad input."""

from __future__ import annotations

import json
import pickle

import numpy as np

from case_studies.cli.main import main


def test_cli_map_json_and_save(tmp_path, capsys):
    out = tmp_path / "ma.pkl"
    rc = main(["reduce", "markov-approx", "--form", "map", "--t-end", "120", "--t-burn", "20",
               "--set", "p_ei=0.7", "--save", str(out), "--json"])
    assert rc == 0
    s = json.loads(capsys.readouterr().out)
    assert s["form"] == "map" and s["params"] == {"p_ei": 0.7}
    assert set(s["rates_hz"]) == {"E", "I"} and s["rates_hz"]["E"] > 0
    assert s["attractor"]["kind"] in ("equilibrium", "cycle", "irregular")
    assert "period_ms" in s["attractor"] and s["t_burn"] == 20.0
    ode = pickle.loads(out.read_bytes())
    assert ode.n_states == 148 and ode.params["p_ei"] == 0.7
    assert np.all(np.isfinite(ode.rhs(np.full(148, 0.5))))


def test_cli_bad_parameter(capsys):
    rc = main(["reduce", "markov-approx", "--set", "h=-1", "--t-end", "10", "--json"])
    assert rc == 2
    assert "h = -1" in capsys.readouterr().err
