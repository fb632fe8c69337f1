"""The conversation loop against real litellm, the scripted server and a real Computer."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from lmc.messages import Message
from orchestrator.models.scripted_server import (
    Reply,
    ScriptedServer,
    ToolCall,
    http_error,
    raw_tool_call,
    text,
    tool_call,
)
from orchestrator.session.interpreter import Interpreter


def _status(interpreter: Interpreter) -> str:
    return [m.content for m in interpreter.messages if m.type == "status"][-1]


def _outputs(interpreter: Interpreter) -> str:
    return "".join(m.content for m in interpreter.messages if m.type == "console" and m.format == "output")


def test_multi_step_task_runs_code_and_feeds_results_back(
    server: ScriptedServer, make_settings: Any, computer: Any, tmp_path: Path
) -> None:
    target = tmp_path / "note.txt"
    server.add(
        tool_call("python", f"open({str(target)!r}, 'w').write('hi from python')"),
        tool_call("shell", f"cat {target}; echo; echo lines=$(wc -c < {target})"),
        text("The file says hi."),
    )
    interpreter = Interpreter(make_settings(), computer=computer)
    chunks = list(interpreter.chat("write and read a file", stream=True))
    assert target.read_text() == "hi from python"
    assert "hi from python" in _outputs(interpreter) and "lines=14" in _outputs(interpreter)
    assert _status(interpreter) == "complete" and server.served == 3
    last = server.requests[-1]["messages"]
    assert last[0]["role"] == "system" and "python" in last[0]["content"]
    tool_results = [m["content"] for m in last if m["role"] == "tool"]
    assert len(tool_results) == 2 and "lines=14" in tool_results[1]
    assert server.requests[0]["tools"][0]["function"]["name"] == "execute"
    assert all(c.session == interpreter.id for c in chunks)
    assert [c.seq for c in chunks] == sorted(c.seq for c in chunks)


def test_markdown_mode_runs_a_bare_fence_as_python(
    server: ScriptedServer, make_settings: Any, computer: Any
) -> None:
    server.add(text("Computing:\n```\nprint(6 * 7)\n```\n"), text("It is 42."))
    interpreter = Interpreter(make_settings(mode="text"), computer=computer)
    interpreter.chat("6 times 7?")
    code = [m for m in interpreter.messages if m.type == "code"]
    assert code == [Message("assistant", "code", "print(6 * 7)", "python", interpreter.id, 2)]
    assert "42" in _outputs(interpreter)
    assert "tools" not in server.requests[0]
    assert server.requests[1]["messages"][-1]["content"].startswith("Code output:\n42")


def test_declined_confirmation_does_not_run_and_tells_the_model(
    server: ScriptedServer, make_settings: Any, computer: Any, tmp_path: Path
) -> None:
    target = tmp_path / "never.txt"
    server.add(tool_call("shell", f"touch {target}"), text("OK, I will not."))
    interpreter = Interpreter(make_settings(auto_run=False), computer=computer)
    seen = []
    for chunk in interpreter.chat("make a file", stream=True):
        seen.append(chunk.type)
        if chunk.type == "confirmation":
            assert chunk.content.content == f"touch {target}"
            interpreter.decline()
    assert "confirmation" in seen and not target.exists()
    assert "declined" in server.requests[1]["messages"][-1]["content"]


def test_approval_by_send_and_by_callback(server: ScriptedServer, make_settings: Any, computer: Any) -> None:
    server.add(
        tool_call("python", "print('ran 1')"), text("a"), tool_call("python", "print('ran 2')"), text("b")
    )
    interpreter = Interpreter(make_settings(auto_run=False), computer=computer)
    stream = interpreter.chat("one", stream=True)
    chunk = next(stream)
    while chunk.type != "confirmation":
        chunk = next(stream)
    rest = [stream.send(True), *stream]
    assert "ran 1" in "".join(c.content for c in rest if c.type == "console" and c.format == "output")
    asked: list[str] = []
    interpreter.chat("two", approve=lambda code: asked.append(code.content) is None)
    assert asked == ["print('ran 2')"] and "ran 2" in _outputs(interpreter)


def test_token_budget_stops_the_loop(server: ScriptedServer, make_settings: Any, computer: Any) -> None:
    server.add(tool_call("python", "print(1)", usage=(900, 200)), tool_call("python", "print(2)"))
    interpreter = Interpreter(make_settings(max_tokens=1000), computer=computer)
    interpreter.chat("count")
    assert _status(interpreter) == "budget" and server.served == 1


def test_cost_budget_uses_litellm_prices(server: ScriptedServer, make_settings: Any, computer: Any) -> None:
    # gpt-4o's price table entry makes litellm's cost accounting real; the scripted server answers as it.
    server.add(tool_call("python", "print(1)", usage=(100_000, 1000)), tool_call("python", "print(2)"))
    interpreter = Interpreter(make_settings(model="openai/gpt-4o", max_cost=0.10), computer=computer)
    interpreter.chat("count")
    assert _status(interpreter) == "budget" and server.served == 1


def test_max_steps(server: ScriptedServer, make_settings: Any, computer: Any) -> None:
    server.add(*[tool_call("python", f"print({i})") for i in range(5)])
    interpreter = Interpreter(make_settings(max_steps=3), computer=computer)
    interpreter.chat("loop")
    assert _status(interpreter) == "max_steps" and server.served == 3


def test_malformed_tool_calls_are_repaired_or_explained(
    server: ScriptedServer, make_settings: Any, computer: Any
) -> None:
    server.add(
        raw_tool_call('{"lang": "python", "source": "print(5 * 5)"}'),
        text('{"language": "python", "code": "print(7 * 7)"}'),
        raw_tool_call('{"language": "python", "code": "print(1'),
        tool_call("pyhton", "print(1)"),
        text("Done."),
    )
    interpreter = Interpreter(make_settings(), computer=computer)
    interpreter.chat("go")
    assert "25" in _outputs(interpreter) and "49" in _outputs(interpreter)
    sent = str(server.requests[3]["messages"][-1]["content"])
    assert "not valid JSON" in sent and "execute(language, code)" in sent
    sent = str(server.requests[4]["messages"][-1]["content"])
    assert "unknown language 'pyhton'; known:" in sent and "python" in sent
    assert _status(interpreter) == "complete"


def test_http_500_then_success(server: ScriptedServer, make_settings: Any, computer: Any) -> None:
    server.add(http_error(500), http_error(502), tool_call("python", "print('after errors')"), text("ok"))
    interpreter = Interpreter(make_settings(), computer=computer)
    interpreter.chat("go")
    assert "after errors" in _outputs(interpreter) and server.served == 4


def test_context_is_trimmed_to_the_window(make_settings: Any, computer: Any, tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    big = "print('x' * 6000)"
    # The server's real window is smaller than the one configured: the overflow error path trims too.
    with ScriptedServer(
        [tool_call("python", big), text("saw it"), tool_call("python", big), text("again")],
        context_window=1500,
    ) as srv:
        settings = make_settings(api_base=srv.url, context_window=3000, vision=True)
        interpreter = Interpreter(settings, computer=computer)
        interpreter.chat([Message("user", "image", png, "png"), Message("user", "message", "look")])
        interpreter.chat("and again")
        requests = srv.requests
    assert _status(interpreter) == "complete"
    last = requests[-1]["messages"]
    assert last[0]["role"] == "system" and any(m.get("content") == "and again" for m in last)
    assert "image_url" not in str(last), "old images go first"
    assert "characters of output trimmed" in str(last)
    assert "image_url" in str(requests[0]["messages"]), "the image went to the model while it fit"


def test_resume_after_restart(server: ScriptedServer, make_settings: Any, computer: Any) -> None:
    server.add(tool_call("python", "print('first run')"), text("first done"), text("second done"))
    settings = make_settings()
    first = Interpreter(settings, computer=computer)
    first.chat("first")
    saved = list(first.messages)
    first.store.close()
    again = Interpreter.load(first.id, settings, computer=computer)
    assert again.messages == saved
    again.chat("second")
    contents = [m.get("content") for m in server.requests[-1]["messages"]]
    assert "first" in contents and "first done" in contents and "second" in contents
    assert Interpreter.load(first.id, settings).messages[-2].content == "second done"


def test_stop_interrupts_running_code_and_keeps_the_session(
    server: ScriptedServer, make_settings: Any, computer: Any
) -> None:
    server.add(tool_call("shell", "sleep 30"), text("should not be asked"), text("still here"))
    interpreter = Interpreter(make_settings(), computer=computer)
    timer = threading.Timer(1.0, interpreter.stop)
    started = time.monotonic()
    timer.start()
    interpreter.chat("sleep")
    assert time.monotonic() - started < 15 and _status(interpreter) == "stopped"
    server.add(text("still here"))
    interpreter.chat("hello?")
    assert _status(interpreter) == "complete"


def test_stop_after_the_code_is_shown_and_before_it_runs_keeps_it_from_running(
    server: ScriptedServer, make_settings: Any, computer: Any, tmp_path: Path
) -> None:
    # The window a stop can fall in: the code approved (or shown, with auto-run), its run not yet
    # started, so there was nothing to interrupt and the stop was lost (the code ran 30 s).
    marker = tmp_path / "ran"
    server.add(tool_call("shell", f"touch {marker}; sleep 30"), text("should not be asked"))
    interpreter = Interpreter(make_settings(auto_run=False), computer=computer)

    def approve_then_stop(code: Message) -> bool:
        interpreter.stop()  # e.g. Ctrl-C right after answering "y": no run to interrupt yet
        return True

    started = time.monotonic()
    interpreter.chat("go", approve=approve_then_stop)
    assert _status(interpreter) == "stopped" and not marker.exists()
    assert time.monotonic() - started < 20
    result = interpreter.messages[-2]
    assert (result.type, result.format) == ("error", "interrupted") and "Not run" in str(result.content)
    server.add(text("still here"))
    interpreter.chat("hello?")  # the unrun tool call has its result: the next request is well formed
    assert _status(interpreter) == "complete"


def test_a_stop_between_making_a_chat_and_reading_it_stops_it_and_an_earlier_stop_does_not(
    server: ScriptedServer, make_settings: Any, computer: Any, tmp_path: Path
) -> None:
    # A server makes the chat on one thread and a stop can come from another before the first chunk
    # is read: that stop counts. A stop from before the chat was made (the last chat's) does not.
    marker = tmp_path / "ran"
    server.add(tool_call("shell", f"touch {marker}"), text("done"))
    interpreter = Interpreter(make_settings(), computer=computer)
    chunks = interpreter.chat("go", stream=True)
    interpreter.stop()
    list(chunks)
    assert _status(interpreter) == "stopped" and not marker.exists() and server.requests == []
    interpreter.chat("go again")  # the stop above belongs to the chat it stopped
    assert _status(interpreter) == "complete" and marker.exists() and len(server.requests) == 2


def test_undo_and_reset(server: ScriptedServer, make_settings: Any, computer: Any) -> None:
    server.add(text("one"), text("two"))
    interpreter = Interpreter(make_settings(), computer=computer)
    interpreter.chat("first")
    interpreter.chat("second")
    removed = interpreter.undo()
    assert removed[0].content == "second" and interpreter.messages[-2].content == "one"
    assert Interpreter.load(interpreter.id, interpreter.settings).messages == interpreter.messages
    old = interpreter.id
    interpreter.reset()
    assert interpreter.id != old and interpreter.messages == []


def test_two_tool_calls_in_one_reply_each_get_their_own_result(
    server: ScriptedServer, make_settings: Any, computer: Any
) -> None:
    calls = (
        ToolCall("execute", '{"language": "python", "code": "print(111)"}'),
        ToolCall("execute", '{"language": "shell", "code": "echo 222"}'),
    )
    server.add(Reply(tool_calls=calls), text("both ran"))
    interpreter = Interpreter(make_settings(), computer=computer)
    interpreter.chat("two at once")
    sent = server.requests[-1]["messages"]
    ids = [m["tool_calls"][0]["id"] for m in sent if m.get("tool_calls")]
    results = {m["tool_call_id"]: m["content"] for m in sent if m["role"] == "tool"}
    assert len(ids) == 2 and "111" in results[ids[0]] and "222" in results[ids[1]]


def test_tool_call_code_streams_as_it_is_written(
    server: ScriptedServer, make_settings: Any, computer: Any
) -> None:
    code = "total = 0\nfor i in range(10):\n    total += i\nprint('total', total, '\\u00e9')"
    server.add(
        Reply(
            tool_calls=(ToolCall("execute", json.dumps({"language": "python", "code": code})),), chunk_size=3
        ),
        text("45"),
    )
    interpreter = Interpreter(make_settings(), computer=computer)
    chunks = list(interpreter.chat("sum", stream=True))
    pieces = [c for c in chunks if c.type == "code"]
    assert pieces[0].start and pieces[-1].end and len(pieces) > 5
    assert "".join(c.content for c in pieces if c.content) == code
    assert "total 45 \u00e9" in _outputs(interpreter)


def test_truncated_streamed_call_is_shown_but_not_run(
    server: ScriptedServer, make_settings: Any, computer: Any, tmp_path: Path
) -> None:
    target = tmp_path / "half"
    server.add(raw_tool_call(f'{{"language": "shell", "code": "touch {target}; echo ha'), text("sorry"))
    interpreter = Interpreter(make_settings(), computer=computer)
    interpreter.chat("go")
    assert not target.exists()
    assert "not valid JSON" in str(server.requests[-1]["messages"][-1]["content"])
