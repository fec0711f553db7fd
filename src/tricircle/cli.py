"""The ``tricircle`` command: one subcommand group per part, each registered by its own module."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMAND_MODULES = (
    "tricircle.lab.commands",
    "tricircle.db.commands",
    "tricircle.api.commands",
    "tricircle.jobs.commands",
    "tricircle.pods.commands",
)


def build_parser() -> argparse.ArgumentParser:
    """The full parser; each module in COMMAND_MODULES adds its subcommands via ``register``."""
    parser = argparse.ArgumentParser(prog="tricircle", description=__doc__)
    parser.add_argument(
        "--config-file",
        action="append",
        default=[],
        help="oslo.config file(s) with Tricircle's options (repeatable).",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
