"""The one way an ID enters the path of a URL sent to a pod or to the central Neutron.

Calls go out with Tricircle's or the caller's credentials; an ID taken from a request must never
change which resource they address. ``segment`` percent-quotes an ID into exactly one path
segment (``../ports`` and ``<id>?fields=id`` stay inside it) and refuses what no service names a
resource by: nothing, ``.``/``..``, control characters, more than ``MAX_ID_LENGTH`` characters.
``is_uuid`` checks the UUID form where the upstream asks for one.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import quote

MAX_ID_LENGTH = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class UnsafeId(ValueError):
    """An ID that cannot name a resource in a URL path."""

    def __init__(self, value: object, reason: str) -> None:
        super().__init__(f"Invalid ID {str(value)[:64]!r}: {reason}")
        self.value = value


def segment(value: object) -> str:
    """``value`` (a string or an integer) as one percent-quoted URL path segment."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise UnsafeId(value, "must be a string")
    text = str(value)
    if text in ("", ".", ".."):
        raise UnsafeId(value, "is not an ID")
    if len(text) > MAX_ID_LENGTH:
        raise UnsafeId(value, f"must be at most {MAX_ID_LENGTH} characters")
    if _CONTROL.search(text):
        raise UnsafeId(value, "must not contain control characters")
    return quote(text, safe="")


def subpath(value: str) -> str:
    """A path of several segments taken from a request (``a/b``), each one quoted."""
    return "/".join(segment(part) for part in value.split("/"))


def is_uuid(value: object) -> bool:
    """True for a UUID, hyphenated or not (the forms Nova, Cinder and Neutron accept)."""
    if not isinstance(value, str) or len(value) not in (32, 36):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
