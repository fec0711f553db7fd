"""Strict provider segment input on the central Neutron: integers are integers.

Neutron converts ``provider:segmentation_id`` with ``int()`` (``1.5`` and ``true`` become VLAN 1)
and its multi-segment validator fails with a 500 on ``"segments": "x"``. ``install`` replaces
both, before any request, with checks that answer Neutron's 400 (``InvalidInput``) instead; the
value then goes on to Neutron's own conversion and the type driver's range checks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from neutron_lib import exceptions
from neutron_lib.api import converters, validators
from neutron_lib.api.definitions import (
    multiprovidernet,  # noqa: F401 - registers the validator
    provider_net,
)

_SEGMENTS_VALIDATOR = "type:network_segments"
_DIGITS = re.compile(r"^[0-9]{1,4}$")


def is_integer(value: object) -> bool:
    """True for an int (not a bool) or a string of decimal digits."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and bool(_DIGITS.match(value)))


def strict_segmentation_id(value: Any) -> int:
    """``value`` as a VLAN ID; InvalidInput (400) unless it is an integer."""
    if not is_integer(value):
        raise exceptions.InvalidInput(error_message=f"'{value}' is not an integer")
    return converters.convert_to_int(value)


def _strict_segments(original: Callable[..., Any]) -> Callable[..., Any]:
    def validate(segments: Any, valid_values: Any = None) -> Any:
        if not isinstance(segments, list) or not all(isinstance(s, dict) for s in segments):
            return "segments must be a list of objects"
        for segment in segments:
            value = segment.get(provider_net.SEGMENTATION_ID)
            if value is not None and not is_integer(value):
                return f"'{value}' is not an integer"
        return original(segments, valid_values)

    validate.strict = True  # type: ignore[attr-defined]
    return validate


def install() -> None:
    """Put the strict checks in Neutron's attribute map and validators (once)."""
    attribute = provider_net.RESOURCE_ATTRIBUTE_MAP["networks"][provider_net.SEGMENTATION_ID]
    attribute["convert_to"] = strict_segmentation_id
    original = validators.validators.get(_SEGMENTS_VALIDATOR)
    if original is not None and not getattr(original, "strict", False):
        validators.validators[_SEGMENTS_VALIDATOR] = _strict_segments(original)
