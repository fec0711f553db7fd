"""Hermetic stand-ins for the pods' Cinder: volumes held in dicts, every call recorded."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from tricircle.api.volume.bottom import BottomAnswer
from tricircle.api.volume.microversions import ApiVersion
from tricircle.pods.client import PodClientError, PodUnreachable

_clock = itertools.count()


class FakeCinder:
    """One pod's Cinder: create, show, update, delete, list detail, actions."""

    def __init__(self, region_name: str, max_version: ApiVersion) -> None:
        self.region_name = region_name
        self.max_version = max_version
        self.volumes: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str, Any, str | None]] = []
        self.down = False

    def endpoint(self) -> str:
        return f"http://{self.region_name.lower()}.example:8776/v3"

    def _fail(self, status: int, message: str) -> None:
        raise PodClientError(self.region_name, "volumev3", status, message)

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        microversion: str | None = None,
    ) -> BottomAnswer:
        self.calls.append((method, path, json, microversion))
        if self.down:
            raise PodUnreachable(self.region_name, "volumev3", "connection refused")
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["volumes"]:
            volume_id = str(uuid.uuid4())
            self.volumes[volume_id] = {
                **json["volume"],
                "id": volume_id,
                "status": "creating",
                "created_at": f"2026-11-25T00:00:{next(_clock):02d}.000000",
                "links": [{"rel": "self", "href": f"{self.endpoint()}/volumes/{volume_id}"}],
            }
            return BottomAnswer(202, {"volume": self.volumes[volume_id]})
        if method == "GET" and parts == ["volumes", "detail"]:
            return BottomAnswer(200, {"volumes": self._page(params or {})})
        volume = self.volumes.get(parts[1]) if len(parts) > 1 else None
        if volume is None:
            self._fail(404, f"Volume {parts[1] if len(parts) > 1 else ''} could not be found.")
        if method == "GET":
            return BottomAnswer(200, {"volume": volume})
        if method == "PUT":
            volume.update(json["volume"])
            return BottomAnswer(200, {"volume": volume})
        if method == "DELETE":
            del self.volumes[parts[1]]
            return BottomAnswer(202, None)
        return BottomAnswer(202, None)


    def _page(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Volumes sorted on ``sort`` (keys with directions), after ``marker``, ``limit`` long."""
        records = list(self.volumes.values())
        for part in reversed(params["sort"].split(",")):
            key, _, direction = part.partition(":")
            records.sort(key=lambda r: (r.get(key) is not None, r.get(key) or ""))
            if direction == "desc":
                records.reverse()
        if "marker" in params:
            ids = [r["id"] for r in records]
            records = records[ids.index(params["marker"]) + 1 :]
        return records[: int(params["limit"])]


class FakeVolumePods:
    """VolumePods over FakeCinder pods, by region name."""

    def __init__(self, pods: dict[str, FakeCinder]) -> None:
        self.pods = pods
        self.tokens: list[str | None] = []

    def caller_client(self, region_name: str, token: str | None) -> FakeCinder:
        self.tokens.append(token)
        return self.pods[region_name]

    def max_version(self, region_names: list[str]) -> ApiVersion:
        return min(self.pods[region].max_version for region in region_names)
