"""Checks of server create bodies made before anything is created anywhere.

The pod's Nova validates the full schema again at the caller's microversion; the gateway checks
what it must understand itself (flavor, image, AZ, keypair, networks, counts, the volumes and
snapshots block devices name) and refuses what it cannot route, so bad input is answered before
a pod is chosen or a port is made. ``SERVER_CREATE`` is the JSON Schema of those fields; the
rules that depend on the microversion or tie fields together follow it in code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tricircle.api import validation
from tricircle.api.errors import BadRequest, InvalidField
from tricircle.api.microversions import Microversion

VOLUME_SOURCES = ("volume", "snapshot")
_LEGACY_SOURCES = (("volume_id", "volume"), ("snapshot_id", "snapshot"))

_NAME = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"\S"}
_OPTIONAL_NAME = {"type": ["string", "null"], "minLength": 1, "maxLength": 255}
_REFERENCE = {"anyOf": [{"type": "string", "minLength": 1}, {"type": "integer"}]}
_COUNT = {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": "^[0-9]+$"}]}
_NETWORK = {
    "type": "object",
    "properties": {
        "uuid": {"type": "string"},
        "port": {"type": ["string", "null"]},
        "fixed_ip": {"type": "string"},
        "tag": {"type": "string"},
    },
    "additionalProperties": False,
    "anyOf": [{"required": ["uuid"]}, {"required": ["port"]}],
}
_UUID = {
    "type": "string",
    "pattern": "^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$",
}
_HINTS = {
    "type": "object",
    "properties": {"group": {"oneOf": [_UUID, {"type": "array", "items": _UUID, "minItems": 1}]}},
}
HINT_KEYS = ("os:scheduler_hints", "OS-SCH-HNT:scheduler_hints")
SERVER_CREATE = {
    "type": "object",
    "properties": {
        "server": {
            "type": "object",
            "properties": {
                "name": _NAME,
                "flavorRef": _REFERENCE,
                "imageRef": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                "availability_zone": _OPTIONAL_NAME,
                "key_name": _OPTIONAL_NAME,
                "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                "networks": {
                    "anyOf": [
                        {"type": "string", "enum": ["none", "auto"]},
                        {"type": "array", "items": _NETWORK},
                    ]
                },
                "min_count": _COUNT,
                "max_count": _COUNT,
                "return_reservation_id": {"type": "boolean"},
                "security_groups": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}},
                        "required": ["name"],
                    },
                },
            },
            "required": ["name", "flavorRef"],
        },
        **{key: _HINTS for key in HINT_KEYS},
    },
    "required": ["server"],
}


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
    hints_key: str | None = None
    scheduler_hints: dict[str, Any] | None = None

    @property
    def by_reservation(self) -> bool:
        """True if the pod's answer is a reservation ID (several servers, or asked for)."""
        return self.max_count > 1 or self.return_reservation_id


def _reference(value: str | int | None) -> str | None:
    """The ID at the end of a reference (an ID, or a URL ending with it)."""
    if value is None or value == "":
        return None
    return str(value).rstrip("/").rsplit("/", 1)[-1]


def _check_networks(networks: Any, version: Microversion) -> None:
    """Nova's rules by microversion: required, and ``none``/``auto`` allowed, from 2.37."""
    if networks is None and version.at_least("2.37"):
        raise InvalidField("networks", "is required from microversion 2.37")
    if isinstance(networks, str) and not version.at_least("2.37"):
        raise InvalidField("networks", "must be a list, or 'none' or 'auto' from 2.37")


def _check_counts(server: dict[str, Any]) -> int:
    """The most servers asked for; several only without network entries (one port per server)."""
    minimum, maximum = int(server.get("min_count", 1)), int(server.get("max_count", 1))
    if minimum < 1 or maximum < 1:
        raise InvalidField("min_count" if minimum < 1 else "max_count", "must be at least 1")
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
    document = validation.validated(raw, SERVER_CREATE)
    server = document["server"]
    hints_key = next((key for key in HINT_KEYS if key in document), None)
    boots_from_mapping, volume_sources = _check_block_devices(server)
    image_ref = _reference(server.get("imageRef"))
    if image_ref is None and not boots_from_mapping:
        raise InvalidField("imageRef", "is required unless a block device boots the server")
    _check_networks(server.get("networks"), version)
    return ServerCreate(
        server=server,
        name=server["name"],
        flavor_id=str(_reference(server["flavorRef"])),
        image_ref=image_ref,
        availability_zone=server.get("availability_zone"),
        networks=server.get("networks"),
        key_name=server.get("key_name"),
        max_count=_check_counts(server),
        return_reservation_id=server.get("return_reservation_id", False),
        volume_sources=volume_sources,
        hints_key=hints_key,
        scheduler_hints=document[hints_key] if hints_key else None,
    )
