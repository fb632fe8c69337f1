"""What the Fleet is asked to run (SessionSpec, Budget, hooks) and what it returns (SessionResult)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from orchestrator.fleet.errors import FleetConfigError
from orchestrator.settings import Settings

if TYPE_CHECKING:
    from devices.desktop import DesktopConfig
    from orchestrator.computer import Computer


@dataclass(frozen=True)
class Budget:
    """Per-session limits; None is unlimited."""

    wall_time: float | None = None  #: seconds for the whole conversation, then it is stopped
    steps: int = 20  #: most model calls
    tokens: int | None = None  #: most prompt + completion tokens, as the API reports them
    cost: float | None = None  #: most USD, from litellm's cost accounting

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise FleetConfigError(f"Budget.steps must be at least 1, got {self.steps!r}")
        if self.wall_time is not None and self.wall_time <= 0:
            raise FleetConfigError(f"Budget.wall_time must be above 0 seconds, got {self.wall_time!r}")


@dataclass(frozen=True)
class SandboxPlan:
    """How one session's sandbox is set up; decided on the node where the session runs."""

    env: dict[str, str] = field(default_factory=dict)  #: variables set in the sandbox
    cwd: str | None = None  #: working directory of the local backend (others use their own)
    settings: dict[str, Any] = field(default_factory=dict)  #: Settings fields to override (a model started for it)
    #: an executor the hooks made themselves (e.g. in a task's own container); None: the fleet's backend
    executor: Any = None


class SessionHooks(Protocol):
    """What a caller adds around a session (the benchmark harness: staging and grading)."""

    def open(self, backend: str, desktop_env: dict[str, str]) -> SandboxPlan:
        """Before the sandbox exists: its environment, working dir and model overrides."""

    def prepare(self, computer: Computer) -> None:
        """After the sandbox started, before the model: stage files, start apps (SessionSetupFailed)."""

    def evaluate(self, computer: Computer) -> dict[str, Any]:
        """After the model, in the same sandbox: e.g. {"reward": 1.0} (VerifierFailed if it breaks)."""

    def close(self) -> None:
        """Free what open() made (always called)."""


@dataclass(frozen=True)
class SessionSpec:
    """One session for the Fleet: a prompt for a model in a fresh sandbox."""

    id: str  #: unique within the run; also the conversation id of the transcript
    prompt: str  #: the user's message
    settings: Settings  #: model, mode, data_dir...; auto_run and budgets are set by the Fleet
    budget: Budget = field(default_factory=Budget)  #: the session's limits
    desktop: DesktopConfig | None = None  #: a virtual desktop of this shape, or None for no screen
    hooks: SessionHooks | None = None  #: staging and evaluation around the session
    #: record the desktop into this video file (.mp4 or .mkv, on the session's node) while the session runs
    record: Path | None = None

    def __post_init__(self) -> None:
        if self.record is not None and self.desktop is None:
            raise FleetConfigError(f"session {self.id}: record={str(self.record)!r} needs a desktop to record; "
                                   "give the SessionSpec a desktop=DesktopConfig() or drop record")


@dataclass(frozen=True)
class SessionResult:
    """How one session ended (after retries)."""

    id: str  #: the SessionSpec's id
    status: str  #: the conversation's last status (complete, max_steps, budget, timeout, stuck) or "failed"
    failure: str | None  #: None or a class from fleet_errors.FAILURES
    detail: str  #: what failed, in words ("" when nothing did)
    attempts: int  #: 1 + retries used
    steps: int  #: model calls made
    prompt_tokens: int  #: prompt tokens, as the API reported
    completion_tokens: int  #: completion tokens, as the API reported
    cost: float  #: USD, from litellm
    wall_time: float  #: seconds of the last attempt
    evaluation: dict[str, Any] = field(default_factory=dict)  #: what the hooks' evaluate() returned
    transcript: str | None = None  #: path of the saved conversation
    retried: tuple[str, ...] = ()  #: "class: detail" of each failed attempt that was retried
    node: str = ""  #: where it ran (host name, Ray node id)

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens
