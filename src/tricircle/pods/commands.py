"""``tricircle pod add|list|delete``: manage pods through the admin API.

The admin API is found in the Keystone catalog (service type ``tricircle``) with the standard
``OS_*`` variables. ``--os-endpoint`` names it directly; without ``OS_AUTH_URL`` it also
switches to the noauth headers (X-Project-Id, X-User-Id from ``OS_PROJECT_ID``/``OS_USER_ID``,
X-Roles admin) for an API running with ``auth_strategy = noauth``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import Any

from keystoneauth1 import adapter, session
from keystoneauth1 import exceptions as ksa_exceptions
from keystoneauth1.identity import v3

from tricircle.pods.client import pod_message

SERVICE_TYPE = "tricircle"
API_VERSION = "v1.0"
POD_COLUMNS = ("pod_id", "region_name", "az_name", "pod_az_name", "dc_name")


class AdminApiError(Exception):
    """The admin API refused or failed a request, or could not be reached."""


class AdminApi:
    """A small client of the admin API ``/v1.0``."""

    def __init__(self, api_adapter: adapter.Adapter, headers: Mapping[str, str]) -> None:
        self.adapter = api_adapter
        self.headers = dict(headers)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], endpoint: str | None = None) -> AdminApi:
        """A client authenticated by the ``OS_*`` variables, or a noauth one on ``endpoint``."""
        if environ.get("OS_AUTH_URL"):
            auth = v3.Password(
                auth_url=environ["OS_AUTH_URL"],
                username=environ.get("OS_USERNAME"),
                password=environ.get("OS_PASSWORD"),
                project_name=environ.get("OS_PROJECT_NAME"),
                user_domain_name=environ.get("OS_USER_DOMAIN_NAME", "Default"),
                project_domain_name=environ.get("OS_PROJECT_DOMAIN_NAME", "Default"),
            )
            api_adapter = adapter.Adapter(
                session.Session(auth=auth),
                service_type=SERVICE_TYPE,
                interface="public",
                region_name=environ.get("OS_REGION_NAME"),
                endpoint_override=endpoint,
            )
            return cls(api_adapter, {})
        if not endpoint:
            raise AdminApiError("Set OS_AUTH_URL (and the other OS_* variables) or --os-endpoint.")
        noauth_headers = {
            "X-Project-Id": environ.get("OS_PROJECT_ID", "admin"),
            "X-User-Id": environ.get("OS_USER_ID", "admin"),
            "X-Roles": "admin",
        }
        return cls(adapter.Adapter(session.Session(), endpoint_override=endpoint), noauth_headers)

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` under ``/v1.0``, whether or not the endpoint has it."""
        base = (self.adapter.get_endpoint() or "").rstrip("/")
        if not base.endswith(f"/{API_VERSION}"):
            base = f"{base}/{API_VERSION}"
        return f"{base}/{path.lstrip('/')}"

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """Send a request; its JSON answer (None if empty), or AdminApiError with the fault."""
        try:
            response = self.adapter.request(
                self.url(path), method, json=body, headers=self.headers, raise_exc=False
            )
        except ksa_exceptions.ClientException as exc:
            raise AdminApiError(str(exc)) from exc
        if response.status_code >= 400:
            raise AdminApiError(f"HTTP {response.status_code}: {pod_message(response)}")
        return response.json() if response.content else None


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``tricircle pod add|list|delete``."""
    parser = subparsers.add_parser("pod", help="Manage pods through the admin API.")
    parser.add_argument(
        "--os-endpoint", help="Admin API URL (skips the catalog; noauth without OS_AUTH_URL)."
    )
    actions = parser.add_subparsers(dest="pod_command", required=True)

    add = actions.add_parser("add", help="Register a pod (an empty --az-name is the top pod).")
    add.add_argument("--region-name", required=True, help="The pod's Keystone region.")
    add.add_argument("--az-name", required=True, help="The AZ users see ('' for the top pod).")
    add.add_argument("--pod-az-name", default="", help="The AZ inside the pod.")
    add.add_argument("--dc-name", default="", help="The pod's data center.")
    add.set_defaults(handler=add_pod)

    actions.add_parser("list", help="List pods.").set_defaults(handler=list_pods)

    delete = actions.add_parser("delete", help="Remove a pod that no routing uses.")
    delete.add_argument("pod_id")
    delete.set_defaults(handler=delete_pod)


def _run(args: argparse.Namespace, method: str, path: str, body: Any = None) -> Any:
    """Call the admin API; on failure print the reason and raise SystemExit(1)."""
    try:
        api = AdminApi.from_environment(os.environ, args.os_endpoint)
        return api.request(method, path, body)
    except AdminApiError as exc:
        print(f"tricircle pod {args.pod_command}: {exc}", file=sys.stderr)
        raise SystemExit(1) from exc


def print_pods(pods: list[dict[str, str]]) -> None:
    """Pods as an aligned table."""
    rows = [POD_COLUMNS, *([pod.get(column, "") for column in POD_COLUMNS] for pod in pods)]
    widths = [max(len(row[index]) for row in rows) for index in range(len(POD_COLUMNS))]
    for row in rows:
        print("  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)))


def add_pod(args: argparse.Namespace) -> int:
    """``tricircle pod add``."""
    pod = {
        "region_name": args.region_name,
        "az_name": args.az_name,
        "pod_az_name": args.pod_az_name,
        "dc_name": args.dc_name,
    }
    print_pods([_run(args, "POST", "pods", {"pod": pod})["pod"]])
    return 0


def list_pods(args: argparse.Namespace) -> int:
    """``tricircle pod list``."""
    print_pods(_run(args, "GET", "pods")["pods"])
    return 0


def delete_pod(args: argparse.Namespace) -> int:
    """``tricircle pod delete``."""
    _run(args, "DELETE", f"pods/{args.pod_id}")
    print(f"Deleted pod {args.pod_id}")
    return 0
