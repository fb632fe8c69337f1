"""LMC messages to and from OpenAI chat messages, with real PNG and JPEG bytes."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from lmc import InvalidMessage, Message
from lmc.openai import (
    EXECUTE_TOOL,
    IMAGES_BELOW,
    NO_OUTPUT,
    OUTPUT_HEADER,
    Mode,
    execute_tool,
    from_openai,
    image_size,
    parse_output,
    render_output,
    sniff_image,
    system_prompt,
    to_openai,
)
from orchestrator.models.scripted_server import ScriptedServer, text, tool_call

ROOT = Path(__file__).resolve().parents[2]


def _png(width: int, height: int, color: str = "red") -> bytes:
    out = BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def _jpeg(width: int, height: int, **options: object) -> bytes:
    out = BytesIO()
    Image.new("RGB", (width, height), "blue").save(out, "JPEG", **options)
    return out.getvalue()


def _noise_png(width: int, height: int) -> bytes:
    """A PNG that does not compress, so it is large for its size."""
    out = BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(out, "PNG")
    return out.getvalue()


def _handmade_png(width: int, height: int) -> bytes:
    """A minimal valid PNG built by hand: signature, IHDR, one IDAT, IEND."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = _png(64, 32)
JPEG = _jpeg(40, 30)


def _user(text: str) -> Message:
    return Message("user", "message", text)


def _said(text: str) -> Message:
    return Message("assistant", "message", text)


def _code(code: str, language: str = "python") -> Message:
    return Message("assistant", "code", code, language)


def _out(text: str) -> Message:
    return Message("computer", "console", text, "output")


def _exit(status: int) -> Message:
    return Message("computer", "console", status, "exit_code")


CONVERSATION = [
    _user("Plot this and list the folder."),
    Message("user", "image", PNG, "png"),
    _said("Sure, first the numbers."),
    _code("for i in range(2):\n    print(i)"),
    Message("computer", "console", 1, "active_line"),
    _out("0\n1\n"),
    _code("ls /nope", "shell"),
    _out("ls: cannot access '/nope'\n"),
    _exit(2),
    _code("import time; time.sleep(99)"),
    Message("computer", "error", "ran past 5 s and was stopped\nraise the limit with timeout=", "timeout"),
    _code("show()"),
    Message("computer", "image", JPEG, "jpeg"),
    _code("x = 1"),
    _said("All done."),
    Message("server", "status", "complete"),
]

# What comes back: the never-sent messages are gone.
SURVIVORS = [m for m in CONVERSATION if m.type != "status" and m.format != "active_line"]


def test_execute_tool_schema_names_the_languages() -> None:
    tool = execute_tool(["python", "shell"])
    function = tool["function"]
    assert tool["type"] == "function" and function["name"] == "execute"
    language = function["parameters"]["properties"]["language"]
    assert language["enum"] == ["python", "shell"]
    assert "python, shell" in language["description"]
    assert function["parameters"]["required"] == ["language", "code"]
    assert "enum" not in EXECUTE_TOOL["function"]["parameters"]["properties"]["language"]
    json.dumps(tool)


def test_execute_tool_refuses_an_empty_language_list() -> None:
    with pytest.raises(
        InvalidMessage, match=r"languages must be a non-empty list of language names, got \[\]"
    ):
        execute_tool([])
    with pytest.raises(InvalidMessage, match=r"language names, got \['python', ''\]"):
        execute_tool(["python", ""])


def test_tools_mode_shapes() -> None:
    chat = to_openai(CONVERSATION, system="You run code.", mode="tools", vision=True)
    assert chat[0] == {"role": "system", "content": "You run code."}
    assert chat[1]["role"] == "user" and [p["type"] for p in chat[1]["content"]] == ["text", "image_url"]
    first = chat[2]
    assert first["content"] == "Sure, first the numbers."  # text and its code share one message
    (call,) = first["tool_calls"]
    assert call["id"] == "call00003" and call["type"] == "function"
    assert json.loads(call["function"]["arguments"]) == {
        "language": "python",
        "code": CONVERSATION[3].content,
    }
    assert chat[3] == {"role": "tool", "tool_call_id": "call00003", "content": "0\n1\n"}
    assert chat[5]["content"] == "ls: cannot access '/nope'\n\n[exit status 2]"
    assert chat[7]["content"].startswith("[error: timeout] ran past 5 s")
    assert chat[9] == {"role": "tool", "tool_call_id": "call00011", "content": IMAGES_BELOW}
    assert chat[10]["role"] == "user"
    assert chat[10]["content"][0]["image_url"]["url"].startswith("data:image/jpeg;base64,/9j/")
    assert chat[12] == {"role": "tool", "tool_call_id": "call00013", "content": NO_OUTPUT}
    assert chat[13] == {"role": "assistant", "content": "All done."}
    assert len(chat) == 14
    json.dumps(chat)


