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


def test_encryption_is_one_per_type_updated_and_dropped_with_its_type(session_factory):
    with session_factory.begin() as session:
        secure = queries.create_volume_type(session, name="secure")
        made = queries.create_encryption(
            session, secure.id, provider="luks", control_location="front-end", key_size=256
        )
        assert len(made.encryption_id) == 36
    with session_factory.begin() as session:
        with pytest.raises(queries.EncryptionExists, match=f"for type {secure.id} already"):
            queries.create_encryption(
                session, secure.id, provider="other", control_location="back-end"
            )
    with session_factory.begin() as session:
        found = queries.find_encryption(session, secure.id)
        queries.update_encryption(session, found, cipher="aes", key_size=None)
    with session_factory() as session:
        found = queries.find_encryption(session, secure.id)
        assert (found.provider, found.cipher, found.key_size) == ("luks", "aes", None)
    with session_factory.begin() as session:
        assert queries.delete_encryption(session, secure.id)
        assert not queries.delete_encryption(session, secure.id)
        queries.create_encryption(session, secure.id, provider="p", control_location="back-end")
    with session_factory.begin() as session:
        session.delete(queries.find_volume_type(session, secure.id))
    with session_factory() as session:
        assert queries.find_encryption(session, secure.id) is None
