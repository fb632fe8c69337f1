"""`lmc serve --ray`: the app's computers and conversations live in Ray actors; this process only routes.

Any number of replicas joined to one cluster serve the same sessions: the registry actor
(orchestrator/ray/serve_state.py) holds who owns what and where it lives, so a session made
through one replica is found, run, streamed, stopped and closed through any other, with the
same token isolation. A computer's sandbox is a sandbox of its node's executor actor (reached
here through a RayExecutor); a conversation is a session of the serve orchestrator actor
(reached through a RemoteSession, which streams its chunks out of the actor and reopens it from
its saved transcript if that actor restarted). A replica that exits or dies takes nothing along.

A `"desktop": true` computer is a device actor (its virtual desktop; created by the registry actor,
which owns it) and a sandbox in the executor actor of that actor's node; its computer.* calls go
to the device actor. A desktop conversation is an OS-mode session of the orchestrator actor on a
device actor of its own (os_mode.ScreenPlan). Either takes a `display` slot of the cluster: when
none frees up within DESKTOP_WAIT seconds, the request is refused (Busy).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from lmc import codec
from lmc.messages import Chunk, Message
from orchestrator.computer import Computer
from orchestrator.ray.errors import mapped
from orchestrator.ray.serve_state import ComputerAt, ConversationAt, Orphan
from orchestrator.server.config import ServerConfig
from orchestrator.server.conversation import NOTHING_PENDING, Chat
from orchestrator.server.errors import Busy, NothingPending
from orchestrator.server.registry import Entry, Registry
from orchestrator.server.state import ServerState
from orchestrator.server.tokens import Tokens
from orchestrator.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

#: why a desktop is refused on serve --ray when the cluster's screens are all taken
_FULL = ("every desktop (`display` slot) of the Ray cluster is in use; close a computer or conversation that has "
         "one, create this one without \"desktop\", or add a node with more: ray start --resources "
         "'{\"display\": 4}' (--max-desktops does not apply on --ray)")

_REGISTRY = "the serve registry actor"
_AGAIN = "check the cluster (`ray status`) and try again"
#: seconds a new desktop may wait for a free `display` slot of the cluster before the request is refused
DESKTOP_WAIT = 30.0


def _call(method: Any, *args: Any) -> Any:
    """One call to an actor of ours, its errors raised as ours."""
    import ray

    with mapped(_REGISTRY, _AGAIN):
        return ray.get(method.remote(*args))


@dataclass
class SharedEntry(Entry[T]):
    """An entry of the registry actor as this replica sees it; touching it touches the shared one."""

    kind: str = ""
    actor: Any = None

    def touch(self) -> None:
        """Count this moment as use, in the registry actor."""
        self.actor.touch.remote(self.kind, self.owner, self.id)


class SharedRegistry(Registry[T]):
    """A Registry whose entries live in the registry actor; their items are rebuilt here from where they live."""

    def __init__(self, kind: str, actor: Any, replica: str, locate: Callable[[T], Any],
                 revive: Callable[[Any], T]) -> None:
        super().__init__(kind)
        self.actor, self.replica = actor, replica
        self._locate, self._revive = locate, revive
        self._items: dict[str, T] = {}  # items rebuilt here, by id (a Computer keeps its language table)

    def live(self, shared: Entry[Any]) -> SharedEntry[T]:
        """The entry with its item, rebuilt here from where it lives (once per id)."""
        item = self._items.get(shared.id)
        if item is None:
            item = self._items[shared.id] = self._revive(shared.item)
        return SharedEntry(shared.id, shared.owner, item, shared.idle_timeout, shared.last_used, shared.busy,
                           kind=self.kind, actor=self.actor)

    def add(self, owner: str, item: T, idle_timeout: float, id: str | None = None) -> Entry[T]:
        """File a new item under its owner, for every replica."""
        shared = _call(self.actor.add, self.kind, owner, self._locate(item), idle_timeout, id)
        self._items[shared.id] = item
        return self.live(shared)

    def get(self, owner: str, id: str) -> Entry[T]:
        """The owner's entry, touched; NotFound for an unknown id or another owner's."""
        return self.live(_call(self.actor.get, self.kind, owner, id))

    def owned(self, owner: str) -> list[Entry[T]]:
        """The owner's entries."""
        entries: list[Entry[T]] = [self.live(e) for e in _call(self.actor.owned, self.kind, owner)]
        return entries

    def remove(self, owner: str, id: str) -> Entry[T]:
        """Take the owner's entry out, for every replica (the caller closes it)."""
        entry = self.live(_call(self.actor.remove, self.kind, owner, id))
        self._items.pop(id, None)
        return entry

    def claim(self, entry: Entry[T]) -> None:
        """Mark the entry running, held by this replica; Busy if it already is (through any replica)."""
        _call(self.actor.claim, self.kind, entry.owner, entry.id, self.replica)
        entry.busy = True

    def release(self, entry: Entry[T]) -> None:
        """Mark the entry idle again, from now."""
        _call(self.actor.release, self.kind, entry.owner, entry.id)
        entry.busy = False

    def expired(self) -> list[Entry[T]]:
        """The entries idle past their timeout, each handed to one replica only (this one closes them)."""
        entries: list[Entry[T]] = [self.live(e) for e in _call(self.actor.expired, self.kind)]
        for entry in entries:
            self._items.pop(entry.id, None)
        return entries

    def drain(self) -> list[Entry[T]]:
        """Nothing: the sessions belong to the cluster and outlive this replica."""
        return []