def test_every_tool_call_is_answered_and_ids_are_stable() -> None:
    chat = to_openai(CONVERSATION)
    calls = [c["id"] for m in chat for c in m.get("tool_calls", [])]
    answers = [m["tool_call_id"] for m in chat if m["role"] == "tool"]
    assert calls == answers and len(set(calls)) == 5
    assert all(len(c) == 9 and c.isalnum() for c in calls)
    assert to_openai(CONVERSATION) == chat
    assert to_openai(CONVERSATION + [_user("thanks")])[: len(chat)] == chat


@pytest.mark.parametrize("mode", ["tools", "text"])
def test_round_trip_with_vision(mode: Mode) -> None:
    chat = to_openai(CONVERSATION, system="sys", mode=mode, vision=True)
    assert from_openai(chat, mode=mode) == SURVIVORS
    assert system_prompt(chat) == "sys"


def test_text_mode_shapes() -> None:
    chat = to_openai(CONVERSATION, mode="text", vision=True)
    assert (
        chat[1]["content"] == "Sure, first the numbers.\n\n```python\nfor i in range(2):\n    print(i)\n```"
    )
    assert chat[2] == {"role": "user", "content": OUTPUT_HEADER + "0\n1\n"}
    assert chat[4]["content"] == OUTPUT_HEADER + "ls: cannot access '/nope'\n\n[exit status 2]"
    images = chat[8]["content"]
    assert images[0] == {"type": "text", "text": OUTPUT_HEADER + IMAGES_BELOW}
    assert images[1]["type"] == "image_url"
    assert chat[9]["content"] == "```python\nx = 1\n```\n\nAll done."  # the reply goes on after the code
    assert chat[10] == {"role": "user", "content": OUTPUT_HEADER + NO_OUTPUT}
    assert all(m["role"] in ("user", "assistant") for m in chat)


def test_text_mode_fence_outgrows_backticks_in_the_code() -> None:
    code = 'print("```python")'
    chat = to_openai([_code(code)], mode="text")
    assert chat[0]["content"] == f"````python\n{code}\n````"
    assert from_openai(chat, mode="text") == [_code(code)]


def test_no_output_note_for_code_that_printed_nothing_or_exited_zero() -> None:
    cases: list[tuple[Mode, str]] = [("tools", "tool"), ("text", "user")]
    for mode, role in cases:
        chat = to_openai([_code("pass"), _exit(0), _user("and?")], mode=mode)
        assert chat[1]["role"] == role and chat[1]["content"].endswith(NO_OUTPUT)
        assert from_openai(chat, mode=mode) == [_code("pass"), _user("and?")]


def test_two_codes_in_a_row_each_get_an_answer() -> None:
    chat = to_openai([_code("a"), _code("b"), _out("B\n")])
    assert [m["role"] for m in chat] == ["assistant", "tool", "assistant", "tool"]
    assert chat[1]["content"] == NO_OUTPUT and chat[3]["content"] == "B\n"


def test_confirmation_status_and_active_line_are_not_sent() -> None:
    code = _code("rm -rf build", "shell")
    messages = [
        code,
        Message("computer", "confirmation", code, "execution"),
        Message("computer", "console", 3, "active_line"),
        _out("removed\n"),
        Message("computer", "error", "rate limited by the provider", "model"),
        Message("server", "status", "complete"),
    ]
    chat = to_openai(messages)
    assert [m["role"] for m in chat] == ["assistant", "tool"]
    assert chat[1]["content"] == "removed\n"


def test_computer_output_without_code_is_relayed_by_the_user() -> None:
    messages = [_user("hi"), _out("boot log\n"), _said("hello")]
    chat = to_openai(messages)
    assert chat[1] == {"role": "user", "content": OUTPUT_HEADER + "boot log\n"}
    assert from_openai(chat) == messages


