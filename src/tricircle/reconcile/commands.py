"""``tricircle reconcile [--dry-run] [--pod REGION] [--project ID]``."""

from __future__ import annotations

import argparse
import logging

from tricircle import conf, logs
from tricircle.db.engine import engine_from_conf, make_session_factory
from tricircle.reconcile.run import context_from_conf, reconcile


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``reconcile``."""
    parser = subparsers.add_parser(
        "reconcile", help="Find (and repair) drift between the top and the pods."
    )
    parser.add_argument("--dry-run", action="store_true", help="Report only; change nothing.")
    parser.add_argument(
        "--pod", dest="region_name", metavar="REGION", help="Only this pod (its region name)."
    )
    parser.add_argument(
        "--project", dest="project_id", metavar="ID", help="Only this project's resources."
    )
    parser.set_defaults(handler=run_reconcile)


def run_reconcile(args: argparse.Namespace) -> int:
    """Run one pass and print its summary (``nothing found`` when there is no drift)."""
    logs.configure_command(logging.WARNING)
    config = conf.load(args.config_file)
    engine = engine_from_conf(config.database)
    context = context_from_conf(
        config,
        make_session_factory(engine),
        dry_run=args.dry_run,
        region_name=args.region_name,
        project_id=args.project_id,
    )
    try:
        lines = reconcile(context, config.network.bridge_cidr)
    finally:
        engine.dispose()
    print("\n".join(lines) if lines else "nothing found")
    return 0
