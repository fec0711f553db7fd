"""Shared helpers of the cross-pod networking tests: Tricircle's own view of the lab.

The tests build the mirroring library exactly as the lab's Tricircle processes do: from the lab's
``tricircle.conf`` (its database and Tricircle's service identity).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from keystoneauth1 import adapter
from oslo_config import cfg
from sqlalchemy.orm import Session, sessionmaker

from tricircle import conf as tricircle_conf
from tricircle.db import pods as pod_queries
from tricircle.db.engine import make_engine, make_session_factory
from tricircle.db.models import Pod
from tricircle.lab.layout import LabLayout
from tricircle.network.mirror import BottomMirror
from tricircle.pods.client import PodClients


def lab_conf(lab: LabLayout) -> cfg.ConfigOpts:
    """A private ConfigOpts loaded from the lab's ``tricircle.conf``."""
    conf = cfg.ConfigOpts()
    for group, opts in tricircle_conf.list_opts():
        conf.register_opts(opts, group=group)
    conf(
        [],
        project="tricircle",
        default_config_files=[str(lab.root / "tricircle" / "tricircle.conf")],
    )
    return conf


def reconcile(
    lab: LabLayout, project_id: str, *options: str, extra_config: Path | None = None
) -> list[str]:
    """Run ``tricircle reconcile`` for one project as an operator would (with ``extra_config``
    read after the lab's configuration); its summary lines."""
    config_files = [lab.root / "tricircle" / "tricircle.conf", *filter(None, [extra_config])]
    result = subprocess.run(
        [sys.executable, "-m", "tricircle.cli"]
        + [argument for path in config_files for argument in ("--config-file", str(path))]
        + ["reconcile", "--project", project_id, *options],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()


def reconcile_counts(lines: list[str]) -> dict[str, int]:
    """``kind: count`` summary lines as a dict (empty for ``nothing found``)."""
    return {
        kind: int(count) for kind, count in (line.split(": ") for line in lines if ": " in line)
    }


def lab_mirror(lab: LabLayout) -> BottomMirror:
    """The mirroring library over the lab's Tricircle database and pods."""
    conf = lab_conf(lab)
    session_factory = make_session_factory(make_engine(conf.database.connection))
    return BottomMirror(session_factory, PodClients.from_conf(conf), conf.client.top_region_name)


def lab_pod(session_factory: sessionmaker[Session], region_name: str) -> Pod:
    """The registered pod of ``region_name``."""
    with session_factory() as session:
        pod = pod_queries.get_pod_by_region(session, region_name)
    assert pod is not None, f"pod {region_name} is not registered"
    return pod


def neutron_get(api: adapter.Adapter, path: str, key: str) -> Any:
    """GET ``path`` from a Neutron and return ``key`` of its answer."""
    return api.get(f"/v2.0/{path}").json()[key]


Get = Callable[[adapter.Adapter, str, str], Any]
