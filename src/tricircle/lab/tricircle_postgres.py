"""The lab's own PostgreSQL server, holding Tricircle's database only.

Tricircle's database lives apart from the machine's shared PostgreSQL (which holds the pods'
databases and must never be restarted) so that a fault test can restart the server under
Tricircle's gateways and workers, as an operator's database restart or crash would.

The server runs as the ``postgres`` system user (PostgreSQL refuses root) on
``LabLayout.port("tricircle_database")``, loopback only and without a Unix socket. Its data
directory is made fresh on every ``lab up`` from an ``initdb`` kept in the lab's templates and
lives outside the lab's own folder (``/tmp/<db prefix>-postgres``), which that user may not be
able to reach. It trades durability for speed (``fsync=off``): a killed server recovers, a lost
machine loses the lab anyway.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg2

from tricircle.lab import processes
from tricircle.lab.layout import HOST, LabLayout

PROCESS = "tricircle-postgres"
SYSTEM_USER = "postgres"
SETTINGS = {
    "listen_addresses": HOST,
    "unix_socket_directories": "",
    "max_connections": "200",
    "shared_buffers": "32MB",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}


def server_binaries() -> Path:
    """The newest installed PostgreSQL server's ``bin`` folder."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(Path(p).parts[-3])
    )
    if not found:
        raise processes.LabError(
            "postgresql: no server binaries in /usr/lib/postgresql; run tools/setup.sh"
        )
    return Path(found[-1]).parent


def data_dir(layout: LabLayout) -> Path:
    """Where the running server keeps its data (outside the lab's folder, see the module)."""
    return Path(tempfile.gettempdir()) / f"{layout.db_prefix}-postgres"


def _as_system_user(argv: list[str]) -> list[str]:
    """``argv`` run as the ``postgres`` user (``setpriv`` execs it: one process, one group)."""
    return [
        "setpriv",
        f"--reuid={SYSTEM_USER}",
        f"--regid={SYSTEM_USER}",
        "--init-groups",
        "--",
        *argv,
    ]


def _chown_tree(path: Path) -> None:
    shutil.chown(path, SYSTEM_USER, SYSTEM_USER)
    for child in path.rglob("*"):
        shutil.chown(child, SYSTEM_USER, SYSTEM_USER)


def _make_template(layout: LabLayout, template: Path) -> None:
    """``initdb`` a cluster (where the ``postgres`` user can write) and keep it as ``template``."""
    scratch = data_dir(layout)
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(mode=0o700)
    _chown_tree(scratch)
    initdb = [
        str(server_binaries() / "initdb"),
        f"--pgdata={scratch}",
        f"--username={SYSTEM_USER}",
        "--auth=trust",
        "--encoding=UTF8",
        "--locale=C.UTF-8",
        "--no-sync",
    ]
    result = subprocess.run(_as_system_user(initdb), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise processes.LabError(f"postgresql: initdb failed: {result.stderr.strip()}")
    partial = template.with_name(f"{template.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(scratch, partial)
    partial.rename(template)


def _fresh_data_dir(layout: LabLayout) -> None:
    """An empty cluster in ``data_dir``: a copy of the template, made by ``initdb`` once."""
    template = layout.root / "templates" / "tricircle-postgres"
    if not template.exists():
        _make_template(layout, template)
    target = data_dir(layout)
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(template, target)
    target.chmod(0o700)
    _chown_tree(target)


def server_argv(layout: LabLayout) -> list[str]:
    """The command that runs the server (also what ``lab restart`` runs again)."""
    settings = [arg for key, value in SETTINGS.items() for arg in ("-c", f"{key}={value}")]
    return _as_system_user(
        [
            str(server_binaries() / "postgres"),
            "-D",
            str(data_dir(layout)),
            "-p",
            str(layout.port("tricircle_database")),
            *settings,
        ]
    )


def url(layout: LabLayout, database: str) -> str:
    """SQLAlchemy URL of ``database`` on the lab's own server."""
    return (
        f"postgresql+psycopg2://{SYSTEM_USER}@{HOST}:{layout.port('tricircle_database')}/{database}"
    )


def wait_ready(layout: LabLayout, timeout: float = 30.0) -> None:
    """Return once the server accepts connections (recovery after a crash included)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg2.connect(
                host=HOST,
                port=layout.port("tricircle_database"),
                user=SYSTEM_USER,
                dbname="postgres",
                connect_timeout=2,
            ).close()
            return
        except psycopg2.OperationalError as exc:
            if time.monotonic() > deadline:
                raise processes.LabError(
                    f"{PROCESS} did not accept connections within {timeout:.0f}s ({exc}); see "
                    f"{processes.log_path(layout, PROCESS)}"
                ) from exc
            time.sleep(0.2)


def start(layout: LabLayout) -> None:
    """Start the server on a fresh cluster and wait until it accepts connections."""
    _fresh_data_dir(layout)
    processes.start(layout, PROCESS, server_argv(layout))
    wait_ready(layout)


def remove(layout: LabLayout) -> None:
    """Remove the data directory (after ``lab down`` stopped the server)."""
    shutil.rmtree(data_dir(layout), ignore_errors=True)
