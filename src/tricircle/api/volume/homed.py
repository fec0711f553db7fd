"""Cinder objects an admin defines once for the whole cloud, kept in one home pod and copied into
the other pods that need them: QoS specs and group types (``HomedKind`` declares each).

The home is the first enabled pod (by region) when the object is made; its ID there is the top
ID (routing top == bottom in the home pod). A copy is made once in another pod with Tricircle's
identity when something there uses the object (create-once, routing top -> the copy's ID), and
every change made through the gateway is made in the home and in each copy. Reads come from the
home. No table of the gateway's own is needed; the objects keep their Cinder shape.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from tricircle.api import gateway
from tricircle.api.volume import common
from tricircle.api.volume.faults import CinderFault, not_found
from tricircle.db import routings
from tricircle.db.models import Pod, ResourceRouting
from tricircle.db.routings import ResourceType
from tricircle.pods import create_once
from tricircle.pods.client import PodCallError, PodClientError
from tricircle.pods.paths import segment

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class HomedKind:
    """How one kind of homed object is reached in a pod and copied to another."""

    collection: str  # its URL collection in a pod ("qos-specs")
    singular: str  # the body key of one ("qos_specs")
    plural: str  # the body key of a list ("qos_specs")
    resource_type: ResourceType
    not_found: str  # Cinder's 404 message, with {id}
    copy_body: Callable[[dict[str, Any]], dict[str, Any]]  # a copy's create body from the home's
    microversion: str | None = None  # the one Tricircle's calls use


def _client(pod: Pod):
    return common.state().service_client(pod.region_name)


def call(
    kind: HomedKind, pod: Pod, method: str, path: str, *, body: Any = None, params: Any = None
) -> Any:
    """One call on a pod's copy or home, as Tricircle."""
    return _client(pod).request(
        method, path, json=body, params=params, microversion=kind.microversion
    )


def home_pod_for_new() -> Pod:
    """Where a new object lives: the first enabled pod by region."""
    pods = [pod for pod in gateway.bottom_pods() if pod.is_enabled]
    if not pods:
        raise CinderFault(503, "No pod is available to hold the object.")
    return pods[0]


def record_home(kind: HomedKind, top_id: str, pod: Pod) -> None:
    """Remember that ``top_id`` lives in ``pod`` (its home, under the same ID)."""
    with gateway.transaction() as session:
        routings.route_as_itself(
            session,
            top_id=top_id,
            pod_id=pod.pod_id,
            project_id="",
            resource_type=kind.resource_type,
        )


def create(kind: HomedKind, document: dict[str, Any]) -> tuple[Pod, Any]:
    """Make the object in its new home; the home's answer."""
    pod = home_pod_for_new()
    answer = call(kind, pod, "POST", f"/{kind.collection}", body=document)
    record_home(kind, answer[kind.singular]["id"], pod)
    LOG.info(
        "%s %s made in home pod %s", kind.singular, answer[kind.singular]["id"], pod.region_name
    )
    return pod, answer


def _rows(top_id: str, kind: HomedKind) -> list[ResourceRouting]:
    with gateway.transaction() as session:
        rows = routings.find_routings_for_top(session, top_id)
        return [row for row in rows if row.resource_type == kind.resource_type and row.bottom_id]


def _pod(pod_id: str) -> Pod:
    with gateway.transaction() as session:
        return session.get(Pod, pod_id)


def home_of(kind: HomedKind, top_id: str) -> Pod:
    """The home pod of ``top_id``; Cinder's 404 if the gateway knows no such object."""
    home = next((row for row in _rows(top_id, kind) if row.bottom_id == top_id), None)
    if home is None:
        raise not_found(kind.not_found.format(id=top_id))
    return _pod(home.pod_id)


def copies(kind: HomedKind, top_id: str) -> list[tuple[Pod, str]]:
    """Every copy of ``top_id`` outside its home: (pod, the copy's ID)."""
    return [
        (_pod(row.pod_id), row.bottom_id)
        for row in _rows(top_id, kind)
        if row.bottom_id != top_id and row.bottom_id
    ]


def homes(kind: HomedKind) -> dict[str, Pod]:
    """Every object of ``kind`` the gateway knows: top ID -> its home pod."""
    with gateway.transaction() as session:
        rows = routings.list_routings(session, resource_type=kind.resource_type)
        pods = {pod.pod_id: pod for pod in session.scalars(select(Pod))}
    return {row.top_id: pods[row.pod_id] for row in rows if row.bottom_id == row.top_id}


