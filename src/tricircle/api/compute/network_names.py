"""Top network names for the ``addresses`` of servers: pods name bottom networks after top IDs.

Names are read from the central Neutron with Tricircle's service identity, many in one call
(``GET /v2.0/networks?id=a&id=b&fields=id&fields=name``), and kept in the gateway's
``top_network_names`` cache. Invalidation: the TTL alone: a network renamed or deleted through
the central Neutron (by any process) is shown under its new name by every gateway worker within
``[gateway_cache] ttl``. Tenants: a name is keyed by the network ID alone because it is shown
only for a network in the addresses of a server the caller may see, which the uncached lookup
(the same service identity) showed too; whoever filled the entry, the caller learns nothing its
own server does not already name. A failed read is not cached: its networks keep the pod's names.

Lists read names concurrently with the pods: each list remembers (per scope: the caller's project,
or all projects) which networks its servers were on, and the next list of that scope refreshes
those names while the pods answer; only networks new to the scope are read after the merge. The
memory holds IDs only and serves no names by itself, so it carries nothing across tenants.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from concurrent import futures

from tricircle.cache import TtlCache
from tricircle.pods.client import PodClient

LOG = logging.getLogger(__name__)

IDS_PER_CALL = 100  # keeps the query string (about 40 bytes an ID) below URL limits
PREFETCH_THREADS = 2
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class TopNetworkNames:
    """Names of top networks by ID, from ``cache`` or else the central Neutron (``top``);
    ``recent`` remembers the networks each scope's last list showed."""

    def __init__(
        self,
        cache: TtlCache[str, str | None],
        recent: TtlCache[str, frozenset[str]],
        top: Callable[[], PodClient],
    ) -> None:
        self.cache = cache
        self.recent = recent
        self.top = top
        self._prefetcher = futures.ThreadPoolExecutor(
            max_workers=PREFETCH_THREADS, thread_name_prefix="tricircle-names"
        )

    def prefetch(self, scope: str) -> futures.Future[dict[str, str | None]] | None:
        """Start reading the names ``scope``'s last list showed that are no longer cached;
        None when there is nothing to read."""
        recent = self.recent.get_many([scope]).get(scope, frozenset())
        stale = recent - self.cache.get_many(recent).keys()
        return self._prefetcher.submit(self.lookup, stale) if stale else None

    def remember(self, scope: str, names: Iterable[str]) -> None:
        """The networks (of ``names``, those that are IDs) ``scope``'s list just showed."""
        self.recent.put_many({scope: frozenset(name for name in names if _UUID.match(name))})

    def lookup(self, names: Iterable[str]) -> dict[str, str | None]:
        """The top name of each name that is a top network ID (None: no such top network);
        names that are no ID, or that could not be read, are left out."""
        wanted = {name for name in names if _UUID.match(name)}
        found = self.cache.get_many(wanted)
        missing = sorted(wanted - found.keys())
        for start in range(0, len(missing), IDS_PER_CALL):
            read = self._read(missing[start : start + IDS_PER_CALL])
            self.cache.put_many(read)
            found.update(read)
        return found

    def _read(self, network_ids: list[str]) -> dict[str, str | None]:
        """The names of ``network_ids`` in one call; {} if the central Neutron failed."""
        try:
            answer = self.top().get(
                "/v2.0/networks", params={"id": network_ids, "fields": ["id", "name"]}
            )
        except Exception as exc:  # noqa: BLE001 - an unread name is shown as the pod gave it
            LOG.warning("top network names unread network_ids=%s error=%s", network_ids, exc)
            return {}
        names: dict[str, str | None] = dict.fromkeys(network_ids)
        for network in answer["networks"]:
            names[network["id"]] = network.get("name") or network["id"]
        LOG.debug("top network names read count=%d", len(network_ids))
        return names
