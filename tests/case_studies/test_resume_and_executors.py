"""Case runs: the same numbers on every executor, ``--until``, and resuming a killed run.

The sweeps are the real ``gamma`` case's network step (Markov IF network, several p_EI values,
one seeded task each), shrunk so that a run takes seconds. The references are independent
runs: the same sweep on the default local executor (processes), on a local dask cluster started
by the command, and on a dask cluster given by address; a run killed with SIGKILL midway and
resumed against an uninterrupted run.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from case_studies.framework import run_case

SMALL = {"n_e": 60, "n_i": 20, "t_end": 400.0, "t_burn": 100.0, "p_ei": 0.8,
         "sweep_p_ei": (0.6, 0.7, 0.9)}


def _simulate_result(out: Path):
    """The cached result of the ``simulate`` step (the only entry of its cache folder)."""
    entries = sorted((out / "cache" / "simulate").glob("*.pkl"))
    assert len(entries) == 1, entries
    with open(entries[0], "rb") as f:
        return pickle.load(f)["result"]


def _assert_same(a, b, where="result"):
    """Recursive exact equality of nested dicts/lists/arrays/objects (wall times excluded)."""
    if isinstance(a, dict):
        keys = set(a) - {"meta", "wall_s", "cpu_s"}
        assert keys == set(b) - {"meta", "wall_s", "cpu_s"}, where
        for k in keys:
            _assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert np.array_equal(a, b), where
    elif hasattr(a, "__dict__") and not isinstance(a, type):
        _assert_same(vars(a), vars(b), where)
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _run(out, **kw):
    return run_case("gamma", out, quick=True, progress=False, overrides=SMALL,
                    until="simulate", log=lambda m: None, **kw)


def test_until_runs_only_the_first_steps(tmp_path, monkeypatch):
    monkeypatch.setenv("SNNREDUCE_WORKERS", "1")   # in-process: no worker start-up cost
    rep = _run(tmp_path / "a")
    status = {s["name"]: (s["status"], s["reason"]) for s in rep["steps"]}
    assert status["simulate"][0] == "done"
    later = [n for n in status if n != "simulate"]
    assert later and all(status[n] == ("skipped", "--until simulate") for n in later)
    runs = _simulate_result(tmp_path / "a")["runs"]
    assert [r["p_ei"] for r in runs] == [0.8, 0.6, 0.7, 0.9]
    # per-task files are removed once the whole step is cached
    assert not list((tmp_path / "a" / "cache" / "simulate").glob("tasks/*/*.pkl"))
    # a second run uses the cache
    rep2 = _run(tmp_path / "a")
    assert {s["name"]: s["status"] for s in rep2["steps"]}["simulate"] == "cached"


def test_until_rejects_an_unknown_step(tmp_path):
    from simulate.validation import ParameterError

    with pytest.raises(ParameterError, match="until = 'nope' is not one of"):
        run_case("gamma", tmp_path / "x", quick=True, until="nope", progress=False)
    assert not (tmp_path / "x").exists()   # nothing written on bad input


@pytest.mark.slow
def test_dask_clusters_give_the_numbers_of_the_local_executor(tmp_path):
    distributed = pytest.importorskip("distributed")
    _run(tmp_path / "local")
    _run(tmp_path / "dask-local", scheduler="local")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        _run(tmp_path / "dask-tcp", scheduler=cluster.scheduler_address)
    ref = _simulate_result(tmp_path / "local")
    for other in ("dask-local", "dask-tcp"):
        _assert_same(ref, _simulate_result(tmp_path / other), other)


def test_a_killed_run_recomputes_only_unfinished_tasks(tmp_path):
    """SIGKILL the command after its first network run is saved; the rerun restores the
    finished runs and computes the rest, and the result equals an uninterrupted run's."""
    sweep = tuple(np.round(np.linspace(0.5, 1.0, 8), 3))
    sets = {**SMALL, "sweep_p_ei": sweep, "t_end": 1500.0}
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "case_studies.cli.main", "reproduce", "gamma", "--quick",
           "--out", str(out), "--until", "simulate", "--no-progress"]
    for k, v in sets.items():
        v = ",".join(str(x) for x in v) if isinstance(v, tuple) else v
        cmd += ["--set", f"{k}={v}"]
    env = {**os.environ, "SNNREDUCE_WORKERS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    task_files = out / "cache" / "simulate" / "tasks"
    deadline = time.monotonic() + 300
    while not list(task_files.glob("*/*.pkl")):
        if proc.poll() is not None:
            pytest.fail("the run ended before it could be killed: "
                        + proc.stderr.read().decode()[-2000:])
        assert time.monotonic() < deadline, "no task finished within 300 s"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list(task_files.glob("*/*.pkl")))
    assert not list((out / "cache" / "simulate").glob("*.pkl")), "step finished before kill"
    assert 1 <= done_before < len(sweep) + 1

    messages = []
    rep = run_case("gamma", out, quick=True, progress=False, overrides=sets,
                   until="simulate", log=messages.append)
    assert {s["name"]: s["status"] for s in rep["steps"]}["simulate"] == "done"
    restored = [m for m in messages if "restored from an interrupted run" in m]
    assert restored and restored[0].startswith(
        f"step 'simulate': {done_before} of {len(sweep) + 1} tasks")

    ref = tmp_path / "uninterrupted"
    run_case("gamma", ref, quick=True, progress=False, overrides=sets, until="simulate",
             log=lambda m: None)
    _assert_same(_simulate_result(ref), _simulate_result(out))
