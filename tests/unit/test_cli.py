"""The ``tricircle`` command fails with one clear line, never a traceback."""

from __future__ import annotations

import pytest

from tricircle import cli, conf


def test_job_list_on_an_uninitialised_database_says_so_in_one_line(tmp_path, monkeypatch, capsys):
    config = tmp_path / "tricircle.conf"
    config.write_text(f"[database]\nconnection = sqlite:///{tmp_path / 'empty.sqlite'}\n")
    monkeypatch.setenv(conf.CONFIG_FILES_ENV, str(config))
    assert cli.main(["job", "list"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "database is not initialised" in err and "tricircle db upgrade" in err


def test_the_environment_names_the_config_files(tmp_path, monkeypatch):
    monkeypatch.setenv(conf.CONFIG_FILES_ENV, f"{tmp_path}/a.conf;{tmp_path}/b.conf")
    assert conf.environment_config_files() == [f"{tmp_path}/a.conf", f"{tmp_path}/b.conf"]


@pytest.mark.parametrize(
    ("error", "expected"),
    [(ValueError("bad\nsecond line"), "ValueError: bad"), (RuntimeError(), "RuntimeError")],
)
def test_any_failure_is_one_line(error, expected):
    assert cli.failure_line(error) == expected
