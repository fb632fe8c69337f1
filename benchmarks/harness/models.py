"""Which model a trial uses: a litellm name, the embedded local model, or a pseudo-model.

The pseudo-models (`oracle`, `null`) ship in the product (orchestrator/models/pseudo.py);
this module only gives the oracle its code, a task's solution/solve.sh run the way
Harbor's oracle runs it, and serves them to a trial over the full pipeline
(scripted OpenAI-compatible server -> litellm -> Interpreter -> executor).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from benchmarks.harness.errors import TaskInvalid
from benchmarks.harness.task import Task
from orchestrator.models import pseudo

PSEUDO = pseudo.PSEUDO_MODELS
#: the name that selects the embedded SmolLM2 (each session serves it, replies capped at 512 tokens)
LOCAL = "local"


@dataclass(frozen=True)
class ModelChoice:
    """One model of a benchmark run."""

    name: str  #: as given on the command line and shown in results
    settings: dict[str, Any] = field(default_factory=dict)  #: Settings fields for its sessions

    @property
    def pseudo(self) -> bool:
        """Whether this is a built-in pseudo-model."""
        return self.name in PSEUDO


def oracle_code(task: Task, solution_dir: str, logs_dir: str) -> str:
    """The shell code the oracle sends: Harbor's `bash /solution/solve.sh` with [solution] env.

    Like Harbor: DEBIAN_FRONTEND=noninteractive, stdin closed, run from the working dir. Its output
    goes to <logs>/agent/oracle.txt and its exit status to <logs>/agent/oracle-exit-code.txt.
    """
    if task.solution is None:
        raise TaskInvalid(str(task.path), ["the oracle needs solution/solve.sh; add one"])
    env = {"DEBIAN_FRONTEND": "noninteractive", **task.solution_env}
    assigns = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    agent = f"{logs_dir}/agent"
    return (f"mkdir -p {shlex.quote(agent)}\n"
            f"env {assigns} bash {shlex.quote(solution_dir + '/solve.sh')} < /dev/null 2>&1 "
            f"| tee {shlex.quote(agent + '/oracle.txt')}\n"
            "__lmc_status=${PIPESTATUS[0]}\n"
            f"echo \"$__lmc_status\" > {shlex.quote(agent + '/oracle-exit-code.txt')}\n"
            '(exit "$__lmc_status")')


class PseudoServer:
    """A pseudo-model served for one trial (closed with the trial)."""

    def __init__(self, model: str, task: Task, solution_dir: str = "/solution", logs_dir: str = "/logs") -> None:
        code = oracle_code(task, solution_dir, logs_dir) if model == "oracle" else None
        self.server = pseudo.PseudoServer(model, code)

    def settings(self, model: str) -> dict[str, Any]:
        """Settings that point a session at this server."""
        return self.server.settings()

    def close(self) -> None:
        """Stop serving."""
        self.server.close()
