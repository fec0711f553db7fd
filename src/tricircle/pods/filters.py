"""List filters that name a top resource, made into each pod's own filters.

A filter such as Nova's ``flavor`` or Cinder's ``volume_type_id`` names a top ID; each pod
knows its own copy of that resource by its bottom ID, recorded in the routing table. Before a
cross-pod list asks a pod, every such filter is translated for that pod; a pod holding no copy
of a named resource holds nothing that matches, so it contributes nothing (it is not asked,
and the filter is never dropped). Which filters name which resource type is declared per API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from tricircle.db import routings
from tricircle.db.models import Pod
from tricircle.db.routings import ResourceType

Pairs = list[tuple[str, str]]


@dataclass(frozen=True)
class TopIdFilters:
    """Filters (name -> resource type of the top ID they carry) translated per pod."""

    session_factory: sessionmaker[Session]
    named: Mapping[str, ResourceType]

    def for_pod(self, pod: Pod, pairs: Sequence[tuple[str, str]]) -> Pairs | None:
        """``pairs`` with every top ID swapped for its copy in ``pod``; None if ``pod`` has
        no copy of one of them (nothing there can match). Without such a filter the database is
        not opened (a list over 128 pods would open 128 sessions for nothing)."""
        if not any(name in self.named for name, _ in pairs):
            return list(pairs)
        translated: Pairs = []
        with self.session_factory() as session:
            for name, value in pairs:
                resource_type = self.named.get(name)
                if resource_type is None:
                    translated.append((name, value))
                    continue
                routing = routings.find_routing(session, value, pod.pod_id)
                if (
                    routing is None
                    or routing.resource_type != resource_type
                    or routing.bottom_id is None
                ):
                    return None
                translated.append((name, routing.bottom_id))
        return translated
