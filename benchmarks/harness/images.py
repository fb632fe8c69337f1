"""A task's environment image, made as Harbor makes it, built once per content and offline.

    ensure_image(task, image_map)  -> BuiltImage(tag, seconds, cached)
    missing_bases(task, image_map) -> images the build would need but the daemon lacks (for the linter)
    parse_image_map(["ubuntu:24.04=lmc-base:noble"]) -> {"ubuntu:24.04": "lmc-base:noble"}

The image is `[environment] docker_image` when the task names one and the
daemon has it (Harbor's prebuilt image is the task's Dockerfile, built and
pushed), else environment/Dockerfile built with environment/ as its context
(.dockerignore honoured). The context tar is made here, so FROM and COPY --from
images can be rewritten through the image map (`--image-map
ubuntu:24.04=LOCAL`) for machines without a registry: lmc never pulls. A mapped
base brings its own USER: RUN steps that need root (apt-get) need a base that
runs as root. The tag is `lmc-env/<task>:<hash>`, the hash covering the
context's files and the ids of the base images, so an unchanged task is built
once and a changed one (or a rebuilt base) again. Parallel trials of a task
wait on a per-tag lock rather than build twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import re
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from benchmarks.harness import dockerfile as df
from benchmarks.harness.errors import BenchError, EnvironmentFailed
from benchmarks.harness.task import Task

log = logging.getLogger(__name__)

#: repository of the images built from task Dockerfiles
REPOSITORY = "lmc-env"
#: bump when what the content hash covers changes, so old tags are not reused
HASH_VERSION = b"lmc-env-1"
#: compose files Harbor reads; lmc runs one container per task
COMPOSE_FILES = ("docker-compose.yaml", "docker-compose.yml", "compose.yaml", "compose.yml")
#: output lines quoted when a build fails
TAIL = 15
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_STEP = re.compile(r"^Step (\d+/\d+) : (.*)$")


class ImageMapInvalid(BenchError, ValueError):
    """An --image-map entry is not IMAGE=LOCAL_IMAGE."""


@dataclass(frozen=True)
class BuiltImage:
    """The image a task's trial runs in."""

    tag: str  #: the image reference to start containers from
    seconds: float  #: how long ensure_image took (hashing and lookup, plus the build when one ran)
    cached: bool  #: True when no build ran (already built, or a prebuilt docker_image)


def parse_image_map(items: Iterable[str]) -> dict[str, str]:
    """{IMAGE: LOCAL_IMAGE} from "IMAGE=LOCAL_IMAGE" strings; ImageMapInvalid names a malformed one."""
    mapping: dict[str, str] = {}
    for item in items:
        image, equals, local = (part.strip() for part in item.partition("="))
        if not equals or not image or not local or "=" in local or any(c.isspace() for c in image + local):
            raise ImageMapInvalid(f"--image-map {item!r} is not IMAGE=LOCAL_IMAGE; write it like "
                                  "ubuntu:24.04=lmc-sandbox:latest (the image a Dockerfile names = one you have)")
        key = normalize(image)
        if mapping.get(key, local) != local:
            raise ImageMapInvalid(f"--image-map maps {image} twice ({mapping[key]} and {local}); keep one")
        mapping[key] = local
    return mapping


def normalize(ref: str) -> str:
    """An image reference in one spelling: docker.io/library/ubuntu -> ubuntu:latest."""
    ref = re.sub(r"^(?:docker\.io|index\.docker\.io|registry-1\.docker\.io)/", "", ref.strip())
    ref = ref.removeprefix("library/")
    last = ref.rsplit("/", 1)[-1]
    return ref if ":" in last or "@" in last else f"{ref}:latest"


def map_image(ref: str, image_map: dict[str, str] | None) -> str:
    """The local image to use for `ref`: its --image-map target, or itself."""
    return (image_map or {}).get(normalize(ref), ref)


def compose_file(environment: Path) -> Path | None:
    """The compose file in a task's environment/ folder, if it has one."""
    return next((environment / name for name in COMPOSE_FILES if (environment / name).is_file()), None)


def refuse_compose(task: Task) -> None:
    """EnvironmentFailed when the task's environment/ has a compose file: lmc runs one container per task."""
    compose = compose_file(task.environment_dir)
    if compose is not None:
        raise EnvironmentFailed(f"task {task.name}: environment/{compose.name} is not supported: lmc runs each "
                                "task in one container built from environment/Dockerfile (or [environment] "
                                "docker_image); fold the services into the Dockerfile, or run this task with Harbor")


def env_tag(task_name: str, digest: str) -> str:
    """`lmc-env/<task>:<digest>`, the task's name made a valid repository path."""
    parts = [re.sub(r"[^a-z0-9]+", "-", part.lower()).strip("-") for part in task_name.split("/")]
    return f"{REPOSITORY}/{'/'.join(p for p in parts if p) or 'task'}:{digest}"


