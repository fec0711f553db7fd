"""``os-quota-class-sets/{class}`` of the Nova gateway: quota classes kept by the quota engine
the Cinder gateway's ``os-quota-class-sets`` uses too (``tricircle.quotas.engine``).

The ``default`` class is the defaults every project's total over the pods starts from: a limit
set on it is what ``os-quota-sets/{project}/defaults`` shows and what a project without its own
limit is held to (the pods' quotas follow before the project's next create there). Other classes
are kept and shown as Nova does, and change nothing. Shapes as Nova's: before 2.50 the server
group quotas are not shown (but are accepted), from 2.50 the network quotas are dropped, from
2.57 the injected-file ones.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from tricircle.api import quota_sets, validation
from tricircle.api.compute import policy
from tricircle.api.compute.limits import checked_limits, limits_schema, shown_resources
from tricircle.api.compute.state import authorize
from tricircle.api.errors import BadRequest
from tricircle.api.gateway import caller
from tricircle.quotas.resources import COMPUTE

blueprint = Blueprint("compute_quota_classes", __name__)

SERVER_GROUP_QUOTAS = ("server_groups", "server_group_members")


def _accepted_resources() -> list[str]:
    """The resources a class update takes at the caller's microversion."""
    return shown_resources(network_quotas_until="2.50")


def _shown_resources() -> list[str]:
    """The resources a class view shows at the caller's microversion."""
    hidden = () if caller().microversion.at_least("2.50") else SERVER_GROUP_QUOTAS
    return [resource for resource in _accepted_resources() if resource not in hidden]


def _class_view(class_name: str) -> dict[str, int]:
    limits = quota_sets.engine().class_limits(COMPUTE, class_name)
    return {resource: limits[resource] for resource in _shown_resources()}


@blueprint.get("/os-quota-class-sets/<class_name>")
def show_quota_class(class_name: str) -> ResponseReturnValue:
    """A quota class's limits (admin); a class never set shows the defaults."""
    authorize(policy.QUOTA_CLASS_SHOW)
    return jsonify({"quota_class_set": {"id": class_name, **_class_view(class_name)}})


@blueprint.put("/os-quota-class-sets/<class_name>")
def update_quota_class(class_name: str) -> ResponseReturnValue:
    """Set limits on a quota class (admin); ``default`` sets every project's defaults."""
    authorize(policy.QUOTA_CLASS_UPDATE)
    if not 1 <= len(class_name) <= 255:
        raise BadRequest("quota_class_name has a length of 1 to 255 characters.")
    schema = limits_schema("quota_class_set", _accepted_resources(), force=False)
    limits = checked_limits(validation.validated(request.get_data(), schema)["quota_class_set"])
    quota_sets.engine().update_class_limits(COMPUTE, class_name, limits)
    return jsonify({"quota_class_set": _class_view(class_name)})
