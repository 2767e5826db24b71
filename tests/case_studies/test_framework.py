"""Case-study framework: step cache (hit, miss, resume, version), report schema, CLI errors.

A toy case registered here counts how often each step body runs, so cache behaviour is
observed directly rather than inferred from timings.
"""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest

from case_studies import framework as fw
from case_studies.cli.main import main
from case_studies.framework import (
    CaseStudy,
    Check,
    CheckSpec,
    Comparison,
    ComparisonSpec,
    Step,
    StepSkipped,
    register_case,
    run_case,
)
from simulate.validation import ParameterError

CALLS: dict = {}
INTERRUPT = {"at": None}


def _count(name):
    CALLS[name] = CALLS.get(name, 0) + 1


@register_case
class ToyCase(CaseStudy):
    name = "toy-test"
    title = "toy case for framework tests"
    params = {"n": 100, "scale": 2.0, "label": "x", "want": 9900.0}
    quick = {"n": 10}
    quick_skips = {"big-check": "needs the full n"}
    steps = (
        Step("make", "step_make", uses=("n",)),
        Step("scale", "step_scale", uses=("scale",), after=("make",)),
        Step("missing", "step_missing"),
        Step("needs-missing", "step_needs_missing", after=("missing",)),
        Step("plot", "step_plot", after=("scale",), cache=False),
    )
    checks = (
        CheckSpec("sum", "check_sum", needs=("scale",)),
        CheckSpec("big-check", "check_big", needs=("scale",)),
        CheckSpec("uses-missing", "check_missing", needs=("needs-missing",)),
    )

    def step_make(self, ctx):
        _count("make")
        return np.arange(ctx.params["n"], dtype=float)

    def step_scale(self, ctx):
        _count("scale")
        if INTERRUPT["at"] == "scale":
            raise KeyboardInterrupt
        return ctx.result("make") * ctx.params["scale"]

    def step_missing(self, ctx):
        _count("missing")
        ctx.require("snnreduce_no_such_module", "thing")

    def step_needs_missing(self, ctx):  # pragma: no cover - never runs
        _count("needs-missing")

    def step_plot(self, ctx):
        import matplotlib.pyplot as plt

        _count("plot")
        x = ctx.result("scale")
        fig, ax = plt.subplots()
        ax.plot(x)
        ctx.figure("toy", fig, {"i": np.arange(len(x)), "value": x, "short": [1.5]})
        ctx.summary["total"] = float(x.sum())
        return "ok"

    def check_sum(self, ctx):
        n, s = ctx.params["n"], ctx.params["scale"]
        # closed form: scale * n (n - 1) / 2
        return Check.within("sum", ctx.result("scale").sum(), s * n * (n - 1) / 2, 1e-9)

    def check_big(self, ctx):
        return Check.within("big-check", ctx.result("scale").sum(), ctx.params["want"], 0.5)

    def check_missing(self, ctx):  # pragma: no cover - never runs
        raise AssertionError


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()
    INTERRUPT["at"] = None
    yield


def run(out, **kw):
    return run_case("toy-test", out, progress=False, log=lambda m: None, **kw)


def test_report_schema_and_contents(tmp_path):
    rep = run(tmp_path)
    on_disk = json.loads((tmp_path / "report.json").read_text())
    assert on_disk == rep
    assert rep["case"] == "toy-test" and rep["format"] == fw.REPORT_FORMAT
    assert {"checks", "reductions", "quick", "steps", "params", "status", "version",
            "figures"} <= set(rep)
    for c in rep["checks"]:
        assert {"name", "value", "reference", "tolerance", "pass"} <= set(c)
    checks = {c["name"]: c for c in rep["checks"]}
    assert checks["sum"]["pass"] is True and checks["sum"]["value"] == 9900.0
    assert checks["big-check"]["pass"] is True
    assert checks["uses-missing"]["pass"] is None
    assert checks["uses-missing"]["status"] == "skipped"
    steps = {s["name"]: s for s in rep["steps"]}
    assert steps["make"]["status"] == "done"
    assert steps["missing"]["status"] == "skipped"
    assert "snnreduce_no_such_module.thing" in steps["missing"]["reason"]
    assert steps["needs-missing"]["status"] == "skipped"
    assert "missing" in steps["needs-missing"]["reason"]
    assert rep["status"] == "incomplete"        # a skipped step, nothing failed
    assert rep["quick"]["enabled"] is False and rep["reductions"] == {}
    assert rep["summary"] == {"total": 9900.0}
    # figure as PNG, PDF and CSV with the numbers behind it
    fig = rep["figures"][0]
    for ext in ("png", "pdf", "csv"):
        assert os.path.getsize(fig[ext]) > 0
    rows = (tmp_path / "figures" / "toy.csv").read_text().splitlines()
    assert rows[0] == "i,value,short"
    assert rows[2] == "1,2.0," and rows[1] == "0,0.0,1.5"


