"""TaskExecutor: lmc's agent in a task container, as a `docker exec` of the runtime's Python.

The agent speaks over the exec's attached stdin/stdout with the same 8-byte
multiplexing as a sandbox's attach socket, so AttachTransport reads it; only
closing differs: it ends the agent, never the container.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from executors.base import Transport
from executors.channel import AgentExecutor
from executors.docker_errors import docker_errors, import_docker
from executors.docker_transport import AttachTransport, explain_state
from executors.languages.base import RunLimits
from executors.runtime import AGENT_PATH, python_argv
from executors.taskcontainer.container import TaskContainer
from lmc.messages import Chunk

#: the agent's boot, on the bundled Python: our packages from the runtime, then the interpreter choice
BOOT = (f"import sys; sys.path.insert(0, {AGENT_PATH!r}); "
        "from executors.runtime.inside.agent import main; main()")


class ExecTransport(AttachTransport):
    """The agent's frames over one exec's attach socket."""

    def __init__(self, api: Any, container_id: str, sock: socket.socket, memory_mb: int, exec_id: str) -> None:
        super().__init__(api, container_id, sock, memory_mb)
        self.exec_id = exec_id

    def describe_exit(self) -> str:
        """Why the agent went away: its container stopped, or the agent's own status."""
        docker = import_docker()
        try:
            state = self.api.inspect_container(self.container_id)["State"]
            if not state.get("Running"):
                return explain_state(state, self.short_id, self.memory_mb)
            code = self.api.exec_inspect(self.exec_id).get("ExitCode")
        except docker.errors.NotFound:
            return f"vanished: its container {self.short_id} was removed (docker rm, or a prune)"
        except (docker.errors.DockerException, OSError) as exc:
            return f"ended and its container {self.short_id} could not be inspected ({exc})"
        if code == 137:
            return f"was killed (SIGKILL) in container {self.short_id}, by the kernel (out of memory?) or a kill"
        return f"exited with status {code} (container {self.short_id})"

    def close(self) -> None:
        """Close the socket: the agent reads end-of-input and exits. The container stays."""
        if self._closed:
            return
        self._closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already disconnected
        self.sock.close()


class TaskExecutor(AgentExecutor):
    """Runs code in a task container through lmc's agent, as a given user; close() ends only the agent."""

    backend = "docker"

    def __init__(self, container: TaskContainer, user: str | None = None, workdir: str | None = None,
                 env: dict[str, str] | None = None) -> None:
        super().__init__()
        self.container = container
        self.user = user  #: None for the container's user (the image's USER unless its config says)
        self.workdir = workdir  #: None for the container's working directory
        self.env = dict(env or {})  #: variables added to the container's, for the agent and its code

    def connect(self) -> Transport:
        """`docker exec -i` the agent; its hello is not yet read."""
        container = self.container
        with docker_errors(f"start lmc's agent in task container {container.short_id}"):
            exec_id = container.api.exec_create(
                container.id, python_argv("-c", BOOT), stdin=True, stdout=True, stderr=True, tty=False,
                user=self.user or "", workdir=self.workdir, environment=self.env or None)["Id"]
            sock = container.api.exec_start(exec_id, socket=True)
        raw = getattr(sock, "_sock", sock)
        return ExecTransport(container.api, container.id, raw, container.config.memory_mb, exec_id)

    def run(self, language: str, code: str, limits: RunLimits | None = None) -> Iterator[Chunk]:
        """Stream a run's chunks; a language killed for lack of memory says so."""
        started = time.time()
        for chunk in super().run(language, code, limits):
            if chunk.type == "error" and chunk.format == "crashed":
                transport = self._transport
                if isinstance(transport, AttachTransport) and transport.oom_kills_since(started - 1):
                    chunk = replace(chunk, content=(
                        f"{chunk.content} (the task container ran out of memory: its limit is "
                        f"{self.container.config.memory_mb} MiB)"))
            yield chunk
