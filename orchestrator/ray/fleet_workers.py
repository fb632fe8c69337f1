"""The Fleet on Ray: worker actors (one SessionRunner each, sessions as threads), results as they finish.

Placement (orchestrator/ray/placement.py): on a cluster whose nodes offer `lmc_sandbox` slots,
one worker per such node, pinned there, takes at most that many sessions at once and at most
its `display` count of desktop sessions; each session goes to the least loaded worker that
fits it. A session's sandbox is made by its worker, so it lives on that worker's node, and so
does the node's warm pool. Without such nodes, `workers` workers are spread by Ray.

A worker that dies mid-session (its node lost, its process killed) does not end the fleet: the
session counts as an `infra` failure and is run again on another worker while its retries last
(`max_retries`, shared with the retries on a node), so every spec yields exactly one result. The
dead worker gets no more sessions until it answers again (Ray may restart it); when no worker
is left, the sessions still waiting fail as `infra`, saying so.

A lost cluster is not a lost worker: when the head stops answering (for HEAD_GRACE seconds) or
this node's raylet dies, run_on_ray raises ClusterLost at once, within seconds, recording no
failure for the sessions cut short: `lmc bench run` started again (on a new head) resumes them.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from orchestrator.fleet.sandbox import SandboxFactory
from orchestrator.fleet.session import ActorScreens, SessionRunner
from orchestrator.fleet.spec import SessionResult, SessionSpec
from orchestrator.ray.cluster import cluster_lost, ensure_ray
from orchestrator.ray.errors import ClusterLost, RayFailure, mapped
from orchestrator.ray.placement import DISPLAY_RESOURCE, SANDBOX_RESOURCE, declares_displays, sandbox_nodes

log = logging.getLogger(__name__)

#: characters of a Ray node id kept in results (unique on any real cluster, short enough to show)
NODE_CHARS = 12


class FleetWorker:
    """A thin actor shell around one SessionRunner; its sandboxes live on its node.

    Restarted after a crash (`max_restarts`): it holds only a warm pool, so a fresh one is as
    good. Its tasks are never retried by Ray (`max_task_retries=0`): a session calls a model and
    runs code, so the driver decides whether the lost session runs again (`run_on_ray`).
    """

    def __init__(self, config: Any) -> None:
        import ray

        self.node_id = ray.get_runtime_context().get_node_id()
        self.factory = SandboxFactory(config.sandbox)
        # desktop sessions get device actors on this node; they take its `display` slots if it declares any
        slots = declares_displays(ray, self.node_id)
        self.runner = SessionRunner(self.factory, config.max_retries, node=self.node_id[:NODE_CHARS],
                                    screens=ActorScreens(self.node_id, display_slot=slots))

    def run(self, spec: SessionSpec, first: int = 1) -> SessionResult:
        """Run one session here; `first` is its attempt number (above 1 after a lost worker)."""
        return self.runner.run(spec, first)

    def node(self) -> str:
        """The id of the node this worker runs on (also a liveness probe)."""
        return self.node_id

    def warm_up(self, timeout: float) -> bool:
        """Fill this node's warm pool."""
        return self.factory.wait_warm(timeout)

    def close(self) -> None:
        """Free this node's warm sandboxes."""
        self.factory.close()


#: How often a crashed fleet worker is restarted (bounded: a crash loop must end).
WORKER_RESTARTS = 3
#: seconds between checks that the cluster is still there while no session finishes
WAIT_TICK = 2.0
#: seconds a cluster going down takes to show (a head's raylet drains before it exits, then its GCS goes):
#: before a lost worker becomes an `infra` result, the cluster is checked again after this long
SETTLE = 3.0


@dataclass
class Worker:
    """A fleet worker as the driver sees it: where it is, what it takes, what it is running."""

    handle: Any  #: the actor
    node: str  #: the node it is pinned to ("" when Ray placed it)
    slots: int  #: sessions at once
    displays: int | None  #: desktop sessions at once (None: the node declares none, any may come)
    busy: int = 0
    desktops: int = 0
    state: str = "ready"  #: ready, probing (lost a session; asked whether it lives) or gone

    def has_room(self) -> bool:
        """Whether it takes another session now."""
        return self.state == "ready" and self.busy < self.slots

    def fits(self, spec: SessionSpec) -> bool:
        """Whether it can take this session now."""
        if not self.has_room():
            return False
        return spec.desktop is None or self.displays is None or self.desktops < self.displays


