"""The per-process cache: bounded in entries, entries expire by an injected clock."""

from __future__ import annotations

import pytest

from tricircle.cache import TtlCache


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_least_recently_used_entry_goes_beyond_the_bound():
    cache: TtlCache[str, int] = TtlCache(2, ttl=5.0, clock=Clock())
    cache.put_many({"a": 1, "b": 2})
    assert cache.get_many(["a"]) == {"a": 1}
    cache.put_many({"c": 3})
    assert len(cache) == 2
    assert cache.get_many(["a", "b", "c"]) == {"a": 1, "c": 3}


def test_an_entry_is_served_until_its_ttl_and_never_after():
    clock = Clock()
    cache: TtlCache[str, str | None] = TtlCache(10, ttl=5.0, clock=clock)
    cache.put_many({"net": "old", "gone": None})
    clock.now += 4.9
    assert cache.get_many(["net", "gone"]) == {"net": "old", "gone": None}
    clock.now += 0.1
    assert cache.get_many(["net", "gone"]) == {}
    assert len(cache) == 0


def test_get_or_load_loads_once_per_ttl_and_keeps_no_failure():
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(10, ttl=5.0, clock=clock)
    loads: list[int] = []

    def load() -> int:
        loads.append(1)
        return len(loads)

    assert cache.get_or_load("k", load) == 1
    assert cache.get_or_load("k", load) == 1
    clock.now += 5.0
    assert cache.get_or_load("k", load) == 2

    def fail() -> int:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        cache.get_or_load("other", fail)
    assert cache.get_many(["other"]) == {}


def test_a_zero_ttl_caches_nothing_and_forget_drops_an_entry():
    assert len(_filled(TtlCache(10, ttl=0.0))) == 0
    cache = _filled(TtlCache(10, ttl=5.0))
    cache.forget("a")
    cache.forget("missing")
    assert cache.get_many(["a"]) == {}


def test_a_cache_holds_at_least_one_entry():
    with pytest.raises(ValueError):
        TtlCache(0, ttl=5.0)


def _filled(cache: TtlCache[str, int]) -> TtlCache[str, int]:
    cache.put_many({"a": 1})
    return cache
