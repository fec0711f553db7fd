"""Where everything in the lab lives: directories, ports, URLs, names and credentials.

The layout is computed from three settings (state directory, number of pods, base port) and saved
in ``<state>/lab.json`` by ``lab up`` so that ``status``, ``env`` and ``down`` find the same lab.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

HOST = "127.0.0.1"
TOP_REGION = "RegionOne"
PASSWORD = "lab-secret"
DEMO_PROJECT = "demo"
DEMO_USER = "demo"
SERVICE_USERS = ("nova", "neutron", "placement", "glance", "cinder", "tricircle")
VLAN_PHYSNET = "physnet1"
VLAN_RANGE = (100, 200)
# The outside world: pod i's external physical network ``extnet<i>`` is a flat network on the
# lab's outside switch, where the outside host answers as the uplink's gateway 172.24.<3+i>.1.
EXTERNAL_PHYSNET = "extnet"
OUTSIDE_PREFIX = "172.24"
PUBLIC_NETWORK = "public"
FLAVOR = "m1.tiny"
IMAGE = "lab-tiny"
DB_PREFIX = "tclab"


@dataclasses.dataclass(frozen=True)
class PodLayout:
    """One bottom pod of the lab: region ``Pod<i>`` in availability zone ``az<i>``."""

    index: int
    base_port: int
    root: Path
    db_prefix: str

    @property
    def region(self) -> str:
        """Keystone region name."""
        return f"Pod{self.index}"

    @property
    def az(self) -> str:
        """Availability zone of the pod's compute host (also its Tricircle AZ)."""
        return f"az{self.index}"

    @property
    def name(self) -> str:
        """Short lowercase name used in file, database and vhost names."""
        return f"pod{self.index}"

    @property
    def dir(self) -> Path:
        """State directory of this pod."""
        return self.root / self.name

    def port(self, service: str) -> int:
        """Loopback port of one of the pod's services (``openflow``: its OVS agent's controller)."""
        offsets = {"neutron": 0, "placement": 1, "nova": 2, "cinder": 3, "openflow": 10}
        return self.base_port + 100 * self.index + offsets[service]

    def url(self, service: str) -> str:
        """Base URL of one of the pod's HTTP services."""
        suffix = {"nova": "/v2.1", "cinder": "/v3"}.get(service, "")
        return f"http://{HOST}:{self.port(service)}{suffix}"

    def database(self, kind: str) -> str:
        """PostgreSQL database name for Nova's ``api``, ``cell0`` or ``cell1`` database.

        Cell0's is cell1's name with ``_cell0`` appended, Nova's own convention, so one cell
        mapping template names it for every pod.
        """
        cell1 = f"{self.db_prefix}_{self.name}_nova"
        return {"api": f"{cell1}_api", "cell0": f"{cell1}_cell0", "cell1": cell1}[kind]

    @property
    def cinder_database(self) -> str:
        """PostgreSQL database name of the pod's Cinder."""
        return f"{self.db_prefix}_{self.name}_cinder"

    @property
    def neutron_database(self) -> str:
        """PostgreSQL database name of the pod's Neutron (API and RPC server both write it)."""
        return f"{self.db_prefix}_{self.name}_neutron"

    @property
    def vhost(self) -> str:
        """RabbitMQ virtual host of the pod's Nova, Cinder and Neutron (server and agents)."""
        return f"{self.db_prefix}_{self.name}"

    @property
    def host(self) -> str:
        """Host name of the pod's one hypervisor: Nova's compute host and every Neutron agent."""
        return f"{self.name}-compute"

    @property
    def bridge_tag(self) -> str:
        """Short lab-unique prefix of this pod's OVS bridges (their ports are network devices,
        so names stay within Linux's 15 characters and differ between labs)."""
        return f"tl{self.base_port // 100}"

    @property
    def integration_bridge(self) -> str:
        """The pod's integration bridge (made by its OVS agent)."""
        return f"{self.bridge_tag}i{self.index}"

    @property
    def physnet_bridge(self) -> str:
        """The pod's bridge for ``physnet1``, trunked into the lab's switch."""
        return f"{self.bridge_tag}p{self.index}"

    @property
    def external_physnet(self) -> str:
        """The pod's external physical network (its uplink to the outside world)."""
        return f"{EXTERNAL_PHYSNET}{self.index}"

    @property
    def external_bridge(self) -> str:
        """The pod's bridge for its external physnet, patched into the lab's outside switch."""
        return f"{self.bridge_tag}e{self.index}"

    @property
    def outside_cidr(self) -> str:
        """The subnet of the pod's external network as the lab plans it (devstack's range)."""
        return f"{OUTSIDE_PREFIX}.{3 + self.index}.0/24"

    @property
    def outside_gateway(self) -> str:
        """The outside host's address on the pod's external subnet (the subnet's gateway)."""
        return f"{OUTSIDE_PREFIX}.{3 + self.index}.1"


