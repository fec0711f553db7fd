"""Input checks of every API: JSON bodies (JSON Schema, as Nova does), query filters, paging.

Each check raises ``BadRequest`` or ``InvalidField`` (400) naming the offending field, answered
in the API's own dialect, so bad input never reaches a pod or the database and never becomes a
500. Schemas are data kept beside the handlers that use them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_app_context
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from werkzeug.datastructures import MultiDict

from tricircle.api.errors import BadRequest, InvalidField

MAX_LIMIT = 1000
MALFORMED = "Malformed request body"
JSON_DEPTH_CONFIG = "TRICIRCLE_MAX_JSON_DEPTH"
DEFAULT_JSON_DEPTH = 64
# A body boolean as Nova's schemas accept it: JSON true/false or one of these spellings.
TRUE_SPELLINGS = ("True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes")
FALSE_SPELLINGS = ("False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no")
BOOLEAN = {"type": ["boolean", "string"], "enum": [True, False, *TRUE_SPELLINGS, *FALSE_SPELLINGS]}


def _decoded(raw: bytes) -> Any:
    """The JSON document of ``raw``; BadRequest if it is not JSON or nested too deep."""
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadRequest(MALFORMED) from exc
    limit = (
        current_app.config.get(JSON_DEPTH_CONFIG, DEFAULT_JSON_DEPTH)
        if has_app_context()
        else DEFAULT_JSON_DEPTH
    )
    if _nesting(document) > limit:
        raise BadRequest(f"{MALFORMED}: JSON nested deeper than {limit} levels")
    return document


def _nesting(document: Any) -> int:
    """How deep arrays and objects nest in ``document`` (a scalar is 0)."""
    deepest = 0
    pending = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in value)
    return deepest


def json_document(raw: bytes) -> Any:
    """The decoded JSON of a request body, None if it is empty; BadRequest if it is not JSON."""
    return _decoded(raw) if raw else None


def json_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object; BadRequest if it is empty or not one."""
    document = _decoded(raw)
    if not isinstance(document, dict):
        raise BadRequest("The request body must be a JSON object.")
    return document


def check(document: Any, schema: Mapping[str, Any]) -> None:
    """InvalidField for the most relevant place where ``document`` breaks ``schema``.

    The field named is the resource's own field (``size`` of ``{"volume": {"size": ...}}``),
    the resource itself for an error at its level, or the missing property.
    """
    error = best_match(Draft202012Validator(schema).iter_errors(document))
    if error is None:
        return
    path = [str(part) for part in error.absolute_path]
    if error.validator == "required" and len(path) < 2:
        path.append(error.message.split("'")[1])
    raise InvalidField(path[min(1, len(path) - 1)] if path else "body", error.message)


def validated(raw: bytes, schema: Mapping[str, Any]) -> dict[str, Any]:
    """The request body as a JSON object that satisfies ``schema``."""
    document = json_object(raw)
    check(document, schema)
    return document


@dataclass(frozen=True)
class Field:
    """What one body field accepts: a string (bounded, maybe non-empty), a boolean or an object."""

    required: bool = False
    kind: type = str
    max_length: int = 255
    allow_empty: bool = True


def parse_body(raw: bytes, resource: str, fields: Mapping[str, Field]) -> dict[str, Any]:
    """The checked fields of ``{"<resource>": {...}}``; absent optional fields are left out."""
    document = _decoded(raw or b"")
    if not isinstance(document, dict) or resource not in document:
        raise InvalidField(resource, f"the body must be a JSON object with a '{resource}' key")
    unexpected = sorted(set(document) - {resource})
    if unexpected:
        raise InvalidField(unexpected[0], "unknown field")
    body = document[resource]
    if not isinstance(body, dict):
        raise InvalidField(resource, "must be a JSON object")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise InvalidField(f"{resource}.{unknown[0]}", "unknown field")
    values: dict[str, Any] = {}
    for name, field in fields.items():
        qualified = f"{resource}.{name}"
        if name not in body:
            if field.required:
                raise InvalidField(qualified, "is required")
            continue
        values[name] = _checked(qualified, body[name], field)
    return values


