"""Authorization rules the gateway checks itself; everything a pod does is checked by the pod.

Servers are created and acted on in the pods with the caller's own token, so the pods' Nova
policies apply there. The rules below guard what only the gateway holds.
"""

from __future__ import annotations

from oslo_config import cfg
from oslo_policy import policy

from tricircle.api import policy as admin_policy

ADMIN = "role:admin"
OWNER_OR_ADMIN = "role:admin or project_id:%(project_id)s"

FLAVOR_MANAGE = "compute:flavors:manage"
AZ_DETAIL = "compute:availability_zones:detail"
ALL_PROJECTS = "compute:servers:all_projects"
QUOTA_OTHER = "compute:quotas:other_project"
QUOTA_UPDATE = "compute:quotas:update"
QUOTA_DELETE = "compute:quotas:delete"
KEYPAIR_OTHER_USER = "compute:keypairs:other_user"
SERVER_GROUPS_ALL_PROJECTS = "compute:server_groups:all_projects"

RULES = [
    policy.DocumentedRuleDefault(
        FLAVOR_MANAGE,
        ADMIN,
        "Create and delete flavors, their extra specs and access lists.",
        [{"method": "POST", "path": "/v2.1/flavors"}],
    ),
    policy.DocumentedRuleDefault(
        AZ_DETAIL,
        ADMIN,
        "List availability zones with their pods.",
        [{"method": "GET", "path": "/v2.1/os-availability-zone/detail"}],
    ),
    policy.DocumentedRuleDefault(
        ALL_PROJECTS,
        ADMIN,
        "List servers of every project (all_tenants).",
        [{"method": "GET", "path": "/v2.1/servers/detail?all_tenants=1"}],
    ),
    policy.DocumentedRuleDefault(
        QUOTA_OTHER,
        OWNER_OR_ADMIN,
        "Show the quotas of a project (with usage, and the defaults) and another project's limits.",
        [
            {"method": "GET", "path": "/v2.1/os-quota-sets/{project_id}"},
            {"method": "GET", "path": "/v2.1/os-quota-sets/{project_id}/detail"},
            {"method": "GET", "path": "/v2.1/os-quota-sets/{project_id}/defaults"},
            {"method": "GET", "path": "/v2.1/limits?tenant_id={project_id}"},
        ],
    ),
    policy.DocumentedRuleDefault(
        QUOTA_UPDATE,
        ADMIN,
        "Set the limits of a project's total over every pod.",
        [{"method": "PUT", "path": "/v2.1/os-quota-sets/{project_id}"}],
    ),
    policy.DocumentedRuleDefault(
        QUOTA_DELETE,
        ADMIN,
        "Return a project's limits to the defaults.",
        [{"method": "DELETE", "path": "/v2.1/os-quota-sets/{project_id}"}],
    ),
    policy.DocumentedRuleDefault(
        KEYPAIR_OTHER_USER,
        ADMIN,
        "Manage the keypairs of another user (user_id parameter).",
        [{"method": "GET", "path": "/v2.1/os-keypairs?user_id={user_id}"}],
    ),
    policy.DocumentedRuleDefault(
        SERVER_GROUPS_ALL_PROJECTS,
        ADMIN,
        "List the server groups of every project (all_projects); others get their own.",
        [{"method": "GET", "path": "/v2.1/os-server-groups?all_projects=True"}],
    ),
]


def make_enforcer(conf: cfg.ConfigOpts) -> policy.Enforcer:
    """The admin API's enforcer with the gateway's rules added."""
    enforcer = admin_policy.make_enforcer(conf)
    enforcer.register_defaults(RULES)
    return enforcer
