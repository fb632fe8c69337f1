"""`lmc bench check`: lint task folders for what would really break a trial here, before running any.

    linter = Linter(image_map={"ubuntu:24.04": "my-ubuntu"})
    reports = linter.suite("path/to/tasks")      # [TaskReport(name, path, errors, warnings)]
    linter.notes                                  # checks that could not run here, and why

Errors are what makes a task unloadable or what Harbor itself refuses (a task.toml
of the wrong shape, missing files, no environment). Everything else is a warning:
keys nobody knows, features lmc does not carry out (GPUs, allowlist networking,
MCP servers, compose files), images not available locally, COPY sources missing from
the build context, a working dir the task's user cannot write, limits beyond this
machine, host variables not set, a verifier that needs the network it does not have.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.harness.errors import TaskInvalid
from benchmarks.harness.images import compose_file
from benchmarks.harness.suite import BUILTIN, task_folders
from benchmarks.harness.task import Task, inspect_task, resolve_env

ROOT_USERS = ("root", "0", "0:0", "root:root")
#: shell that fetches from the network: package managers, downloads, uv
_FETCHES = re.compile(r"\b(?:apt-get|apt|apk|yum|dnf)\s+(?:-\S+\s+)*(?:update|install)\b|\bcurl\s|\bwget\s|"
                      r"\bpip3?\s+install\b|\buvx?\s|\bnpm\s+(?:install|ci)\b|\bgit\s+clone\b")


@dataclass
class TaskReport:
    """What the linter found in one task folder."""

    name: str  #: the folder's name
    path: Path  #: the folder
    errors: list[str] = field(default_factory=list)  #: the task cannot load or Harbor refuses it
    warnings: list[str] = field(default_factory=list)  #: it loads, but this will break or be ignored here

    @property
    def valid(self) -> bool:
        """Whether the task has no errors (warnings allowed)."""
        return not self.errors


@dataclass(frozen=True)
class Host:
    """What the linter compares tasks against: this machine."""

    cpus: int  #: CPUs Docker can give a container
    memory_mb: int  #: physical memory
    gpu: bool  #: an NVIDIA GPU is present
    environ: Mapping[str, str]  #: variables [verifier]/[solution]/[environment] env may read

    @staticmethod
    def here() -> Host:
        """This machine."""
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
        gpu = Path("/dev/nvidia0").exists() or any(Path("/proc/driver/nvidia/gpus").glob("*"))
        return Host(cpus=os.cpu_count() or 1, memory_mb=memory, gpu=gpu, environ=dict(os.environ))


class Linter:
    """Lints task folders against this machine; `notes` says which checks could not run, and why."""

    def __init__(self, *, need_solution: bool = False, image_map: Mapping[str, str] | None = None,
                 docker_host: str | None = None, check_images: bool = True, host: Host | None = None) -> None:
        self.need_solution = need_solution
        self.image_map = dict(image_map or {})  #: FROM image -> local image
        self.docker_host = docker_host  #: Docker daemon URL; None for DOCKER_HOST or the local socket
        self.check_images = check_images  #: False skips the FROM-image check (it asks Docker)
        self.host = host or Host.here()
        self.notes: list[str] = []

    def suite(self, path: str | Path) -> list[TaskReport]:
        """A report per task folder under path (or of path itself)."""
        return [self.task(folder) for folder in task_folders(path)]

    def task(self, path: str | Path) -> TaskReport:
        """Every error and warning of one task folder."""
        folder = Path(path)
        task, errors, warnings = inspect_task(folder, need_solution=self.need_solution)
        report = TaskReport(folder.name, folder, list(errors), list(warnings))
        compose = compose_file(folder / "environment")
        if compose:
            report.warnings.append(f"environment/{compose.name}: lmc does not run multi-container (compose) "
                                   "tasks; its trials will fail with an environment error")
        if task is None:
            return report
        if task.dockerfile is None and task.docker_image is None and not compose:
            report.errors.append("there is no environment/Dockerfile and no [environment] docker_image; write a "
                                 "Dockerfile (FROM an image, WORKDIR /app, COPY the task's files) or name an image")
        report.warnings += _resources(task, self.host) + _host_env(task, self.host.environ) + _network(task)
        if task.dockerfile is not None:
            report.warnings += self._dockerfile(task)
        report.warnings += [f"image {image} is not available locally (lmc pulls nothing): `docker load -i FILE` "
                            f"it, or run with --image-map {image}=LOCAL_IMAGE" for image in self._missing(task)]
        return report

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def _dockerfile(self, task: Task) -> list[str]:
        try:
            from benchmarks.harness import dockerfile
        except ImportError as exc:  # the Dockerfile reader lands with the image builder
            self._note(f"Dockerfiles were not checked: the Dockerfile reader is not available ({exc})")
            return []
        return _dockerfile(task, dockerfile)

    def _missing(self, task: Task) -> list[str]:
        """Images the task needs that are not present locally; [] (and a note) when this cannot be checked."""
        if not self.check_images:
            return []
        try:
            from benchmarks.harness import images
        except ImportError as exc:  # the image builder lands separately
            self._note(f"FROM images were not checked: the image builder is not available ({exc})")
            self.check_images = False
            return []
        from executors.docker.errors import DockerFailed, DockerUnavailable

        try:
            found: list[str] = images.missing_bases(task, self.image_map, docker_host=self.docker_host)
        except (DockerUnavailable, DockerFailed) as exc:
            self._note(f"FROM images were not checked: Docker is not reachable ({exc})")
            self.check_images = False
            return []
        return found


def _resources(task: Task, host: Host) -> list[str]:
    found = []
    if task.gpus > 0:
        found.append(f"[environment] gpus = {task.gpus}: " + (
            "lmc does not attach GPUs to task containers yet" if host.gpu else
            "this machine has no GPU, and lmc does not attach GPUs to task containers; the task will likely fail"))
    if task.cpus > host.cpus:
        found.append(f"[environment] cpus = {task.cpus:g} but this machine has {host.cpus}; Docker refuses a "
                     "container more CPUs than the host has")
    if task.memory_mb > host.memory_mb:
        found.append(f"[environment] memory is {task.memory_mb} MB but this machine has {host.memory_mb} MB")
    return found


def _host_env(task: Task, environ: Mapping[str, str]) -> list[str]:
    found = []
    for where, mapping in (("[environment] env", task.env), ("[verifier] env", task.verifier_env),
                           ("[solution] env", task.solution_env)):
        try:
            resolve_env(mapping, environ, where=where)
        except TaskInvalid as exc:
            found += exc.problems
    return found


def _texts(folder: Path) -> str:
    """The text of a folder's small files, joined (binary files skipped)."""
    parts = []
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if path.is_file() and path.stat().st_size < 1_000_000:
            try:
                parts.append(path.read_text())
            except UnicodeDecodeError:
                continue
    return "\n".join(parts)