def test_quick_lists_reductions_and_skipped_checks(tmp_path):
    rep = run(tmp_path, quick=True)
    assert rep["reductions"] == {"n": {"full": 100, "quick": 10}}
    assert rep["quick"] == {"enabled": True, "reductions": rep["reductions"],
                            "skipped_checks": {"big-check": "needs the full n"}}
    checks = {c["name"]: c for c in rep["checks"]}
    assert checks["big-check"]["status"] == "skipped"
    assert "--quick" in checks["big-check"]["reason"]
    assert checks["sum"]["value"] == 2.0 * 10 * 9 / 2


def test_cache_hit_skips_finished_steps(tmp_path):
    run(tmp_path)
    assert CALLS == {"make": 1, "scale": 1, "missing": 1, "plot": 1}
    rep = run(tmp_path)
    # cached steps do not run again; skipped and uncached steps do
    assert CALLS == {"make": 1, "scale": 1, "missing": 2, "plot": 2}
    steps = {s["name"]: s["status"] for s in rep["steps"]}
    assert steps["make"] == "cached" and steps["scale"] == "cached"
    assert {c["name"]: c["value"] for c in rep["checks"]}["sum"] == 9900.0


def test_changed_parameter_recomputes_dependents_only(tmp_path):
    run(tmp_path)
    run(tmp_path, overrides={"scale": 3.0})
    assert CALLS["make"] == 1 and CALLS["scale"] == 2
    run(tmp_path, overrides={"n": 50})         # make changes -> scale's key changes too
    assert CALLS["make"] == 2 and CALLS["scale"] == 3
    run(tmp_path, overrides={"label": "y"})    # used by no cached step
    assert CALLS["make"] == 2 and CALLS["scale"] == 3


def test_interrupted_run_resumes(tmp_path):
    INTERRUPT["at"] = "scale"
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path)
    assert not (tmp_path / "report.json").exists()       # nothing half-written
    assert CALLS == {"make": 1, "scale": 1}
    INTERRUPT["at"] = None
    rep = run(tmp_path)
    assert CALLS["make"] == 1 and CALLS["scale"] == 2    # resumed after "make"
    assert {s["name"]: s["status"] for s in rep["steps"]}["make"] == "cached"
    leftovers = [p for p in tmp_path.rglob("*.tmp")]
    assert leftovers == []


def test_other_version_is_not_used(tmp_path, monkeypatch):
    run(tmp_path)
    monkeypatch.setattr(fw, "package_version", lambda: "99.0")
    msgs = []
    rep = run_case("toy-test", tmp_path, progress=False, log=msgs.append)
    assert CALLS["make"] == 2 and CALLS["scale"] == 2
    assert any("99.0" in m and "recomputing" in m for m in msgs)
    assert rep["version"] == "99.0"


