"""Code the model cannot run as given (a NUL character) is the model's mistake, told to the model.

It must not pass for a broken sandbox: the Fleet would retry it as infrastructure.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from executors.errors import InvalidCode
from lmc.assembly import assemble
from lmc.codec import decode_chunk
from lmc.framing import read_frame
from orchestrator.computer import Computer
from orchestrator.fleet.fleet import Fleet, FleetConfig, SessionSpec
from orchestrator.fleet.sandbox import SandboxConfig
from orchestrator.models.scripted_server import ScriptedServer, text, tool_call
from orchestrator.settings import Settings

NUL_CODE = "print('a')\0print('b')"


def test_the_computer_refuses_a_nul_and_says_what_to_fix() -> None:
    with Computer() as computer:
        with pytest.raises(InvalidCode, match="NUL character; remove it"):
            computer.run("python", NUL_CODE)
        with pytest.raises(InvalidCode, match="NUL character; remove it"):
            computer.run("python", NUL_CODE, stream=True)  # refused before anything runs
        assert [m.content for m in computer.run("python", "print(3)")] == ["3\n"]


@pytest.mark.parametrize("sandbox", ["local", pytest.param("docker", marks=pytest.mark.docker)])
def test_a_nul_in_the_models_code_is_not_retried_as_infra(tmp_path: Path, sandbox: str) -> None:
    with ScriptedServer(default=text("done")) as server:
        server.add(tool_call("python", NUL_CODE))
        settings = Settings(model="openai/scripted", api_base=server.url, api_key="x", mode="tools",
                            data_dir=tmp_path, context_window=32768, retry_delay=0.01, max_retries=1)
        [result] = list(Fleet(FleetConfig(sandbox=SandboxConfig(sandbox))).run([SessionSpec("nul", "go", settings)]))
    assert (result.failure, result.attempts, result.retried) == (None, 1, ())
    assert result.transcript is not None
    with open(result.transcript, "rb") as stream:
        chunks = list(iter(lambda: read_frame(stream), None))
    errors = [m for m in assemble(decode_chunk(c) for c in chunks) if m.type == "error"]
    assert [(m.format, "NUL character; remove it" in str(m.content)) for m in errors] == [("usage", True)]
