"""A pod's Cinder with the admin and one-pod APIs beside volumes: services, hosts, pools, user
messages, type access, QoS specs, group types, groups, group snapshots and transfers."""

from __future__ import annotations

import uuid
from typing import Any

from fake_pods import BottomAnswer, FakeCinder, FakeVolumePods
from sqlalchemy.orm import Session, sessionmaker

from tricircle.api.microversions import Microversion
from tricircle.db.models import Pod

# collection in the URL -> key of one record in bodies
OBJECTS = {
    "messages": "message",
    "qos-specs": "qos_specs",
    "group_types": "group_type",
    "groups": "group",
    "group_snapshots": "group_snapshot",
    "os-volume-transfer": "transfer",
    "volume-transfers": "transfer",
}


class FakeAdminCinder(FakeCinder):
    """FakeCinder answering the admin views and the one-pod objects too."""

    def __init__(self, region_name: str, max_version: Microversion, index: int) -> None:
        super().__init__(region_name, max_version)
        self.host = f"{region_name}-cinder"
        self.services = [
            {
                "binary": "cinder-scheduler",
                "host": self.host,
                "zone": f"nova-az{index}",
                "status": "enabled",
                "state": "up",
            },
            {
                "binary": "cinder-volume",
                "host": f"{self.host}@fake",
                "zone": f"nova-az{index}",
                "status": "enabled",
                "state": "up",
            },
        ]
        self.objects: dict[str, dict[str, dict[str, Any]]] = {}
        self.type_access: dict[str, list[str]] = {}
        self.accepted: list[tuple[str, str]] = []

    def add(self, collection: str, record: dict[str, Any]) -> dict[str, Any]:
        record = {"id": str(uuid.uuid4()), **record}
        self.objects.setdefault(collection, {})[record["id"]] = record
        return record

    def call(self, method, path, *, json=None, params=None, microversion=None) -> BottomAnswer:
        parts = path.strip("/").split("/")
        head = parts[0]
        if (
            head in ("os-services", "os-hosts", "scheduler-stats", "capabilities")
            or head in OBJECTS
        ):
            self.calls.append((method, path, json, microversion))
            if self.down:
                from tricircle.pods.client import PodUnreachable

                raise PodUnreachable(self.region_name, "volumev3", "connection refused")
            return self._admin_call(method, parts, json, params or {})
        if head == "types" and parts[-1] in ("action", "os-volume-type-access"):
            self.calls.append((method, path, json, microversion))
            if method == "POST":
                (action,) = json
                projects = self.type_access.setdefault(parts[1], [])
                project = json[action]["project"]
                if action == "addProjectAccess":
                    projects.append(project)
                else:
                    projects.remove(project)
            return BottomAnswer(202, None)
        return super().call(method, path, json=json, params=params, microversion=microversion)

    def _admin_call(self, method, parts, json, params) -> BottomAnswer:
        head = parts[0]
        if head == "os-services" and method == "GET":
            found = [
                s
                for s in self.services
                if all(s[key] == params[key] for key in ("host", "binary") if key in params)
            ]
            return BottomAnswer(200, {"services": found})
        if head == "os-services":
            service = next(
                s
                for s in self.services
                if s["host"] == json["host"] and s["binary"] == json.get("binary", s["binary"])
            )
            service["status"] = "disabled" if parts[1].startswith("disable") else "enabled"
            return BottomAnswer(200, {"host": json["host"], "status": service["status"]})
        if head == "os-hosts" and len(parts) == 1:
            hosts = [
                {
                    "host_name": self.host,
                    "service": "cinder-volume",
                    "zone": self.services[0]["zone"],
                }
            ]
            return BottomAnswer(200, {"hosts": hosts})
        if head == "os-hosts":
            return BottomAnswer(200, {"host": [{"resource": {"host": parts[1]}}]})
        if head == "capabilities":
            return BottomAnswer(200, {"namespace": f"OS::Storage::Capabilities::{parts[1]}"})
        if head == "scheduler-stats":
            return BottomAnswer(200, {"pools": [{"name": f"{self.host}@fake#fake"}]})
        collection = "os-volume-transfer" if head == "volume-transfers" else head
        singular = OBJECTS[head]
        records = self.objects.setdefault(collection, {})
        if len(parts) == 1 and method == "POST" and head == "qos-specs":
            fields = dict(json[singular])
            name, consumer = fields.pop("name"), fields.pop("consumer", "back-end")
            record = self.add(collection, {"name": name, "consumer": consumer, "specs": fields})
            return BottomAnswer(200, {singular: record})
        if len(parts) == 1 and method == "POST":
            record = self.add(collection, {**json[singular], "status": "available"})
            return BottomAnswer(202, {singular: record})
        if len(parts) == 1 or parts[1] == "detail":
            return BottomAnswer(
                200,
                {
                    collection.replace("os-volume-transfer", "transfers").replace("-", "_"): list(
                        records.values()
                    )
                },
            )
        record = records.get(parts[1])
        if record is None:
            self._fail(404, f"{singular} {parts[1]} could not be found.")
        if len(parts) > 2:
            if parts[2] == "accept":
                self.accepted.append((parts[1], json["accept"]["auth_key"]))
                return BottomAnswer(
                    202, {"transfer": {"id": parts[1], "volume_id": record.get("volume_id")}}
                )
            if parts[2] == "action" and "delete" in (json or {}):
                del records[parts[1]]
                return BottomAnswer(202, None)
            if parts[2] in ("group_specs",):
                if method == "POST":
                    record.setdefault("group_specs", {}).update(json["group_specs"])
                    return BottomAnswer(200, {"group_specs": record["group_specs"]})
                if method == "DELETE":
                    record.get("group_specs", {}).pop(parts[3], None)
                    return BottomAnswer(202, None)
                if len(parts) > 3:
                    return BottomAnswer(200, {parts[3]: record["group_specs"][parts[3]]})
                return BottomAnswer(200, {"group_specs": record.get("group_specs", {})})
            if parts[2] == "associations":
                return BottomAnswer(
                    200,
                    {
                        "qos_associations": [
                            {"id": t, "association_type": "volume_type", "name": t}
                            for t in record.get("types", [])
                        ]
                    },
                )
            if parts[2] == "associate":
                record.setdefault("types", []).append(params["vol_type_id"])
                return BottomAnswer(202, None)
            if parts[2] == "disassociate":
                record.setdefault("types", []).remove(params["vol_type_id"])
                return BottomAnswer(202, None)
            if parts[2] == "delete_keys":
                for key in json["keys"]:
                    record.get("specs", {}).pop(key, None)
                return BottomAnswer(202, None)
            return BottomAnswer(202, None)
        if method == "GET":
            return BottomAnswer(200, {singular: record})
        if method == "PUT":
            changes = json[singular]
            if head == "qos-specs":
                record.setdefault("specs", {}).update(changes)
                return BottomAnswer(200, {singular: changes})
            record.update(
                {k: v for k, v in changes.items() if k not in ("add_volumes", "remove_volumes")}
            )
            record.setdefault("volume_changes", []).append(changes)
            return BottomAnswer(
                200 if head != "groups" else 202, {singular: record} if head != "groups" else None
            )
        del records[parts[1]]
        return BottomAnswer(202, None)


def admin_pods(session_factory: sessionmaker[Session]) -> FakeVolumePods:
    """Pod1 (az1) and Pod2 (az2) with the admin APIs; RegionOne as the top pod."""
    with session_factory.begin() as session:
        session.add(Pod(region_name="RegionOne", az_name="", pod_az_name=""))
        session.add(Pod(region_name="Pod1", az_name="az1", pod_az_name="nova-az1"))
        session.add(Pod(region_name="Pod2", az_name="az2", pod_az_name="nova-az2"))
    return FakeVolumePods(
        {
            "Pod1": FakeAdminCinder("Pod1", Microversion(3, 71), 1),
            "Pod2": FakeAdminCinder("Pod2", Microversion(3, 70), 2),
        }
    )