def test_damaged_or_foreign_cache_entry_is_recomputed(tmp_path):
    run(tmp_path)
    entry = next((tmp_path / "cache" / "make").glob("*.pkl"))
    entry.write_bytes(b"garbage")
    msgs = []
    rep = run_case("toy-test", tmp_path, progress=False, log=msgs.append)
    assert CALLS["make"] == 2
    assert any("damaged" in m for m in msgs)
    assert {c["name"]: c["value"] for c in rep["checks"]}["sum"] == 9900.0
    # a valid pickle whose header names another key (e.g. a copied file) is not trusted
    other = next((tmp_path / "cache" / "scale").glob("*.pkl"))
    payload = pickle.loads(other.read_bytes())
    payload["header"]["key"] = "0" * 64
    payload["result"] = np.zeros(3)
    other.write_bytes(pickle.dumps(payload))
    msgs.clear()
    rep = run_case("toy-test", tmp_path, progress=False, log=msgs.append)
    assert CALLS["scale"] == 2
    assert any("not a valid step cache" in m for m in msgs)
    assert {c["name"]: c["value"] for c in rep["checks"]}["sum"] == 9900.0


def test_edited_step_recomputes_only_that_step(tmp_path, monkeypatch):
    run(tmp_path)

    def step_scale(self, ctx):  # an edited step body
        _count("scale-edited")
        return ctx.result("make") * ctx.params["scale"]

    monkeypatch.setattr(ToyCase, "step_scale", step_scale)
    rep = run(tmp_path)
    assert CALLS["make"] == 1 and CALLS["scale-edited"] == 1 and CALLS["scale"] == 1
    assert {s["name"]: s["status"] for s in rep["steps"]}["make"] == "cached"


def test_force_recomputes(tmp_path):
    run(tmp_path)
    run(tmp_path, force=["scale"])
    assert CALLS["make"] == 1 and CALLS["scale"] == 2
    run(tmp_path, force=["all"])
    assert CALLS["make"] == 2 and CALLS["scale"] == 3


def test_failing_step_is_reported_not_hidden(tmp_path, monkeypatch):
    def boom(self, ctx):
        raise ValueError("bad numbers")

    monkeypatch.setattr(ToyCase, "step_scale", boom)
    rep = run(tmp_path)
    steps = {s["name"]: s for s in rep["steps"]}
    assert steps["scale"]["status"] == "failed" and "bad numbers" in steps["scale"]["reason"]
    assert steps["plot"]["status"] == "skipped"
    assert rep["status"] == "failed"
    assert not list((tmp_path / "cache").glob("scale/*.pkl"))   # failures are never cached


def test_failed_check_sets_status(tmp_path):
    rep = run(tmp_path, overrides={"want": 1.0})
    assert {c["name"]: c["pass"] for c in rep["checks"]}["big-check"] is False
    assert rep["status"] == "failed"


def test_list_override_from_command_line():
    case = fw.get_case("gamma")
    assert case.settings(overrides={"sweep_p_ei": "0.5,0.7"})["sweep_p_ei"] == (0.5, 0.7)
    assert case.settings(overrides={"sweep_p_ei": ""})["sweep_p_ei"] == ()
    assert case.settings(overrides={"cont_bounds": "(0.6, 0.9)"})["cont_bounds"] == (0.6, 0.9)
    with pytest.raises(ParameterError, match="sweep_p_ei = 'a,b'"):
        case.settings(overrides={"sweep_p_ei": "a,b"})


def test_unknown_override_and_case(tmp_path):
    with pytest.raises(ParameterError, match="unknown parameter 'nn'.*did you mean 'n'"):
        run(tmp_path, overrides={"nn": 3})
    with pytest.raises(ParameterError, match="available cases: .*gamma.*toy-test"):
        run_case("nope", tmp_path)


def test_step_skipped_in_check_and_declaration_errors():
    class Bad(CaseStudy):
        name = "bad"
        params = {"a": 1}
        quick = {"b": 2}

    with pytest.raises(TypeError, match="unknown parameters"):
        register_case(Bad)

    class BadOrder(CaseStudy):
        name = "bad-order"
        steps = (Step("two", "f", after=("one",)),)

        def f(self, ctx):  # pragma: no cover
            pass

    with pytest.raises(TypeError, match="not an earlier step"):
        register_case(BadOrder)
    assert issubclass(StepSkipped, Exception)


# ----------------------------------------------------------------------------- comparisons
#: what the toy comparison cases compute (set per test)
CMP = {"mode": "ok"}


