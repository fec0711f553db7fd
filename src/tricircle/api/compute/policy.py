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
QUOTA_CLASS_SHOW = "os_compute_api:os-quota-class-sets:show"
QUOTA_CLASS_UPDATE = "os_compute_api:os-quota-class-sets:update"
SERVER_GROUPS_ALL_PROJECTS = "compute:server_groups:all_projects"
SERVICE_OR_ADMIN = "role:service or role:admin"

# The operator's admin views across pods keep Nova's own rule names and defaults.
HYPERVISORS = "os_compute_api:os-hypervisors:%s"
SERVICES = "os_compute_api:os-services:%s"
HOSTS = "os_compute_api:os-hosts:%s"
AGGREGATES = "os_compute_api:os-aggregates:%s"
MIGRATIONS_INDEX = "os_compute_api:os-migrations:index"
USAGE_LIST = "os_compute_api:os-simple-tenant-usage:list"
USAGE_SHOW = "os_compute_api:os-simple-tenant-usage:show"
AUDIT_LOG = "os_compute_api:os-instance-usage-audit-log:%s"
EXTERNAL_EVENTS = "os_compute_api:os-server-external-events:create"
ASSISTED_VOLUME_SNAPSHOTS = "os_compute_api:os-assisted-volume-snapshots:%s"
# Nova's proxy APIs (< 2.36) keep Nova's rule names; Nova's defaults let any project member in.
VOLUMES = "os_compute_api:os-volumes:%s"
NETWORKS = "os_compute_api:os-networks:%s"
TENANT_NETWORKS = "os_compute_api:os-tenant-networks:%s"

