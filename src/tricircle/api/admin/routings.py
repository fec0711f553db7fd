"""``/v1.0/routings``: which bottom resource, in which pod, stands for a top resource."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from tricircle.api import validation
from tricircle.api.admin.common import authorize, next_links, timestamp
from tricircle.api.errors import InvalidField, NotFound
from tricircle.api.gateway import transaction
from tricircle.db import routings
from tricircle.db.models import ResourceRouting

blueprint = Blueprint("routings", __name__)

FILTERS = {
    "resource_type": validation.non_empty,
    "project_id": validation.non_empty,
    "pod_id": validation.non_empty,
}
Body = tuple[dict[str, Any], int]


def routing_view(routing: ResourceRouting) -> dict[str, Any]:
    """The API form of a routing."""
    return {
        "id": routing.id,
        "top_id": routing.top_id,
        "bottom_id": routing.bottom_id,
        "pod_id": routing.pod_id,
        "project_id": routing.project_id,
        "resource_type": routing.resource_type,
        "created_at": timestamp(routing.created_at),
        "updated_at": timestamp(routing.updated_at),
    }


def _marker(raw: str | None) -> int | None:
    """The routing id after which the page starts."""
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise InvalidField("marker", "must be a routing id (an integer)") from exc


@blueprint.get("/routings")
def list_routings() -> Body:
    """Routings by id, filtered, one page at a time."""
    authorize("tricircle:routings:list")
    filters = validation.parse_filters(request.args, FILTERS, paginated=True)
    limit = validation.parse_limit(request.args)
    marker = _marker(request.args.get("marker"))
    with transaction() as session:
        if marker is not None and routings.get_routing(session, marker) is None:
            raise InvalidField("marker", f"routing {marker} could not be found")
        page = routings.list_routings(session, limit=limit, marker=marker, **filters)
        return {
            "routings": [routing_view(routing) for routing in page],
            "routings_links": next_links(page, limit, lambda routing: routing.id),
        }, 200


@blueprint.get("/routings/<int:routing_id>")
def show_routing(routing_id: int) -> Body:
    """One routing."""
    authorize("tricircle:routings:show")
    with transaction() as session:
        routing = routings.get_routing(session, routing_id)
        if routing is None:
            raise NotFound(f"Routing {routing_id} could not be found.")
        return {"routing": routing_view(routing)}, 200


@blueprint.delete("/routings/<int:routing_id>")
def delete_routing(routing_id: int) -> tuple[str, int]:
    """Remove a routing (the bottom resource itself is left alone)."""
    authorize("tricircle:routings:delete")
    with transaction() as session:
        if not routings.delete_routing(session, routing_id):
            raise NotFound(f"Routing {routing_id} could not be found.")
    return "", 204
