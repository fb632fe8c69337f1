"""Errors of the benchmark harness.

    LMCError (lmc.errors)
    └── BenchError
        ├── TaskInvalid (ValueError)          a task folder breaks the layout; lists every problem
        ├── SuiteNotFound (FileNotFoundError) no task folder at the path given
        ├── UnknownTask (LookupError)         --task names a task the suite does not have
        ├── BadResults (ValueError)           a results file is not the harness's JSONL
        ├── StagingFailed (SessionSetupFailed) copying a task into its sandbox failed (infrastructure)
        └── EnvironmentFailed (fleet EnvironmentFailed) the task's image could not be built or found
"""

from __future__ import annotations

from lmc.errors import LMCError
from orchestrator.fleet.errors import EnvironmentFailed as FleetEnvironmentFailed
from orchestrator.fleet.errors import SessionSetupFailed


class BenchError(LMCError):
    """Root of the harness's errors."""


class TaskInvalid(BenchError, ValueError):
    """A task folder does not follow the layout; `problems` lists each one with its fix."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"task {path} is invalid:\n{lines}")


class SuiteNotFound(BenchError, FileNotFoundError):
    """The suite path holds no task folder."""


class UnknownTask(BenchError, LookupError):
    """A task was asked for by a name the suite does not have."""


class BadResults(BenchError, ValueError):
    """A results file is missing or is not rows written by the harness."""


class StagingFailed(BenchError, SessionSetupFailed):
    """Copying task files into the sandbox, or the task's setup, failed: infrastructure, retried."""


class EnvironmentFailed(BenchError, FleetEnvironmentFailed):
    """The task's environment image could not be built or found (not retried, not the model's fault)."""
