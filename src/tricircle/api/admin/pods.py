"""``/v1.0/pods`` and ``/v1.0/bindings``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from tricircle.api import validation
from tricircle.api.admin.common import authorize, state, timestamp
from tricircle.api.errors import InvalidField
from tricircle.api.gateway import transaction
from tricircle.api.validation import Field
from tricircle.db import pods
from tricircle.db.models import Pod, PodBinding

blueprint = Blueprint("pods", __name__)

POD_FIELDS = {
    "region_name": Field(required=True, allow_empty=False),
    "az_name": Field(),
    "pod_az_name": Field(),
    "dc_name": Field(),
    "is_enabled": Field(kind=bool),
}
POD_UPDATE_FIELDS = {"is_enabled": Field(kind=bool, required=True)}
BINDING_FIELDS = {
    "project_id": Field(required=True, allow_empty=False),
    "pod_id": Field(required=True, allow_empty=False, max_length=36),
}
Body = tuple[dict[str, Any], int]


def pod_view(pod: Pod) -> dict[str, str | bool]:
    """The API form of a pod."""
    return {
        "pod_id": pod.pod_id,
        "region_name": pod.region_name,
        "az_name": pod.az_name,
        "pod_az_name": pod.pod_az_name,
        "dc_name": pod.dc_name,
        "is_enabled": pod.is_enabled,
    }


def binding_view(binding: PodBinding) -> dict[str, str | None]:
    """The API form of a pod binding."""
    return {
        "id": binding.id,
        "project_id": binding.project_id,
        "pod_id": binding.pod_id,
        "az_name": binding.az_name,
        "created_at": timestamp(binding.created_at),
        "updated_at": timestamp(binding.updated_at),
    }


@blueprint.post("/pods")
def create_pod() -> Body:
    """Register a pod; the one with an empty az_name is the top pod."""
    authorize("tricircle:pods:create")
    fields = validation.parse_body(request.get_data(), "pod", POD_FIELDS)
    _check_region(fields["region_name"])
    with transaction() as session:
        pod = pods.create_pod(session, **fields)
    return {"pod": pod_view(pod)}, 201


def _check_region(region_name: str) -> None:
    """400 unless Keystone knows ``region_name`` (when the app can ask Keystone)."""
    read_regions = state().keystone_regions
    if read_regions is not None and region_name not in read_regions():
        raise InvalidField("pod.region_name", f"Keystone has no region {region_name!r}")


@blueprint.get("/pods")
def list_pods() -> Body:
    """Every pod, optionally filtered by az_name or region_name."""
    authorize("tricircle:pods:list")
    filters = validation.parse_filters(request.args, {"az_name": str, "region_name": str})
    with transaction() as session:
        found = pods.list_pods(session, **filters)
        return {"pods": [pod_view(pod) for pod in found]}, 200


@blueprint.get("/pods/<pod_id>")
def show_pod(pod_id: str) -> Body:
    """One pod."""
    authorize("tricircle:pods:show")
    with transaction() as session:
        return {"pod": pod_view(pods.get_pod(session, pod_id))}, 200


@blueprint.put("/pods/<pod_id>")
def update_pod(pod_id: str) -> Body:
    """Enable or disable a pod for new bindings (projects bound to it stay)."""
    authorize("tricircle:pods:update")
    fields = validation.parse_body(request.get_data(), "pod", POD_UPDATE_FIELDS)
    with transaction() as session:
        pod = pods.update_pod(session, pod_id, **fields)
    return {"pod": pod_view(pod)}, 200


@blueprint.delete("/pods/<pod_id>")
def delete_pod(pod_id: str) -> tuple[str, int]:
    """Remove a pod that no routing uses any more."""
    authorize("tricircle:pods:delete")
    with transaction() as session:
        pods.delete_pod(session, pod_id)
    return "", 204


@blueprint.post("/bindings")
def create_binding() -> Body:
    """Bind a project to a bottom pod."""
    authorize("tricircle:bindings:create")
    fields = validation.parse_body(request.get_data(), "pod_binding", BINDING_FIELDS)
    with transaction() as session:
        binding = pods.create_binding(session, **fields)
    return {"pod_binding": binding_view(binding)}, 201


@blueprint.get("/bindings")
def list_bindings() -> Body:
    """Every binding, optionally of one project or one pod."""
    authorize("tricircle:bindings:list")
    filters = validation.parse_filters(request.args, {"project_id": str, "pod_id": str})
    with transaction() as session:
        found = pods.list_bindings(session, **filters)
        return {"pod_bindings": [binding_view(binding) for binding in found]}, 200


@blueprint.get("/bindings/<binding_id>")
def show_binding(binding_id: str) -> Body:
    """One binding."""
    authorize("tricircle:bindings:show")
    with transaction() as session:
        return {"pod_binding": binding_view(pods.get_binding(session, binding_id))}, 200


@blueprint.delete("/bindings/<binding_id>")
def delete_binding(binding_id: str) -> tuple[str, int]:
    """Remove a binding."""
    authorize("tricircle:bindings:delete")
    with transaction() as session:
        pods.delete_binding(session, binding_id)
    return "", 204
