"""Stock tempest against the lab's RegionOne: a workspace, its configuration, a run.

Tempest lives in its own virtual environment (``.venv-tempest``, made by ``tools/setup.sh``): its
libraries need not match the versions the lab's services pin. The configuration is what an
operator would write for a cloud whose only region is RegionOne: the lab's Keystone, dynamic
credentials made by the admin, the ``public`` network as the external network, the central
Neutron's own extension list, the gateways' microversion ranges, the lab's image and flavors.
"""

from __future__ import annotations

import configparser
import dataclasses
import re
import subprocess
from pathlib import Path

from keystoneauth1 import adapter

from tricircle.lab import identity
from tricircle.lab.layout import FLAVOR, IMAGE, PASSWORD, PUBLIC_NETWORK, TOP_REGION, LabLayout

VENV = Path(__file__).resolve().parents[3] / ".venv-tempest"
TEMPEST = VENV / "bin" / "tempest"


def workspace(layout: LabLayout) -> Path:
    """The lab's tempest workspace (made by ``tempest init`` on first use)."""
    return layout.root / "tempest"


@dataclasses.dataclass(frozen=True)
class CloudFacts:
    """What tempest.conf needs to know about the running lab, read from RegionOne."""

    public_network_id: str
    network_extensions: list[str]
    image_id: str
    flavor_id: str
    flavor_alt_id: str
    compute_max_microversion: str
    volume_max_microversion: str


def read_facts(layout: LabLayout) -> CloudFacts:
    """The lab's facts as an operator would look them up; ``m1.small`` (resize target) is
    defined at the gateway if missing."""
    session = identity.admin_session(layout)

    def api(service_type: str) -> adapter.Adapter:
        return adapter.Adapter(
            session, service_type=service_type, region_name=TOP_REGION, interface="public"
        )

    network = api("network")
    public = network.get("/v2.0/networks", params={"name": PUBLIC_NETWORK}).json()["networks"]
    extensions = [e["alias"] for e in network.get("/v2.0/extensions").json()["extensions"]]
    image = api("image").get("/v2/images", params={"name": IMAGE}).json()["images"][0]
    compute = api("compute")
    flavors = {f["name"]: f["id"] for f in compute.get("/flavors").json()["flavors"]}
    if "m1.small" not in flavors:
        made = compute.post(
            "/flavors", json={"flavor": {"name": "m1.small", "ram": 768, "vcpus": 1, "disk": 1}}
        )
        flavors["m1.small"] = made.json()["flavor"]["id"]
    return CloudFacts(
        public_network_id=public[0]["id"],
        network_extensions=extensions,
        image_id=image["id"],
        flavor_id=flavors[FLAVOR],
        flavor_alt_id=flavors["m1.small"],
        compute_max_microversion=_max_microversion(api("compute")),
        volume_max_microversion=_max_microversion(api("volumev3")),
    )


def _max_microversion(service: adapter.Adapter) -> str:
    """The highest microversion the service behind ``service`` announces (version discovery)."""
    major, minor = service.get_endpoint_data().max_microversion
    return f"{major}.{minor}"


def write_config(layout: LabLayout, facts: CloudFacts) -> Path:
    """A fresh workspace for the lab with its ``etc/tempest.conf``; returns the workspace.

    Features follow what the lab's pods can do: one compute host per pod (no migration), the
    fake virt and volume drivers (no console, no rescue image, no backups), a shared Glance.
    """
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
            "compute": {
                "region": TOP_REGION,
                "image_ref": facts.image_id,
                "image_ref_alt": facts.image_id,
                "flavor_ref": facts.flavor_id,
                "flavor_ref_alt": facts.flavor_alt_id,
                "min_microversion": "2.1",
                "max_microversion": facts.compute_max_microversion,
                "build_timeout": "180",
            },
            "compute-feature-enabled": {
                "resize": "true",
                "snapshot": "true",
                "pause": "true",
                "suspend": "true",
                "shelve": "true",
                "interface_attach": "true",
                "change_password": "false",
                "console_output": "true",
                "rescue": "false",
                "live_migration": "false",
                "cold_migration": "false",
                "vnc_console": "false",
                "serial_console": "false",
                "spice_console": "false",
                "personality": "false",
                "config_drive": "false",
                "metadata_service": "false",
                "attach_encrypted_volume": "false",
                "swap_volume": "false",
                "volume_multiattach": "false",
                "hostname_fqdn_sanitization": "true",
            },
            "volume": {
                "region": TOP_REGION,
                "catalog_type": "volumev3",
                "min_microversion": "3.0",
                "max_microversion": facts.volume_max_microversion,
                "build_timeout": "120",
                # What the pods' backend reports (the lab's driver is Cinder's fake one): volume
                # types made with these extra specs must find it.
                "storage_protocol": "fake",
                "vendor_name": "Open Source",
            },
            "volume-feature-enabled": {
                "backup": "false",
                "snapshot": "true",
                "clone": "true",
                "manage_volume": "false",
                "manage_snapshot": "false",
                "extend_attached_volume": "false",
            },
            "image": {"region": TOP_REGION},
            "network": {
                "public_network_id": facts.public_network_id,
                "floating_network_name": PUBLIC_NETWORK,
                "project_network_cidr": "10.100.0.0/16",
                "project_network_mask_bits": "28",
                "region": TOP_REGION,
            },
            "network-feature-enabled": {
                "api_extensions": ",".join(facts.network_extensions),
                "ipv6": "false",
            },
            "validation": {"run_validation": "false"},
            "service_available": {
                "neutron": "true",
                "nova": "true",
                "cinder": "true",
                "glance": "true",
                "swift": "false",
            },
        }
    )
    with open(directory / "etc" / "tempest.conf", "w") as file:
        conf.write(file)
    return directory


def run_argv(regex: str, exclude_list: Path | None = None, concurrency: int = 1) -> list[str]:
    """``tempest run`` selecting ``regex`` minus the tests ``exclude_list`` names."""
    argv = [str(TEMPEST), "run", "--concurrency", str(concurrency), "--regex", regex]
    if exclude_list is not None:
        argv += ["--exclude-list", str(exclude_list)]
    return argv


def run(layout: LabLayout, regex: str, timeout: float = 1200) -> subprocess.CompletedProcess:
    """``tempest run --regex`` in the lab's workspace (one worker: the lab is small)."""
    return subprocess.run(
        run_argv(regex),
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
