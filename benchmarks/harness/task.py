"""Tasks in the Terminal-Bench 2 / Harbor layout, extended with a [desktop] section.

    my-task/
      task.toml            metadata, timeouts, resources, network; [desktop] for GUI tasks
      instruction.md       what the model is asked to do
      environment/         optional: files/ copied into the task's working dir, setup.sh run there
      tests/test.sh        the verifier: writes a reward 0..1 to $LOGS_DIR/verifier/reward.txt (or .json)
      solution/solve.sh    the reference solution (the `oracle` pseudo-model replays it)

`load_task(path)` reads and validates a folder and raises TaskInvalid listing
every problem with its fix; `check_task(path)` returns the problems instead.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.harness.errors import TaskInvalid

#: known keys per section, with their types
SCHEMA: dict[str, dict[str, tuple[type, ...]]] = {
    "": {"version": (str,)},
    "metadata": {"author_name": (str,), "author_email": (str,), "difficulty": (str,), "category": (str,),
                 "tags": (list,)},
    "verifier": {"timeout_sec": (int, float), "env": (dict,)},
    "agent": {"timeout_sec": (int, float), "max_steps": (int,)},
    "environment": {"build_timeout_sec": (int, float), "docker_image": (str,), "cpus": (int, float),
                    "memory_mb": (int,), "storage_mb": (int,), "memory": (str,), "storage": (str,),
                    "allow_internet": (bool,)},
    "desktop": {"app": (str,), "width": (int,), "height": (int,), "ready_window": (str,),
                "ready_timeout_sec": (int, float)},
}
DIFFICULTIES = ("easy", "medium", "hard")


@dataclass(frozen=True)
class DesktopSpec:
    """The [desktop] section: a virtual screen and the GUI app started on it before the model."""

    app: str  #: shell command run in the task's working dir, in the background
    width: int = 1024  #: screen width in pixels
    height: int = 768  #: screen height in pixels
    ready_window: str | None = None  #: wait until a window with this title exists
    ready_timeout_sec: float = 20.0  #: how long to wait for it


@dataclass(frozen=True)
class Task:
    """One validated task folder."""

    name: str  #: the folder's name
    path: Path  #: the folder
    instruction: str  #: instruction.md
    category: str = "uncategorized"  #: metadata.category
    difficulty: str = "medium"  #: metadata.difficulty
    tags: tuple[str, ...] = ()  #: metadata.tags
    agent_timeout: float = 600.0  #: [agent] timeout_sec: the model's wall-time budget
    max_steps: int | None = None  #: [agent] max_steps (lmc extension); None leaves the run's default
    verifier_timeout: float = 120.0  #: [verifier] timeout_sec
    verifier_env: dict[str, str] = field(default_factory=dict)  #: [verifier] env
    allow_internet: bool = False  #: [environment] allow_internet
    cpus: float = 1.0  #: [environment] cpus
    memory_mb: int = 1024  #: [environment] memory_mb
    desktop: DesktopSpec | None = None  #: [desktop], for GUI tasks

    @property
    def solution(self) -> Path | None:
        """solution/solve.sh if the task has one."""
        path = self.path / "solution" / "solve.sh"
        return path if path.is_file() else None

    @property
    def files(self) -> Path:
        """environment/files: copied into the working dir before the model starts."""
        return self.path / "environment" / "files"

    @property
    def setup(self) -> Path | None:
        """environment/setup.sh: run in the working dir after the files are copied."""
        path = self.path / "environment" / "setup.sh"
        return path if path.is_file() else None

    @property
    def tests(self) -> Path:
        """tests/: staged only for verification, so the model never sees them."""
        return self.path / "tests"


def _read_toml(path: Path, problems: list[str]) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        problems.append("task.toml is missing; create it (see benchmarks/tasks/README.md for the fields)")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problems.append(f"task.toml is not valid TOML ({exc}); fix the syntax")
    return {}


def _check_schema(data: dict[str, Any], problems: list[str]) -> None:
    for key, value in data.items():
        if isinstance(value, dict):
            if key not in SCHEMA or key == "":
                problems.append(f"task.toml: unknown section [{key}]; known: "
                                f"{', '.join(s for s in SCHEMA if s)}")
                continue
            _check_keys(key, value, problems)
        else:
            _check_keys("", {key: value}, problems)


def _check_keys(section: str, values: dict[str, Any], problems: list[str]) -> None:
    known = SCHEMA[section]
    where = f"[{section}]" if section else "the top level"
    for key, value in values.items():
        if key not in known:
            problems.append(f"task.toml: unknown key {key!r} in {where}; known: {', '.join(known)}")
        elif not isinstance(value, known[key]) or (isinstance(value, bool) and bool not in known[key]):
            wanted = " or ".join(t.__name__ for t in known[key])
            problems.append(f"task.toml: {where} {key} must be {wanted}, got {value!r}")
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and value <= 0:
            problems.append(f"task.toml: {where} {key} must be above 0, got {value!r}")


def _check_files(path: Path, problems: list[str], need_solution: bool) -> str:
    instruction = ""
    try:
        instruction = (path / "instruction.md").read_text().strip()
        if not instruction:
            problems.append("instruction.md is empty; write what the model should do")
    except FileNotFoundError:
        problems.append("instruction.md is missing; write what the model should do in it")
    if not (path / "tests" / "test.sh").is_file():
        problems.append("tests/test.sh is missing; it must write a reward 0..1 to "
                        "${LOGS_DIR:-/logs}/verifier/reward.txt")
    if need_solution and not (path / "solution" / "solve.sh").is_file():
        problems.append("solution/solve.sh is missing; the built-in suite needs a reference solution")
    env = path / "environment"
    if env.exists() and not env.is_dir():
        problems.append("environment must be a folder (files/ and setup.sh inside)")
    return instruction


def check_task(path: str | Path, *, need_solution: bool = False) -> list[str]:
    """Every problem with a task folder, each with its fix; [] when it is valid."""
    try:
        load_task(path, need_solution=need_solution)
    except TaskInvalid as exc:
        return exc.problems
    return []


def load_task(path: str | Path, *, need_solution: bool = False) -> Task:
    """A Task from its folder; TaskInvalid listing every problem otherwise."""
    folder = Path(path)
    if not folder.is_dir():
        raise TaskInvalid(str(path), [f"{path} is not a folder; pass a task folder (with task.toml)"])
    problems: list[str] = []
    data = _read_toml(folder / "task.toml", problems)
    _check_schema(data, problems)
    instruction = _check_files(folder, problems, need_solution)
    meta, env = data.get("metadata", {}), data.get("environment", {})
    if isinstance(meta.get("difficulty"), str) and meta["difficulty"] not in DIFFICULTIES:
        problems.append(f"task.toml: [metadata] difficulty {meta['difficulty']!r} is not one of "
                        f"{', '.join(DIFFICULTIES)}")
    desktop = _desktop(data.get("desktop"), problems)
    if problems:
        raise TaskInvalid(str(folder), problems)
    agent, verifier = data.get("agent", {}), data.get("verifier", {})
    return Task(
        name=folder.resolve().name, path=folder.resolve(), instruction=instruction,
        category=meta.get("category", "uncategorized"), difficulty=meta.get("difficulty", "medium"),
        tags=tuple(str(t) for t in meta.get("tags", [])),
        agent_timeout=float(agent.get("timeout_sec", 600.0)), max_steps=agent.get("max_steps"),
        verifier_timeout=float(verifier.get("timeout_sec", 120.0)),
        verifier_env={str(k): str(v) for k, v in verifier.get("env", {}).items()},
        allow_internet=bool(env.get("allow_internet", False)), cpus=float(env.get("cpus", 1.0)),
        memory_mb=int(env.get("memory_mb", 1024)), desktop=desktop)


def _desktop(section: Any, problems: list[str]) -> DesktopSpec | None:
    if not isinstance(section, dict):
        return None
    if not isinstance(section.get("app"), str) or not section["app"].strip():
        problems.append("task.toml: [desktop] needs app = \"<command that starts the GUI app>\"")
        return None
    known = {k: section[k] for k in ("width", "height", "ready_window", "ready_timeout_sec") if k in section}
    return DesktopSpec(app=section["app"], **known)
