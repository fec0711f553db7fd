"""Flavors, defined at the gateway: list, show, create, update, delete, extra specs, access."""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import Blueprint, g, jsonify, request
from flask.typing import ResponseReturnValue

from tricircle.api import gateway, validation
from tricircle.api.compute import policy
from tricircle.api.compute.state import authorize, gateway_url
from tricircle.api.errors import BadRequest, InvalidField, NotFound
from tricircle.api.gateway import caller, transaction
from tricircle.db.compute import (
    add_flavor_access,
    create_flavor,
    delete_flavor,
    flavor_projects,
    get_flavor,
    list_flavors,
    remove_flavor_access,
)
from tricircle.db.models import Flavor

blueprint = Blueprint("compute_flavors", __name__)

FLAVOR_ID = re.compile(r"(?! )[a-zA-Z0-9. _-]{1,255}(?<! )")


def _visible_to() -> str | None:
    """The project whose flavors the caller sees; None for an admin (sees all)."""
    who = caller()
    return None if who.is_admin else who.project_id


def _links(flavor_id: str) -> list[dict[str, str]]:
    root = request.host_url.rstrip("/")
    return [
        {"rel": "self", "href": f"{gateway_url()}/flavors/{flavor_id}"},
        {"rel": "bookmark", "href": f"{root}/flavors/{flavor_id}"},
    ]


def flavor_view(flavor: Flavor, detail: bool = True) -> dict[str, Any]:
    """A flavor at the caller's microversion."""
    version = g.microversion
    view: dict[str, Any] = {"id": flavor.id, "name": flavor.name}
    if detail:
        view.update(
            {
                "ram": flavor.ram,
                "disk": flavor.disk,
                "vcpus": flavor.vcpus,
                "swap": flavor.swap if version.at_least("2.75") or flavor.swap else "",
                "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral,
                "OS-FLV-DISABLED:disabled": False,
                "rxtx_factor": flavor.rxtx_factor,
                "os-flavor-access:is_public": flavor.is_public,
            }
        )
    if version.at_least("2.55"):
        view["description"] = flavor.description
    if detail and version.at_least("2.61"):
        view["extra_specs"] = dict(flavor.extra_specs or {})
    view["links"] = _links(flavor.id)
    return view


def _json_body() -> dict[str, Any]:
    """The request's JSON object; 400 if malformed."""
    return validation.json_object(request.get_data())


def _int_field(body: dict[str, Any], name: str, minimum: int, default: int | None = None) -> int:
    value = body.get(name, default)
    if value is None:
        raise InvalidField(name, "is required")
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise InvalidField(name, "must be an integer") from exc
    if isinstance(value, bool) or number < minimum or number > 2**31 - 1:
        raise InvalidField(name, f"must be an integer between {minimum} and {2**31 - 1}")
    return number


def _flavor_id(value: Any) -> str:
    """A flavor ID as Nova takes it: a string or a number (kept as its text), or a new UUID."""
    if value is None:
        return str(uuid.uuid4())
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not FLAVOR_ID.fullmatch(value):
        raise InvalidField("id", "must be 1 to 255 letters, digits, '.', '_', '-' or inner spaces")
    return value


def parse_flavor(document: dict[str, Any]) -> Flavor:
    """A Flavor from a create body; InvalidField naming the bad field."""
    body = document.get("flavor")
    if not isinstance(body, dict):
        raise InvalidField("flavor", "must be a JSON object")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise InvalidField("name", "must be a non-empty string of at most 255 characters")
    flavor_id = _flavor_id(body.get("id"))
    is_public = validation.body_boolean(
        "os-flavor-access:is_public", body.get("os-flavor-access:is_public", True)
    )
    description = body.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > 65535):
        raise InvalidField("description", "must be a string")
    rxtx = body.get("rxtx_factor", 1.0)
    if isinstance(rxtx, bool) or not isinstance(rxtx, int | float) or rxtx <= 0:
        raise InvalidField("rxtx_factor", "must be a positive number")
    return Flavor(
        id=flavor_id,
        name=name.strip(),
        ram=_int_field(body, "ram", 1),
        vcpus=_int_field(body, "vcpus", 1),
        disk=_int_field(body, "disk", 0),
        swap=_int_field(body, "swap", 0, 0),
        ephemeral=_int_field(body, "OS-FLV-EXT-DATA:ephemeral", 0, 0),
        rxtx_factor=float(rxtx),
        is_public=is_public,
        description=description,
        extra_specs={},
    )


