"""``/v3/messages``: the caller's user messages of every pod; one message read or deleted in its
pod (found through its routing, else by asking the pods, then routed).

Messages are made by the pods' own services, so their IDs are the pods'; a list records no
routings (a show or delete finds the pod once and records it).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from tricircle.api.volume import common, fanout, forwarding, routing
from tricircle.pods.paths import segment

blueprint = Blueprint("volume_messages", __name__)

MESSAGES = "3.3"


@blueprint.get("/v3/messages")
def list_messages() -> Response:
    """The caller's messages in every pod, newest first (filters passed to each pod)."""
    fanout.require_microversion(MESSAGES)
    params = {key: value for key, value in request.args.items() if key not in ("marker", "offset")}
    replies = fanout.ask_every_pod("GET", "/messages", params=params)
    messages = sorted(
        fanout.merged(replies, "messages"),
        key=lambda message: message.get("created_at") or "",
        reverse=True,
    )
    if "limit" in params and str(params["limit"]).isdigit():
        messages = messages[: int(params["limit"])]
    return jsonify({"messages": messages})


@blueprint.route("/v3/messages/<message_id>", methods=["GET", "DELETE"])
def message(message_id: str) -> Response:
    """Show or delete one message in its pod."""
    fanout.require_microversion(MESSAGES)
    pod = forwarding.holding_pod(message_id, routing.MESSAGE)
    answer = common.forward(pod.region_name, request.method, f"/messages/{segment(message_id)}")
    if request.method == "DELETE":
        routing.forget(message_id, pod, routing.MESSAGE)
    return fanout.reply(pod, answer)
