"""``os-instance_usage_audit_log`` over every pod: the audit periods' logs merged.

Each pod reports its own hosts for the same period (both compute the period the same way); the
hosts, logs and counts are added up and the overall status recomputed as Nova words it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from tricircle.api.compute import admin_pods, policy
from tricircle.pods.paths import segment

blueprint = Blueprint("compute_usage_audit_log", __name__)

COUNTS = (
    "num_hosts",
    "num_hosts_done",
    "num_hosts_running",
    "num_hosts_not_run",
    "total_instances",
    "total_errors",
)


def merged(logs: list[dict[str, Any]]) -> dict[str, Any]:
    """One audit log of the whole cloud from each pod's."""
    result: dict[str, Any] = dict.fromkeys(COUNTS, 0)
    result.update({"hosts_not_run": [], "log": {}, "period_beginning": None, "period_ending": None})
    for log in logs:
        for key in COUNTS:
            result[key] += log.get(key, 0)
        result["hosts_not_run"] += log.get("hosts_not_run", [])
        result["log"].update(log.get("log", {}))
        for key in ("period_beginning", "period_ending"):
            result[key] = result[key] or log.get(key)
    done = (
        "ALL"
        if result["num_hosts_done"] == result["num_hosts"]
        else f"{result['num_hosts_done']} of {result['num_hosts']}"
    )
    result["overall_status"] = f"{done} hosts done. {result['total_errors']} errors."
    return result


def _merged_from(path: str, key: str) -> ResponseReturnValue:
    """Every pod's answer at ``key`` (Nova's list and show name it differently), merged."""
    answers = admin_pods.ask_every_pod(path, what="instance usage audit log")
    return jsonify({key: merged([answer.body[key] for answer in answers])})


@blueprint.get("/os-instance_usage_audit_log")
def list_audit_logs() -> ResponseReturnValue:
    """The last completed audit period of every pod."""
    admin_pods.authorize_nova(policy.AUDIT_LOG % "list")
    return _merged_from("/os-instance_usage_audit_log", "instance_usage_audit_logs")


@blueprint.get("/os-instance_usage_audit_log/<before_timestamp>")
def show_audit_log(before_timestamp: str) -> ResponseReturnValue:
    """The audit period completed before ``before_timestamp``, of every pod."""
    admin_pods.authorize_nova(policy.AUDIT_LOG % "show")
    return _merged_from(
        f"/os-instance_usage_audit_log/{segment(before_timestamp)}", "instance_usage_audit_log"
    )
