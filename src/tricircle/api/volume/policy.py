"""Authorization rules of the Cinder gateway's own operations (oslo.policy, namespace
``tricircle.volume``).

Everything a pod does is authorized by the pod itself, on the caller's token. Only what the
gateway keeps itself, the volume types and the quotas, needs rules here; they are overridden in
the file named by ``[api] policy_file``.
"""

from __future__ import annotations

from oslo_config import cfg
from oslo_policy import policy

TYPES_MANAGE = "volume_extension:types_manage"
TYPES_SHOW_PRIVATE = "volume_extension:types_show_private"
QUOTAS_SHOW = "volume_extension:quotas:show"
QUOTAS_UPDATE = "volume_extension:quotas:update"
QUOTAS_DELETE = "volume_extension:quotas:delete"

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
    return list(_RULES)


def make_enforcer(conf: cfg.ConfigOpts) -> policy.Enforcer:
    """An enforcer with the gateway's rules, overridden by ``[api] policy_file`` if it exists."""
    enforcer = policy.Enforcer(conf, policy_file=conf.api.policy_file)
    enforcer.register_defaults(list_rules())
    return enforcer
