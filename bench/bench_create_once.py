"""Create-once under contention on PostgreSQL: C callers race for each of R top resources.

Every round starts C threads at once on ``ensure_bottom_resource`` for a new top ID in one pod;
the fake pod takes ``--create-ms`` to create. Duplicates (bottom resources beyond one per top ID)
must be 0, and every caller must get the same bottom ID.

    .venv/bin/python bench/bench_create_once.py --callers 32 --rounds 20 --create-ms 50
"""

from __future__ import annotations

import argparse
import logging
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from scratch_db import DEFAULT_SERVER_URL, scratch_database
from tricircle.db.engine import make_engine, make_session_factory
from tricircle.db.models import Pod
from tricircle.pods.create_once import ensure_bottom_resource


class FakePod:
    """Counts creates per name; each create sleeps like a pod API call."""

    def __init__(self, create_seconds: float) -> None:
        self.create_seconds = create_seconds
        self.created: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def create(self, name: str) -> str:
        """Make a bottom resource called ``name``."""
        time.sleep(self.create_seconds)
        bottom_id = str(uuid.uuid4())
        with self._lock:
            self.created.setdefault(name, []).append(bottom_id)
        return bottom_id

    def find_by_name(self, name: str) -> str | None:
        """The first bottom resource called ``name``."""
        with self._lock:
            return (self.created.get(name) or [None])[0]


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    """Run the rounds and print duplicates and latency."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--create-ms", type=float, default=50.0)
    parser.add_argument("--server-url", default=DEFAULT_SERVER_URL)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    fake = FakePod(args.create_ms / 1000)
    latencies: list[float] = []
    disagreements = 0
    with scratch_database(args.server_url, "bench_create_once") as url:
        engine = make_engine(url)
        session_factory = make_session_factory(engine)
        with session_factory.begin() as session:
            pod = Pod(region_name="Pod1", az_name="az1", pod_az_name="az1")
            session.add(pod)
        with ThreadPoolExecutor(args.callers) as pool:
            for round_number in range(args.rounds):
                top_id = f"net-{round_number}"
                start = threading.Barrier(args.callers)

                def call(_: int, top_id: str = top_id, start: threading.Barrier = start) -> tuple:
                    start.wait()
                    began = time.perf_counter()
                    bottom_id = ensure_bottom_resource(
                        session_factory,
                        top_id=top_id,
                        pod_id=pod.pod_id,
                        project_id="bench",
                        resource_type="network",
                        create=fake.create,
                        find_by_name=fake.find_by_name,
                    )
                    return bottom_id, time.perf_counter() - began

                results = list(pool.map(call, range(args.callers)))
                latencies.extend(seconds for _, seconds in results)
                disagreements += len({bottom_id for bottom_id, _ in results}) > 1
        engine.dispose()
    creates = sum(len(ids) for ids in fake.created.values())
    duplicates = creates - len(fake.created)
    millis = [seconds * 1000 for seconds in latencies]
    print("callers  rounds  create_ms  creates  duplicates  split  p50_ms  p95_ms  max_ms")
    print(
        f"{args.callers:>7}  {args.rounds:>6}  {args.create_ms:>9.0f}  {creates:>7}  "
        f"{duplicates:>10}  {disagreements:>5}  {statistics.median(millis):>6.1f}  "
        f"{percentile(millis, 0.95):>6.1f}  {max(millis):>6.1f}"
    )


if __name__ == "__main__":
    main()
