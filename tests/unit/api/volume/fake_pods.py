"""Hermetic stand-ins for the pods' Cinder: volumes and snapshots in dicts, every call recorded."""

from __future__ import annotations

import itertools
import json as jsonlib
import uuid
from dataclasses import dataclass
from typing import Any

from tricircle.api.microversions import Microversion
from tricircle.pods.client import PodClientError, PodServerError, PodUnreachable

_clock = itertools.count()
COLLECTIONS = {"volumes": "volume", "snapshots": "snapshot", "types": "volume_type"}


@dataclass(frozen=True)
class BottomAnswer:
    """What a fake pod answers: a status and a JSON body (None when empty)."""

    status: int
    body: Any


class FakeResponse:
    """Enough of a requests Response for the pod-call stack."""

    def __init__(self, answer: BottomAnswer) -> None:
        self.status_code = answer.status
        self.content = b"" if answer.body is None else jsonlib.dumps(answer.body).encode()
        self.headers: dict[str, str] = {}
        self._body = answer.body

    def json(self) -> Any:
        return self._body


class FakeCinder:
    """One pod's Cinder: create, show, update, delete, sorted pages, actions, limits, quotas."""

    def __init__(self, region_name: str, max_version: Microversion) -> None:
        self.region_name = region_name
        self.max_version = max_version
        self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in COLLECTIONS}
        self.calls: list[tuple[str, str, Any, str | None]] = []
        self.tokens: list[str | None] = []
        self.list_params: list[dict[str, Any]] = []
        self.down = False
        self.broken = False
        self.limits = {"maxTotalVolumes": 10, "totalVolumesUsed": 0, "maxTotalSnapshots": -1}
        self.quotas: dict[str, dict[str, int]] = {}
        self.extensions: list[dict[str, Any]] = []
        self.encryptions: dict[str, dict[str, Any]] = {}

    @property
    def volumes(self) -> dict[str, dict[str, Any]]:
        return self.records["volumes"]

    @property
    def types(self) -> dict[str, dict[str, Any]]:
        return self.records["types"]

    def request(self, method: str, path: str, *, json: Any = None, **kwargs: Any) -> Any:
        return self.call(method, path, json=json, params=kwargs.get("params")).body

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("PUT", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def send(self, method: str, path: str, *, json: Any = None, **kwargs: Any) -> FakeResponse:
        """The pod-call stack's way in: the caller's token is recorded."""
        self.tokens.append(kwargs.get("token"))
        params, microversion = kwargs.get("params"), kwargs["microversion"]
        return FakeResponse(
            self.call(method, path, json=json, params=params, microversion=microversion)
        )

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
        if self.broken:
            raise PodServerError(self.region_name, "volumev3", 500, "Internal Server Error")
        parts = path.strip("/").split("/")
        if parts == ["limits"]:
            return BottomAnswer(200, {"limits": {"rate": [], "absolute": dict(self.limits)}})
        if parts == ["volumes", "summary"]:
            sizes = [int(v["size"]) for v in self.volumes.values()]
            metadata: dict[str, list[str]] = {}
            for volume in self.volumes.values():
                for key, value in (volume.get("metadata") or {}).items():
                    metadata.setdefault(key, []).append(value)
            summary = {"total_size": sum(sizes), "total_count": len(sizes), "metadata": metadata}
            return BottomAnswer(200, {"volume-summary": summary})
        if parts[0] == "types" and parts[2:3] == ["encryption"]:
            return self._encryption(method, parts[1], json)
        if parts == ["extensions"]:
            return BottomAnswer(200, {"extensions": list(self.extensions)})
        if parts[0] == "os-quota-sets":
            return self._quota_set(method, parts[1], json, params or {})
        collection = parts[0]
        singular = COLLECTIONS[collection]
        records = self.records[collection]
        if method == "POST" and len(parts) == 1:
            record_id = str(uuid.uuid4())
            if collection == "volumes" and json["volume"].get("volume_type") in self.types:
                json["volume"]["volume_type_id"] = json["volume"]["volume_type"]
            if collection == "snapshots":
                json["snapshot"]["size"] = self.volumes[json["snapshot"]["volume_id"]]["size"]
            records[record_id] = {
                **json[singular],
                "id": record_id,
                "status": "creating",
                "created_at": f"2026-11-25T00:00:00.{next(_clock):06d}",
                "links": [{"rel": "self", "href": f"{self.endpoint()}/{collection}/{record_id}"}],
            }
            return BottomAnswer(202, {singular: records[record_id]})
        if method == "GET" and len(parts) == 1:
            return BottomAnswer(200, {"volume_types": list(records.values())})
        if method == "GET" and parts[1:] == ["detail"]:
            self.list_params.append(dict(params or {}))
            return BottomAnswer(200, {collection: self._page(records, params or {})})
        record = records.get(parts[1]) if len(parts) > 1 else None
        if record is None:
            self._fail(404, f"{singular.title()} {parts[-1]} could not be found.")
        if len(parts) > 2:
            return BottomAnswer(202, None)
        if method == "GET":
            return BottomAnswer(200, {singular: record})
        if method == "PUT":
            record.update(json[singular])
            return BottomAnswer(200, {singular: record})
        del records[parts[1]]
        return BottomAnswer(202, None)

    def _encryption(self, method: str, type_id: str, json: Any) -> BottomAnswer:
        """A type copy's encryption specs, refused (Cinder's 400) while a volume uses it."""
        if type_id not in self.types:
            self._fail(404, f"Volume type {type_id} could not be found.")
        current = self.encryptions.get(type_id)
        if method == "GET":
            return BottomAnswer(200, dict(current) if current else {})
        verb = {"POST": "create", "PUT": "update", "DELETE": "delete"}[method]
        if any(v.get("volume_type") == type_id for v in self.volumes.values()):
            self._fail(400, f"Cannot {verb} encryption specs. Volume type in use.")
        if method == "DELETE":
            if current is None:
                self._fail(404, f"Volume type encryption for type {type_id} does not exist.")
            del self.encryptions[type_id]
            return BottomAnswer(202, None)
        if method == "POST":
            if current is not None:
                self._fail(400, f"Volume type encryption for type {type_id} already exists.")
            current = {"volume_type_id": type_id, "encryption_id": str(uuid.uuid4())}
        self.encryptions[type_id] = {**(current or {}), **json["encryption"]}
        return BottomAnswer(200, {"encryption": json["encryption"]})

    def usage(self) -> dict[str, int]:
        """What this pod's Cinder counts for its (single) project."""
        volumes, snapshots = self.volumes.values(), self.records["snapshots"].values()
        return {
            "volumes": len(volumes),
            "snapshots": len(snapshots),
            "gigabytes": sum(int(v.get("size") or 1) for v in volumes)
            + sum(int(s.get("size") or 1) for s in snapshots),
        }

    def _quota_set(
        self, method: str, project_id: str, json: Any, params: dict[str, Any]
    ) -> BottomAnswer:
        """The project's quota here: written by Tricircle, read with or without usage."""
        if method == "PUT":
            self.quotas[project_id] = dict(json["quota_set"])
        limits = self.quotas.get(project_id, {"volumes": 10, "snapshots": 10, "gigabytes": 1000})
        if params.get("usage") != "true":
            return BottomAnswer(200, {"quota_set": {"id": project_id, **limits}})
        used = self.usage()
        shown = {
            key: {"limit": limit, "in_use": used.get(key, 0), "reserved": 0}
            for key, limit in limits.items()
        }
        return BottomAnswer(200, {"quota_set": {"id": project_id, **shown}})

    @staticmethod
    def _page(records: dict[str, dict], params: dict[str, Any]) -> list[dict[str, Any]]:
        """Records sorted on ``sort`` (keys with directions), after ``marker``, ``limit`` long."""
        ordered = list(records.values())
        for part in reversed(params["sort"].split(",")):
            key, _, direction = part.partition(":")
            ordered.sort(key=lambda r: (r.get(key) is not None, r.get(key) or ""))
            if direction == "desc":
                ordered.reverse()
        if "marker" in params:
            ids = [r["id"] for r in ordered]
            ordered = ordered[ids.index(params["marker"]) + 1 :]
        return ordered[: int(params["limit"])]


class FakeVolumePods:
    """The pods' clients and versions over FakeCinder pods, by region name."""

    def __init__(self, pods: dict[str, FakeCinder]) -> None:
        self.pods = pods

    def client(self, region_name: str, service_type: str) -> FakeCinder:
        return self.pods[region_name]

    def reachable(self, region_name: str, service_type: str) -> bool:
        return not self.pods[region_name].down

    def maximum(self, region_name: str, service_type: str) -> Microversion:
        return self.pods[region_name].max_version
