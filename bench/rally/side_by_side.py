"""Rally side by side: deployment specs from the lab's credentials, and the comparison table.

Two subcommands, both used by ``bench/rally/run.sh`` (run with the Rally venv's Python, which has
PyYAML; the standard library is enough otherwise):

``spec``
    Prints the spec of a Rally deployment on the ``existing`` OpenStack platform for one region,
    from a cloud of the lab's ``clouds.yaml`` (the admin: Rally creates its own project and user
    per workload).

``table``
    Reads ``rally task report --json`` for the tasks of both deployments and prints a markdown
    table: per scenario, atomic action and concurrency, p50/p90/max for the top (RegionOne) and
    for the pod, the ratio of the p50s (top / pod) and each side's success rate. Exits 1 when a
    success rate is below 100 % or an expected workload is missing on a side.

Timings come from the raw iterations, successful ones only (a failed iteration's atomics stop at
the failure); ``total`` is the whole iteration. Percentiles interpolate linearly between ranks.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TOTAL = "total"
PLATFORM = "existing@openstack"


def deployment_spec(clouds_file: Path, cloud: str, region: str) -> dict[str, Any]:
    """The ``existing@openstack`` spec of ``cloud`` in ``clouds_file``, scoped to ``region``.

    Keyed by the platform's full name, as ``rally env show --only-spec`` prints a stored spec, so
    the two compare equal when nothing changed.
    """
    clouds = yaml.safe_load(clouds_file.read_text())["clouds"]
    if cloud not in clouds:
        raise SystemExit(f"{clouds_file} has no cloud {cloud!r} (it has {', '.join(clouds)})")
    entry = clouds[cloud]
    regions = entry.get("regions", [])
    if regions and region not in regions:
        raise SystemExit(f"cloud {cloud!r} knows regions {', '.join(regions)}, not {region!r}")
    auth = entry["auth"]
    admin = {
        "username": auth["username"],
        "password": auth["password"],
        "project_name": auth["project_name"],
        "user_domain_name": auth.get("user_domain_name", "Default"),
        "project_domain_name": auth.get("project_domain_name", "Default"),
    }
    return {
        PLATFORM: {
            "auth_url": auth["auth_url"],
            "region_name": region,
            "endpoint_type": entry.get("interface", "public"),
            "https_insecure": False,
            "admin": admin,
        }
    }


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` (linear between closest ranks; NaN if empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


@dataclass
class Workload:
    """One workload of one side: its iterations' counts and the seconds of each atomic action."""

    scenario: str
    concurrency: int
    total_iterations: int = 0
    failed_iterations: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: dict[str, list[float]] = field(default_factory=dict)

    @property
    def success_rate(self) -> float:
        """Share of iterations without error (0 when none ran)."""
        if self.total_iterations == 0:
            return 0.0
        return (self.total_iterations - self.failed_iterations) / self.total_iterations

    def add(self, other: Workload) -> None:
        """Merge a workload of the same scenario and concurrency (a task run twice)."""
        self.total_iterations += other.total_iterations
        self.failed_iterations += other.failed_iterations
        self.errors += other.errors
        for name, values in other.seconds.items():
            self.seconds.setdefault(name, []).extend(values)


WorkloadKey = tuple[str, int]


def workload_from_report(report_workload: dict[str, Any]) -> Workload:
    """A :class:`Workload` from one workload of Rally's JSON report (format 1.x)."""
    scenario = next(iter(report_workload["scenario"]))
    runner = next(iter(report_workload["runner"].values()))
    workload = Workload(scenario=scenario, concurrency=int(runner.get("concurrency", 1)))
    iterations = report_workload.get("data", [])
    workload.total_iterations = int(report_workload.get("total_iteration_count", len(iterations)))
    workload.failed_iterations = int(
        report_workload.get(
            "failed_iteration_count", sum(1 for item in iterations if item.get("error"))
        )
    )
    seconds: dict[str, list[float]] = {}
    for iteration in iterations:
        if iteration.get("error"):
            error = iteration["error"]
            workload.errors.append(": ".join(str(part) for part in error[:2]))
            continue
        for action in iteration.get("atomic_actions", []):
            elapsed = float(action["finished_at"]) - float(action["started_at"])
            seconds.setdefault(action["name"], []).append(elapsed)
        seconds.setdefault(TOTAL, []).append(float(iteration["duration"]))
    workload.seconds = seconds
    return workload


def workloads_by_deployment(report: dict[str, Any]) -> dict[str, dict[WorkloadKey, Workload]]:
    """Every workload in ``report``, keyed by deployment name, then (scenario, concurrency)."""
    found: dict[str, dict[WorkloadKey, Workload]] = {}
    for task in report.get("tasks", []):
        side = found.setdefault(task.get("env_name", "?"), {})
        for subtask in task.get("subtasks", []):
            for report_workload in subtask.get("workloads", []):
                workload = workload_from_report(report_workload)
                key = (workload.scenario, workload.concurrency)
                if key in side:
                    side[key].add(workload)
                else:
                    side[key] = workload
    return found


def _seconds(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}"


def _ratio(top: float, pod: float) -> str:
    if math.isnan(top) or math.isnan(pod) or pod == 0:
        return "-"
    return f"{top / pod:.2f}x"


def _rate(workload: Workload | None) -> str:
    if workload is None:
        return "missing"
    done = workload.total_iterations - workload.failed_iterations
    percent = f"{100 * workload.success_rate:.1f}".removesuffix(".0")
    return f"{percent} % ({done}/{workload.total_iterations})"


