"""What the admin views and the one-pod objects share: asking every pod at once, the gateway's
own policy checks in Cinder's words, and a pod's answer shown as users see it.

A pod that fails or does not answer within ``[volume_api] list_timeout`` is left out of a merged
view and logged, as the cross-pod lister does; a pod's refusal (4xx: the caller's filters, the
pod's own policy) is the caller's answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response, g

from tricircle.api import gateway
from tricircle.api.json_bodies import json_response
from tricircle.api.podcalls import PodAnswer
from tricircle.api.volume import common, forwarding
from tricircle.api.volume.faults import CinderFault, not_found
from tricircle.db.models import Pod
from tricircle.pods.client import PodCallError, PodClientError

LOG = logging.getLogger(__name__)


def allowed(rule: str, target: dict[str, Any] | None = None) -> bool:
    """Whether the caller passes the gateway's ``rule``."""
    enforcer = common.state().enforcer
    return bool(enforcer.authorize(rule, target or {}, g.context, do_raise=False))


def authorize(rule: str, target: dict[str, Any] | None = None) -> None:
    """Cinder's 403 unless the caller passes ``rule``."""
    if not allowed(rule, target):
        raise CinderFault(403, f"Policy doesn't allow {rule} to be performed.")


def require_microversion(minimum: str) -> None:
    """Cinder's 404 for a call below the microversion that introduced it."""
    if not g.microversion.at_least(minimum):
        raise not_found(f"API version {g.microversion} is not supported on this method.")


@dataclass(frozen=True)
class PodReply:
    """One pod's answer in a merged view."""

    pod: Pod
    body: Any


def ask_every_pod(
    method: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    body: Any = None,
    as_service: bool = False,
    pods: list[Pod] | None = None,
) -> list[PodReply]:
    """The answer of each pod (all bottom pods unless ``pods``) that answers in time, as the
    caller (as Tricircle with ``as_service``), links moved to the gateway; a pod's 4xx raised."""
    state = common.state()
    who = gateway.caller()
    top_root = gateway.root_url()
    pods = gateway.bottom_pods() if pods is None else pods

    def ask(pod: Pod) -> Any:
        if as_service:
            client = state.service_client(pod.region_name)
            answer = client.request(method, path, json=body, params=params)
        else:
            answer = state.calls.call(who, pod.region_name, method, path, json=body, params=params)
            answer = answer.body
        return common.links_to_gateway(answer, state.calls.endpoint(pod.region_name), top_root)

    replies = []
    for outcome in state.pod_pool.call_each(ask, pods, state.conf.volume_api.list_timeout):
        pod, error = outcome.item, outcome.error
        if not outcome.in_time:
            LOG.warning(
                "pod %s did not answer %s %s in time; left out", pod.region_name, method, path
            )
        elif isinstance(error, PodCallError) and not isinstance(error, PodClientError):
            LOG.warning("pod %s failed %s %s; left out: %s", pod.region_name, method, path, error)
        else:
            replies.append(PodReply(pod, outcome.result()))
    return replies


def merged(
    replies: list[PodReply], key: str, shown: Callable[[dict, Pod], dict] | None = None
) -> list[dict]:
    """The records under ``key`` of every reply, each as users see it (``shown`` if given)."""
    records = []
    for reply in replies:
        for record in (reply.body or {}).get(key) or []:
            record = forwarding.top_view(record, reply.pod)
            records.append(shown(record, reply.pod) if shown is not None else record)
    return records


def reply(pod: Pod, answer: PodAnswer, shown: Callable[[Any, Pod], Any] | None = None) -> Response:
    """A pod's answer with its status, the pod's AZ shown as the top AZ (and ``shown``)."""
    if answer.body is None:
        return Response(status=answer.status)
    document = forwarding.top_view(answer.body, pod)
    if shown is not None:
        document = shown(document, pod)
    return json_response(document, answer.status)
