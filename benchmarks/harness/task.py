"""Task folders in the Harbor / Terminal-Bench 2 layout, read the way Harbor reads them.

    my-task/
      task.toml            schema_version (or version), [task], [metadata] (free-form), [agent],
                           [verifier], [environment] (+ .env, .healthcheck), [solution]; lmc adds
                           [agent] max_steps and [desktop]
      instruction.md       what the model is asked to do (leading canary comment lines dropped)
      environment/         Dockerfile, built with environment/ as its context (or [environment] docker_image)
      tests/test.sh        the verifier: writes a reward 0..1 to /logs/verifier/reward.txt (or reward.json)
      solution/solve.sh    the reference solution (the `oracle` pseudo-model replays it)

Like Harbor, keys nobody knows are ignored: `inspect_task` reports them as warnings,
never as errors. Errors are what Harbor refuses too (wrong types, impossible values)
plus missing files. `load_task` raises TaskInvalid listing every error with its fix.
The schema itself (sections, keys, their checks) is in taskschema.py.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.harness.errors import TaskInvalid
from benchmarks.harness.taskschema import DIFFICULTIES, check_config, size_mb

#: ${VAR} or ${VAR:-default}, the whole value (Harbor leaves any other value as written)
_TEMPLATE = re.compile(r"\$\{([^}:]+)(?::-(.*))?\}", re.DOTALL)
#: a leading instruction line that only marks the benchmark's canary (Harbor drops these)
_CANARY = re.compile(r"^(<!--.*canary.*-->|#.*canary.*)$", re.IGNORECASE)
NETWORK_MODES = ("public", "no-network", "allowlist")


@dataclass(frozen=True)
class DesktopSpec:
    """The [desktop] section (lmc's extension): a virtual screen and the GUI app started on it."""

    app: str  #: shell command run in the task's working dir, in the background
    width: int = 1024  #: screen width in pixels
    height: int = 768  #: screen height in pixels
    ready_window: str | None = None  #: wait until a window with this title exists
    ready_timeout_sec: float = 20.0  #: how long to wait for it


@dataclass(frozen=True)
class Healthcheck:
    """[environment.healthcheck]: run after the environment starts, before the agent (Docker's semantics)."""

    command: str  #: shell command; exit 0 means healthy
    interval_sec: float = 5.0  #: between attempts
    timeout_sec: float = 30.0  #: for one attempt
    start_period_sec: float = 0.0  #: failures in this grace period do not count
    start_interval_sec: float = 5.0  #: between attempts during the grace period
    retries: int = 3  #: consecutive failures before the environment is declared unhealthy


@dataclass(frozen=True)
class Task:
    """One task folder, its task.toml read with Harbor's defaults."""

    name: str  #: the folder's name (results and trial ids use it)
    path: Path  #: the folder
    instruction: str  #: instruction.md, without leading canary lines
    metadata: dict[str, Any] = field(default_factory=dict)  #: [metadata], free-form
    category: str = "uncategorized"  #: metadata.category
    difficulty: str = "medium"  #: metadata.difficulty
    tags: tuple[str, ...] = ()  #: metadata.tags, else [task] keywords
    schema_version: str = "1.0"  #: schema_version (or the older `version`)
    harbor_name: str | None = None  #: [task] name, "org/name", when the task has one
    agent_timeout: float | None = None  #: [agent] timeout_sec; None: no limit of its own
    agent_user: str | None = None  #: [agent] user; None: the image's USER
    max_steps: int | None = None  #: [agent] max_steps (lmc extension); None leaves the run's default
    verifier_timeout: float = 600.0  #: [verifier] timeout_sec
    verifier_env: dict[str, str] = field(default_factory=dict)  #: [verifier] env, unresolved (resolve_env)
    verifier_user: str | None = None  #: [verifier] user; None: the image's USER
    solution_env: dict[str, str] = field(default_factory=dict)  #: [solution] env, unresolved
    docker_image: str | None = None  #: [environment] docker_image: a prebuilt image instead of the Dockerfile
    build_timeout: float = 600.0  #: [environment] build_timeout_sec
    cpus: float = 1.0  #: [environment] cpus
    memory_mb: int = 2048  #: [environment] memory_mb (or memory = "2G")
    storage_mb: int = 10240  #: [environment] storage_mb (or storage = "10G")
    gpus: int = 0  #: [environment] gpus
    gpu_types: tuple[str, ...] = ()  #: [environment] gpu_types; () for any
    network_mode: str = "public"  #: the environment's network: public, no-network or allowlist
    allowed_hosts: tuple[str, ...] = ()  #: [environment] allowed_hosts (allowlist; lmc cannot enforce it)
    agent_network_mode: str | None = None  #: [agent] network_mode; None: the environment's
    verifier_network_mode: str | None = None  #: [verifier] network_mode; None: the environment's
    allow_internet: bool = True  #: whether the environment has a network (network_mode public)
    env: dict[str, str] = field(default_factory=dict)  #: [environment] env, unresolved (resolve_env)
    workdir: str | None = None  #: the Dockerfile's final WORKDIR; None: unknown or the image's
    healthcheck: Healthcheck | None = None  #: [environment.healthcheck]
    mcp_servers: tuple[dict[str, Any], ...] = ()  #: [[environment.mcp_servers]] (lmc offers none)
    desktop: DesktopSpec | None = None  #: [desktop], for GUI tasks

    @property
    def environment_dir(self) -> Path:
        """environment/: the Dockerfile's build context."""
        return self.path / "environment"

    @property
    def dockerfile(self) -> Path | None:
        """environment/Dockerfile if the task has one."""
        path = self.environment_dir / "Dockerfile"
        return path if path.is_file() else None

    @property
    def solution_dir(self) -> Path:
        """solution/: uploaded to /solution for the oracle."""
        return self.path / "solution"

    @property
    def solution(self) -> Path | None:
        """solution/solve.sh if the task has one."""
        path = self.solution_dir / "solve.sh"
        return path if path.is_file() else None

    @property
    def tests(self) -> Path:
        """tests/: uploaded to /tests only for verification, so the model never sees them."""
        return self.path / "tests"

    @property
    def files(self) -> Path:
        """environment/files: lmc's older layout (copied into the working dir); Dockerfile COPY replaces it."""
        return self.environment_dir / "files"

    @property
    def setup(self) -> Path | None:
        """environment/setup.sh of lmc's older layout (run in the working dir); Dockerfile RUN replaces it."""
        path = self.environment_dir / "setup.sh"
        return path if path.is_file() and self.dockerfile is None else None

    def network_for(self, phase: str) -> str:
        """The network mode of a phase ("agent" or "verifier"): its own, else the environment's."""
        own = {"agent": self.agent_network_mode, "verifier": self.verifier_network_mode}.get(phase)
        return own or self.network_mode

    def internet_for(self, phase: str) -> bool:
        """Whether a phase gets a network: only "public" does (lmc cannot allow single hosts)."""
        return self.network_for(phase) == "public"


def resolve_env(mapping: Mapping[str, str], environ: Mapping[str, str], *, where: str = "task.toml") -> dict[str, str]:
    """Harbor's templates: a value that is exactly ${VAR} or ${VAR:-default} comes from `environ`.

    Any other value is kept as written. A ${VAR} whose variable is not set (and has no
    default) raises TaskInvalid naming it and how to set it.
    """
    resolved, missing = {}, []
    for key, value in mapping.items():
        match = _TEMPLATE.fullmatch(value)
        if match is None:
            resolved[key] = value
        elif match.group(1) in environ:
            resolved[key] = environ[match.group(1)]
        elif match.group(2) is not None:
            resolved[key] = match.group(2)
        else:
            missing.append(f"{where}: {key} = {value!r} needs the host variable {match.group(1)}, which is not "
                           f"set; export {match.group(1)}=... before running, or give a default: "
                           f"${{{match.group(1)}:-value}}")
    if missing:
        raise TaskInvalid(where, missing)
    return resolved


def strip_canary(text: str) -> str:
    """The instruction without its leading canary comment lines and the blank lines after them."""
    lines = text.split("\n")
    start = 0
    while start < len(lines) and _CANARY.match(lines[start].strip()):
        start += 1
    while start < len(lines) and not lines[start].strip():
        start += 1
    return "\n".join(lines[start:])


def _read_toml(path: Path, errors: list[str]) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        errors.append("task.toml is missing; create it (see benchmarks/tasks/README.md for the fields)")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        errors.append(f"task.toml is not valid TOML ({exc}); fix the syntax")
    return {}


def _check_files(path: Path, errors: list[str], warnings: list[str], need_solution: bool) -> str:
    instruction = ""
    try:
        instruction = strip_canary((path / "instruction.md").read_text()).strip()
        if not instruction:
            errors.append("instruction.md is empty; write what the model should do")
    except FileNotFoundError:
        errors.append("instruction.md is missing; write what the model should do in it")
    if not (path / "tests" / "test.sh").is_file():
        errors.append("tests/test.sh is missing; it must write a reward 0..1 to /logs/verifier/reward.txt")
    if need_solution and not (path / "solution" / "solve.sh").is_file():
        errors.append("solution/solve.sh is missing; the built-in suite needs a reference solution")
    env = path / "environment"
    if env.exists() and not env.is_dir():
        errors.append("environment must be a folder holding the Dockerfile and its build context")
    elif ((env / "setup.sh").is_file() or (env / "files").is_dir()) and not (env / "Dockerfile").is_file():
        warnings.append("environment/files + setup.sh is lmc's older layout; write environment/Dockerfile "
                        "(COPY files/ ., RUN bash setup.sh) so Harbor and lmc's docker sandbox can build it")
    return instruction


def inspect_task(path: str | Path, *, need_solution: bool = False) -> tuple[Task | None, list[str], list[str]]:
    """(the Task or None, errors, warnings): every problem with a task folder, each with its fix."""
    folder = Path(path)
    if not folder.is_dir():
        return None, [f"{path} is not a folder; pass a task folder (with task.toml)"], []
    errors: list[str] = []
    warnings: list[str] = []
    data = _read_toml(folder / "task.toml", errors)
    config = check_config(data, errors, warnings)
    instruction = _check_files(folder, errors, warnings, need_solution)
    if errors:
        return None, errors, warnings
    return _task(folder, instruction, config, warnings), errors, warnings


def check_task(path: str | Path, *, need_solution: bool = False) -> list[str]:
    """Every error of a task folder, each with its fix; [] when it loads (warnings are not errors)."""
    return inspect_task(path, need_solution=need_solution)[1]


def load_task(path: str | Path, *, need_solution: bool = False) -> Task:
    """A Task from its folder; TaskInvalid listing every error otherwise."""
    task, errors, _ = inspect_task(path, need_solution=need_solution)
    if task is None:
        raise TaskInvalid(str(path), errors)
    return task


def _workdir(folder: Path) -> str | None:
    dockerfile = folder / "environment" / "Dockerfile"
    if not dockerfile.is_file():
        return None
    try:
        from benchmarks.harness import dockerfile as parser
    except ImportError:  # the Dockerfile reader arrives with the image builder
        return None
    try:
        workdir: str | None = parser.final_workdir(parser.parse(dockerfile.read_text(errors="replace")))
    except ValueError:
        return None  # the linter reports an unreadable Dockerfile; the builder refuses it
    return workdir


def _network(env: dict[str, Any], warnings: list[str]) -> tuple[str, tuple[str, ...]]:
    hosts = tuple(env.get("allowed_hosts", ()))
    mode = env.get("network_mode") or ("allowlist" if hosts else None)
    if mode is None:
        mode = "public" if env.get("allow_internet", True) else "no-network"
    elif "network_mode" in env and "allow_internet" in env and env["allow_internet"] != (mode == "public"):
        warnings.append(f"task.toml: [environment] network_mode = {mode!r} and allow_internet = "
                        f"{str(env['allow_internet']).lower()} disagree; network_mode wins (as in Harbor)")
    return mode, hosts


def _task(folder: Path, instruction: str, config: dict[str, Any], warnings: list[str]) -> Task:
    meta, agent, verifier = config["metadata"], config["agent"], config["verifier"]
    env, solution = config["environment"], config["solution"]
    mode, hosts = _network(env, warnings)
    for where, section in (("[environment]", env), ("[agent]", agent), ("[verifier]", verifier)):
        phase_mode = section.get("network_mode") or ("allowlist" if section.get("allowed_hosts") else None)
        if phase_mode == "allowlist":
            warnings.append(f"task.toml: {where} allowlist networking: lmc cannot allow single hosts "
                            f"({', '.join(section.get('allowed_hosts', ())) or 'none listed'}); that phase runs "
                            "with no network at all")
    difficulty = meta.get("difficulty", "medium")
    if not isinstance(difficulty, str) or difficulty not in DIFFICULTIES:
        warnings.append(f"task.toml: [metadata] difficulty {difficulty!r} is not one of {', '.join(DIFFICULTIES)}; "
                        "lmc's reports show it as written")
    tags = meta.get("tags", config["task"].get("keywords", []))
    health = env.get("healthcheck")
    desktop = config.get("desktop")
    users = {name: None if section.get("user") is None else str(section["user"])
             for name, section in (("agent", agent), ("verifier", verifier))}
    return Task(
        name=folder.resolve().name, path=folder.resolve(), instruction=instruction, metadata=dict(meta),
        category=str(meta.get("category", "uncategorized")), difficulty=str(difficulty),
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
        schema_version=str(config.get("schema_version", "1.0")),
        harbor_name=config.get("task", {}).get("name"),
        agent_timeout=None if agent.get("timeout_sec") is None else float(agent["timeout_sec"]),
        agent_user=users["agent"], max_steps=None if agent.get("max_steps") is None else int(agent["max_steps"]),
        verifier_timeout=float(verifier.get("timeout_sec", 600.0)), verifier_env=dict(verifier.get("env", {})),
        verifier_user=users["verifier"], solution_env=dict(solution.get("env", {})),
        docker_image=env.get("docker_image"), build_timeout=float(env.get("build_timeout_sec", 600.0)),
        cpus=float(env.get("cpus", 1)),
        memory_mb=size_mb(env["memory"]) if "memory" in env else int(env.get("memory_mb", 2048)),
        storage_mb=size_mb(env["storage"]) if "storage" in env else int(env.get("storage_mb", 10240)),
        gpus=int(env.get("gpus", 0)), gpu_types=tuple(env.get("gpu_types") or ()),
        network_mode=mode, allowed_hosts=hosts,
        agent_network_mode=agent.get("network_mode") or ("allowlist" if agent.get("allowed_hosts") else None),
        verifier_network_mode=verifier.get("network_mode") or ("allowlist" if verifier.get("allowed_hosts") else None),
        allow_internet=mode == "public", env=dict(env.get("env", {})), workdir=_workdir(folder),
        healthcheck=Healthcheck(**health) if health else None,
        mcp_servers=tuple(dict(s) for s in env.get("mcp_servers", ())),
        desktop=_desktop(desktop))


def _desktop(section: dict[str, Any] | None) -> DesktopSpec | None:
    if not section:
        return None
    values: dict[str, Any] = dict(section)
    values.update({k: int(values[k]) for k in ("width", "height") if k in values})
    return DesktopSpec(**values)