def _action_order(names: Iterable[str]) -> list[str]:
    """Atomic actions in first-seen order, ``total`` last."""
    ordered = list(dict.fromkeys(name for name in names if name != TOTAL))
    return ordered + [TOTAL]


def table_rows(
    top: dict[WorkloadKey, Workload],
    pod: dict[WorkloadKey, Workload],
    expected: Sequence[WorkloadKey],
) -> list[list[str]]:
    """One row per scenario, atomic action and concurrency, expected workloads first."""
    keys = list(dict.fromkeys([*expected, *top, *pod]))
    rows: list[list[str]] = []
    for key in keys:
        top_workload, pod_workload = top.get(key), pod.get(key)
        names = [
            *(top_workload.seconds if top_workload else {}),
            *(pod_workload.seconds if pod_workload else {}),
        ]
        for name in _action_order(names):
            top_seconds = top_workload.seconds.get(name, []) if top_workload else []
            pod_seconds = pod_workload.seconds.get(name, []) if pod_workload else []
            top_p50, pod_p50 = percentile(top_seconds, 0.5), percentile(pod_seconds, 0.5)
            rows.append(
                [
                    key[0],
                    name,
                    str(key[1]),
                    _seconds(top_p50),
                    _seconds(percentile(top_seconds, 0.9)),
                    _seconds(max(top_seconds, default=math.nan)),
                    _seconds(pod_p50),
                    _seconds(percentile(pod_seconds, 0.9)),
                    _seconds(max(pod_seconds, default=math.nan)),
                    _ratio(top_p50, pod_p50),
                    _rate(top_workload),
                    _rate(pod_workload),
                ]
            )
    return rows


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A markdown table; text columns left-aligned, the others right-aligned."""
    left = {0, 1}
    lines = ["| " + " | ".join(headers) + " |"]
    lines.append("|" + "|".join("---" if i in left else "---:" for i in range(len(headers))) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def failures(
    top: dict[WorkloadKey, Workload],
    pod: dict[WorkloadKey, Workload],
    expected: Sequence[WorkloadKey],
    labels: tuple[str, str],
) -> list[str]:
    """One line per workload below 100 % or missing, with its first errors."""
    problems: list[str] = []
    keys = list(dict.fromkeys([*expected, *top, *pod]))
    for label, side in zip(labels, (top, pod), strict=True):
        for key in keys:
            workload = side.get(key)
            where = f"{label}: {key[0]} at concurrency {key[1]}"
            if workload is None:
                problems.append(f"{where}: no results (did the task run? see its log)")
            elif workload.success_rate < 1.0:
                shown = "; ".join(dict.fromkeys(workload.errors))
                problems.append(f"{where}: {_rate(workload)} succeeded; {shown[:400]}")
    return problems


def print_table(args: argparse.Namespace) -> int:
    """The ``table`` subcommand: print the comparison; 1 if any side failed an iteration."""
    report = json.loads(Path(args.report).read_text())
    sides = workloads_by_deployment(report)
    top, pod = sides.get(args.top, {}), sides.get(args.pod, {})
    expected = [(name, int(c)) for name in args.scenarios for c in args.concurrencies]
    top_label, pod_label = args.top_label or args.top, args.pod_label or args.pod
    headers = [
        "scenario",
        "atomic action",
        "concurrency",
        f"{top_label} p50 s",
        f"{top_label} p90 s",
        f"{top_label} max s",
        f"{pod_label} p50 s",
        f"{pod_label} p90 s",
        f"{pod_label} max s",
        "p50 ratio",
        f"{top_label} success",
        f"{pod_label} success",
    ]
    print(markdown_table(headers, table_rows(top, pod, expected)))
    problems = failures(top, pod, expected, (top_label, pod_label))
    if problems:
        print("\nNot every iteration succeeded:", file=sys.stderr)
        for line in problems:
            print(f"- {line}", file=sys.stderr)
        return 1
    return 0


def print_spec(args: argparse.Namespace) -> int:
    """The ``spec`` subcommand: print the deployment spec as JSON."""
    spec = deployment_spec(Path(args.clouds), args.cloud, args.region)
    print(json.dumps(spec, indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run one subcommand."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    spec = commands.add_parser("spec", help="Print a Rally deployment spec for one region.")
    spec.add_argument("--clouds", required=True, help="The lab's clouds.yaml.")
    spec.add_argument("--cloud", default="lab-admin", help="Cloud to use (default lab-admin).")
    spec.add_argument("--region", required=True, help="Keystone region of the deployment.")
    spec.set_defaults(handler=print_spec)
    table = commands.add_parser("table", help="Print the side-by-side table of a JSON report.")
    table.add_argument("report", help="Output of `rally task report --json`.")
    table.add_argument("--top", required=True, help="Deployment name of the top (RegionOne).")
    table.add_argument("--pod", required=True, help="Deployment name of the pod.")
    table.add_argument("--top-label", help="Column label of the top (default: its name).")
    table.add_argument("--pod-label", help="Column label of the pod (default: its name).")
    table.add_argument("--scenarios", nargs="*", default=[], help="Scenarios that must be there.")
    table.add_argument(
        "--concurrencies", nargs="*", default=[], help="Concurrencies that must be there."
    )
    table.set_defaults(handler=print_table)
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
