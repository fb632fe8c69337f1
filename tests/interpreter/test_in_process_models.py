"""The shipped in-process models (ScriptedModel, FunctionModel) drive a real Interpreter and Computer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lmc.messages import Message
from orchestrator.errors import ModelError
from orchestrator.models.base import Model, TextDelta, ToolCall, Usage
from orchestrator.models.pseudo import PSEUDO_MODELS, pseudo_model, pseudo_script
from orchestrator.models.script import Reply, http_error, text, tool_call
from orchestrator.models.testing import FunctionModel, ScriptedModel
from orchestrator.session.interpreter import Interpreter


def _outputs(messages: list[Message]) -> str:
    return "".join(str(m.content) for m in messages if m.type == "console" and m.format == "output")


def test_a_scripted_model_runs_code_and_sees_its_output(make_settings: Any, computer: Any) -> None:
    model = ScriptedModel([tool_call("python", "print(6 * 7)"), text("It is 42.")])
    with Interpreter(make_settings(api_base="http://127.0.0.1:9/v1"), computer=computer, model=model) as it:
        new = it.chat("what is 6 * 7?")
    assert "42" in _outputs(new) and new[-2].content == "It is 42." and new[-1].content == "complete"
    assert model.served == 2
    assert model.requests[-1][-1]["role"] == "tool" and "42" in model.requests[-1][-1]["content"]


def test_in_text_mode_code_arrives_as_markdown_blocks(make_settings: Any, computer: Any) -> None:
    model = ScriptedModel([tool_call("shell", "echo from-a-block", content="Running it."), text("Done.")],
                          mode="text")
    with Interpreter(make_settings(mode="text"), computer=computer, model=model) as it:
        new = it.chat("go")
    codes = [m for m in new if m.type == "code"]
    assert [(m.format, m.content) for m in codes] == [("shell", "echo from-a-block")]
    assert "from-a-block" in _outputs(new) and new[-2].content == "Done."


def test_a_function_model_answers_from_the_messages(make_settings: Any, computer: Any) -> None:
    def reply(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> Reply:
        last = messages[-1]
        if last["role"] == "user":
            return tool_call("python", f"print(len({last['content']!r}))")
        return text(f"the tool said {last['content'].strip()}")

    model = FunctionModel(reply)
    with Interpreter(make_settings(), computer=computer, model=model) as it:
        new = it.chat("four")
    assert new[-2].content == "the tool said 4"


def test_scripted_errors_and_an_exhausted_script_say_what_to_do(make_settings: Any, computer: Any) -> None:
    events = list(ScriptedModel([text("hi", usage=(3, 1))]).stream([{"role": "user", "content": "x"}]))
    assert events[-1] == Usage(3, 1, 0.0) and isinstance(events[0], TextDelta)
    with pytest.raises(ModelError, match="script exhausted after 0 replies; add more"):
        list(ScriptedModel().stream([]))
    with pytest.raises(ModelError, match="answered 500"):
        list(ScriptedModel([http_error(500)]).stream([]))


def test_every_model_meets_the_protocol(make_settings: Any) -> None:
    from orchestrator.fleet.session import MeteredModel
    from orchestrator.models.local import client_for

    hosted, _ = client_for(make_settings())
    local, server = client_for(make_settings(local=True))
    assert server is not None  # made, not started: nothing is served until the first request
    for model in (hosted, local, ScriptedModel(), FunctionModel(lambda m, t: text("x")), MeteredModel(local)):
        assert isinstance(model, Model), type(model).__name__


def test_the_pseudo_models_ship_in_the_product(make_settings: Any, computer: Any, tmp_path: Path) -> None:
    assert PSEUDO_MODELS == ("oracle", "null")
    marker = tmp_path / "solved"
    with Interpreter(make_settings(), computer=computer, model=pseudo_model("oracle", f"touch {marker}")) as it:
        it.chat("solve the task")
    assert marker.exists() and it.messages[-1].content == "complete"
    null = pseudo_script("null")
    assert len(null) == 1 and not null[0].tool_calls
    calls = [e for e in pseudo_model("oracle", "true").stream([]) if isinstance(e, ToolCall)]
    assert len(calls) == 1 and calls[0].name == "execute"
    with pytest.raises(ValueError, match="the oracle pseudo-model needs the code it runs"):
        pseudo_script("oracle")
    with pytest.raises(ValueError, match="unknown pseudo-model 'orcale'; known: oracle, null"):
        pseudo_script("orcale")