# Docker -------------------------------------------------------------------------------------------------


def _api(docker_host: str | None) -> Any:
    from executors.docker import client as docker_client

    return docker_client.client(docker_host).api


def image_id(api: Any, ref: str) -> str | None:
    """The id of a local image, or None when the daemon does not have it (never pulls)."""
    from executors.docker.errors import docker_errors, import_docker

    docker = import_docker()
    with docker_errors(f"look up the image {ref}"):
        try:
            return str(api.inspect_image(ref)["Id"])
        except docker.errors.ImageNotFound:
            return None


def _missing_message(task: Task, missing: list[tuple[str, str]], where: str) -> str:
    """Which images (as named, and as mapped) are absent, and the two ways to provide them."""
    def one(image: str, local: str) -> str:
        return image + (f" (--image-map maps it to {local}, which is not present either)" if local != image else "")

    first = missing[0][0]
    if len(missing) == 1:
        what = f"the image {one(*missing[0])}, {where}, is not present locally"
    else:
        what = f"images {where} are not present locally: " + "; ".join(one(*pair) for pair in missing)
    return (f"task {task.name}: {what}, and lmc does not pull images (environments are built offline, from "
            f"local images only). Either load it: `docker load -i FILE` (FILE made where a registry is reachable, "
            f"with `docker save {first} -o FILE`), or use an image you have instead: "
            f"`--image-map {first}=LOCAL_IMAGE`")


def missing_bases(task: Task, image_map: dict[str, str] | None, docker_host: str | None = None) -> list[str]:
    """Images the task needs (after the image map) that the daemon lacks; DockerUnavailable if unreachable.

    A present docker_image is all a task needs; else its Dockerfile's bases (or the docker_image, if it has none).
    """
    api = _api(docker_host)
    if task.docker_image and (task.dockerfile is None or _prebuilt(api, task, image_map)):
        needed = [map_image(task.docker_image, image_map)]
    elif task.dockerfile is not None:
        needed = [map_image(b, image_map) for b in df.base_images(df.parse(task.dockerfile.read_text()))]
    else:
        needed = []
    unique = {normalize(ref): ref for ref in reversed(needed)}  # one entry per image, however spelled
    return [ref for ref in needed if unique[normalize(ref)] == ref and image_id(api, ref) is None]


def _prebuilt(api: Any, task: Task, image_map: dict[str, str] | None) -> str | None:
    """The task's docker_image (mapped) when the daemon has it."""
    local = map_image(task.docker_image, image_map) if task.docker_image else None
    return local if local is not None and image_id(api, local) is not None else None


# the build context -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Recipe:
    folder: Path  #: environment/
    files: list[str]  #: context paths after .dockerignore
    dockerfile: str  #: the Dockerfile's text, FROM / COPY --from rewritten through the image map
    digest: str  #: content hash (12 hex digits)
    rewrites: list[tuple[str, str]]  #: (image, local) pairs applied


def _recipe(task: Task, image_map: dict[str, str] | None, api: Any) -> _Recipe:
    folder, dockerfile = task.environment_dir, task.dockerfile
    if dockerfile is None:
        raise EnvironmentFailed(f"task {task.name} has no environment/Dockerfile and no [environment] "
                                "docker_image; add a Dockerfile (e.g. `FROM lmc-sandbox:latest`) or name an image")
    text = dockerfile.read_text()
    instructions = df.parse(text)
    digest = hashlib.sha256(HASH_VERSION)
    rewrites: list[tuple[str, str]] = []
    missing: list[tuple[str, str]] = []
    for image in df.base_images(instructions):
        local = _current_sandbox(map_image(image, image_map), api)
        found = image_id(api, local)
        if found is None:
            missing.append((image, local))
        digest.update(f"\0base\0{image}\0{found}".encode())
        if local != image:
            rewrites.append((image, local))
    if missing:
        raise EnvironmentFailed(_missing_message(task, missing, "named in environment/Dockerfile"))
    text = _rewrite(text, instructions, dict(rewrites))
    files = df.context_files(folder)
    digest.update(b"\0dockerfile\0" + text.encode())
    for path in files:
        digest.update(_file_digest(folder, path))
    return _Recipe(folder, files, text, digest.hexdigest()[:12], rewrites)


def _current_sandbox(image: str, api: Any) -> str:
    """lmc-sandbox:latest as this lmc's recipe builds it (lmc-sandbox:<hash>) when that image is present:
    `latest` names whichever recipe was built last on this daemon, maybe an older lmc's."""
    from executors.docker.image import LATEST, default_tag

    if normalize(image) != LATEST:
        return image
    current = default_tag()
    return current if image_id(api, current) is not None else image


