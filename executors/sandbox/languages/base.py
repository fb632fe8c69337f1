"""The language interface, and the base class for languages that run in a child process.

A language is a class with `name`, `aliases`, `run(code, limits)` yielding LMC
chunks, `stop()` and `close()`. It lives inside the in-sandbox agent.

`ProcessLanguage` runs a persistent interpreter (python, bash, node...) as a
child process in its own process group and talks to it over three pipes:
code goes in NUL-terminated on one, the child's stdout and stderr share another
(so their order is kept, as in a terminal) and the child reports events as JSON
lines on a control pipe: `{"done": status}` when the code finished and
`{"image": "png", "data": base64}` for images. The child's stdin is a pipe
nobody writes to, so a read from it is detected instead of hanging forever: a
read() blocked on it is seen from outside (`StdinProbe`), and a kernel whose
reads wait in an event loop instead (node) says so itself with `{"stdin": true}`
/ `{"stdin": false}` events; such a wait is interrupted cleanly.
"""

from __future__ import annotations

import base64
import codecs
import functools
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from executors.errors import InvalidCode, no_screen
from executors.sandbox.languages.stdin_probe import StdinProbe
from lmc.messages import Chunk

#: How long an interrupted child gets to come back before it is killed and restarted.
STOP_GRACE = 2.0


@dataclass(frozen=True, slots=True)
class RunLimits:
    """Limits for one run of code."""

    timeout: float | None = None  #: seconds before the code is stopped; None for no limit
    max_output: int = 1_000_000  #: characters of output kept; the rest is cut with a marker
    input_timeout: float = 2.0  #: seconds of silence while reading stdin before giving up


@runtime_checkable
class Language(Protocol):
    """What the agent needs of a language."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]]

    def run(self, code: str, limits: RunLimits) -> Iterator[Chunk]:
        """Run code, yielding computer chunks (console output, images, errors) as they come."""
        ...

    def stop(self) -> None:
        """Interrupt the running code (from another thread); state is kept."""
        ...

    def close(self) -> None:
        """Free the language's processes."""
        ...


#: answers a computer.* call event of the code ({"call", "args", "kwargs"}) with {"result"} or {"error"}
Relay = Callable[[dict[str, Any]], dict[str, Any]]


@runtime_checkable
class Relaying(Protocol):
    """A language whose code can call computer.*: the agent gives it a relay to the host."""

    relay: Relay | None


@runtime_checkable
class Prestartable(Protocol):
    """A language that can start its process before its first run."""

    def prestart(self) -> None:
        """Start the language's process now, so the first run does not wait for it."""
        ...


def _console(text: str, start: bool = False, end: bool = False) -> Chunk:
    return Chunk("computer", "console", text, "output", start=start, end=end)


def error_chunk(kind: str, text: str) -> Chunk:
    """A whole computer error message of the given kind."""
    return Chunk("computer", "error", text, kind, start=True, end=True)


