"""The top view of what a pod answers: gateway links, Tricircle AZs, top network names.

A pod's server document is the caller's view already (the pod rendered it at the caller's
microversion with the caller's policy); the gateway only replaces what names the pod: link
hosts, the pod's own AZ, and bottom network names in ``addresses``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

LINKED_COLLECTIONS = ("servers", "flavors", "images", "os-keypairs")
_COLLECTION_PATHS = tuple(f"/{collection}" for collection in LINKED_COLLECTIONS)
AZ_KEY = "OS-EXT-AZ:availability_zone"
# The documents a Nova server embeds that carry links of their own (flavor up to 2.46).
SERVER_LINKED_MEMBERS = ("image", "flavor")
_URL_PATH = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*:)?(?://[^/?#]*)?(?P<path>[^?#]*)")


@dataclass(frozen=True)
class ViewContext:
    """What the rewrite needs: the gateway's URLs, AZ names by pod AZ, top network names."""

    versioned_url: str  # e.g. http://gateway/v2.1
    bookmark_url: str  # e.g. http://gateway
    az_by_pod_az: Mapping[str, str]
    # Bottom network names -> top names, for those that name a top network.
    top_network_names: Callable[[Collection[str]], Mapping[str, str | None]]


def _href_path(href: str) -> str:
    """The path of a link, as ``urlsplit`` gives it at a fraction of its cost (one per link of
    every server listed)."""
    return _URL_PATH.match(href).group("path")  # type: ignore[union-attr]  # always matches


def rewrite_href(href: str, rel: str, view: ViewContext) -> str:
    """``href`` pointing at the gateway instead of the pod, kept from the collection onwards."""
    path = _href_path(href)
    for collection_path in _COLLECTION_PATHS:
        index = path.find(collection_path)
        if index >= 0:
            base = view.bookmark_url if rel == "bookmark" else view.versioned_url
            return base + path[index:]
    return href


def rewrite_links(document: Any, view: ViewContext) -> Any:
    """``document`` with every ``links`` list (at any depth) pointing at the gateway."""
    if isinstance(document, list):
        return [
            rewrite_links(item, view) if isinstance(item, (dict, list)) else item
            for item in document
        ]
    if not isinstance(document, dict):
        return document
    rewritten: dict[str, Any] = {}
    for key, value in document.items():
        if key == "links" and isinstance(value, list):
            rewritten[key] = _gateway_links(value, view)
        elif isinstance(value, (dict, list)):
            rewritten[key] = rewrite_links(value, view)
        else:
            rewritten[key] = value
    return rewritten


def _gateway_links(links: list[Any], view: ViewContext) -> list[Any]:
    """A ``links`` list with each link's ``href`` pointing at the gateway."""
    return [
        {**link, "href": rewrite_href(link["href"], link.get("rel", ""), view)}
        if isinstance(link, dict) and isinstance(link.get("href"), str)
        else link
        for link in links
    ]


def top_addresses(addresses: Mapping[str, Any], view: ViewContext) -> dict[str, Any]:
    """``addresses`` keyed by top network names (bottom networks are named after top IDs)."""
    names = view.top_network_names(addresses.keys())
    result: dict[str, Any] = {}
    for bottom_name, entries in addresses.items():
        result[names.get(bottom_name) or bottom_name] = entries
    return result


def server_view(server: Mapping[str, Any], view: ViewContext) -> dict[str, Any]:
    """One server as the caller sees it through the gateway.

    Links are rewritten only where a Nova server has them (SERVER_LINKED_MEMBERS); what does
    not change is shared with ``server``, which is left as it was.
    """
    result = dict(server)
    links = result.get("links")
    if isinstance(links, list):
        result["links"] = _gateway_links(links, view)
    for key in SERVER_LINKED_MEMBERS:
        member = result.get(key)
        if isinstance(member, dict) and isinstance(member.get("links"), list):
            result[key] = {**member, "links": _gateway_links(member["links"], view)}
    pod_az = result.get(AZ_KEY)
    if isinstance(pod_az, str) and pod_az in view.az_by_pod_az:
        result[AZ_KEY] = view.az_by_pod_az[pod_az]
    if isinstance(result.get("addresses"), dict):
        result["addresses"] = top_addresses(result["addresses"], view)
    return result


def unknown_server(
    server_id: str,
    project_id: str,
    created: str | None,
    az_name: str,
    detail: bool,
    view: ViewContext,
) -> dict[str, Any]:
    """The record of a server in a pod that did not answer (microversion 2.69 and later)."""
    record: dict[str, Any] = {
        "id": server_id,
        "status": "UNKNOWN",
        "links": [
            {"rel": "self", "href": f"{view.versioned_url}/servers/{server_id}"},
            {"rel": "bookmark", "href": f"{view.bookmark_url}/servers/{server_id}"},
        ],
    }
    if detail:
        record.update({"tenant_id": project_id, "created": created, AZ_KEY: az_name})
    return record