def _file_digest(folder: Path, path: str) -> bytes:
    full = folder / path
    if path == "Dockerfile":
        return b""  # stands in the hash as its rewritten text
    if full.is_symlink():
        return f"\0link\0{path}\0{full.readlink()}".encode()
    if full.is_dir():
        return f"\0dir\0{path}".encode()
    with open(full, "rb") as handle:
        content = hashlib.file_digest(handle, "sha256").hexdigest()
    return f"\0file\0{path}\0{full.stat().st_mode & 0o777:o}\0{content}".encode()


def _rewrite(text: str, instructions: list[df.Instruction], mapping: dict[str, str]) -> str:
    """The Dockerfile with mapped FROM / COPY --from images; line numbers kept (Docker's errors cite them)."""
    if not mapping:
        return text
    lines = text.splitlines()
    variables = df.global_args(instructions)
    for instruction in instructions:
        new = None
        if instruction.keyword == "FROM":
            parts = instruction.args.split()
            if parts and df.expand(parts[0], variables) in mapping:
                new = " ".join(["FROM", *_flag_words(instruction.flags), mapping[df.expand(parts[0], variables)],
                                *parts[1:]])
        elif instruction.keyword in ("COPY", "ADD") and not instruction.heredocs:
            source = df.expand(instruction.flags.get("from", ""), variables)
            if source in mapping:
                flags = {**instruction.flags, "from": mapping[source]}
                new = " ".join([instruction.keyword, *_flag_words(flags), instruction.args])
        if new is not None:
            span = instruction.end_line - instruction.line + 1
            lines[instruction.line - 1:instruction.end_line] = [new] + [""] * (span - 1)
    return "\n".join(lines) + "\n"


def _flag_words(flags: Mapping[str, str]) -> list[str]:
    return [f"--{name}={value}" for name, value in flags.items()]


def _context_tar(recipe: _Recipe, out: IO[bytes]) -> None:
    from docker.utils.build import create_archive

    create_archive(root=str(recipe.folder), files=recipe.files, fileobj=out, gzip=True,
                   extra_files=[("Dockerfile", recipe.dockerfile)])


