"""What every check works with: the database, the pods, the filters, and the report of findings.

A finding is a ``Repair``: its kind (one summary line per kind), the pod, the resource type, the
top and bottom IDs, and the action that repairs it (None: reported only). ``ReconcileContext.found``
logs it, counts it and, unless this is a dry run, runs its action.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tricircle.db import routings
from tricircle.db.models import Pod
from tricircle.network.mirror import BottomMirror
from tricircle.pods.client import PodClient, PodClientError, PodClients

LOG = logging.getLogger(__name__)

JSON = dict[str, Any]


@dataclass(frozen=True)
class Repair:
    """One drift found: what, where, and how it is repaired (``action`` None: report only)."""

    kind: str
    region_name: str
    resource_type: str
    top_id: str
    bottom_id: str
    action: Callable[[], None] | None = None


@dataclass
class ReconcileContext:
    """The database, the pods' clients, the filters (pod region, project) and the findings."""

    session_factory: sessionmaker[Session]
    pod_clients: PodClients
    top_region_name: str = "RegionOne"
    dry_run: bool = False
    region_name: str | None = None
    project_id: str | None = None
    stale_after: float = 120.0
    counts: Counter[str] = field(default_factory=Counter)
    # (top ID, pod ID) -> bottom ID adopted in this run (a dry run too), for the later checks.
    adopted: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def mirror(self) -> BottomMirror:
        """The mirroring library over the same database and clients."""
        return BottomMirror(self.session_factory, self.pod_clients, self.top_region_name)

    @property
    def top(self) -> PodClient:
        """The central Neutron."""
        return self.pod_clients.client(self.top_region_name, "network")

    def pods(self) -> list[Pod]:
        """The bottom pods to look at (every one, or the ``region_name`` one)."""
        with self.session_factory() as session:
            found = list(session.scalars(select(Pod).where(Pod.az_name != "")))
        return [pod for pod in found if self.region_name in (None, pod.region_name)]

    def client(self, pod: Pod, service_type: str) -> PodClient:
        """The pod's client of ``service_type``."""
        return self.pod_clients.client(pod.region_name, service_type)

    def routed_bottom_id(self, top_id: str, pod: Pod) -> str | None:
        """The bottom ID recorded (or adopted in this run) for ``top_id`` in the pod."""
        if (top_id, pod.pod_id) in self.adopted:
            return self.adopted[(top_id, pod.pod_id)]
        with self.session_factory() as session:
            return routings.find_bottom_id(session, top_id, pod.pod_id)

    def adopt(
        self, pod: Pod, resource_type: str, top_id: str, bottom_id: str, project_id: str
    ) -> Callable[[], None]:
        """The action recording ``bottom_id`` as the copy of ``top_id`` in the pod."""
        self.adopted[(top_id, pod.pod_id)] = bottom_id

        def record() -> None:
            with self.session_factory.begin() as session:
                routings.record_routing(
                    session,
                    top_id=top_id,
                    pod_id=pod.pod_id,
                    project_id=project_id,
                    resource_type=resource_type,
                    bottom_id=bottom_id,
                )

        return record

    def found(self, repair: Repair) -> None:
        """Log and count ``repair``; run its action unless this is a dry run."""
        self.counts[repair.kind] += 1
        fields = (
            repair.kind,
            repair.region_name,
            repair.resource_type,
            repair.top_id,
            repair.bottom_id,
        )
        if repair.action is None or self.dry_run:
            LOG.warning(
                "drift %s region=%s type=%s top_id=%s bottom_id=%s (%s)",
                *fields,
                "dry run" if repair.action is not None else "reported only",
            )
            return
        repair.action()
        LOG.warning("drift repaired %s region=%s type=%s top_id=%s bottom_id=%s", *fields)

    def summary(self) -> list[str]:
        """One line per kind of drift found, in kind order."""
        return [f"{kind}: {count}" for kind, count in sorted(self.counts.items())]


def exists(client: PodClient, path: str) -> bool:
    """True if GET ``path`` answers; False on 404."""
    try:
        client.get(path)
    except PodClientError as exc:
        if exc.status == 404:
            return False
        raise
    return True


def delete_quietly(client: PodClient, path: str) -> None:
    """DELETE ``path``; already gone is fine."""
    try:
        client.delete(path)
    except PodClientError as exc:
        if exc.status != 404:
            raise
