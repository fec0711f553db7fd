"""Limits, quotas and the volume summary seen from RegionOne: each pod's answer, added up.

A project's capacity across pods is the sum of what each pod allows (-1, unlimited, anywhere
makes the total unlimited) and its usage is the sum of its usage in each pod. Pods are asked in
parallel as the caller; one that fails or does not answer in time is left out and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent import futures
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from tricircle.api import gateway
from tricircle.api.microversions import Microversion
from tricircle.api.volume import common
from tricircle.api.volume.faults import not_found
from tricircle.db.models import Pod
from tricircle.pods.client import PodCallError

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

    if not pods:
        return []
    pool = futures.ThreadPoolExecutor(max_workers=len(pods))
    try:
        asked = {pool.submit(ask, pod): pod for pod in pods}
        futures.wait(asked, timeout=state.conf.volume_api.list_timeout)
        answers = []
        for future, pod in asked.items():
            if not future.done():
                LOG.warning("pod %s did not answer %s in time; left out", pod.region_name, path)
            elif isinstance(future.exception(), PodCallError):
                LOG.warning("pod %s failed %s: %s", pod.region_name, path, future.exception())
            else:
                answers.append(future.result())
        return answers
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _add(values: list[Any]) -> Any:
    """Numbers summed (any -1 limit stays -1); dicts added key by key; else the first value."""
    if all(isinstance(v, dict) for v in values):
        keys = dict.fromkeys(key for value in values for key in value)
        return {key: _add([v[key] for v in values if key in v]) for key in keys}
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return -1 if -1 in values else sum(values)
    return values[0]


def _added(answers: list[Any], key: str, fallback: Callable[[], Any]) -> Any:
    parts = [answer[key] for answer in answers]
    return _add(parts) if parts else fallback()


@blueprint.get("/v3/limits")
def limits() -> Response:
    """The caller's absolute limits and usage, summed over the pods."""
    answers = _ask_every_pod("/limits", request.args.to_dict())
    added = _added(answers, "limits", lambda: {"rate": [], "absolute": {}})
    return jsonify({"limits": {"rate": [], "absolute": added["absolute"]}})


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


@blueprint.get("/v3/os-quota-sets/<project_id>")
def quota_set(project_id: str) -> Response:
    """A project's quotas (with ``usage=true``, limits and usage), summed over the pods."""
    answers = _ask_every_pod(f"/os-quota-sets/{project_id}", request.args.to_dict())
    added = _added(answers, "quota_set", dict)
    return jsonify({"quota_set": {**added, "id": project_id}})


@blueprint.get("/v3/os-quota-sets/<project_id>/defaults")
def quota_defaults(project_id: str) -> Response:
    """The default quotas, summed over the pods."""
    answers = _ask_every_pod(f"/os-quota-sets/{project_id}/defaults", {})
    added = _added(answers, "quota_set", dict)
    return jsonify({"quota_set": {**added, "id": project_id}})
