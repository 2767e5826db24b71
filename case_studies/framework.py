"""The case-study framework: steps, an on-disk step cache, figures, checks and a JSON report.

A case study (one module per case, e.g. :mod:`case_studies.gamma`) is a subclass of
:class:`CaseStudy` that declares

- ``params``: every parameter of the full run, in one place;
- ``quick``: the parameters ``--quick`` changes (reported in the JSON report as
  ``"reductions"``) and ``quick_skips``: the checks a quick run cannot make, with the reason;
- ``steps``: a tuple of :class:`Step` (name, method, the parameters it uses, the earlier steps
  whose results it consumes);
- ``checks``: a tuple of :class:`CheckSpec` (name, the steps it needs, method returning a
  :class:`Check`): a claim of the toolkit with a sourced tolerance, pass or fail;
- ``comparisons`` (optional): a tuple of :class:`ComparisonSpec` (the same, method returning
  a :class:`Comparison`): a measured disagreement for which no claim with a sourced tolerance
  exists; reported with its numbers and the reference, never pass or fail, and not counted in
  the run's status.

:func:`run_case` runs the steps in order. A step's result is cached on disk under a key that
hashes the case, the step, the parameters it uses, the keys of the steps it consumes, the
source of the step (its method and the module-level helpers of the case module it calls) and
the package version::

    key = sha256(json({case, step, inputs, deps: {step: key}, source, version, cache_format}))

so a rerun skips finished steps, an interrupted run resumes at the first unfinished step, and a
changed parameter recomputes exactly the steps that depend on it. A cache entry written by a
different package version (or damaged, or not a cache entry) is never used: the step is
recomputed and a message says why. Cache layout (inside the output folder)::

    <out>/cache/<step>/<key>.pkl    pickled {"header": {...}, "result": ...}
    <out>/cache/<step>/<key>.json   the header in readable form (version, inputs, time)
    <out>/figures/<name>.png|.pdf   figures, and <name>.csv the numbers behind them
    <out>/report.json               the report (see :func:`run_case`)

Every file is written atomically (temporary file in the same folder, then renamed), so an
interrupted run leaves either the old file or the new one, never half of one.

A step that needs a capability that is not importable (``ctx.require(...)``, or any
``ModuleNotFoundError`` raised while it runs) or whose inputs were not produced raises
:class:`StepSkipped`: it is reported as skipped with the reason, never faked, and the steps and
checks that need it are reported as skipped too. Any other exception marks the step
``"failed"`` (message and traceback in the report); its dependents are skipped.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import inspect
import io
import json
import math
import os
import pickle
import re
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simulate.validation import ParameterError, check_choice, check_known

__all__ = [
    "CaseStudy",
    "Step",
    "CheckSpec",
    "Check",
    "ComparisonSpec",
    "Comparison",
    "StepSkipped",
    "RunContext",
    "StepCache",
    "register_case",
    "available_cases",
    "get_case",
    "run_case",
    "package_version",
    "atomic_write_bytes",
    "prepare_out_dir",
    "CACHE_FORMAT",
    "REPORT_FORMAT",
]

CACHE_FORMAT = "snnreduce-step-cache/1"
REPORT_FORMAT = "snnreduce-case-report/1"

#: Built-in cases: name -> module (imported on first use, which registers the class).
BUILTIN_CASES: dict[str, str] = {"gamma": "case_studies.gamma",
                                  "metastability": "case_studies.metastability",
                                  "brunel": "case_studies.brunel",
                                  "strong-coupling": "case_studies.strong_coupling",
                                  "regimes": "case_studies.regimes",
                                  "hydrodynamic-limit": "case_studies.hydrodynamic"}

_REGISTRY: dict[str, type] = {}


# ----------------------------------------------------------------------------- utilities
def package_version() -> str:
    """Version of the installed snnreduce distribution (part of every cache key)."""
    try:
        from importlib.metadata import version

        return version("snnreduce")
    except Exception:  # pragma: no cover - not installed
        return "unknown"


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)   # mkstemp creates 0600; give the usual permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _jsonable(o):
    if isinstance(o, Mapping):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, np.ndarray):
        return _jsonable(o.tolist())
    if isinstance(o, np.generic):
        return _jsonable(o.item())
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if o is None or isinstance(o, (bool, int, float, str)):
        return o
    return str(o)


def _hash(obj) -> str:
    text = json.dumps(_jsonable(obj), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def prepare_out_dir(out) -> Path:
    """Create ``out`` (with parents) and check that it is writable; clear error otherwise."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"out = {str(out)!r} exists and is not a folder; give a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ParameterError(
            f"out = {str(out)!r} is not a writable folder ({exc.strerror or exc}); "
            "choose another --out"
        ) from None
    return out


