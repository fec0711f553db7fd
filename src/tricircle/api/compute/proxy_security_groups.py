"""Nova's security-group proxy (< 2.36) over the central Neutron, and a server's groups.

Groups and ingress rules are read and written in RegionOne's Neutron as the caller, shown in
Nova's shapes with Nova's checks and faults (its Neutron driver's). ``addSecurityGroup`` and
``removeSecurityGroup`` change the server's top ports and then their bottom copies in the
server's pod (each group's bottom copy ensured first), so the pod's firewall follows at once.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from tricircle.api import validation
from tricircle.api.compute import servers
from tricircle.api.compute.central_neutron import (
    NeutronRefusal,
    check_proxy_available,
    neutron,
    neutron_delete,
)
from tricircle.api.compute.state import state
from tricircle.api.errors import BadRequest, Conflict, Forbidden, NotFound
from tricircle.api.gateway import caller, transaction
from tricircle.db import routings
from tricircle.db.models import Pod
from tricircle.pods.paths import is_uuid, segment

blueprint = Blueprint("compute_security_groups", __name__)

GROUP_BODY = {
    "type": "object",
    "properties": {
        "security_group": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "maxLength": 255},
                "description": {"type": "string", "maxLength": 255},
            },
            "required": ["name", "description"],
        }
    },
    "required": ["security_group"],
}
RULE_BODY = {
    "type": "object",
    "properties": {
        "security_group_rule": {
            "type": "object",
            "properties": {
                "group_id": {"type": ["string", "null"]},
                "parent_group_id": {"type": "string"},
            },
            "required": ["parent_group_id"],
        }
    },
    "required": ["security_group_rule"],
}
_PORTS = {"TCP": (1, 65535), "UDP": (1, 65535), "ICMP": (-1, 255)}


def _group_path(group_id: str) -> str:
    if not is_uuid(group_id):
        raise BadRequest("Security group id should be uuid")
    return f"/v2.0/security-groups/{segment(group_id)}"


def _top_group(group_id: str) -> dict[str, Any]:
    """The central Neutron's group; Nova's 400 for a malformed ID, 404 if unknown."""
    try:
        return neutron("GET", _group_path(group_id))["security_group"]
    except NeutronRefusal as exc:
        if exc.code == 404:
            raise NotFound(f"Security group {group_id} not found.") from exc
        raise


def _cidr(prefix: str | None) -> str:
    return prefix or "0.0.0.0/0"


def rule_view(rule: dict[str, Any], groups: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """A Neutron ingress rule in Nova's shape (None if its remote group is not visible)."""
    protocol = rule.get("protocol")
    from_port, to_port = rule.get("port_range_min"), rule.get("port_range_max")
    if protocol and from_port is None and to_port is None:
        from_port, to_port = (1, 65535) if protocol.upper() in ("TCP", "UDP") else (-1, -1)
    view: dict[str, Any] = {
        "id": rule["id"],
        "parent_group_id": rule["security_group_id"],
        "ip_protocol": protocol,
        "from_port": from_port,
        "to_port": to_port,
        "group": {},
        "ip_range": {},
    }
    remote_id = rule.get("remote_group_id")
    if remote_id:
        remote = groups.get(remote_id) or _visible_group(remote_id)
        if remote is None:
            return None
        groups[remote_id] = remote
        view["group"] = {"name": remote.get("name"), "tenant_id": remote.get("tenant_id")}
    else:
        view["ip_range"] = {"cidr": _cidr(rule.get("remote_ip_prefix"))}
    return view


def _visible_group(group_id: str) -> dict[str, Any] | None:
    try:
        return neutron("GET", _group_path(group_id))["security_group"]
    except NeutronRefusal as exc:
        if exc.code == 404:
            return None
        raise