def _network(task: Task) -> list[str]:
    found = []
    tests = _texts(task.tests)
    if "reward" not in tests:
        found.append("tests/ never mentions reward.txt or reward.json; test.sh must write the reward to "
                     "/logs/verifier/reward.txt, or every trial errors")
    for phase, folder, what in (("verifier", task.tests, "tests/"), ("agent", task.solution_dir, "solution/")):
        if not task.internet_for(phase) and _FETCHES.search(_texts(folder)):
            found.append(f"{what} downloads (apt-get, pip, curl, uv...) but the {phase} has no network "
                         f"(network_mode {task.network_for(phase)!r}); it fails unless the image has it all")
    return found


def _dockerfile(task: Task, df: Any) -> list[str]:
    """Warnings about the Dockerfile; df is the Dockerfile reader (benchmarks.harness.dockerfile)."""
    assert task.dockerfile is not None
    instructions = df.parse(task.dockerfile.read_text(errors="replace"))
    stages = df.stages(instructions)
    if not stages:
        return ["environment/Dockerfile has no FROM; the build will fail"]
    found = _copy_sources(task, df, stages, df.global_args(instructions))
    workdir, user = df.final_workdir(instructions), df.final_user(instructions)
    if workdir is None:
        found.append("environment/Dockerfile sets no WORKDIR: the agent and tests/test.sh start in the base "
                     "image's working dir (/ for most images); add WORKDIR /app")
    elif user is not None and user not in ROOT_USERS and not _created(workdir, stages[-1].instructions):
        found.append(f"environment/Dockerfile: WORKDIR {workdir} is never created by the task, so Docker makes "
                     f"it owned by root and USER {user} cannot write in it (unless the base image has it); "
                     f"RUN mkdir -p {workdir} && chown {user} {workdir} before USER {user}")
    return found


def _created(workdir: str, instructions: tuple[Any, ...]) -> bool:
    for instruction in instructions:
        if instruction.keyword == "RUN" and workdir in instruction.args:
            return True
        if instruction.keyword in ("COPY", "ADD") and "chown" in instruction.flags:
            return True
    return False


def _copy_sources(task: Task, df: Any, stages: list[Any], inherited: dict[str, str]) -> list[str]:
    context = set(df.context_files(task.environment_dir))
    found = []
    for stage in stages:
        variables: dict[str, str] = {}
        for instruction in stage.instructions:
            if instruction.keyword == "ARG":
                variables.update(df.arg_values(instruction, variables, {}, inherited))
            elif instruction.keyword == "ENV":
                variables.update(df.env_values(instruction, variables))
            elif instruction.keyword in ("COPY", "ADD") and "from" not in instruction.flags:
                sources, _ = df.copy_paths(instruction, variables)
                heredocs = {doc.name for doc in instruction.heredocs}
                for source in sources:
                    if source in heredocs or re.match(r"[a-z]+://|git@", source):
                        continue
                    if not df.match_sources(source, context):
                        found.append(f"environment/Dockerfile line {instruction.line}: {instruction.keyword} "
                                     f"source {source!r} is not in the build context (environment/, after "
                                     ".dockerignore); the build will fail")
    return found


def check_command(args: argparse.Namespace) -> int:
    """Lint every task under args.path; print each task's errors (-) and warnings (!); 1 if any task is invalid."""
    path = BUILTIN if args.path == "builtin" else Path(args.path)
    image_map: dict[str, str] = {}
    notes = []
    if getattr(args, "image_map", None):
        try:
            from benchmarks.harness.images import parse_image_map
        except ImportError as exc:
            notes.append(f"--image-map ignored: the image builder is not available ({exc})")
        else:
            image_map = parse_image_map(list(args.image_map))
    linter = Linter(need_solution=args.need_solution, image_map=image_map,
                    docker_host=getattr(args, "docker_host", None))
    reports = linter.suite(path)
    for report in reports:
        if report.errors or report.warnings:
            state = "invalid" if report.errors else f"valid, {len(report.warnings)} warning(s)"
            print(f"{report.name}: {state}")
            print("".join(f"  - {e}\n" for e in report.errors) + "".join(f"  ! {w}\n" for w in report.warnings),
                  end="")
    for note in notes + linter.notes:
        print(f"note: {note}")
    valid = [r for r in reports if r.valid]
    print(f"{len(valid)} of {len(reports)} task(s) valid ({sum(1 for r in valid if r.warnings)} with warnings)")
    return 0 if len(valid) == len(reports) else 1
