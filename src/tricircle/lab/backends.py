"""PostgreSQL and RabbitMQ for the lab's Nova: used where they already run, else started here.

On this project's machines both already run on 127.0.0.1 (PostgreSQL with trust auth, RabbitMQ
with guest/guest); the lab then only adds its own databases and virtual hosts and never restarts or
reconfigures them. On a fresh machine, where the README's setup installed them from Debian's
packages but nothing runs them, the lab starts them itself (loopback only) and ``lab down`` stops
what it started.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from pathlib import Path

import psycopg2
from psycopg2 import sql

from tricircle.lab import processes
from tricircle.lab.layout import HOST, LabLayout, PodLayout

POSTGRES_PORT = 5432
RABBIT_PORT = 5672
RABBIT_ENV = {
    "RABBITMQ_NODE_IP_ADDRESS": HOST,
    "RABBITMQ_NODENAME": "rabbit@localhost",
    "ERL_EPMD_ADDRESS": HOST,
    "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
}


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


def ensure_rabbitmq(layout: LabLayout) -> str:
    """Make RabbitMQ answer on 127.0.0.1:5672; returns how (``found`` or ``started``)."""
    if processes.port_in_use(RABBIT_PORT):
        return "found"
    if not shutil.which("rabbitmq-server"):
        raise processes.LabError(
            "rabbitmq: nothing listens on 127.0.0.1:5672 and rabbitmq-server is not installed; "
            "run the README's setup (tools/setup.sh)"
        )
    subprocess.run(["rabbitmq-server", "-detached"], env={**os.environ, **RABBIT_ENV}, check=True)
    _started_marker(layout, "rabbitmq").write_text("rabbit@localhost")
    _wait_port("rabbitmq", RABBIT_PORT, timeout=60)
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
    marker = _started_marker(layout, "rabbitmq")
    if marker.exists():
        subprocess.run(
            ["rabbitmqctl", "-n", marker.read_text(), "stop"],
            env={**os.environ, **RABBIT_ENV},
            check=False,
        )
        marker.unlink()
        stopped.append("rabbitmq")
    return stopped


def _wait_port(name: str, port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not processes.port_in_use(port):
        if time.monotonic() > deadline:
            raise processes.LabError(f"{name} did not listen on {HOST}:{port} in {timeout:.0f}s")
        time.sleep(0.2)


def _rabbitmqctl(layout: LabLayout, *args: str) -> str:
    node = ["-n", "rabbit@localhost"] if _started_marker(layout, "rabbitmq").exists() else []
    result = subprocess.run(
        ["rabbitmqctl", *node, "-q", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **RABBIT_ENV} if node else None,
        check=False,
    )
    if result.returncode != 0:
        raise processes.LabError(f"rabbitmq: rabbitmqctl {args[0]} failed: {result.stderr.strip()}")
    return result.stdout


def ensure_vhosts(layout: LabLayout, pods: list[PodLayout]) -> None:
    """Create each pod's virtual host (once) and let guest use it."""
    existing = set(_rabbitmqctl(layout, "list_vhosts").split())
    for pod in pods:
        if pod.vhost not in existing:
            _rabbitmqctl(layout, "add_vhost", pod.vhost)
            _rabbitmqctl(layout, "set_permissions", "-p", pod.vhost, "guest", ".*", ".*", ".*")


def _admin_connection() -> psycopg2.extensions.connection:
    connection = psycopg2.connect(host=HOST, port=POSTGRES_PORT, user="postgres", dbname="postgres")
    connection.autocommit = True
    return connection


def _run_admin_statements(statements: list[sql.Composable]) -> None:
    """Run each statement on the ``postgres`` database, outside any transaction."""
    connection = _admin_connection()
    try:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        connection.close()


def _drop(name: str) -> sql.Composable:
    return sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))


def recreate_databases(names: list[str]) -> None:
    """Drop (forcing out any session) and create each database, empty."""
    statements: list[sql.Composable] = []
    for name in names:
        statements += [_drop(name), sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))]
    _run_admin_statements(statements)


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
