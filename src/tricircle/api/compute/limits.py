"""``GET /limits`` and ``os-quota-sets`` of the Nova gateway: limits on a project's total over
every pod, set here and enforced by the gateway (``tricircle.quotas``), in Nova's shapes.

Microversions as Nova: from 2.36 the network quotas are neither shown nor accepted, from 2.57
the injected-file ones; from 2.39 ``maxImageMeta`` leaves ``/limits``. ``?user_id=`` addresses
one user's share of the project (Nova's per-user quotas): its limits fall back to the project's,
its usage is its own servers over every pod, and DELETE returns it to the project's limits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from tricircle.api import quota_sets, validation
from tricircle.api.compute import policy
from tricircle.api.compute.state import authorize
from tricircle.api.errors import BadRequest
from tricircle.api.gateway import caller
from tricircle.quotas.resources import COMPUTE, INJECTED_FILE_QUOTAS, NETWORK_QUOTAS

blueprint = Blueprint("compute_limits", __name__)

MAX_LIMIT = 0x7FFFFFFF
_LIMIT_VALUE = {
    "type": ["integer", "string"],
    "pattern": "^-?[0-9]+$",
    "minimum": -1,
    "maximum": MAX_LIMIT,
}
LIMIT_NAMES = {
    "ram": ["maxTotalRAMSize"],
    "instances": ["maxTotalInstances"],
    "cores": ["maxTotalCores"],
    "key_pairs": ["maxTotalKeypairs"],
    "floating_ips": ["maxTotalFloatingIps"],
    "metadata_items": ["maxServerMeta", "maxImageMeta"],
    "injected_files": ["maxPersonality"],
    "injected_file_content_bytes": ["maxPersonalitySize"],
    "security_groups": ["maxSecurityGroups"],
    "security_group_rules": ["maxSecurityGroupRules"],
    "server_groups": ["maxServerGroups"],
    "server_group_members": ["maxServerGroupMembers"],
}
USED_NAMES = {
    "totalRAMUsed": "ram",
    "totalCoresUsed": "cores",
    "totalInstancesUsed": "instances",
    "totalFloatingIpsUsed": "floating_ips",
    "totalSecurityGroupsUsed": "security_groups",
    "totalServerGroupsUsed": "server_groups",
}


def shown_resources(network_quotas_until: str = "2.36") -> list[str]:
    """The quota resources of the caller's microversion, in Nova's order: the network quotas
    go at ``network_quotas_until`` (2.36 for quota sets, 2.50 for quota classes), the
    injected-file quotas at 2.57."""
    version = caller().microversion
    hidden: set[str] = set()
    if version.at_least(network_quotas_until):
        hidden.update(NETWORK_QUOTAS)
    if version.at_least("2.57"):
        hidden.update(INJECTED_FILE_QUOTAS)
    return [resource for resource in COMPUTE.resources if resource not in hidden]


def limits_schema(key: str, resources: Iterable[str], *, force: bool) -> dict[str, Any]:
    """Nova's schema of a body setting limits under ``key`` (``force`` accepted if asked)."""
    properties: dict[str, Any] = {resource: _LIMIT_VALUE for resource in resources}
    if force:
        properties["force"] = validation.BOOLEAN
    return {
        "type": "object",
        "properties": {
            key: {"type": "object", "properties": properties, "additionalProperties": False}
        },
        "required": [key],
        "additionalProperties": False,
    }


def checked_limits(asked: Mapping[str, Any]) -> dict[str, int]:
    """Limits from a validated body (numbers as integers or their text), each -1 or more."""
    limits = {resource: int(value) for resource, value in asked.items()}
    for resource, limit in limits.items():
        if not -1 <= limit <= MAX_LIMIT:
            raise BadRequest(
                f"Invalid input for field/attribute {resource}. Value: {limit}. "
                f"{limit} is less than the minimum of -1"
            )
    return limits


def _checked(project_id: str) -> str:
    return quota_sets.checked_project_id(
        project_id, f"Project ID {project_id} is not a valid project."
    )


def _user() -> str | None:
    """The user whose share of the project is addressed (``user_id``), checked; else None."""
    user_id = request.args.get("user_id")
    if not user_id:
        return None
    return quota_sets.checked_project_id(user_id, f"User ID {user_id} is not a valid user.")


