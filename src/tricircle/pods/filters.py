"""List filters that name a top resource, made into each pod's own filters.

A filter such as Nova's ``flavor`` or Cinder's ``volume_type_id`` names a top ID; each pod
knows its own copy of that resource by its bottom ID, recorded in the routing table. Before a
cross-pod list asks a pod, every such filter is translated for that pod; a pod holding no copy
of a named resource holds nothing that matches, so it contributes nothing (it is not asked,
and the filter is never dropped). Which filters name which resource type is declared per API.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session, sessionmaker

from tricircle.db import routings
from tricircle.db.models import Pod
from tricircle.db.routings import ResourceType

Pairs = list[tuple[str, str]]
# Top ID -> pod ID -> (resource type, bottom ID or None while its create is in flight).
Copies = dict[str, dict[str, tuple[str, str | None]]]


class TopIdFilters:
    """Filters (name -> resource type of the top ID they carry) translated per pod, for one
    list: the routings of the top IDs named are read once, in one session, for every pod."""

    def __init__(
        self, session_factory: sessionmaker[Session], named: Mapping[str, ResourceType]
    ) -> None:
        self.session_factory = session_factory
        self.named = named
        self._copies: Copies = {}
        self._lock = threading.Lock()

    def for_pod(self, pod: Pod, pairs: Sequence[tuple[str, str]]) -> Pairs | None:
        """``pairs`` with every top ID swapped for its copy in ``pod``; None if ``pod`` has
        no copy of one of them (nothing there can match). Without such a filter the database is
        not opened (a list over 128 pods would open 128 sessions for nothing)."""
        top_ids = {value for name, value in pairs if name in self.named}
        if not top_ids:
            return list(pairs)
        copies = self._copies_of(top_ids)
        translated: Pairs = []
        for name, value in pairs:
            resource_type = self.named.get(name)
            if resource_type is None:
                translated.append((name, value))
                continue
            kind, bottom_id = copies[value].get(pod.pod_id, (None, None))
            if kind != resource_type or bottom_id is None:
                return None
            translated.append((name, bottom_id))
        return translated

    def _copies_of(self, top_ids: set[str]) -> Copies:
        """Every pod's routing of ``top_ids``, read the first time a top ID is asked about."""
        with self._lock:
            unread = top_ids - self._copies.keys()
            if unread:
                with self.session_factory() as session:
                    for top_id in unread:
                        self._copies[top_id] = {
                            row.pod_id: (row.resource_type, row.bottom_id)
                            for row in routings.find_routings_for_top(session, top_id)
                        }
            return self._copies
