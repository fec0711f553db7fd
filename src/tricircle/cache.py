"""A small per-process cache: bounded in entries, each entry kept for a bounded time.

One class for every hot lookup of the gateways (pods, top network names, server routings). It
holds no invalidation of its own beyond the TTL and the caller's ``forget``: every user states
its rule (what a change made elsewhere costs) where it makes its cache. Entries past their TTL
are never served; when full, the least recently used entry goes first. Thread-safe; imports
nothing of Tricircle's own.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")
Clock = Callable[[], float]


class TtlCache(Generic[Key, Value]):
    """At most ``max_entries`` values, each served for ``ttl`` seconds of ``clock`` after it
    was put; a ``ttl`` of 0 caches nothing."""

    def __init__(self, max_entries: int, ttl: float, clock: Clock = time.monotonic) -> None:
        if max_entries < 1:
            raise ValueError("a cache holds at least one entry")
        self.max_entries = max_entries
        self.ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[Key, tuple[float, Value]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def get_many(self, keys: Iterable[Key]) -> dict[Key, Value]:
        """The fresh values of ``keys`` this cache holds (expired ones are dropped)."""
        now = self._clock()
        found: dict[Key, Value] = {}
        with self._lock:
            for key in keys:
                entry = self._entries.get(key)
                if entry is None:
                    continue
                if now - entry[0] >= self.ttl:
                    del self._entries[key]
                    continue
                self._entries.move_to_end(key)
                found[key] = entry[1]
        return found

    def put_many(self, values: Mapping[Key, Value]) -> None:
        """Keep ``values`` from now on, evicting the least recently used beyond the bound."""
        if self.ttl <= 0:
            return
        now = self._clock()
        with self._lock:
            for key, value in values.items():
                self._entries[key] = (now, value)
                self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def get_or_load(self, key: Key, load: Callable[[], Value]) -> Value:
        """The fresh value of ``key``, else ``load()``'s (kept; an exception keeps nothing).

        Two threads missing the same key at once both load it; the last one's value is kept.
        """
        found = self.get_many([key])
        if key in found:
            return found[key]
        value = load()
        self.put_many({key: value})
        return value

    def forget(self, key: Key) -> None:
        """Drop ``key`` (a change this process made or saw)."""
        with self._lock:
            self._entries.pop(key, None)
