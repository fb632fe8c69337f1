"""The agent's channel in a task container: the container's own stdio, or a `docker exec`'s.

Both carry the same 8-byte multiplexing as a sandbox's attach socket, so
AttachTransport reads them; closing either ends the agent, never the container.

    BootTransport   the agent our init forked at boot (see executors.runtime.inside.init), on the
                    container's stdin/stdout, attached before the start. Docker ends that stream only
                    with the container, so the agent's exit is known from init's notice on stderr.
    ExecTransport   an agent started later by `docker exec` (after the first one crashed or closed).
"""

from __future__ import annotations

import logging
import socket
from collections import deque
from typing import Any

from executors.docker.errors import import_docker
from executors.docker.transport import RECV_SIZE, AttachTransport, explain_state
from executors.runtime.inside.init import EXIT_NOTICE

log = logging.getLogger(__name__)

#: seconds to wait, after init said the agent exited, for output Docker had not yet passed on
#: (Docker copies the container's stdout and stderr separately, so the notice can overtake it)
DRAIN = 0.2


def agent_ended(code: int | None, short_id: str) -> str:
    """Why an agent process in a running container went away, from its exit status."""
    if code == 137:
        return f"was killed (SIGKILL) in container {short_id}, by the kernel (out of memory?) or a kill"
    return f"exited with status {code} (container {short_id})"


class _AgentChannel(AttachTransport):
    """An agent's frames over an attach socket whose close ends only the agent."""

    def close(self) -> None:
        """Close the socket: the agent reads end-of-input and exits. The container stays."""
        self.close_socket()

    def _container_gone(self) -> str | None:
        """Why the agent went away if its container did; None while the container runs."""
        docker = import_docker()
        try:
            state = self.api.inspect_container(self.container_id)["State"]
        except docker.errors.NotFound:
            return f"vanished: its container {self.short_id} was removed (docker rm, or a prune)"
        except (docker.errors.DockerException, OSError) as exc:
            return f"ended and its container {self.short_id} could not be inspected ({exc})"
        return None if state.get("Running") else explain_state(state, self.short_id, self.memory_mb)


class ExecTransport(_AgentChannel):
    """The agent's frames over one exec's attach socket."""

    def __init__(self, api: Any, container_id: str, sock: socket.socket, memory_mb: int, exec_id: str) -> None:
        super().__init__(api, container_id, sock, memory_mb)
        self.exec_id = exec_id

    def describe_exit(self) -> str:
        """Why the agent went away: its container stopped, or the agent's own status."""
        gone = self._container_gone()
        if gone is not None:
            return gone
        docker = import_docker()
        try:
            code = self.api.exec_inspect(self.exec_id).get("ExitCode")
        except (docker.errors.DockerException, OSError) as exc:
            return f"ended and its exec in container {self.short_id} could not be inspected ({exc})"
        return agent_ended(code, self.short_id)


class BootTransport(_AgentChannel):
    """The agent init started, over the container's attached stdio; it ends at init's exit notice."""

    def __init__(self, api: Any, container_id: str, sock: socket.socket, memory_mb: int, user: str) -> None:
        super().__init__(api, container_id, sock, memory_mb)
        self.user = user  #: who the agent runs as (the "user[:group]" init was given)
        self.exit_code: int | None = None  #: the agent's status, once init said it exited
        self.last_lines: deque[str] = deque(maxlen=20)  #: the end of what the agent and init wrote on stderr

    def recv(self) -> bytes | None:
        """The next frame; None once the agent exited and what it wrote before has been read."""
        while not self._ready:
            if self.exit_code is not None:
                self._drain()
                if not self._ready:
                    return None
                break
            if not self._read():  # the container stopped
                return None
        return self._ready.popleft()

    def _drain(self) -> None:
        self.sock.settimeout(DRAIN)
        try:
            while data := self.sock.recv(RECV_SIZE):
                self._demux(data)
        except OSError:  # the time ran out (TimeoutError), or the socket broke
            pass
        finally:
            self._flush_stderr()
            self.sock.settimeout(None)

    def _log_stderr(self, piece: bytes) -> None:
        # init's notice is one line of its own (one write, so never split by another writer's)
        self._stderr += piece
        *lines, rest = self._stderr.split(b"\n")
        for line in lines:
            if line.startswith(EXIT_NOTICE) and line[len(EXIT_NOTICE):].isdigit():
                self.exit_code = int(line[len(EXIT_NOTICE):])
            elif line:
                self.last_lines.append(line.decode("utf-8", "replace"))
                log.info("task container %s: %s", self.short_id, self.last_lines[-1])
        self._stderr = bytearray(rest)

    def end(self, timeout: float) -> bool:
        """Close the agent's stdin and wait for its exit (True), or for `timeout` s; then close."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
            self.sock.settimeout(timeout)
            while self.exit_code is None and (data := self.sock.recv(RECV_SIZE)):
                self._demux(data)
        except OSError:  # the time ran out (TimeoutError), or the socket broke
            pass
        finally:
            self.close()
        return self.exit_code is not None

    def alive(self) -> bool:
        """Whether the agent is still up, as far as this side has read."""
        return self.exit_code is None and super().alive()

    def describe_exit(self) -> str:
        """Why the agent went away: its container stopped, or the status init saw."""
        gone = self._container_gone()
        if gone is not None:
            return gone
        if self.exit_code is None:
            return f"closed its output while its container {self.short_id} still runs"
        return agent_ended(self.exit_code, self.short_id)
