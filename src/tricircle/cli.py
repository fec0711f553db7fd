"""The ``tricircle`` command: one subcommand group per part, each registered by its own module.

Without ``--config-file`` the files named by ``TRICIRCLE_CONFIG_FILES`` are read (``tricircle lab
env`` exports it for a lab). A failing subcommand ends with one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from oslo_config import cfg
from sqlalchemy import exc as sa_exc

from tricircle import conf

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


def failure_line(exc: BaseException) -> str:
    """One line saying why a subcommand failed, and what to do where that is known."""
    if isinstance(exc, sa_exc.OperationalError | sa_exc.ProgrammingError):
        if "no such table" in str(exc) or "does not exist" in str(exc):
            return (
                "the database is not initialised: run `tricircle db upgrade`, or point at the "
                f"right configuration with --config-file or {conf.CONFIG_FILES_ENV} "
                "(`tricircle lab env` exports it for a lab)"
            )
        return f"database error: {str(exc.orig).splitlines()[0]}"
    if isinstance(exc, cfg.Error):
        return f"configuration error: {exc}"
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.config_file = args.config_file or conf.environment_config_files()
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line, not a traceback
        print(f"tricircle {args.command}: {failure_line(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
