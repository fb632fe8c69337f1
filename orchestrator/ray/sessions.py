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
from collections.abc import AsyncIterator, Callable, Generator
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from lmc import codec
from lmc.assembly import Assembler
from lmc.messages import Chunk, Message
from orchestrator.errors import SessionBusy, SessionNotFound, SettingsError
from orchestrator.models.base import Model
from orchestrator.ray.cluster import ensure_ray
from orchestrator.settings import Settings

log = logging.getLogger(__name__)

_DONE = object()


@dataclass(frozen=True)
class SessionParts:
    """What a caller gave its Interpreter; the hosted session uses them instead of making its own."""

    computer: Any = None  #: a Computer, or None for one made from the settings
    model: Model | None = None  #: a Model, or None for the one the settings name


class HostedSession(Protocol):
    """What a SessionHost needs of a session (the Interpreter is one)."""

    id: str
    messages: list[Message]

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
        loop = asyncio.get_running_loop()
        out: asyncio.Queue[object] = asyncio.Queue()

        def pump() -> None:
            try:
                for chunk in interpreter.chat(message, stream=True, approve=lambda _code: decisions.get()):
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

    async def decide(self, session: str, run: bool) -> None:
        """Answer the pending confirmation of a session: run the code or not."""
        self._get(session)
        self._decisions[session].put(run)

    async def stop(self, session: str) -> None:
        """Stop the running code or generation of a session."""
        self._get(session).stop()
        self._decisions[session].put(False)  # a chat waiting on a confirmation must not hang

    async def messages(self, session: str) -> list[Message]:
        """The transcript of a session."""
        return list(self._get(session).messages)

    async def close(self, session: str) -> None:
        """End a session and free what it holds."""
        interpreter = self._get(session)
        del self._sessions[session], self._decisions[session]
        await asyncio.to_thread(interpreter.close)

    async def sessions(self) -> list[str]:
        """Ids of the hosted sessions."""
        return sorted(self._sessions)


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

    async def close(self, session: str) -> None:
        """End a session."""
        await self.host.close(session)

    async def sessions(self) -> list[str]:
        """Hosted session ids."""
        return await self.host.sessions()


def remote_actor_class() -> Any:
    """OrchestratorActor as a Ray actor class (Ray imported here, not at module import)."""
    import ray

    # Why num_cpus=0: the actor mostly waits on I/O; sessions are asyncio tasks, not CPU reservations.
    options: dict[str, Any] = {"num_cpus": 0, "max_concurrency": 1000}
    return ray.remote(**options)(OrchestratorActor)


#: Handles this process holds, by (Ray job, actor name). Ray ends a non-detached actor when the last handle
#: to it goes, so without this every Interpreter closing would take the shared actor (and its warm imports)
#: along. The job id keys out handles of an earlier ray.init in the same process.
_HANDLES: dict[tuple[str, str], Any] = {}


def connect(settings: Settings, name: str = "lmc-orchestrator", factory: InterpreterFactory | None = None
            ) -> Any:
    """A handle to the named orchestrator actor, started if it is not running yet (kept for this process)."""
    ray = ensure_ray(settings.ray_address)
    key = (ray.get_runtime_context().get_job_id(), name)
    if key not in _HANDLES:
        actor = remote_actor_class().options(name=name, get_if_exists=True)
        _HANDLES[key] = actor.remote(settings, factory or RAY_FACTORY)
    return _HANDLES[key]


class RemoteSession:
    """Client side of one session hosted in an orchestrator actor; same chat API as Interpreter."""

    def __init__(self, actor: Any, session: str) -> None:
        self.actor = actor
        self.id = session
        self.messages: list[Message] = []

    @classmethod
    def open(cls, actor: Any, conversation: str | None = None, settings: Settings | None = None,
             parts: SessionParts | None = None) -> RemoteSession:
        """Open (or resume) a session on the actor, with the caller's parts (check_sendable first)."""
        import ray

        if parts is not None:
            check_sendable(parts)
        session = cls(actor, ray.get(actor.open.remote(conversation, settings, parts)))
        session.messages = [codec.decode_message(b) for b in ray.get(actor.messages.remote(session.id))]
        return session

    def chat(self, message: Message | None, *, decide: Callable[[Message], bool | None]
             ) -> Generator[Chunk, object, None]:
        """Stream a chat; after a confirmation chunk, `decide(code)` (or a sent bool) answers it."""
        import ray

        assembler = Assembler()
        if message is not None:
            self.messages.append(message)
        encoded = codec.encode(message) if message is not None else None
        for ref in self.actor.chat.remote(self.id, encoded):
            chunk = codec.decode_chunk(ray.get(ref))
            done = assembler.feed(chunk)
            if done is not None:
                self.messages.append(done)
            sent = yield chunk
            if chunk.type == "confirmation" and isinstance(chunk.content, Message):
                answer = sent if isinstance(sent, bool) else decide(chunk.content)
                ray.get(self.actor.decide.remote(self.id, bool(answer)))

    def stop(self) -> None:
        """Stop the session's running work."""
        import ray

        ray.get(self.actor.stop.remote(self.id))

    def close(self) -> None:
        """End the session on the actor."""
        import ray

        ray.get(self.actor.close.remote(self.id))
