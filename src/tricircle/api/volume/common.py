"""What every view of the Cinder gateway uses: the app's state, the caller, forwarding to a pod.

Calls reach a pod's Cinder through the shared caller-to-pod stack (``tricircle.api.podcalls``)
with the caller's token and microversion; admin work (volume types) uses Tricircle's identity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import g, request

from tricircle.api import gateway, validation
from tricircle.api.podcalls import PodAnswer
from tricircle.api.volume.faults import bad_request
from tricircle.pods.client import PodClient

EXTENSION = gateway.EXTENSION


@dataclass
class VolumeState(gateway.GatewayState):
    """The Cinder gateway's dependencies (the shared ones)."""

    def service_client(self, region_name: str) -> PodClient:
        """The pod's volume service as Tricircle itself (admin work such as volume types)."""
        return self.pod_clients.client(region_name, self.api_versions.pod_service_type)


def state() -> VolumeState:
    """The state of the app serving the current request."""
    return gateway.app_state()


def project_id() -> str:
    """The caller's project."""
    return g.context.project_id or ""


def forward(
    region_name: str,
    method: str,
    path: str,
    *,
    body: Any = None,
    params: dict[str, Any] | None = None,
) -> PodAnswer:
    """Send the caller's request to the pod's Cinder at the negotiated microversion.

    Links in the answer that point into the pod are rewritten to point at the gateway.
    """
    calls = state().calls
    answer = calls.call(gateway.caller(), region_name, method, path, json=body, params=params)
    body = links_to_gateway(answer.body, calls.endpoint(region_name), gateway.root_url())
    return PodAnswer(answer.status, body, answer.headers)


def links_to_gateway(document: Any, pod_endpoint: str, top_root: str) -> Any:
    """``document`` with every link under the pod's ``pod_endpoint`` host moved to ``top_root``."""
    if document is None:
        return None
    parts = urlsplit(pod_endpoint)
    return _with_links_to(document, f"{parts.scheme}://{parts.netloc}", top_root)


def _with_links_to(document: Any, pod_root: str, gateway_root: str) -> Any:
    """``document`` with every ``href`` under ``pod_root`` moved to ``gateway_root``."""
    if isinstance(document, dict):
        return {
            key: (
                gateway_root + value[len(pod_root) :]
                if key == "href" and isinstance(value, str) and value.startswith(pod_root)
                else _with_links_to(value, pod_root, gateway_root)
            )
            for key, value in document.items()
        }
    if isinstance(document, list):
        return [_with_links_to(item, pod_root, gateway_root) for item in document]
    return document


def json_body(resource: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body holding ``resource``, checked against ``schema`` (Cinder's 400 otherwise)."""
    document = validation.json_document(request.get_data())
    if not isinstance(document, dict) or resource not in document:
        raise bad_request(f"Missing required element '{resource}' in request body.")
    validation.check(document, schema)
    return document


def body_schema(
    resource: str,
    fields: Mapping[str, Any],
    required: tuple[str, ...] = (),
    siblings: Mapping[str, Any] | None = None,
) -> dict:
    """The JSON Schema of ``{"<resource>": {<fields>}}`` (other fields are the pod's to check);
    beside the resource only ``siblings`` may appear (Cinder's ``additionalProperties: false``)."""
    inner: dict[str, Any] = {"type": "object", "properties": dict(fields)}
    if required:
        inner["required"] = list(required)
    return {
        "type": "object",
        "properties": {resource: inner, **(siblings or {})},
        "required": [resource],
        "additionalProperties": False,
    }


_NO_NUL = "^[^\x00]*$"
OPTIONAL_STRING = {"type": ["string", "null"], "pattern": _NO_NUL}
NAME = {"type": ["string", "null"], "maxLength": 255, "pattern": _NO_NUL}
OPTIONAL_UUID = {
    "type": ["string", "null"],
    "pattern": "^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$",
}
METADATA = {"type": ["object", "null"], "additionalProperties": {"type": "string"}}