# ----------------------------------------------------------------------------- declarations
class StepSkipped(Exception):
    """Raised inside a step: the step cannot run now (reason in the message)."""


@dataclass(frozen=True)
class Step:
    """One step of a case study.

    Parameters
    ----------
    name : str
        Step name (folder name in the cache, key in the report).
    method : str
        Name of the case method ``method(ctx) -> result`` (result picklable when cached).
    uses : tuple of str or None
        Parameters the step depends on (None: all of them); they enter the cache key.
    after : tuple of str
        Earlier steps whose results this step reads with ``ctx.result(name)``.
    cache : bool
        Cache the result on disk (False for cheap steps that write files, e.g. figures).
    description : str
    """

    name: str
    method: str
    uses: tuple | None = None
    after: tuple = ()
    cache: bool = True
    description: str = ""


@dataclass(frozen=True)
class CheckSpec:
    """A check of a case study: ``method(ctx) -> Check`` run when its ``needs`` are done."""

    name: str
    method: str
    needs: tuple = ()
    description: str = ""


@dataclass
class Check:
    """A check's outcome: ``passed`` iff |value − reference| ≤ tolerance (or as computed).

    ``status`` is ``"pass"``, ``"fail"`` or ``"skipped"`` (then ``reason`` says why).
    """

    name: str
    value: object = None
    reference: object = None
    tolerance: object = None
    passed: bool | None = None
    detail: str = ""
    status: str = ""
    reason: str = ""

    def __post_init__(self):
        if not self.status:
            self.status = "skipped" if self.passed is None else ("pass" if self.passed else "fail")

    @classmethod
    def within(cls, name, value, reference, tolerance, *, relative=False, detail=""):
        """Pass iff |value − reference| ≤ tolerance (× |reference| when ``relative``)."""
        value, reference, tolerance = float(value), float(reference), float(tolerance)
        bound = tolerance * abs(reference) if relative else tolerance
        ok = math.isfinite(value) and abs(value - reference) <= bound
        tol_text = f"{tolerance:g} relative" if relative else tolerance
        return cls(name, value, reference, tol_text, bool(ok), detail)

    @classmethod
    def skipped(cls, name, reason, reference=None, tolerance=None):
        """A check with status ``"skipped"`` (no value, ``passed`` None) and the given reason."""
        return cls(name, None, reference, tolerance, None, status="skipped", reason=reason)

    def as_dict(self) -> dict:
        """JSON-ready dict: name, value, reference, tolerance, pass, status (and detail, reason if
        set).
        """
        d = {"name": self.name, "value": self.value, "reference": self.reference,
             "tolerance": self.tolerance, "pass": self.passed, "status": self.status}
        if self.detail:
            d["detail"] = self.detail
        if self.reason:
            d["reason"] = self.reason
        return d


@dataclass(frozen=True)
class ComparisonSpec:
    """A comparison of a case study: ``method(ctx) -> Comparison`` run when its ``needs`` are
    done, like a :class:`CheckSpec`, but reported under ``"comparisons"`` and never counted
    in the run's status.

    Use it only for a quantity about which the toolkit makes no claim with a sourced
    tolerance (anything claimed stays a check); ``no_claim`` says so for this entry and is
    required.

    Parameters
    ----------
    name : str
    method : str
        Name of the case method ``method(ctx) -> Comparison``.
    needs : tuple of str
        Steps it reads.
    no_claim : str
        Why this is a comparison and not a check: which claim is absent (e.g. "issue #4
        asks for the MA at these regimes to be reported, no accuracy target"). Copied into
        the report entry.
    description : str
    """

    name: str
    method: str
    needs: tuple = ()
    no_claim: str = ""
    description: str = ""