class RayConversation:
    """A conversation hosted by the serve orchestrator actor, driven from this replica."""

    def __init__(self, actor: Any, where: ConversationAt, reconnect: Callable[[], Any]) -> None:
        from orchestrator.ray.sessions import RemoteSession, SessionParts

        self.where = where
        parts = SessionParts(screen=where.screen) if where.screen is not None else None
        self.remote = RemoteSession.attach(actor, where.session, where.settings, reconnect, parts)
        self._stopped = False

    @property
    def has_screen(self) -> bool:
        """Whether it was made with a desktop (OS mode on a device actor)."""
        return self.where.screen is not None

    def screen_devices(self) -> Any:
        """Its device actor's client (RemoteDevices), asked of the orchestrator actor; None without a desktop."""
        if self.where.screen is None:
            return None
        return self.remote.ask("devices")

    @property
    def id(self) -> str:
        """The conversation id."""
        return self.where.session

    @property
    def settings(self) -> Settings:
        """Its settings."""
        return self.where.settings

    @property
    def pending(self) -> Message | None:
        """The code waiting for a decision, asked of the actor."""
        encoded = self.remote.ask("pending")
        return codec.decode_message(encoded) if encoded is not None else None

    @property
    def messages(self) -> list[Message]:
        """The transcript, asked of the actor."""
        return [codec.decode_message(m) for m in self.remote.ask("messages")]

    @property
    def usage(self) -> dict[str, Any] | None:
        """What it has spent against its budgets, asked of the actor."""
        found: dict[str, Any] | None = self.remote.ask("usage")
        return found

    def begin(self) -> None:
        """A chat was just claimed here: a stop from now on ends it."""
        self._stopped = False

    def chat(self, text: str) -> Iterator[Chunk]:
        """The chat's chunks, pulled from the actor as they come; only a `stopped` status if it was
        stopped before it began (the actor is not asked: its own chat would forget that stop)."""
        if self._stopped:
            return iter((Chunk.whole(Message("server", "status", "stopped")),))
        return self.remote.stream(Message("user", "message", text))

    def decide(self, approve: bool) -> None:
        """Run or skip the pending code (through whichever replica streams the chat)."""
        if self.pending is None:
            raise NothingPending(NOTHING_PENDING)
        self.remote.decide(approve)

    def stop(self) -> None:
        """Stop the chat, wherever it is streamed."""
        self._stopped = True
        self.remote.stop()

    def close(self, forget: bool = False) -> None:
        """End the session in the actor; with `forget`, delete its saved transcript."""
        self.remote.close(forget)


