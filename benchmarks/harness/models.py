"""Which model a trial uses: a litellm name, the embedded local model, or a pseudo-model.

Pseudo-models check the suite and the harness through the full pipeline
(scripted OpenAI-compatible server -> litellm -> Interpreter -> executor):

    oracle   replays the task's solution/solve.sh as one shell tool call, then says it is done
    null     answers once without running anything
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchmarks.harness.task import Task

PSEUDO = ("oracle", "null")
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


def oracle_code(task: Task) -> str:
    """The shell code the oracle sends: write solve.sh next to the logs, run it with bash."""
    assert task.solution is not None
    solve = task.solution.read_text()
    if not solve.endswith("\n"):
        solve += "\n"
    path = '"${LOGS_DIR:-/logs}/agent/solve.sh"'
    return f"cat > {path} <<'LMC_ORACLE_EOF'\n{solve}LMC_ORACLE_EOF\nbash {path}"


class PseudoServer:
    """A scripted model server for one trial of a pseudo-model (closed with the trial)."""

    def __init__(self, model: str, task: Task) -> None:
        # the scripted server is the tests' OpenAI-compatible fake; it speaks real HTTP on 127.0.0.1
        from tests.support.scripted_server import ScriptedServer, text, tool_call

        if model == "oracle":
            if task.solution is None:
                from benchmarks.harness.errors import TaskInvalid

                raise TaskInvalid(str(task.path), ["the oracle needs solution/solve.sh; add one"])
            script = [tool_call("shell", oracle_code(task)), text("Done: I ran the reference solution.")]
        else:
            script = [text("I will not do anything.")]
        self.server = ScriptedServer(script).start()

    def settings(self, model: str) -> dict[str, Any]:
        """Settings that point a session at this server."""
        return {"model": f"openai/{model}", "api_base": self.server.url, "api_key": "pseudo", "mode": "tools",
                "context_window": 65536, "local": False}

    def close(self) -> None:
        """Stop serving."""
        self.server.close()