@dataclass
class Comparison:
    """A comparison's outcome: the measured ``value`` and the ``reference`` it is set against.

    No tolerance and no pass/fail: the numbers are the result. ``status`` is ``"measured"``,
    ``"skipped"`` (``reason`` says why) or ``"error"`` (the comparison could not be computed:
    a fault of the case's code, which makes the run ``"failed"``). ``value`` and
    ``reference`` may be numbers or dicts of numbers (e.g. relative errors per population,
    and the network rates with their 95 % intervals).
    """

    name: str
    value: object = None
    reference: object = None
    detail: str = ""
    status: str = "measured"
    reason: str = ""
    no_claim: str = ""

    @classmethod
    def skipped(cls, name, reason):
        """A comparison that could not be made now (``reason`` says why)."""
        return cls(name, status="skipped", reason=reason)

    def as_dict(self) -> dict:
        """The report entry: name, value, reference, status, no_claim (+ detail, reason)."""
        d = {"name": self.name, "value": self.value, "reference": self.reference,
             "status": self.status, "no_claim": self.no_claim}
        if self.detail:
            d["detail"] = self.detail
        if self.reason:
            d["reason"] = self.reason
        return d


class CaseStudy:
    """Base class of a case study; subclasses declare their parameters, steps and checks.

    Class attributes
    ----------------
    name : str
        Command-line name (``snnreduce reproduce NAME``).
    title : str
        One line for listings and the report.
    params : dict
        Every parameter of the full run.
    quick : dict
        Parameters changed by ``--quick`` (a subset of ``params``).
    quick_skips : dict
        Check (or comparison) name -> why a quick run skips it.
    steps : tuple of Step
    checks : tuple of CheckSpec
    comparisons : tuple of ComparisonSpec
        Measured disagreements without a sourced tolerance (not counted in the status).
    """

    name: str = ""
    title: str = ""
    params: dict = {}
    quick: dict = {}
    quick_skips: dict = {}
    steps: tuple = ()
    checks: tuple = ()
    comparisons: tuple = ()

    def settings(self, quick: bool = False, overrides: Mapping | None = None) -> dict:
        """The effective parameters: ``params``, then ``quick`` if asked, then overrides."""
        p = dict(self.params)
        if quick:
            p.update(self.quick)
        if overrides:
            check_known(overrides, self.params, f"case {self.name!r}")
            for k, v in overrides.items():
                p[k] = _coerce(k, v, self.params[k])
        return p

    def reductions(self) -> dict:
        """What ``--quick`` changes: ``{param: {"full": v, "quick": v}}``."""
        return {k: {"full": self.params.get(k), "quick": v} for k, v in self.quick.items()}

    @classmethod
    def validate_declaration(cls) -> None:
        """Check the declaration itself (unknown quick keys, bad step order, missing methods)."""
        unknown = set(cls.quick) - set(cls.params)
        if unknown:
            raise TypeError(f"case {cls.name!r}: quick sets unknown parameters {sorted(unknown)}")
        seen = set()
        for st in cls.steps:
            if not callable(getattr(cls, st.method, None)):
                raise TypeError(f"case {cls.name!r}: step {st.name!r} has no method {st.method!r}")
            for d in st.after:
                if d not in seen:
                    raise TypeError(
                        f"case {cls.name!r}: step {st.name!r} runs after {d!r}, which is not an "
                        "earlier step"
                    )
            if st.uses is not None and set(st.uses) - set(cls.params):
                raise TypeError(f"case {cls.name!r}: step {st.name!r} uses unknown parameters "
                                f"{sorted(set(st.uses) - set(cls.params))}")
            seen.add(st.name)
        for what, specs, kind in (("check", cls.checks, CheckSpec),
                                  ("comparison", cls.comparisons, ComparisonSpec)):
            for ch in specs:
                if not isinstance(ch, kind):
                    raise TypeError(f"case {cls.name!r}: {what} {getattr(ch, 'name', ch)!r} "
                                    f"is not a {kind.__name__}")
                if set(ch.needs) - seen:
                    raise TypeError(f"case {cls.name!r}: {what} {ch.name!r} needs unknown steps")
                if not callable(getattr(cls, ch.method, None)):
                    raise TypeError(f"case {cls.name!r}: {what} {ch.name!r} has no method")
        for cm in cls.comparisons:
            if not str(cm.no_claim).strip():
                raise TypeError(f"case {cls.name!r}: comparison {cm.name!r} must say in "
                                "no_claim why it is not a check (which claim is absent)")
        names = [c.name for c in (*cls.checks, *cls.comparisons)]
        if len(set(names)) != len(names):
            raise TypeError(f"case {cls.name!r}: check and comparison names must be unique")
        if set(cls.quick_skips) - set(names):
            raise TypeError(f"case {cls.name!r}: quick_skips names unknown checks")


