"""``snnreduce reproduce CASE``: run a case study end to end (simulate, reduce, continue, figures).

Examples::

    snnreduce reproduce gamma --quick --out gamma-quick --json
    snnreduce reproduce gamma --scheduler tcp://10.0.0.5:8786
    snnreduce reproduce --list

Finished steps are cached in ``<out>/cache`` and skipped on a rerun; an interrupted run
resumes. The report is ``<out>/report.json`` (printed with ``--json``). Exit status: 0 when
every check passed or was skipped, 1 when a step failed or a check failed, 2 on bad input.
See docs/case_studies.md.
"""

from __future__ import annotations

import sys

from .common import emit, parse_sets


def register(sub) -> None:
    """Add the ``snnreduce reproduce`` subcommand (case studies) to the parser's ``sub``
    (an ``argparse`` subparsers object)."""
    p = sub.add_parser(
        "reproduce", help="run a case study end to end and write figures and a report",
        description="Run a case study (simulate -> reduce -> continue -> figures and checks). "
        "Example: snnreduce reproduce gamma --quick --out gamma-quick --json",
    )
    p.add_argument("case", nargs="?", help="case study name (see --list)")
    p.add_argument("--list", action="store_true", help="list the available cases and exit")
    p.add_argument("--quick", action="store_true",
                   help="reduced settings (the report lists every reduction and skipped check)")
    p.add_argument("--out", default=None,
                   help="output folder (default ./snnreduce-CASE or ./snnreduce-CASE-quick)")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT|local",
                   help="dask scheduler for steps that run many simulations")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a case parameter (repeatable)")
    p.add_argument("--force", action="append", default=[], metavar="STEP",
                   help="recompute STEP even if cached ('all' for every step; repeatable)")
    p.add_argument("--until", default=None, metavar="STEP",
                   help="run the steps up to and including STEP only (later steps are "
                   "reported as skipped; a later run resumes from the cache)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true",
                   help="print the JSON report on standard output")
    p.set_defaults(func=run)


def run(args) -> int:
    """Execute ``snnreduce reproduce`` with parsed ``args``; return the exit status
    (0 success, 1 a failed step or check, 2 bad input)."""
    from simulate.validation import ParameterError

    from ..framework import available_cases, get_case, run_case

    if args.list:
        rows = {}
        for name in available_cases():
            try:
                rows[name] = get_case(name).title
            except Exception as exc:  # a case module that does not import
                rows[name] = f"(cannot load: {type(exc).__name__}: {exc})"
        emit({"cases": rows} if args.json else rows, args.json)
        return 0
    if not args.case:
        raise ParameterError("reproduce: give a case name; available cases: "
                             + ", ".join(available_cases()))
    case = get_case(args.case)
    out = args.out or f"snnreduce-{case.name}{'-quick' if args.quick else ''}"
    report = run_case(case, out, quick=args.quick, scheduler=args.scheduler,
                      progress=not args.no_progress, overrides=parse_sets(args.set),
                      force=args.force, until=args.until)
    if args.json:
        emit(report, True)
    else:
        _print_summary(report)
    return 1 if report["status"] == "failed" else 0


def _print_summary(report, stream=None) -> None:
    stream = stream or sys.stdout
    w = stream.write
    w(f"case {report['case']}: {report['title']}  [{report['status']}]\n")
    if report["quick"]["enabled"]:
        red = ", ".join(f"{k} {v['full']} -> {v['quick']}" for k, v in report["reductions"].items())
        w(f"quick run; reduced: {red or 'nothing'}\n")
    for s in report["steps"]:
        extra = f" ({s['reason']})" if s.get("reason") else ""
        w(f"  step {s['name']:<12} {s['status']:<8} {s['seconds']:8.1f} s{extra}\n")
    for c in report["checks"]:
        if c["status"] == "skipped":
            w(f"  check {c['name']}: skipped ({c.get('reason', '')})\n")
        else:
            w(f"  check {c['name']}: {c['status']} (value {c['value']}, reference "
              f"{c['reference']}, tolerance {c['tolerance']})\n")
    for c in report.get("comparisons", ()):
        if c["status"] == "measured":
            w(f"  comparison {c['name']}: {c.get('detail') or c['value']}\n")
        else:
            w(f"  comparison {c['name']}: {c['status']} ({c.get('reason', '')})\n")
    w(f"report: {report['out']}/report.json\n")
