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
from tricircle.api.errors import BadRequest, Forbidden, InvalidField
from tricircle.api.microversions import Microversion
from tricircle.pods.paths import is_uuid

VOLUME_SOURCES = ("volume", "snapshot")
_LEGACY_SOURCES = (("volume_id", "volume"), ("snapshot_id", "snapshot"))

# Nova's ``parameter_types.name``: printable, no leading or trailing whitespace.
_PRINTABLE = r"^(?!\s)[^\x00-\x1f\x7f-\x9f]*(?<!\s)$"
_NAME = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": _PRINTABLE}
_OPTIONAL_NAME = {
    "type": ["string", "null"],
    "minLength": 1,
    "maxLength": 255,
    "pattern": _PRINTABLE,
}
_REFERENCE = {"anyOf": [{"type": "string", "minLength": 1}, {"type": "integer"}]}
_COUNT = {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": "^[0-9]+$"}]}
_UUID = {
    "type": "string",
    "pattern": "^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$",
}
_NETWORK = {
    "type": "object",
    "properties": {
        "uuid": {"type": "string"},
        "port": {"anyOf": [_UUID, {"type": "null"}]},
        "fixed_ip": {"type": "string", "maxLength": 64, "pattern": r"^[0-9a-fA-F.:]+$"},
        "tag": {"type": "string", "maxLength": 60, "pattern": "^[^,/]*$"},
    },
    "additionalProperties": False,
    "anyOf": [{"required": ["uuid"]}, {"required": ["port"]}],
}
_UUIDS = {"oneOf": [_UUID, {"type": "array", "items": _UUID}]}
# Nova's hints schema: known hints checked, others allowed (``additionalProperties: True``).
_HINTS = {
    "type": "object",
    "properties": {
        "group": {"oneOf": [_UUID, {"type": "array", "items": _UUID, "minItems": 1}]},
        "different_host": _UUIDS,
        "same_host": {"type": ["string", "array"], "items": _UUID},
        "query": {"type": ["string", "object"]},
        "target_cell": _NAME,
        "different_cell": {"type": ["string", "array"], "items": {"type": "string"}},
        "build_near_host_ip": {"type": "string", "pattern": r"^[0-9a-fA-F.:]+$"},
        "cidr": {"type": "string", "pattern": "^/[0-9a-f.:]+$"},
    },
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
    "additionalProperties": False,
}
# Server fields Nova's create schema knows, beyond SERVER_CREATE's, by microversion range.
_SERVER_FIELDS: tuple[tuple[str, str, str | None], ...] = (
    *(
        (name, "2.1", None)
        for name in (
            "adminPass",
            "OS-DCF:diskConfig",
            "accessIPv4",
            "accessIPv6",
            "block_device_mapping",
            "block_device_mapping_v2",
            "config_drive",
            "user_data",
        )
    ),
    ("personality", "2.1", "2.57"),
    ("description", "2.19", None),
    ("tags", "2.52", None),
    ("trusted_image_certificates", "2.63", None),
    ("host", "2.74", None),
    ("hypervisor_hostname", "2.74", None),
    ("hostname", "2.90", None),
)


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


def _check_fields(server: dict[str, Any], version: Microversion) -> None:
    """Nova's ``additionalProperties: false``: only the fields of the microversion's schema."""
    known = set(SERVER_CREATE["properties"]["server"]["properties"])
    known.update(
        name
        for name, first, last in _SERVER_FIELDS
        if version.at_least(first) and (last is None or not version.at_least(last))
    )
    unknown = sorted(set(server) - known)
    if unknown:
        raise InvalidField(
            "server", f"Additional properties are not allowed ('{unknown[0]}' was unexpected)"
        )


def _check_networks(networks: Any, version: Microversion) -> None:
    """Nova's rules by microversion: required, and ``none``/``auto`` allowed, from 2.37; a
    network uuid is a UUID (Nova: "Bad networks format")."""
    if networks is None and version.at_least("2.37"):
        raise InvalidField("networks", "is required from microversion 2.37")
    if isinstance(networks, str) and not version.at_least("2.37"):
        raise InvalidField("networks", "must be a list, or 'none' or 'auto' from 2.37")
    for network in networks if isinstance(networks, list) else ():
        if "uuid" in network and not is_uuid(network["uuid"]):
            raise BadRequest(
                "Bad networks format: network uuid is not in proper format "
                f"({network['uuid'][:64]})"
            )


def _check_zone(zone: str | None, is_admin: bool) -> None:
    """Nova's ``az:host:node`` form: unparsable is 400, a host or node only for admins (403)."""
    if zone is None or ":" not in zone:
        return
    if zone.count(":") > 2:
        raise BadRequest("Unable to parse availability_zone")
    if not is_admin:
        raise Forbidden(
            "Policy doesn't allow os_compute_api:servers:create:forced_host to be performed."
        )


def _check_counts(server: dict[str, Any]) -> int:
    """The most servers asked for, as Nova reads them: ``max_count`` defaults to ``min_count``.

    Several servers may name networks (each gets its own ports) but no port or fixed IP, which
    only one server can hold (Nova's 400s).
    """
    minimum = int(server.get("min_count", 1))
    maximum = int(server.get("max_count", minimum))
    if minimum < 1 or maximum < 1:
        raise InvalidField("min_count" if minimum < 1 else "max_count", "must be at least 1")
    if minimum > maximum:
        raise BadRequest("min_count must be <= max_count")
    networks = server.get("networks")
    if maximum > 1 and isinstance(networks, list):
        if any(network.get("port") for network in networks):
            raise BadRequest(
                "Failed to launch instances: Unable to launch multiple instances with a single "
                "configured port ID. Please launch your instance one by one with different ports."
            )
        if any(network.get("fixed_ip") for network in networks):
            raise BadRequest(
                "Failed to launch instances: max_count cannot be greater than 1 if an fixed_ip "
                "is specified."
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


def parse_server_create(
    raw: bytes, version: Microversion, *, is_admin: bool = False
) -> ServerCreate:
    """The checked create request; BadRequest or InvalidField naming what is wrong, Forbidden
    for a host asked by a non-admin."""
    document = validation.validated(raw, SERVER_CREATE)
    server = document["server"]
    _check_fields(server, version)
    hints_key = next((key for key in HINT_KEYS if key in document), None)
    boots_from_mapping, volume_sources = _check_block_devices(server)
    image_ref = _reference(server.get("imageRef"))
    if image_ref is None and not boots_from_mapping:
        raise InvalidField("imageRef", "is required unless a block device boots the server")
    _check_networks(server.get("networks"), version)
    _check_zone(server.get("availability_zone"), is_admin)
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
