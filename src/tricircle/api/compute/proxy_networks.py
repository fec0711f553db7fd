"""Nova's network proxies (< 2.36), ``os-networks`` and ``os-tenant-networks``, over the central
Neutron as Nova's Neutron-backed API answers them.

Lists and shows read the networks the caller sees in RegionOne's Neutron; only the ID and the
label (the network's name) carry values, every nova-network field is null (``os-networks``, the
admin fields for admins only) and a tenant network's ``cidr`` is the string ``"None"``, as Nova
answers. Creates, deletes and the association actions only ever worked with nova-network: Nova's
410 at every microversion.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from tricircle.api import validation
from tricircle.api.compute import policy
from tricircle.api.compute.central_neutron import NeutronRefusal, check_proxy_available, neutron
from tricircle.api.compute.state import authorize
from tricircle.api.errors import ApiFault, BadRequest, NotFound
from tricircle.api.gateway import caller
from tricircle.pods.paths import UnsafeId, segment

blueprint = Blueprint("compute_proxy_networks", __name__)

GONE = "This resource is no longer available.  No forwarding address is given."
# The nova-network fields os-networks still shows, all null but ``id`` and ``label``.
NETWORK_FIELDS = (
    "id",
    "cidr",
    "netmask",
    "gateway",
    "broadcast",
    "dns1",
    "dns2",
    "cidr_v6",
    "gateway_v6",
    "label",
    "netmask_v6",
)
ADMIN_FIELDS = (
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
    "injected",
    "bridge",
    "vlan",
    "vpn_public_address",
    "vpn_public_port",
    "vpn_private_address",
    "dhcp_start",
    "project_id",
    "host",
    "bridge_interface",
    "multi_host",
    "priority",
    "rxtx_base",
    "mtu",
    "dhcp_server",
    "enable_dhcp",
    "share_address",
)
REMOVED_ACTIONS = frozenset(
    {"disassociate", "disassociate_host", "disassociate_project", "associate_host"}
)


class Gone(ApiFault):
    """Nova's 410 for an API that only nova-network served."""

    code = 410

    def __init__(self) -> None:
        super().__init__(GONE)


def network_view(network: dict[str, Any], admin: bool) -> dict[str, Any]:
    """A Neutron network in Nova's ``os-networks`` shape (admin fields for admins)."""
    fields = NETWORK_FIELDS + ADMIN_FIELDS if admin else NETWORK_FIELDS
    view: dict[str, Any] = dict.fromkeys(fields)
    view.update(id=network["id"], label=network.get("name"))
    return view


def tenant_network_view(network: dict[str, Any]) -> dict[str, Any]:
    """A Neutron network in Nova's ``os-tenant-networks`` shape."""
    return {"id": network["id"], "cidr": str(None), "label": network.get("name")}


def _networks() -> list[dict[str, Any]]:
    """The networks the caller sees in the central Neutron."""
    return neutron("GET", "/v2.0/networks")["networks"]


def _network(network_id: str) -> dict[str, Any]:
    """One network the caller sees; Nova's 404 otherwise."""
    missing = NotFound("Network not found")
    try:
        path = f"/v2.0/networks/{segment(network_id)}"
    except UnsafeId as exc:
        raise missing from exc
    try:
        return neutron("GET", path)["network"]
    except NeutronRefusal as exc:
        if exc.code == 404:
            raise missing from exc
        raise


@blueprint.get("/os-networks")
def list_networks() -> ResponseReturnValue:
    """The networks the caller sees."""
    check_proxy_available()
    authorize(policy.NETWORKS % "list")
    admin = caller().is_admin
    return jsonify({"networks": [network_view(n, admin) for n in _networks()]})


@blueprint.get("/os-networks/<network_id>")
def show_network(network_id: str) -> ResponseReturnValue:
    """One network."""
    check_proxy_available()
    authorize(policy.NETWORKS % "show")
    return jsonify({"network": network_view(_network(network_id), caller().is_admin)})


@blueprint.post("/os-networks/<network_id>/action")
def network_action(network_id: str) -> ResponseReturnValue:
    """The association actions: gone with nova-network."""
    actions = validation.json_object(request.get_data())
    unknown = sorted(set(actions) - REMOVED_ACTIONS)
    if unknown or not actions:
        raise BadRequest(f"There is no such action: {', '.join(unknown) or None}")
    raise Gone()


@blueprint.get("/os-tenant-networks")
def list_tenant_networks() -> ResponseReturnValue:
    """The networks the caller sees."""
    check_proxy_available()
    authorize(policy.TENANT_NETWORKS % "list")
    return jsonify({"networks": [tenant_network_view(n) for n in _networks()]})


@blueprint.get("/os-tenant-networks/<network_id>")
def show_tenant_network(network_id: str) -> ResponseReturnValue:
    """One network."""
    check_proxy_available()
    authorize(policy.TENANT_NETWORKS % "show")
    return jsonify({"network": tenant_network_view(_network(network_id))})


@blueprint.post("/os-networks")
@blueprint.post("/os-networks/add")
@blueprint.delete("/os-networks/<network_id>")
@blueprint.post("/os-tenant-networks")
@blueprint.delete("/os-tenant-networks/<network_id>")
def removed(network_id: str | None = None) -> ResponseReturnValue:
    """Creates, deletes and ``add``: gone with nova-network."""
    raise Gone()
