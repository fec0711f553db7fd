"""Bottom Neutron resources named after a top ID that no routing names.

Tricircle names each bottom copy after its top resource: networks, subnets, ports, security
groups and routers by ``name`` = top ID, shadow ports by ``name`` = ``shadow:<top port ID>``,
floating IPs by ``description`` = top ID. For each such bottom resource of a pod that no routing
records (``--project`` filters on the bottom's project):
- the top exists and the bottom is the copy Tricircle would make (same project; a network with
  the top's VLAN; a subnet with the top CIDR, a port with the top MAC, both on the routed copy of
  the top network): adopted, its routing recorded (``bottom_adopted``);
- the top exists but the bottom differs: reported only (``bottom_unmatched``);
- another bottom resource is routed for that top ID: this duplicate is deleted
  (``bottom_deleted``);
- the name is a UUID that is no top ID (the top is gone): deleted (``bottom_deleted``), routers
  after their interfaces are removed; a resource the pod still uses (409) is reported again next
  run.
A name that is neither a top ID nor a UUID (a user's own resource) is never touched.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from functools import partial
from typing import Any

from tricircle.db import routings
from tricircle.db.models import Pod
from tricircle.network import constants
from tricircle.network.mirror import tables
from tricircle.network.mirror.tables import Kind
from tricircle.pods.client import PodClientError
from tricircle.pods.paths import segment
from tricircle.reconcile.context import JSON, ReconcileContext, Repair, delete_quietly

LOG = logging.getLogger(__name__)

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SHADOW_PREFIX = constants.shadow_key("")
# In creation order: adoption of a network comes before its subnets and ports.
KINDS: tuple[Kind, ...] = (
    tables.NETWORK,
    tables.SUBNET,
    tables.SECURITY_GROUP,
    tables.ROUTER,
    tables.PORT,
    tables.FLOATINGIP,
)


def check(context: ReconcileContext) -> None:
    """Adopt or delete the unrouted bottom copies in every selected pod."""
    top_resources = {kind.path: _top_resources(context, kind) for kind in KINDS}
    for pod in context.pods():
        deletions: list[Repair] = []
        for kind in KINDS:
            for bottom in _bottom_resources(context, pod, kind):
                repair = _classify(context, pod, kind, bottom, top_resources)
                if repair is None:
                    continue
                if repair.kind == "bottom_deleted":
                    deletions.append(repair)
                else:
                    context.found(repair)
        for repair in reversed(deletions):  # ports before subnets before networks
            try:
                context.found(repair)
            except PodClientError as exc:
                if exc.status != 409:
                    raise
                LOG.warning(
                    "bottom resource in use, kept region=%s type=%s bottom_id=%s",
                    repair.region_name,
                    repair.resource_type,
                    repair.bottom_id,
                )


def _top_resources(context: ReconcileContext, kind: Kind) -> dict[str, JSON]:
    params = {} if context.project_id is None else {"project_id": context.project_id}
    return {
        found["id"]: found
        for found in context.top.get(f"/v2.0/{kind.path}", params=params)[kind.collection]
    }


def _bottom_resources(context: ReconcileContext, pod: Pod, kind: Kind) -> list[JSON]:
    params = {} if context.project_id is None else {"project_id": context.project_id}
    return context.client(pod, "network").get(f"/v2.0/{kind.path}", params=params)[kind.collection]


def _classify(
    context: ReconcileContext,
    pod: Pod,
    kind: Kind,
    bottom: JSON,
    top_resources: Mapping[str, Mapping[str, JSON]],
) -> Repair | None:
    """The repair for one bottom resource, or None when it is routed or not Tricircle's."""
    top_id = (bottom.get("description") if kind is tables.FLOATINGIP else bottom.get("name")) or ""
    resource_type, top_kind = kind.resource_type, kind
    if kind is tables.PORT and top_id.startswith(SHADOW_PREFIX):
        resource_type = constants.SHADOW_PORT
        top_kind_id = top_id.removeprefix(SHADOW_PREFIX)
    else:
        top_kind_id = top_id
    top = top_resources[top_kind.path].get(top_kind_id)
    if top is None and not UUID.match(top_kind_id):
        return None  # not named after a top ID: a user's own resource
    routed = context.routed_bottom_id(top_id, pod)
    if routed == bottom["id"]:
        return None
    delete = partial(_delete, context, pod, kind, bottom["id"])
    if routed is not None or top is None:
        return Repair(
            "bottom_deleted", pod.region_name, resource_type, top_id, bottom["id"], delete
        )
    if _with_lock(context, pod, top_id):
        return None  # a create-once in flight (or stale: routing_rows repairs it)
    if not _is_copy(context, pod, kind, bottom, top):
        return Repair("bottom_unmatched", pod.region_name, resource_type, top_id, bottom["id"])
    adopt = context.adopt(pod, resource_type, top_id, bottom["id"], top["project_id"])
    return Repair("bottom_adopted", pod.region_name, resource_type, top_id, bottom["id"], adopt)


def _with_lock(context: ReconcileContext, pod: Pod, top_id: str) -> bool:
    """True if a create-once lock (a routing without bottom ID) exists for ``top_id``."""
    with context.session_factory() as session:
        return routings.find_routing(session, top_id, pod.pod_id) is not None


def _is_copy(
    context: ReconcileContext, pod: Pod, kind: Kind, bottom: Mapping[str, Any], top: JSON
) -> bool:
    """True if ``bottom`` is what Tricircle would have made from ``top`` in the pod."""
    if bottom.get("project_id") != top.get("project_id"):
        return False
    if kind is tables.NETWORK:
        if top.get("provider:network_type") != constants.TYPE_SHARED_VLAN:
            return True
        return all(
            bottom.get(f"provider:{name}") == top.get(f"provider:{name}")
            for name in ("physical_network", "segmentation_id")
        )
    if kind is tables.SUBNET:
        return bottom.get("cidr") == top.get("cidr") and bottom[
            "network_id"
        ] == context.routed_bottom_id(top["network_id"], pod)
    if kind is tables.PORT:
        return bottom.get("mac_address") == top.get("mac_address") and bottom[
            "network_id"
        ] == context.routed_bottom_id(top["network_id"], pod)
    return True


def _delete(context: ReconcileContext, pod: Pod, kind: Kind, bottom_id: str) -> None:
    client = context.client(pod, "network")
    if kind is tables.ROUTER:
        client.put(f"/v2.0/routers/{segment(bottom_id)}", json={"router": {"routes": []}})
        interfaces = client.get(
            "/v2.0/ports",
            params={"device_id": bottom_id, "device_owner": "network:router_interface"},
        )["ports"]
        for port in interfaces:
            client.put(
                f"/v2.0/routers/{segment(bottom_id)}/remove_router_interface",
                json={"port_id": port["id"]},
            )
    delete_quietly(client, f"/v2.0/{kind.path}/{segment(bottom_id)}")
