"""The lab's own PostgreSQL server for Tricircle's database: its command and places."""

from __future__ import annotations

from pathlib import Path

from tricircle.lab import tricircle_postgres
from tricircle.lab.layout import LabLayout


def test_server_runs_as_postgres_on_loopback_on_its_lab_port(tmp_path, monkeypatch):
    monkeypatch.setattr(tricircle_postgres, "server_binaries", lambda: Path("/pg/bin"))
    layout = LabLayout(root=tmp_path, base_port=22000)
    argv = tricircle_postgres.server_argv(layout)
    assert argv[:5] == ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]
    assert argv[5:10] == [
        "/pg/bin/postgres",
        "-D",
        str(tricircle_postgres.data_dir(layout)),
        "-p",
        "22006",
    ]
    settings = dict(arg.split("=", 1) for arg in argv[11::2])
    assert settings["listen_addresses"] == "127.0.0.1"
    assert settings["unix_socket_directories"] == ""


def test_each_lab_has_its_own_data_directory_outside_its_folder(tmp_path):
    first = tricircle_postgres.data_dir(LabLayout(root=tmp_path, base_port=22000))
    second = tricircle_postgres.data_dir(LabLayout(root=tmp_path, base_port=23000))
    assert first != second
    assert tmp_path not in first.parents


def test_newest_installed_server_is_chosen(monkeypatch):
    found = ["/usr/lib/postgresql/9/bin/postgres", "/usr/lib/postgresql/15/bin/postgres"]
    monkeypatch.setattr(tricircle_postgres.glob, "glob", lambda _pattern: found)
    assert tricircle_postgres.server_binaries() == Path("/usr/lib/postgresql/15/bin")
