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
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Iterator
from typing import Any

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

log = logging.getLogger(__name__)

#: seconds a relayed computer.* call may wait for the client's answer
REPLY_TIMEOUT = 300.0


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


class SandboxHost:
    """The sandboxes of one node, by id."""

    def __init__(self) -> None:
        self.sandboxes: dict[str, tuple[Executor, _Relay]] = {}
        self.ids = itertools.count(1)
        self.lock = threading.Lock()

    def _get(self, sid: str) -> tuple[Executor, _Relay]:
        try:
            return self.sandboxes[sid]
        except KeyError:
            raise UnknownSandbox(f"no sandbox {sid!r} in this executor actor; open one first") from None

    def open(self, backend: str = "local", config: Any = None) -> str:
        """Create a sandbox of a backend (started lazily, on its first run); its id."""
        executor = create(backend, config)
        calls = _Relay()
        executor.call_handler = calls
        with self.lock:
            sid = f"{backend}-{next(self.ids)}"
            self.sandboxes[sid] = (executor, calls)
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

    def stop(self, sid: str) -> None:
        """Interrupt the sandbox's running code."""
        self._get(sid)[0].stop()

    def close(self, sid: str) -> None:
        """Free a sandbox."""
        with self.lock:
            executor, _ = self.sandboxes.pop(sid, (None, None))
        if executor is not None:
            executor.close()

    def count(self) -> int:
        """How many sandboxes are open."""
        return len(self.sandboxes)


class ExecutorActor(SandboxHost):
    """Ray shell of SandboxHost (threaded: every call runs in a thread of its own)."""


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
        num_cpus=0,
        max_concurrency=1000,
        scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False),
    ).remote()


class RayExecutor(Executor):
    """An executor whose sandbox lives in an executor actor."""

    def __init__(self, backend: str = "local", config: Any = None, actor: Any = None) -> None:
        import ray

        self.backend = backend
        self.actor = actor if actor is not None else executor_actor()
        self._ray = ray
        self.sid: str = self._wait(self.actor.open.remote(backend, config))

    def _wait(self, ref: Any) -> Any:
        """The result of an actor call; an error of ours raised in the actor comes back as its own class."""
        try:
            return self._ray.get(ref)
        except self._ray.exceptions.RayTaskError as exc:
            if isinstance(exc.cause, LMCError):  # Ray wraps it; the caller wants the error itself
                raise from_wire(to_wire(exc.cause)) from None
            raise

    def languages(self) -> list[LanguageInfo]:
        """The sandbox's languages."""
        pairs = self._wait(self.actor.languages.remote(self.sid))
        return [LanguageInfo(name, tuple(aliases)) for name, aliases in pairs]

    def run(self, language: str, code: str, limits: RunLimits | None = None) -> Iterator[Chunk]:
        """Stream the run's chunks, answering computer.* calls with this side's call_handler."""
        for ref in self.actor.run.remote(self.sid, language, code, limits):
            item = decode(self._wait(ref))
            if isinstance(item, ChunkReply):
                yield item.chunk
            elif isinstance(item, CallRequest):
                answer, image = relay.answer(self.call_handler, item)
                self.actor.reply.remote(self.sid, encode(answer))
                if image is not None:
                    yield image
            elif isinstance(item, ErrorReply):
                raise from_wire(item.error)

    def stop(self) -> None:
        """Interrupt the running code."""
        self.actor.stop.remote(self.sid)

    def close(self) -> None:
        """Free the sandbox in the actor."""
        self._wait(self.actor.close.remote(self.sid))

