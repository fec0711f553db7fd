"""Authorization rules of the Cinder gateway's own operations (oslo.policy, namespace
``tricircle.volume``).

Everything a pod does is authorized by the pod itself, on the caller's token. Only what the
gateway keeps itself, the volume types, needs rules here; they default to ``role:admin`` and are
overridden in the file named by ``[api] policy_file``.
"""

from __future__ import annotations

from oslo_config import cfg
from oslo_policy import policy

TYPES_MANAGE = "volume_extension:types_manage"
TYPES_SHOW_PRIVATE = "volume_extension:types_show_private"

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
]


def list_rules() -> list[policy.RuleDefault]:
    """Every rule of the Cinder gateway, for the enforcer and the sample generator."""
    return list(_RULES)


def make_enforcer(conf: cfg.ConfigOpts) -> policy.Enforcer:
    """An enforcer with the gateway's rules, overridden by ``[api] policy_file`` if it exists."""
    enforcer = policy.Enforcer(conf, policy_file=conf.api.policy_file)
    enforcer.register_defaults(list_rules())
    return enforcer
