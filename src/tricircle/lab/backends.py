"""The machine's PostgreSQL for the pods' databases: used where it already runs, else started.

On this project's machines it already runs on 127.0.0.1 (trust auth for ``postgres``); the lab
then only adds its own databases and never restarts or reconfigures it. On a fresh machine, where
the README's setup installed it from Debian's packages but nothing runs it, the lab starts it
itself (loopback only) and ``lab down`` stops what it started. Tricircle's own database and the
pods' broker run as the lab's own processes (``tricircle_postgres``, ``broker``).
"""

from __future__ import annotations

import glob
import shutil
import subprocess
import time
from pathlib import Path

import psycopg2
from psycopg2 import sql

from tricircle.lab import processes
from tricircle.lab.layout import HOST, LabLayout

POSTGRES_PORT = 5432


def _started_marker(layout: LabLayout, name: str) -> Path:
    return layout.root / f"started-{name}"


def ensure_postgres(layout: LabLayout) -> str:
    """Make PostgreSQL answer on 127.0.0.1:5432; returns how (``found`` or ``started``)."""
    if processes.port_in_use(POSTGRES_PORT):
        return "found"
    clusters = sorted(glob.glob("/etc/postgresql/*/main"))
    if not clusters or not shutil.which("pg_ctlcluster"):
        raise processes.LabError(
            "postgresql: nothing listens on 127.0.0.1:5432 and no Debian cluster is installed; "
            "run the README's setup (tools/setup.sh)"
        )
    version = Path(clusters[-1]).parent.name
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=True
    )
    _started_marker(layout, "postgresql").write_text(version)
    _wait_port("postgresql", POSTGRES_PORT)
    return "started"


def stop_started_backends(layout: LabLayout) -> list[str]:
    """Stop the backends this lab started itself (never ones it found running)."""
    stopped = []
    marker = _started_marker(layout, "postgresql")
    if marker.exists():
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", marker.read_text(), "main", "stop"],
            check=False,
        )
        marker.unlink()
        stopped.append("postgresql")
    return stopped


def _wait_port(name: str, port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not processes.port_in_use(port):
        if time.monotonic() > deadline:
            raise processes.LabError(f"{name} did not listen on {HOST}:{port} in {timeout:.0f}s")
        time.sleep(0.2)


def _admin_connection(port: int = POSTGRES_PORT) -> psycopg2.extensions.connection:
    connection = psycopg2.connect(host=HOST, port=port, user="postgres", dbname="postgres")
    connection.autocommit = True
    return connection


def _run_admin_statements(statements: list[sql.Composable], port: int = POSTGRES_PORT) -> None:
    """Run each statement on the ``postgres`` database of the server on ``port``, outside any
    transaction."""
    connection = _admin_connection(port)
    try:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        connection.close()


def _drop(name: str) -> sql.Composable:
    return sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))


def recreate_databases(names: list[str], port: int = POSTGRES_PORT) -> None:
    """Drop (forcing out any session) and create each database, empty, on the server on
    ``port`` (the machine's shared one by default)."""
    statements: list[sql.Composable] = []
    for name in names:
        statements += [_drop(name), sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))]
    _run_admin_statements(statements, port)


def copy_databases(pairs: list[tuple[str, str]]) -> None:
    """Replace each target database with a copy of its template: ``(template, target)`` pairs."""
    statements: list[sql.Composable] = []
    for template, target in pairs:
        statements += [
            _drop(target),
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(target), sql.Identifier(template)
            ),
        ]
    _run_admin_statements(statements)


def drop_databases(names: list[str]) -> None:
    """Drop each database if it exists."""
    _run_admin_statements([_drop(name) for name in names])


def existing_databases(prefix: str) -> set[str]:
    """Names of databases starting with ``prefix``."""
    connection = _admin_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (prefix + "%",))
            return {row[0] for row in cursor.fetchall()}
    finally:
        connection.close()


def host_mapped(database: str, host: str) -> bool:
    """True if Nova's API database ``database`` maps compute host ``host`` to a cell."""
    connection = psycopg2.connect(host=HOST, port=POSTGRES_PORT, user="postgres", dbname=database)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM host_mappings WHERE host = %s", (host,))
            return cursor.fetchone() is not None
    finally:
        connection.close()


def enable_cinder_service(database: str, host: str, binary: str) -> None:
    """Clear a Cinder service's disabled flag in the pod's database ``database``.

    Cinder 29's ``os-services/enable`` answers "enabled" but never clears the flag.
    """
    connection = psycopg2.connect(host=HOST, port=POSTGRES_PORT, user="postgres", dbname=database)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(
                "UPDATE services SET disabled = false, disabled_reason = NULL "
                'WHERE host = %s AND "binary" = %s',
                (host, binary),
            )
    finally:
        connection.close()
