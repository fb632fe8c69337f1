"""Collect the runtime into a Docker named volume, once per daemon and content.

The volume is `lmc-runtime-<hash>`, the hash covering the lmc sandbox image's id
and the files we ship (the collector among them), so a new image or a code change
makes a new volume and an unchanged one is reused. The collector
(inside/collect.py) runs in a container of the sandbox image as root with no
network, our packages handed to it through Docker's archive API. It writes
`.complete` last: a volume without it (its builder was killed) is rebuilt.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import logging
import os
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from executors.docker import client as docker_client
from executors.docker.errors import docker_errors, import_docker
from executors.runtime.errors import RuntimeBuildFailed
from executors.sandbox.ship import sandbox_contents

log = logging.getLogger(__name__)

PREFIX = "lmc-runtime-"
#: label on runtime volumes; its value is the content hash
LABEL = "lmc.runtime"
OUT = "/out"
COLLECT_TIMEOUT = 600.0
#: seconds after which an unused runtime volume of other code may be removed
PRUNE_AGE = 3600.0

_lock = threading.Lock()
_ready: dict[str, str] = {}  # daemon URL -> volume known complete by this process


def shipped() -> tuple[tuple[str, bytes], ...]:
    """(path under agent/, content) of our packages as the runtime carries them."""
    return sandbox_contents()


def volume_name(image_id: str) -> str:
    """The runtime volume's name for a sandbox image id and our current code."""
    digest = hashlib.sha256(image_id.encode() + b"\0")
    for name, data in shipped():
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return PREFIX + digest.hexdigest()[:12]


def _agent_tar() -> bytes:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for name, content in shipped():
            info = tarfile.TarInfo(f"agent/{name}")
            info.size, info.mode = len(content), 0o644
            tar.addfile(info, io.BytesIO(content))
    return data.getvalue()


@contextmanager
def _host_lock(name: str) -> Iterator[None]:
    """Serialise builders of one volume across this machine's processes (a fleet's workers)."""
    with open(os.path.join(tempfile.gettempdir(), f"{name}.lock"), "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _mount(name: str, target: str, read_only: bool) -> Any:
    return import_docker().types.Mount(target, name, type="volume", read_only=read_only)


def _complete(api: Any, name: str, image: str) -> bool:
    """Whether the volume exists with its `.complete` marker; a partial one is removed."""
    docker = import_docker()
    if not _exists(api, name):
        return False
    with docker_errors(f"inspect the runtime volume {name}"):
        created = api.create_container(image, ["true"], labels=docker_client.labels(), host_config=
                                       api.create_host_config(mounts=[_mount(name, OUT, True)], network_mode="none"))
    try:
        with docker_errors(f"inspect the runtime volume {name}"):
            try:
                b"".join(api.get_archive(created["Id"], f"{OUT}/.complete")[0])
                return True
            except docker.errors.NotFound:
                log.warning("runtime volume %s is incomplete (its build was interrupted); rebuilding it", name)
    finally:
        docker_client.remove(api, created["Id"])
    with docker_errors(f"remove the incomplete runtime volume {name}"):
        api.remove_volume(name, force=True)
    return False


def _collect(api: Any, name: str, image: str) -> None:
    started = time.monotonic()
    script = f"{OUT}/agent/executors/runtime/inside/collect.py"
    with docker_errors(f"collect the lmc runtime into volume {name}"):
        api.create_volume(name, labels={LABEL: name[len(PREFIX):]})
        created = api.create_container(
            image, ["python3", "-I", "-S", script, OUT], user="0", labels=docker_client.labels(),
            host_config=api.create_host_config(mounts=[_mount(name, OUT, False)], network_mode="none"))
    container = created["Id"]
    docker_client.track(api, container)
    ok = False
    try:
        with docker_errors(f"collect the lmc runtime into volume {name}"):
            api.put_archive(container, OUT, _agent_tar())
            api.start(container)
            status = api.wait(container, timeout=COLLECT_TIMEOUT)["StatusCode"]
            output = api.logs(container).decode("utf-8", "replace").strip()
        if status != 0:
            raise RuntimeBuildFailed(
                f"collecting the lmc runtime from {image} into volume {name} failed with status {status}; "
                f"its output ends:\n{output[-2000:]}\nrebuild the sandbox image with `lmc image build --force`"
            )
        ok = True
    finally:
        docker_client.remove(api, container)
        if not ok:
            with docker_errors(f"remove the failed runtime volume {name}"):
                api.remove_volume(name, force=True)
    log.info("collected the lmc runtime into volume %s in %.1f s", name, time.monotonic() - started)


def _exists(api: Any, name: str) -> bool:
    # checked at every start: Docker would quietly create a missing named volume, empty, on mount
    docker = import_docker()
    with docker_errors(f"inspect the runtime volume {name}"):
        try:
            api.inspect_volume(name)
        except docker.errors.NotFound:
            return False
    return True


def _prune(api: Any, keep: str) -> None:
    """Remove runtime volumes of older code or images that nothing uses and that are not new."""
    docker = import_docker()
    with docker_errors("list runtime volumes"):
        volumes = api.volumes(filters={"label": LABEL}).get("Volumes") or []
    cutoff = time.time() - PRUNE_AGE
    for volume in volumes:
        name = volume.get("Name", "")
        created = _timestamp(volume.get("CreatedAt", ""))
        if name == keep or created is None or created > cutoff:
            continue  # a new one may be another checkout's, about to be used
        try:
            api.remove_volume(name)
            log.info("removed the unused runtime volume %s", name)
        except docker.errors.APIError:
            pass  # in use by a container: it stays


def _timestamp(text: str) -> float | None:
    from datetime import datetime

    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def ensure_runtime(api: Any) -> str:
    """The runtime volume's name on this daemon, collecting it first if missing (thread-safe).

    ImageMissing (saying to run `lmc image build`) when the lmc sandbox image is not built.
    """
    key = str(getattr(api, "base_url", ""))
    known = _ready.get(key)
    if known is not None and _exists(api, known):
        return known
    from executors.docker.image import default_tag

    image = default_tag()
    with docker_errors(f"find the lmc sandbox image {image}, which the task runtime is collected from"):
        image_id = api.inspect_image(image)["Id"]
    name = volume_name(image_id)
    with _lock, _host_lock(name):
        if _ready.get(key) != name or not _exists(api, name):
            if not _complete(api, name, image):
                _collect(api, name, image)
                _prune(api, keep=name)
            _ready[key] = name
    return name
