"""The ``snnreduce`` command: ``simulate``, ``reduce``, ``continue``, ``reproduce``, ...

Each subcommand lives in its own module of this package with a ``register(subparsers)``
function; :data:`SUBCOMMANDS` lists them. Errors in user input (:class:`ParameterError` and
friends) are printed as one clear line and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from simulate.validation import ParameterError

SUBCOMMANDS = (
    "case_studies.cli.simulate_cmd",
    "case_studies.cli.reduce_cmd",
    "case_studies.cli.continue_cmd",
    "case_studies.cli.reproduce_cmd",
    "case_studies.cli.attractors_cmd",
    "case_studies.cli.switching_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    """The ``snnreduce`` argument parser with every subcommand of ``SUBCOMMANDS`` registered."""
    parser = argparse.ArgumentParser(
        prog="snnreduce",
        description="Spiking E/I networks -> differential equations -> bifurcation diagrams.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``snnreduce`` command; ``argv`` defaults to ``sys.argv[1:]``.

    Returns the exit status; a :class:`simulate.ParameterError` (bad input) is printed as one
    line and gives status 2, with nothing written.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ParameterError, FileNotFoundError, OSError, KeyError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"snnreduce {args.command}: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
