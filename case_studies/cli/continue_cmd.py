"""``snnreduce continue``: placeholder while the capability is built (see the issue tracker)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("continue", help="(in development)")
    p.set_defaults(func=run)


def run(args) -> int:
    raise SystemExit("snnreduce continue: not available yet in this build")
