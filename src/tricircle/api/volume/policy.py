"""Authorization rules of the Cinder gateway's own operations (oslo.policy, namespace
``tricircle.volume``).

Everything a pod does is authorized by the pod itself, on the caller's token. What the gateway
keeps itself (volume types and their access, quotas and quota classes, QoS specs, group types)
and the admin views it merges over pods need rules here, admin-only where Cinder's are; they are
overridden in the file named by ``[api] policy_file``.
"""

from __future__ import annotations

from oslo_config import cfg
from oslo_policy import policy

TYPES_MANAGE = "volume_extension:types_manage"
TYPES_SHOW_PRIVATE = "volume_extension:types_show_private"
QUOTAS_SHOW = "volume_extension:quotas:show"
QUOTAS_UPDATE = "volume_extension:quotas:update"
QUOTAS_DELETE = "volume_extension:quotas:delete"
HOSTS = "volume_extension:hosts"
SERVICES_INDEX = "volume_extension:services:index"
SERVICES_UPDATE = "volume_extension:services:update"
FREEZE_HOST = "volume:freeze_host"
THAW_HOST = "volume:thaw_host"
FAILOVER_HOST = "volume:failover_host"
GET_POOLS = "scheduler_extension:scheduler_stats:get_pools"
CAPABILITIES = "volume_extension:capabilities"
QUOTA_CLASSES_GET = "volume_extension:quota_classes:get"
QUOTA_CLASSES_UPDATE = "volume_extension:quota_classes:update"
TYPE_ACCESS_LIST = "volume_extension:volume_type_access:get_all_for_type"
TYPE_ACCESS_ADD = "volume_extension:volume_type_access:addProjectAccess"
TYPE_ACCESS_REMOVE = "volume_extension:volume_type_access:removeProjectAccess"
QOS_GET_ALL = "volume_extension:qos_specs_manage:get_all"
QOS_GET = "volume_extension:qos_specs_manage:get"
QOS_CREATE = "volume_extension:qos_specs_manage:create"
QOS_UPDATE = "volume_extension:qos_specs_manage:update"
QOS_DELETE = "volume_extension:qos_specs_manage:delete"
ENCRYPTION_CREATE = "volume_extension:volume_type_encryption:create"
ENCRYPTION_GET = "volume_extension:volume_type_encryption:get"
ENCRYPTION_UPDATE = "volume_extension:volume_type_encryption:update"
ENCRYPTION_DELETE = "volume_extension:volume_type_encryption:delete"
GROUP_TYPES_CREATE = "group:group_types:create"
GROUP_TYPES_UPDATE = "group:group_types:update"
GROUP_TYPES_DELETE = "group:group_types:delete"
GROUP_TYPES_SHOW_SPECS = "group:access_group_types_specs"
GROUP_TYPES_SPECS = "group:group_types_specs"


def _admin_rule(name: str, description: str, *operations: tuple[str, str]) -> policy.RuleDefault:
    """A rule that is admin-only by default, as Cinder's own rule of that name."""
    return policy.DocumentedRuleDefault(
        name=name,
        check_str="role:admin",
        description=description,
        operations=[{"method": method, "path": path} for method, path in operations],
    )


