"""The Alembic migrations build exactly the schema of models.py, and the CLI runs them."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from tricircle import cli
from tricircle.db import migrations
from tricircle.db.engine import make_engine
from tricircle.db.models import Base


def test_upgrade_reaches_head_with_every_table(engine):
    assert migrations.current_revision(engine) == "0001"
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
    assert migrations.current_revision(engine) == "0001"


def test_cli_db_upgrade_uses_database_connection(tmp_path, capsys):
    database = tmp_path / "cli.sqlite"
    config_file = tmp_path / "tricircle.conf"
    config_file.write_text(f"[database]\nconnection = sqlite:///{database}\n")
    assert cli.main(["--config-file", str(config_file), "db", "upgrade"]) == 0
    assert "revision 0001" in capsys.readouterr().out
    engine = make_engine(f"sqlite:///{database}")
    assert migrations.current_revision(engine) == "0001"
    engine.dispose()


def test_script_location_is_inside_the_package():
    assert migrations.SCRIPT_LOCATION.endswith("tricircle/db/migrations")