class RayHosting:
    """New computers in this node's executor actor, new conversations in the serve orchestrator actor."""

    def __init__(self, settings: Settings, registry: Any) -> None:
        import ray

        from orchestrator.ray.executor_actor import owner_of

        self.settings, self.registry = settings, registry
        self.node = str(ray.get_runtime_context().get_node_id())
        #: the sandboxes belong to the registry (they close with it), not to this replica
        self.owner = owner_of(registry)

    def orchestrator(self) -> Any:
        """The serve orchestrator actor (a new one if it died for good)."""
        from orchestrator.ray.serve_state import orchestrator_actor

        with mapped("the serve orchestrator actor", _AGAIN):
            return orchestrator_actor(self.settings)

    def computer(self, backend: str, config: Any) -> Computer:
        """A computer whose sandbox is opened in this node's executor actor."""
        from orchestrator.ray.executor_actor import RayExecutor, executor_actor

        return Computer(RayExecutor(backend, config, executor_actor(self.node), owner=self.owner))

    def desktop_computer(self, backend: str, config: Any) -> Computer:
        """A computer on a device actor's new desktop, its sandbox in the executor actor of that node (its
        GUI programs draw there); Busy when no `display` slot of the cluster frees up in time."""
        from orchestrator.ray.device_actor import DeviceHostConfig
        from orchestrator.ray.executor_actor import RayExecutor, executor_actor
        from orchestrator.session.os_mode import ScreenComputer, on_screen

        _displays_free()
        with _busy_when_full():
            devices = _call(self.registry.open_devices, DeviceHostConfig(), DESKTOP_WAIT)
        try:
            placed = on_screen(config, devices.env()) or config
            sandbox = RayExecutor(backend, placed, executor_actor(devices.node_id), owner=self.owner)
            return ScreenComputer(sandbox, host=devices, screenshots=False)
        except BaseException:
            devices.close()
            raise

    def revive_computer(self, where: ComputerAt) -> Computer:
        """The computer at `where`, reached from this replica (on its device actor's desktop, if it has one)."""
        from orchestrator.ray.executor_actor import RayExecutor, executor_actor

        sandbox = RayExecutor(where.backend, where.config, executor_actor(where.node), sid=where.sid, owner=self.owner)
        if where.devices is None:
            return Computer(sandbox)
        from orchestrator.session.os_mode import ScreenComputer

        return ScreenComputer(sandbox, host=where.devices, screenshots=False)

    def conversation(self, settings: Settings) -> Chat:
        """A new session of the serve orchestrator actor."""
        return self._open_conversation(settings, None)

    def desktop_conversation(self, settings: Settings) -> Chat:
        """A new OS-mode session of the serve orchestrator actor, on a device actor's desktop; Busy when no
        `display` slot of the cluster frees up in time."""
        from orchestrator.session.os_mode import ScreenPlan

        _displays_free()
        with _busy_when_full():
            return self._open_conversation(settings, ScreenPlan(place_timeout=DESKTOP_WAIT))

    def _open_conversation(self, settings: Settings, screen: Any) -> Chat:
        from orchestrator.ray.sessions import SessionParts

        actor = self.orchestrator()
        with mapped("the serve orchestrator actor", _AGAIN):
            import ray

            session = ray.get(actor.open.remote(None, settings, SessionParts(screen=screen)))
        return self.revive_conversation(ConversationAt(session, settings, screen))

    def revive_conversation(self, where: ConversationAt) -> RayConversation:
        """The conversation at `where`, reached from this replica."""
        return RayConversation(self.orchestrator(), where, self.orchestrator)


def _computer_at(node: str) -> Callable[[Computer], ComputerAt]:
    from orchestrator.ray.device_actor import RemoteDevices
    from orchestrator.ray.executor_actor import RayExecutor

    def locate(computer: Computer) -> ComputerAt:
        executor = computer.executor
        assert isinstance(executor, RayExecutor) and executor.sid is not None, "a new computer's sandbox is open"
        devices = computer.devices if isinstance(computer.devices, RemoteDevices) else None
        # a desktop computer's sandbox is in the executor actor of its device actor's node
        return ComputerAt(executor.backend, executor.config, devices.node_id if devices else node, executor.sid,
                          devices)

    return locate


def _displays_free() -> None:
    """Busy at once when every `display` slot of the cluster is taken (Ray's view, a moment old)."""
    import ray

    from orchestrator.ray.placement import displays_free, offers_displays

    if offers_displays(ray) and not displays_free(ray):
        raise Busy(_FULL)


@contextlib.contextmanager
def _busy_when_full() -> Iterator[None]:
    """A device actor that found no free `display` slot in time, as Busy."""
    from orchestrator.ray.device_actor import NoFreeScreen

    try:
        yield
    except NoFreeScreen as exc:
        raise Busy(f"{_FULL} ({exc})") from None


def _conversation_at(conversation: Chat) -> ConversationAt:
    assert isinstance(conversation, RayConversation)
    return conversation.where


def ray_state(config: ServerConfig, tokens: Tokens, settings: Settings) -> ServerState:
    """The state of a replica: the cluster's registries, hosting in its actors (Ray joined here)."""
    from orchestrator.ray.cluster import ensure_ray
    from orchestrator.ray.serve_state import registry_actor

    ensure_ray(config.ray_address)
    with mapped(_REGISTRY, _AGAIN):
        registry = registry_actor()
    hosting = RayHosting(settings, registry)
    replica = uuid.uuid4().hex
    computers: SharedRegistry[Computer] = SharedRegistry(
        "computer", registry, replica, _computer_at(hosting.node), hosting.revive_computer)
    conversations: SharedRegistry[Chat] = SharedRegistry(
        "conversation", registry, replica, _conversation_at, hosting.revive_conversation)

    def tick() -> None:
        """Say this replica lives; stop the runs of replicas that died holding them."""
        orphans: list[Orphan] = _call(registry.heartbeat, replica)
        for orphan in orphans:
            log.warning("the replica running %s %s went silent; stopping its run", orphan.kind, orphan.entry.id)
            if orphan.kind == "computer":
                computers.live(orphan.entry).item.stop()
            else:
                conversations.live(orphan.entry).item.stop()

    return ServerState(config, tokens, settings, computers=computers, conversations=conversations,
                       hosting=hosting, tick=tick)
