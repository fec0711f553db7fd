"""Nova's floating-IP proxy (< 2.36) over the central Neutron: external networks are the pools.

``os-floating-ips`` lists, shows, allocates (from ``pool``, else the first external network in
name order, where Nova uses ``[neutron] default_floating_pool``) and releases the caller's
floating IPs; ``os-floating-ip-pools`` names the external networks. ``addFloatingIp`` and
``removeFloatingIp`` (re)associate a floating IP with a top port of the server; the central
Neutron's floating-IP jobs then wire it in the pods.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request
from flask.typing import ResponseReturnValue

from tricircle.api import validation
from tricircle.api.compute import servers
from tricircle.api.compute.central_neutron import (
    NeutronRefusal,
    check_proxy_available,
    neutron,
    neutron_delete,
)
from tricircle.api.errors import BadRequest, Conflict, Forbidden, NotFound
from tricircle.pods.paths import is_uuid, segment

blueprint = Blueprint("compute_floating_ips", __name__)

ACTIONS_REMOVED_AT = "2.44"
CREATE_BODY = {
    "type": ["object", "null"],
    "properties": {"pool": {"type": ["string", "null"]}},
}


def _external_networks(**filters: str) -> list[dict[str, Any]]:
    params = {"router:external": "True", "fields": ["id", "name"], **filters}
    networks = neutron("GET", "/v2.0/networks", params=params)["networks"]
    return sorted(networks, key=lambda network: (network.get("name") or "", network["id"]))


def floating_ip_view(floating_ip: dict[str, Any], pools: dict[str, str]) -> dict[str, Any]:
    """A Neutron floating IP in Nova's shape (``pool`` its network's name)."""
    network_id = floating_ip["floating_network_id"]
    port = floating_ip.get("port_details") or {}
    return {
        "id": floating_ip["id"],
        "ip": floating_ip["floating_ip_address"],
        "fixed_ip": floating_ip.get("fixed_ip_address"),
        "instance_id": port.get("device_id") or None,
        "pool": pools.get(network_id) or network_id,
    }


def _pool_names() -> dict[str, str]:
    return {network["id"]: network.get("name") or "" for network in _external_networks()}


def _floating_ip(floating_ip_id: str) -> dict[str, Any]:
    """The caller's floating IP; Nova's 404 when unknown or not an ID."""
    not_found = NotFound(f"Floating IP not found for ID {floating_ip_id}")
    if not is_uuid(floating_ip_id):
        raise not_found
    try:
        return neutron("GET", f"/v2.0/floatingips/{segment(floating_ip_id)}")["floatingip"]
    except NeutronRefusal as exc:
        if exc.code == 404:
            raise not_found from exc
        raise


@blueprint.get("/os-floating-ips")
def list_floating_ips() -> ResponseReturnValue:
    """The caller's project's floating IPs."""
    check_proxy_available()
    found = neutron("GET", "/v2.0/floatingips")["floatingips"]
    pools = _pool_names()
    return jsonify({"floating_ips": [floating_ip_view(fip, pools) for fip in found]})


@blueprint.get("/os-floating-ips/<floating_ip_id>")
def show_floating_ip(floating_ip_id: str) -> ResponseReturnValue:
    """One floating IP."""
    check_proxy_available()
    floating_ip = _floating_ip(floating_ip_id)
    return jsonify({"floating_ip": floating_ip_view(floating_ip, _pool_names())})


@blueprint.post("/os-floating-ips")
def create_floating_ip() -> ResponseReturnValue:
    """Allocate a floating IP from a pool."""
    check_proxy_available()
    raw = request.get_data()
    body = validation.json_document(raw) if raw else None
    validation.check(body, CREATE_BODY)
    pool = (body or {}).get("pool")
    networks = _external_networks(name=pool) if pool else _external_networks()
    if pool and not networks:
        networks = [n for n in _external_networks() if n["id"] == pool]
    if not networks:
        raise NotFound("Floating IP pool not found.")
    if pool and len(networks) > 1:
        raise Conflict(f"Multiple floating IP pools matches found for name '{pool}'")
    network = networks[0]
    try:
        made = neutron(
            "POST",
            "/v2.0/floatingips",
            json={"floatingip": {"floating_network_id": network["id"]}},
        )["floatingip"]
    except NeutronRefusal as exc:
        name = network.get("name") or network["id"]
        if exc.code == 409 and exc.error_type == "OverQuota":
            raise Forbidden(f"IP allocation over quota in pool {name}.") from exc
        if exc.code == 409:
            raise NotFound(f"No more floating IPs in pool {name}.") from exc
        if exc.code == 400:
            raise BadRequest(exc.message) from exc
        raise
    return jsonify({"floating_ip": floating_ip_view(made, {network["id"]: network["name"]})})


@blueprint.delete("/os-floating-ips/<floating_ip_id>")
def delete_floating_ip(floating_ip_id: str) -> ResponseReturnValue:
    """Release a floating IP (disassociated first by Neutron)."""
    check_proxy_available()
    _floating_ip(floating_ip_id)
    neutron_delete(
        f"/v2.0/floatingips/{segment(floating_ip_id)}",
        f"Floating IP not found for ID {floating_ip_id}",
    )
    return "", 202


@blueprint.get("/os-floating-ip-pools")
def list_pools() -> ResponseReturnValue:
    """The external networks, by name."""
    check_proxy_available()
    pools = [{"name": net.get("name") or net["id"]} for net in _external_networks()]
    return jsonify({"floating_ip_pools": pools})


def _by_address(address: Any) -> dict[str, Any]:
    if not isinstance(address, str) or not address:
        raise BadRequest("Invalid input for field/attribute address.")
    found = neutron("GET", "/v2.0/floatingips", params={"floating_ip_address": address})
    if not found["floatingips"]:
        raise NotFound("floating IP not found")
    return found["floatingips"][0]


def change_server_floating_ip(server_id: str, action: str, arguments: Any) -> ResponseReturnValue:
    """``addFloatingIp`` / ``removeFloatingIp`` as Nova's Neutron driver does them (< 2.44)."""
    if g.microversion.at_least(ACTIONS_REMOVED_AT):
        raise NotFound("The resource could not be found.")
    if not isinstance(arguments, dict):
        raise BadRequest("Invalid input for field/attribute " + action)
    servers.server_pod(server_id)
    floating_ip = _by_address(arguments.get("address"))
    ports = neutron("GET", "/v2.0/ports", params={"device_id": server_id})["ports"]
    path = f"/v2.0/floatingips/{segment(floating_ip['id'])}"
    if action == "removeFloatingIp":
        if floating_ip.get("port_id") not in {port["id"] for port in ports}:
            raise Conflict(
                f"Floating IP {floating_ip['floating_ip_address']} is not associated with "
                f"instance {server_id}."
            )
        neutron("PUT", path, json={"floatingip": {"port_id": None}})
        return "", 202
    fixed_address = arguments.get("fixed_address")
    candidates = [
        (port["id"], ip["ip_address"])
        for port in ports
        for ip in port.get("fixed_ips", [])
        if ":" not in ip["ip_address"]
    ]
    if not candidates:
        raise BadRequest("No fixed IPs associated to instance")
    if fixed_address is not None:
        candidates = [c for c in candidates if c[1] == fixed_address]
        if not candidates:
            raise BadRequest("Specified fixed address not assigned to instance")
    port_id, address = candidates[0]
    try:
        neutron("PUT", path, json={"floatingip": {"port_id": port_id, "fixed_ip_address": address}})
    except NeutronRefusal as exc:
        if exc.code in (400, 409):
            raise BadRequest(
                f"Unable to associate floating IP {floating_ip['floating_ip_address']} to fixed "
                f"IP {address} for instance {server_id}. Error: {exc.message}"
            ) from exc
        raise
    return "", 202
