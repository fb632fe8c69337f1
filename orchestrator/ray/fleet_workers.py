"""The Fleet on Ray: worker actors (one SessionRunner each, sessions as threads), results as they finish.

A worker that dies mid-session does not end the fleet: that session's result is an `infra`
failure saying so, and the fleet goes on with the other sessions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from orchestrator.fleet.sandbox import SandboxFactory
from orchestrator.fleet.session import SessionRunner
from orchestrator.fleet.spec import SessionResult, SessionSpec
from orchestrator.ray.cluster import ensure_ray
from orchestrator.ray.errors import RayFailure, mapped

log = logging.getLogger(__name__)


class FleetWorker:
    """A thin actor shell around one SessionRunner; its sandboxes live on its node.

    Restarted after a crash (`max_restarts`): it holds only a warm pool, so a fresh one is as
    good. Its tasks are never retried (`max_task_retries=0`): a session calls a model and runs
    code, so the session it was running is reported as an infra failure instead.
    """

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


#: How often a crashed fleet worker is restarted (bounded: a crash loop must end).
WORKER_RESTARTS = 3


def start_workers(config: Any) -> list[Any]:
    """`config.workers` FleetWorker actors, spread over nodes, each taking its share of sessions."""
    ray = ensure_ray(config.ray_address)
    per_worker = max(1, -(-config.max_sessions // config.workers))
    # threads, not asyncio: a session is blocking code (the Interpreter, sandbox I/O)
    options: dict[str, Any] = {"num_cpus": 0, "max_concurrency": per_worker, "scheduling_strategy": "SPREAD",
                               "max_restarts": WORKER_RESTARTS, "max_task_retries": 0}
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
            yield _result(ref, pending.pop(ref))


def _result(ref: Any, spec: SessionSpec) -> SessionResult:
    """A worker's result; a worker lost mid-session makes it an infra failure of that session."""
    import ray

    try:
        with mapped("the fleet worker running it", "the other sessions go on"):
            result: SessionResult = ray.get(ref)
            return result
    except RayFailure as exc:
        log.warning("session %s: %s", spec.id, exc)
        return SessionResult(spec.id, "failed", "infra", f"session {spec.id}: {exc}", 1, 0, 0, 0, 0.0, 0.0)


def stop_workers(workers: list[Any]) -> None:
    """Close each worker's pool, then end the actors."""
    import ray

    for closing in [w.close.remote() for w in workers]:
        try:
            with mapped("a fleet worker", "its warm sandboxes went with it"):
                ray.get(closing)
        except RayFailure as exc:
            log.info("stop: %s", exc)
    for worker in workers:
        ray.kill(worker)
