"""The lab's layout and its services' configuration files, without starting anything."""

from __future__ import annotations

import configparser
import json
from pathlib import Path

from tricircle.db.engine import make_engine
from tricircle.lab import cloud_config, configs, lab
from tricircle.lab.layout import TOP_REGION, LabLayout


def read_ini(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    parser.read(path)
    return parser


def test_every_port_is_distinct_and_loopback(tmp_path):
    layout = LabLayout(root=tmp_path, pods=4, base_port=20000)
    used = lab.ports(layout)
    assert len(used) == 9 + 4 * 5
    assert all(20000 <= port < 20000 + 100 * 5 for port in used)
    assert layout.keystone_url.startswith("http://127.0.0.1:")
    for pod in layout.pod_layouts:
        assert pod.url("nova").startswith("http://127.0.0.1:")


def test_pods_are_named_by_region_and_az(tmp_path):
    layout = LabLayout(root=tmp_path, pods=3)
    assert [(p.region, p.az) for p in layout.pod_layouts] == [
        ("Pod1", "az1"),
        ("Pod2", "az2"),
        ("Pod3", "az3"),
    ]


def test_database_names_differ_between_labs_on_other_ports(tmp_path):
    first = LabLayout(root=tmp_path, base_port=18000).pod_layouts[0]
    second = LabLayout(root=tmp_path, base_port=28000).pod_layouts[0]
    assert first.database("api") != second.database("api")
    assert first.vhost != second.vhost


def test_settings_round_trip(tmp_path):
    layout = LabLayout(root=tmp_path, pods=3, base_port=21000)
    layout.save()
    assert LabLayout.load(tmp_path) == layout
    assert LabLayout.load(tmp_path / "missing") is None


def test_pod_neutron_is_stock_ml2_ovs_on_postgresql_and_its_vhost(tmp_path):
    layout = LabLayout(root=tmp_path)
    pod = layout.pod_layouts[0]
    path = configs.write_ini(tmp_path / "neutron.conf", configs.pod_neutron(layout, pod))
    neutron = read_ini(path)
    assert neutron.get("ml2", "type_drivers") == "local,flat,vlan"
    assert neutron.get("ml2", "mechanism_drivers") == "openvswitch"
    assert neutron.get("database", "connection").endswith(f"/{pod.neutron_database}")
    assert neutron.get("DEFAULT", "transport_url").endswith(f"/{pod.vhost}")
    assert neutron.get("ml2_type_vlan", "network_vlan_ranges") == "physnet1:100:200"
    assert neutron.get("DEFAULT", "service_plugins") == "router"
    assert neutron.get("keystone_authtoken", "auth_url") == layout.keystone_url
    # a state report waiting out the 60 s RPC timeout, then the next one 10 s later: still alive
    assert int(neutron.get("DEFAULT", "agent_down_time")) > 60 + 10 + 10


def test_pod_nova_is_in_its_own_region_and_az(tmp_path):
    layout = LabLayout(root=tmp_path)
    pod = layout.pod_layouts[1]
    nova = read_ini(configs.write_ini(tmp_path / "nova.conf", configs.pod_nova(layout, pod)))
    assert nova.get("DEFAULT", "default_availability_zone") == "az2"
    assert nova.get("neutron", "region_name") == "Pod2"
    assert nova.get("placement", "region_name") == "Pod2"
    assert nova.get("glance", "region_name") == TOP_REGION
    assert nova.get("DEFAULT", "transport_url").endswith(f"/{pod.vhost}")
    assert nova.get("api_database", "connection").endswith(pod.database("api"))
    # one heartbeat waiting out the 60 s RPC timeout (after a broker restart) keeps the host up
    assert int(nova.get("DEFAULT", "service_down_time")) > 60 + 10


def test_catalog_lists_each_pod_service_in_its_region(tmp_path):
    layout = LabLayout(root=tmp_path, pods=2)
    entries = {(e.service_type, e.region): e.url for e in lab.catalog(layout)}
    assert entries[("tricircle", TOP_REGION)] == layout.admin_api_url
    assert entries[("compute", "Pod2")] == layout.pod_layouts[1].url("nova")
    assert entries[("network", "Pod1")] == layout.pod_layouts[0].url("neutron")
    assert ("placement", "Pod1") in entries
    assert entries[("identity", "Pod2")] == layout.keystone_url


def test_clouds_yaml_has_admin_and_demo_in_region_one(tmp_path):
    layout = LabLayout(root=tmp_path, pods=2)
    clouds = json.loads(cloud_config.write_clouds_yaml(layout).read_text())["clouds"]
    assert set(clouds) == {"lab-admin", "lab-demo"}
    assert clouds["lab-demo"]["auth"]["username"] == "demo"
    assert clouds["lab-admin"]["region_name"] == TOP_REGION
    assert clouds["lab-admin"]["regions"] == [TOP_REGION, "Pod1", "Pod2"]


def test_pod_agents_use_the_labs_switch_and_the_pods_own_bridges(tmp_path):
    layout = LabLayout(root=tmp_path, pods=2, base_port=18000)
    first, second = layout.pod_layouts
    agents = [
        read_ini(configs.write_ini(tmp_path / f"{pod.name}.ini", configs.pod_agents(layout, pod)))
        for pod in (first, second)
    ]
    for pod, conf in zip((first, second), agents, strict=True):
        assert conf.get("DEFAULT", "host") == pod.host
        assert conf.get("ovs", "datapath_type") == "netdev"
        assert conf.get("ovs", "ovsdb_connection") == f"unix:{layout.ovsdb_socket}"
        # dnsmasq stays root: as nobody it cannot read its hosts in a lab folder closed to others
        assert conf.get("DEFAULT", "dnsmasq_config_file") == str(
            pod.dir / "neutron" / "dnsmasq.conf"
        )
        assert "user=root" in configs.DNSMASQ_CONF.splitlines()
        assert conf.get("ovs", "bridge_mappings") == (
            f"physnet1:{pod.physnet_bridge},extnet{pod.index}:{pod.external_bridge}"
        )
    assert agents[0].get("ovs", "integration_bridge") != agents[1].get("ovs", "integration_bridge")
    assert agents[0].get("ovs", "of_listen_port") != agents[1].get("ovs", "of_listen_port")


def test_bridge_names_fit_linux_and_differ_between_labs(tmp_path):
    names = set()
    for base_port in (18000, 28000, 65000):
        layout = LabLayout(root=tmp_path, pods=9, base_port=base_port)
        bridges = [layout.switch_bridge, layout.outside_bridge, f"{layout.outside_bridge}h"]
        bridges += [
            b
            for p in layout.pod_layouts
            for b in (p.integration_bridge, p.physnet_bridge, p.external_bridge)
        ]
        assert all(len(name) <= 15 for name in bridges)
        assert not names & set(bridges)
        names |= set(bridges)


def test_the_outside_world_has_one_uplink_per_pod_and_the_central_neutron_knows_them(tmp_path):
    layout = LabLayout(root=tmp_path, pods=2, base_port=18000)
    first, second = layout.pod_layouts
    assert (first.outside_cidr, first.outside_gateway) == ("172.24.4.0/24", "172.24.4.1")
    assert (second.outside_cidr, second.outside_gateway) == ("172.24.5.0/24", "172.24.5.1")
    assert layout.outside_namespace.startswith(layout.namespace_prefix)
    central = read_ini(configs.write_ini(tmp_path / "c.ini", configs.central_neutron(layout)))
    assert "flat" in central.get("ml2", "type_drivers").split(",")
    assert central.get("ml2", "tenant_network_types") == "shared_vlan"
    assert central.get("ml2_type_flat", "flat_networks") == "extnet1,extnet2"
    assert central.get("tricircle", "default_region_for_external_network") == "Pod1"


def test_pod_nova_runs_the_lab_guest_driver_on_the_labs_switch(tmp_path):
    layout = LabLayout(root=tmp_path)
    pod = layout.pod_layouts[0]
    nova = read_ini(configs.write_ini(tmp_path / "nova.conf", configs.pod_nova(layout, pod)))
    assert nova.get("DEFAULT", "compute_driver") == "tricircle_lab.LabGuestDriver"
    assert nova.get("DEFAULT", "host") == pod.host
    assert nova.get("os_vif_ovs", "ovsdb_connection") == f"unix:{layout.ovsdb_socket}"


def test_every_postgresql_client_of_the_lab_keeps_a_small_pool(tmp_path):
    """The machine's PostgreSQL allows 100 connections; a lab runs about 40 processes on it."""
    layout = LabLayout(root=tmp_path, pods=2, base_port=22000)
    pod = layout.pod_layouts[0]
    for database in (
        configs.tricircle(layout)["database"],
        configs.pod_nova(layout, pod)["database"],
        configs.pod_nova(layout, pod)["api_database"],
        configs.pod_cinder(layout, pod)["database"],
    ):
        assert (database["max_pool_size"], database["max_overflow"]) == ("2", "8"), database
    engine = make_engine("postgresql+psycopg2://lab@127.0.0.1/none", 2, 8)
    assert engine.pool.size() == 2 and engine.pool._max_overflow == 8


def test_tricircles_database_is_on_the_labs_own_postgresql_and_the_pods_are_not(tmp_path):
    """Tricircle's database server can be restarted by a fault test; the machine's cannot."""
    layout = LabLayout(root=tmp_path, pods=2, base_port=22000)
    own = f"postgresql+psycopg2://postgres@127.0.0.1:22006/{layout.db_prefix}_tricircle"
    assert configs.tricircle(layout)["database"]["connection"] == own
    plugin = configs.central_neutron(layout)["tricircle"]["database_connection"]
    assert plugin == own
    pod = layout.pod_layouts[0]
    assert ":5432/" in configs.pod_nova(layout, pod)["database"]["connection"]
    assert lab.ports(layout)[22006] == "tricircle_database"
    assert "tricircle-postgres" in lab.expected_processes(layout)
