"""An in-memory Neutron, just enough of the v2.0 API for the mirroring library and the L3 jobs.

One ``FakeNeutron`` per region; ``FakeClients.client(region, "network")`` hands them out like
``PodClients`` does. ``fail_on`` makes one (method, collection) fail with a pod error;
``before_add_interface`` runs just before an interface is added (a concurrent or late call).
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Callable
from typing import Any

from tricircle.pods.client import PodClientError, PodServerError

KEYS = {
    "networks": "network",
    "subnets": "subnet",
    "ports": "port",
    "security-groups": "security_group",
    "security-group-rules": "security_group_rule",
    "routers": "router",
    "floatingips": "floatingip",
}
COLLECTIONS = {path: path.replace("-", "_") for path in KEYS}
_ids = itertools.count(1)
TOP_REGION = "RegionOne"
AUTO_DELETED = "network:dhcp"  # ports Neutron removes with their network
PROJECT = "tenant"  # the project of the ``router`` fixture's resources
CIDRS = {"Pod1": "10.1.0.0/24", "Pod2": "10.2.0.0/24"}  # its network in each pod


class FakeNeutron:
    """One region's Neutron: collections of dicts, filters by equality, a tiny IPAM."""

    def __init__(self, region_name: str) -> None:
        self.region_name = region_name
        self.service_type = "network"
        self.data: dict[str, dict[str, dict]] = {path: {} for path in KEYS}
        self.fail_on: set[tuple[str, str]] = set()
        self.calls: list[tuple[str, str]] = []
        # Called as (router_id, body) before an add_router_interface is checked, e.g. to land a
        # call "in flight" first.
        self.before_add_interface: Callable[[str, dict], None] | None = None

    # -- the PodClient interface ---------------------------------------------------------------

    def get(self, path: str, params: dict | None = None, **_: Any) -> Any:
        collection, item, _action = self._parse("GET", path)
        if item is not None:
            return {KEYS[collection]: self._show(collection, self._item(collection, item))}
        found = [
            self._show(collection, obj)
            for obj in self.data[collection].values()
            if _matches(obj, params or {})
        ]
        return {COLLECTIONS[collection]: found}

    def post(self, path: str, json: Any = None, **_: Any) -> Any:
        collection, _item, _action = self._parse("POST", path)
        body = dict(json[KEYS[collection]])
        obj = getattr(self, f"_new_{KEYS[collection]}")(body)
        self.data[collection][obj["id"]] = obj
        return {KEYS[collection]: self._show(collection, obj)}

    def put(self, path: str, json: Any = None, **_: Any) -> Any:
        collection, item, action = self._parse("PUT", path)
        obj = self._item(collection, item)
        if action == "add_router_interface":
            return self._add_interface(obj, json)
        if action == "remove_router_interface":
            return self._remove_interface(obj, json)
        obj.update(json[KEYS[collection]])
        return {KEYS[collection]: self._show(collection, obj)}

    def delete(self, path: str, **_: Any) -> None:
        collection, item, _action = self._parse("DELETE", path)
        self._item(collection, item)
        if collection == "networks":
            ports = [p for p in self.data["ports"].values() if p["network_id"] == item]
            if any(port["device_owner"] != AUTO_DELETED for port in ports):
                raise PodClientError(self.region_name, "network", 409, "network in use")
            for port in ports:
                del self.data["ports"][port["id"]]
            for subnet_id in [s["id"] for s in self.data["subnets"].values()]:
                if self.data["subnets"][subnet_id]["network_id"] == item:
                    del self.data["subnets"][subnet_id]
        if collection == "subnets" and any(
            fixed["subnet_id"] == item and port["device_owner"] != AUTO_DELETED
            for port in self.data["ports"].values()
            for fixed in port["fixed_ips"]
        ):
            raise PodClientError(self.region_name, "network", 409, "subnet in use")
        del self.data[collection][item]
        if collection == "security-groups":
            for rule_id in [r["id"] for r in self.data["security-group-rules"].values()]:
                if self.data["security-group-rules"][rule_id]["security_group_id"] == item:
                    del self.data["security-group-rules"][rule_id]

    # -- helpers -------------------------------------------------------------------------------

    def _parse(self, method: str, path: str) -> tuple[str, str | None, str | None]:
        parts = path.removeprefix("/v2.0/").split("/")
        collection = parts[0]
        self.calls.append((method, collection))
        if (method, collection) in self.fail_on:
            raise PodServerError(self.region_name, "network", 500, f"injected {method} {path}")
        return (
            collection,
            parts[1] if len(parts) > 1 else None,
            parts[2] if len(parts) > 2 else None,
        )

    def _item(self, collection: str, item: str | None) -> dict:
        if item not in self.data[collection]:
            raise PodClientError(self.region_name, "network", 404, f"{collection} {item} not found")
        return self.data[collection][item]

    def _show(self, collection: str, obj: dict) -> dict:
        shown = dict(obj)
        if collection == "security-groups":
            shown["security_group_rules"] = [
                dict(rule)
                for rule in self.data["security-group-rules"].values()
                if rule["security_group_id"] == obj["id"]
            ]
        return shown

    def _new_network(self, body: dict) -> dict:
        if self.region_name == TOP_REGION and "provider:network_type" not in body:
            body = {  # a tenant network on the central Neutron: the next shared VLAN
                "provider:network_type": "shared_vlan",
                "provider:physical_network": "physnet1",
                "provider:segmentation_id": 2000 + len(self.data["networks"]),
                **body,
            }
        return {
            "id": f"net-{next(_ids)}",
            "admin_state_up": True,
            "availability_zone_hints": [],
            "shared": False,
            "project_id": "service",
            **body,
        }

    def _new_subnet(self, body: dict) -> dict:
        network = ipaddress.ip_network(body["cidr"])
        first, last = network.network_address + 1, network.broadcast_address - 1
        gateway = body.get("gateway_ip", str(first))
        pools = body.get("allocation_pools") or [
            {"start": str(first + 1 if gateway else first), "end": str(last)}
        ]
        return {
            "id": f"subnet-{next(_ids)}",
            "ip_version": network.version,
            "enable_dhcp": True,
            "dns_nameservers": [],
            "host_routes": [],
            "project_id": "service",
            **body,
            "gateway_ip": gateway,
            "allocation_pools": pools,
        }

    def _new_port(self, body: dict) -> dict:
        fixed_ips = body.get("fixed_ips")
        if fixed_ips is None:
            fixed_ips = [
                {"subnet_id": s["id"]}
                for s in self.data["subnets"].values()
                if s["network_id"] == body["network_id"]
            ][:1]
        port_id = f"port-{next(_ids)}"
        return {
            "id": port_id,
            "name": "",
            "device_id": "",
            "device_owner": "",
            "mac_address": f"fa:16:3e:00:00:{next(_ids) % 256:02x}",
            "security_groups": [],
            "admin_state_up": True,
            "project_id": "service",
            **body,
            "fixed_ips": [self._allocate(fixed) for fixed in fixed_ips],
        }

    def _allocate(self, fixed: dict) -> dict:
        if "ip_address" in fixed:
            return dict(fixed)
        subnet = self.data["subnets"][fixed["subnet_id"]]
        used = {f["ip_address"] for p in self.data["ports"].values() for f in p["fixed_ips"]}
        for pool in subnet["allocation_pools"]:
            start, end = ipaddress.ip_address(pool["start"]), ipaddress.ip_address(pool["end"])
            address = start
            while address <= end:
                if str(address) not in used:
                    return {"subnet_id": subnet["id"], "ip_address": str(address)}
                address += 1
        raise PodClientError(self.region_name, "network", 409, "no more addresses")

    def _new_security_group(self, body: dict) -> dict:
        return {"id": f"sg-{next(_ids)}", "description": "", "project_id": "service", **body}

    def _new_security_group_rule(self, body: dict) -> dict:
        rule = {
            "ethertype": "IPv4",
            "protocol": None,
            "port_range_min": None,
            "port_range_max": None,
            "remote_ip_prefix": None,
            "remote_group_id": None,
            **body,
        }
        if rule in (
            {k: v for k, v in r.items() if k != "id"}
            for r in self.data["security-group-rules"].values()
        ):
            raise PodClientError(
                self.region_name,
                "network",
                409,
                "Security group rule already exists.",
                "NeutronError",
                "SecurityGroupRuleExists",
            )
        return {"id": f"rule-{next(_ids)}", **rule}

    def _new_floatingip(self, body: dict) -> dict:
        return {"id": f"floatingip-{next(_ids)}", "status": "DOWN", "port_id": None, **body}

    def _new_router(self, body: dict) -> dict:
        return {"id": f"router-{next(_ids)}", "routes": [], "project_id": "service", **body}

    def _add_interface(self, router: dict, body: dict) -> dict:
        """Neutron's checks: a port in use (409), a subnet the router has a port on (400)."""
        if self.before_add_interface is not None:
            self.before_add_interface(router["id"], body)
        if "port_id" in body:
            port = self._item("ports", body["port_id"])
            if port["device_id"]:
                raise PodClientError(
                    self.region_name,
                    "network",
                    409,
                    f"Port {port['id']} is already in use by {port['device_id']}.",
                    "NeutronError",
                    "PortInUse",
                )
        else:
            subnet = self._item("subnets", body["subnet_id"])
            if any(
                fixed["subnet_id"] == subnet["id"]
                for held in self.data["ports"].values()
                if held["device_id"] == router["id"]
                for fixed in held["fixed_ips"]
            ):
                raise PodClientError(
                    self.region_name,
                    "network",
                    400,
                    f"Router already has a port on subnet {subnet['id']}",
                    "NeutronError",
                    "BadRequest",
                )
            port = self._new_port(
                {
                    "network_id": subnet["network_id"],
                    "fixed_ips": [{"subnet_id": subnet["id"], "ip_address": subnet["gateway_ip"]}],
                }
            )
            self.data["ports"][port["id"]] = port
        port.update(device_id=router["id"], device_owner="network:router_interface")
        return {"id": router["id"], "port_id": port["id"]}

    def _remove_interface(self, router: dict, body: dict) -> dict:
        for port in list(self.data["ports"].values()):
            if port["device_id"] != router["id"]:
                continue
            if port["id"] == body.get("port_id") or any(
                fixed["subnet_id"] == body.get("subnet_id") for fixed in port["fixed_ips"]
            ):
                del self.data["ports"][port["id"]]
                return {"id": router["id"], "port_id": port["id"]}
        raise PodClientError(self.region_name, "network", 404, "no such interface")


def _matches(obj: dict, params: dict) -> bool:
    for name, wanted in params.items():
        if name == "fields":
            continue
        if name == "fixed_ips":
            subnet_id = wanted.removeprefix("subnet_id=")
            if not any(fixed["subnet_id"] == subnet_id for fixed in obj.get("fixed_ips", [])):
                return False
        elif obj.get(name) != wanted:
            return False
    return True


class FakeClients:
    """``PodClients`` look-alike: one FakeNeutron per region."""

    def __init__(self, *regions: str) -> None:
        self.neutrons = {region: FakeNeutron(region) for region in regions}

    def client(self, region_name: str, service_type: str) -> FakeNeutron:
        assert service_type == "network"
        return self.neutrons[region_name]
