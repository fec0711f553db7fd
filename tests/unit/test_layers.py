"""Imports point downwards: the layers below the API load without it, the CLI without the lab."""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCKER = """
import importlib.abc
import sys


class Blocked(importlib.abc.MetaPathFinder):
    def __init__(self, *prefixes):
        self.prefixes = prefixes

    def find_spec(self, name, path=None, target=None):
        if any(name == prefix or name.startswith(prefix + ".") for prefix in self.prefixes):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None
"""


def _run(body: str) -> subprocess.CompletedProcess[str]:
    code = BLOCKER + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


def test_network_jobs_db_and_pods_import_without_the_api():
    result = _run(
        """
        sys.meta_path.insert(0, Blocked("tricircle.api"))
        import pkgutil

        import tricircle

        imported = []
        for package in ("conf", "network", "jobs", "db", "pods", "reconcile"):
            module = __import__(f"tricircle.{package}", fromlist=["_"])
            imported.append(module.__name__)
            path = getattr(module, "__path__", [])
            for info in pkgutil.walk_packages(path, module.__name__ + "."):
                if ".migrations.versions." in info.name or info.name.endswith("migrations.env"):
                    continue
                __import__(info.name)
                imported.append(info.name)
        from tricircle.jobs.handlers import load_handler_modules

        handlers = load_handler_modules()
        assert "server_ports_cleanup" in handlers and "router_setup" in handlers, handlers
        assert not [name for name in sys.modules if name.startswith("tricircle.api")]
        print(len(imported))
        """
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[-1]) > 20


def test_tricircle_help_works_without_openstacksdk():
    result = _run(
        """
        sys.meta_path.insert(0, Blocked("openstack"))
        sys.modules.pop("openstack", None)
        from tricircle import cli

        try:
            cli.main(["--help"])
        except SystemExit as exc:
            assert exc.code == 0, exc.code
        assert "tricircle.lab.commands" not in sys.modules
        """
    )
    assert result.returncode == 0, result.stderr
    assert "{db,api,xjob,job,pod,reconcile}" in result.stdout