@register_case
class ToyCompare(CaseStudy):
    """One check and three comparisons: a measured disagreement, one on a missing step, and
    one that the quick run skips."""

    name = "toy-compare"
    title = "toy case for comparisons"
    params = {"n": 10, "factor": 1.3}
    quick = {"n": 4}
    quick_skips = {"quick-skipped": "needs the full n"}
    steps = (Step("make", "step_make", uses=("n",)),
             Step("missing", "step_missing"))
    checks = (CheckSpec("sum", "check_sum", needs=("make",)),)
    comparisons = (
        ComparisonSpec("model-vs-data", "cmp_model", needs=("make",),
                       no_claim="toy: no tolerance is claimed for the model"),
        ComparisonSpec("on-missing", "cmp_missing", needs=("missing",),
                       no_claim="toy: never computed"),
        ComparisonSpec("quick-skipped", "cmp_model", needs=("make",),
                       no_claim="toy: skipped by --quick"),
    )

    def step_make(self, ctx):
        return np.arange(ctx.params["n"], dtype=float)

    def step_missing(self, ctx):
        ctx.require("snnreduce_no_such_module")

    def check_sum(self, ctx):
        n = ctx.params["n"]
        if CMP["mode"] == "comparison-from-check":
            return Comparison("sum", 1.0, 1.0)
        return Check.within("sum", ctx.result("make").sum(), n * (n - 1) / 2, 1e-9)

    def cmp_model(self, ctx):
        data = ctx.result("make").sum()
        if CMP["mode"] == "raise":
            raise ValueError("broken comparison code")
        if CMP["mode"] == "check-from-comparison":
            return Check.within("model-vs-data", 1.0, 1.0, 0.1)
        model = ctx.params["factor"] * data
        return Comparison("model-vs-data", {"relative_error": model / data - 1.0},
                          {"data": data}, detail="the model is factor × the data")

    def cmp_missing(self, ctx):  # pragma: no cover - never runs
        raise AssertionError


def _run_cmp(out, mode="ok", **kw):
    CMP["mode"] = mode
    try:
        return run_case("toy-compare", out, progress=False, log=lambda m: None, **kw)
    finally:
        CMP["mode"] = "ok"


def test_comparisons_are_reported_and_do_not_count(tmp_path):
    rep = _run_cmp(tmp_path)
    assert json.loads((tmp_path / "report.json").read_text()) == rep
    cmp = {c["name"]: c for c in rep["comparisons"]}
    m = cmp["model-vs-data"]
    # closed form: factor * sum / sum - 1 = 0.3, reference the data sum n (n - 1) / 2 = 45
    assert m["status"] == "measured"
    assert m["value"]["relative_error"] == pytest.approx(0.3, abs=1e-12)
    assert m["reference"] == {"data": 45.0}
    assert m["no_claim"] == "toy: no tolerance is claimed for the model"
    assert "pass" not in m and "tolerance" not in m
    assert cmp["on-missing"]["status"] == "skipped"
    assert "missing" in cmp["on-missing"]["reason"]
    assert [c["name"] for c in rep["checks"]] == ["sum"]        # kept apart from the checks
    # a 30 % disagreement leaves the status alone; the skipped step makes it incomplete
    assert rep["status"] == "incomplete"
    # ... and a 30 % disagreement is as good as none: the status does not depend on the value
    rep0 = _run_cmp(tmp_path / "b", overrides={"factor": 1.0})
    assert rep0["status"] == rep["status"]
    assert rep0["comparisons"][0]["value"]["relative_error"] == 0.0
    q = {c["name"]: c for c in _run_cmp(tmp_path / "q", quick=True)["comparisons"]}
    assert q["quick-skipped"]["status"] == "skipped"
    assert q["quick-skipped"]["reason"] == "--quick: needs the full n"
    assert q["model-vs-data"]["reference"] == {"data": 6.0}


