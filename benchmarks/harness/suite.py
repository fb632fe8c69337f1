"""A suite: a folder of task folders (or one task folder), loaded and validated together."""

from __future__ import annotations

import logging
from pathlib import Path

from benchmarks.harness.errors import SuiteNotFound, TaskInvalid, UnknownTask
from benchmarks.harness.task import Task, check_task, inspect_task

log = logging.getLogger(__name__)

#: the built-in offline suite
BUILTIN = Path(__file__).resolve().parent.parent / "tasks"


def task_folders(path: str | Path) -> list[Path]:
    """The task folders under `path` (itself, if it is one), sorted by name."""
    root = Path(path)
    if (root / "task.toml").is_file():
        return [root]
    if not root.is_dir():
        raise SuiteNotFound(f"no suite at {path}: not a folder; pass a task folder or a folder of them "
                            f"(the built-in suite is {BUILTIN})")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and (p / "task.toml").is_file())
    if not folders:
        raise SuiteNotFound(f"no task folders in {path}: expected sub-folders holding task.toml")
    return folders


def check_suite(path: str | Path, *, need_solution: bool = False) -> dict[str, list[str]]:
    """Errors per task folder name (only tasks that have some); `lmc bench check` also lists warnings."""
    found = {folder.name: check_task(folder, need_solution=need_solution) for folder in task_folders(path)}
    return {name: problems for name, problems in found.items() if problems}


def load_suite(path: str | Path, names: list[str] | None = None, *, need_solution: bool = False) -> list[Task]:
    """The suite's tasks (only `names`, if given); TaskInvalid naming every broken task; warnings are logged."""
    folders = task_folders(path)
    if names:
        known = {f.name: f for f in folders}
        missing = [n for n in names if n not in known]
        if missing:
            raise UnknownTask(f"unknown task(s) {', '.join(missing)} in {path}; known: "
                              f"{', '.join(sorted(known)[:20])}{' ...' if len(known) > 20 else ''}")
        folders = [known[n] for n in names]
    tasks, problems = [], []
    for folder in folders:
        task, errors, warnings = inspect_task(folder, need_solution=need_solution)
        problems += [f"{folder.name}: {p}" for p in errors]
        for warning in warnings:
            log.warning("%s: %s", folder.name, warning)
        if task is not None:
            tasks.append(task)
    if problems:
        raise TaskInvalid(str(path), problems)
    return tasks
