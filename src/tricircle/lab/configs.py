"""Configuration files of the lab's services, declared as section -> option -> value tables."""

from __future__ import annotations

import configparser
import sys
from pathlib import Path

from tricircle.lab import broker, compute_gateway, tricircle_postgres
from tricircle.lab.layout import (
    HOST,
    PASSWORD,
    TOP_REGION,
    VLAN_PHYSNET,
    VLAN_RANGE,
    LabLayout,
    PodLayout,
)

Sections = dict[str, dict[str, str]]

VENV_ETC = Path(sys.prefix) / "etc"
POSTGRES_URL = f"postgresql+psycopg2://postgres@{HOST}:5432"
SHARED_VLAN_PHYSNET = VLAN_PHYSNET
SHARED_VLAN_RANGE = (2000, 2063)
# The lab's services run as root: a privsep daemon starts as the venv's helper, without sudo.
PRIVSEP_HELPER = f"{sys.prefix}/bin/privsep-helper"


def write_ini(path: Path, sections: Sections) -> Path:
    """Write ``sections`` as an INI file (no interpolation) and return its path."""
    parser = configparser.RawConfigParser()
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    for section, options in sections.items():
        if section != "DEFAULT":
            parser.add_section(section)
        for key, value in options.items():
            parser.set(section, key, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        parser.write(handle)
    return path


def service_auth(layout: LabLayout, user: str, region: str | None = None) -> dict[str, str]:
    """keystoneauth password options for a service user in the ``service`` project."""
    options = {
        "auth_type": "password",
        "auth_url": layout.keystone_url,
        "username": user,
        "password": PASSWORD,
        "project_name": "service",
        "user_domain_name": "Default",
        "project_domain_name": "Default",
    }
    if region:
        options["region_name"] = region
    return options


def authtoken(layout: LabLayout, user: str) -> dict[str, str]:
    """``[keystone_authtoken]`` for a service validating tokens with its own user."""
    return {
        "www_authenticate_uri": layout.keystone_url,
        "memcached_servers": "",
        "service_token_roles_required": "true",
        "interface": "public",
        **service_auth(layout, user),
    }


# Every PostgreSQL client of the lab keeps at most 2 idle connections per process (up to 8 more
# while busy): the machine's PostgreSQL allows 100 and a lab runs about 40 processes using it.
SMALL_POOL = {"max_pool_size": "2", "max_overflow": "8"}


def common(state_dir: Path) -> dict[str, str]:
    """``[DEFAULT]`` options every service shares: logging to stderr, a state path."""
    return {"debug": "false", "use_stderr": "true", "state_path": str(state_dir)}


def keystone(layout: LabLayout) -> Sections:
    """Keystone: SQLite, fernet tokens, cheap password hashing (a lab has no secrets to keep).

    The in-process cache cuts a token validation from about 290 SQL queries (200 ms) to 5 ms.
    """
    state = layout.root / "keystone"
    return {
        "DEFAULT": {"debug": "false", "use_stderr": "true"},
        "database": {"connection": f"sqlite:///{state}/keystone.sqlite"},
        "token": {"provider": "fernet"},
        "fernet_tokens": {"key_repository": str(state / "fernet-keys")},
        "credential": {"key_repository": str(state / "credential-keys")},
        "identity": {"password_hash_rounds": "4"},
        "cache": {"enabled": "true", "backend": "oslo_cache.dict"},
    }


def glance(layout: LabLayout) -> Sections:
    """Glance: one shared file store, SQLite."""
    state = layout.root / "glance"
    return {
        "DEFAULT": {
            **common(state),
            "enabled_backends": "fs:file",
            "worker_self_reference_url": layout.glance_url,
            "bind_host": HOST,
            "bind_port": str(layout.port("glance")),
        },
        "database": {"connection": f"sqlite:///{state}/glance.sqlite"},
        "glance_store": {"default_backend": "fs"},
        "fs": {"filesystem_store_datadir": str(state / "images")},
        "os_glance_staging_store": {"filesystem_store_datadir": str(state / "staging")},
        "os_glance_tasks_store": {"filesystem_store_datadir": str(state / "tasks")},
        "paste_deploy": {"flavor": "keystone"},
        "keystone_authtoken": authtoken(layout, "glance"),
        "oslo_concurrency": {"lock_path": str(state / "locks")},
    }


def neutron_server(state: Path) -> dict[str, str]:
    """``[DEFAULT]`` of every lab Neutron: ML2 with routers, Keystone auth, no agents, no Nova."""
    return {
        **common(state),
        "core_plugin": "ml2",
        "service_plugins": "router",
        "transport_url": "fake://",
        "auth_strategy": "keystone",
        "api_paste_config": str(VENV_ETC / "neutron" / "api-paste.ini"),
        "notify_nova_on_port_status_changes": "false",
        "notify_nova_on_port_data_changes": "false",
        "allow_overlapping_ips": "true",
        "rpc_workers": "0",
        "rpc_state_report_workers": "0",
    }


def pod_neutron(layout: LabLayout, pod: PodLayout) -> Sections:
    """A pod's stock Neutron server (API and RPC server): ML2 with local/flat/vlan, the
    ``openvswitch`` mechanism driver, the router plugin, PostgreSQL and the pod's RabbitMQ vhost.

    Ports bind because the pod's OVS agent reports the pod's one host; Nova hears of port status
    changes as it would in any cloud.

    ``agent_down_time`` is twice Neutron's 75 s: an agent's state report is an RPC call, and right
    after the broker restarts one can wait out the 60 s RPC timeout; with the next report due 10 s
    later the agent went quiet for 80 s, counted as dead, and a port booted then failed to bind
    (seen in the broker fault test).
    """
    state = pod.dir / "neutron"
    low, high = VLAN_RANGE
    return {
        "DEFAULT": {
            **neutron_server(state),
            "transport_url": broker.transport_url(layout, pod.vhost),
            "api_workers": "1",
            "rpc_workers": "1",
            "rpc_state_report_workers": "0",
            "host": pod.host,
            "agent_down_time": "150",
            "notify_nova_on_port_status_changes": "true",
            "notify_nova_on_port_data_changes": "true",
        },
        "database": {
            "connection": f"{POSTGRES_URL}/{pod.neutron_database}",
            **SMALL_POOL,
        },
        "ml2": {
            "type_drivers": "local,flat,vlan",
            "tenant_network_types": "vlan,local",
            "mechanism_drivers": "openvswitch",
            "extension_drivers": "port_security",
        },
        "ml2_type_vlan": {"network_vlan_ranges": f"{VLAN_PHYSNET}:{low}:{high}"},
        "ml2_type_flat": {"flat_networks": "*"},
        "securitygroup": {"firewall_driver": "openvswitch", "enable_security_group": "true"},
        "keystone_authtoken": authtoken(layout, "neutron"),
        "nova": service_auth(layout, "nova", pod.region),
        "placement": service_auth(layout, "neutron", pod.region),
        "oslo_concurrency": {"lock_path": str(state / "locks")},
        "oslo_messaging_rabbit": {"heartbeat_timeout_threshold": "0"},
    }


DNSMASQ_CONF = "user=root\n"


def pod_agents(layout: LabLayout, pod: PodLayout) -> Sections:
    """What a pod's OVS, L3 and DHCP agents share, read after ``neutron.conf``.

    The agents run as root with no root helper, their privileged calls made in-process
    (``lab.neutron_agent``). Bridges use the userspace datapath of the lab's own Open vSwitch; the
    native firewall keeps security groups in OpenFlow (userspace conntrack). No metadata service:
    guests get everything from DHCP. The DHCP agent's dnsmasq keeps running as root
    (``DNSMASQ_CONF``): as ``nobody`` it could not read its hosts file when the lab's folder is
    closed to other users (a ``mktemp -d`` clone), and would then answer no guest.
    """
    state = pod.dir / "neutron"
    return {
        "DEFAULT": {
            **common(state),
            "host": pod.host,
            "dnsmasq_config_file": str(state / "dnsmasq.conf"),
            "interface_driver": "openvswitch",
            "enable_metadata_proxy": "false",
            "enable_isolated_metadata": "false",
            "force_metadata": "false",
        },
        "agent": {
            "root_helper": "",
            "root_helper_daemon": "",
            "report_interval": "10",
            "tunnel_types": "",
        },
        "ovs": {
            "integration_bridge": pod.integration_bridge,
            "bridge_mappings": (
                f"{VLAN_PHYSNET}:{pod.physnet_bridge},{pod.external_physnet}:{pod.external_bridge}"
            ),
            "datapath_type": "netdev",
            "ovsdb_connection": f"unix:{layout.ovsdb_socket}",
            "of_listen_address": HOST,
            "of_listen_port": str(pod.port("openflow")),
        },
        "securitygroup": {"firewall_driver": "openvswitch", "enable_security_group": "true"},
    }


def tricircle_database_url(layout: LabLayout) -> str:
    """Tricircle's database in the lab: on the lab's own PostgreSQL server, written by several
    processes at once."""
    return tricircle_postgres.url(layout, tricircle_database(layout))


def tricircle_database(layout: LabLayout) -> str:
    """Name of Tricircle's database in the lab."""
    return f"{layout.db_prefix}_tricircle"


def central_neutron(layout: LabLayout) -> Sections:
    """The central Neutron (region RegionOne): PostgreSQL, shared_vlan and local, binds no port;
    external networks may also be flat on a pod's external physnet (``extnet<i>``).

    Its core plugin is Tricircle's ML2 (availability zones from Tricircle's pods), its router
    plugin Neutron's with those zones, and the ``tricircle`` service plugin queues jobs; they all
    use Tricircle's database.

    ``tenant_network_types`` is ``shared_vlan`` alone: ML2 falls back to the next listed type when
    one is exhausted, which would turn "no tenant network available" into a local network.
    """
    state = layout.root / "central-neutron"
    low, high = SHARED_VLAN_RANGE
    return {
        "DEFAULT": {
            **neutron_server(state),
            "core_plugin": "tricircle_ml2",
            "service_plugins": "tricircle_router,tricircle",
        },
        "database": {"connection": f"{POSTGRES_URL}/{layout.db_prefix}_central_neutron"},
        "ml2": {
            "type_drivers": "shared_vlan,tricircle_local,flat",
            "tenant_network_types": "shared_vlan",
            "mechanism_drivers": "",
            "extension_drivers": "port_security",
        },
        "ml2_type_flat": {
            "flat_networks": ",".join(pod.external_physnet for pod in layout.pod_layouts)
        },
        "tricircle": {
            "network_vlan_ranges": f"{SHARED_VLAN_PHYSNET}:{low}:{high}",
            "database_connection": tricircle_database_url(layout),
            # Where an external network made without a hint goes: the pod of ``public``.
            "default_region_for_external_network": layout.pod_layouts[0].region,
        },
        # Neutron's segments plugin, loaded when a network is deleted, asks Placement for the
        # segment's aggregate and fails with a traceback when no Placement answers. RegionOne has
        # none: it asks the first pod's, which holds no aggregate of the central segments.
        "placement": service_auth(layout, "neutron", layout.pod_layouts[0].region),
        "keystone_authtoken": authtoken(layout, "neutron"),
        "oslo_concurrency": {"lock_path": str(state / "locks")},
        "agent": {"report_interval": "0"},
    }


def pod_placement(layout: LabLayout, pod: PodLayout) -> Sections:
    """A pod's Placement on SQLite."""
    state = pod.dir / "placement"
    return {
        "DEFAULT": {"debug": "false", "use_stderr": "true"},
        "placement_database": {"connection": f"sqlite:///{state}/placement.sqlite"},
        "api": {"auth_strategy": "keystone"},
        "keystone_authtoken": authtoken(layout, "placement"),
    }


def pod_nova(layout: LabLayout, pod: PodLayout) -> Sections:
    """A pod's Nova: PostgreSQL, RabbitMQ vhost, hosts in AZ ``az<i>``, and the lab's guest driver
    (Nova's fake driver whose servers are network namespaces plugged by os-vif into the pod's
    integration bridge on the lab's Open vSwitch).

    ``service_down_time`` is twice Nova's 60 s: a heartbeat is an RPC call to the conductor, and
    right after the broker restarts one call can wait out the whole RPC timeout (60 s, seen in the
    broker fault test), which with the default left the compute host "down" and the next boot
    without a host.
    """
    state = pod.dir / "nova"
    return {
        "DEFAULT": {
            **common(state),
            "compute_driver": "tricircle_lab.LabGuestDriver",
            "host": pod.host,
            "my_ip": HOST,
            "transport_url": broker.transport_url(layout, pod.vhost),
            "default_availability_zone": pod.az,
            "vif_plugging_is_fatal": "true",
            "vif_plugging_timeout": "60",
            "instances_path": str(state / "instances"),
            "heal_instance_info_cache_interval": "-1",
            "update_resources_interval": "30",
            "periodic_fuzzy_delay": "0",
            "allow_resize_to_same_host": "true",
            "service_down_time": "120",
        },
        "api": {"auth_strategy": "keystone"},
        "wsgi": {"api_paste_config": str(state / "etc" / "api-paste.ini")},
        "api_database": {"connection": f"{POSTGRES_URL}/{pod.database('api')}", **SMALL_POOL},
        "database": {"connection": f"{POSTGRES_URL}/{pod.database('cell1')}", **SMALL_POOL},
        "scheduler": {"discover_hosts_in_cells_interval": "2", "workers": "1"},
        "conductor": {"workers": "1"},
        "vnc": {"enabled": "false"},
        "keystone_authtoken": authtoken(layout, "nova"),
        "service_user": {"send_service_user_token": "true", **service_auth(layout, "nova")},
        "neutron": service_auth(layout, "neutron", pod.region),
        "placement": service_auth(layout, "placement", pod.region),
        "glance": {"region_name": TOP_REGION},
        "cinder": {"os_region_name": pod.region, **service_auth(layout, "nova")},
        "oslo_concurrency": {"lock_path": str(state / "locks")},
        "oslo_messaging_notifications": {"driver": "noop"},
        "oslo_messaging_rabbit": {"heartbeat_timeout_threshold": "0"},
        "os_vif_ovs": {"ovsdb_connection": f"unix:{layout.ovsdb_socket}"},
        "vif_plug_ovs_privileged": {"helper_command": PRIVSEP_HELPER},
    }


def pod_cinder(layout: LabLayout, pod: PodLayout) -> Sections:
    """A pod's Cinder: PostgreSQL, the pod's RabbitMQ vhost, the lab's volume driver (Cinder's fake
    driver whose volumes are sparse files under the pod's state folder, ``lab.volume_driver``).

    cinder-volume runs as root, without sudo: its privsep daemons (Cinder's own and os-brick's)
    start as the venv's ``privsep-helper`` itself, not through ``sudo cinder-rootwrap``.

    Volumes land in the pod's AZ; Cinder tells the pod's Nova about extended volumes with its own
    service user. Small connection pools keep the shared PostgreSQL's connection count down.
    The volume service publishes its backend's capabilities once at start, on a fanout the
    scheduler may not listen to yet; its periodic tasks repeat that every 10 s from the start
    (Cinder's defaults: every 60 s after a random delay of up to 60 s, which outlasted the lab's
    wait on a loaded machine).
    """
    state = pod.dir / "cinder"
    cinder_etc = VENV_ETC / "cinder"
    return {
        "DEFAULT": {
            **common(state),
            "host": f"{pod.name}-cinder",
            "my_ip": HOST,
            "transport_url": broker.transport_url(layout, pod.vhost),
            "auth_strategy": "keystone",
            "enabled_backends": "fake",
            "storage_availability_zone": pod.az,
            "default_availability_zone": pod.az,
            "api_paste_config": str(cinder_etc / "api-paste.ini"),
            "rootwrap_config": str(cinder_etc / "rootwrap.conf"),
            "resource_query_filters_file": str(cinder_etc / "resource_filters.json"),
            "osapi_volume_workers": "1",
            "periodic_interval": "10",
            "periodic_fuzzy_delay": "0",
        },
        "database": {
            "connection": f"{POSTGRES_URL}/{pod.cinder_database}",
            **SMALL_POOL,
        },
        "fake": {
            "volume_driver": "tricircle.lab.volume_driver.LabVolumeDriver",
            "volume_backend_name": "fake",
            "lab_volumes_dir": str(state / "volumes"),
        },
        "keystone_authtoken": authtoken(layout, "cinder"),
        "nova": {"interface": "public", **service_auth(layout, "cinder", pod.region)},
        "coordination": {"backend_url": f"file://{state / 'coordination'}"},
        "oslo_concurrency": {"lock_path": str(state / "locks")},
        "oslo_messaging_notifications": {"driver": "noop"},
        "oslo_messaging_rabbit": {"heartbeat_timeout_threshold": "0"},
        "cinder_sys_admin": {"helper_command": PRIVSEP_HELPER},
        "privsep_osbrick": {"helper_command": PRIVSEP_HELPER},
    }


def tricircle(layout: LabLayout) -> Sections:
    """Tricircle's admin API and worker: PostgreSQL, Keystone auth, the pods' credentials."""
    return {
        "database": {"connection": tricircle_database_url(layout), **SMALL_POOL},
        "api": {"auth_strategy": "keystone", "bind_port": str(layout.port("tricircle"))},
        "keystone_authtoken": authtoken(layout, "tricircle"),
        "client": {
            **{
                key: value
                for key, value in service_auth(layout, "tricircle").items()
                if key != "auth_type"
            },
            # A pod that is down fails a job within seconds; the retry comes soon after.
            "connect_timeout": "2",
            "read_timeout": "30",
        },
        "xjob": {
            "workers": "2",
            "poll_interval": "0.2",
            "backoff_base": "1",
            "backoff_max": "5",
            # A killed worker's jobs are taken again within seconds (heartbeats every 5 s).
            "lease_seconds": "15",
            "reconcile_interval": "0",
        },
        "compute": compute_gateway.config(layout),
        # The lab's projects run whole test suites, whose deletes finish seconds after they
        # return: the upstream defaults (10 servers, 20 cores, 10 volumes) would refuse boots.
        "quota": {
            "instances": "50",
            "cores": "50",
            "ram": str(50 * 1024),
            "volumes": "50",
            "snapshots": "50",
        },
    }