def _coerce(name, value, default):
    """Read list-valued parameters given on the command line as "0.5,0.6" (or "" for none)."""
    if isinstance(default, (tuple, list)) and not isinstance(value, (tuple, list)):
        text = str(value).strip().strip("()[]")
        items = [t for t in (x.strip() for x in text.split(",")) if t]
        try:
            return tuple(float(t) for t in items)
        except ValueError:
            raise ParameterError(
                f"{name} = {value!r} is not a comma-separated list of numbers, e.g. 0.5,0.6"
            ) from None
    return value


def register_case(cls: type) -> type:
    """Class decorator: register a :class:`CaseStudy` under ``cls.name``."""
    if not (isinstance(cls, type) and issubclass(cls, CaseStudy)) or not cls.name:
        raise TypeError("register_case expects a CaseStudy subclass with a name")
    cls.validate_declaration()
    _REGISTRY[cls.name] = cls
    return cls


def available_cases() -> list[str]:
    """Names of all cases (built-in and registered)."""
    return sorted(set(BUILTIN_CASES) | set(_REGISTRY))


def get_case(name: str) -> CaseStudy:
    """An instance of the case called ``name``; unknown names list the available cases."""
    if name not in _REGISTRY and name in BUILTIN_CASES:
        importlib.import_module(BUILTIN_CASES[name])
    if name not in _REGISTRY:
        raise ParameterError(
            f"case = {name!r} is not a known case study; available cases: "
            + ", ".join(available_cases())
        )
    return _REGISTRY[name]()