@blueprint.get("/limits")
def show_limits() -> ResponseReturnValue:
    """The absolute limits of the caller's project (an admin may name ``tenant_id``) with its
    usage summed over the pods."""
    project_id = caller().project_id
    if "tenant_id" in request.args:
        project_id = _checked(request.args["tenant_id"])
        authorize(policy.QUOTA_OTHER, {"project_id": project_id})
    usage = quota_sets.engine().usage(COMPUTE, project_id)
    shown = set(shown_resources())
    absolute: dict[str, int] = {}
    for resource, names in LIMIT_NAMES.items():
        if resource in shown:
            for name in names:
                if name != "maxImageMeta" or not caller().microversion.at_least("2.39"):
                    absolute[name] = usage.limits[resource]
    for name, resource in USED_NAMES.items():
        if resource in shown:
            absolute[name] = usage.in_use.get(resource, 0)
    return jsonify({"limits": {"rate": [], "absolute": absolute}})


@blueprint.get("/os-quota-sets/<project_id>")
def show_quota_set(project_id: str) -> ResponseReturnValue:
    """A project's limits on its total over every pod, or one user's share of them."""
    project_id = _checked(project_id)
    authorize(policy.QUOTA_OTHER, {"project_id": project_id})
    user_id = _user()
    engine = quota_sets.engine()
    if user_id is None:
        limits = engine.limits(COMPUTE, project_id)
    else:
        limits = engine.user_limits(COMPUTE, project_id, user_id)
    return jsonify(quota_sets.quota_set({r: limits[r] for r in shown_resources()}, project_id))


@blueprint.get("/os-quota-sets/<project_id>/detail")
def show_quota_set_detail(project_id: str) -> ResponseReturnValue:
    """A project's (or one user's) limits with its usage summed over the pods."""
    project_id = _checked(project_id)
    authorize(policy.QUOTA_OTHER, {"project_id": project_id})
    user_id = _user()
    engine = quota_sets.engine()
    if user_id is None:
        usage = engine.usage(COMPUTE, project_id)
    else:
        usage = engine.user_usage(COMPUTE, project_id, user_id)
    values = quota_sets.with_usage(usage, shown_resources())
    return jsonify(quota_sets.quota_set(values, project_id))


@blueprint.get("/os-quota-sets/<project_id>/defaults")
def show_quota_defaults(project_id: str) -> ResponseReturnValue:
    """The default limits."""
    project_id = _checked(project_id)
    authorize(policy.QUOTA_OTHER, {"project_id": project_id})
    defaults = quota_sets.engine().defaults(COMPUTE)
    return jsonify(quota_sets.quota_set({r: defaults[r] for r in shown_resources()}, project_id))


@blueprint.put("/os-quota-sets/<project_id>")
def update_quota_set(project_id: str) -> ResponseReturnValue:
    """Set limits on a project's total or one user's share (admin); below the usage, or a
    user's above what the project leaves, only with ``force``."""
    project_id = _checked(project_id)
    authorize(policy.QUOTA_UPDATE, {"project_id": project_id})
    resources = shown_resources()
    schema = limits_schema("quota_set", resources, force=True)
    body = validation.validated(request.get_data(), schema)["quota_set"]
    force = validation.body_boolean("force", body.pop("force", False))
    limits = checked_limits(body)
    user_id = _user()
    engine = quota_sets.engine()
    if user_id is None:
        updated = engine.update_limits(COMPUTE, project_id, limits, force=force)
    else:
        updated = engine.update_user_limits(COMPUTE, project_id, user_id, limits, force=force)
    return jsonify(quota_sets.quota_set({r: updated[r] for r in resources}, None))


@blueprint.delete("/os-quota-sets/<project_id>")
def delete_quota_set(project_id: str) -> ResponseReturnValue:
    """Return a project's limits (its users' too) to the defaults, or one user's to the
    project's (admin)."""
    project_id = _checked(project_id)
    authorize(policy.QUOTA_DELETE, {"project_id": project_id})
    user_id = _user()
    if user_id is None:
        quota_sets.engine().reset_limits(COMPUTE, project_id)
    else:
        quota_sets.engine().reset_user_limits(COMPUTE, project_id, user_id)
    return Response(status=202)