def start_workers(config: Any) -> list[Worker]:
    """Fleet workers: one pinned to each node offering lmc_sandbox slots, else `config.workers` spread."""
    ray = ensure_ray(config.ray_address)
    # threads, not asyncio: a session is blocking code (the Interpreter, sandbox I/O)
    options: dict[str, Any] = {"num_cpus": 0, "max_restarts": WORKER_RESTARTS, "max_task_retries": 0}
    cls = ray.remote(FleetWorker)
    offers = sandbox_nodes(ray)
    if not offers:
        per_worker = max(1, -(-config.max_sessions // config.workers))
        return [Worker(cls.options(**options, max_concurrency=per_worker + 2, scheduling_strategy="SPREAD")
                       .remote(config), "", per_worker, None) for _ in range(config.workers)]
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    workers = []
    for offer in offers:
        slots = min(offer.slots, config.sandbox.per_node)
        pinned = NodeAffinitySchedulingStrategy(offer.node_id, soft=False)
        handle = cls.options(**options, max_concurrency=slots + 2, scheduling_strategy=pinned).remote(config)
        workers.append(Worker(handle, offer.node_id, slots, offer.displays))
    log.info("fleet workers on %d node(s): %s", len(workers),
             ", ".join(f"{w.node[:NODE_CHARS]} ({w.slots} slots, {w.displays} displays)" for w in workers))
    return workers


def warm_workers(workers: list[Worker], timeout: float) -> bool:
    """Fill every worker's warm pool (each on its node); whether all filled in time."""
    import ray

    with mapped("a fleet worker", "its node's warm pool is not ready"):
        return all(ray.get([w.handle.warm_up.remote(timeout) for w in workers if w.state != "gone"]))


@dataclass
class _Queued:
    """A session waiting for a worker, with what earlier workers' attempts left behind."""

    spec: SessionSpec
    used: int = 0  #: attempts spent on workers that were lost under it
    retried: list[str] = field(default_factory=list)


@dataclass
class _Running:
    queued: _Queued
    worker: Worker


def run_on_ray(workers: list[Worker], specs: list[SessionSpec], max_sessions: int,
               max_retries: int = 0) -> Iterator[SessionResult]:
    """Submit each spec to the least loaded worker that fits it, at most max_sessions in flight.

    Results come back as sessions finish, one per spec; a session whose worker was lost runs
    again on another while `max_retries` lasts (see the module doc).
    """
    yield from _Dispatch(workers, max_sessions, max_retries).run(specs)


class _Dispatch:
    """One run_on_ray: the queue, the sessions in flight and the workers' liveness probes."""

    def __init__(self, workers: list[Worker], max_sessions: int, max_retries: int) -> None:
        import ray

        self.ray = ray
        self.workers = workers
        self.max_sessions, self.max_retries = max_sessions, max_retries
        self.queue: deque[_Queued] = deque()
        self.running: dict[Any, _Running] = {}
        self.probes: dict[Any, Worker] = {}

    def run(self, specs: list[SessionSpec]) -> Iterator[SessionResult]:
        self.queue.extend(_Queued(s) for s in specs)
        while self.queue or self.running:
            yield from self._fill()
            if not self.running and not self.probes:
                yield from self._strand()
                continue
            done, _ = self.ray.wait([*self.running, *self.probes], num_returns=1, timeout=WAIT_TICK)
            if not done:
                self._check_cluster()
            for ref in done:
                if ref in self.probes:
                    self._probed(ref, self.probes.pop(ref))
                else:
                    yield from self._finished(ref, self.running.pop(ref))

    def _fill(self) -> Iterator[SessionResult]:
        """Start what fits now; a desktop session no live node can ever host fails at once."""
        waiting: deque[_Queued] = deque()
        while self.queue and len(self.running) < self.max_sessions:
            item = self.queue.popleft()
            worker = min((w for w in self.workers if w.fits(item.spec)), default=None,
                         key=lambda w: w.busy / w.slots)
            if worker is not None:
                self._submit(item, worker)
            elif item.spec.desktop is not None and not any(
                    w.state != "gone" and w.displays != 0 for w in self.workers):
                yield self._failed(item, "config", f"session {item.spec.id} needs a desktop, and no live node "
                                   f"offers the {DISPLAY_RESOURCE!r} resource; start one with `ray start "
                                   f"--resources '{{\"{SANDBOX_RESOURCE}\": 8, \"{DISPLAY_RESOURCE}\": 2}}'`")
            else:
                waiting.append(item)
                if not any(w.has_room() for w in self.workers):
                    break  # every worker is full: nothing further down the queue fits either
        self.queue.extendleft(reversed(waiting))

    def _submit(self, item: _Queued, worker: Worker) -> None:
        ref = worker.handle.run.remote(item.spec, item.used + 1)
        worker.busy += 1
        worker.desktops += item.spec.desktop is not None
        self.running[ref] = _Running(item, worker)

    def _finished(self, ref: Any, running: _Running) -> Iterator[SessionResult]:
        item, worker = running.queued, running.worker
        worker.busy -= 1
        worker.desktops -= item.spec.desktop is not None
        try:
            then = ("it runs again on another worker" if item.used < self.max_retries
                    else "it has no retries left; the other sessions go on")
            with mapped(f"the fleet worker running session {item.spec.id}", then):
                result: SessionResult = self.ray.get(ref)
        except RayFailure as exc:
            yield from self._lost(item, worker, str(exc))
            return
        yield dataclasses.replace(result, retried=(*item.retried, *result.retried))

    def _check_cluster(self, settle: float = 0.0) -> None:
        """ClusterLost when the cluster itself is gone (not just a worker); no session is failed for it.

        `settle`: look again after that many seconds before saying it is there.
        """
        why = cluster_lost()
        if why is None and settle:
            time.sleep(settle)
            why = cluster_lost()
        if why is None:
            return
        for worker in self.workers:
            worker.state = "gone"  # nothing can reach them now
        running, waiting = len(self.running), len(self.queue)
        raise ClusterLost(f"lost the Ray cluster ({why}); {running} session(s) running and {waiting} waiting "
                          "got no result; run the same command again (on a new head) and it resumes them")

    def _lost(self, item: _Queued, worker: Worker, why: str) -> Iterator[SessionResult]:
        """The worker died under the session: retry it elsewhere, and find out whether the worker lives."""
        log.warning("%s", why)
        if worker.state == "ready":
            worker.state = "probing"
            self.probes[worker.handle.node.remote()] = worker
        item.used += 1
        if item.used > self.max_retries:
            self._check_cluster(SETTLE)  # a session lost with the whole cluster is not its failure
            yield self._failed(item, "infra", why, node=worker.node)
            return
        item.retried.append(f"infra: {why}")
        self.queue.appendleft(item)

    def _probed(self, ref: Any, worker: Worker) -> None:
        try:
            with mapped("a fleet worker that lost a session", "it gets no more sessions"):
                node = self.ray.get(ref)
        except RayFailure as exc:
            log.warning("%s", exc)
            worker.state = "gone"
            return
        log.info("fleet worker on node %s answers again; it takes sessions again", str(node)[:NODE_CHARS])
        worker.state = "ready"

    def _strand(self) -> Iterator[SessionResult]:
        """Nothing runs and nothing can start: every worker is gone; the waiting sessions fail."""
        self._check_cluster(SETTLE)
        while self.queue:
            yield self._failed(self.queue.popleft(), "infra", "no fleet worker is left (their nodes died or "
                               "they crashed too often); check the cluster with `ray status` and run again")

    def _failed(self, item: _Queued, failure: str, detail: str, node: str = "") -> SessionResult:
        return SessionResult(item.spec.id, "failed", failure, detail, max(item.used, 1), 0, 0, 0, 0.0, 0.0,
                             retried=tuple(item.retried), node=node[:NODE_CHARS])


def stop_workers(workers: list[Worker]) -> None:
    """Close each live worker's pool, then end the actors (nothing to do when the cluster is gone)."""
    import ray

    if cluster_lost(grace=0) is not None:
        return  # Ray ends this driver's actors with it; asking a lost head would only wait

    for closing in [w.handle.close.remote() for w in workers if w.state != "gone"]:
        try:
            with mapped("a fleet worker", "its warm sandboxes went with it"):
                ray.get(closing)
        except RayFailure as exc:
            log.info("stop: %s", exc)
    for worker in workers:
        ray.kill(worker.handle)