# ----------------------------------------------------------------------------- cache
class StepCache:
    """Step results on disk, keyed by a hash of the step's inputs and the package version."""

    def __init__(self, root: Path, version: str | None = None):
        self.root = Path(root)
        self.version = version or package_version()

    def _paths(self, step: str, key: str) -> tuple[Path, Path]:
        d = self.root / step
        return d / f"{key}.pkl", d / f"{key}.json"

    def load(self, step: str, key: str) -> tuple[bool, object, str]:
        """Return ``(hit, result, message)``; a miss explains itself when there is a reason."""
        pkl, _ = self._paths(step, key)
        if not pkl.exists():
            return False, None, self._miss_reason(step)
        try:
            with open(pkl, "rb") as f:
                payload = pickle.load(f)
            head = payload["header"]
        except Exception as exc:
            return False, None, (f"cache entry {pkl} is damaged ({type(exc).__name__}: {exc}); "
                                 "recomputing")
        if head.get("format") != CACHE_FORMAT or head.get("key") != key:
            return False, None, f"cache entry {pkl} is not a valid step cache; recomputing"
        if head.get("version") != self.version:
            return False, None, (
                f"cache entry {pkl} was written by snnreduce {head.get('version')} (this is "
                f"{self.version}); not used, recomputing"
            )
        return True, payload["result"], ""

    def _miss_reason(self, step: str) -> str:
        d = self.root / step
        if not d.is_dir():
            return ""
        others = set()
        for meta in d.glob("*.json"):
            try:
                v = json.loads(meta.read_text()).get("version")
            except (OSError, ValueError):
                continue
            if v and v != self.version:
                others.add(v)
        if others:
            return (f"step {step!r} has cached results from snnreduce {', '.join(sorted(others))}"
                    f" (this is {self.version}); they are not used, recomputing")
        return ""

    def store(self, step: str, key: str, result, header: dict) -> str:
        """Write a result atomically; return "" or a message when it cannot be pickled."""
        pkl, meta = self._paths(step, key)
        pkl.parent.mkdir(parents=True, exist_ok=True)
        head = {"format": CACHE_FORMAT, "key": key, "version": self.version,
                "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **header}
        try:
            data = pickle.dumps({"header": head, "result": result},
                                protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            return (f"step {step!r}: result could not be cached ({type(exc).__name__}: {exc}); "
                    "it will be recomputed next time")
        atomic_write_bytes(pkl, data)
        atomic_write_bytes(meta, json.dumps(_jsonable(head), indent=2).encode())
        return ""


# ----------------------------------------------------------------------------- running
class RunContext:
    """What a step sees: parameters, earlier results, output helpers.

    Attributes
    ----------
    params : dict
        Effective parameters of this run.
    quick : bool
    out : Path
        Output folder.
    scheduler : str or None
        Passed to :func:`simulate.executor.map_tasks` by steps that run many tasks.
    progress : bool
        Whether steps may show progress bars.
    """

    def __init__(self, case, params, quick, out, scheduler, progress, log):
        self.case = case
        self.params = params
        self.quick = quick
        self.out = Path(out)
        self.scheduler = scheduler
        self.progress = progress
        self._log = log
        self._results: dict = {}
        self._status: dict = {}
        self._cache: StepCache | None = None
        self._current: tuple[str, str] | None = None   # (step name, cache key) while it runs
        self.figures: list = []
        #: key numbers of the run, copied into the report's "summary" (JSON-ready values)
        self.summary: dict = {}

    # results of earlier steps
    def result(self, step: str):
        """Result of an earlier step; :class:`StepSkipped` if it was not produced."""
        st = self._status.get(step)
        if st is None:
            raise StepSkipped(f"step {step!r} has not run")
        if st["status"] not in ("done", "cached"):
            raise StepSkipped(f"needs step {step!r}, which {st['status']}: "
                              f"{st.get('reason', '')}".rstrip(": "))
        return self._results[step]

    def has(self, step: str) -> bool:
        """Whether ``step`` has a result (its status is ``"done"`` or ``"cached"``)."""
        st = self._status.get(step)
        return st is not None and st["status"] in ("done", "cached")

    def require(self, module: str, attr: str | None = None):
        """Import ``module`` (and get ``attr``) or skip the step saying what is missing."""
        what = f"{module}.{attr}" if attr else module
        try:
            mod = importlib.import_module(module)
            return getattr(mod, attr) if attr else mod
        except Exception as exc:  # ImportError, AttributeError, or a broken module
            raise StepSkipped(
                f"capability {what} is not available in this build "
                f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
            ) from None

    def log(self, msg: str) -> None:
        """Send a message to the run's log (kept in the report's ``messages``)."""
        self._log(msg)

    def map_tasks(self, fn: Callable, tasks, desc: str | None = None) -> list:
        """Run ``fn`` over ``tasks`` with this run's scheduler, saving each result as it ends.

        The same as :func:`simulate.executor.map_tasks` (results in task order, ``--scheduler``
        honoured, seeds belong inside the tasks), plus a per-task cache: every finished task is
        written at once under ``cache/<step>/tasks/<step key>/``, keyed by a hash of the step's
        cache key, ``fn``'s name and the task. A run killed in the middle of a step therefore
        recomputes only the tasks that had not finished; the task files are removed once the
        whole step has been cached.
        """
        from simulate.executor import map_tasks

        tasks = list(tasks)
        if self._cache is None or self._current is None:
            return map_tasks(fn, tasks, scheduler=self.scheduler, progress=self.progress,
                             desc=desc)
        step, step_key = self._current
        where = _task_folder(step, step_key)
        fn_id = f"{fn.__module__}.{fn.__qualname__}"
        keys = [_hash({"step_key": step_key, "fn": fn_id, "task": t}) for t in tasks]
        results: list = [None] * len(tasks)
        todo = []
        for i, k in enumerate(keys):
            hit, res, _ = self._cache.load(where, k)
            if hit:
                results[i] = res
            else:
                todo.append(i)
        if len(todo) < len(tasks):
            self.log(f"step {step!r}: {len(tasks) - len(todo)} of {len(tasks)} tasks restored "
                     "from an interrupted run")

        def save(j, res):
            i = todo[j]
            results[i] = res
            msg = self._cache.store(where, keys[i], res, {"step": step, "task": i})
            if msg:
                self.log(msg)

        map_tasks(fn, [tasks[i] for i in todo], scheduler=self.scheduler,
                  progress=self.progress, desc=desc, on_result=save)
        return results

    # outputs
    def figure(self, name: str, fig, data: Mapping | None = None) -> dict:
        """Save ``fig`` as ``figures/<name>.png`` and ``.pdf`` and ``data`` as ``<name>.csv``.

        ``data`` maps column names to 1-d arrays (shorter columns are padded with empty
        cells); it is the numbers the figure shows.
        """
        d = self.out / "figures"
        d.mkdir(parents=True, exist_ok=True)
        entry = {"name": name}
        for ext in ("png", "pdf"):
            buf = io.BytesIO()
            fig.savefig(buf, format=ext, dpi=120 if ext == "png" else None,
                        bbox_inches="tight")
            entry[ext] = str(atomic_write_bytes(d / f"{name}.{ext}", buf.getvalue()))
        try:
            import matplotlib.pyplot as plt

            plt.close(fig)
        except Exception:  # pragma: no cover
            pass
        if data is not None:
            entry["csv"] = str(self.table(name, data, folder="figures"))
        self.figures.append(entry)
        return entry

    def table(self, name: str, data: Mapping, folder: str = "tables") -> Path:
        """Write columns ``data`` to ``<folder>/<name>.csv`` atomically."""
        d = self.out / folder
        d.mkdir(parents=True, exist_ok=True)
        cols = {str(k): np.atleast_1d(np.asarray(v)) for k, v in data.items()}
        n = max((len(v) for v in cols.values()), default=0)
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(list(cols))
        for i in range(n):
            w.writerow([_cell(v[i]) if i < len(v) else "" for v in cols.values()])
        return atomic_write_bytes(d / f"{name}.csv", buf.getvalue().encode())


def _task_folder(step: str, step_key: str) -> str:
    """Cache sub-folder (relative to the cache root) of one step run's per-task results."""
    return f"{step}/tasks/{step_key[:16]}"


def _cell(x):
    if isinstance(x, (np.floating, float)):
        return repr(float(x))
    if isinstance(x, np.generic):
        return x.item()
    return x


def _step_source_hash(case, method: str) -> str:
    """Hash of the step method's source and of the module-level functions of the case module
    it refers to by name (followed transitively), so that editing a step or a helper it calls
    recomputes that step, while editing e.g. figure code leaves the expensive steps cached."""
    mod = sys.modules.get(type(case).__module__)
    fn = getattr(type(case), method)
    try:
        seen, todo, parts = set(), [fn], []
        while todo:
            f = todo.pop()
            src = inspect.getsource(f)
            parts.append(src)
            for name in set(re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)\b", src)):
                obj = getattr(mod, name, None)
                if (name not in seen and inspect.isfunction(obj)
                        and getattr(obj, "__module__", None) == mod.__name__):
                    seen.add(name)
                    todo.append(obj)
        text = "\n".join(sorted(parts))
    except (OSError, TypeError):
        text = f"{type(case).__qualname__}.{method}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _progress(iterable, total, desc, enabled):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="step", leave=True)


def _evaluate(case, ctx, specs, kind, quick):
    """Run the check (``kind`` = :class:`Check`) or comparison (:class:`Comparison`) methods
    of ``specs`` whose steps are done; skipped ones say why, errors are reported, never
    raised. A method must return its own kind: a check cannot be reported as a comparison
    or the other way round."""
    what = "check" if kind is Check else "comparison"
    out = []
    for sp in specs:
        if quick and sp.name in case.quick_skips:
            out.append(kind.skipped(sp.name, f"--quick: {case.quick_skips[sp.name]}"))
            continue
        missing = [d for d in sp.needs if not ctx.has(d)]
        if missing:
            st = ctx._status[missing[0]]
            out.append(kind.skipped(
                sp.name, f"needs step {missing[0]!r}, which {st['status']}"
                + (f": {st['reason']}" if st["reason"] else "")))
            continue
        try:
            res = getattr(case, sp.method)(ctx)
            if not isinstance(res, kind):
                raise TypeError(f"{sp.method} returned {type(res).__name__}, not a "
                                f"{kind.__name__}")
        except StepSkipped as exc:
            res = kind.skipped(sp.name, str(exc))
        except Exception as exc:
            reason = f"{what} raised {type(exc).__name__}: {exc}"
            res = (Check(sp.name, None, None, None, False, status="fail", reason=reason)
                   if kind is Check else Comparison(sp.name, status="error", reason=reason))
        res.name = sp.name
        if sp.description and not res.detail:
            res.detail = sp.description
        out.append(res)
    return out


def run_case(case, out, *, quick: bool = False, scheduler: str | None = None,
             progress: bool = True, overrides: Mapping | None = None, force: Iterable = (),
             log: Callable[[str], None] | None = None, until: str | None = None) -> dict:
    """Run a case study and write its report; return the report.

    Parameters
    ----------
    case : str or CaseStudy
        Case name (see :func:`available_cases`) or instance.
    out : str or Path
        Output folder (created; must be writable).
    quick : bool
        Use the case's reduced settings; the report lists every reduction and skipped check.
    scheduler : str, optional
        ``"tcp://host:port"`` or ``"local"``: dask cluster for steps that run many tasks.
    progress : bool
        Progress bars on standard error.
    overrides : dict, optional
        Parameter values replacing the case's (unknown names are an error).
    force : iterable of str
        Steps to recompute even when cached (``"all"`` for every step).
    log : callable, optional
        Receives messages (default: print to standard error).
    until : str, optional
        Run the steps up to and including this one; later steps (and the checks that need
        them) are reported as skipped. Cached results of the steps that run are used and
        written as usual, so a later run without ``until`` resumes from them.

    Returns
    -------
    dict
        The report, also written to ``<out>/report.json``::

            {"format", "case", "title", "version", "status": "ok" | "incomplete" | "failed",
             "quick": {"enabled", "reductions", "skipped_checks"}, "reductions",
             "params", "steps": [{"name", "status", "reason", "seconds", "cpu_s", "key"}],
             "checks": [{"name", "value", "reference", "tolerance", "pass", "status", ...}],
             "comparisons": [{"name", "value", "reference", "status", "no_claim",
                              "detail", "reason"}],
             "figures": [{"name", "png", "pdf", "csv"}], "summary", "messages", "out",
             "wall_s"}

        ``status`` is ``"failed"`` if a step raised an error, a check failed or a comparison
        could not be computed (``"error"``), ``"incomplete"`` if a step, check or comparison
        was skipped, else ``"ok"``. The measured values of comparisons never affect it.
    """
    if isinstance(case, str):
        case = get_case(case)
    if scheduler is not None and not (scheduler == "local" or str(scheduler).startswith(
            ("tcp://", "tls://", "inproc://"))):
        raise ParameterError(f"scheduler = {scheduler!r} is not a scheduler address; give "
                             "'tcp://host:port' or 'local'")
    params = case.settings(quick, overrides)
    step_names = [st.name for st in case.steps]
    if until is not None:
        check_choice("until", until, step_names)
    last = step_names.index(until) if until is not None else len(step_names) - 1
    out = prepare_out_dir(out)
    messages: list = []

    def _log(msg):
        messages.append(msg)
        if log is not None:
            log(msg)
        else:
            try:
                from tqdm.auto import tqdm

                tqdm.write(f"[{case.name}] {msg}", file=sys.stderr)
            except Exception:  # pragma: no cover
                print(f"[{case.name}] {msg}", file=sys.stderr)

    force = set(force or ())
    cache = StepCache(out / "cache")
    ctx = RunContext(case, params, quick, out, scheduler, progress, _log)
    ctx._cache = cache
    keys: dict = {}
    t_run = time.perf_counter()
    for i_step, st in enumerate(_progress(case.steps, len(case.steps), f"{case.name}",
                                          progress)):
        uses = sorted(params) if st.uses is None else list(st.uses)
        source = _step_source_hash(case, st.method)
        key = _hash({"case": case.name, "step": st.name, "inputs": {k: params[k] for k in uses},
                     "deps": {d: keys.get(d) for d in st.after}, "source": source,
                     "version": cache.version, "cache_format": CACHE_FORMAT})
        keys[st.name] = key
        rec = {"name": st.name, "status": "", "reason": "", "seconds": 0.0, "key": key[:16],
               "description": st.description}
        t0, c0 = time.perf_counter(), time.process_time()
        missing = [d for d in st.after if not ctx.has(d)]
        if i_step > last:
            rec.update(status="skipped", reason=f"--until {until}")
        elif missing:
            d = missing[0]
            rec.update(status="skipped", reason=f"needs step {d!r}, which "
                       f"{ctx._status[d]['status']}")
        else:
            hit = False
            if st.cache and not ({"all", st.name} & force):
                hit, result, msg = cache.load(st.name, key)
                if msg:
                    _log(msg)
            if hit:
                rec["status"] = "cached"
                ctx._results[st.name] = result
            else:
                ctx._current = (st.name, key) if st.cache else None
                try:
                    result = getattr(case, st.method)(ctx)
                except StepSkipped as exc:
                    rec.update(status="skipped", reason=str(exc))
                except ModuleNotFoundError as exc:
                    rec.update(status="skipped", reason=(
                        f"capability not available in this build ({exc}; module "
                        f"{exc.name!r} is missing)"))
                except (KeyboardInterrupt, SystemExit):
                    raise
                except Exception as exc:
                    tb = traceback.format_exc(limit=6)
                    rec.update(status="failed", reason=f"{type(exc).__name__}: {exc}",
                               traceback=tb)
                    _log(f"step {st.name!r} failed: {type(exc).__name__}: {exc}")
                else:
                    rec["status"] = "done"
                    ctx._results[st.name] = result
                    if st.cache:
                        msg = cache.store(st.name, key, result, {
                            "case": case.name, "step": st.name,
                            "inputs": {k: params[k] for k in uses}, "source": source})
                        if msg:
                            _log(msg)
                        else:
                            shutil.rmtree(cache.root / _task_folder(st.name, key),
                                          ignore_errors=True)
                ctx._current = None
        rec["seconds"] = round(time.perf_counter() - t0, 3)
        rec["cpu_s"] = round(time.process_time() - c0, 3)   # this process only (not workers)
        ctx._status[st.name] = rec
        if rec["status"] == "skipped":
            _log(f"step {st.name!r} skipped: {rec['reason']}")

    checks = _evaluate(case, ctx, case.checks, Check, quick)
    comparisons = _evaluate(case, ctx, case.comparisons, Comparison, quick)
    for cm, spec in zip(comparisons, case.comparisons):
        cm.no_claim = spec.no_claim

    steps = [ctx._status[s.name] for s in case.steps]
    # a comparison's numbers never count; one that could not be computed does (like a check)
    failed = (any(s["status"] == "failed" for s in steps)
              or any(c.status == "fail" for c in checks)
              or any(c.status == "error" for c in comparisons))
    incomplete = any(s["status"] == "skipped" for s in steps) or any(
        c.status == "skipped" for c in (*checks, *comparisons))
    # what quick changed, with the values actually used (a --set override wins)
    reductions = ({k: {"full": case.params.get(k), "quick": params[k]} for k in case.quick}
                  if quick else {})
    report = {
        "format": REPORT_FORMAT,
        "case": case.name,
        "title": case.title,
        "version": cache.version,
        "status": "failed" if failed else ("incomplete" if incomplete else "ok"),
        "quick": {"enabled": bool(quick), "reductions": reductions,
                  "skipped_checks": dict(case.quick_skips) if quick else {}},
        "reductions": reductions,
        "params": params,
        "steps": steps,
        "checks": [c.as_dict() for c in checks],
        "comparisons": [c.as_dict() for c in comparisons],
        "figures": ctx.figures,
        "summary": ctx.summary,
        "messages": messages,
        "out": str(out),
        "wall_s": round(time.perf_counter() - t_run, 3),
    }
    report = _jsonable(report)
    atomic_write_bytes(out / "report.json", (json.dumps(report, indent=2) + "\n").encode())
    return report