def group_view(group: dict[str, Any], groups: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A Neutron security group in Nova's shape (ingress rules only)."""
    rules = [
        rule_view(rule, groups)
        for rule in group.get("security_group_rules", [])
        if rule.get("direction") == "ingress"
    ]
    return {
        "id": group["id"],
        "name": group["name"],
        "description": group.get("description"),
        "tenant_id": group.get("tenant_id", group.get("project_id")),
        "rules": [rule for rule in rules if rule is not None],
    }


def _views(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    known = {group["id"]: group for group in groups}
    return [group_view(group, known) for group in groups]


def _offset_and_limit() -> tuple[int, int | None]:
    values = []
    for name in ("offset", "limit"):
        raw = request.args.get(name)
        if raw is not None and not raw.isdigit():
            raise BadRequest(f"Invalid input for query parameters {name}. Value: {raw}.")
        values.append(None if raw is None else int(raw))
    return values[0] or 0, values[1]


@blueprint.get("/os-security-groups")
def list_groups() -> ResponseReturnValue:
    """The caller's project's groups (every project's for an admin with ``all_tenants``)."""
    check_proxy_available()
    offset, limit = _offset_and_limit()
    who = caller()
    params = {} if who.is_admin and "all_tenants" in request.args else {"tenant_id": who.project_id}
    groups = neutron("GET", "/v2.0/security-groups", params=params)["security_groups"]
    groups = groups[offset:] if limit is None else groups[offset : offset + limit]
    views = sorted(_views(groups), key=lambda group: (group["tenant_id"], group["name"]))
    return jsonify({"security_groups": views})


@blueprint.post("/os-security-groups")
def create_group() -> ResponseReturnValue:
    """Create a group (Neutron adds its egress rules, not shown)."""
    check_proxy_available()
    body = validation.validated(request.get_data(), GROUP_BODY)["security_group"]
    fields = {"name": body["name"], "description": body["description"]}
    try:
        group = neutron("POST", "/v2.0/security-groups", json={"security_group": fields})
    except NeutronRefusal as exc:
        if exc.code == 409:
            raise Forbidden(exc.message) from exc
        if exc.code == 400:
            raise BadRequest(exc.message) from exc
        raise
    return jsonify({"security_group": _views([group["security_group"]])[0]})


@blueprint.get("/os-security-groups/<group_id>")
def show_group(group_id: str) -> ResponseReturnValue:
    """One group."""
    check_proxy_available()
    return jsonify({"security_group": _views([_top_group(group_id)])[0]})


@blueprint.put("/os-security-groups/<group_id>")
def update_group(group_id: str) -> ResponseReturnValue:
    """Rename a group or change its description."""
    check_proxy_available()
    _top_group(group_id)
    body = validation.validated(request.get_data(), GROUP_BODY)["security_group"]
    fields = {"name": body["name"], "description": body["description"]}
    try:
        group = neutron("PUT", _group_path(group_id), json={"security_group": fields})
    except NeutronRefusal as exc:
        if exc.code in (400, 409):
            raise BadRequest(exc.message) from exc
        raise
    return jsonify({"security_group": _views([group["security_group"]])[0]})


@blueprint.delete("/os-security-groups/<group_id>")
def delete_group(group_id: str) -> ResponseReturnValue:
    """Delete a group; one in use or the default group is Nova's 400."""
    check_proxy_available()
    _top_group(group_id)
    try:
        neutron("DELETE", _group_path(group_id))
    except NeutronRefusal as exc:
        if exc.code == 404:
            raise NotFound(f"Security group {group_id} not found.") from exc
        if exc.code == 409:
            raise BadRequest(exc.message) from exc
        raise
    return "", 202


def _port(value: Any, protocol: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        if protocol == "ICMP":
            message = "Type and Code must be integers for ICMP protocol type"
        else:
            message = "To and From ports must be integers"
        raise BadRequest(f"Invalid input received: {message}") from exc


def _rule_fields(rule: dict[str, Any]) -> dict[str, Any]:
    """Nova's rule arguments as a Neutron ingress rule's fields (Nova's checks and defaults)."""
    protocol, group_id = rule.get("ip_protocol"), rule.get("group_id")
    from_port, to_port = rule.get("from_port"), rule.get("to_port")
    fields: dict[str, Any] = {"direction": "ingress", "remote_group_id": group_id}
    if group_id is not None:
        name = str(protocol).upper() if protocol else ""
        if from_port is None and to_port is None and name in _PORTS:
            from_port, to_port = (-1, -1) if name == "ICMP" else _PORTS[name]
        fields["ethertype"] = "IPv4"
        fields["remote_ip_prefix"] = None
    else:
        fields["remote_ip_prefix"] = cidr = _checked_cidr(rule.get("cidr"))
        fields["ethertype"] = f"IPv{ipaddress.ip_network(cidr, strict=False).version}"
    if not (protocol and from_port is not None and to_port is not None):
        if group_id is None:
            raise BadRequest("Not enough parameters to build a valid rule.")
        return {**fields, "protocol": None}
    name = str(protocol).upper()
    low, high = _port(from_port, name), _port(to_port, name)
    if name not in _PORTS:
        raise BadRequest(f"Invalid IP protocol {protocol}.")
    reason = None
    if name != "ICMP" and low > high:
        reason = "Former value cannot be greater than the later"
    elif name != "ICMP" and (low < 1 or high > 65535):
        reason = f"Valid {name} ports should be between 1-65535"
    elif name == "ICMP" and not (-1 <= low <= 255 and -1 <= high <= 255):
        reason = "For ICMP, the type:code must be valid"
    if reason:
        raise BadRequest(f"Invalid port range {low}:{high}. {reason}")
    fields["protocol"] = str(protocol)
    fields["port_range_min"] = None if low == -1 else low
    fields["port_range_max"] = None if high == -1 else high
    return fields


def _checked_cidr(value: Any) -> str:
    """A rule's CIDR as Nova accepts it (none is 0.0.0.0/0; a host-less /0 is refused)."""
    if not value:
        return "0.0.0.0/0"
    try:
        network = ipaddress.ip_network(str(value), strict=False)
    except ValueError as exc:
        raise BadRequest(f"{value} is not a valid IP network.") from exc
    if "/" not in str(value):
        raise BadRequest(f"{value} is not a valid IP network.")
    if network.prefixlen == 0 and str(value).split("/")[0] not in ("0.0.0.0", "::"):
        raise BadRequest(f"Bad prefix for network in cidr {value}")
    return str(value)


def _same_rule(existing: dict[str, Any], fields: dict[str, Any]) -> bool:
    keys = ("remote_group_id", "protocol", "port_range_min", "port_range_max", "ethertype")
    return (
        existing.get("direction") == "ingress"
        and all((existing.get(key) or None) == (fields.get(key) or None) for key in keys)
        and _cidr(existing.get("remote_ip_prefix")) == _cidr(fields.get("remote_ip_prefix"))
    )


@blueprint.post("/os-security-group-rules")
def create_rule() -> ResponseReturnValue:
    """Add an ingress rule to a group (a CIDR or a remote group)."""
    check_proxy_available()
    rule = validation.validated(request.get_data(), RULE_BODY)["security_group_rule"]
    parent_id = rule["parent_group_id"]
    group_id = rule.get("group_id")
    for name, value in (("parent_group_id", parent_id), ("group_id", group_id)):
        if value is not None and not is_uuid(value):
            raise BadRequest(f"Invalid input for field/attribute {name}. Value: {value}.")
    parent = _top_group(parent_id)
    if group_id is not None:
        _top_group(group_id)
    fields = {**_rule_fields(rule), "security_group_id": parent["id"]}
    if any(_same_rule(existing, fields) for existing in parent.get("security_group_rules", [])):
        raise BadRequest(f"This rule already exists in group {parent_id}")
    body = {"security_group_rule": {k: v for k, v in fields.items() if v is not None}}
    try:
        made = neutron("POST", "/v2.0/security-group-rules", json=body)["security_group_rule"]
    except NeutronRefusal as exc:
        if exc.code == 409 and exc.error_type == "SecurityGroupRuleExists":
            raise BadRequest(f"This rule already exists in group {parent_id}") from exc
        if exc.code == 409:
            raise Forbidden(exc.message) from exc
        if exc.code == 400:
            raise BadRequest(exc.message) from exc
        raise
    return jsonify({"security_group_rule": rule_view(made, {parent["id"]: parent})})


@blueprint.delete("/os-security-group-rules/<rule_id>")
def delete_rule(rule_id: str) -> ResponseReturnValue:
    """Remove a rule."""
    check_proxy_available()
    if not is_uuid(rule_id):
        raise BadRequest("Security group id should be uuid")
    neutron_delete(
        f"/v2.0/security-group-rules/{segment(rule_id)}",
        f"Security group rule {rule_id} not found.",
    )
    return "", 202


def _server_ports(server_id: str) -> list[dict[str, Any]]:
    return neutron("GET", "/v2.0/ports", params={"device_id": server_id})["ports"]


@blueprint.get("/servers/<server_id>/os-security-groups")
def server_groups(server_id: str) -> ResponseReturnValue:
    """The groups of a server's ports, in full."""
    servers.server_pod(server_id)
    group_ids = sorted(
        {gid for port in _server_ports(server_id) for gid in port["security_groups"]}
    )
    groups = (
        neutron("GET", "/v2.0/security-groups", params={"id": group_ids})["security_groups"]
        if group_ids
        else []
    )
    return jsonify({"security_groups": _views(groups)})


def _named_group(name: str) -> str:
    """The ID of the caller's group with this ID or name (Nova's 404, or 409 if ambiguous)."""
    project_id = caller().project_id
    if is_uuid(name):
        found = neutron("GET", "/v2.0/security-groups", params={"id": name, "fields": "id"})
        if found["security_groups"]:
            return found["security_groups"][0]["id"]
    params = {"name": name, "tenant_id": project_id, "fields": "id"}
    found = neutron("GET", "/v2.0/security-groups", params=params)["security_groups"]
    if len(found) > 1:
        raise Conflict(
            f"Multiple security_group matches found for name '{name}', use an ID to be more "
            "specific."
        )
    if not found:
        raise NotFound(f"Security group {name} is not found for project {project_id}")
    return found[0]["id"]


def change_server_groups(server_id: str, action: str, arguments: Any) -> ResponseReturnValue:
    """``addSecurityGroup`` / ``removeSecurityGroup`` on the server's top and bottom ports."""
    if not isinstance(arguments, dict):
        raise BadRequest("Missing parameter dict")
    if "name" not in arguments:
        raise BadRequest("Security group not specified")
    name = arguments["name"]
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("Security group name cannot be empty")
    pod = servers.server_pod(server_id)
    group_id = _named_group(name)
    ports = _server_ports(server_id)
    if not ports:
        raise NotFound(f"instance_id {server_id} could not be found as device id on any ports")
    changed = False
    for port in ports:
        groups = list(port.get("security_groups") or [])
        if action == "addSecurityGroup":
            if group_id in groups:
                continue
            groups.append(group_id)
        elif group_id in groups:
            groups.remove(group_id)
        else:
            continue
        _set_port_groups(pod, port["id"], groups)
        changed = True
    if action == "removeSecurityGroup" and not changed:
        raise NotFound(f"Security group {name} not associated with the instance {server_id}")
    return "", 202


def _set_port_groups(pod: Pod, top_port_id: str, group_ids: list[str]) -> None:
    """Set a top port's groups, then its bottom copy's (bottom groups ensured)."""
    try:
        neutron(
            "PUT",
            f"/v2.0/ports/{segment(top_port_id)}",
            json={"port": {"security_groups": group_ids}},
        )
    except NeutronRefusal as exc:
        if exc.code == 400:
            raise BadRequest(exc.message) from exc
        raise
    with transaction() as session:
        bottom_port_id = routings.find_bottom_id(session, top_port_id, pod.pod_id)
    if not bottom_port_id:
        return
    mirror = state().mirror
    bottom_groups = [mirror.ensure_bottom_security_group(pod, gid) for gid in group_ids]
    mirror.bottom(pod).put(
        f"/v2.0/ports/{segment(bottom_port_id)}",
        json={"port": {"security_groups": bottom_groups}},
    )
