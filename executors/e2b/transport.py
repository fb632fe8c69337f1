"""The agent's channel through E2B's process API: requests via `send_stdin`, replies from stdout.

E2B delivers a command's stdout to the SDK as text, so the agent runs with
`--wire base64` (executors/sandbox/wire.py): one base64 line per frame each way.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from typing import Any

from executors.base import Transport
from executors.e2b.errors import map_error
from executors.errors import AgentError
from executors.sandbox.wire import LineDecoder, encode_line
from lmc.errors import LMCError

log = logging.getLogger(__name__)

#: what the reader thread hands to recv(): a payload, the end of output, or why it failed
_Item = bytes | None | BaseException


class CommandTransport(Transport):
    """Frames to and from an agent started as a background E2B command with stdin."""

    def __init__(self, sandbox: Any, handle: Any) -> None:
        self.sandbox = sandbox
        self.handle = handle
        self.pid: int = handle.pid
        self._items: queue.Queue[_Item] = queue.Queue()
        self._decoder = LineDecoder()
        self._stderr: deque[str] = deque(maxlen=20)
        self._exit = "ended unexpectedly"
        self._reader = threading.Thread(target=self._read, name=f"e2b-agent-{self.pid}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        from e2b.sandbox.commands.command_handle import CommandExitException

        try:
            result = self.handle.wait(on_stdout=self._on_stdout, on_stderr=self._on_stderr)
            self._exit = f"exited with status {result.exit_code}"
        except CommandExitException as exc:
            self._exit = f"exited with status {exc.exit_code}" if exc.exit_code >= 0 else "was killed"
        except Exception as exc:  # noqa: BLE001 - every SDK failure is mapped, then re-raised in recv()
            self._items.put(map_error(exc, "reading the agent's output"))
        finally:
            self._items.put(None)

    def _on_stdout(self, text: str) -> None:
        try:
            payloads = self._decoder.feed(text)
        except LMCError as exc:
            self._items.put(AgentError(f"the agent's output is corrupt: {exc}"))
            return
        for payload in payloads:
            self._items.put(payload)

    def _on_stderr(self, text: str) -> None:
        self._stderr.append(text)
        log.debug("e2b agent %s stderr: %s", self.pid, text.rstrip())

    def send(self, payload: bytes) -> None:
        """Write one frame as a base64 line to the agent's stdin."""
        try:
            self.sandbox.commands.send_stdin(self.pid, encode_line(payload))
        except Exception as exc:  # noqa: BLE001 - mapped to our errors right here
            raise map_error(exc, "sending to the agent") from exc

    def recv(self) -> bytes | None:
        """The next frame payload; None when the agent's output ended."""
        item = self._items.get()
        if isinstance(item, BaseException):
            self._items.put(None)  # later calls see the end, not the same failure again
            raise item
        return item

    def describe_exit(self) -> str:
        """How the agent command ended, with the last lines it wrote to stderr."""
        self._reader.join(timeout=5)
        tail = "".join(self._stderr).strip()
        return f"{self._exit}; its stderr ended with: {tail[-500:]}" if tail else self._exit

    def outside_cause(self, since: float) -> str | None:
        """None while the E2B sandbox still runs: the code in it ended its agent."""
        try:
            running = bool(self.sandbox.is_running())
        except Exception as exc:  # noqa: BLE001 - any SDK failure means the sandbox cannot be vouched for
            return f"the e2b sandbox could not be reached ({map_error(exc, 'checking the sandbox')})"
        return None if running else "the e2b sandbox is gone"

    def abort(self) -> None:
        """End a blocked recv now (whether or not E2B answers), then kill the agent."""
        self._items.put(None)
        self.close()

    def close(self) -> None:
        """Give the agent a moment to exit on its own (it frees its languages), then kill it."""
        self._reader.join(timeout=2)
        if not self._reader.is_alive():
            return
        try:
            self.sandbox.commands.kill(self.pid)
        except Exception as exc:  # noqa: BLE001 - a dead sandbox has nothing left to kill
            log.debug("killing e2b agent %s: %s", self.pid, map_error(exc, "killing the agent"))
        self._reader.join(timeout=5)
