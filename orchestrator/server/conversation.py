"""One conversation served to remote clients: an Interpreter whose approvals come from other requests.

`Chat` is what the routes need of one; `Conversation` hosts it in this process, and
`orchestrator.server.cluster.RayConversation` in the cluster's serve orchestrator actor.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, Protocol

from lmc.messages import Chunk, Message
from orchestrator.server.errors import NothingPending
from orchestrator.session.interpreter import Interpreter
from orchestrator.settings import Settings

#: what `decide` says when no code waits
NOTHING_PENDING = ("no code is waiting for a decision; approve or decline after a "
                   "'confirmation' chunk (conversations created with auto_run false)")


class Chat(Protocol):
    """A served conversation, wherever it runs."""

    @property
    def id(self) -> str:
        """The conversation id."""

    @property
    def settings(self) -> Settings:
        """Its settings (model, sandbox, budgets)."""

    @property
    def pending(self) -> Message | None:
        """The code waiting for approve/decline, if any."""

    @property
    def messages(self) -> list[Message]:
        """The transcript so far (a copy)."""

    @property
    def usage(self) -> dict[str, Any] | None:
        """Interpreter.usage as JSON (session/usage.py), None where the host does not count it."""

    def begin(self) -> None:
        """A chat was just claimed (it will run): a `stop` from now on stops it, even before it starts."""

    def chat(self, text: str) -> Iterator[Chunk]:
        """The chunks of one chat; it waits at a confirmation for `decide` or `stop`."""

    def decide(self, approve: bool) -> None:
        """Run or skip the pending code; NothingPending if none waits."""

    def stop(self) -> None:
        """Stop the chat."""

    def close(self, forget: bool = False) -> None:
        """Free what it holds; with `forget`, delete its saved transcript too."""


class Conversation:
    """An Interpreter whose chat runs on a thread and waits, at each confirmation, for `decide` or `stop`."""

    def __init__(self, interpreter: Interpreter) -> None:
        self.interpreter = interpreter
        #: the code waiting for approve/decline, if any
        self.pending: Message | None = None
        self.id = interpreter.id
        self.settings = interpreter.settings
        self._decided = threading.Event()
        self._decision = False
        self._stopping = False
        self._lock = threading.Lock()

    def begin(self) -> None:
        """A chat was just claimed: forget the stop of an earlier one (a stop from now on counts)."""
        with self._lock:
            self._stopping = False

    def chat(self, text: str) -> Iterator[Chunk]:
        """The chunks of one chat; blocks after a confirmation until it is decided or stopped.

        A stop that came after `begin` and before this call ends the chat before the model is asked
        (the message is kept, and the chat ends with a `stopped` status): the interpreter forgets
        earlier stops when its chat is made, so that is done under the lock `stop` takes, the stop
        is passed on, and a stop after it reaches the interpreter itself."""
        with self._lock:
            chunks = self.interpreter.chat(text, stream=True)
            if self._stopping:
                self.interpreter.stop()
        return self._relay(chunks)

    def _relay(self, chunks: Iterator[Chunk]) -> Iterator[Chunk]:
        for chunk in chunks:
            code = chunk.content if chunk.type == "confirmation" and chunk.end else None
            if isinstance(code, Message):
                with self._lock:  # pending before the client can see the confirmation and answer it
                    self._decided.clear()
                    self._decision = False
                    self.pending = code
                    if self._stopping:
                        self._decided.set()
            yield chunk
            if isinstance(code, Message):
                self._decided.wait()
                with self._lock:
                    self.pending = None
                    approve = self._decision and not self._stopping
                (self.interpreter.approve if approve else self.interpreter.decline)()

    def decide(self, approve: bool) -> None:
        """Run (True) or skip (False) the pending code; NothingPending if none waits."""
        with self._lock:
            if self.pending is None or self._decided.is_set():
                raise NothingPending(NOTHING_PENDING)
            self._decision = approve
            self._decided.set()

    def stop(self) -> None:
        """Stop the chat: decline the pending code, interrupt the running code or the model."""
        with self._lock:
            self._stopping = True
            self._decided.set()
        self.interpreter.stop()

    @property
    def messages(self) -> list[Message]:
        """The transcript so far (a copy)."""
        return list(self.interpreter.messages)

    @property
    def usage(self) -> dict[str, Any] | None:
        """What the interpreter has spent against its budgets, JSON-ready."""
        return self.interpreter.usage.to_dict()

    def close(self, forget: bool = False) -> None:
        """Stop and free the interpreter's sandbox and model server; with `forget`, delete its transcript."""
        self.stop()
        self.interpreter.close()
        if forget:
            self.interpreter.store.delete(self.id)
