"""TaskContainer: a task's own image, started with our init as PID 1 and the runtime at /.lmc."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from executors.docker import client as docker_client
from executors.docker import storage as storage_quota
from executors.docker.config import x_socket
from executors.docker.errors import DockerFailed, ImageMissing, docker_errors, import_docker
from executors.runtime import INSIDE, MOUNT, ensure_runtime, python_argv, run_argv
from executors.taskcontainer.config import ExecResult, TaskContainerConfig
from executors.taskcontainer.files import ContainerFiles
from executors.taskcontainer.stream import read_exec
from executors.taskcontainer.transport import BootTransport

log = logging.getLogger(__name__)

#: how long past its timeout an exec may keep its output open before it is abandoned
EXEC_GRACE = 30.0
#: seconds an unused agent started with the container gets to exit when something else runs first
AGENT_EXIT = 10.0
#: kill everything but PID 1 and this program, until nothing else lives (zombies aside)
KILL_ALL = """
import os, signal, sys, time
me = os.getpid()
def others():
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) not in (1, me):
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    state = f.read().rsplit(b")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if state != b"Z":
                found.append(int(name))
    return found
def listeners():  # pids holding a listening TCP socket: the services `spare` keeps
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                inodes |= {cols[9] for cols in (line.split() for line in f.readlines()[1:]) if cols[3] == "0A"}
        except OSError:
            continue
    found = set()
    for pid in others():
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        if any(link[8:-1] in inodes for link in links if link.startswith("socket:[")):
            found.add(pid)
    return found
def in_sessions():  # pids of the sessions `sessions` keeps (a desktop task's app)
    found = set()
    for pid in others():
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                if int(f.read().rsplit(b")", 1)[1].split()[3]) in sessions:
                    found.add(pid)
        except (OSError, IndexError, ValueError):
            continue
    return found
keep = (listeners() if spare else set()) | (in_sessions() if sessions else set())
spare = spare or bool(sessions)
pause = 0.001
for _ in range(200):
    if spare:
        for pid in set(others()) - keep:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    else:
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass
    left = [pid for pid in others() if pid not in keep]
    if not left:
        break
    time.sleep(pause)  # most are gone within a millisecond or two: no fixed 50 ms wait
    pause = min(pause * 2, 0.05)
else:
    sys.exit(f"still alive after SIGKILL: pids {left}")
"""



def _image_config(api: Any, image: str) -> dict[str, Any]:
    try:
        with docker_errors(f"inspect the task image {image!r}"):
            config: dict[str, Any] = api.inspect_image(image).get("Config") or {}
            return config
    except ImageMissing as exc:  # its message would send the user to build lmc's own image
        raise ImageMissing(
            f"the task image {image!r} is not present on this Docker daemon; build it first "
            "(lmc bench builds each task's environment/Dockerfile) or load it with `docker load -i FILE`"
        ) from exc


def _user(image_config: dict[str, Any]) -> str:
    return str(image_config.get("User") or "0")


def _host_config(api: Any, config: TaskContainerConfig, volume: str, storage: bool) -> Any:
    docker = import_docker()
    binds = {}
    if config.display:
        path = x_socket(config.display)
        binds[path] = {"bind": path, "mode": "rw"}
    return api.create_host_config(
        network_mode="bridge" if config.network else "none",
        mem_limit=config.memory_mb * 1024 * 1024,
        memswap_limit=config.memory_mb * 1024 * 1024,  # no swap beyond the limit
        nano_cpus=int(config.cpus * 1e9),
        pids_limit=config.pids,
        storage_opt={"size": f"{config.storage_mb}M"} if storage else None,
        mounts=[docker.types.Mount(MOUNT, volume, type="volume", read_only=True, no_copy=True)],
        binds=binds or None,
        # the container's stdout is the agent's channel: not a log for the daemon to store
        log_config={"type": "none", "config": {}},
    )


class TaskContainer:
    """A running task container; every process but its init can be killed, files move by archive."""

    def __init__(self, api: Any, container_id: str, config: TaskContainerConfig,
                 image_config: dict[str, Any], notes: Sequence[str] = (), agent: BootTransport | None = None) -> None:
        self.api = api
        self.id = container_id
        self.config = config
        self._image = image_config
        #: what the config asked for that this daemon cannot enforce, one sentence each
        self.notes: list[str] = list(notes)
        self._snapshots: list[str] = []
        self._closed = False
        self._agent = agent  # the agent init started, until a TaskExecutor takes it or it is discarded
        self._agent_lock = threading.Lock()
        self.files = ContainerFiles(api, container_id, config.workdir or self.image_workdir())

    @property
    def short_id(self) -> str:
        """The container's 12-character id, as `docker ps` shows it."""
        return self.id[:12]

    # -- starting --------------------------------------------------------------------
    @classmethod
    def start(cls, config: TaskContainerConfig) -> TaskContainer:
        """Create and start the container: the image's USER and WORKDIR unless overridden.

        With config.start_agent, our init forks lmc's agent at boot, on the container's stdin and
        stdout, attached here before the start; the first TaskExecutor that connects takes it.
        """
        api = docker_client.client(config.docker_host).api
        volume = ensure_runtime(api)
        image_config = _image_config(api, config.image)
        env = dict(config.env)
        if config.display:
            env["DISPLAY"] = config.display
        init = [f"{INSIDE}/init.py"]
        agent_user = config.agent_user or config.user or _user(image_config)
        if config.start_agent:
            configured = [e.partition("=")[0] for e in image_config.get("Env") or []] + list(env)
            init += ["--agent", agent_user] + (["--keep-home"] if "HOME" in configured else [])
        notes: list[str] = []
        container_id = cls._create(api, config, volume, python_argv(*init), env, notes)
        docker_client.track(api, container_id)
        agent = None
        try:
            with docker_errors(f"start a task container of {config.image!r}"):
                if config.start_agent:  # attach before start: nothing the agent writes can be missed
                    sock = api.attach_socket(container_id, params={"stdin": 1, "stdout": 1, "stderr": 1,
                                                                   "stream": 1})
                    agent = BootTransport(api, container_id, getattr(sock, "_sock", sock), config.memory_mb,
                                          agent_user)
                api.start(container_id)
        except BaseException:
            if agent is not None:
                agent.close()
            docker_client.remove(api, container_id)
            raise
        return cls(api, container_id, config, image_config, notes, agent)

    @staticmethod
    def _create(api: Any, config: TaskContainerConfig, volume: str, entrypoint: list[str], env: dict[str, str],
                notes: list[str]) -> str:
        wanted = config.storage_mb is not None

        def create(storage: bool) -> str:
            with docker_errors(f"create a task container of {config.image!r}"):
                created = api.create_container(
                    # init runs as root (it drops to the agent's user when it forks the agent); every exec
                    # names its user, the container's by default
                    config.image, entrypoint=entrypoint, user="0", working_dir=config.workdir, environment=env,
                    labels={**config.labels, **docker_client.labels()},
                    # stdin_open without detach also sets StdinOnce: when our attach socket closes (even if
                    # this process is killed) the agent reads end-of-input and exits
                    stdin_open=config.start_agent, tty=False,
                    host_config=_host_config(api, config, volume, storage),
                )
            return created["Id"]  # type: ignore[no-any-return]

        if not wanted:
            return create(False)
        container_id, storage = storage_quota.with_quota(api, create)
        if not storage:
            notes.append(f"storage limit of {config.storage_mb} MB not enforced: this Docker daemon's storage "
                         "driver cannot limit a container's size (overlay2 needs xfs mounted with pquota)")
        return container_id

    # -- the image -------------------------------------------------------------------
    def image_user(self) -> str:
        """The image's USER; "0" (root) when it sets none."""
        return _user(self._image)

    def user(self) -> str:
        """Who the container's processes run as: the config's user, else the image's USER."""
        return self.config.user or self.image_user()

    def agent_user(self) -> str:
        """Who lmc's agent runs as: the config's agent_user, else the container's user."""
        return self.config.agent_user or self.user()

    def image_workdir(self) -> str:
        """The image's WORKDIR; "/" when it sets none."""
        return str(self._image.get("WorkingDir") or "/")

    # -- processes -------------------------------------------------------------------
    def exec(self, argv: Sequence[str], user: str | None = None, workdir: str | None = None,
             env: dict[str, str] | None = None, timeout: float | None = None) -> ExecResult:
        """Run a command to its end, stdin closed, in its own session; killed after `timeout` s.

        user and workdir default to the container's (the config's, else the image's); env is
        added to the container's environment.
        """
        if not argv:
            raise ValueError("TaskContainer.exec needs a command; got an empty argv")
        self._discard_agent()
        what = f"run {argv[0]!r} in task container {self.short_id}"
        with docker_errors(what):
            exec_id = self.api.exec_create(
                self.id, run_argv(list(argv), timeout), stdout=True, stderr=True, stdin=False, tty=False,
                user=user or self.user(), workdir=workdir, environment=env)["Id"]
            sock = self.api.exec_start(exec_id, socket=True)
        started = time.monotonic()
        raw: socket.socket = getattr(sock, "_sock", sock)
        raw.settimeout(None)  # not docker-py's 60 s read timeout: a command may be silent longer (read_exec's own)
        deadline = None if timeout is None else started + timeout + EXEC_GRACE
        try:
            stdout, stderr, ended = read_exec(raw, deadline)
        finally:
            raw.close()
        code = self._exit_code(exec_id, what) if ended else None
        if code is None:  # still writing long after its time: abandoned
            log.warning("%s: still running %.0f s past its timeout; abandoned", what, EXEC_GRACE)
            return ExecResult(-1, stdout, stderr, timed_out=True)
        timed_out = timeout is not None and code == 124 and time.monotonic() - started >= timeout
        return ExecResult(code, stdout, stderr, timed_out)

    def _exit_code(self, exec_id: str, what: str) -> int | None:
        """The exec's status once Docker has it (its output can end a moment before)."""
        pause = 0.005
        for _ in range(200):
            with docker_errors(what):
                state = self.api.exec_inspect(exec_id)
            if not state.get("Running"):
                code = state.get("ExitCode")
                return int(code) if code is not None else -1
            time.sleep(pause)
            pause = min(pause * 2, 0.1)
        return None

    def kill_all_but_init(self, then: str = "", spare_services: bool = False,
                          spare_sessions: tuple[int, ...] = ()) -> None:
        """Kill, as root, every process but PID 1: the agent, its children, any daemon it left.

        `then` is Python run as root right after, in the same process (one exec instead of two).
        `spare_services` keeps the processes that hold a listening TCP socket (servers a task's
        tests talk to, as Harbor leaves them running); `spare_sessions` keeps the processes of those
        session ids (a desktop task's app); everything else still goes.
        """
        agent = self._release_agent()
        if agent is not None:
            agent.close()  # killed below anyway
        what = f"kill every process in task container {self.short_id}"
        with docker_errors(what):
            code_text = f"spare = {spare_services}\nsessions = {set(map(int, spare_sessions))!r}\n" + KILL_ALL + then
            exec_id = self.api.exec_create(self.id, python_argv("-c", code_text), user="0", stdout=True,
                                           stderr=True)["Id"]
            output = self.api.exec_start(exec_id)
            code = self.api.exec_inspect(exec_id).get("ExitCode")
        if code != 0:
            detail = output.decode("utf-8", "replace").strip()[-500:]
            raise DockerFailed(f"cannot {what}: the killer exited with status {code}: {detail}")

    # -- the agent started with the container ---------------------------------------
    def take_agent(self, user: str, workdir: str | None, env: dict[str, str]) -> BootTransport | None:
        """The agent init started, if it is what a TaskExecutor asks for (user, the container's
        working directory and environment) and nothing took it yet; else None.

        It is offered once: an agent that does not fit is ended, as is one still unused when
        something else runs in the container (exec), so no idle agent of ours sees the task's work.
        """
        agent = self._release_agent()
        if agent is None:
            return None
        if user == agent.user and workdir in (None, self.files.workdir) and not env:
            return agent
        log.info("task container %s: the agent started as %s is not the one asked for (user %s, workdir %s, "
                 "env %s); ending it", self.short_id, agent.user, user, workdir, sorted(env))
        self._end(agent)
        return None

    def _release_agent(self) -> BootTransport | None:
        with self._agent_lock:
            agent, self._agent = self._agent, None
        return agent

    def _discard_agent(self) -> None:
        """End the agent init started if nothing took it, and wait until it has exited."""
        agent = self._release_agent()
        if agent is not None:
            self._end(agent)

    def _end(self, agent: BootTransport) -> None:
        """End an agent nobody will use, and wait until it has exited (gone before anything else runs)."""
        if not agent.end(AGENT_EXIT):
            log.warning("task container %s: the unused agent did not exit within %.0f s of end-of-input",
                        self.short_id, AGENT_EXIT)

    # -- files -----------------------------------------------------------------------
    def put_folder(self, local_dir: str | Path, dest: str, owner: str | None = None) -> str:
        """Copy a host folder to `dest` (made with its parents), owned by root or `owner` ("user[:group]")."""
        return self.files.put_folder(local_dir, dest, owner)

    def put_tree(self, entries: dict[str, tuple[int, bytes | None]]) -> None:
        """Write root-owned files and folders in one archive call: path -> (mode, bytes or None for a folder)."""
        self.files.put_tree(entries)

    def put_bytes(self, path: str, data: bytes, mode: int = 0o644, owner: str | None = None) -> str:
        """Write a container file (replacing it; its parents made)."""
        return self.files.put_bytes(path, data, mode, owner)

    def read_file(self, path: str) -> bytes | None:
        """A container file's bytes; None when there is none."""
        return self.files.read_file(path)

    def get_folder(self, path: str, host_dest: str | Path) -> Path:
        """Copy what a container folder holds into a host folder."""
        return self.files.get_folder(path, host_dest)

    # -- snapshots and the end -------------------------------------------------------
    def commit(self) -> str:
        """Snapshot the container's filesystem as an image (for a separate verifier); its id.

        The image is removed by close().
        """
        with docker_errors(f"commit task container {self.short_id}"):
            # the container runs as root for its init: the snapshot keeps the image's USER
            image_id: str = self.api.commit(self.id, conf={"User": self.user()})["Id"]
        self._snapshots.append(image_id)
        return image_id

    def close(self) -> None:
        """Remove the container, then the images commit() made (close containers started from them first)."""
        if self._closed:
            return
        self._closed = True
        agent = self._release_agent()
        if agent is not None:
            agent.close()
        docker_client.remove(self.api, self.id)
        docker = import_docker()
        for image_id in self._snapshots:
            try:
                self.api.remove_image(image_id, force=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                log.warning("could not remove snapshot image %s: %s", image_id[:19], exc)

    def __enter__(self) -> TaskContainer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