# building --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _tag_lock(tag: str) -> Iterator[None]:
    """Held while one trial (of any process on this host) builds a tag; others wait, then find it built."""
    folder = Path(tempfile.gettempdir()) / "lmc-env-locks"
    folder.mkdir(exist_ok=True)
    with open(folder / (re.sub(r"[^a-z0-9.-]+", "_", tag) + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class _Output:
    """Build output: to the log file and on_line, with the current step and its last lines kept for errors."""

    def __init__(self, log_path: Path | str | None, on_line: Callable[[str], None] | None) -> None:
        if log_path:
            Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        self.file = open(log_path, "a") if log_path else None  # noqa: SIM115  closed by close()
        self.on_line = on_line
        self.step = ""
        self.tail: deque[str] = deque(maxlen=TAIL)
        self._partial = ""

    def line(self, text: str) -> None:
        """One line of output."""
        match = _STEP.match(text)
        if match:
            self.step = f"step {match.group(1)} ({match.group(2).strip()})"
            self.tail.clear()
        elif text.strip() and not text.startswith((" ---> ", "Removing intermediate container")):
            self.tail.append(text)
        if self.file is not None:
            self.file.write(text + "\n")
            self.file.flush()
        if self.on_line is not None:
            self.on_line(text)

    def stream(self, chunk: str) -> None:
        """Text from Docker's stream, split into lines (a chunk may hold part of one)."""
        *done, self._partial = (self._partial + _ANSI.sub("", chunk)).split("\n")
        for text in done:
            self.line(text.rstrip("\r"))

    def end_stream(self) -> None:
        """Take a last line that had no newline."""
        if self._partial:
            self.line(self._partial)
            self._partial = ""

    def close(self) -> None:
        """Close the log."""
        self.end_stream()
        if self.file is not None:
            self.file.close()

    def where(self) -> str:
        """Where the whole output is, for an error message ("" without a log file)."""
        return f"\n  the whole build log: {self.file.name}" if self.file is not None else ""

    def quoted(self) -> str:
        """The kept last lines, indented, for an error message."""
        return "\n".join(f"    {t}" for t in self.tail) or "    (no output)"


def _hang_up(responses: list[Any], fired: threading.Event) -> None:
    """Close the build's connection: dockerd then cancels the build and removes its container."""
    import socket

    fired.set()
    for response in responses:
        try:
            response.raw._fp.fp.raw._sock.shutdown(socket.SHUT_RDWR)
        except (AttributeError, OSError):
            response.close()


def _build(task: Task, recipe: _Recipe, tag: str, docker_host: str | None, out: _Output) -> None:
    from executors.docker.errors import docker_errors, import_docker

    docker = import_docker()
    timeout = task.build_timeout
    with docker_errors("connect to Docker to build an environment image"):
        client = docker.DockerClient(base_url=docker_host) if docker_host else docker.from_env()
    responses: list[Any] = []  # the build's HTTP response, so a timeout can hang up on it
    client.api.hooks["response"].append(lambda response, *args, **kwargs: responses.append(response))
    fired = threading.Event()
    timer = threading.Timer(timeout, _hang_up, (responses, fired))
    timer.daemon = True
    error: dict[str, Any] | None = None
    finished = False  # the stream ended by itself (a timer firing just after cannot undo that)
    try:
        with tempfile.TemporaryFile() as context:
            _context_tar(recipe, context)
            timer.start()
            with docker_errors(f"build the environment of task {task.name}"):
                try:
                    for chunk in client.api.build(fileobj=context, custom_context=True, encoding="gzip", tag=tag,
                                                  decode=True, rm=True, forcerm=True, pull=False,
                                                  labels={"lmc.env.task": task.name}):
                        out.stream(str(chunk.get("stream") or ""))
                        if chunk.get("status"):
                            out.line(str(chunk["status"]))
                        if "error" in chunk:
                            error = chunk
                    finished = True
                except docker.errors.APIError as exc:
                    if fired.is_set() or not exc.is_client_error():
                        raise
                    raise EnvironmentFailed(f"task {task.name}: Docker refused environment/Dockerfile: "
                                            f"{exc.explanation or exc}") from exc
    except Exception:
        if not fired.is_set():
            raise
    finally:
        timer.cancel()
        client.close()
        out.end_stream()
    where = f" during {out.step}" if out.step else ""
    if fired.is_set() and not finished:
        raise EnvironmentFailed(f"task {task.name}: building its environment took longer than its "
                                f"build_timeout_sec ({timeout:g} s) and was stopped{where}; raise "
                                f"[environment] build_timeout_sec in task.toml if it needs longer. Last output:\n"
                                f"{out.quoted()}{out.where()}")
    if error is not None:
        message = _ANSI.sub("", str(error.get("error"))).strip()
        raise EnvironmentFailed(f"task {task.name}: building its environment failed{where}: {message}\n"
                                f"  last output:\n{out.quoted()}{out.where()}")


#: tags whose build failed in this process -> the error: a build is deterministic enough not to redo at once
_FAILED: dict[str, str] = {}


def ensure_image(task: Task, image_map: dict[str, str] | None = None, *, docker_host: str | None = None,
                 log_path: Path | str | None = None, on_line: Callable[[str], None] | None = None) -> BuiltImage:
    """The task's image, built unless an identical one exists; EnvironmentFailed says why it cannot be."""
    started = time.monotonic()
    refuse_compose(task)
    api = _api(docker_host)
    out = _Output(log_path, on_line)
    try:
        if task.docker_image:
            # Harbor's prebuilt image is the Dockerfile built and pushed: use it when present, else build
            local = _prebuilt(api, task, image_map)
            if local is not None:
                out.line(f"lmc: using the prebuilt image {local}")
                return BuiltImage(local, time.monotonic() - started, True)
            if task.dockerfile is None:
                raise EnvironmentFailed(_missing_message(task, [(task.docker_image, map_image(
                    task.docker_image, image_map))], "named by [environment] docker_image"))
            out.line(f"lmc: the prebuilt image {task.docker_image} is not present; building environment/Dockerfile")
        recipe = _recipe(task, image_map, api)
        tag = env_tag(task.name, recipe.digest)
        for image, local in recipe.rewrites:
            how = "--image-map" if normalize(image) in (image_map or {}) else "this lmc's sandbox image"
            out.line(f"lmc: {how}: {image} -> {local}")
        if image_id(api, tag) is None:
            with _tag_lock(tag):
                if tag in _FAILED:  # the same recipe failed in this process: its trials waiting on it fail alike
                    out.line(f"lmc: {tag} failed to build earlier in this run; not building it again")
                    raise EnvironmentFailed(_FAILED[tag])
                if image_id(api, tag) is None:
                    out.line(f"lmc: building {tag} from {task.dockerfile} ({len(recipe.files)} context entries)")
                    log.info("building the environment of %s as %s", task.name, tag)
                    try:
                        _build(task, recipe, tag, docker_host, out)
                    except EnvironmentFailed as exc:
                        _FAILED[tag] = str(exc)
                        raise
                    if image_id(api, tag) is None:
                        raise EnvironmentFailed(f"task {task.name}: the build ended but left no image {tag}; "
                                                "see the build log")
                    seconds = time.monotonic() - started
                    log.info("built %s in %.1f s", tag, seconds)
                    return BuiltImage(tag, seconds, False)
        out.line(f"lmc: {tag} is already built")
        return BuiltImage(tag, time.monotonic() - started, True)
    finally:
        out.close()
