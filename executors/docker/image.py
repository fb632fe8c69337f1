"""The sandbox image: its recipe's hash, whether it is present, and building it offline.

The recipe (executors/docker/recipe/build.sh and packages.txt) debootstraps Debian
bookworm into a folder and `docker import`s it: no registry needed. The image
is tagged `lmc-sandbox:<hash of the recipe>`, so it is built once and reused
until the recipe changes. Our own code is not in the image (see executors/docker/payload.py).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from executors.docker import client as docker_client
from executors.docker.errors import ImageBuildFailed, docker_errors

log = logging.getLogger(__name__)

RECIPE = Path(__file__).resolve().with_name("recipe")
RECIPE_FILES = ("build.sh", "packages.txt")
REPOSITORY = "lmc-sandbox"
#: a stable name for the current recipe's image, so Dockerfiles can say `FROM lmc-sandbox`
LATEST = f"{REPOSITORY}:latest"
STEP = "==> "


def _recipe_dir() -> Path:
    if not all((RECIPE / name).is_file() for name in RECIPE_FILES):
        raise ImageBuildFailed(
            f"the sandbox image recipe is not at {RECIPE} (expected {', '.join(RECIPE_FILES)}); "
            "reinstall lmc (its wheel ships the recipe), or set DockerConfig.image to an image you built"
        )
    return RECIPE


@functools.cache
def recipe_hash() -> str:
    """The first 12 hex digits of the SHA-256 of the recipe files."""
    digest = hashlib.sha256()
    for name in RECIPE_FILES:
        digest.update(name.encode() + b"\0" + (_recipe_dir() / name).read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def default_tag() -> str:
    """The tag of the image the current recipe builds."""
    return f"{REPOSITORY}:{recipe_hash()}"


@dataclass(frozen=True)
class ImageStatus:
    """What sandbox images the Docker daemon holds."""

    tag: str  #: the tag the current recipe builds
    present: bool  #: whether that image is present
    size_mb: float | None  #: its size, when present
    created: str | None  #: when it was built, when present
    stale: tuple[str, ...]  #: tags of images built from older recipes


def status() -> ImageStatus:
    """Whether the current recipe's image is built, and which older ones linger."""
    tag = default_tag()
    with docker_errors("list images"):
        images = docker_client.client().api.images(name=REPOSITORY)
    current = next((i for i in images if tag in (i.get("RepoTags") or [])), None)
    stale = tuple(t for i in images for t in (i.get("RepoTags") or []) if t not in (tag, LATEST))
    if current is None:
        return ImageStatus(tag, False, None, None, stale)
    built = datetime.fromtimestamp(current["Created"], UTC).strftime("%Y-%m-%d %H:%M UTC")
    return ImageStatus(tag, True, round(current["Size"] / 2**20, 1), built, stale)


def _check_tools() -> None:
    if os.geteuid() != 0:
        raise ImageBuildFailed(
            "building the sandbox image needs root (debootstrap and chroot); run `sudo lmc image build`, "
            f"or with a registry: `docker build -t {default_tag()} {RECIPE}`"
        )
    for tool in ("debootstrap", "tar", "docker"):
        if shutil.which(tool) is None:
            raise ImageBuildFailed(
                f"building the sandbox image needs `{tool}`; install it: apt-get install {tool}"
            )


def build(on_step: Callable[[str], None], on_line: Callable[[str], None] | None = None,
          force: bool = False, mirror: str | None = None) -> str:
    """Build the image unless present (or `force`); report steps and output lines; return its tag."""
    tag = default_tag()
    if not force and status().present:
        on_step(f"{tag} is already built")
        _tag_latest(tag)
        return tag
    _check_tools()
    docker_client.client()  # fail early, with the how-to-start hint, if the daemon is down
    cmd = ["sh", str(_recipe_dir() / "build.sh"), tag] + ([mirror] if mirror else [])
    tail: list[str] = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip("\n")
            tail = (tail + [line])[-15:]
            if line.startswith(STEP):
                on_step(line[len(STEP):])
            elif on_line is not None:
                on_line(line)
    if proc.returncode != 0:
        raise ImageBuildFailed(
            f"the image recipe failed with status {proc.returncode}; its last lines:\n" + "\n".join(tail)
        )
    _tag_latest(tag)
    return tag


def _tag_latest(tag: str) -> None:
    """Point lmc-sandbox:latest at the current recipe's image (task Dockerfiles build FROM it)."""
    with docker_errors(f"tag {tag} as {LATEST}"):
        docker_client.client().api.tag(tag, REPOSITORY, "latest", force=True)