def _filtered(flavors: list[Flavor]) -> list[Flavor]:
    """Flavors passing minRam/minDisk, after ``marker``, at most ``limit``."""
    args = request.args
    for name, attribute in (("minRam", "ram"), ("minDisk", "disk")):
        if name in args:
            try:
                minimum = int(args[name])
            except ValueError as exc:
                raise InvalidField(name, "must be an integer") from exc
            flavors = [flavor for flavor in flavors if getattr(flavor, attribute) >= minimum]
    marker = args.get("marker")
    if marker is not None:
        ids = [flavor.id for flavor in flavors]
        if marker not in ids:
            raise BadRequest(f"marker [{marker}] not found")
        flavors = flavors[ids.index(marker) + 1 :]
    if "limit" in args:
        try:
            limit = int(args["limit"])
        except ValueError as exc:
            raise InvalidField("limit", "must be an integer") from exc
        if limit < 0:
            raise InvalidField("limit", "must be >= 0")
        flavors = flavors[:limit]
    return flavors


def _public_filter() -> bool | None:
    """Nova's ``is_public``: members see public flavors and their own private ones (None)."""
    if not caller().is_admin:
        return None
    raw = request.args.get("is_public")
    if raw is None:
        return True
    if raw.lower() == "none":
        return None
    return raw.lower() in ("1", "true", "yes", "t", "y", "on")


def _list(detail: bool) -> ResponseReturnValue:
    with transaction() as session:
        flavors = _filtered(list_flavors(session, _visible_to(), _public_filter()))
    return jsonify({"flavors": [flavor_view(flavor, detail) for flavor in flavors]})


gateway.route_lists(blueprint, "/flavors", _list)


@blueprint.get("/flavors/<flavor_id>")
def show(flavor_id: str) -> ResponseReturnValue:
    """One flavor."""
    with transaction() as session:
        flavor = get_flavor(session, flavor_id, _visible_to())
    return jsonify({"flavor": flavor_view(flavor)})


@blueprint.post("/flavors")
def create() -> ResponseReturnValue:
    """Define a flavor (admin)."""
    authorize(policy.FLAVOR_MANAGE)
    flavor = parse_flavor(_json_body())
    with transaction() as session:
        create_flavor(session, flavor)
    return jsonify({"flavor": flavor_view(flavor)})


@blueprint.put("/flavors/<flavor_id>")
def update(flavor_id: str) -> ResponseReturnValue:
    """Change a flavor's description (microversion 2.55)."""
    authorize(policy.FLAVOR_MANAGE)
    if not g.microversion.at_least("2.55"):
        raise NotFound("The resource could not be found.")
    body = _json_body().get("flavor")
    if not isinstance(body, dict) or set(body) != {"description"}:
        raise InvalidField("flavor", "must hold exactly 'description'")
    with transaction() as session:
        flavor = get_flavor(session, flavor_id, None)
        flavor.description = body["description"]
    return jsonify({"flavor": flavor_view(flavor)})


@blueprint.delete("/flavors/<flavor_id>")
def delete(flavor_id: str) -> ResponseReturnValue:
    """Remove a flavor from the gateway (bottom copies stay for servers that use them)."""
    authorize(policy.FLAVOR_MANAGE)
    with transaction() as session:
        delete_flavor(session, flavor_id)
    return "", 202


@blueprint.get("/flavors/<flavor_id>/os-extra_specs")
def list_extra_specs(flavor_id: str) -> ResponseReturnValue:
    """A flavor's extra specs."""
    with transaction() as session:
        flavor = get_flavor(session, flavor_id, _visible_to())
    return jsonify({"extra_specs": dict(flavor.extra_specs or {})})


