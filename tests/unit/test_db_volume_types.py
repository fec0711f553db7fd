"""Queries on the gateway's volume types and their copies in pods, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tricircle.db import routings
from tricircle.db import volume_types as queries


def test_names_are_unique_and_lookup_prefers_the_id(session_factory):
    with session_factory.begin() as session:
        gold = queries.create_volume_type(session, name="gold", extra_specs={"tier": "1"})
        other = queries.create_volume_type(session, name=gold.id)
    with session_factory.begin() as session:
        with pytest.raises(queries.VolumeTypeExists):
            queries.create_volume_type(session, name="gold")
    with session_factory() as session:
        assert queries.find_volume_type(session, gold.id).id == gold.id
        assert queries.find_volume_type(session, "gold").id == gold.id
        assert queries.find_volume_type(session, "silver") is None
        assert other.name == gold.id


def test_private_types_are_listed_only_on_request(session_factory):
    with session_factory.begin() as session:
        queries.create_volume_type(session, name="public")
        queries.create_volume_type(session, name="private", is_public=False)
    with session_factory() as session:
        assert [t.name for t in queries.list_volume_types(session, include_private=False)] == [
            "public"
        ]
        assert [t.name for t in queries.list_volume_types(session, include_private=True)] == [
            "private",
            "public",
        ]


def test_copies_map_bottom_ids_back_to_the_top_type(session_factory, pod_id):
    with session_factory.begin() as session:
        gold = queries.create_volume_type(session, name="gold")
        lock = routings.lock_routing(
            session,
            top_id=gold.id,
            pod_id=pod_id,
            project_id="",
            resource_type=queries.RESOURCE_TYPE,
        )
        routings.fill_bottom_id(session, lock, "bottom-gold")
    with session_factory() as session:
        assert [c.bottom_id for c in queries.bottom_copies(session, gold.id)] == ["bottom-gold"]
        assert queries.top_type_ids(session, pod_id, {"bottom-gold", "other"}) == {
            "bottom-gold": gold.id
        }
        assert queries.top_type_ids(session, pod_id, set()) == {}