def test_comparison_errors_and_mixed_kinds_fail(tmp_path):
    rep = _run_cmp(tmp_path / "a", mode="raise")
    m = rep["comparisons"][0]
    assert m["status"] == "error" and "broken comparison code" in m["reason"]
    assert rep["status"] == "failed"
    # a comparison method cannot report a check, nor a check method a comparison
    rep = _run_cmp(tmp_path / "b", mode="check-from-comparison")
    assert rep["comparisons"][0]["status"] == "error"
    assert "not a Comparison" in rep["comparisons"][0]["reason"]
    rep = _run_cmp(tmp_path / "c", mode="comparison-from-check")
    assert rep["checks"][0]["status"] == "fail" and "not a Check" in rep["checks"][0]["reason"]
    assert rep["status"] == "failed"


def test_comparison_declaration_errors():
    class NoReason(CaseStudy):
        name = "no-reason"
        comparisons = (ComparisonSpec("c", "f"),)

        def f(self, ctx):  # pragma: no cover
            pass

    with pytest.raises(TypeError, match="must say in no_claim"):
        register_case(NoReason)

    class Twice(NoReason):
        name = "twice"
        checks = (CheckSpec("c", "f"),)
        comparisons = (ComparisonSpec("c", "f", no_claim="x"),)

    with pytest.raises(TypeError, match="unique"):
        register_case(Twice)

    class WrongKind(NoReason):
        name = "wrong-kind"
        checks = (ComparisonSpec("c", "f", no_claim="x"),)
        comparisons = ()

    with pytest.raises(TypeError, match="is not a CheckSpec"):
        register_case(WrongKind)


def test_cli_prints_comparisons(tmp_path):
    import io

    from case_studies.cli.reproduce_cmd import _print_summary

    buf = io.StringIO()
    _print_summary(_run_cmp(tmp_path), buf)
    text = buf.getvalue()
    assert "comparison model-vs-data: the model is factor × the data" in text
    assert "comparison on-missing: skipped" in text


# ----------------------------------------------------------------------------- CLI
def test_cli_unknown_case(capsys, tmp_path):
    assert main(["reproduce", "no-such-case", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no-such-case" in err and "gamma" in err and "available cases" in err


def test_cli_unwritable_out(capsys, tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    assert main(["reproduce", "toy-test", "--out", str(blocker), "--no-progress"]) == 2
    assert "not a folder" in capsys.readouterr().err
    # a folder that cannot be created (its parent is a file)
    assert main(["reproduce", "toy-test", "--out", str(blocker / "sub"), "--no-progress"]) == 2
    assert "not a writable folder" in capsys.readouterr().err
    assert CALLS == {}                       # nothing ran, nothing written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):  # running as root: permissions are not enforced
            pytest.skip("permissions not enforced for this user")
        assert main(["reproduce", "toy-test", "--out", str(ro / "sub"), "--no-progress"]) == 2
        assert "not a writable folder" in capsys.readouterr().err
        assert not (ro / "sub").exists()
    finally:
        ro.chmod(0o700)


def test_cli_json_and_bad_scheduler(capsys, tmp_path):
    code = main(["reproduce", "toy-test", "--quick", "--out", str(tmp_path), "--json",
                 "--no-progress", "--set", "scale=4"])
    assert code == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["case"] == "toy-test" and rep["params"]["scale"] == 4
    assert rep["reductions"] == {"n": {"full": 100, "quick": 10}}
    rep = run(tmp_path, quick=True, overrides={"n": 20})
    assert rep["reductions"] == {"n": {"full": 100, "quick": 20}}   # the value actually used
    assert main(["reproduce", "toy-test", "--out", str(tmp_path), "--scheduler", "bogus",
                 "--no-progress"]) == 2
    assert "scheduler" in capsys.readouterr().err


def test_cli_list(capsys):
    assert main(["reproduce", "--list", "--json"]) == 0
    cases = json.loads(capsys.readouterr().out)["cases"]
    assert "gamma" in cases and "toy-test" in cases


def test_gamma_declaration():
    case = fw.get_case("gamma")
    case.validate_declaration()
    assert set(case.quick) <= set(case.params)
    assert [s.name for s in case.steps][:3] == ["simulate", "reduce", "continue"]
    # the quick run must not silently drop checks: every skipped check is named with a reason
    assert all(isinstance(v, str) and v for v in case.quick_skips.values())