def list_all(kind: HomedKind, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every object of ``kind``, read from each home pod (a home that fails is left out)."""
    known = homes(kind)
    records: list[dict[str, Any]] = []
    for pod in {pod.pod_id: pod for pod in known.values()}.values():
        try:
            listed = call(kind, pod, "GET", f"/{kind.collection}", params=params)[kind.plural]
        except PodCallError as exc:
            LOG.warning("%s list left out pod %s: %s", kind.plural, pod.region_name, exc)
            continue
        records.extend(r for r in listed if known.get(r["id"]) is pod)
    return records


def in_home_and_copies(
    kind: HomedKind,
    top_id: str,
    method: str,
    suffix: str = "",
    *,
    body: Any = None,
    params: Any = None,
) -> Any:
    """The same change in every copy, then in the home; the home's answer."""
    home = home_of(kind, top_id)
    for pod, copy_id in copies(kind, top_id):
        try:
            call(
                kind,
                pod,
                method,
                f"/{kind.collection}/{segment(copy_id)}{suffix}",
                body=body,
                params=params,
            )
        except PodClientError as exc:
            if exc.status != 404:
                raise
            LOG.info("%s copy %s gone from pod %s", kind.singular, copy_id, pod.region_name)
    return call(
        kind,
        home,
        method,
        f"/{kind.collection}/{segment(top_id)}{suffix}",
        body=body,
        params=params,
    )


def delete(kind: HomedKind, top_id: str, params: Any = None) -> None:
    """Delete the home object (its pod's refusal, such as in use, is the caller's answer), then
    the copies (one that fails is logged and left), then the routings."""
    home = home_of(kind, top_id)
    call(kind, home, "DELETE", f"/{kind.collection}/{segment(top_id)}", params=params)
    for pod, copy_id in copies(kind, top_id):
        try:
            call(kind, pod, "DELETE", f"/{kind.collection}/{segment(copy_id)}", params=params)
        except PodCallError as exc:
            LOG.warning(
                "%s copy %s in pod %s not deleted: %s", kind.singular, copy_id, pod.region_name, exc
            )
    with gateway.transaction() as session:
        for row in routings.find_routings_for_top(session, top_id):
            if row.resource_type == kind.resource_type:
                routings.delete_routing(session, row.id)
    LOG.info("%s %s deleted with its copies", kind.singular, top_id)


def ensure_copy(kind: HomedKind, top_id: str, pod: Pod) -> str:
    """The ID of ``top_id`` in ``pod``: itself at home, else its copy, made once if missing."""
    home = home_of(kind, top_id)
    if home.pod_id == pod.pod_id:
        return top_id
    existing = next((c for p, c in copies(kind, top_id) if p.pod_id == pod.pod_id), None)
    if existing is not None:
        return existing
    original = call(kind, home, "GET", f"/{kind.collection}/{segment(top_id)}")[kind.singular]

    def find_by_name(_top_id: str) -> str | None:
        listed = call(kind, pod, "GET", f"/{kind.collection}", params={"is_public": "None"})
        return next(
            (r["id"] for r in listed[kind.plural] if r.get("name") == original.get("name")), None
        )

    def make(_top_id: str) -> str:
        body = {kind.singular: kind.copy_body(original)}
        try:
            return call(kind, pod, "POST", f"/{kind.collection}", body=body)[kind.singular]["id"]
        except PodClientError as exc:
            found = find_by_name(top_id) if exc.status == 409 else None
            if found is None:
                raise
            return found

    bottom_id = create_once.ensure_bottom_resource(
        common.state().session_factory,
        top_id=top_id,
        pod_id=pod.pod_id,
        project_id="",
        resource_type=kind.resource_type,
        create=make,
        find_by_name=find_by_name,
    )
    LOG.debug("%s %s is %s in pod %s", kind.singular, top_id, bottom_id, pod.region_name)
    return bottom_id


def top_id_of(kind: HomedKind, pod: Pod, bottom_id: str | None) -> str | None:
    """The top ID of ``pod``'s copy ``bottom_id`` (itself if it is no copy)."""
    if not bottom_id:
        return bottom_id
    with gateway.transaction() as session:
        rows = routings.find_routings_for_bottom(session, bottom_id, kind.resource_type)
    return next((row.top_id for row in rows if row.pod_id == pod.pod_id), bottom_id)
