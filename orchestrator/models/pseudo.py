"""The pseudo-models `oracle` and `null`: scripts that check a task or a harness without a real model.

    oracle   runs the given code (a task's reference solution) as one shell tool call, then says it is done
    null     answers once without running anything

Each is a script of replies (orchestrator/models/script.py): play it in-process
with `pseudo_model`, or over real HTTP with `PseudoServer`, which also runs
litellm, so the benchmark harness checks the whole pipeline.
"""

from __future__ import annotations

from typing import Any

from orchestrator.errors import SettingsError
from orchestrator.models.script import Reply, text, tool_call
from orchestrator.models.scripted_server import ScriptedServer
from orchestrator.models.testing import ScriptedModel

#: The pseudo-models' names.
PSEUDO_MODELS = ("oracle", "null")


def pseudo_script(name: str, oracle_code: str | None = None) -> list[Reply]:
    """The replies of pseudo-model `name`; the oracle needs the shell code it runs."""
    if name == "null":
        return [text("I will not do anything.")]
    if name != "oracle":
        raise SettingsError(f"unknown pseudo-model {name!r}; known: {', '.join(PSEUDO_MODELS)}")
    if oracle_code is None:
        raise SettingsError("the oracle pseudo-model needs the code it runs: pseudo_script('oracle', code)")
    return [tool_call("shell", oracle_code), text("Done: I ran the reference solution.")]


def pseudo_model(name: str, oracle_code: str | None = None) -> ScriptedModel:
    """Pseudo-model `name` in-process (tools mode)."""
    return ScriptedModel(pseudo_script(name, oracle_code))


class PseudoServer:
    """Pseudo-model `name` served over HTTP on 127.0.0.1 (started here; close() when done)."""

    def __init__(self, name: str, oracle_code: str | None = None) -> None:
        self.name = name
        self.server = ScriptedServer(pseudo_script(name, oracle_code)).start()

    def settings(self) -> dict[str, Any]:
        """Settings fields that point a session at this server."""
        return {"model": f"openai/{self.name}", "api_base": self.server.url, "api_key": "pseudo",
                "mode": "tools", "context_window": 65536, "local": False}

    def close(self) -> None:
        """Stop serving."""
        self.server.close()
