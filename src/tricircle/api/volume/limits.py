"""Limits and quota sets of the Cinder gateway, and the volume summary seen from RegionOne.

Limits hold on a project's total over every pod: set here (``os-quota-sets``, admin), enforced
by the gateway (``tricircle.quotas``), shown with the usage summed over the pods, in Cinder's
shapes. The volume summary is each pod's answer added up (pods asked in parallel as the caller;
one that fails or does not answer in time is left out and logged).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from tricircle.api import gateway, quota_sets
from tricircle.api.microversions import Microversion
from tricircle.api.volume import common, policy
from tricircle.api.volume.faults import bad_request, not_found
from tricircle.api.volume.quota_classes import is_per_type_key
from tricircle.db.models import Pod
from tricircle.pods.client import PodCallError
from tricircle.quotas.engine import DEFAULT_CLASS
from tricircle.quotas.resources import VOLUME

LOG = logging.getLogger(__name__)

blueprint = Blueprint("limits", __name__)

SUMMARY = Microversion(3, 12)
SUMMARY_METADATA = Microversion(3, 36)


def _ask_every_pod(path: str, params: dict[str, str]) -> list[Any]:
    """The JSON answer of each pod that answers ``GET path`` in time, as the caller."""
    state = common.state()
    who = gateway.caller()
    pods = gateway.bottom_pods()

    def ask(pod: Pod) -> Any:
        return state.calls.call(who, pod.region_name, "GET", path, params=params).body

    answers = []
    for outcome in state.pod_pool.call_each(ask, pods, state.conf.volume_api.list_timeout):
        region_name = outcome.item.region_name
        if not outcome.in_time:
            LOG.warning("pod %s did not answer %s in time; left out", region_name, path)
        elif isinstance(outcome.error, PodCallError):
            LOG.warning("pod %s failed %s: %s", region_name, path, outcome.error)
        else:
            answers.append(outcome.result())
    return answers


@blueprint.get("/v3/volumes/summary")
def volume_summary() -> Response:
    """Count and total size (and metadata values) of the caller's volumes in every pod."""
    if g.microversion < SUMMARY:
        raise not_found(f"API version {g.microversion} is not supported on this method.")
    answers = _ask_every_pod("/volumes/summary", request.args.to_dict())
    totals = {"total_size": 0, "total_count": 0}
    metadata: dict[str, set[str]] = {}
    for answer in answers:
        summary = answer["volume-summary"]
        for key in totals:
            totals[key] += summary.get(key, 0)
        for key, values in summary.get("metadata", {}).items():
            metadata.setdefault(key, set()).update(values)
    body: dict[str, Any] = dict(totals)
    if g.microversion >= SUMMARY_METADATA:
        body["metadata"] = {key: sorted(values) for key, values in sorted(metadata.items())}
    return jsonify({"volume-summary": body})


NON_QUOTA_KEYS = ("tenant_id", "id")
MAX_LIMIT = 0x7FFFFFFF
LIMIT_NAMES = {
    "gigabytes": "maxTotalVolumeGigabytes",
    "backup_gigabytes": "maxTotalBackupGigabytes",
    "volumes": "maxTotalVolumes",
    "snapshots": "maxTotalSnapshots",
    "backups": "maxTotalBackups",
}
USED_NAMES = {
    "totalGigabytesUsed": "gigabytes",
    "totalBackupGigabytesUsed": "backup_gigabytes",
    "totalVolumesUsed": "volumes",
    "totalSnapshotsUsed": "snapshots",
    "totalBackupsUsed": "backups",
}
QUOTA_UPDATE = {
    "type": "object",
    "properties": {"quota_set": {"type": "object", "minProperties": 1}},
    "required": ["quota_set"],
    "additionalProperties": False,
}


_TRUE = {"true", "1", "yes", "on", "y", "t"}
_FALSE = {"false", "0", "no", "off", "n", "f"}


def _authorize(rule: str, project_id: str) -> None:
    common.state().enforcer.authorize(rule, {"project_id": project_id}, g.context, do_raise=True)


def _project(project_id: str) -> str:
    return quota_sets.checked_project_id(project_id, f"Invalid project ID {project_id}.")


@blueprint.get("/v3/limits")
def limits() -> Response:
    """The caller's absolute limits with its usage summed over the pods."""
    usage = quota_sets.engine().usage(VOLUME, common.project_id())
    absolute = {name: usage.limits[resource] for resource, name in LIMIT_NAMES.items()}
    absolute.update({name: usage.used(resource) for name, resource in USED_NAMES.items()})
    return jsonify({"limits": {"rate": [], "absolute": absolute}})


def _usage_asked() -> bool:
    raw = request.args.get("usage")
    if raw is None:
        return False
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise bad_request(f"Invalid value '{raw}' for usage")


@blueprint.get("/v3/os-quota-sets/<project_id>")
def quota_set(project_id: str) -> Response:
    """A project's limits (with ``usage=true``, with its usage summed over the pods)."""
    project_id = _project(project_id)
    _authorize(policy.QUOTAS_SHOW, project_id)
    engine = quota_sets.engine()
    if _usage_asked():
        values: dict[str, Any] = quota_sets.with_usage(
            engine.usage(VOLUME, project_id), VOLUME.resources
        )
    else:
        values = engine.limits(VOLUME, project_id)
    return jsonify(quota_sets.quota_set(values, project_id))


@blueprint.get("/v3/os-quota-sets/<project_id>/defaults")
def quota_defaults(project_id: str) -> Response:
    """The default limits."""
    project_id = _project(project_id)
    _authorize(policy.QUOTAS_SHOW, project_id)
    # The default quota class, as os-quota-class-sets/default shows it.
    defaults = quota_sets.engine().class_limits(VOLUME, DEFAULT_CLASS, is_per_type_key)
    return jsonify(quota_sets.quota_set(defaults, project_id))


def _limits_asked() -> dict[str, int]:
    """The limits of a PUT body, checked as Cinder checks them."""
    document = common.json_body("quota_set", QUOTA_UPDATE)
    asked = document["quota_set"]
    bad_keys = [key for key in asked if key not in VOLUME.resources and key not in NON_QUOTA_KEYS]
    if bad_keys:
        raise bad_request(f"Invalid input received: Bad key(s) in quota set: {', '.join(bad_keys)}")
    limits = {}
    for key, value in asked.items():
        if key in NON_QUOTA_KEYS:
            continue
        try:
            limit = int(str(value))
        except ValueError:
            raise bad_request(f"{key} must be an integer") from None
        if isinstance(value, bool) or limit < -1:
            raise bad_request(f"{key} must be >= -1")
        if limit > MAX_LIMIT:
            raise bad_request(f"{key} must be <= {MAX_LIMIT}")
        limits[key] = limit
    return limits


@blueprint.put("/v3/os-quota-sets/<project_id>")
def update_quota_set(project_id: str) -> Response:
    """Set limits on a project's total (admin); a limit below the usage is refused."""
    project_id = _project(project_id)
    _authorize(policy.QUOTAS_UPDATE, project_id)
    limits = _limits_asked()
    updated = quota_sets.engine().update_limits(VOLUME, project_id, limits, force=False)
    return jsonify(quota_sets.quota_set(updated, None))


@blueprint.delete("/v3/os-quota-sets/<project_id>")
def delete_quota_set(project_id: str) -> Response:
    """Return a project's limits to the defaults (admin)."""
    project_id = _project(project_id)
    _authorize(policy.QUOTAS_DELETE, project_id)
    quota_sets.engine().reset_limits(VOLUME, project_id)
    return Response(status=200)
