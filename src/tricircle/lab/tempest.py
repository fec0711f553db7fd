"""Stock tempest against the lab's RegionOne: a workspace, its configuration, a run.

Tempest lives in its own virtual environment (``.venv-tempest``, made by ``tools/setup.sh``): its
libraries need not match the versions the lab's services pin. The configuration is what an
operator would write for a cloud whose only region is RegionOne: the lab's Keystone, dynamic
credentials made by the admin, the ``public`` network as the external network, and the central
Neutron's own extension list.
"""

from __future__ import annotations

import configparser
import re
import subprocess
from pathlib import Path

from tricircle.lab.layout import PASSWORD, PUBLIC_NETWORK, TOP_REGION, LabLayout

VENV = Path(__file__).resolve().parents[3] / ".venv-tempest"
TEMPEST = VENV / "bin" / "tempest"


def workspace(layout: LabLayout) -> Path:
    """The lab's tempest workspace (made by ``tempest init`` on first use)."""
    return layout.root / "tempest"


def write_config(layout: LabLayout, public_network_id: str, extensions: list[str]) -> Path:
    """A fresh workspace for the lab with its ``etc/tempest.conf``; returns the workspace."""
    directory = workspace(layout)
    if not (directory / ".stestr.conf").exists():
        # The workspace registry stays in the lab too: ~/.tempest/ would outlive the lab.
        registry = layout.root / "tempest-workspaces.yaml"
        subprocess.run(
            [str(TEMPEST), "init", "--workspace-path", str(registry), str(directory)],
            capture_output=True,
            text=True,
            check=True,
        )
    conf = configparser.ConfigParser()
    conf.read_dict(
        {
            "DEFAULT": {"log_file": str(directory / "logs" / "tempest.log"), "debug": "false"},
            "auth": {
                "admin_username": "admin",
                "admin_password": PASSWORD,
                "admin_project_name": "admin",
                "admin_domain_name": "Default",
                "use_dynamic_credentials": "true",
            },
            "identity": {
                "uri_v3": layout.keystone_url,
                "auth_version": "v3",
                "region": TOP_REGION,
                "v3_endpoint_type": "public",
            },
            "identity-feature-enabled": {"api_v2": "false"},
            "network": {
                "public_network_id": public_network_id,
                "floating_network_name": PUBLIC_NETWORK,
                "project_network_cidr": "10.100.0.0/16",
                "project_network_mask_bits": "28",
                "region": TOP_REGION,
            },
            "network-feature-enabled": {
                "api_extensions": ",".join(extensions),
                "ipv6": "false",
            },
            "service_available": {
                "neutron": "true",
                "nova": "false",
                "cinder": "false",
                "glance": "false",
                "swift": "false",
            },
        }
    )
    with open(directory / "etc" / "tempest.conf", "w") as file:
        conf.write(file)
    return directory


def run(layout: LabLayout, regex: str, timeout: float = 1200) -> subprocess.CompletedProcess:
    """``tempest run --regex`` in the lab's workspace (one worker: the lab is small)."""
    return subprocess.run(
        [str(TEMPEST), "run", "--concurrency", "1", "--regex", regex],
        cwd=workspace(layout),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def totals(output: str) -> dict[str, int]:
    """The counts of tempest's summary (``Passed``, ``Failed``, ``Skipped``) from its output."""
    return {
        name: int(count)
        for name, count in re.findall(r"^ - (Passed|Failed|Skipped[^:]*): (\d+)", output, re.M)
    }
