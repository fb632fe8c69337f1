"""Start one docker sandbox: create the container with the config's limits, attach, start, send our code.

The container runs the boot (executors/docker/payload.py) as the sandbox user;
the agent then talks over the attached stdin/stdout (executors/docker/transport.py).
Both the executor and the warm pool start sandboxes through `start_sandbox`.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from executors.docker import client as docker_client
from executors.docker.config import SANDBOX_HOME, SANDBOX_USER, WORKDIR, DockerConfig, x_socket
from executors.docker.errors import InvalidDockerConfig, docker_errors
from executors.docker.payload import BOOT, payload
from executors.docker.storage import create_limited, tmpfs_options
from executors.docker.transport import AttachTransport


def _environment(config: DockerConfig, user: str) -> dict[str, str]:
    # /home/lmc belongs to uid 1000; another uid (a workspace's owner) gets a writable home in /tmp
    home = SANDBOX_HOME if user == SANDBOX_USER else "/tmp"
    env = {"HOME": home, "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1"}
    missing = [name for name in config.forward_env if name not in os.environ]
    if missing:
        raise InvalidDockerConfig(
            f"DockerConfig.forward_env names host variables that are not set: {', '.join(missing)}; "
            "set them or drop them from forward_env"
        )
    env.update({name: os.environ[name] for name in config.forward_env})
    if config.display:
        env["DISPLAY"] = config.display
    env.update(config.env)
    return env


def sandbox_user(config: DockerConfig) -> str:
    """uid:gid the code runs as: the workspace's owner (so its files stay theirs), never root."""
    if config.workspace:
        stat = Path(config.workspace).stat()
        if stat.st_uid != 0:
            return f"{stat.st_uid}:{stat.st_gid}"
    return SANDBOX_USER


def _host_config(api: Any, config: DockerConfig, disk: dict[str, Any] | None = None) -> Any:
    """The container's limits; `disk` is how its disk is limited (executors/docker/storage.py; tmpfs if None)."""
    binds = {}
    if config.workspace:
        binds[str(Path(config.workspace).resolve())] = {"bind": WORKDIR, "mode": "rw"}
    if config.display:
        socket = x_socket(config.display)  # the one socket, not the folder: other displays stay hidden
        binds[socket] = {"bind": socket, "mode": "rw"}
    return api.create_host_config(
        network_mode="bridge" if config.network else "none",
        mem_limit=config.memory_mb * 1024 * 1024,
        memswap_limit=config.memory_mb * 1024 * 1024,  # equal to the memory: no swap to hide in
        nano_cpus=int(config.cpus * 1e9),
        pids_limit=config.pids,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        shm_size=config.shm_mb * 1024 * 1024,
        binds=binds or None,
        init=True,  # tini reaps the zombies a kernel's children leave behind
        # the container's stdout is the agent's channel: not a log for the daemon to keep on the host's disk
        log_config={"type": "none", "config": {}},
        **(tmpfs_options(config) if disk is None else disk),
    )


def start_sandbox(config: DockerConfig) -> AttachTransport:
    """Create a container, attach, start it and send our code: a transport whose hello is unread.

    With `config.desktop`, the sandbox's virtual desktop is started on the host first and its
    socket mounted; the transport holds it and stops it with the container.
    """
    if config.desktop is None:
        return _start_container(config)
    desktop = config.desktop.start()
    try:
        transport = _start_container(replace(config, desktop=None, display=desktop.display))
    except BaseException:
        desktop.close()
        raise
    transport.desktop = desktop
    return transport


def _start_container(config: DockerConfig) -> AttachTransport:
    from executors.docker.image import default_tag

    image = config.image or default_tag()
    api = docker_client.client(config.docker_host).api
    user = sandbox_user(config)
    what = f"start a sandbox from image {image!r}"
    environment = _environment(config, user)

    def create(disk: dict[str, Any]) -> str:
        created = api.create_container(
            image, ["python3", "-P", "-c", BOOT], user=user, working_dir=WORKDIR,
            environment=environment, labels=docker_client.labels(), hostname="sandbox",
            # stdin_open without detach also sets StdinOnce: when our socket closes (even if this
            # process is killed) the agent reads end-of-input and exits
            stdin_open=True, tty=False, host_config=_host_config(api, config, disk),
        )
        return str(created["Id"])

    container_id = create_limited(api, what, create, config)
    docker_client.track(api, container_id)
    with docker_errors(what):
        try:
            # attach before start: nothing the agent writes can be missed
            sock = api.attach_socket(container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            api.start(container_id)
            raw = getattr(sock, "_sock", sock)
            raw.sendall(payload())  # our code, which the boot unpacks before serving
        except BaseException:
            docker_client.remove(api, container_id)
            raise
    return AttachTransport(api, container_id, raw, config.memory_mb)

