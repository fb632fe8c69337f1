"""The Fleet on Ray: worker actors (one SessionRunner each, sessions as threads), results as they finish."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from orchestrator.fleet.sandbox import SandboxFactory
from orchestrator.fleet.session import SessionRunner
from orchestrator.fleet.spec import SessionResult, SessionSpec
from orchestrator.ray.cluster import ensure_ray

log = logging.getLogger(__name__)


class FleetWorker:
    """A thin actor shell around one SessionRunner; its sandboxes live on its node."""

    def __init__(self, config: Any) -> None:
        import ray

        node = ray.get_runtime_context().get_node_id()[:12]
        self.factory = SandboxFactory(config.sandbox)
        self.runner = SessionRunner(self.factory, config.max_retries, node=node)

    def run(self, spec: SessionSpec) -> SessionResult:
        """Run one session here."""
        return self.runner.run(spec)

    def warm_up(self, timeout: float) -> bool:
        """Fill this node's warm pool."""
        return self.factory.wait_warm(timeout)

    def close(self) -> None:
        """Free this node's warm sandboxes."""
        self.factory.close()


def start_workers(config: Any) -> list[Any]:
    """`config.workers` FleetWorker actors, spread over nodes, each taking its share of sessions."""
    ray = ensure_ray(config.ray_address)
    per_worker = max(1, -(-config.max_sessions // config.workers))
    # threads, not asyncio: a session is blocking code (the Interpreter, sandbox I/O)
    options: dict[str, Any] = {"num_cpus": 0, "max_concurrency": per_worker, "scheduling_strategy": "SPREAD"}
    cls = ray.remote(**options)(FleetWorker)
    return [cls.remote(config) for _ in range(config.workers)]


def run_on_ray(workers: list[Any], specs: list[SessionSpec], max_sessions: int) -> Iterator[SessionResult]:
    """Submit specs round-robin, at most max_sessions in flight; yield results as they come back."""
    import ray

    pending: dict[Any, SessionSpec] = {}
    queue = list(reversed(specs))
    turn = 0
    while queue or pending:
        while queue and len(pending) < max_sessions:
            spec = queue.pop()
            pending[workers[turn % len(workers)].run.remote(spec)] = spec
            turn += 1
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            pending.pop(ref)
            yield ray.get(ref)


def stop_workers(workers: list[Any]) -> None:
    """Close each worker's pool, then end the actors."""
    import ray

    ray.get([w.close.remote() for w in workers])
    for worker in workers:
        ray.kill(worker)
