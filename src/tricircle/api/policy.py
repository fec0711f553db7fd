"""Authorization rules of the admin API (oslo.policy), registered in code.

Every operation defaults to ``rule:admin_api``, itself ``role:admin``; operators override either
in the file named by ``[api] policy_file``. ``list_rules`` feeds ``oslopolicy-sample-generator``
(namespace ``tricircle``), which writes ``etc/policy.yaml.sample``.
"""

from __future__ import annotations

from oslo_config import cfg
from oslo_context import context as oslo_context
from oslo_policy import policy

ADMIN_API = "admin_api"

_BASE_RULES = [
    policy.RuleDefault(
        ADMIN_API, "role:admin", description="Who may use Tricircle's admin API at all."
    ),
]


def _rule(resource: str, action: str, method: str, path: str, what: str) -> policy.RuleDefault:
    """The rule ``tricircle:<resource>:<action>``, defaulting to ``rule:admin_api``."""
    return policy.DocumentedRuleDefault(
        name=f"tricircle:{resource}:{action}",
        check_str=f"rule:{ADMIN_API}",
        description=what,
        operations=[{"method": method, "path": path}],
    )


_OPERATION_RULES = [
    _rule("pods", "create", "POST", "/v1.0/pods", "Register a pod."),
    _rule("pods", "list", "GET", "/v1.0/pods", "List pods."),
    _rule("pods", "show", "GET", "/v1.0/pods/{pod_id}", "Show a pod."),
    _rule("pods", "update", "PUT", "/v1.0/pods/{pod_id}", "Enable or disable a pod."),
    _rule("pods", "delete", "DELETE", "/v1.0/pods/{pod_id}", "Remove a pod without routings."),
    _rule("bindings", "create", "POST", "/v1.0/bindings", "Bind a project to a pod."),
    _rule("bindings", "list", "GET", "/v1.0/bindings", "List pod bindings."),
    _rule("bindings", "show", "GET", "/v1.0/bindings/{binding_id}", "Show a pod binding."),
    _rule("bindings", "delete", "DELETE", "/v1.0/bindings/{binding_id}", "Remove a binding."),
    _rule("routings", "list", "GET", "/v1.0/routings", "List resource routings."),
    _rule("routings", "show", "GET", "/v1.0/routings/{routing_id}", "Show a routing."),
    _rule("routings", "delete", "DELETE", "/v1.0/routings/{routing_id}", "Remove a routing."),
    _rule("jobs", "create", "POST", "/v1.0/jobs", "Queue a job."),
    _rule("jobs", "list", "GET", "/v1.0/jobs", "List jobs."),
    _rule("jobs", "show", "GET", "/v1.0/jobs/{job_id}", "Show a job."),
    _rule("jobs", "redo", "PUT", "/v1.0/jobs/{job_id}/redo", "Run a job again."),
]


def list_rules() -> list[policy.RuleDefault]:
    """Every rule of the admin API, for the enforcer and the sample generator."""
    return _BASE_RULES + _OPERATION_RULES


def make_enforcer(conf: cfg.ConfigOpts) -> policy.Enforcer:
    """An enforcer with the code's rules, overridden by ``[api] policy_file`` when it exists."""
    enforcer = policy.Enforcer(conf, policy_file=conf.api.policy_file)
    enforcer.register_defaults(list_rules())
    return enforcer


def authorize(
    enforcer: policy.Enforcer,
    rule: str,
    context: oslo_context.RequestContext,
    target: dict[str, str] | None = None,
) -> None:
    """Raise PolicyNotAuthorized unless ``context`` may do ``rule`` on ``target``."""
    target = target if target is not None else {"project_id": context.project_id or ""}
    enforcer.authorize(rule, target, context, do_raise=True)
