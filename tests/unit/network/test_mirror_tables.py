"""Pool arithmetic, attribute tables and security-group rule expansion of the mirroring library."""

from __future__ import annotations

from tricircle.network.mirror import pools, tables


def test_subtract_addresses_splits_pools_around_each_address() -> None:
    top = [{"start": "10.0.0.2", "end": "10.0.0.254"}]
    assert pools.subtract_addresses(top, ["10.0.0.10", "10.0.0.2", "10.0.0.11"]) == [
        {"start": "10.0.0.3", "end": "10.0.0.9"},
        {"start": "10.0.0.12", "end": "10.0.0.254"},
    ]


def test_subtract_addresses_drops_emptied_pools_and_ignores_outsiders() -> None:
    top = [{"start": "10.0.0.5", "end": "10.0.0.5"}, {"start": "10.0.0.8", "end": "10.0.0.9"}]
    assert pools.subtract_addresses(top, ["10.0.0.5", "192.168.1.1", "10.0.0.9"]) == [
        {"start": "10.0.0.8", "end": "10.0.0.8"}
    ]


def test_subtract_addresses_ipv6_and_nothing_to_remove() -> None:
    top = [{"start": "fd00::2", "end": "fd00::ff"}]
    assert pools.subtract_addresses(top, []) == top
    assert pools.subtract_addresses(top, ["fd00::2"]) == [{"start": "fd00::3", "end": "fd00::ff"}]


def test_pools_compare_in_any_order_and_membership() -> None:
    first = [{"start": "10.0.0.9", "end": "10.0.0.9"}, {"start": "10.0.0.1", "end": "10.0.0.3"}]
    second = list(reversed(first))
    assert pools.normalized(first) == pools.normalized(second)
    assert pools.address_in_pools("10.0.0.2", first)
    assert not pools.address_in_pools("10.0.0.4", first)


def test_travel_carries_only_declared_present_attributes() -> None:
    top_port = {
        "id": "top",
        "mac_address": "fa:16:3e:00:00:01",
        "admin_state_up": True,
        "description": None,
        "device_id": "server",
        "binding:host_id": "host",
    }
    assert tables.travel(tables.PORT_ATTRIBUTES, top_port) == {
        "mac_address": "fa:16:3e:00:00:01",
        "admin_state_up": True,
    }


def test_subnet_table_keeps_gateway_and_pools_to_the_library() -> None:
    assert "gateway_ip" not in tables.SUBNET_ATTRIBUTES
    assert "allocation_pools" not in tables.SUBNET_ATTRIBUTES
    assert {"cidr", "ip_version", "enable_dhcp", "dns_nameservers", "host_routes"} <= set(
        tables.SUBNET_ATTRIBUTES
    )


def test_remote_group_rules_expand_to_the_tenant_cidrs_of_their_version() -> None:
    rules = [
        {"direction": "ingress", "ethertype": "IPv4", "remote_group_id": "sg", "protocol": None},
        {"direction": "egress", "ethertype": "IPv4", "remote_ip_prefix": "0.0.0.0/0"},
        {"direction": "egress", "ethertype": "IPv6", "remote_ip_prefix": None},
        {
            "direction": "ingress",
            "ethertype": "IPv4",
            "protocol": "tcp",
            "port_range_min": 22,
            "port_range_max": 22,
            "remote_ip_prefix": "192.0.2.0/24",
        },
    ]
    cidrs = [(4, "10.1.0.0/24"), (4, "10.2.0.0/24"), (6, "fd00::/64")]
    keys = tables.bottom_rule_keys(rules, cidrs)
    assert keys == {
        ("ingress", "IPv4", None, None, None, "10.1.0.0/24"),
        ("ingress", "IPv4", None, None, None, "10.2.0.0/24"),
        ("egress", "IPv4", None, None, None, None),
        ("egress", "IPv6", None, None, None, None),
        ("ingress", "IPv4", "tcp", 22, 22, "192.0.2.0/24"),
    }
    assert tables.rule_body(("ingress", "IPv4", "tcp", 22, 22, None)) == {
        "direction": "ingress",
        "ethertype": "IPv4",
        "protocol": "tcp",
        "port_range_min": 22,
        "port_range_max": 22,
    }


def test_kinds_name_the_neutron_collections() -> None:
    assert tables.KINDS["security_group"].path == "security-groups"
    assert tables.KINDS["security_group"].collection == "security_groups"
    assert tables.KINDS["port"].key == "port"
