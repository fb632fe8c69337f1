"""Interpreter.usage: tokens, cost, model calls and wall time per message and per conversation,
counted from what the scripted model server reports over real HTTP through litellm."""

from __future__ import annotations

from typing import Any

from orchestrator.models.scripted_server import ScriptedServer, text, tool_call
from orchestrator.session.interpreter import Interpreter
from orchestrator.session.usage import Budget


def test_usage_adds_up_each_call_and_each_message(server: ScriptedServer, make_settings: Any, computer: Any) -> None:
    server.add(tool_call("python", "print(1)", usage=(100, 10)), text("one", usage=(120, 5)),
               text("two", usage=(200, 7)))
    interpreter = Interpreter(make_settings(model="openai/gpt-4o", max_tokens=10_000), computer=computer)
    assert interpreter.usage.total.steps == 0 and not interpreter.usage.running
    interpreter.chat("first")
    first = interpreter.usage
    assert (first.chat.steps, first.chat.prompt_tokens, first.chat.completion_tokens) == (2, 220, 15)
    assert first.chat.tokens == first.total.tokens == 235
    assert first.chat.cost is not None and first.chat.cost > 0  # gpt-4o has a price in litellm's table
    assert first.chat.wall_time > 0 and first.budget == Budget(20, 10_000, None)
    interpreter.chat("second")
    second = interpreter.usage
    assert (second.chat.steps, second.chat.tokens) == (1, 207)  # the budgets' measure: this message only
    assert (second.total.steps, second.total.tokens) == (3, 442)
    assert second.total.cost is not None and second.total.cost > first.total.cost
    assert second.total.wall_time > first.total.wall_time
    assert second.to_dict()["total"]["tokens"] == 442
    interpreter.reset()
    assert interpreter.usage.total.steps == 0  # a new conversation starts from nothing


def test_usage_is_readable_while_the_chat_waits_and_cost_is_unknown_without_a_price(
        server: ScriptedServer, make_settings: Any, computer: Any) -> None:
    server.add(tool_call("python", "print(1)", usage=(50, 5)), text("done", usage=(60, 2)))
    interpreter = Interpreter(make_settings(auto_run=False), computer=computer)  # openai/scripted: no price
    seen = []
    for chunk in interpreter.chat("go", stream=True):
        if chunk.type == "confirmation" and chunk.end:
            seen.append(interpreter.usage)
            interpreter.approve()
    assert seen[0].running and (seen[0].chat.steps, seen[0].chat.tokens) == (1, 55)
    final = interpreter.usage
    assert not final.running and (final.chat.steps, final.chat.tokens) == (2, 117)
    assert final.chat.cost is None and final.to_dict()["total"]["cost"] is None


def test_a_resumed_conversation_keeps_counting_from_its_saved_total(
        server: ScriptedServer, make_settings: Any, computer: Any) -> None:
    server.add(text("one", usage=(100, 10)), text("two", usage=(50, 5)))
    settings = make_settings(model="openai/gpt-4o")
    first = Interpreter(settings, computer=computer)
    first.chat("first")
    kept = first.usage.total
    first.close()
    resumed = Interpreter.load(first.id, settings, computer=computer)
    again = resumed.usage
    assert (again.total.steps, again.total.tokens, again.total.cost) == (1, 110, kept.cost)
    assert again.total.wall_time == kept.wall_time and again.chat.steps == 0  # no message of its own yet
    resumed.chat("second")
    assert (resumed.usage.total.steps, resumed.usage.total.tokens) == (2, 165)
    assert resumed.usage.chat.tokens == 55  # the budgets still measure each message alone
    resumed.store.delete(resumed.id)  # the usage goes with the transcript
    assert Interpreter(settings, computer=computer, conversation=resumed.id).usage.total.steps == 0