def _checked(qualified: str, value: Any, field: Field) -> Any:
    """``value`` if it fits ``field``; else InvalidField."""
    if field.kind is dict:
        if not isinstance(value, dict):
            raise InvalidField(qualified, "must be a JSON object")
        return value
    if field.kind is bool:
        if not isinstance(value, bool):
            raise InvalidField(qualified, "must be a boolean")
        return value
    if not isinstance(value, str):
        raise InvalidField(qualified, "must be a string")
    if "\x00" in value:
        raise InvalidField(qualified, "must not contain NUL characters")
    if not field.allow_empty and not value.strip():
        raise InvalidField(qualified, "must not be empty")
    if len(value) > field.max_length:
        raise InvalidField(qualified, f"must be at most {field.max_length} characters")
    return value


def check_url(path: str, args: MultiDict[str, str]) -> None:
    """Refuse NUL characters anywhere in the path or query (no database stores them)."""
    if "\x00" in path:
        raise BadRequest("The URL path must not contain NUL characters.")
    for name, value in args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            raise InvalidField(name.replace("\x00", ""), "must not contain NUL characters")


def parse_filters(
    args: MultiDict[str, str],
    allowed: Mapping[str, Callable[[str], Any]],
    paginated: bool = False,
) -> dict[str, Any]:
    """Query filters converted by ``allowed[name]``; unknown or repeated parameters are 400.

    A converter raises ValueError for a bad value. ``limit`` and ``marker`` are left to
    ``parse_limit`` and the caller when ``paginated``.
    """
    known = set(allowed) | ({"limit", "marker"} if paginated else set())
    filters: dict[str, Any] = {}
    for name in args:
        if name not in known:
            raise InvalidField(name, "unknown query parameter")
        values = args.getlist(name)
        if len(values) > 1:
            raise InvalidField(name, "may be given only once")
        if name in allowed:
            try:
                filters[name] = allowed[name](values[0])
            except ValueError as exc:
                raise InvalidField(name, str(exc)) from exc
    return filters


def parse_limit(args: MultiDict[str, str], minimum: int = 1) -> int:
    """The page size: ``limit`` if given (``minimum``..MAX_LIMIT, larger is capped), else
    MAX_LIMIT; a limit that is not an integer, or below ``minimum``, is 400."""
    raw = args.get("limit")
    if raw is None:
        return MAX_LIMIT
    reason = f"must be an integer of at least {minimum}"
    try:
        limit = int(raw)
    except ValueError as exc:
        raise InvalidField("limit", reason) from exc
    if limit < minimum:
        raise InvalidField("limit", reason)
    return min(limit, MAX_LIMIT)


@dataclass(frozen=True)
class Page:
    """One page asked of a list: its size, the marker after which it starts, the sort asked."""

    limit: int
    marker: str | None
    sort_keys: list[str]
    sort_dirs: list[str]


PAGING_PARAMS = frozenset({"limit", "marker", "sort_key", "sort_dir"})


def parse_page(args: MultiDict[str, str]) -> Page:
    """``limit`` (0..MAX_LIMIT), ``marker`` and the repeatable ``sort_key``/``sort_dir`` of a
    gateway list (Nova's and Cinder's rules: a negative or non-integer limit is 400)."""
    return Page(
        limit=parse_limit(args, minimum=0),
        marker=args.get("marker"),
        sort_keys=args.getlist("sort_key"),
        sort_dirs=args.getlist("sort_dir"),
    )


def non_empty(value: str) -> str:
    """A query value that must not be empty."""
    if not value:
        raise ValueError("must not be empty")
    return value


def one_of(choices: set[str]) -> Callable[[str], str]:
    """A converter accepting only ``choices``."""

    def convert(value: str) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(sorted(choices))}")
        return value

    return convert


def body_boolean(field: str, value: Any) -> bool:
    """A body value checked against ``BOOLEAN``; InvalidField naming ``field`` otherwise."""
    if isinstance(value, bool):
        return value
    if value in TRUE_SPELLINGS:
        return True
    if value in FALSE_SPELLINGS:
        return False
    raise InvalidField(field, "must be a boolean")
