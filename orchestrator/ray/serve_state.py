"""What every `lmc serve --ray` replica on one cluster shares: two detached actors, found by name.

    lmc-serve-registry       RegistryActor: which token owns which computer and conversation, where
                             each lives, which is running, when each was last used
    lmc-serve-orchestrator   an OrchestratorActor (sessions.py) hosting the conversations

Both live in the "lmc" namespace, so a replica started by any job finds them. Computers' sandboxes
live in the executor actor of the node whose replica made them (a desktop computer's: of its device
actor's node), owned by the registry actor, as are desktop computers' device actors: they outlive
every replica, and close when the registry goes. A replica that dies while it streams a
run holds a claim (the entry shows as running); the registry releases the claims of a replica
unheard of for `ORPHAN_AFTER` seconds and hands them to the next replica that checks in, which
stops their runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestrator.server.errors import NotFound
from orchestrator.server.registry import Entry, Registry
from orchestrator.settings import Settings

NAMESPACE = "lmc"
REGISTRY = "lmc-serve-registry"
ORCHESTRATOR = "lmc-serve-orchestrator"
KINDS = ("computer", "conversation")
#: seconds without a heartbeat after which a replica counts as gone and its claims are released
ORPHAN_AFTER = 15.0


@dataclass(frozen=True)
class ComputerAt:
    """Where a computer lives: a sandbox of a node's executor actor."""

    backend: str
    config: Any  #: the backend's config (a new sandbox after the executor actor died uses it)
    node: str  #: the Ray node id of the executor actor
    sid: str  #: the sandbox id in that actor
    #: with a desktop: the device actor's client (RemoteDevices; the node is its node), else None
    devices: Any = None


@dataclass(frozen=True)
class ConversationAt:
    """Where a conversation lives: a session of the serve orchestrator actor, and its settings."""

    session: str
    settings: Settings
    #: with a desktop: its os_mode.ScreenPlan (a reopened session gets a screen again), else None
    screen: Any = None


@dataclass(frozen=True)
class Orphan:
    """A claim released because its replica went silent: the entry's run should be stopped."""

    kind: str
    entry: Entry[Any]


class RegistryActor:
    """The server's Registry of each kind in one place for all replicas (a threaded actor), plus claims."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, orphan_after: float = ORPHAN_AFTER) -> None:
        self._clock, self._orphan_after = clock, orphan_after
        self.registries: dict[str, Registry[Any]] = {kind: Registry(kind, clock) for kind in KINDS}
        self._claims: dict[tuple[str, str], tuple[str, str]] = {}  # (kind, id) -> (owner, replica)
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, kind: str, owner: str, where: Any, idle_timeout: float, id: str | None = None) -> Entry[Any]:
        """File a new entry; it."""
        return self.registries[kind].add(owner, where, idle_timeout, id)

    def get(self, kind: str, owner: str, id: str) -> Entry[Any]:
        """The owner's entry, touched; NotFound for an unknown id or another owner's."""
        return self.registries[kind].get(owner, id)

    def owned(self, kind: str, owner: str) -> list[Entry[Any]]:
        """The owner's entries."""
        return self.registries[kind].owned(owner)

    def remove(self, kind: str, owner: str, id: str) -> Entry[Any]:
        """Take the owner's entry out (the caller closes what it names)."""
        with self._lock:
            self._claims.pop((kind, id), None)
        return self.registries[kind].remove(owner, id)

    def touch(self, kind: str, owner: str, id: str) -> None:
        """Count this moment as use (an unknown id is ignored: touching is a side effect)."""
        try:
            self.registries[kind].get(owner, id)
        except NotFound:
            pass

    def claim(self, kind: str, owner: str, id: str, replica: str) -> None:
        """Mark the entry running, held by `replica`; Busy if it already is."""
        registry = self.registries[kind]
        registry.claim(registry.get(owner, id))
        with self._lock:
            self._claims[(kind, id)] = (owner, replica)
            self._seen.setdefault(replica, self._clock())

    def release(self, kind: str, owner: str, id: str) -> None:
        """Mark the entry idle again, from now (nothing happens if it is gone)."""
        with self._lock:
            self._claims.pop((kind, id), None)
        registry = self.registries[kind]
        try:
            registry.release(registry.get(owner, id))
        except NotFound:
            pass

    def expired(self, kind: str) -> list[Entry[Any]]:
        """Take out and return the entries idle past their timeout (each to one replica only)."""
        return self.registries[kind].expired()

    def open_devices(self, config: Any, timeout: float) -> Any:
        """A device actor with its desktop up (RemoteDevices), created here so that this actor owns it:
        it outlives the replica that asked, as the computers' sandboxes do, and ends with this registry."""
        from orchestrator.ray.device_actor import open_device_actor

        return open_device_actor(config, timeout=timeout)

    def heartbeat(self, replica: str) -> list[Orphan]:
        """`replica` is alive; the entries of replicas silent past `orphan_after`, released, to be stopped."""
        now = self._clock()
        with self._lock:
            self._seen[replica] = now
            gone = {r for r, seen in self._seen.items() if now - seen > self._orphan_after}
            orphaned = [(key, owner) for key, (owner, r) in self._claims.items() if r in gone]
            for r in gone:
                del self._seen[r]
        found = []
        for (kind, id), owner in orphaned:
            self.release(kind, owner, id)
            try:
                found.append(Orphan(kind, self.registries[kind].get(owner, id)))
            except NotFound:
                pass
        return found


def registry_actor() -> Any:
    """The cluster's registry actor, started on first use (detached: it outlives every replica)."""
    import ray

    cls = ray.remote(RegistryActor)
    # Why never restarted: a new incarnation would be empty, and the sandboxes it owned are closed with it
    return cls.options(name=REGISTRY, namespace=NAMESPACE, get_if_exists=True, lifetime="detached",
                       max_restarts=0, num_cpus=0, max_concurrency=1000).remote()


def orchestrator_actor(settings: Settings) -> Any:
    """The cluster's serve orchestrator actor, started on first use (detached; restarted empty on a crash,
    the conversations then reopen from their saved transcripts)."""
    from orchestrator.ray.sessions import RAY_FACTORY, remote_actor_class

    actor = remote_actor_class().options(name=ORCHESTRATOR, namespace=NAMESPACE, get_if_exists=True,
                                         lifetime="detached")
    return actor.remote(settings, RAY_FACTORY)
