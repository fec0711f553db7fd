"""What the cross-pod lister adds on top of the slowest pod: fan-out, merge, marker paging.

Fake pods answer each page after ``--latency-ms`` from records sorted once up front, so the
figures are the lister's own cost (threads, positions, heap) over one pod call. For each pod
count: the first page, and a page deep in the list (a marker ``--depth`` pages in).

    .venv/bin/python bench/bench_lister.py --pods 1,2,4 --records 50,1000 --limit 50
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence

from tricircle.conf import CONF
from tricircle.db.models import Pod
from tricircle.pods.fanout import shared_pool
from tricircle.pods.lister import CrossPodLister, ListHooks, PodQuery, Record, complete_sort_keys

SORT_KEYS = complete_sort_keys(["name"], ["asc"])
POOL = shared_pool(CONF.gateway.pod_call_workers)  # the gateway's default pool


class LatencyHooks(ListHooks):
    """Pods holding sorted records; every call sleeps ``latency`` seconds first."""

    def __init__(self, pod_count: int, records_per_pod: int, latency: float) -> None:
        self.latency = latency
        self.pods = [Pod(pod_id=f"pod{i}", region_name=f"Pod{i}") for i in range(pod_count)]
        self.records: dict[str, list[Record]] = {}
        self.index: dict[str, tuple[str, int]] = {}
        for pod in self.pods:
            rows = [
                {
                    "id": f"{pod.pod_id}-{n:06d}",
                    "name": f"server-{(n * 7919) % records_per_pod:06d}",
                    "created_at": "2026-11-25T00:00:00Z",
                }
                for n in range(records_per_pod)
            ]
            rows.sort(key=lambda row: (row["name"], row["created_at"], row["id"]))
            self.records[pod.pod_id] = rows
            self.index.update({row["id"]: (pod.pod_id, i) for i, row in enumerate(rows)})

    def fetch_page(self, pod: Pod, query: PodQuery) -> Sequence[Record]:
        time.sleep(self.latency)
        start = 0 if query.marker is None else self.index[query.marker][1] + 1
        return self.records[pod.pod_id][start : start + query.limit]

    def find_marker_pod(self, marker: str) -> Pod | None:
        pod_id = self.index[marker][0]
        return next(pod for pod in self.pods if pod.pod_id == pod_id)

    def fetch_record(self, pod: Pod, record_id: str) -> Record | None:
        time.sleep(self.latency)
        return self.records[pod.pod_id][self.index[record_id][1]]


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return statistics.median(ordered) * 1000, p95 * 1000


def measure(hooks: LatencyHooks, limit: int, marker: str | None, rounds: int) -> list[float]:
    lister = CrossPodLister(hooks, POOL)
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        result = lister.list(
            hooks.pods, sort_keys=SORT_KEYS, limit=limit, marker=marker, timeout=30
        )
        samples.append(time.perf_counter() - started)
        assert len(result.records) == min(limit, len(hooks.index)) or marker is not None
    return samples


def deep_marker(hooks: LatencyHooks, limit: int, depth: int) -> str | None:
    """The marker that starts page ``depth + 1``."""
    lister, marker = CrossPodLister(hooks, POOL), None
    for _ in range(depth):
        result = lister.list(
            hooks.pods, sort_keys=SORT_KEYS, limit=limit, marker=marker, timeout=30
        )
        if not result.has_next:
            return None
        marker = result.next_marker
    return marker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", default="1,2,4")
    parser.add_argument("--records", default="50,1000", help="records per pod")
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--depth", type=int, default=4, help="pages before the deep page")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    print(
        f"limit {args.limit}, pod latency {args.latency_ms:.0f} ms per call, "
        f"{args.rounds} rounds; one pod call alone = {args.latency_ms:.0f} ms"
    )
    print("| records/pod | pods | page | p50 ms | p95 ms | pod calls per list |")
    print("|---|---|---|---|---|---|")
    for records in (int(value) for value in args.records.split(",")):
        for pod_count in (int(value) for value in args.pods.split(",")):
            hooks = LatencyHooks(pod_count, records, latency)
            pages = [("page 1", None)]
            marker = deep_marker(hooks, args.limit, args.depth)
            if marker is not None:
                pages.append((f"page {args.depth + 1}", marker))
            for label, page_marker in pages:
                calls = CallCounter(hooks)
                samples = measure(calls, args.limit, page_marker, args.rounds)
                p50, p95 = percentiles(samples)
                per_list = calls.count / args.rounds
                print(
                    f"| {records} | {pod_count} | {label} | {p50:.1f} | {p95:.1f} "
                    f"| {per_list:.1f} |"
                )


class CallCounter(LatencyHooks):
    """The same pods, counting calls."""

    def __init__(self, hooks: LatencyHooks) -> None:  # noqa: D107 - shares the hooks' data
        self.__dict__.update(hooks.__dict__)
        self.count = 0

    def fetch_page(self, pod: Pod, query: PodQuery) -> Sequence[Record]:
        self.count += 1
        return super().fetch_page(pod, query)

    def fetch_record(self, pod: Pod, record_id: str) -> Record | None:
        self.count += 1
        return super().fetch_record(pod, record_id)


if __name__ == "__main__":
    main()
