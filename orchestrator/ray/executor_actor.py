"""The executor actor: one Ray actor per node owns that node's sandboxes.

`SandboxHost` holds the logic and runs without Ray: it opens sandboxes (any
backend), runs code in them and relays `computer.*` calls made by that code back
to whoever streams the run. `ExecutorActor` only places it (a threaded actor, so
one run blocked on its sandbox never holds up another). `RayExecutor` is the
client side: an `Executor` whose sandbox lives in an executor actor, so a
`Computer` works the same whether its sandbox is local or on another node.

A run streams agent-protocol messages (executors/sandbox/protocol.py), encoded:
`ChunkReply` (a chunk of the run), `CallRequest` (code called computer.<path>;
answer with reply(), a `CallReply`) and `ErrorReply` (the run failed; the error
is raised again on the client as its own class).

Actor death, both ways. A sandbox opened from inside an actor (an orchestrator actor's
session) is owned by that actor: the executor actor asks each owner every `REAP_INTERVAL`
seconds whether it is still the same live process, and when it is not (killed, crashed,
restarted) stops the sandbox's run and closes the sandbox. When the executor actor dies, the
client's run raises ExecutorActorLost and its next run opens a fresh sandbox in a new executor
actor.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from executors import create, relay
from executors.base import Executor, LanguageInfo
from executors.errors import ExecutorError, from_wire, to_wire
from executors.sandbox.languages.base import RunLimits
from executors.sandbox.protocol import (
    AgentMessage,
    CallReply,
    CallRequest,
    ChunkReply,
    ErrorReply,
    decode,
    encode,
)
from lmc.codec import message_from_dict
from lmc.errors import LMCError
from lmc.messages import Chunk
from orchestrator.ray.errors import ExecutorActorLost, mapped

log = logging.getLogger(__name__)

#: seconds a relayed computer.* call may wait for the client's answer
REPLY_TIMEOUT = 300.0
#: seconds between two checks that the owners of this actor's sandboxes still live
REAP_INTERVAL = 2.0
#: seconds an owner may take to answer that check; a busy owner is asked again, never reaped for it
OWNER_TIMEOUT = 30.0


class UnknownSandbox(ExecutorError, KeyError):
    """No sandbox with that id is open in this executor actor."""


class RemoteCallError(LMCError):
    """A computer.* call failed on the client's side; the message is the client's."""


class _Relay:
    """Computer.* calls of one sandbox: out to the run's stream, answers back from reply()."""

    def __init__(self) -> None:
        self.out: queue.Queue[AgentMessage | None] | None = None
        self.waiting: dict[int, queue.Queue[CallReply]] = {}
        self.ids = itertools.count(1)

    def __call__(self, path: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        out = self.out
        if out is None:
            raise RemoteCallError(f"computer.{path} was called outside a run")
        cid = next(self.ids)
        answer: queue.Queue[CallReply] = queue.Queue(1)
        self.waiting[cid] = answer
        out.put(CallRequest(0, cid, path, args, kwargs))
        try:
            reply = answer.get(timeout=REPLY_TIMEOUT)
        except queue.Empty:
            raise RemoteCallError(f"no answer to computer.{path} within {REPLY_TIMEOUT:g} s") from None
        finally:
            self.waiting.pop(cid, None)
        if reply.error is not None:
            raise RemoteCallError(reply.error.message)
        result = reply.result
        if isinstance(result, dict) and "role" in result and "type" in result:
            return message_from_dict(result)
        return result


class Owner(Protocol):
    """Whoever opened a sandbox; the sandbox lives only as long as it does."""

    key: str  #: one owner, however many sandboxes it holds (asked once per round)

    def alive(self) -> bool | None:
        """True: still there; False: gone for good; None: cannot tell now (ask again later)."""


def _worker_of(_actor: object) -> str:
    """Run in an owner actor: the id of its current worker process (a restart changes it)."""
    import ray

    return str(ray.get_runtime_context().get_worker_id())


@dataclass(frozen=True)
class ActorOwner:
    """An actor that owns sandboxes, as one incarnation: a restarted actor is a new owner."""

    handle: Any  #: the actor's handle
    worker: str  #: its worker id when it opened the sandbox
    key: str  #: its actor id

    def alive(self) -> bool | None:
        """Ask the actor which worker it runs in: dead or another worker means gone."""
        import ray
        from ray.exceptions import ActorDiedError, RayError

        try:
            worker = ray.get(self.handle.__ray_call__.remote(_worker_of), timeout=OWNER_TIMEOUT)
        except ActorDiedError:
            return False
        except RayError:  # restarting, unreachable for now or slow: no verdict yet
            return None
        return bool(worker == self.worker)


def owner_of(handle: Any) -> ActorOwner:
    """Another actor, as it runs now, as the owner of sandboxes (they close when it dies or restarts)."""
    import ray

    with mapped("the owning actor", "check that Ray is up (`ray status`) and try again"):
        worker = ray.get(handle.__ray_call__.remote(_worker_of), timeout=OWNER_TIMEOUT)
    return ActorOwner(handle, worker, handle._actor_id.hex())


def this_owner() -> ActorOwner | None:
    """The actor this code runs in, as the owner of the sandboxes it opens (None in a driver)."""
    import ray

    ctx = ray.get_runtime_context()
    actor = ctx.get_actor_id()
    if actor is None:
        return None
    return ActorOwner(ctx.current_actor, ctx.get_worker_id(), actor)


def _files(executor: Executor) -> Any:
    """The executor's file transfer; the Computer's error when its backend has none."""
    from orchestrator.computer import Computer

    return Computer(executor).files


class SandboxHost:
    """The sandboxes of one node, by id, each closed with its owner (see `reap`)."""

    def __init__(self) -> None:
        self.sandboxes: dict[str, tuple[Executor, _Relay]] = {}
        self.owners: dict[str, Owner] = {}
        self.ids = itertools.count(1)
        self.lock = threading.Lock()

    def _get(self, sid: str) -> tuple[Executor, _Relay]:
        try:
            return self.sandboxes[sid]
        except KeyError:
            raise UnknownSandbox(f"no sandbox {sid!r} in this executor actor; open one first") from None

    def open(self, backend: str = "local", config: Any = None, owner: Owner | None = None) -> str:
        """Create a sandbox of a backend (started lazily, on its first run), closed when `owner` is gone."""
        executor = create(backend, config)
        calls = _Relay()
        executor.call_handler = calls
        with self.lock:
            sid = f"{backend}-{next(self.ids)}"
            self.sandboxes[sid] = (executor, calls)
            if owner is not None:
                self.owners[sid] = owner
        return sid

    def languages(self, sid: str) -> list[tuple[str, tuple[str, ...]]]:
        """(name, aliases) of the sandbox's languages."""
        return [(info.name, info.aliases) for info in self._get(sid)[0].languages()]

    def run(self, sid: str, language: str, code: str, limits: RunLimits | None = None) -> Iterator[bytes]:
        """Stream a run as msgpack items (see the module doc)."""
        executor, calls = self._get(sid)
        items: queue.Queue[AgentMessage | None] = queue.Queue()
        calls.out = items

        def pump() -> None:
            try:
                for chunk in executor.run(language, code, limits):
                    items.put(ChunkReply(0, chunk))
            except LMCError as exc:
                items.put(ErrorReply(0, to_wire(exc)))
            except Exception as exc:  # a bug or an OS failure: the client must hear of it, not see a silent end
                log.exception("run in sandbox %s failed", sid)
                items.put(ErrorReply(0, to_wire(exc)))
            finally:
                items.put(None)

        threading.Thread(target=pump, name=f"run-{sid}", daemon=True).start()
        try:
            while (item := items.get()) is not None:
                yield encode(item)
        finally:
            calls.out = None

    def reply(self, sid: str, payload: bytes) -> None:
        """The client's answer to a relayed computer.* call: an encoded CallReply."""
        answer = decode(payload)
        if not isinstance(answer, CallReply):
            raise ExecutorError(f"reply() takes an encoded CallReply; got a {answer.op!r} message")
        waiter = self._get(sid)[1].waiting.get(answer.cid)
        if waiter is not None:
            waiter.put(answer)

    def read_file(self, sid: str, path: str) -> bytes:
        """A file of the sandbox (backends with file transfer)."""
        return bytes(_files(self._get(sid)[0]).read(path))

    def write_file(self, sid: str, path: str, content: bytes) -> str:
        """Write a file into the sandbox; the path written (backends with file transfer)."""
        return str(_files(self._get(sid)[0]).write(path, content))

    def stop(self, sid: str) -> None:
        """Interrupt the sandbox's running code."""
        self._get(sid)[0].stop()

    def close(self, sid: str) -> None:
        """Free a sandbox."""
        with self.lock:
            executor, _ = self.sandboxes.pop(sid, (None, None))
            self.owners.pop(sid, None)
        if executor is not None:
            executor.close()

    def count(self) -> int:
        """How many sandboxes are open."""
        return len(self.sandboxes)

    def reap(self) -> list[str]:
        """Stop and close every sandbox whose owner is gone (each owner asked once); their ids."""
        with self.lock:
            owned = list(self.owners.items())
        verdicts: dict[str, bool | None] = {}
        gone = []
        for sid, owner in owned:
            if owner.key not in verdicts:
                verdicts[owner.key] = owner.alive()
            if verdicts[owner.key] is False:
                gone.append(sid)
        for sid in gone:
            log.warning("the owner of sandbox %s is gone: stopping its run and closing it", sid)
            with self.lock:
                held = self.sandboxes.get(sid)
            if held is not None:
                held[0].stop()
            self.close(sid)
        return gone


class ExecutorActor(SandboxHost):
    """Ray shell of SandboxHost (threaded: every call runs in a thread of its own), reaping every few seconds.

    Detached (it outlives the job that started it: it is the node's) and never restarted by Ray
    (no `max_restarts`): a restarted actor would come back without the sandboxes its clients
    hold, so they would fail anyway; instead a client that finds it dead raises ExecutorActorLost
    once and its next run makes a new actor (by name) and a fresh sandbox. No task is retried
    (`max_task_retries=0`): a run is not idempotent.
    """

    def __init__(self) -> None:
        super().__init__()
        self._closing = threading.Event()
        threading.Thread(target=self._reap_forever, name="reap-owners", daemon=True).start()

    def _reap_forever(self) -> None:
        while not self._closing.wait(REAP_INTERVAL):
            try:
                self.reap()
            except Exception:  # a failed round must not end the reaping
                log.exception("checking the sandboxes' owners failed")


def executor_actor(node_id: str | None = None) -> Any:
    """The executor actor of a node (this one by default), created on first use."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    node = node_id or ray.get_runtime_context().get_node_id()
    cls = ray.remote(ExecutorActor)
    return cls.options(
        name=f"lmc-executor-{node[:12]}",
        namespace="lmc",
        get_if_exists=True,
        lifetime="detached",
        max_restarts=0,  # see ExecutorActor's doc
        num_cpus=0,
        max_concurrency=1000,
        scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False),
    ).remote()


#: what a client is told when its executor actor died
_LOST = ("the sandbox and its state (variables, files) are gone; the next run starts a new executor "
         "actor and a fresh sandbox")


class RayExecutor(Executor):
    """An executor whose sandbox lives in an executor actor (a new actor and sandbox after it dies)."""

    def __init__(self, backend: str = "local", config: Any = None, actor: Any = None, *,
                 sid: str | None = None, owner: ActorOwner | None = None) -> None:
        """A new sandbox, owned by `owner` (default: the actor this runs in, if any); or with `sid`, the
        sandbox of that id already open in `actor` (e.g. by another process)."""
        import ray

        self.backend, self.config = backend, config
        self._ray = ray
        self.actor = actor if actor is not None else executor_actor()
        self._owner = owner if owner is not None else this_owner()
        self.sid: str | None = sid
        if sid is None:
            self._open()

    def _open(self) -> str:
        with self._mapped():
            self.sid = self._ray.get(self.actor.open.remote(self.backend, self.config, self._owner))
        assert self.sid is not None
        return self.sid

    def _live(self) -> str:
        """The sandbox's id; after the executor actor died, a fresh sandbox in a new one."""
        if self.sid is not None:
            return self.sid
        log.warning("the executor actor was lost; opening a fresh %s sandbox in a new one", self.backend)
        self.actor = executor_actor()
        return self._open()

    @contextmanager
    def _mapped(self) -> Iterator[None]:
        """Ray's failures as lmc errors; the actor gone means the sandbox is too (`_live` makes new ones)."""
        try:
            with mapped("the executor actor", _LOST, ExecutorActorLost):
                yield
        except ExecutorActorLost:
            self.sid = None
            raise

    def _wait(self, ref: Any) -> Any:
        """The result of an actor call; an error of ours raised in the actor comes back as its own class."""
        with self._mapped():
            return self._ray.get(ref)

    def languages(self) -> list[LanguageInfo]:
        """The sandbox's languages."""
        pairs = self._wait(self.actor.languages.remote(self._live()))
        return [LanguageInfo(name, tuple(aliases)) for name, aliases in pairs]

    def run(self, language: str, code: str, limits: RunLimits | None = None) -> Iterator[Chunk]:
        """Stream the run's chunks, answering computer.* calls with this side's call_handler."""
        sid = self._live()
        with self._mapped():
            for ref in self.actor.run.remote(sid, language, code, limits):
                item = decode(self._ray.get(ref))
                if isinstance(item, ChunkReply):
                    yield item.chunk
                elif isinstance(item, CallRequest):
                    answer, image = relay.answer(self.call_handler, item)
                    self.actor.reply.remote(sid, encode(answer))
                    if image is not None:
                        yield image
                elif isinstance(item, ErrorReply):
                    raise from_wire(item.error)

    @property
    def files(self) -> _ActorFiles:
        """The sandbox's files, read and written through the actor (backends with file transfer)."""
        return _ActorFiles(self)

    def stop(self) -> None:
        """Interrupt the running code."""
        if self.sid is not None:
            self.actor.stop.remote(self.sid)

    def close(self) -> None:
        """Free the sandbox in the actor (nothing to free when the actor is gone)."""
        if self.sid is None:
            return
        try:
            self._wait(self.actor.close.remote(self.sid))
        except ExecutorActorLost as exc:
            log.info("close: %s", exc)


class _ActorFiles:
    """A RayExecutor's file transfer: whole files in and out through its executor actor."""

    def __init__(self, executor: RayExecutor) -> None:
        self._executor = executor

    def read(self, path: str) -> bytes:
        """The bytes of a file of the sandbox."""
        ex = self._executor
        return bytes(ex._wait(ex.actor.read_file.remote(ex._live(), path)))

    def write(self, path: str, content: bytes) -> str:
        """Write a file into the sandbox; the path written."""
        ex = self._executor
        return str(ex._wait(ex.actor.write_file.remote(ex._live(), path, content)))
