"""``os-migrations`` over every pod: one list, newest first, as Nova orders its own.

Every pod is asked with the caller's filters (pods by region name); the answers are merged on
``created_at`` then ``id`` (descending), integer IDs made unique as in ``admin_pods``. From 2.59
a page (``limit``, ``marker`` a migration UUID) is cut from that merged list: each pod gives at
most its own page maximum (Nova's ``[api] max_limit``) per request.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from tricircle.api import validation
from tricircle.api.compute import admin_pods, policy
from tricircle.api.compute.state import gateway_url
from tricircle.api.errors import BadRequest
from tricircle.api.gateway import caller
from tricircle.pods import lister

blueprint = Blueprint("compute_migrations", __name__)

PAGING_FROM = "2.59"


def shown(migration: dict[str, Any], number: int) -> dict[str, Any]:
    """A pod's migration with the gateway's ID and links through the gateway."""
    migration = dict(migration)
    migration["id"] = admin_pods.top_int_id(number, migration.get("id"))
    links = migration.get("links")
    if isinstance(links, list):
        migration["links"] = [_through_gateway(link) for link in links]
    return migration


def _through_gateway(link: dict[str, Any]) -> dict[str, Any]:
    href = str(link.get("href", ""))
    if "/servers/" in href:
        return {**link, "href": gateway_url() + href[href.index("/servers/") :]}
    return link


def _newest_first(migration: dict[str, Any]) -> tuple[Any, Any]:
    created = lister.parse_timestamp(str(migration.get("created_at") or ""))
    return (str(created), migration.get("id") or 0)


@blueprint.get("/os-migrations")
def list_migrations() -> ResponseReturnValue:
    """Every pod's migrations, merged newest first."""
    admin_pods.authorize_nova(policy.MIGRATIONS_INDEX)
    paging = caller().microversion.at_least(PAGING_FROM)
    params = [
        (key, value)
        for key, value in request.args.items(multi=True)
        if not paging or key not in ("limit", "marker")
    ]
    limit = validation.parse_limit(request.args, minimum=0) if paging else None
    marker = request.args.get("marker") if paging else None
    answers = admin_pods.ask_every_pod("/os-migrations", params=params, what="migrations")
    migrations = [shown(m, a.number) for a in answers for m in a.body["migrations"]]
    migrations.sort(key=_newest_first, reverse=True)
    if not paging:
        return jsonify({"migrations": migrations})
    if marker is not None:
        uuids = [migration.get("uuid") for migration in migrations]
        if marker not in uuids:
            raise BadRequest(f"Marker {marker} could not be found.")
        migrations = migrations[uuids.index(marker) + 1 :]
    assert limit is not None
    page = migrations[:limit]
    body: dict[str, Any] = {"migrations": page}
    if "limit" in request.args and page and len(migrations) > limit:
        body["migrations_links"] = [
            {
                "rel": "next",
                "href": lister.next_link(request.url, page[-1]["uuid"]),
            }
        ]
    return jsonify(body)
