"""Allocation-pool arithmetic: the top pools minus addresses reserved for the pods' gateways."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence

Pool = dict[str, str]


def subtract_addresses(pools: Sequence[Mapping[str, str]], excluded: Iterable[str]) -> list[Pool]:
    """``pools`` (``{"start", "end"}`` ranges) with every ``excluded`` address cut out, in order."""
    removed = sorted({int(ipaddress.ip_address(address)) for address in excluded})
    result: list[Pool] = []
    for pool in pools:
        start_address = ipaddress.ip_address(pool["start"])
        start, end = int(start_address), int(ipaddress.ip_address(pool["end"]))
        version = start_address.version
        for address in removed:
            if address < start or address > end:
                continue
            if address > start:
                result.append(_pool(version, start, address - 1))
            start = address + 1
        if start <= end:
            result.append(_pool(version, start, end))
    return result


def _pool(version: int, start: int, end: int) -> Pool:
    make = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    return {"start": str(make(start)), "end": str(make(end))}


def normalized(pools: Sequence[Mapping[str, str]]) -> list[tuple[int, int]]:
    """Pools as sorted integer ranges, to compare two pool lists for equality."""
    return sorted(
        (int(ipaddress.ip_address(pool["start"])), int(ipaddress.ip_address(pool["end"])))
        for pool in pools
    )


def address_in_pools(address: str, pools: Sequence[Mapping[str, str]]) -> bool:
    """True if ``address`` falls inside one of ``pools``."""
    value = int(ipaddress.ip_address(address))
    return any(start <= value <= end for start, end in normalized(pools))