def test_consecutive_user_messages_share_one_chat_message() -> None:
    messages = [_user("one"), _user("two")]
    chat = to_openai(messages)
    assert chat == [
        {"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]}
    ]
    assert from_openai(chat) == messages


def test_without_vision_images_become_notes_with_their_size() -> None:
    messages = [
        Message("user", "image", _png(1280, 800), "png"),
        _code("shot()"),
        Message("computer", "image", _jpeg(640, 480), "jpeg"),
        Message("computer", "image", "/tmp/plot.png", "path"),
    ]
    chat = to_openai(messages, vision=False)
    assert chat[0]["content"] == "[image: png 1280x800 omitted; the model cannot see images]"
    assert chat[2]["content"] == (
        "[image: jpeg 640x480 omitted; the model cannot see images]\n[image file: /tmp/plot.png]"
    )
    assert len(chat) == 3


def test_header_reader_needs_no_pillow() -> None:
    handmade = _handmade_png(7, 3)
    assert image_size(handmade) == (7, 3)
    assert sniff_image(handmade) == "png"
    with Image.open(BytesIO(handmade)) as check:  # the handmade file is a real PNG
        assert check.size == (7, 3)
    assert image_size(_jpeg(321, 123)) == (321, 123)
    assert image_size(_jpeg(99, 77, progressive=True)) == (99, 77)
    assert image_size(b"GIF89a....") is None
    assert image_size(b"\xff\xd8\xff\xe0\x00") is None  # truncated JPEG


def test_oversize_image_is_downscaled_to_jpeg_keeping_aspect() -> None:
    big = _noise_png(400, 200)
    cap = 30_000
    assert len(big) > cap
    chat = to_openai(
        [_code("shot()"), Message("computer", "image", big, "png")], vision=True, max_image_bytes=cap
    )
    url = chat[2]["content"][0]["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    (back,) = from_openai(chat)[1:]
    assert back.format == "jpeg" and len(back.content) <= cap
    width, height = image_size(back.content) or (0, 0)
    assert width < 400 and abs(width / height - 2) < 0.05


def test_oversize_image_without_pillow_becomes_a_note(tmp_path: Path) -> None:
    script = (
        "import sys; sys.modules['PIL'] = None\n"  # this interpreter cannot import Pillow
        "from lmc import Message\n"
        "from lmc.openai import to_openai\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "chat = to_openai([Message('user', 'image', data, 'png')], vision=True, max_image_bytes=1000)\n"
        "print(chat[0]['content'])\n"
    )
    image = tmp_path / "big.png"
    image.write_bytes(_noise_png(60, 40))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script, str(image)], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    note = result.stdout.strip()
    assert note.startswith("[image: png 60x40 omitted; ")
    assert "over the 1000-byte limit; install Pillow to send it scaled down]" in note


def test_oversize_image_pillow_cannot_read_becomes_a_note() -> None:
    broken = PNG[:40] + b"\0" * 5000  # a real header, then nothing a decoder can use
    chat = to_openai([Message("user", "image", broken, "png")], vision=True, max_image_bytes=1000)
    assert chat[0]["content"] == (
        "[image: png 64x32 omitted; 5040 bytes is over the 1000-byte limit; "
        "it could not be decoded to scale it down]"
    )


def test_render_and_parse_output_agree() -> None:
    outputs = [_out("a\n"), Message("computer", "error", "boom\nfix it", "crashed"), _exit(-9)]
    text, images = render_output(outputs, vision=False, max_bytes=100)
    assert text == "a\n\n[error: crashed] boom\nfix it\n[exit status -9]" and images == []
    assert parse_output(text) == outputs


def test_from_openai_reads_a_foreign_transcript() -> None:
    chat = [
        {"role": "developer", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "go"}]},
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "Two things."}],
            "tool_calls": [
                {
                    "id": "a",
                    "type": "function",
                    "function": {"name": "execute", "arguments": '{"language":"python","code":"1"}'},
                },
                {
                    "id": "b",
                    "type": "function",
                    "function": {"name": "execute", "arguments": {"language": "shell", "code": "ls"}},
                },
            ],
            "refusal": None,
        },
        {"role": "tool", "tool_call_id": "a", "content": [{"type": "text", "text": "1"}]},
        {"role": "tool", "tool_call_id": "b", "content": "x.txt\n"},
        {"role": "assistant", "content": "Here:\n```py\nprint(2)\n```", "tool_calls": None},
    ]
    assert system_prompt(chat) == "be brief"
    assert from_openai(chat) == [
        _user("go"),
        _said("Two things."),
        _code("1"),
        _code("ls", "shell"),
        _out("1"),
        _out("x.txt\n"),
        _said("Here:\n```py\nprint(2)\n```"),  # tools mode leaves markdown alone
    ]
    assert from_openai(chat[-1:], mode="text") == [_said("Here:"), _code("print(2)", "py")]


def test_text_mode_bare_fence_takes_the_default_language() -> None:
    chat = [{"role": "assistant", "content": "```\necho hi\n```"}]
    assert from_openai(chat, mode="text", default_language="shell") == [_code("echo hi", "shell")]


def _call(arguments: object, name: str = "execute") -> dict:
    return {
        "role": "assistant",
        "tool_calls": [{"id": "c1", "function": {"name": name, "arguments": arguments}}],
    }


