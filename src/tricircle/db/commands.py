"""Subcommands of the db part: ``tricircle db upgrade``."""

from __future__ import annotations

import argparse

from tricircle import conf, logs
from tricircle.db import migrations
from tricircle.db.engine import engine_from_conf


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``db upgrade``."""
    db_parser = subparsers.add_parser("db", help="Tricircle's database.")
    db_commands = db_parser.add_subparsers(dest="db_command", required=True)
    upgrade_parser = db_commands.add_parser(
        "upgrade", help="Migrate the [database] connection's schema (Alembic)."
    )
    upgrade_parser.add_argument("revision", nargs="?", default="head", help="Target (head).")
    upgrade_parser.set_defaults(handler=upgrade)


def upgrade(args: argparse.Namespace) -> int:
    """Run the Alembic migrations up to ``args.revision``."""
    logs.configure_command()
    config = conf.load(args.config_file)
    engine = engine_from_conf(config.database)
    migrations.upgrade(engine, args.revision)
    print(f"database at revision {migrations.current_revision(engine)}")
    return 0
