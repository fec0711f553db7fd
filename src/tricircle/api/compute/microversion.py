"""Compute microversions: parsing the request headers and choosing the version to serve.

The gateway's maximum is the lowest of its own cap and every reachable pod's maximum, so a
request the gateway accepts is one every pod accepts too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import total_ordering

from tricircle.api.errors import ApiFault, BadRequest

MIN_VERSION = "2.1"
HEADER = "OpenStack-API-Version"
LEGACY_HEADER = "X-OpenStack-Nova-API-Version"
SERVICE = "compute"
_VERSION = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")


class NotAcceptable(ApiFault):
    """The requested microversion is outside what the gateway serves (Nova's 406)."""

    code = 406
    fault_name = "computeFault"


@total_ordering
@dataclass(frozen=True)
class Microversion:
    """One ``major.minor`` compute API version."""

    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> Microversion:
        """The version written as ``text``; BadRequest (Nova's message) if malformed."""
        match = _VERSION.match(text.strip())
        if match is None:
            raise BadRequest(
                f"API Version String {text} is of invalid format. Must be of format "
                "MajorNum.MinorNum."
            )
        return cls(int(match.group(1)), int(match.group(2)))

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Microversion):
            return NotImplemented
        return (self.major, self.minor) < (other.major, other.minor)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def at_least(self, text: str) -> bool:
        """True if this version is ``text`` or later."""
        return self >= Microversion.parse(text)


def requested(headers: Mapping[str, str]) -> str | None:
    """The compute version the caller asked for, from either header, or None."""
    value = headers.get(HEADER)
    if value:
        for item in value.split(","):
            service, _, version = item.strip().partition(" ")
            if service.lower() == SERVICE:
                return version.strip()
        return None
    legacy = headers.get(LEGACY_HEADER)
    return legacy.strip() if legacy else None


def negotiate(asked: str | None, maximum: Microversion) -> Microversion:
    """The version to serve: the minimum if none was asked, ``maximum`` for ``latest``.

    Raises BadRequest for a malformed version and NotAcceptable (406) outside [2.1, maximum].
    """
    minimum = Microversion.parse(MIN_VERSION)
    if asked is None:
        return minimum
    if asked.lower() == "latest":
        return maximum
    version = Microversion.parse(asked)
    if not minimum <= version <= maximum:
        raise NotAcceptable(
            f"Version {version} is not supported by the API. Minimum is {minimum} and "
            f"maximum is {maximum}."
        )
    return version


def lowest(cap: Microversion, pod_maximums: Iterable[Microversion]) -> Microversion:
    """The advertised maximum: the gateway's cap lowered to the lowest pod maximum."""
    return min([cap, *pod_maximums])


def response_headers(version: Microversion) -> dict[str, str]:
    """Headers announcing the version served, as Nova sends them."""
    return {
        HEADER: f"{SERVICE} {version}",
        LEGACY_HEADER: str(version),
        "Vary": f"{HEADER}, {LEGACY_HEADER}",
    }
