"""TaskExecutor: lmc's agent in a task container, on the runtime's Python.

Its first connect takes the agent our init forked when the container started
(TaskContainer.take_agent: no `docker exec`, no interpreter start to wait for);
a later one, after that agent crashed or was closed, or when it does not fit
(another user, working directory or environment), starts one by `docker exec`.
Either speaks over attached stdin/stdout with the same 8-byte multiplexing as a
sandbox's attach socket; closing ends the agent, never the container.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import replace

from executors.base import Transport
from executors.channel import AgentExecutor
from executors.docker.errors import InvalidDockerConfig, docker_errors
from executors.docker.transport import AttachTransport
from executors.runtime import AGENT_PATH, python_argv
from executors.runtime.inside.init import NO_ACCOUNT, NO_ACCOUNT_LINE
from executors.sandbox.languages.base import RunLimits
from executors.taskcontainer.container import TaskContainer
from executors.taskcontainer.transport import ExecTransport
from lmc.messages import Chunk

log = logging.getLogger(__name__)

#: the agent's boot, on the bundled Python: our packages from the runtime, then the interpreter choice
BOOT = (f"import sys; sys.path.insert(0, {AGENT_PATH!r}); "
        "from executors.runtime.inside.agent import main; main()")


class TaskExecutor(AgentExecutor):
    """Runs code in a task container through lmc's agent, as a given user; close() ends only the agent."""

    backend = "docker"

    def __init__(self, container: TaskContainer, user: str | None = None, workdir: str | None = None,
                 env: dict[str, str] | None = None) -> None:
        super().__init__(self.connect)
        self.container = container
        self.user = user  #: None for the container's agent user (TaskContainerConfig.agent_user, else its user)
        self.workdir = workdir  #: None for the container's working directory
        self.env = dict(env or {})  #: variables added to the container's, for the agent and its code

    def connect(self) -> Transport:
        """The agent started with the container if it fits and is up, else `docker exec -i` one.

        The first's hello is read here (to know it is up), an exec'd one's is not.
        """
        container = self.container
        user = self.user or container.agent_user()
        started = container.take_agent(user, self.workdir, self.env)
        if started is not None:
            if started.prime():
                return started
            started.close()
            said = [line for line in started.last_lines if line.startswith(NO_ACCOUNT_LINE)]
            if started.exit_code == NO_ACCOUNT and said:  # as `docker exec --user` would refuse it
                raise InvalidDockerConfig(
                    f"cannot run lmc's agent as {user!r} in task container {container.short_id}: "
                    f"{said[-1][len(NO_ACCOUNT_LINE):]}; name a user of the image's /etc/passwd (and a group of "
                    "its /etc/group), or give numbers (uid:gid)")
            log.warning("lmc's agent started with task container %s %s; starting another by docker exec",
                        container.short_id, started.describe_exit())
        with docker_errors(f"start lmc's agent in task container {container.short_id}"):
            exec_id = container.api.exec_create(
                container.id, python_argv("-c", BOOT), stdin=True, stdout=True, stderr=True, tty=False,
                user=user, workdir=self.workdir, environment=self.env or None)["Id"]
            sock = container.api.exec_start(exec_id, socket=True)
        raw = getattr(sock, "_sock", sock)
        raw.settimeout(None)  # docker-py leaves its 60 s read timeout on it: code silent that long is not a dead agent
        return ExecTransport(container.api, container.id, raw, container.config.memory_mb, exec_id)

    def run(self, language: str, code: str, limits: RunLimits | None = None) -> Iterator[Chunk]:
        """Stream a run's chunks; a language killed for lack of memory says so."""
        started = time.time()
        for chunk in super().run(language, code, limits):
            if chunk.type == "error" and chunk.format == "crashed":
                transport = self.client.transport
                if isinstance(transport, AttachTransport) and transport.oom_kills_since(started - 1):
                    chunk = replace(chunk, content=(
                        f"{chunk.content!s} (the task container ran out of memory: its limit is "
                        f"{self.container.config.memory_mb} MiB)"))
            yield chunk
