"""``/v3/os-quota-class-sets/{class}``: quota classes kept by the gateway's quota engine.

The ``default`` class is the defaults every project's total over the pods starts from (what
``os-quota-sets/{project}/defaults`` shows); a limit set on it replaces the ``[quota]`` default,
and the pods' own quotas of each project follow before its next create there. Other classes are
kept and shown as Cinder does, and change nothing. Per-volume-type keys (``volumes_<type>``,
``snapshots_<type>``, ``gigabytes_<type>`` of an existing type) are kept and shown; the gateway
enforces the per-resource totals only.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from tricircle.api import gateway, quota_sets
from tricircle.api.volume import common, fanout, policy
from tricircle.api.volume.faults import bad_request
from tricircle.db import volume_types as type_queries
from tricircle.quotas.resources import VOLUME

blueprint = Blueprint("volume_quota_classes", __name__)

MAX_LIMIT = 0x7FFFFFFF
PER_TYPE_PREFIXES = ("volumes_", "snapshots_", "gigabytes_")
QUOTA_CLASS_UPDATE = {
    "type": "object",
    "properties": {"quota_class_set": {"type": "object"}},
    "required": ["quota_class_set"],
    "additionalProperties": False,
}


def is_per_type_key(key: str) -> bool:
    """Whether ``key`` is a per-volume-type limit (``volumes_gold``)."""
    return key.startswith(PER_TYPE_PREFIXES)


def _type_names() -> set[str]:
    with gateway.transaction() as session:
        return {t.name for t in type_queries.list_volume_types(session, include_private=True)}


def class_view(class_name: str) -> dict[str, int]:
    """The class's limits with the per-type limits of every type (-1 where none is set)."""
    per_type = {f"{prefix}{name}": -1 for name in _type_names() for prefix in PER_TYPE_PREFIXES}
    return {**per_type, **quota_sets.engine().class_limits(VOLUME, class_name, is_per_type_key)}


def _checked_class(class_name: str) -> str:
    if not 1 <= len(class_name) <= 255:
        raise bad_request(
            "Invalid input received: quota_class_name has a length of 1 to 255 characters."
        )
    return class_name


def _limits_asked() -> dict[str, int]:
    """The limits of a PUT body, checked as Cinder checks them."""
    asked = common.json_body("quota_class_set", QUOTA_CLASS_UPDATE)["quota_class_set"]
    names = _type_names()
    limits = {}
    for key, value in asked.items():
        if key in ("id", "tenant_id"):
            continue
        per_type = next((key[len(p) :] for p in PER_TYPE_PREFIXES if key.startswith(p)), None)
        if key not in VOLUME.resources and per_type not in names:
            raise bad_request(f"Invalid input received: Bad key(s) in quota set: {key}")
        if isinstance(value, bool):
            raise bad_request(f"{key} must be an integer")
        try:
            limit = int(str(value))
        except ValueError:
            raise bad_request(f"{key} must be an integer") from None
        if limit < -1:
            raise bad_request(f"{key} must be >= -1")
        if limit > MAX_LIMIT:
            raise bad_request(f"{key} must be <= {MAX_LIMIT}")
        limits[key] = limit
    return limits


@blueprint.get("/v3/os-quota-class-sets/<class_name>")
def show_quota_class(class_name: str) -> Response:
    """A quota class (admin)."""
    fanout.authorize(policy.QUOTA_CLASSES_GET)
    class_name = _checked_class(class_name)
    return jsonify({"quota_class_set": {"id": class_name, **class_view(class_name)}})


@blueprint.put("/v3/os-quota-class-sets/<class_name>")
def update_quota_class(class_name: str) -> Response:
    """Set limits on a quota class (admin); ``default`` sets every project's defaults."""
    fanout.authorize(policy.QUOTA_CLASSES_UPDATE)
    class_name = _checked_class(class_name)
    quota_sets.engine().update_class_limits(VOLUME, class_name, _limits_asked())
    return jsonify({"quota_class_set": class_view(class_name)})