class OutputLimiter:
    """Keeps the first `limit` characters streaming and the tail; counts what was cut."""

    TAIL = 2000

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.sent = 0
        self.cut = 0
        self.tail = ""

    def take(self, text: str) -> str:
        """The part of text that may still be streamed; the rest goes to the tail."""
        room = max(self.limit - self.sent, 0)
        head, rest = text[:room], text[room:]
        self.sent += len(head)
        if rest:
            tail = self.tail + rest
            self.cut += len(tail) - min(len(tail), self.TAIL)
            self.tail = tail[-self.TAIL :]
        return head

    def marker(self) -> str | None:
        """The visible note and kept tail that close a truncated output, if any was cut."""
        if not self.cut and not self.tail:
            return None
        kept = self.tail[-min(self.TAIL, max(self.limit // 4, 200)) :]
        dropped = self.cut + len(self.tail) - len(kept)
        if not dropped:  # a small limit whose kept tail holds the whole rest: nothing was cut
            return kept
        return f"\n[... output truncated: {dropped} characters omitted ...]\n{kept}"


def dies_with_agent(argv: list[str]) -> list[str]:
    """argv run so that the child is killed when the agent dies, where Linux's setpriv is there.

    The child runs in a session of its own (so a stop reaches its whole process group), which
    also takes it out of whatever kills the agent's group: a local agent SIGKILLed with its Ray
    worker left its python process running orphaned for as long as the code ran. The parent-death
    signal goes with the agent's run thread, which starts every child and lives as long as the agent.
    """
    setpriv = _setpriv()
    return [setpriv, "--pdeathsig", "KILL", "--", *argv] if setpriv else argv


@functools.cache
def _setpriv() -> str | None:
    """util-linux's setpriv, if it is on PATH and has --pdeathsig (BusyBox's, in some task images, has not)."""
    found = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    if found is None:
        return None
    try:
        usage = subprocess.run([found, "--help"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return found if b"--pdeathsig" in usage.stdout + usage.stderr else None


class ProcessLanguage:
    """Base for languages served by a persistent child process (see module doc)."""

    name: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    #: the noun used in messages about the child, e.g. "python process"
    process_noun: ClassVar[str] = "process"
    #: whether a final console/exit_code chunk reports the status of every run
    reports_exit_code: ClassVar[bool] = False
    #: whether SIGINT cleanly ends code blocked reading stdin; if not, such code is killed
    interrupts_reads: ClassVar[bool] = True

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._code_w = self._out_r = self._ctl_r = self._stdin_w = self._reply_w = -1
        self._probe: StdinProbe | None = None
        #: answers a computer.* call the code made ({"call", "args", "kwargs"} -> {"result"} or
        #: {"error"}); set by the agent. Without it, calls get an error back.
        self.relay: Relay | None = None
        self._running = False
        self._stop_kind: str | None = None
        #: the kernel said its code reads stdin from its event loop (a wait no probe sees)
        self._stdin_reading = False

    # -- what subclasses provide -------------------------------------------------
    def command(self, code_fd: int, ctl_fd: int) -> list[str]:
        """The argv that starts the child; it reads code from code_fd, reports on ctl_fd."""
        raise NotImplementedError

    def child_env(self) -> dict[str, str]:
        """Environment for the child (default: the agent's)."""
        return dict(os.environ)

    # -- process management ------------------------------------------------------
    def _start(self) -> None:
        code_r, self._code_w = os.pipe()
        self._out_r, out_w = os.pipe()
        self._ctl_r, ctl_w = os.pipe()
        stdin_r, self._stdin_w = os.pipe()
        reply_r, self._reply_w = os.pipe()
        argv = dies_with_agent(self.command(code_r, ctl_w))
        env = self.child_env()
        env["LMC_REPLY_FD"], env["LMC_CALL_FD"] = str(reply_r), str(ctl_w)
        try:
            self._proc = subprocess.Popen(
                argv,
                stdin=stdin_r,
                stdout=out_w,
                stderr=out_w,
                pass_fds=(code_r, ctl_w, reply_r),
                start_new_session=True,
                env=env,
            )
        finally:
            for fd in (code_r, out_w, ctl_w, stdin_r, reply_r):
                os.close(fd)
        for fd in (self._code_w, self._out_r, self._ctl_r, self._stdin_w, self._reply_w):
            os.set_inheritable(fd, False)
        self._probe = StdinProbe(self._proc.pid, self._stdin_w)
        self._stdin_reading = False

    def prestart(self) -> None:
        """Start the child now rather than at the first run."""
        if not self._alive():
            self._start()

    def _alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def close(self) -> None:
        """Kill the child's whole process group and free the pipes."""
        if self._proc is not None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._proc.wait()
            self._proc = None
        for fd in (self._code_w, self._out_r, self._ctl_r, self._stdin_w, self._reply_w):
            if fd >= 0:
                os.close(fd)
        self._code_w = self._out_r = self._ctl_r = self._stdin_w = self._reply_w = -1

    def stop(self, kind: str = "interrupted") -> None:
        """Send SIGINT to the running code's process group, once per run; the child stays up.

        Once: a repeated stop (a caller re-sending one that may have come before the run began)
        must not SIGINT the child again while it handles the first, e.g. bash between its traps.
        A child that ignores the first is killed after STOP_GRACE.
        """
        proc = self._proc
        if not self._running or proc is None or self._stop_kind is not None:
            return
        self._stop_kind = kind
        try:
            os.killpg(proc.pid, signal.SIGINT)
        except ProcessLookupError:
            pass

    def _waiting_for_input(self) -> bool:
        """Whether the code waits on stdin: its kernel said so, or a process is blocked reading it."""
        return self._stdin_reading or (self._probe is not None and self._probe.waiting())

    # -- running -----------------------------------------------------------------
    def run(self, code: str, limits: RunLimits) -> Iterator[Chunk]:
        """Send code to the child and stream what it produces until it reports done."""
        if "\0" in code:
            raise InvalidCode("code contains a NUL character; remove it (source code cannot hold NUL)")
        if not self._alive():
            self.close()
            try:
                self._start()
            except OSError as exc:
                yield error_chunk(
                    "sandbox",
                    f"cannot start the {self.process_noun} for {self.name} ({exc.strerror or exc}): "
                    f"is {self.command(0, 0)[0]!r} installed in this sandbox?",
                )
                return
        self._stop_kind = None
        self._running = True
        try:
            os.write(self._code_w, code.encode("utf-8", "surrogatepass") + b"\0")
            yield from _Run(self, limits).stream()
        finally:
            self._running = False


class _Run:
    """One run's loop: multiplex output and control pipes, enforce limits."""

    def __init__(self, lang: ProcessLanguage, limits: RunLimits) -> None:
        self.lang = lang
        self.limits = limits
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.limiter = OutputLimiter(limits.max_output)
        self.console_open = False
        self.ctl_buffer = b""
        self.status: int | None = None
        self.events: list[Chunk] = []

    def _text(self, text: str) -> Iterator[Chunk]:
        text = self.limiter.take(text)
        if text:
            yield _console(text, start=not self.console_open)
            self.console_open = True

    def _close_console(self) -> Iterator[Chunk]:
        if self.console_open:
            yield _console("", end=True)
            self.console_open = False

    def _control(self, data: bytes) -> Iterator[Chunk]:
        self.ctl_buffer += data
        *lines, self.ctl_buffer = self.ctl_buffer.split(b"\n")
        for line in lines:
            if not line.strip():
                continue
            event = json.loads(line)
            if "image" in event:
                yield from self._close_console()
                raw = base64.b64decode(event["data"])
                yield Chunk("computer", "image", raw, event["image"], start=True, end=True)
            elif "call" in event:
                yield from self._call(event)
            elif "stdin" in event:
                self.lang._stdin_reading = bool(event["stdin"])
            elif "done" in event:
                self.status = int(event["done"])

    def _call(self, event: dict[str, Any]) -> Iterator[Chunk]:
        """Answer a computer.* call: relay it up and write the reply back to the code.

        The console block is closed first: the host may put an image into the stream.
        """
        yield from self._close_console()
        relay = self.lang.relay
        if relay is None:
            message = no_screen(str(event.get("call")))
            reply: dict[str, Any] = {"error": {"type": "ComputerUnavailable", "message": message}}
        else:
            reply = relay(event)
        line = json.dumps({"cid": event.get("cid"), **reply}).encode() + b"\n"
        view = memoryview(line)
        while view:
            view = view[os.write(self.lang._reply_w, view) :]

    def _drain_output(self) -> Iterator[Chunk]:
        out_fd = self.lang._out_r
        while select.select([out_fd], [], [], 0)[0]:
            data = os.read(out_fd, 65536)
            if not data:
                break
            yield from self._text(self.decoder.decode(data))

    def stream(self) -> Iterator[Chunk]:
        """Chunks of this run, ending with any truncation note, error and exit code."""
        lang, limits = self.lang, self.limits
        started = last_output = time.monotonic()
        stopped_at: float | None = None
        fds = [lang._out_r, lang._ctl_r]
        while self.status is None:
            ready = select.select(fds, [], [], 0.05)[0]
            now = time.monotonic()
            if lang._out_r in ready:
                data = os.read(lang._out_r, 65536)
                if data:
                    last_output = now
                    yield from self._text(self.decoder.decode(data))
                else:  # the child closed its output; the control pipe tells whether it died
                    fds.remove(lang._out_r)
            if lang._ctl_r in ready:
                data = os.read(lang._ctl_r, 65536)
                if not data:
                    yield from self._drain_output()
                    yield from self._died()
                    return
                yield from self._control(data)
                if self.status is not None:
                    yield from self._drain_output()
                    break
            if stopped_at is None:
                if limits.timeout is not None and now - started >= limits.timeout:
                    lang.stop("timeout")
                elif now - last_output >= limits.input_timeout and lang._waiting_for_input():
                    lang.stop("input_required")
                    if not lang.interrupts_reads and not lang._stdin_reading:
                        stopped_at = now - STOP_GRACE  # a blocked read(): go straight to the kill below
                if lang._stop_kind is not None and stopped_at is None:
                    stopped_at = now
            if stopped_at is not None and now - stopped_at >= STOP_GRACE:
                yield from self._drain_output()
                yield from self._killed()
                return
        yield from self._finish()

    def _finish(self) -> Iterator[Chunk]:
        yield from self._finish_partial()
        kind = self.lang._stop_kind
        if kind is not None:
            yield error_chunk(kind, self._stop_text(kind))
        if self.lang.reports_exit_code and self.status is not None:
            yield Chunk("computer", "console", self.status, "exit_code", start=True, end=True)

    def _stop_text(self, kind: str) -> str:
        if kind == "timeout":
            return (
                f"the code ran past its {self.limits.timeout:g} s timeout and was stopped; "
                "output so far is above. Make it faster, run it in the background, or raise the timeout."
            )
        if kind == "input_required":
            return (
                "the code was waiting for input on stdin, which this computer cannot type into; "
                "it was stopped. Pass the values in the code, as arguments or through a file instead."
            )
        return "the code was stopped on request; output so far is above"

    def _died(self) -> Iterator[Chunk]:
        lang = self.lang
        code = lang._proc.wait() if lang._proc is not None else None
        lang.close()
        yield from self._finish_partial()
        if lang.reports_exit_code and code is not None and code >= 0:  # e.g. `exit 3` in a shell
            note = f"[the {lang.process_noun} exited with status {code}; a fresh one starts on the next run]\n"
            yield _console(note, start=True, end=True)
            yield Chunk("computer", "console", code, "exit_code", start=True, end=True)
            return
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with status {code}"
        yield error_chunk(
            "crashed",
            f"the {lang.process_noun} {how} while running the code; its state (variables, "
            "imports, working directory) was lost and a fresh one starts on the next run",
        )

    def _killed(self) -> Iterator[Chunk]:
        lang = self.lang
        kind = lang._stop_kind or "interrupted"
        lang.close()
        yield from self._finish_partial()
        if kind == "input_required" and not lang.interrupts_reads:
            why = f"the {lang.process_noun} cannot be interrupted cleanly while it reads stdin"
        else:
            why = f"the {lang.process_noun} did not respond to the interrupt within {STOP_GRACE:g} s"
        yield error_chunk(
            kind,
            f"{self._stop_text(kind).rstrip('.')}; {why}, so it was killed and its state was lost: "
            "a fresh one starts on the next run",
        )

    def _finish_partial(self) -> Iterator[Chunk]:
        yield from self._text(self.decoder.decode(b"", final=True))
        marker = self.limiter.marker()
        if marker:
            yield _console(marker, start=not self.console_open)
            self.console_open = True
        yield from self._close_console()
