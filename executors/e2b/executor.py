"""The E2B backend: the agent runs inside an E2B cloud sandbox, driven by the real e2b SDK.

The in-sandbox agent is uploaded into the sandbox and started as a background
command with stdin (`--wire base64`, see executors/e2b/transport.py), so every
language and `computer.*` behave as in the local and Docker backends. Languages
listed in `E2BConfig.interpreter_languages` go to E2B's own code interpreter
instead (see executors/e2b/interpreter.py for when that is the better choice).

Lifecycle: the sandbox is created on first use, its timeout is extended while
it is in use (so an idle one expires on its own and stops costing), it is
killed on close, `E2BConfig(sandbox_id=...)` reconnects to a live one, and a
sandbox lost mid-run becomes a `sandbox` error chunk and a new one next run.
The SDK is imported only here, when a sandbox is first needed (extra `e2b`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from typing import Any, TypeVar

from executors.base import LanguageInfo, Transport
from executors.blocks import OpenBlock
from executors.channel import AgentExecutor
from executors.e2b.bundle import bundle
from executors.e2b.config import E2BConfig as E2BConfig
from executors.e2b.errors import (
    E2BAuthError,
    E2BKeyMissing,
    E2BNetworkError,
    E2BSandboxLost,
    map_error,
)
from executors.e2b.keepalive import KeepAlive
from executors.e2b.transport import CommandTransport
from executors.errors import SandboxError
from executors.sandbox.languages.base import RunLimits, error_chunk
from lmc.errors import LMCError
from lmc.messages import Chunk

log = logging.getLogger(__name__)

T = TypeVar("T")
BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from executors.sandbox.agent import main; main()"




class E2BExecutor(AgentExecutor):
    """Runs code in an E2B sandbox through the in-sandbox agent."""

    backend = "e2b"

    def __init__(self, config: E2BConfig | None = None) -> None:
        super().__init__(self.connect)
        self.config = config or E2BConfig()
        # the SDK reads the same variable; checking here turns a late 401 into an early, clear error
        if not (self.config.api_key or os.environ.get("E2B_API_KEY")):
            raise E2BKeyMissing()
        self._sandbox: Any = None
        self._sandbox_id = self.config.sandbox_id
        self._keepalive: KeepAlive | None = None
        self._stop_event = threading.Event()  # stop() for runs on E2B's code interpreter

    @property
    def sandbox_id(self) -> str | None:
        """Id of the current sandbox (None before first use); give it to E2BConfig.sandbox_id to reconnect."""
        return self._sandbox_id

    # -- the sandbox ---------------------------------------------------------------
    def _options(self) -> dict[str, Any]:
        given = {"api_key": self.config.api_key, "domain": self.config.domain, "api_url": self.config.api_url,
                 "sandbox_url": self.config.sandbox_url, "request_timeout": self.config.request_timeout}
        return {k: v for k, v in given.items() if v is not None}

    def _retrying(self, action: Callable[[], T], doing: str) -> T:
        """Run a call to E2B, retrying network failures with exponential backoff."""
        for attempt in range(self.config.retries + 1):
            try:
                return action()
            except Exception as exc:  # noqa: BLE001 - every SDK failure is mapped here, then judged
                error = map_error(exc, doing)
                if not isinstance(error, E2BNetworkError) or attempt == self.config.retries:
                    raise error from exc
                delay = self.config.backoff * 2**attempt
                log.warning("%s failed (%s); retry %d in %.1f s", doing, exc, attempt + 1, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def sandbox(self) -> Any:
        """The live SDK sandbox, created (or reconnected) on first use."""
        if self._sandbox is None:
            from e2b_code_interpreter import Sandbox

            config, options = self.config, self._options()
            if self._sandbox_id is not None:
                sandbox_id = self._sandbox_id
                sandbox = self._retrying(
                    lambda: Sandbox.connect(sandbox_id, timeout=config.timeout, **options),
                    f"reconnecting to E2B sandbox {sandbox_id}",
                )
            else:
                key = str(uuid.uuid4())  # the same key on every retry: E2B creates one sandbox, not several
                sandbox = self._retrying(lambda: Sandbox.create(
                    template=config.template, timeout=config.timeout, metadata=dict(config.metadata),
                    envs=dict(config.envs), allow_internet_access=config.internet, idempotency_key=key,
                    **options), "creating an E2B sandbox")
            self._sandbox, self._sandbox_id = sandbox, sandbox.sandbox_id
            log.info("e2b sandbox %s ready", sandbox.sandbox_id)
            self._keepalive = KeepAlive(self._extend, max(self.config.timeout / 3, 1.0))
        return self._sandbox

    def _extend(self) -> None:
        sandbox = self._sandbox
        if sandbox is not None:
            timeout = self.config.timeout
            self._retrying(lambda: sandbox.set_timeout(timeout), "extending the E2B sandbox timeout")

    def connect(self) -> Transport:
        """Upload the agent into the sandbox and start it as a background command."""
        try:
            return self._start_agent(self.sandbox())
        except E2BSandboxLost:
            self._forget_sandbox()  # reported by this run; the next one creates a new sandbox
            raise

    def _start_agent(self, sandbox: Any) -> Transport:
        files = [{"path": f"{self.config.workdir}/{path}", "data": data}
                 for path, data in bundle(self.config.upload, self.config.plugins)]
        self._retrying(lambda: sandbox.files.write_files(files), "uploading the agent to the E2B sandbox")
        command = (f"exec {shlex.quote(self.config.python)} -c {shlex.quote(BOOT)} "
                   f"\"$HOME\"/{shlex.quote(self.config.workdir)} --wire base64")
        handle = self._retrying(lambda: sandbox.commands.run(command, background=True, stdin=True, timeout=0),
                                "starting the agent in the E2B sandbox")
        return CommandTransport(sandbox, handle)

    def _forget_sandbox(self) -> None:
        """The sandbox is gone: drop the agent channel; the next run creates a new sandbox."""
        self.client.drop()
        if self._keepalive is not None:
            self._keepalive.stop()
        self._sandbox = self._sandbox_id = self._keepalive = None

    # -- the interface -------------------------------------------------------------
    def run(self, language: str, code: str, limits: RunLimits | None = None) -> Iterator[Chunk]:
        """Stream a run; a lost sandbox becomes a `sandbox` error chunk, an E2B refusal too."""
        try:
            self.sandbox()
        except E2BAuthError:
            raise  # the caller's key is wrong: nothing the model can do about it
        except SandboxError as exc:
            yield error_chunk("sandbox", f"cannot start the e2b sandbox: {exc}")
            return
        assert self._keepalive is not None
        running = self._sandbox_id  # connect() forgets a lost sandbox before run() hears of it
        block, stream = OpenBlock(), self._stream(language, code, limits)
        with self._keepalive.busy(), contextlib.closing(stream):  # closing: an abandoned run stops its code
            try:
                yield from block.watch(stream)
            except E2BSandboxLost as exc:
                log.warning("e2b sandbox %s lost: %s", running, exc)
                self._forget_sandbox()
                yield from block.close()
                # one message whatever the phase (agent upload, start, greeting, mid-run): the cause is in exc
                yield error_chunk("sandbox", f"E2B sandbox {running} lost: all state was lost and the next run "
                                             f"gets a new sandbox ({exc})")

    def _stream(self, language: str, code: str, limits: RunLimits | None) -> Generator[Chunk, None, None]:
        if language not in self.config.interpreter_languages:
            try:  # start the agent here, so a sandbox lost while it starts reaches run() as one lost mid-run
                with self.client.lock:
                    self.client.ensure()
            except E2BSandboxLost:
                raise
            except LMCError as exc:
                yield error_chunk("sandbox", f"cannot start the e2b sandbox: {exc}")
                return
            yield from self.client.run(language, code, limits)  # yield from: close() reaches the client
            return
        from executors.e2b.interpreter import run_code

        self._stop_event.clear()
        yield from run_code(self._sandbox, language, code, limits or RunLimits(), self._stop_event)

    def languages(self) -> list[LanguageInfo]:
        """The agent's languages, plus those served by E2B's code interpreter."""
        routed = self.config.interpreter_languages
        agent = [info for info in self.client.languages() if info.name not in routed]
        return agent + [LanguageInfo(name) for name in routed]

    def stop(self) -> None:
        """Interrupt the current run (safe from any thread)."""
        self._stop_event.set()
        try:
            self.client.stop()
        except SandboxError as exc:
            log.info("stop: %s", exc)  # the run itself reports a lost sandbox

    def detach(self) -> str | None:
        """Stop the agent but leave the sandbox running; returns its id for E2BConfig(sandbox_id=...)."""
        sandbox_id = self._sandbox_id
        self.client.close()
        if self._keepalive is not None:
            self._keepalive.stop()
        self._sandbox = self._keepalive = None
        return sandbox_id

    def close(self) -> None:
        """Stop the agent and kill the sandbox."""
        sandbox = self._sandbox
        try:
            self.client.close()
        except SandboxError as exc:
            log.info("closing the agent: %s", exc)
        if self._keepalive is not None:
            self._keepalive.stop()
        self._sandbox = self._keepalive = None
        if sandbox is not None:
            try:  # one attempt: close must be quick, and a sandbox we miss still dies at its timeout
                sandbox.kill()
            except Exception as exc:  # noqa: BLE001 - mapped for the log line
                error = map_error(exc, "killing the E2B sandbox")
                log.warning("e2b sandbox %s was not killed (it expires in %d s): %s", self._sandbox_id,
                            self.config.timeout, error)
        self._sandbox_id = None
