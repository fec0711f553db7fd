"""Block Storage microversions: ``OpenStack-API-Version: volume 3.x`` parsed and negotiated.

A request without the header gets 3.0; ``latest`` gets the highest version every pod supports;
a malformed version is 400 and one out of range is 406, both with Cinder's wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

from tricircle.api.volume.faults import CinderFault, bad_request

HEADER = "OpenStack-API-Version"
SERVICE = "volume"
_VERSION = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")


@total_ordering
@dataclass(frozen=True)
class ApiVersion:
    """A ``major.minor`` version, ordered numerically."""

    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> ApiVersion:
        """``3.27`` -> ApiVersion(3, 27); 400 in Cinder's words if malformed."""
        match = _VERSION.match(text)
        if match is None:
            raise bad_request(
                f"API Version String {text} is of invalid format. "
                "Must be of format MajorNum.MinorNum."
            )
        return cls(int(match.group(1)), int(match.group(2)))

    def __lt__(self, other: ApiVersion) -> bool:
        return (self.major, self.minor) < (other.major, other.minor)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


MIN_VERSION = ApiVersion(3, 0)


def requested_text(header_value: str | None) -> str | None:
    """The version the caller asked the volume service for, from the header's entries."""
    if not header_value:
        return None
    for entry in header_value.split(","):
        parts = entry.strip().split()
        if len(parts) == 2 and parts[0].lower() == SERVICE:
            return parts[1]
    return None


def negotiate(header_value: str | None, maximum: ApiVersion) -> ApiVersion:
    """The version a request is served at, given the highest version every pod supports."""
    text = requested_text(header_value)
    if text is None:
        return MIN_VERSION
    if text.lower() == "latest":
        return maximum
    version = ApiVersion.parse(text)
    if not MIN_VERSION <= version <= maximum:
        raise CinderFault(
            406,
            f"Version {version} is not supported by the API. "
            f"Minimum is {MIN_VERSION} and maximum is {maximum}.",
        )
    return version