@pytest.mark.parametrize(
    ("chat", "message"),
    [
        (
            [_call('{"language": "python", "code": ')],
            "chat_messages[0].tool_calls[0].function.arguments must be a JSON object like",
        ),
        ([_call('["python", "x"]')], "function.arguments must be a JSON object like"),
        (
            [_call('{"language": "python"}')],
            "chat_messages[0].tool_calls[0].function.arguments.code must be text",
        ),
        ([_call('{"language": "", "code": "x"}')], "arguments.language must be text"),
        (
            [_call("{}", name="run_code")],
            "function.name must be 'execute', the only tool LMC offers, got 'run_code'",
        ),
        (
            [{"role": "assistant", "tool_calls": [{"function": {}}]}],
            "tool_calls[0] must be a dict with an 'id'",
        ),
        (
            [{"role": "tool", "tool_call_id": "zz", "content": "x"}],
            "tool_call_id must be the id of an earlier execute call (none yet), got 'zz'",
        ),
        (
            [{"role": "function", "content": "x"}],
            "chat_messages[0].role must be one of system, developer, user, assistant, tool, got 'function'",
        ),
        (["hello"], "chat_messages[0] must be a dict with 'role' and 'content', got 'str'"),
        (
            [{"role": "user", "content": 5}],
            "chat_messages[0].content must be a string, a list of content parts, or None",
        ),
        (
            [{"role": "user", "content": [{"type": "input_audio"}]}],
            "content[0].type must be 'text' or 'image_url', got 'input_audio'",
        ),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}],
            "download remote images and pass their bytes",
        ),
        (
            [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "data:image/gif;base64,R0lG"}}],
                }
            ],
            "image_url.url must be a base64 data URL of a PNG or JPEG",
        ),
        (
            [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}],
                }
            ],
            "must be valid base64",
        ),
        (
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,R0lGODlh"}}
                    ],
                }
            ],
            "must be the bytes of a PNG or JPEG image, got b'GIF8",
        ),
        (
            [{"role": "assistant", "content": "x", "tool_calls": {"id": "c1"}}],
            "chat_messages[0].tool_calls must be a list of tool calls, got {'id': 'c1'}",
        ),
        (
            [{"role": "assistant", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]}],
            "chat_messages[0].content[0] must be a text part {'type': 'text', 'text': ...}",
        ),
    ],
)
def test_from_openai_names_the_bad_field(chat: list, message: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        from_openai(chat)
    assert message in str(caught.value)


def test_bad_arguments_to_the_converters() -> None:
    with pytest.raises(InvalidMessage, match="mode must be 'tools' .function calling. or 'text'"):
        to_openai([], mode="markdown")  # type: ignore[arg-type]
    with pytest.raises(InvalidMessage, match="mode must be 'tools'"):
        from_openai([], mode="json")  # type: ignore[arg-type]
    with pytest.raises(InvalidMessage, match="max_image_bytes must be a positive number of bytes, got 0"):
        to_openai([], max_image_bytes=0)
    with pytest.raises(InvalidMessage, match=r"messages\[1\] must be an lmc Message, got 'dict'"):
        to_openai([_user("x"), {"role": "user", "content": "y"}])  # type: ignore[list-item]


def _litellm(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network for the price map
    import litellm

    return litellm


def test_litellm_sends_our_chat_unchanged_and_its_tool_call_reads_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    litellm = _litellm(monkeypatch)
    chat = to_openai(CONVERSATION, system="You run code.", vision=True)
    tools = [execute_tool(["python", "shell"])]
    with ScriptedServer([tool_call("python", "print(2 + 2)", content="Adding.")]) as server:
        response = litellm.completion(
            model="openai/scripted", api_base=server.url, api_key="x", messages=chat, tools=tools
        )
        sent = server.requests[-1]
    assert sent["messages"] == chat
    assert sent["tools"] == tools
    reply = response.choices[0].message.model_dump()
    assert from_openai(chat + [reply])[len(SURVIVORS) :] == [_said("Adding."), _code("print(2 + 2)")]


def test_litellm_reply_in_text_mode_reads_back(monkeypatch: pytest.MonkeyPatch) -> None:
    litellm = _litellm(monkeypatch)
    chat = to_openai(CONVERSATION, mode="text")
    with ScriptedServer([text("Now:\n```sh\necho hi\n```")]) as server:
        response = litellm.completion(
            model="openai/scripted", api_base=server.url, api_key="x", messages=chat
        )
        assert server.requests[-1]["messages"] == chat
    reply = response.choices[0].message.model_dump()
    assert from_openai([reply], mode="text") == [_said("Now:"), _code("echo hi", "sh")]
