"""The Fleet: many sessions at once, each in its own sandbox (and desktop), in-process or over Ray.

    fleet = Fleet(FleetConfig(max_sessions=32, sandbox=SandboxConfig("docker", warm=4)))
    for result in fleet.run(specs):          # SessionResults, as sessions finish
        print(result.id, result.failure, result.evaluation)
    fleet.close()

Admission control: at most `max_sessions` sessions run at once, and at most
`sandbox.per_node` sandboxes live on one node. Infrastructure failures (a sandbox
lost from outside, setup failed, an X server crashed) and model-API failures are retried up to
`max_retries` times and reported in `SessionResult.retried`, never as the model's
failure. With `ray=True` the sessions run in Ray worker actors (threads inside
each, so a session costs no actor start-up): one pinned to each node that offers
`lmc_sandbox` slots (orchestrator/ray/placement.py), else `workers` spread by Ray.
A session whose worker's node dies runs again on another node (one result per
spec); `SessionResult.node` says where each ran.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from orchestrator.fleet.errors import FleetConfigError
from orchestrator.fleet.sandbox import SandboxConfig, SandboxFactory
from orchestrator.fleet.session import SessionRunner
from orchestrator.fleet.spec import Budget, SandboxPlan, SessionHooks, SessionResult, SessionSpec

log = logging.getLogger(__name__)

__all__ = ["Budget", "Fleet", "FleetConfig", "SandboxConfig", "SandboxPlan", "SessionHooks", "SessionResult",
           "SessionSpec"]


@dataclass(frozen=True)
class FleetConfig:
    """How a Fleet runs its sessions."""

    max_sessions: int = 8  #: sessions running at once, over the whole fleet
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)  #: backend, warm pool, per-node limit
    max_retries: int = 2  #: retries of a session after an infrastructure or model-API failure
    ray: bool = False  #: run sessions in Ray worker actors instead of threads of this process
    ray_address: str | None = None  #: Ray cluster address (implies ray); None starts Ray locally
    workers: int = 1  #: Ray worker actors when no node offers lmc_sandbox slots (else one per such node)
    progress: bool = False  #: show a live progress display on stderr

    def __post_init__(self) -> None:
        if self.max_sessions < 1:
            raise FleetConfigError(f"max_sessions must be at least 1, got {self.max_sessions!r}; try 8")
        if self.max_retries < 0:
            raise FleetConfigError(f"max_retries must be 0 or more, got {self.max_retries!r}")
        if self.workers < 1:
            raise FleetConfigError(f"workers must be at least 1, got {self.workers!r}")

    @property
    def uses_ray(self) -> bool:
        """Whether sessions run on Ray."""
        return self.ray or self.ray_address is not None


class Fleet:
    """Runs SessionSpecs concurrently and streams their SessionResults as they finish."""

    def __init__(self, config: FleetConfig | None = None) -> None:
        self.config = config or FleetConfig()
        self._factory: SandboxFactory | None = None
        self._workers: list[Any] = []

    def run(self, specs: Iterable[SessionSpec], on_result: Callable[[SessionResult], None] | None = None,
            outcome: Callable[[SessionResult], str] | None = None) -> Iterator[SessionResult]:
        """Run every spec; yield results in the order sessions finish.

        `outcome` tells the progress display how a session ended ("passed", "failed" or "errored");
        by default a session that failed in a class of fleet_errors.ERRORED is errored, else its
        evaluation's reward decides.
        """
        specs = list(specs)
        ids = [s.id for s in specs]
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            raise FleetConfigError(f"session ids must be unique; repeated: {', '.join(dup[:5])}")
        from orchestrator.fleet.progress import progress_display

        source = self._run_ray(specs) if self.config.uses_ray else self._run_threads(specs)
        with progress_display(len(specs), self.config.progress, outcome) as shown:
            for result in source:
                shown(result)
                if on_result is not None:
                    on_result(result)
                yield result

    def warm_up(self, timeout: float = 120.0) -> bool:
        """Start the warm sandbox pools now (one per node on Ray) and wait until they are full."""
        if self.config.uses_ray:
            from orchestrator.ray.fleet_workers import warm_workers

            return warm_workers(self._ray_workers(), timeout)
        return self._local_factory().wait_warm(timeout)

    def _local_factory(self) -> SandboxFactory:
        if self._factory is None:
            self._factory = SandboxFactory(self.config.sandbox)
        return self._factory

    def _run_threads(self, specs: list[SessionSpec]) -> Iterator[SessionResult]:
        runner = SessionRunner(self._local_factory(), self.config.max_retries)
        with ThreadPoolExecutor(self.config.max_sessions, thread_name_prefix="lmc-fleet") as pool:
            futures: list[Future[SessionResult]] = [pool.submit(runner.run, s) for s in specs]
            try:
                for future in as_completed(futures):
                    yield future.result()
            finally:
                for future in futures:
                    future.cancel()

    def _ray_workers(self) -> list[Any]:
        """This fleet's live Ray workers, started (again, if every one was lost) on first need."""
        from orchestrator.ray.fleet_workers import start_workers

        self._workers = [w for w in self._workers if w.state != "gone"]
        if not self._workers:
            self._workers = start_workers(self.config)
        return self._workers

    def _run_ray(self, specs: list[SessionSpec]) -> Iterator[SessionResult]:
        from orchestrator.ray.fleet_workers import run_on_ray

        yield from run_on_ray(self._ray_workers(), specs, self.config.max_sessions, self.config.max_retries)

    def close(self) -> None:
        """Remove warm sandboxes and Ray workers this fleet started."""
        if self._factory is not None:
            self._factory.close()
            self._factory = None
        if self._workers:
            from orchestrator.ray.fleet_workers import stop_workers

            stop_workers(self._workers)
            self._workers = []

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