def _checked_specs(specs: Any) -> dict[str, str]:
    if not isinstance(specs, dict) or not specs:
        raise InvalidField("extra_specs", "must be a non-empty JSON object")
    checked = {}
    for key, value in specs.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 255:
            raise InvalidField("extra_specs", "keys must be strings of 1 to 255 characters")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidField(f"extra_specs.{key}", "must be a string or a number")
        checked[key] = str(value)
    return checked


@blueprint.post("/flavors/<flavor_id>/os-extra_specs")
def set_extra_specs(flavor_id: str) -> ResponseReturnValue:
    """Add or change extra specs (admin)."""
    authorize(policy.FLAVOR_MANAGE)
    specs = _checked_specs(_json_body().get("extra_specs"))
    with transaction() as session:
        flavor = get_flavor(session, flavor_id, None)
        flavor.extra_specs = {**(flavor.extra_specs or {}), **specs}
    return jsonify({"extra_specs": specs})


@blueprint.get("/flavors/<flavor_id>/os-extra_specs/<key>")
def show_extra_spec(flavor_id: str, key: str) -> ResponseReturnValue:
    """One extra spec."""
    with transaction() as session:
        flavor = get_flavor(session, flavor_id, _visible_to())
    specs = flavor.extra_specs or {}
    if key not in specs:
        raise NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
    return jsonify({key: specs[key]})


@blueprint.put("/flavors/<flavor_id>/os-extra_specs/<key>")
def update_extra_spec(flavor_id: str, key: str) -> ResponseReturnValue:
    """Change one extra spec (admin); the body names exactly that key."""
    authorize(policy.FLAVOR_MANAGE)
    body = _json_body()
    if set(body) != {key}:
        raise BadRequest("Request body and URI mismatch")
    specs = _checked_specs(body)
    with transaction() as session:
        flavor = get_flavor(session, flavor_id, None)
        flavor.extra_specs = {**(flavor.extra_specs or {}), **specs}
    return jsonify(specs)


@blueprint.delete("/flavors/<flavor_id>/os-extra_specs/<key>")
def delete_extra_spec(flavor_id: str, key: str) -> ResponseReturnValue:
    """Remove one extra spec (admin)."""
    authorize(policy.FLAVOR_MANAGE)
    with transaction() as session:
        flavor = get_flavor(session, flavor_id, None)
        specs = dict(flavor.extra_specs or {})
        if key not in specs:
            raise NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
        del specs[key]
        flavor.extra_specs = specs
    return "", 200


def _access_view(flavor_id: str, projects: list[str]) -> dict[str, Any]:
    return {
        "flavor_access": [
            {"flavor_id": flavor_id, "tenant_id": project_id} for project_id in projects
        ]
    }


@blueprint.get("/flavors/<flavor_id>/os-flavor-access")
def list_access(flavor_id: str) -> ResponseReturnValue:
    """Projects allowed to use a private flavor (admin)."""
    authorize(policy.FLAVOR_MANAGE)
    with transaction() as session:
        flavor = get_flavor(session, flavor_id, None)
        if flavor.is_public:
            raise NotFound("Access list not available for public flavors.")
        projects = flavor_projects(session, flavor_id)
    return jsonify(_access_view(flavor_id, projects))


@blueprint.post("/flavors/<flavor_id>/action")
def access_action(flavor_id: str) -> ResponseReturnValue:
    """``addTenantAccess`` / ``removeTenantAccess`` (admin)."""
    authorize(policy.FLAVOR_MANAGE)
    body = _json_body()
    if len(body) != 1 or next(iter(body)) not in ("addTenantAccess", "removeTenantAccess"):
        raise BadRequest("The action must be addTenantAccess or removeTenantAccess.")
    action, argument = next(iter(body.items()))
    tenant = argument.get("tenant") if isinstance(argument, dict) else None
    if not isinstance(tenant, str) or not tenant:
        raise InvalidField(f"{action}.tenant", "is required")
    with transaction() as session:
        flavor = get_flavor(session, flavor_id, None)
        if flavor.is_public:
            raise BadRequest("Can not add access to a public flavor.")
        if action == "addTenantAccess":
            add_flavor_access(session, flavor_id, tenant)
        else:
            remove_flavor_access(session, flavor_id, tenant)
        projects = flavor_projects(session, flavor_id)
    return jsonify(_access_view(flavor_id, projects))