_ADMIN_VIEW_RULES = [
    _admin_rule(HOSTS, "List the hosts of every pod, show one.", ("GET", "/v3/os-hosts")),
    _admin_rule(SERVICES_INDEX, "List the services of every pod.", ("GET", "/v3/os-services")),
    _admin_rule(
        SERVICES_UPDATE,
        "Enable or disable a service in its pod.",
        ("PUT", "/v3/os-services/{action}"),
    ),
    _admin_rule(FREEZE_HOST, "Freeze a backend host.", ("PUT", "/v3/os-services/freeze")),
    _admin_rule(THAW_HOST, "Thaw a backend host.", ("PUT", "/v3/os-services/thaw")),
    _admin_rule(
        FAILOVER_HOST, "Fail a backend host over.", ("PUT", "/v3/os-services/failover_host")
    ),
    _admin_rule(
        GET_POOLS, "List the storage pools of every pod.", ("GET", "/v3/scheduler-stats/get_pools")
    ),
    _admin_rule(
        CAPABILITIES, "Show a backend's capabilities.", ("GET", "/v3/capabilities/{host_name}")
    ),
    _admin_rule(
        QUOTA_CLASSES_GET, "Show a quota class.", ("GET", "/v3/os-quota-class-sets/{class}")
    ),
    _admin_rule(
        QUOTA_CLASSES_UPDATE,
        "Set a quota class ('default' sets the defaults).",
        ("PUT", "/v3/os-quota-class-sets/{class}"),
    ),
    _admin_rule(
        TYPE_ACCESS_LIST,
        "List the projects allowed to use a private volume type.",
        ("GET", "/v3/types/{type_id}/os-volume-type-access"),
    ),
    _admin_rule(
        TYPE_ACCESS_ADD,
        "Allow a project to use a private volume type.",
        ("POST", "/v3/types/{type_id}/action"),
    ),
    _admin_rule(
        TYPE_ACCESS_REMOVE,
        "Stop a project from using a private volume type.",
        ("POST", "/v3/types/{type_id}/action"),
    ),
    _admin_rule(
        ENCRYPTION_CREATE,
        "Create a volume type's encryption specs.",
        ("POST", "/v3/types/{type_id}/encryption"),
    ),
    _admin_rule(
        ENCRYPTION_GET,
        "Show a volume type's encryption specs, or one of them.",
        ("GET", "/v3/types/{type_id}/encryption"),
        ("GET", "/v3/types/{type_id}/encryption/{spec}"),
    ),
    _admin_rule(
        ENCRYPTION_UPDATE,
        "Update a volume type's encryption specs.",
        ("PUT", "/v3/types/{type_id}/encryption/{encryption_id}"),
    ),
    _admin_rule(
        ENCRYPTION_DELETE,
        "Delete a volume type's encryption specs.",
        ("DELETE", "/v3/types/{type_id}/encryption/{encryption_id}"),
    ),
    _admin_rule(QOS_GET_ALL, "List QoS specs.", ("GET", "/v3/qos-specs")),
    _admin_rule(
        QOS_GET,
        "Show QoS specs and their associations.",
        ("GET", "/v3/qos-specs/{qos_id}"),
        ("GET", "/v3/qos-specs/{qos_id}/associations"),
    ),
    _admin_rule(QOS_CREATE, "Create QoS specs.", ("POST", "/v3/qos-specs")),
    _admin_rule(
        QOS_UPDATE,
        "Update QoS specs, (dis)associate them with volume types.",
        ("PUT", "/v3/qos-specs/{qos_id}"),
        ("GET", "/v3/qos-specs/{qos_id}/associate"),
    ),
    _admin_rule(QOS_DELETE, "Delete QoS specs.", ("DELETE", "/v3/qos-specs/{qos_id}")),
    _admin_rule(GROUP_TYPES_CREATE, "Create a group type.", ("POST", "/v3/group_types")),
    _admin_rule(
        GROUP_TYPES_UPDATE, "Update a group type.", ("PUT", "/v3/group_types/{group_type_id}")
    ),
    _admin_rule(
        GROUP_TYPES_DELETE, "Delete a group type.", ("DELETE", "/v3/group_types/{group_type_id}")
    ),
    _admin_rule(
        GROUP_TYPES_SHOW_SPECS,
        "See group specs and private group types in group type lists.",
        ("GET", "/v3/group_types"),
    ),
    _admin_rule(
        GROUP_TYPES_SPECS,
        "Read and change a group type's specs.",
        ("GET", "/v3/group_types/{group_type_id}/group_specs"),
        ("POST", "/v3/group_types/{group_type_id}/group_specs"),
    ),
]

_RULES = [
    policy.DocumentedRuleDefault(
        name=TYPES_MANAGE,
        check_str="role:admin",
        description="Create, update and delete volume types and their extra specs.",
        operations=[
            {"method": "POST", "path": "/v3/types"},
            {"method": "PUT", "path": "/v3/types/{type_id}"},
            {"method": "DELETE", "path": "/v3/types/{type_id}"},
            {"method": "POST", "path": "/v3/types/{type_id}/extra_specs"},
            {"method": "DELETE", "path": "/v3/types/{type_id}/extra_specs/{key}"},
        ],
    ),
    policy.DocumentedRuleDefault(
        name=TYPES_SHOW_PRIVATE,
        check_str="role:admin",
        description="See and use private volume types.",
        operations=[
            {"method": "GET", "path": "/v3/types"},
            {"method": "GET", "path": "/v3/types/{type_id}"},
        ],
    ),
    policy.DocumentedRuleDefault(
        name=QUOTAS_SHOW,
        check_str="role:admin or project_id:%(project_id)s",
        description="Show a project's quotas (with usage) and the defaults.",
        operations=[
            {"method": "GET", "path": "/v3/os-quota-sets/{project_id}"},
            {"method": "GET", "path": "/v3/os-quota-sets/{project_id}/defaults"},
        ],
    ),
    policy.DocumentedRuleDefault(
        name=QUOTAS_UPDATE,
        check_str="role:admin",
        description="Set the limits of a project's total over every pod.",
        operations=[{"method": "PUT", "path": "/v3/os-quota-sets/{project_id}"}],
    ),
    policy.DocumentedRuleDefault(
        name=QUOTAS_DELETE,
        check_str="role:admin",
        description="Return a project's limits to the defaults.",
        operations=[{"method": "DELETE", "path": "/v3/os-quota-sets/{project_id}"}],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    """Every rule of the Cinder gateway, for the enforcer and the sample generator."""
    return [*_RULES, *_ADMIN_VIEW_RULES]


def make_enforcer(conf: cfg.ConfigOpts) -> policy.Enforcer:
    """An enforcer with the gateway's rules, overridden by ``[api] policy_file`` if it exists."""
    enforcer = policy.Enforcer(conf, policy_file=conf.api.policy_file)
    enforcer.register_defaults(list_rules())
    return enforcer
