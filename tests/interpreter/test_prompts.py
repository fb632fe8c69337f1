"""Repairs of the malformed tool calls small models emit, and the system message."""

from __future__ import annotations

import json

from lmc.messages import Message
from orchestrator.session.prompts import CodeArgumentStream, code_from_call, code_from_text, system_message

LANGS = ["javascript", "python", "shell"]


def test_well_formed_call() -> None:
    assert code_from_call("execute", '{"language": "python", "code": "print(1)"}', LANGS).code == Message(
        "assistant", "code", "print(1)", "python"
    )


def test_renamed_arguments_and_language_named_tool_are_repaired() -> None:
    assert code_from_call("execute", '{"lang": "shell", "command": "ls"}', LANGS).code == Message(
        "assistant", "code", "ls", "shell"
    )
    assert code_from_call("python", "print(2)", LANGS).code == Message(
        "assistant", "code", "print(2)", "python"
    )
    assert code_from_call("python", '{"code": "x = 1"}', LANGS).code == Message(
        "assistant", "code", "x = 1", "python"
    )


def test_unreadable_calls_become_notes_that_say_what_was_expected() -> None:
    bad_json = code_from_call("execute", '{"language": "python", "code": ', LANGS)
    assert (
        bad_json.code is None
        and "not valid JSON" in str(bad_json.note)
        and "execute(language, code)" in str(bad_json.note)
    )
    missing = code_from_call("execute", '{"language": "python"}', LANGS)
    assert missing.code is None and "needs both" in str(missing.note)
    other = code_from_call("browse", "{}", LANGS)
    assert other.code is None and "no function 'browse'" in str(other.note)


def test_json_printed_as_text_is_read_as_code() -> None:
    plain = code_from_text('{"language": "python", "code": "print(3)"}')
    fenced = code_from_text(
        '```json\n{"name": "execute", "arguments": {"language": "shell", "code": "pwd"}}\n```'
    )
    assert plain is not None and plain.code == Message("assistant", "code", "print(3)", "python")
    assert fenced is not None and fenced.code == Message("assistant", "code", "pwd", "shell")
    assert code_from_text("The answer is {42}.") is None
    assert code_from_text('{"answer": 42}') is None


def test_system_message_names_languages_and_mode() -> None:
    tools = system_message(LANGS, "tools", "Be brief.")
    text = system_message(LANGS, "text")
    assert (
        "`execute` function" in tools and "javascript, python, shell" in tools and tools.endswith("Be brief.")
    )
    assert "fenced markdown block" in text and "`execute`" not in text


def test_code_argument_stream_decodes_any_split() -> None:
    code = "print(\"hi\\n\")\nx = '\u00e9\U0001f600'\t/end"
    args = json.dumps({"language": "python", "code": code})
    for size in (1, 2, 3, 5, 7, 64):
        stream = CodeArgumentStream()
        out = "".join(stream.feed(args[i : i + size]) for i in range(0, len(args), size))
        assert (out, stream.language, stream.done) == (code, "python", True), size


def test_code_argument_stream_waits_on_unusual_forms() -> None:
    stream = CodeArgumentStream()
    assert stream.feed('{"code": "print(1)", "language": "python"}') == "" and stream.language is None
