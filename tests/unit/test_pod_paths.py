"""IDs from requests enter pod and central-Neutron URLs only through ``pods.paths``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tricircle.pods.paths import UnsafeId, is_uuid, segment, subpath

SRC = Path(__file__).resolve().parents[2] / "src" / "tricircle"
# Every package that builds a URL path for a pod's or the central Neutron's API.
URL_BUILDERS = ("api", "network/mirror", "network", "quotas", "pods", "reconcile")
# Interpolations that are code, not input: collection names from the code's own tables.
TRUSTED = {
    "kind.path",
    "member.path",
    "self.collection",
    "_COLLECTIONS[resource_type]",
    "COLLECTIONS[resource_type]",
    "resource_type",
    "resource",
    "suffix",
    "API_VERSION",
    "kind.collection",
    "collection",
    "_collection_name",
    "_suffix",
}
QUOTERS = {"segment", "subpath"}


def _url_fstrings(tree: ast.AST):
    """f-strings whose text starts with ``/`` (a URL path), with their interpolations."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.JoinedStr) or not node.values:
            continue
        first = node.values[0]
        if isinstance(first, ast.Constant) and str(first.value).startswith("/"):
            yield node, [v for v in node.values if isinstance(v, ast.FormattedValue)]


def _unquoted(value: ast.FormattedValue) -> str | None:
    expression = value.value
    if isinstance(expression, ast.Call) and isinstance(expression.func, ast.Name):
        if expression.func.id in QUOTERS:
            return None
    text = ast.unparse(expression)
    return None if text in TRUSTED else text


def test_every_url_path_built_from_values_quotes_them():
    found: list[str] = []
    checked = 0
    for package in URL_BUILDERS:
        for path in sorted((SRC / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node, values in _url_fstrings(tree):
                checked += 1
                found += [
                    f"{path.relative_to(SRC)}:{node.lineno}: {{{text}}}"
                    for text in map(_unquoted, values)
                    if text is not None and not _is_gateway_link(path)
                ]
    assert checked > 40, "the walk found too few URL paths: has the code moved?"
    assert not found, "unquoted values in pod URLs:\n" + "\n".join(found)


def _is_gateway_link(path: Path) -> bool:
    """Links the gateways answer (their own URLs, not calls to a pod) are not pod paths."""
    return path.name in {"views.py"}


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("../ports", "..%2Fports"),
        ("id?fields=id", "id%3Ffields%3Did"),
        ("id#x", "id%23x"),
        ("id/", "id%2F"),
        ("a b", "a%20b"),
        (42, "42"),
        ("6f1a3ad8-5c6a-4a57-9d3e-0b1e9e0b7a11", "6f1a3ad8-5c6a-4a57-9d3e-0b1e9e0b7a11"),
    ],
)
def test_a_segment_stays_one_segment(value, quoted):
    assert segment(value) == quoted


@pytest.mark.parametrize("value", ["", ".", "..", "a\x00", "a\nb", "x" * 256, None, True, 1.5, []])
def test_what_names_nothing_is_refused(value):
    with pytest.raises(UnsafeId):
        segment(value)


def test_a_subpath_quotes_each_segment():
    assert subpath("key/a b") == "key/a%20b"
    with pytest.raises(UnsafeId):
        subpath("a/../b")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("6f1a3ad8-5c6a-4a57-9d3e-0b1e9e0b7a11", True),
        ("6f1a3ad85c6a4a579d3e0b1e9e0b7a11", True),
        ("6f1a3ad8-5c6a-4a57-9d3e-0b1e9e0b7a11/", False),
        ("6f1a3ad8-5c6a-4a57-9d3e-0b1e9e0b7a11#x", False),
        ("../ports", False),
        (5, False),
    ],
)
def test_uuid_form(value, expected):
    assert is_uuid(value) is expected
