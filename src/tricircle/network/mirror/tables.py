"""What travels from a top resource to its bottom copy: one declared table per resource.

A table maps a top attribute to the bottom attribute it becomes. Attributes computed by the
library (name = top ID, project, the bottom IDs it refers to, the segment, the per-pod gateway
and pools) are not in the tables; everything else that is not listed stays on the top.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tricircle.network import constants


@dataclass(frozen=True)
class Kind:
    """A Neutron resource as the pods' API names it."""

    resource_type: str  # routing resource type
    path: str  # collection URL segment
    collection: str  # collection key in list answers
    key: str  # member key in bodies


NETWORK = Kind(constants.NETWORK, "networks", "networks", "network")
SUBNET = Kind(constants.SUBNET, "subnets", "subnets", "subnet")
PORT = Kind(constants.PORT, "ports", "ports", "port")
SECURITY_GROUP = Kind(
    constants.SECURITY_GROUP, "security-groups", "security_groups", "security_group"
)
ROUTER = Kind(constants.ROUTER, "routers", "routers", "router")
FLOATINGIP = Kind(constants.FLOATINGIP, "floatingips", "floatingips", "floatingip")
SHADOW_PORT = Kind(constants.SHADOW_PORT, "ports", "ports", "port")

KINDS: dict[str, Kind] = {
    kind.resource_type: kind
    for kind in (NETWORK, SUBNET, PORT, SECURITY_GROUP, ROUTER, FLOATINGIP, SHADOW_PORT)
}

NETWORK_ATTRIBUTES: Mapping[str, str] = {
    "admin_state_up": "admin_state_up",
    "description": "description",
    "port_security_enabled": "port_security_enabled",
}

SUBNET_ATTRIBUTES: Mapping[str, str] = {
    "cidr": "cidr",
    "ip_version": "ip_version",
    "enable_dhcp": "enable_dhcp",
    "dns_nameservers": "dns_nameservers",
    "host_routes": "host_routes",
    "ipv6_ra_mode": "ipv6_ra_mode",
    "ipv6_address_mode": "ipv6_address_mode",
    "description": "description",
}

PORT_ATTRIBUTES: Mapping[str, str] = {
    "mac_address": "mac_address",
    "admin_state_up": "admin_state_up",
    "description": "description",
    "port_security_enabled": "port_security_enabled",
    "allowed_address_pairs": "allowed_address_pairs",
    "binding:vnic_type": "binding:vnic_type",
}

SECURITY_GROUP_ATTRIBUTES: Mapping[str, str] = {"description": "description"}

# A rule's identity: two rules with these values equal are the same rule.
SECURITY_GROUP_RULE_KEY: tuple[str, ...] = (
    "direction",
    "ethertype",
    "protocol",
    "port_range_min",
    "port_range_max",
    "remote_ip_prefix",
)

ROUTER_ATTRIBUTES: Mapping[str, str] = {
    "admin_state_up": "admin_state_up",
    "description": "description",
}

ANY_PREFIXES = frozenset({"0.0.0.0/0", "::/0"})

# An external network's type on the central Neutron -> its bottom type; the physical network and
# VLAN ID travel as they are. A local external network gets the pod's default type.
EXTERNAL_NETWORK_TYPES: Mapping[str, str | None] = {
    constants.TYPE_FLAT: "flat",
    constants.TYPE_VLAN: "vlan",
    constants.TYPE_SHARED_VLAN: "vlan",
    constants.TYPE_LOCAL: None,
}
PROVIDER_ATTRIBUTES = ("provider:physical_network", "provider:segmentation_id")

# Attributes of an external subnet kept equal to the top's after the copy is made.
EXTERNAL_SUBNET_MUTABLE = ("gateway_ip", "allocation_pools", "dns_nameservers", "host_routes")


def is_external(top_network: Mapping[str, Any]) -> bool:
    """True for a ``router:external`` network."""
    return bool(top_network.get("router:external"))


def external_provider(top_network: Mapping[str, Any]) -> dict[str, Any] | None:
    """The provider attributes of an external network's bottom copy; None for a type no pod takes.

    Unlike a tenant network, the copy lives in one pod only, so it keeps the top segment as is.
    """
    network_type = top_network.get("provider:network_type")
    if network_type not in EXTERNAL_NETWORK_TYPES:
        return None
    bottom_type = EXTERNAL_NETWORK_TYPES[network_type]
    if bottom_type is None:
        return {}
    return {
        "provider:network_type": bottom_type,
        **{name: top_network[name] for name in PROVIDER_ATTRIBUTES if top_network.get(name)},
    }


def travel(table: Mapping[str, str], top: Mapping[str, Any]) -> dict[str, Any]:
    """The bottom attributes ``table`` carries from ``top`` (absent or None values stay behind)."""
    return {
        bottom_name: top[top_name]
        for top_name, bottom_name in table.items()
        if top.get(top_name) is not None
    }


RuleKey = tuple[Any, ...]


def rule_key(rule: Mapping[str, Any]) -> RuleKey:
    """The identity of a security-group rule ("any" prefixes and None are the same)."""
    values = dict(rule)
    if values.get("remote_ip_prefix") in ANY_PREFIXES:
        values["remote_ip_prefix"] = None
    return tuple(values.get(name) for name in SECURITY_GROUP_RULE_KEY)


def bottom_rule_keys(
    top_rules: list[Mapping[str, Any]], tenant_cidrs: list[tuple[int, str]]
) -> set[RuleKey]:
    """The bottom rule set of a top security group.

    A rule naming a remote group becomes one rule per tenant CIDR of the rule's IP version
    (``tenant_cidrs`` holds (ip_version, cidr)); other rules travel as they are.
    """
    keys: set[RuleKey] = set()
    for rule in top_rules:
        if rule.get("remote_group_id") is None and rule.get("remote_address_group_id") is None:
            keys.add(rule_key(rule))
            continue
        version = 4 if rule.get("ethertype") == "IPv4" else 6
        for cidr_version, cidr in tenant_cidrs:
            if cidr_version == version:
                keys.add(rule_key({**rule, "remote_ip_prefix": cidr}))
    return keys


def rule_body(key: RuleKey) -> dict[str, Any]:
    """A security-group rule create body for ``key`` (None values left out)."""
    return {
        name: value
        for name, value in zip(SECURITY_GROUP_RULE_KEY, key, strict=True)
        if value is not None
    }
