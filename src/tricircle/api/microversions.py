"""Microversions of both gateways, read and negotiated through ``microversion-parse``.

Each API's rules are data (``COMPUTE``, ``VOLUME``): the service named in
``OpenStack-API-Version``, the pods' service type, the range served and any legacy header. The
maximum served is the lowest of the API's own maximum and every reachable pod's, so a request
the gateway accepts is one every pod accepts too. No version asked is the minimum, ``latest``
the maximum; a malformed version is 400 and one out of range 406, as Nova and Cinder answer.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import microversion_parse

from tricircle.api.errors import ApiFault, BadRequest

STANDARD_HEADER = "OpenStack-API-Version"
# Nova's and Cinder's format: no sign, no leading zero.
_FORMAT = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")


class Microversion(microversion_parse.Version):
    """One ``major.minor`` API version, ordered numerically."""

    @classmethod
    def parse(cls, text: str) -> Microversion:
        """The version written as ``text``; BadRequest (the upstream message) if malformed."""
        if not _FORMAT.match(text.strip()):
            raise BadRequest(
                f"API Version String {text} is of invalid format. Must be of format "
                "MajorNum.MinorNum."
            )
        return cls(*microversion_parse.parse_version_string(text))

    def at_least(self, text: str) -> bool:
        """True if this version is ``text`` or later."""
        return self >= Microversion.parse(text)


class NotAcceptable(ApiFault):
    """The requested microversion is outside what the gateway serves (406)."""

    code = 406
    fault_name = "computeFault"


@dataclass(frozen=True)
class ApiVersions:
    """One API's microversion rules: its header service, the pods' service type, its range."""

    service: str
    pod_service_type: str
    minimum: Microversion
    maximum: Microversion
    legacy_headers: tuple[str, ...] = ()

    def capped(self, maximum: str) -> ApiVersions:
        """These rules with the maximum set to ``maximum`` (a configured cap)."""
        return dataclasses.replace(self, maximum=Microversion.parse(maximum))

    def served_maximum(self, pod_maximums: Iterable[tuple[int, int] | None]) -> Microversion:
        """The API's maximum lowered to every known pod maximum (None: never answered)."""
        known = [Microversion(*found) for found in pod_maximums if found is not None]
        return min([self.maximum, *known])

    def negotiate(self, headers: Mapping[str, str], maximum: Microversion) -> Microversion:
        """The version to serve the request with ``headers`` (looked up by name: werkzeug's
        request headers ignore case), ``maximum`` being the highest.

        Raises BadRequest for a malformed version, NotAcceptable outside [minimum, maximum].
        """
        asked = microversion_parse.get_version(
            self._version_headers(headers), self.service, legacy_headers=self.legacy_headers
        )
        if asked is None:
            return self.minimum
        if asked.strip().lower() == "latest":
            return maximum
        version = Microversion.parse(asked)
        if not self.minimum <= version <= maximum:
            raise NotAcceptable(
                f"Version {version} is not supported by the API. Minimum is {self.minimum} "
                f"and maximum is {maximum}."
            )
        return version

    def _version_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """The request's version headers alone, read by name (not a copy of every header)."""
        found = {}
        for name in (STANDARD_HEADER, *self.legacy_headers):
            value = headers.get(name)
            if value is not None:
                found[name] = value
        return found

    def response_headers(self, version: Microversion) -> dict[str, str]:
        """Headers announcing the version served, as the upstream API sends them."""
        headers = {STANDARD_HEADER: f"{self.service} {version}"}
        headers.update({legacy: str(version) for legacy in self.legacy_headers})
        headers["Vary"] = ", ".join([STANDARD_HEADER, *self.legacy_headers])
        return headers


COMPUTE = ApiVersions(
    service="compute",
    pod_service_type="compute",
    minimum=Microversion(2, 1),
    maximum=Microversion(2, 100),
    legacy_headers=("X-OpenStack-Nova-API-Version",),
)
VOLUME = ApiVersions(
    service="volume",
    pod_service_type="volumev3",
    minimum=Microversion(3, 0),
    maximum=Microversion(3, 71),
)
