"""Keystone for the lab: bootstrap, then regions, services, endpoints, users and the demo tenant.

Everything after bootstrap is registered from this one process through keystoneauth (the CLI
costs about 1.5 s a call). Each ``ensure_*`` call is idempotent: it finds before it creates.
"""

from __future__ import annotations

from dataclasses import dataclass

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from tricircle.lab.layout import DEMO_PROJECT, DEMO_USER, PASSWORD, LabLayout


@dataclass(frozen=True)
class Endpoint:
    """One catalog entry: a service type served at ``url`` in ``region``."""

    service_type: str
    service_name: str
    region: str
    url: str


def admin_session(layout: LabLayout) -> ks_session.Session:
    """A keystoneauth session of the cloud admin (project ``admin``)."""
    auth = v3.Password(
        auth_url=layout.keystone_url,
        username="admin",
        password=PASSWORD,
        project_name="admin",
        user_domain_name="Default",
        project_domain_name="Default",
    )
    return ks_session.Session(auth=auth, timeout=30)


class IdentityAdmin:
    """Idempotent Keystone v3 administration over one admin session."""

    def __init__(self, layout: LabLayout) -> None:
        self._session = admin_session(layout)
        self._url = layout.keystone_url

    def _get(self, path: str, key: str, **filters: str) -> list[dict]:
        response = self._session.get(f"{self._url}{path}", params=filters)
        return response.json()[key]

    def _post(self, path: str, key: str, body: dict) -> dict:
        return self._session.post(f"{self._url}{path}", json={key: body}).json()[key]

    def ensure_region(self, region: str) -> None:
        """Create region ``region`` unless it exists."""
        if not any(r["id"] == region for r in self._get("/regions", "regions")):
            self._post("/regions", "region", {"id": region})

    def ensure_service(self, service_type: str, name: str) -> str:
        """The ID of the service named ``name`` of ``service_type``, created if missing."""
        for service in self._get("/services", "services", type=service_type):
            if service["name"] == name:
                return service["id"]
        return self._post("/services", "service", {"type": service_type, "name": name})["id"]

    def ensure_endpoint(self, endpoint: Endpoint) -> None:
        """Make ``endpoint`` the only public endpoint of its service in its region."""
        service_id = self.ensure_service(endpoint.service_type, endpoint.service_name)
        found = self._get(
            "/endpoints",
            "endpoints",
            service_id=service_id,
            interface="public",
            region_id=endpoint.region,
        )
        if any(e["url"] == endpoint.url for e in found):
            return
        for stale in found:
            self._session.delete(f"{self._url}/endpoints/{stale['id']}")
        self._post(
            "/endpoints",
            "endpoint",
            {
                "service_id": service_id,
                "interface": "public",
                "region_id": endpoint.region,
                "url": endpoint.url,
            },
        )

    def ensure_project(self, name: str) -> str:
        """The ID of project ``name`` in domain default, created if missing."""
        found = self._get("/projects", "projects", name=name, domain_id="default")
        if found:
            return found[0]["id"]
        return self._post("/projects", "project", {"name": name, "domain_id": "default"})["id"]

    def ensure_role(self, name: str) -> str:
        """The ID of role ``name``, created if missing."""
        found = self._get("/roles", "roles", name=name)
        if found:
            return found[0]["id"]
        return self._post("/roles", "role", {"name": name})["id"]

    def ensure_user(self, name: str, project_id: str) -> str:
        """The ID of user ``name`` (password PASSWORD, default project), created if missing."""
        found = self._get("/users", "users", name=name, domain_id="default")
        if found:
            return found[0]["id"]
        body = {
            "name": name,
            "password": PASSWORD,
            "domain_id": "default",
            "default_project_id": project_id,
        }
        return self._post("/users", "user", body)["id"]

    def grant(self, user_id: str, project_id: str, role_id: str) -> None:
        """Give ``user_id`` role ``role_id`` on ``project_id`` (a no-op if it has it)."""
        self._session.put(f"{self._url}/projects/{project_id}/users/{user_id}/roles/{role_id}")


def register_identities(layout: LabLayout, service_users: tuple[str, ...]) -> None:
    """Service users (admin + service roles in ``service``) and the demo member."""
    admin = IdentityAdmin(layout)
    service_project = admin.ensure_project("service")
    admin_role = admin.ensure_role("admin")
    service_role = admin.ensure_role("service")
    member_role = admin.ensure_role("member")
    for name in service_users:
        user_id = admin.ensure_user(name, service_project)
        admin.grant(user_id, service_project, admin_role)
        admin.grant(user_id, service_project, service_role)
    demo_project = admin.ensure_project(DEMO_PROJECT)
    demo_user = admin.ensure_user(DEMO_USER, demo_project)
    admin.grant(demo_user, demo_project, member_role)


def register_catalog(layout: LabLayout, endpoints: list[Endpoint]) -> None:
    """Regions ``Pod1..PodN`` and every endpoint in ``endpoints``."""
    admin = IdentityAdmin(layout)
    for pod in layout.pod_layouts:
        admin.ensure_region(pod.region)
    for endpoint in endpoints:
        admin.ensure_region(endpoint.region)
        admin.ensure_endpoint(endpoint)
