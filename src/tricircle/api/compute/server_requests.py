"""Checks of server create and update bodies made before anything is created anywhere.

The pod's Nova validates the full schema again at the caller's microversion; the gateway checks
what it must understand itself (flavor, image, AZ, keypair, networks, counts, the volumes and
snapshots block devices name) and refuses what it cannot route, so bad input is answered before
a pod is chosen or a port is made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tricircle.api.errors import BadRequest, InvalidField
from tricircle.api.microversions import Microversion

VOLUME_SOURCES = ("volume", "snapshot")
_LEGACY_SOURCES = (("volume_id", "volume"), ("snapshot_id", "snapshot"))


@dataclass(frozen=True)
class ServerCreate:
    """The fields of a server create the gateway acts on, plus the whole ``server`` object."""

    server: dict[str, Any]
    name: str
    flavor_id: str
    image_ref: str | None
    availability_zone: str | None
    networks: Any
    key_name: str | None
    max_count: int = 1
    return_reservation_id: bool = False
    volume_sources: tuple[tuple[str, str], ...] = ()

    @property
    def by_reservation(self) -> bool:
        """True if the pod's answer is a reservation ID (several servers, or asked for)."""
        return self.max_count > 1 or self.return_reservation_id


def json_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object; BadRequest if it is not one."""
    try:
        document = json.loads(raw or b"")
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"Malformed request body: {exc}") from exc
    if not isinstance(document, dict):
        raise BadRequest("The request body must be a JSON object.")
    return document


def _optional_string(server: dict[str, Any], name: str, max_length: int = 255) -> str | None:
    value = server.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise InvalidField(name, f"must be a string of 1 to {max_length} characters")
    return value


def _reference(server: dict[str, Any], name: str) -> str | None:
    value = server.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise InvalidField(name, "must be a non-empty string or an integer")
    return str(value).rstrip("/").rsplit("/", 1)[-1]


def _check_networks(networks: Any, version: Microversion) -> None:
    if networks is None:
        if version.at_least("2.37"):
            raise InvalidField("networks", "is required from microversion 2.37")
        return
    if isinstance(networks, str):
        if networks not in ("none", "auto") or not version.at_least("2.37"):
            raise InvalidField("networks", "must be a list, or 'none' or 'auto' from 2.37")
        return
    if not isinstance(networks, list):
        raise InvalidField("networks", "must be a list")
    for entry in networks:
        if not isinstance(entry, dict) or not set(entry) <= {"uuid", "port", "fixed_ip", "tag"}:
            raise InvalidField("networks", "entries are objects with uuid, port, fixed_ip, tag")
        if not ("uuid" in entry or "port" in entry):
            raise InvalidField("networks", "each entry needs a uuid or a port")


def _count(server: dict[str, Any], name: str) -> int:
    value = server.get(name, 1)
    if isinstance(value, bool):
        raise InvalidField(name, "must be an integer")
    try:
        count = int(value)
    except (TypeError, ValueError) as exc:
        raise InvalidField(name, "must be an integer") from exc
    if count < 1:
        raise InvalidField(name, "must be at least 1")
    return count


def _check_counts(server: dict[str, Any]) -> int:
    """The most servers asked for; several only without network entries (one port per server)."""
    minimum, maximum = _count(server, "min_count"), _count(server, "max_count")
    if minimum > maximum:
        raise InvalidField("min_count", "must not exceed max_count")
    if maximum > 1 and isinstance(server.get("networks"), list):
        raise BadRequest(
            "Several servers in one request cannot share network entries: each server needs its "
            "own ports. Create them one by one, or use networks 'none' or 'auto'."
        )
    return maximum


def _mapping_list(server: dict[str, Any], name: str) -> list[dict[str, Any]]:
    mappings = server.get(name)
    if mappings is None:
        return []
    if not isinstance(mappings, list):
        raise InvalidField(name, "must be a list")
    if not all(isinstance(mapping, dict) for mapping in mappings):
        raise InvalidField(name, "entries must be objects")
    return mappings


def _check_block_devices(server: dict[str, Any]) -> tuple[bool, tuple[tuple[str, str], ...]]:
    """Whether a block device boots the server, and the volumes and snapshots it names.

    The pod's Nova checks the mappings in full; the gateway reads the Cinder resources named
    (``block_device_mapping_v2`` sources, legacy ``block_device_mapping`` IDs) to pick their pod.
    """
    sources: list[tuple[str, str]] = []
    mappings = _mapping_list(server, "block_device_mapping_v2")
    for mapping in mappings:
        if mapping.get("source_type") in VOLUME_SOURCES:
            source_id = mapping.get("uuid")
            if not isinstance(source_id, str) or not source_id:
                raise InvalidField(
                    "block_device_mapping_v2", "a volume or snapshot source needs its uuid"
                )
            sources.append((mapping["source_type"], source_id))
    legacy = _mapping_list(server, "block_device_mapping")
    for mapping in legacy:
        for field, resource_type in _LEGACY_SOURCES:
            if mapping.get(field) is not None:
                if not isinstance(mapping[field], str) or not mapping[field]:
                    raise InvalidField("block_device_mapping", f"{field} must be a string")
                sources.append((resource_type, mapping[field]))
    boots = any(str(mapping.get("boot_index")) == "0" for mapping in mappings) or bool(legacy)
    return boots, tuple(dict.fromkeys(sources))


def parse_server_create(raw: bytes, version: Microversion) -> ServerCreate:
    """The checked create request; BadRequest or InvalidField naming what is wrong."""
    document = json_object(raw)
    server = document.get("server")
    if not isinstance(server, dict):
        raise InvalidField("server", "is required and must be a JSON object")
    name = server.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise InvalidField("name", "is required: a string of 1 to 255 characters")
    flavor_id = _reference(server, "flavorRef")
    if flavor_id is None:
        raise InvalidField("flavorRef", "is required")
    boots_from_mapping, volume_sources = _check_block_devices(server)
    image_ref = (
        None
        if boots_from_mapping and server.get("imageRef") == ""
        else _reference(server, "imageRef")
    )
    if image_ref is None and not boots_from_mapping:
        raise InvalidField("imageRef", "is required unless a block device boots the server")
    metadata = server.get("metadata", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in metadata.items()
    ):
        raise InvalidField("metadata", "must be an object of strings")
    _check_networks(server.get("networks"), version)
    max_count = _check_counts(server)
    reservation = server.get("return_reservation_id", False)
    if not isinstance(reservation, bool):
        raise InvalidField("return_reservation_id", "must be a boolean")
    return ServerCreate(
        server=server,
        name=name,
        flavor_id=flavor_id,
        image_ref=image_ref,
        availability_zone=_optional_string(server, "availability_zone"),
        networks=server.get("networks"),
        key_name=_optional_string(server, "key_name"),
        max_count=max_count,
        return_reservation_id=reservation,
        volume_sources=volume_sources,
    )