@dataclasses.dataclass(frozen=True)
class LabLayout:
    """The whole lab: shared services plus ``pods`` bottom pods.

    ``compute=False`` leaves out every pod's Nova and Placement (a network-only lab: fast, light,
    and holding almost no PostgreSQL connections).
    """

    root: Path
    pods: int = 2
    base_port: int = 18000
    compute: bool = True

    @property
    def db_prefix(self) -> str:
        """Prefix of the lab's PostgreSQL databases and RabbitMQ vhosts (one set per base port)."""
        return f"{DB_PREFIX}{self.base_port}"

    def port(self, service: str) -> int:
        """Loopback port of a shared service."""
        offsets = {
            "keystone": 0,
            "glance": 1,
            "tricircle": 2,
            "central_neutron": 3,
            "compute_gateway": 4,
            "volume_gateway": 5,
            "tricircle_database": 6,
            "rabbitmq": 7,
            "rabbitmq_distribution": 8,
        }
        return self.base_port + offsets[service]

    @property
    def keystone_url(self) -> str:
        """Keystone v3 URL."""
        return f"http://{HOST}:{self.port('keystone')}/v3"

    @property
    def admin_api_url(self) -> str:
        """Tricircle's admin API (service type ``tricircle`` in RegionOne)."""
        return f"http://{HOST}:{self.port('tricircle')}/v1.0"

    @property
    def compute_gateway_url(self) -> str:
        """Tricircle's Nova API gateway (service type ``compute`` in RegionOne)."""
        return f"http://{HOST}:{self.port('compute_gateway')}/v2.1"

    @property
    def volume_gateway_url(self) -> str:
        """Tricircle's Cinder API gateway (``volumev3`` and ``block-storage`` in RegionOne)."""
        return f"http://{HOST}:{self.port('volume_gateway')}/v3"

    @property
    def glance_url(self) -> str:
        """Glance URL (one Glance shared by every pod, in region RegionOne)."""
        return f"http://{HOST}:{self.port('glance')}"

    @property
    def pod_layouts(self) -> list[PodLayout]:
        """The bottom pods, Pod1..PodN."""
        return [
            PodLayout(i, self.base_port, self.root, self.db_prefix) for i in range(1, self.pods + 1)
        ]

    @property
    def switch_bridge(self) -> str:
        """The lab's "physical switch": every pod's physnet1 bridge is trunked into it."""
        return f"tl{self.base_port // 100}sw"

    @property
    def outside_bridge(self) -> str:
        """The lab's outside switch: every pod's external bridge and the outside host on it."""
        return f"tl{self.base_port // 100}out"

    @property
    def outside_namespace(self) -> str:
        """The outside host: the lab's stand-in for the internet beyond the pods' uplinks."""
        return f"{self.namespace_prefix}outside"

    @property
    def ovs_dir(self) -> Path:
        """State of the lab's own Open vSwitch (database, sockets, pid files)."""
        return self.root / "ovs"

    @property
    def ovsdb_socket(self) -> Path:
        """The lab's OVSDB socket, used by the agents, os-vif and ``ovs-vsctl``."""
        return self.ovs_dir / "db.sock"

    @property
    def namespace_prefix(self) -> str:
        """Prefix of every network namespace the lab itself names (guests, the outside host)."""
        return f"{self.db_prefix}-"

    def guest_namespace(self, server_id: str) -> str:
        """The network namespace standing for server ``server_id``'s guest."""
        return f"{self.namespace_prefix}vm-{server_id}"

    @property
    def pid_dir(self) -> Path:
        """Where each started process records its PID."""
        return self.root / "pids"

    @property
    def log_dir(self) -> Path:
        """Where each started process writes its log."""
        return self.root / "logs"

    @property
    def settings_file(self) -> Path:
        """The saved settings of a lab that was brought up."""
        return self.root / "lab.json"

    def save(self) -> None:
        """Record the settings so that later commands find this lab."""
        self.root.mkdir(parents=True, exist_ok=True)
        data = {"pods": self.pods, "base_port": self.base_port, "compute": self.compute}
        self.settings_file.write_text(json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, root: Path) -> LabLayout | None:
        """The lab saved in ``root``, or None if none was brought up there."""
        settings = root / "lab.json"
        if not settings.exists():
            return None
        data = json.loads(settings.read_text())
        return cls(
            root=root,
            pods=int(data["pods"]),
            base_port=int(data["base_port"]),
            compute=bool(data.get("compute", True)),
        )

    def admin_auth(self, region: str = TOP_REGION) -> dict[str, str]:
        """OS_* settings of the cloud admin, scoped to the admin project."""
        return {
            "OS_AUTH_URL": self.keystone_url,
            "OS_IDENTITY_API_VERSION": "3",
            "OS_USERNAME": "admin",
            "OS_PASSWORD": PASSWORD,
            "OS_PROJECT_NAME": "admin",
            "OS_USER_DOMAIN_NAME": "Default",
            "OS_PROJECT_DOMAIN_NAME": "Default",
            "OS_REGION_NAME": region,
            "OS_INTERFACE": "public",
        }
