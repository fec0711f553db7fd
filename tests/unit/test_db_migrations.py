"""The Alembic migrations build exactly the schema of models.py, and the CLI runs them."""

from __future__ import annotations

import datetime as dt

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from tricircle import cli
from tricircle.db import migrations
from tricircle.db.engine import make_engine
from tricircle.db.models import Base

HEAD = ScriptDirectory(migrations.SCRIPT_LOCATION).get_current_head()


def test_upgrade_reaches_head_with_every_table(engine):
    assert migrations.current_revision(engine) == HEAD
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_migrations_match_models(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_partial_unique_indexes_exist(engine):
    indexes = {index["name"]: index for index in inspect(engine).get_indexes("jobs")}
    assert indexes["uq_jobs_pending_resource"]["unique"]
    pod_indexes = {index["name"]: index for index in inspect(engine).get_indexes("pods")}
    assert pod_indexes["uq_pods_top_pod"]["unique"]


def test_downgrade_then_upgrade_round_trips(engine):
    migrations.downgrade(engine)
    assert migrations.current_revision(engine) is None
    assert not set(Base.metadata.tables) & set(inspect(engine).get_table_names())
    migrations.upgrade(engine)
    assert migrations.current_revision(engine) == HEAD


def test_cli_db_upgrade_uses_database_connection(tmp_path, capsys):
    database = tmp_path / "cli.sqlite"
    config_file = tmp_path / "tricircle.conf"
    config_file.write_text(f"[database]\nconnection = sqlite:///{database}\n")
    assert cli.main(["--config-file", str(config_file), "db", "upgrade"]) == 0
    assert f"revision {HEAD}" in capsys.readouterr().out
    engine = make_engine(f"sqlite:///{database}")
    assert migrations.current_revision(engine) == HEAD
    engine.dispose()


def test_script_location_is_inside_the_package():
    assert migrations.SCRIPT_LOCATION.endswith("tricircle/db/migrations")


def test_0002_fills_binding_az_and_keeps_the_oldest_binding_per_az(engine):
    migrations.downgrade(engine, "0001")
    old, new = dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 2)
    with engine.begin() as connection:
        for pod_id, az_name in [("pod-a", "az1"), ("pod-b", "az1"), ("pod-c", "az2")]:
            connection.execute(
                text(
                    "INSERT INTO pods (pod_id, region_name, az_name, pod_az_name, dc_name)"
                    " VALUES (:pod_id, :pod_id, :az_name, '', '')"
                ),
                {"pod_id": pod_id, "az_name": az_name},
            )
        for binding_id, pod_id, created_at in [
            ("b-new", "pod-a", new),
            ("b-old", "pod-b", old),
            ("b-other-az", "pod-c", new),
        ]:
            connection.execute(
                text(
                    "INSERT INTO pod_bindings (id, project_id, pod_id, created_at, updated_at)"
                    " VALUES (:id, 'p1', :pod_id, :created_at, :created_at)"
                ),
                {"id": binding_id, "pod_id": pod_id, "created_at": created_at},
            )
    migrations.upgrade(engine, "0002")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, az_name FROM pod_bindings ORDER BY id")).all()
        enabled = connection.execute(text("SELECT is_enabled FROM pods")).scalars().all()
    assert [tuple(row) for row in rows] == [("b-old", "az1"), ("b-other-az", "az2")]
    assert enabled == [True, True, True]


def test_0007_downgrade_keeps_reservations_in_flight_only(engine):
    expires_at, released_at = dt.datetime(2026, 1, 1, 0, 10), dt.datetime(2026, 1, 1)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO quota_projects (project_id, created_at, updated_at)"
                " VALUES ('p1', :at, :at)"
            ),
            {"at": released_at},
        )
        for reservation_id, released in [("in-flight", None), ("released", released_at)]:
            connection.execute(
                text(
                    "INSERT INTO quota_reservations"
                    " (reservation_id, project_id, resource, amount, expires_at, released_at)"
                    " VALUES (:id, 'p1', 'instances', 1, :expires_at, :released_at)"
                ),
                {"id": reservation_id, "expires_at": expires_at, "released_at": released},
            )
    migrations.downgrade(engine, "0006")
    with engine.connect() as connection:
        kept = connection.execute(text("SELECT reservation_id FROM quota_reservations")).all()
    assert [tuple(row) for row in kept] == [("in-flight",)]
    assert "quota_usage_counts" not in inspect(engine).get_table_names()
    migrations.upgrade(engine)
