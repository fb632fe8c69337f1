"""The fake cloud's sandboxes: each one a temp dir whose commands are local process groups."""

from __future__ import annotations

import os
import queue
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Event:
    """Something a command did: output, its end, or its sandbox vanishing."""

    kind: str  #: "stdout", "stderr", "end" or "lost"
    data: bytes = b""  #: output bytes for stdout/stderr
    exit_code: int = 0  #: exit status for "end" (-1 when killed by a signal)
    signal: int = 0  #: the signal that ended it, if any


class Command:
    """A process started through envd: output fans out to every subscribed stream."""

    def __init__(self, argv: list[str], cwd: str, env: dict[str, str], stdin: bool) -> None:
        self.proc = subprocess.Popen(
            argv, cwd=cwd, env=env, start_new_session=True,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
        )
        self.pid = self.proc.pid
        self._subscribers: list[queue.Queue[Event]] = []
        self._lock = threading.Lock()
        self._final: Event | None = None

    def subscribe(self) -> queue.Queue[Event]:
        """A queue that receives this command's events from now on."""
        q: queue.Queue[Event] = queue.Queue()
        with self._lock:
            if self._final is not None:
                q.put(self._final)
            else:
                self._subscribers.append(q)
        return q

    def run(self) -> None:
        """Start relaying output (call after the first subscriber is in)."""
        readers = [threading.Thread(target=self._read, args=(s, k), daemon=True)
                   for s, k in ((self.proc.stdout, "stdout"), (self.proc.stderr, "stderr"))]
        for reader in readers:
            reader.start()
        threading.Thread(target=self._wait, args=(readers,), daemon=True).start()

    def _read(self, stream: object, kind: str) -> None:
        fd = stream.fileno()  # type: ignore[attr-defined]
        while data := os.read(fd, 65536):
            self._broadcast(Event(kind, data))

    def _wait(self, readers: list[threading.Thread]) -> None:
        for reader in readers:
            reader.join()
        code = self.proc.wait()
        self._finish(Event("end", exit_code=-1 if code < 0 else code, signal=-code if code < 0 else 0))

    def _broadcast(self, event: Event) -> None:
        with self._lock:
            for q in self._subscribers:
                q.put(event)

    def _finish(self, event: Event) -> None:
        with self._lock:
            if self._final is None:
                self._final = event
                for q in self._subscribers:
                    q.put(event)

    def write_stdin(self, data: bytes) -> None:
        """Feed the command's stdin."""
        if self.proc.stdin is None:
            raise BrokenPipeError("the command was started without stdin")
        self.proc.stdin.write(data)

    def close_stdin(self) -> None:
        """Signal end of input."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()

    def signal(self, sig: int) -> None:
        """Signal the command's process group."""
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass

    def lose(self) -> None:
        """The sandbox vanished: streams see the connection drop, not an exit."""
        self._finish(Event("lost"))
        self.signal(signal.SIGKILL)


def _pids_with_env(entry: str) -> list[int]:
    """Processes whose environment holds `entry` (what a VM's end would take with it)."""
    needle = entry.encode() + b"\0"
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/environ", "rb") as fh:
                    if needle in fh.read():
                        found.append(int(name))
            except OSError:
                continue
    return found


@dataclass
class Sandbox:
    """One sandbox of the fake cloud."""

    template: str
    timeout: float
    metadata: dict[str, str] = field(default_factory=dict)
    envs: dict[str, str] = field(default_factory=dict)
    internet: bool = True
    id: str = field(default_factory=lambda: "i" + secrets.token_hex(10))
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    root: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="e2b-sandbox-"))
    deadline: float = 0.0
    alive: bool = True
    commands: dict[int, Command] = field(default_factory=dict)
    kernels: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.extend(self.timeout)

    def extend(self, timeout: float) -> None:
        """Keep the sandbox alive for `timeout` seconds from now."""
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout

    def env(self, extra: dict[str, str]) -> dict[str, str]:
        """The environment of a process started in this sandbox."""
        return {**os.environ, "HOME": self.root, "E2B_SANDBOX": "true", "E2B_SANDBOX_ID": self.id,
                **self.envs, **extra}

    def start(self, argv: list[str], cwd: str | None, envs: dict[str, str], stdin: bool) -> Command:
        """Start a command; the caller subscribes, then calls `run()`."""
        command = Command(argv, cwd or self.root, self.env(envs), stdin)
        self.commands[command.pid] = command
        return command

    def kill(self) -> None:
        """End the sandbox: every process dies and its streams drop."""
        self.alive = False
        for command in list(self.commands.values()):
            command.lose()
        for pid in _pids_with_env(f"E2B_SANDBOX_ID={self.id}"):  # children that left the group
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for kernel in list(self.kernels.values()):
            kernel.close()  # type: ignore[attr-defined]
        shutil.rmtree(self.root, ignore_errors=True)
