"""Helpers shared by the subcommands of ``snnreduce``: ``--set`` parsing and JSON output."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from simulate.validation import ParameterError

__all__ = ["parse_sets", "add_common", "emit", "to_jsonable"]


def _parse_value(text: str):
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def parse_sets(items) -> dict:
    """Turn ``["p_ei=0.8", "method=exact"]`` into ``{"p_ei": 0.8, "method": "exact"}``."""
    out = {}
    for item in items or []:
        if "=" not in item:
            raise ParameterError(f"--set {item!r}: expected NAME=VALUE, e.g. --set p_ei=0.8")
        k, v = item.split("=", 1)
        out[k.strip()] = _parse_value(v)
    return out


def add_common(parser: argparse.ArgumentParser, *, sets=True, out=True) -> None:
    """Add ``--set``, ``--json`` and ``--out`` to a subcommand parser."""
    if sets:
        parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                            help="set a parameter by its Python keyword name (repeatable)")
    parser.add_argument("--json", action="store_true",
                        help="print a machine-readable JSON summary on standard output")
    if out:
        parser.add_argument("--out", default=None, help="output file or folder")


def to_jsonable(o):
    """Recursively convert numpy scalars/arrays and other objects for ``json.dumps``."""
    if isinstance(o, dict):
        return {str(k): to_jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [to_jsonable(v) for v in o]
    if isinstance(o, np.ndarray):
        return to_jsonable(o.tolist())
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, float) and not np.isfinite(o):
        return None
    return o


def emit(summary: dict, as_json: bool, stream=None) -> None:
    """Print ``summary``: JSON when ``as_json``, else a short human-readable listing."""
    stream = stream or sys.stdout
    if as_json:
        stream.write(json.dumps(to_jsonable(summary), indent=2) + "\n")
        return
    for k, v in summary.items():
        if isinstance(v, dict) and len(v) > 8:
            v = "{...}"
        stream.write(f"{k}: {v}\n")
