"""Many conversations in one process: SessionHost (plain asyncio), its Ray actor, and the client side.

A session is an Interpreter; its chat (blocking: litellm, the Computer) runs in
a thread of its own that feeds an asyncio queue, so one slow model or program
never stalls the other sessions in the same event loop. Approvals travel back
through `decide()`. On Ray, `OrchestratorActor` is a thin async shell around a
SessionHost and `chat` is a streaming generator of msgpack-encoded chunks;
`RemoteSession` is what `Interpreter(settings with ray)` talks through. On Ray a
session's code goes to its sandbox through the node's executor actor
(orchestrator/ray/executor_actor.py), which owns the sandboxes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import logging
import queue
import threading
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal, Protocol

from lmc import codec
from lmc.assembly import Assembler
from lmc.messages import Chunk, Message
from orchestrator.errors import SessionBusy, SessionNotFound, SettingsError
from orchestrator.models.base import Model
from orchestrator.ray.cluster import ensure_ray
from orchestrator.ray.errors import SessionLost, mapped
from orchestrator.session.store import ConversationStore
from orchestrator.settings import Settings

log = logging.getLogger(__name__)

_DONE = object()


@dataclass(frozen=True)
class SessionParts:
    """What a caller gave its Interpreter; the hosted session uses them instead of making its own."""

    computer: Any = None  #: a Computer, or None for one made from the settings
    model: Model | None = None  #: a Model, or None for the one the settings name
    #: OS mode: a ScreenPlan (orchestrator.session.os_mode); the session drives a device actor's screen
    screen: Any = None


class HostedSession(Protocol):
    """What a SessionHost needs of a session (the Interpreter is one)."""

    id: str
    messages: list[Message]
    store: ConversationStore

    def chat(self, message: str | Message | list[Message] | None, *, stream: Literal[True],
             approve: Callable[[Message], bool] | None = None) -> Generator[Chunk, object, None]:
        """Stream one chat."""

    def stop(self) -> None:
        """Stop the running work."""

    def close(self) -> None:
        """Free what the session holds."""


#: Makes a session: (settings, conversation id to resume or use, the caller's parts) -> the session.
InterpreterFactory = Callable[[Settings, str | None, SessionParts], HostedSession]


@dataclass(frozen=True)
class NamedFactory:
    """A factory named by module and function, imported where it is called (in the actor)."""

    # Why by name: this module hosts Interpreters and the Interpreter reaches Ray through it; importing the
    # Interpreter here would make the two import each other.
    module: str
    function: str

    def __call__(self, settings: Settings, conversation: str | None, parts: SessionParts) -> HostedSession:
        factory: InterpreterFactory = getattr(importlib.import_module(self.module), self.function)
        return factory(settings, conversation, parts)


#: A fresh Interpreter, or a saved conversation continued.
DEFAULT_FACTORY = NamedFactory("orchestrator.session.interpreter", "hosted")
#: As the default, but the session's sandbox is owned by its node's executor actor.
RAY_FACTORY = NamedFactory("orchestrator.session.interpreter", "ray_hosted")


def check_sendable(parts: SessionParts) -> None:
    """SettingsError naming the fix when a part cannot be pickled for the session actor."""
    from ray import cloudpickle

    dumps: Callable[[object], bytes] = cloudpickle.dumps  # typed here: cloudpickle ships no annotations
    for name, part in (("computer", parts.computer), ("model", parts.model)):
        if part is None:
            continue
        try:
            dumps(part)
        except Exception as exc:  # noqa: BLE001 - any pickling failure means it cannot travel
            raise SettingsError(
                f"Interpreter({name}=...) cannot be sent to the Ray session actor ({type(exc).__name__}: "
                f"{exc}): a {type(part).__name__} that lives in this process cannot be used there; run the "
                f"conversation here (ray=False, no --ray), or leave {name}= out so the actor makes its own "
                "from the settings") from exc


class SessionHost:
    """Hosts many interpreter sessions in one asyncio event loop."""

    def __init__(self, settings: Settings, factory: InterpreterFactory = DEFAULT_FACTORY) -> None:
        self.settings = settings
        self._factory = factory
        self._sessions: dict[str, HostedSession] = {}
        self._decisions: dict[str, queue.Queue[bool]] = {}
        self._busy: set[str] = set()
        self._pending: dict[str, Message] = {}  #: the code each session's chat waits to have decided
        self._stopping: set[str] = set()  #: sessions stopped during their current chat
        self._lock = threading.Lock()

    def _get(self, session: str) -> HostedSession:
        try:
            return self._sessions[session]
        except KeyError:
            known = ", ".join(sorted(self._sessions)[:5]) or "none"
            raise SessionNotFound(f"no session {session!r} here; open one first (hosted: {known})") from None

    async def open(self, conversation: str | None = None, settings: Settings | None = None,
                   parts: SessionParts | None = None) -> str:
        """Start (or resume) a session with its own settings (default: the host's) and parts; return its id."""
        # The session itself runs here, in-process: it must not try to reach Ray again.
        settings = dataclasses.replace(settings or self.settings, ray=False, ray_address=None)
        interpreter = await asyncio.to_thread(self._factory, settings, conversation, parts or SessionParts())
        self._sessions[interpreter.id] = interpreter
        self._decisions[interpreter.id] = queue.Queue()
        return interpreter.id

    async def chat(self, session: str, message: str | Message | list[Message] | None) -> AsyncIterator[Chunk]:
        """Stream one chat of a session; confirmations wait for `decide()`."""
        interpreter, decisions = self._get(session), self._decisions[session]
        if session in self._busy:
            raise SessionBusy(f"session {session!r} is already in a chat; wait for it to end or stop() it")
        self._busy.add(session)
        self._stopping.discard(session)
        loop = asyncio.get_running_loop()
        out: asyncio.Queue[object] = asyncio.Queue()

        def answer(_code: Message) -> bool:
            run = decisions.get()
            self._pending.pop(session, None)
            return run

        def pump() -> None:
            try:
                for chunk in interpreter.chat(message, stream=True, approve=answer):
                    if chunk.type == "confirmation" and chunk.end and isinstance(chunk.content, Message):
                        self._awaiting(session, chunk.content)  # before the client can see it and answer
                    loop.call_soon_threadsafe(out.put_nowait, chunk)
            except Exception as exc:  # noqa: BLE001 - handed to the awaiting coroutine, raised there
                loop.call_soon_threadsafe(out.put_nowait, exc)
            finally:
                self._busy.discard(session)  # only now: the interpreter is free when its thread is done
            loop.call_soon_threadsafe(out.put_nowait, _DONE)

        threading.Thread(target=pump, name=f"session-{session}", daemon=True).start()
        finished = False
        try:
            while (item := await out.get()) is not _DONE:
                if isinstance(item, Exception):
                    raise item
                assert isinstance(item, Chunk)
                yield item
            finished = True
        finally:
            if not finished:  # the client went away: its chat must not run on, or wait on an answer forever
                interpreter.stop()
                decisions.put(False)

    def _awaiting(self, session: str, code: Message) -> None:
        """A confirmation of `code` is about to go out: earlier answers are stale; a stop declines it."""
        decisions = self._decisions[session]
        with self._lock:
            while not decisions.empty():
                decisions.get_nowait()
            self._pending[session] = code
            if session in self._stopping:
                decisions.put(False)

    async def decide(self, session: str, run: bool) -> None:
        """Answer the pending confirmation of a session: run the code or not."""
        self._get(session)
        self._decisions[session].put(run)

    async def pending(self, session: str) -> Message | None:
        """The code a session's chat waits to have approved or declined, if any."""
        self._get(session)
        return self._pending.get(session)

    async def stop(self, session: str) -> None:
        """Stop the running code or generation of a session."""
        interpreter = self._get(session)
        with self._lock:
            if session in self._busy:
                self._stopping.add(session)
            self._decisions[session].put(False)  # a chat waiting on a confirmation must not hang
        interpreter.stop()

    async def messages(self, session: str) -> list[Message]:
        """The transcript of a session."""
        return list(self._get(session).messages)

    async def usage(self, session: str) -> dict[str, Any] | None:
        """What a session has spent against its budgets (Interpreter.usage), if its interpreter counts it."""
        report = getattr(self._get(session), "usage", None)
        return None if report is None else dict(report.to_dict())

    async def close(self, session: str, forget: bool = False) -> None:
        """End a session and free what it holds; with `forget`, delete its saved conversation too."""
        interpreter = self._get(session)
        del self._sessions[session], self._decisions[session]
        self._pending.pop(session, None)
        await asyncio.to_thread(interpreter.close)
        if forget:
            interpreter.store.delete(interpreter.id)

    async def sessions(self) -> list[str]:
        """Ids of the hosted sessions."""
        return sorted(self._sessions)

    async def notice(self, session: str) -> str | None:
        """The line a session has for its user before it starts (OS mode: how the model sees the screen)."""
        return getattr(self._get(session), "notice", None)

    async def devices(self, session: str) -> Any:
        """The device actor's client (RemoteDevices) of a session on a screen (OS mode on Ray), else None."""
        from orchestrator.ray.device_actor import RemoteDevices

        devices = getattr(getattr(self._get(session), "computer", None), "devices", None)
        return devices if isinstance(devices, RemoteDevices) else None


class OrchestratorActor:
    """The Ray actor shell: a SessionHost whose chats stream encoded chunks."""

    def __init__(self, settings: Settings, factory: InterpreterFactory = DEFAULT_FACTORY) -> None:
        self.host = SessionHost(settings, factory)

    async def open(self, conversation: str | None = None, settings: Settings | None = None,
                   parts: SessionParts | None = None) -> str:
        """Start or resume a session."""
        return await self.host.open(conversation, settings, parts)

    async def chat(self, session: str, message: bytes | None) -> AsyncIterator[bytes]:
        """Stream a chat as msgpack-encoded chunks (a Ray streaming generator)."""
        decoded = codec.decode_message(message) if message is not None else None
        async for chunk in self.host.chat(session, decoded):
            yield codec.encode(chunk)

    async def decide(self, session: str, run: bool) -> None:
        """Answer a pending confirmation."""
        await self.host.decide(session, run)

    async def stop(self, session: str) -> None:
        """Stop a session's running work."""
        await self.host.stop(session)

    async def messages(self, session: str) -> list[bytes]:
        """A session's transcript, encoded."""
        return [codec.encode(m) for m in await self.host.messages(session)]

    async def pending(self, session: str) -> bytes | None:
        """The code waiting for a decision, encoded, if any."""
        code = await self.host.pending(session)
        return codec.encode(code) if code is not None else None

    async def usage(self, session: str) -> dict[str, Any] | None:
        """A session's spend, JSON-ready (session/usage.py)."""
        return await self.host.usage(session)

    async def close(self, session: str, forget: bool = False) -> None:
        """End a session (`forget`: and delete its saved conversation)."""
        await self.host.close(session, forget)

    async def sessions(self) -> list[str]:
        """Hosted session ids."""
        return await self.host.sessions()

    async def notice(self, session: str) -> str | None:
        """A session's line for its user (SessionHost.notice)."""
        return await self.host.notice(session)

    async def devices(self, session: str) -> Any:
        """A session's device actor client, if it drives a screen (SessionHost.devices)."""
        return await self.host.devices(session)


def remote_actor_class() -> Any:
    """OrchestratorActor as a Ray actor class (Ray imported here, not at module import).

    Restarts: a crashed actor process comes back (`max_restarts`) under the same name, empty;
    its clients notice their session is gone (SessionLost) and the next chat reopens it from the
    conversation saved on disk. Tasks are never retried (`max_task_retries=0`): a chat calls the
    model and runs code, and running it twice is not safe. `ray.kill` ends it for good; the next
    `connect` starts a new one.
    """
    import ray

    # Why num_cpus=0: the actor mostly waits on I/O; sessions are asyncio tasks, not CPU reservations.
    options: dict[str, Any] = {"num_cpus": 0, "max_concurrency": 1000, "max_restarts": ORCHESTRATOR_RESTARTS,
                               "max_task_retries": 0}
    return ray.remote(**options)(OrchestratorActor)


#: How often a crashed orchestrator actor is restarted in place (bounded: a crash loop must end).
ORCHESTRATOR_RESTARTS = 3

#: Handles this process holds, by (Ray job, actor name). Ray ends a non-detached actor when the last handle
#: to it goes, so without this every Interpreter closing would take the shared actor (and its warm imports)
#: along. The job id keys out handles of an earlier ray.init in the same process; a handle whose actor died
#: is dropped by the next `connect`.
_HANDLES: dict[tuple[str, str], Any] = {}

_ACTOR = "the orchestrator actor"


def _alive(ray: ModuleType, name: str, handle: Any) -> bool:
    """Whether `name` still names `handle`'s actor (a local lookup, no call to the actor).

    Ray frees a name when its actor dies for good; a restarting actor keeps it.
    """
    try:
        current = ray.get_actor(name)
    except ValueError:
        return False
    return bool(current._actor_id == handle._actor_id)


def connect(settings: Settings, name: str = "lmc-orchestrator", factory: InterpreterFactory | None = None
            ) -> Any:
    """A handle to the named orchestrator actor, started if it is not running yet (kept for this process).

    A cached handle whose actor has died is dropped and a new actor started in its place.
    """
    ray = ensure_ray(settings.ray_address)
    key = (ray.get_runtime_context().get_job_id(), name)
    cached = _HANDLES.get(key)
    if cached is not None and not _alive(ray, name, cached):
        log.warning("%s %r has died; starting a new one", _ACTOR, name)
        del _HANDLES[key]
    if key not in _HANDLES:
        with mapped(f"{_ACTOR} {name!r}", "check that Ray is up (`ray status`) and try again"):
            actor = remote_actor_class().options(name=name, get_if_exists=True)
            _HANDLES[key] = actor.remote(settings, factory or RAY_FACTORY)
    return _HANDLES[key]


#: Gives a live orchestrator actor (e.g. `connect` with the caller's settings and factory).
Reconnect = Callable[[], Any]


class RemoteSession:
    """Client side of one session hosted in an orchestrator actor; same chat API as Interpreter.

    When the actor dies mid-chat the chat raises SessionLost; with `reconnect` the next chat
    reopens the conversation (as saved on disk) in a live actor, without it every later call
    raises SessionLost.
    """

    def __init__(self, actor: Any, session: str, reconnect: Reconnect | None = None) -> None:
        self.actor = actor
        self.id = session
        self.messages: list[Message] = []
        self._reconnect = reconnect
        self._reopen: tuple[Settings | None, SessionParts | None] | None = None
        self.lost = False  #: the hosting actor died; the next chat reopens the session (with reconnect)

    @classmethod
    def open(cls, actor: Any, conversation: str | None = None, settings: Settings | None = None,
             parts: SessionParts | None = None, reconnect: Reconnect | None = None) -> RemoteSession:
        """Open (or resume) a session on the actor, with the caller's parts (check_sendable first)."""
        if parts is not None:
            check_sendable(parts)
        session = cls(actor, "", reconnect)
        session._open(conversation, settings, parts)
        return session

    @classmethod
    def attach(cls, actor: Any, session: str, settings: Settings, reconnect: Reconnect,
               parts: SessionParts | None = None) -> RemoteSession:
        """A session the actor already hosts (opened by another process); reopened from disk (with `parts`)
        if it is lost."""
        attached = cls(actor, session, reconnect)
        attached._reopen = (settings, parts)
        return attached

    @classmethod
    def start(cls, settings: Settings, conversation: str | None = None, parts: SessionParts | None = None,
              factory: InterpreterFactory | None = None) -> RemoteSession:
        """Open a session on this process's orchestrator actor, reconnecting after the actor dies."""
        def reconnect() -> Any:
            return connect(settings, factory=factory)

        return cls.open(reconnect(), conversation, settings, parts, reconnect)

    def ask(self, name: str) -> Any:
        """The actor's answer about this session to one of its questions ("pending", "messages", "usage",
        "devices"), as it sends it; Ray's failures mapped as for every call."""
        return self._call(getattr(self.actor, name), self.id)

    def _call(self, method: Any, *args: Any) -> Any:
        """One call to the actor, Ray's failures mapped; the session is lost when the actor is."""
        import ray

        try:
            with mapped(_ACTOR, self._next_step(), SessionLost):
                return ray.get(method.remote(*args))
        except SessionLost:
            self.lost = True
            raise

    def _next_step(self) -> str:
        if self._reconnect is None:
            return "its sessions are gone; open a new session"
        return ("the chat in progress was lost (the conversation is saved up to here); "
                "the next chat reopens it in a new orchestrator actor")

    def _open(self, conversation: str | None, settings: Settings | None, parts: SessionParts | None) -> None:
        self.id = self._call(self.actor.open, conversation, settings, parts)
        self._reopen = (settings, parts)
        self.messages[:] = [codec.decode_message(b) for b in self._call(self.actor.messages, self.id)]
        self.lost = False

    def _revive(self) -> None:
        """Reopen a lost session (from its saved conversation) in a live actor."""
        if self._reconnect is None or self._reopen is None:
            raise SessionLost(f"{_ACTOR} hosting session {self.id!r} died; its sessions are gone; "
                              "open a new session")
        log.warning("session %s lost its orchestrator actor; reopening it", self.id)
        self.actor = self._reconnect()
        self._open(self.id, *self._reopen)

    def chat(self, message: Message | None, *, decide: Callable[[Message], bool | None]
             ) -> Generator[Chunk, object, None]:
        """Stream a chat; after a confirmation chunk, `decide(code)` (or a sent bool) answers it."""
        if self.lost:  # first: reopening reloads `messages` from the saved conversation
            self._revive()
        assembler = Assembler()
        if message is not None:
            self.messages.append(message)
        for chunk in self.stream(message):
            done = assembler.feed(chunk)
            if done is not None:
                self.messages.append(done)
            sent = yield chunk
            if chunk.type == "confirmation" and isinstance(chunk.content, Message):
                answer = sent if isinstance(sent, bool) else decide(chunk.content)
                self.decide(bool(answer))

    def stream(self, message: Message | None) -> Iterator[Chunk]:
        """The chat's chunks as they come; the chat waits at a confirmation until someone calls `decide`."""
        if self.lost:
            self._revive()
        encoded = codec.encode(message) if message is not None else None
        for data in self._chunks(encoded):
            yield codec.decode_chunk(data)

    def decide(self, run: bool) -> None:
        """Answer the pending confirmation: run the code or not."""
        self._call(self.actor.decide, self.id, run)

    def _chunks(self, encoded: bytes | None) -> Iterator[bytes]:
        """The chat's encoded chunks, Ray's failures mapped.

        A session the actor does not host (it restarted since the last chat, so nothing of this
        chat ran) is reopened once and the chat sent again.
        """
        import ray

        for attempt in (1, 2):
            received = False
            try:
                with mapped(_ACTOR, self._next_step(), SessionLost):
                    for ref in self.actor.chat.remote(self.id, encoded):
                        data = ray.get(ref)
                        received = True
                        yield data
                return
            except SessionLost:
                self.lost = True
                raise
            except SessionNotFound:
                if received or attempt == 2 or self._reconnect is None:
                    raise
                self.lost = True
                self._revive()

    def notice(self) -> str | None:
        """The session's line for its user before it starts (OS mode: how the model sees the screen)."""
        if self.lost:
            self._revive()
        return self._call(self.actor.notice, self.id)  # type: ignore[no-any-return]

    def stop(self) -> None:
        """Stop the session's running work (nothing to stop when its actor is gone)."""
        try:
            self._call(self.actor.stop, self.id)
        except SessionLost as exc:
            log.info("stop: %s", exc)

    def close(self, forget: bool = False) -> None:
        """End the session on the actor, with `forget` deleting its saved conversation (nothing to end when
        its actor is gone)."""
        if self.lost:
            return
        try:
            self._call(self.actor.close, self.id, forget)
        except SessionLost as exc:
            log.info("close: %s", exc)