_ADMIN_VIEWS = [
    (HYPERVISORS, "list", "GET", "/v2.1/os-hypervisors"),
    (HYPERVISORS, "list-detail", "GET", "/v2.1/os-hypervisors/detail"),
    (HYPERVISORS, "show", "GET", "/v2.1/os-hypervisors/{hypervisor_id}"),
    (HYPERVISORS, "statistics", "GET", "/v2.1/os-hypervisors/statistics"),
    (HYPERVISORS, "uptime", "GET", "/v2.1/os-hypervisors/{hypervisor_id}/uptime"),
    (HYPERVISORS, "search", "GET", "/v2.1/os-hypervisors/{pattern}/search"),
    (HYPERVISORS, "servers", "GET", "/v2.1/os-hypervisors/{pattern}/servers"),
    (SERVICES, "list", "GET", "/v2.1/os-services"),
    (SERVICES, "update", "PUT", "/v2.1/os-services/{service_id}"),
    (SERVICES, "delete", "DELETE", "/v2.1/os-services/{service_id}"),
    (HOSTS, "list", "GET", "/v2.1/os-hosts"),
    (HOSTS, "show", "GET", "/v2.1/os-hosts/{host_name}"),
    (HOSTS, "update", "PUT", "/v2.1/os-hosts/{host_name}"),
    (HOSTS, "reboot", "GET", "/v2.1/os-hosts/{host_name}/reboot"),
    (HOSTS, "shutdown", "GET", "/v2.1/os-hosts/{host_name}/shutdown"),
    (HOSTS, "start", "GET", "/v2.1/os-hosts/{host_name}/startup"),
    (AGGREGATES, "index", "GET", "/v2.1/os-aggregates"),
    (AGGREGATES, "create", "POST", "/v2.1/os-aggregates"),
    (AGGREGATES, "show", "GET", "/v2.1/os-aggregates/{aggregate_id}"),
    (AGGREGATES, "update", "PUT", "/v2.1/os-aggregates/{aggregate_id}"),
    (AGGREGATES, "delete", "DELETE", "/v2.1/os-aggregates/{aggregate_id}"),
    (AGGREGATES, "add_host", "POST", "/v2.1/os-aggregates/{aggregate_id}/action"),
    (AGGREGATES, "remove_host", "POST", "/v2.1/os-aggregates/{aggregate_id}/action"),
    (AGGREGATES, "set_metadata", "POST", "/v2.1/os-aggregates/{aggregate_id}/action"),
    (AGGREGATES, "images", "POST", "/v2.1/os-aggregates/{aggregate_id}/images"),
    (MIGRATIONS_INDEX, None, "GET", "/v2.1/os-migrations"),
    (USAGE_LIST, None, "GET", "/v2.1/os-simple-tenant-usage"),
    (AUDIT_LOG, "list", "GET", "/v2.1/os-instance_usage_audit_log"),
    (AUDIT_LOG, "show", "GET", "/v2.1/os-instance_usage_audit_log/{before_timestamp}"),
]

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
        QUOTA_CLASS_SHOW,
        ADMIN,
        "Show a quota class (Nova's rule).",
        [{"method": "GET", "path": "/v2.1/os-quota-class-sets/{quota_class}"}],
    ),
    policy.DocumentedRuleDefault(
        QUOTA_CLASS_UPDATE,
        ADMIN,
        "Set limits on a quota class; the 'default' class sets every project's defaults.",
        [{"method": "PUT", "path": "/v2.1/os-quota-class-sets/{quota_class}"}],
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


RULES += [
    policy.DocumentedRuleDefault(
        name if action is None else name % action,
        ADMIN,
        "An admin view merged over every pod (Nova's rule and default).",
        [{"method": method, "path": path}],
    )
    for name, action, method, path in _ADMIN_VIEWS
]
RULES += [
    policy.DocumentedRuleDefault(
        USAGE_SHOW,
        OWNER_OR_ADMIN,
        "Show a project's usage summed over every pod.",
        [{"method": "GET", "path": "/v2.1/os-simple-tenant-usage/{tenant_id}"}],
    ),
    policy.DocumentedRuleDefault(
        EXTERNAL_EVENTS,
        SERVICE_OR_ADMIN,
        "Forward external events to the pods of their servers.",
        [{"method": "POST", "path": "/v2.1/os-server-external-events"}],
    ),
    policy.DocumentedRuleDefault(
        ASSISTED_VOLUME_SNAPSHOTS % "create",
        SERVICE_OR_ADMIN,
        "Forward an assisted volume snapshot to the pod of its volume.",
        [{"method": "POST", "path": "/v2.1/os-assisted-volume-snapshots"}],
    ),
    policy.DocumentedRuleDefault(
        ASSISTED_VOLUME_SNAPSHOTS % "delete",
        SERVICE_OR_ADMIN,
        "Forward the delete of an assisted volume snapshot to the pod of its volume.",
        [{"method": "DELETE", "path": "/v2.1/os-assisted-volume-snapshots/{snapshot_id}"}],
    ),
]

_PROXIES = [
    (VOLUMES, "list", "GET", "/v2.1/os-volumes"),
    (VOLUMES, "detail", "GET", "/v2.1/os-volumes/detail"),
    (VOLUMES, "show", "GET", "/v2.1/os-volumes/{volume_id}"),
    (VOLUMES, "create", "POST", "/v2.1/os-volumes"),
    (VOLUMES, "delete", "DELETE", "/v2.1/os-volumes/{volume_id}"),
    (VOLUMES, "snapshots:list", "GET", "/v2.1/os-snapshots"),
    (VOLUMES, "snapshots:detail", "GET", "/v2.1/os-snapshots/detail"),
    (VOLUMES, "snapshots:show", "GET", "/v2.1/os-snapshots/{snapshot_id}"),
    (VOLUMES, "snapshots:create", "POST", "/v2.1/os-snapshots"),
    (VOLUMES, "snapshots:delete", "DELETE", "/v2.1/os-snapshots/{snapshot_id}"),
    (NETWORKS, "list", "GET", "/v2.1/os-networks"),
    (NETWORKS, "show", "GET", "/v2.1/os-networks/{network_id}"),
    (TENANT_NETWORKS, "list", "GET", "/v2.1/os-tenant-networks"),
    (TENANT_NETWORKS, "show", "GET", "/v2.1/os-tenant-networks/{network_id}"),
]
RULES += [
    policy.DocumentedRuleDefault(
        name % action,
        OWNER_OR_ADMIN,
        "A proxy API below microversion 2.36 (Nova's rule; the region's service checks too).",
        [{"method": method, "path": path}],
    )
    for name, action, method, path in _PROXIES
]


def make_enforcer(conf: cfg.ConfigOpts) -> policy.Enforcer:
    """The admin API's enforcer with the gateway's rules added."""
    enforcer = admin_policy.make_enforcer(conf)
    enforcer.register_defaults(RULES)
    return enforcer
