"""The ``openstack`` CLI, pointed at RegionOne only, drives the Nova gateway like one cloud."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tricircle.lab.layout import DEMO_PROJECT, DEMO_USER, FLAVOR, IMAGE, PASSWORD

pytestmark = pytest.mark.integration

OPENSTACK = str(Path(sys.executable).parent / "openstack")


@pytest.fixture(scope="module")
def cli(compute_lab):
    """Run ``openstack <args>`` as the demo user on RegionOne; its JSON output when ``output``."""
    env = {
        **os.environ,
        **compute_lab.admin_auth(),
        "OS_USERNAME": DEMO_USER,
        "OS_PASSWORD": PASSWORD,
        "OS_PROJECT_NAME": DEMO_PROJECT,
    }

    def run(*args: str, output: bool = True) -> object:
        formatting = ["-f", "json"] if output else []
        done = subprocess.run(
            [OPENSTACK, *args, *formatting], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else None

    return run


def test_cli_boots_lists_and_deletes_through_the_gateway(cli):
    zones = {zone["Zone Name"] for zone in cli("availability", "zone", "list", "--compute")}
    assert {"az1", "az2"} <= zones
    assert FLAVOR in {flavor["Name"] for flavor in cli("flavor", "list")}
    server = cli(
        "server",
        "create",
        "--flavor",
        FLAVOR,
        "--image",
        IMAGE,
        "--nic",
        "none",
        "--availability-zone",
        "az2",
        "--wait",
        "gw-cli",
    )
    try:
        assert server["status"] == "ACTIVE" and server["OS-EXT-AZ:availability_zone"] == "az2"
        listed = cli("server", "list", "--name", "^gw-cli$")
        assert [entry["ID"] for entry in listed] == [server["id"]]
        cli("server", "stop", server["id"], output=False)
        stopped = cli("server", "show", server["id"])
        assert stopped["status"] in ("ACTIVE", "SHUTOFF")
    finally:
        cli("server", "delete", "--wait", server["id"], output=False)
    assert cli("server", "list", "--name", "^gw-cli$") == []
