"""``GET /limits`` and quota sets, summed over the pods a project uses.

A project's capacity through the gateway is the sum of its quotas in the pods it is bound to
(every pod when it is bound to none yet); ``-1`` (unlimited) anywhere stays unlimited. Each pod is
asked with the caller's token, so the pods' own policies decide who may read what.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from tricircle.api.compute import policy
from tricircle.api.compute.state import authorize, state
from tricircle.api.gateway import bottom_pods, caller, transaction
from tricircle.db import pods as pod_queries
from tricircle.db.models import Pod

blueprint = Blueprint("compute_limits", __name__)


def pods_of(project_id: str) -> list[Pod]:
    """The pods a project is bound to, or every pod if none."""
    with transaction() as session:
        bound = {b.pod_id for b in pod_queries.list_bindings(session, project_id=project_id)}
    pods = bottom_pods()
    return [pod for pod in pods if pod.pod_id in bound] or pods


def _ask_all(pods: list[Pod], path: str) -> list[Any]:
    """The same GET to every pod in parallel, as the caller; the decoded answers."""
    who = caller()
    calls = state().calls
    with ThreadPoolExecutor(max_workers=max(len(pods), 1)) as pool:
        answers = pool.map(lambda pod: calls.call(who, pod.region_name, "GET", path), pods)
        return [answer.body for answer in answers]


def add_values(left: Any, right: Any) -> Any:
    """Sum two quota values: numbers add, -1 (unlimited) wins, dicts add key by key."""
    if isinstance(left, dict) and isinstance(right, dict):
        return {key: add_values(left.get(key), right.get(key)) for key in {**left, **right}}
    if left is None:
        return right
    if right is None:
        return left
    if isinstance(left, bool) or isinstance(right, bool):
        return left
    if isinstance(left, int | float) and isinstance(right, int | float):
        if left == -1 or right == -1:
            return -1
        return left + right
    return left


def sum_documents(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """Every document added up key by key (non-numbers taken from the first)."""
    total: dict[str, Any] = {}
    for document in documents:
        total = add_values(total, document) if total else dict(document)
    return total


@blueprint.get("/limits")
def show_limits() -> ResponseReturnValue:
    """The caller's absolute limits summed over its pods."""
    answers = _ask_all(pods_of(caller().project_id), "/limits")
    absolute = sum_documents([answer["limits"]["absolute"] for answer in answers])
    return jsonify({"limits": {"rate": [], "absolute": absolute}})


def _quota_set(project_id: str, suffix: str) -> ResponseReturnValue:
    authorize(policy.QUOTA_OTHER, {"project_id": project_id})
    answers = _ask_all(pods_of(project_id), f"/os-quota-sets/{project_id}{suffix}")
    quota_set = sum_documents([answer["quota_set"] for answer in answers])
    quota_set["id"] = project_id
    return jsonify({"quota_set": quota_set})


@blueprint.get("/os-quota-sets/<project_id>")
def show_quota_set(project_id: str) -> ResponseReturnValue:
    """A project's quotas summed over its pods."""
    return _quota_set(project_id, "")


@blueprint.get("/os-quota-sets/<project_id>/detail")
def show_quota_set_detail(project_id: str) -> ResponseReturnValue:
    """A project's quotas with usage, summed over its pods."""
    return _quota_set(project_id, "/detail")


@blueprint.get("/os-quota-sets/<project_id>/defaults")
def show_quota_defaults(project_id: str) -> ResponseReturnValue:
    """Default quotas summed over the project's pods."""
    return _quota_set(project_id, "/defaults")
