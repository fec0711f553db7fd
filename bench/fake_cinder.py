"""A volume record as Cinder details it, for the benches' fake Cinders (imports nothing of
Tricircle's): bench_volume_inprocess.py shows one, bench_volume_lists.py lists them."""

from __future__ import annotations

from typing import Any


def volume_record(
    volume_id: str,
    *,
    name: str,
    availability_zone: str,
    created_at: str,
    updated_at: str,
    href: str,
    bookmark_href: str,
    user_id: str,
) -> dict[str, Any]:
    """An available, unattached 1 GiB ``lvmdriver-1`` volume with Cinder 3.0's detailed fields."""
    return {
        "id": volume_id,
        "name": name,
        "status": "available",
        "size": 1,
        "availability_zone": availability_zone,
        "created_at": created_at,
        "updated_at": updated_at,
        "attachments": [],
        "description": None,
        "volume_type": "lvmdriver-1",
        "snapshot_id": None,
        "source_volid": None,
        "metadata": {},
        "links": [{"rel": "self", "href": href}, {"rel": "bookmark", "href": bookmark_href}],
        "user_id": user_id,
        "bootable": "false",
        "encrypted": False,
        "replication_status": None,
        "consistencygroup_id": None,
        "multiattach": False,
    }
