"""Where a task's Harbor paths live in a sandbox without Docker, and how files get there.

Harbor runs a task in its own image: the working dir is the image's WORKDIR
(often /app), the verifier's tests are copied to /tests, and the reward is
written under /logs/verifier. The docker backend has those real paths. The
local and E2B backends have no image: every absolute path of the task's
Dockerfile is mapped under a per-trial root folder (benchmarks.harness.replay):

    backend   root                 working dir         tests               logs
    docker    /                    /app                /tests              /logs          (the real paths)
    local     <trial tmp>          <root>/app          <root>/tests        <root>/logs
    e2b       ~/lmc-trial          <root>/app          <root>/tests        <root>/logs

and the sandbox gets APP_DIR, TESTS_DIR and LOGS_DIR (except docker, whose
paths are the defaults), so task scripts say `cd "${APP_DIR:-/app}"` and run
unchanged under Harbor too. Files travel as a base64 tarball through the
sandbox's own shell, so staging works the same in every backend.
"""

from __future__ import annotations

import base64
import io
import posixpath
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.harness.errors import StagingFailed

#: a heredoc delimiter no task file is expected to contain
_EOF = "LMC_STAGE_EOF_7f3a"


@dataclass(frozen=True)
class Layout:
    """The Harbor paths of one trial inside its sandbox."""

    app: str  #: the task's working dir (Harbor's /app)
    tests: str  #: where tests/ is staged for verification (Harbor's /tests)
    logs: str  #: Harbor's /logs; the reward goes to <logs>/verifier/reward.txt
    env: dict[str, str]  #: variables the sandbox gets
    host_root: str | None = None  #: a host folder to delete when the trial ends (local backend)
    root: str = "/"  #: the folder the task's absolute paths live under ("/" in docker)

    def inside(self, path: str) -> str:
        """Where an absolute path of the task (a WORKDIR, a COPY destination) is in this sandbox."""
        normal = posixpath.normpath("/" + path.lstrip("/"))
        if self.root == "/":
            return normal
        return self.root.rstrip("/") + ("" if normal == "/" else normal)


def layout_for(backend: str) -> Layout:
    """A fresh layout for one trial in a backend."""
    if backend == "docker":
        return Layout("/app", "/tests", "/logs", {})
    if backend == "local":
        root = tempfile.mkdtemp(prefix="lmc-trial-")
        parts = {name: str(Path(root) / name) for name in ("app", "tests", "logs")}
        return Layout(parts["app"], parts["tests"], parts["logs"], _env(parts), host_root=root, root=root)
    root = "/home/user/lmc-trial"
    parts = {name: f"{root}/{name}" for name in ("app", "tests", "logs")}
    return Layout(parts["app"], parts["tests"], parts["logs"], _env(parts), root=root)


def _env(parts: dict[str, str]) -> dict[str, str]:
    return {"APP_DIR": parts["app"], "TESTS_DIR": parts["tests"], "LOGS_DIR": parts["logs"]}


def remove(layout: Layout) -> None:
    """Delete the trial's host folder, if it has one."""
    if layout.host_root:
        shutil.rmtree(layout.host_root, ignore_errors=True)


def tarball(folder: Path) -> str:
    """A folder's contents as a base64 gzip tarball (empty string when there is no folder)."""
    if not folder.is_dir():
        return ""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as tar:
        for item in sorted(folder.iterdir()):
            tar.add(item, arcname=item.name)
    return base64.encodebytes(data.getvalue()).decode()


def unpack_script(encoded: str, dest: str) -> str:
    """Shell code that makes `dest` and unpacks a tarball from tarball() into it."""
    script = f'mkdir -p "{dest}"'
    if encoded:
        script += f'\nbase64 -d > "{dest}/.lmc-stage.tgz" <<\'{_EOF}\'\n{encoded}{_EOF}\n'
        script += f'tar -xzf "{dest}/.lmc-stage.tgz" -C "{dest}" && rm -f "{dest}/.lmc-stage.tgz"'
    return script


def run_shell(computer: Any, code: str, what: str, timeout: float = 120.0) -> tuple[str, int]:
    """Run shell code in the sandbox: (console text, exit status); StagingFailed if the run broke."""
    messages = computer.run("shell", code, timeout=timeout)
    text = "".join(str(m.content) for m in messages if m.type == "console" and m.format == "output")
    status = next((int(m.content) for m in messages if m.type == "console" and m.format == "exit_code"), 0)
    errors = [m for m in messages if m.type == "error"]
    if errors:
        raise StagingFailed(f"{what} failed ({errors[0].format}): {errors[0].content}; output: {text[-400:]}")
    return text, status


def must_run(computer: Any, code: str, what: str, timeout: float = 120.0) -> str:
    """run_shell, and StagingFailed unless the code exits with status 0."""
    text, status = run_shell(computer, code, what, timeout)
    if status != 0:
        raise StagingFailed(f"{what} exited with status {status}; output: {text[-400:]}")
    return text
