"""The ``tricircle`` command: one subcommand group per part, each registered by its own module."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

COMMAND_MODULES = (
    "tricircle.db.commands",
    "tricircle.api.commands",
    "tricircle.jobs.commands",
    "tricircle.pods.commands",
    "tricircle.reconcile.commands",
)
# Loaded only where the ``lab`` extra (openstacksdk and the OpenStack services) is installed.
LAB_COMMANDS = "tricircle.lab.commands"


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
    lab = _lab_commands()
    if lab is not None:
        lab.register(subparsers)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def _lab_commands() -> ModuleType | None:
    """The lab's commands, or None where a package of the ``lab`` extra is missing."""
    try:
        return importlib.import_module(LAB_COMMANDS)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] == "tricircle":
            raise
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
