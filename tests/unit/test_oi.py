"""Open Interpreter's JSON messages and chunk streams to and from ours."""

from __future__ import annotations

import base64
import json
from io import BytesIO

import pytest
from PIL import Image

from lmc import InvalidMessage, Message, ProtocolError
from lmc.assembly import assemble
from lmc.oi import chunks_from_oi, from_oi, to_oi


def _image(fmt: str, size: tuple[int, int] = (20, 10)) -> bytes:
    out = BytesIO()
    Image.new("RGB", size, "green").save(out, fmt)
    return out.getvalue()


PNG, JPEG = _image("PNG"), _image("JPEG")
PNG64, JPEG64 = base64.b64encode(PNG).decode(), base64.b64encode(JPEG).decode()
CODE = Message("assistant", "code", "print('hi')", "python")

# A transcript as Open Interpreter 0.2 saves it, with the variants seen across versions.
OI_TRANSCRIPT = [
    {"role": "user", "type": "message", "content": "Plot my data."},
    {"role": "user", "type": "image", "format": "path", "content": "/home/me/data.png"},
    {"role": "user", "type": "file", "content": "/home/me/data.csv"},
    {"role": "assistant", "type": "message", "content": "Plotting."},
    {"role": "assistant", "type": "code", "format": "python", "content": "print('hi')"},
    {
        "role": "computer",
        "type": "confirmation",
        "format": "execution",
        "content": {"type": "code", "format": "python", "content": "print('hi')"},
    },
    {"role": "computer", "type": "console", "format": "active_line", "content": "1"},
    {"role": "computer", "type": "console", "format": "output", "content": "hi\n", "recipient": "assistant"},
    {"role": "computer", "type": "image", "format": "base64.png", "content": PNG64},
    {"role": "computer", "type": "image", "format": "base64", "content": JPEG64},
    {
        "role": "computer",
        "type": "image",
        "format": "base64.jpeg",
        "content": "data:image/jpeg;base64," + JPEG64,
    },
    {"role": "computer", "type": "image", "format": "description", "content": "A green square."},
    {"role": "computer", "type": "code", "format": "html", "content": "<b>plot</b>", "recipient": "user"},
    {"role": "computer", "type": "error", "content": "Traceback: KeyError"},
    {"role": "server", "type": "completion", "content": "DONE"},
]

OURS = [
    Message("user", "message", "Plot my data."),
    Message("user", "image", "/home/me/data.png", "path"),
    Message("user", "message", "/home/me/data.csv"),
    Message("assistant", "message", "Plotting."),
    CODE,
    Message("computer", "confirmation", CODE, "execution"),
    Message("computer", "console", 1, "active_line"),
    Message("computer", "console", "hi\n", "output"),
    Message("computer", "image", PNG, "png"),
    Message("computer", "image", JPEG, "jpeg"),  # "base64" alone: the bytes say JPEG
    Message("computer", "image", JPEG, "jpeg"),
    Message("computer", "console", "A green square.", "output"),
    Message("computer", "error", "Traceback: KeyError", "internal"),
    Message("server", "status", "complete"),
]


def test_from_oi_reads_a_real_transcript() -> None:
    assert from_oi(OI_TRANSCRIPT) == OURS


def test_to_oi_writes_open_interpreter_formats() -> None:
    oi = to_oi(OURS)
    json.dumps(oi)
    assert oi[5] == {
        "role": "computer",
        "type": "confirmation",
        "format": "execution",
        "content": {"type": "code", "format": "python", "content": "print('hi')"},
    }
    assert oi[8] == {"role": "computer", "type": "image", "format": "base64.png", "content": PNG64}
    assert oi[9]["format"] == "base64.jpeg" and base64.b64decode(oi[9]["content"]) == JPEG
    assert oi[12] == {
        "role": "computer",
        "type": "error",
        "format": "internal",
        "content": "Traceback: KeyError",
    }


def test_round_trip_ours_through_oi() -> None:
    assert from_oi(to_oi(OURS)) == OURS


def test_round_trip_oi_through_ours() -> None:
    canonical = [
        {"role": "user", "type": "message", "content": "hi"},
        {"role": "assistant", "type": "code", "format": "shell", "content": "ls"},
        {"role": "computer", "type": "console", "format": "output", "content": "a b\n"},
        {"role": "computer", "type": "image", "format": "base64.jpeg", "content": JPEG64},
        {"role": "server", "type": "status", "content": "complete"},
    ]
    assert to_oi(from_oi(canonical)) == canonical


def test_exit_status_becomes_an_output_line_and_zero_is_left_out() -> None:
    ours = [Message("computer", "console", 3, "exit_code"), Message("computer", "console", 0, "exit_code")]
    assert to_oi(ours) == [
        {"role": "computer", "type": "console", "format": "output", "content": "[exit status 3]"}
    ]


# (role, type, format, content) of a bad OI message, and what the error must say.
BAD = [
    ("user", "video", None, "x", "messages[0].type must be one of message, code, console"),
    ("assistant", "code", None, "x", "messages[0].format must be the language name for code, got None"),
    (
        "computer",
        "image",
        "base64.gif",
        "R0lG",
        "format must be one of base64, base64.png, base64.jpeg, path",
    ),
    ("computer", "image", "base64.png", "not base64!", "messages[0].content must be valid base64"),
    (
        "computer",
        "image",
        "base64",
        "R0lGODlhAQABAAAAACw=",
        "content must be base64 of a PNG or JPEG image, got b'GIF",
    ),
    (
        "computer",
        "image",
        "base64.png",
        "data:image/webp;base64,UklG",
        "content must be a base64 data URL of a PNG",
    ),
    ("assistant", "image", "path", "/a.png", "messages[0].role must be user or computer for type 'image'"),
    (
        "computer",
        "confirmation",
        "execution",
        "print(1)",
        "content must be {'type': 'code', 'format': language",
    ),
    (
        "computer",
        "console",
        "active_line",
        "two",
        "content must be a line number or None for console/active_line",
    ),
    (
        "computer",
        "console",
        "html",
        "x",
        "messages[0].format must be output or active_line for console, got 'html'",
    ),
    ("user", "message", None, 42, "messages[0].content must be text for message, got 'int'"),
    ("assistant", "file", None, "/a", "messages[0].role must be user for type 'file', got 'assistant'"),
]


@pytest.mark.parametrize(("role", "type_", "fmt", "content", "message"), BAD)
def test_from_oi_names_index_and_field(
    role: str, type_: str, fmt: str | None, content: object, message: str
) -> None:
    item = {"role": role, "type": type_, "content": content} | ({"format": fmt} if fmt else {})
    with pytest.raises(InvalidMessage) as caught:
        from_oi([item])
    assert message in str(caught.value)


def test_from_oi_refuses_non_dicts_and_stream_flags() -> None:
    with pytest.raises(
        InvalidMessage, match="messages.0. must be a dict with 'role', 'type' and 'content', got 'str'"
    ):
        from_oi(["text"])
    with pytest.raises(
        InvalidMessage, match="start must be absent in a complete message; read streamed chunks with"
    ):
        from_oi([{"role": "user", "type": "message", "content": "x", "start": True}])


def test_from_oi_error_names_the_right_index() -> None:
    with pytest.raises(InvalidMessage, match=r"messages\[2\]\.type must be one of"):
        from_oi(OI_TRANSCRIPT[:2] + [{"role": "user", "type": "audio", "content": ""}])


def _flags(role: str, type_: str, *pieces: object, fmt: str | None = None) -> list[dict]:
    head = {"role": role, "type": type_} | ({"format": fmt} if fmt else {})
    return [head | {"start": True}, *(head | {"content": p} for p in pieces), head | {"end": True}]


def test_chunks_from_oi_reads_a_streamed_turn() -> None:
    half = len(PNG64) // 2 + 1  # not a multiple of 4: the pieces decode only together
    stream = [
        *_flags("assistant", "message", "Pro", "cessing."),
        *_flags("assistant", "code", "print(", "'hi')", fmt="python"),
        {
            "role": "computer",
            "type": "confirmation",
            "format": "execution",
            "content": {"type": "code", "format": "python", "content": "print('hi')"},
        },
        {"role": "computer", "type": "console", "start": True},
        {"role": "computer", "type": "console", "format": "active_line", "content": 1},
        {"role": "computer", "type": "console", "format": "output", "content": "h"},
        {"role": "computer", "type": "console", "format": "output", "content": "i\n"},
        {"role": "computer", "type": "console", "format": "active_line", "content": None},
        {"role": "computer", "type": "console", "format": "output", "content": "done\n"},
        {"role": "computer", "type": "console", "end": True},
        *_flags("computer", "image", PNG64[:half], PNG64[half:], fmt="base64.png"),
        *_flags("computer", "code", "<b>x</b>", fmt="html"),
        {"role": "server", "type": "completion", "content": "DONE"},
    ]
    chunks = list(chunks_from_oi(stream))
    assert chunks[0].start and chunks[0].content is None  # the code panel can open at once
    expected = [
        Message("assistant", "message", "Processing."),
        CODE,
        Message("computer", "confirmation", CODE, "execution"),
        Message("computer", "console", 1, "active_line"),
        Message("computer", "console", "hi\n", "output"),
        Message("computer", "console", None, "active_line"),
        Message("computer", "console", "done\n", "output"),
        Message("computer", "image", PNG, "png"),
        Message("server", "status", "complete"),
    ]
    assert assemble(chunks) == expected
    assert sum(c.start for c in chunks) == sum(c.end for c in chunks) == len(expected)


def test_chunk_stream_errors_say_where() -> None:
    nested = [
        {"role": "assistant", "type": "message", "start": True},
        {"role": "assistant", "type": "code", "format": "python", "start": True},
    ]
    with pytest.raises(ProtocolError, match=r"chunks\[1\]: a assistant/code block started before the open"):
        list(chunks_from_oi(nested))
    with pytest.raises(
        ProtocolError, match=r"ended after chunks\[0\] inside an open assistant/message block"
    ):
        list(chunks_from_oi(nested[:1]))
    mixed = [nested[0], {"role": "computer", "type": "console", "format": "output", "content": "x"}]
    with pytest.raises(
        ProtocolError, match="arrived inside the open assistant/message block; blocks must not"
    ):
        list(chunks_from_oi(mixed))
    with pytest.raises(InvalidMessage, match=r"chunks\[0\] must be a dict"):
        list(chunks_from_oi([None]))
    gif = _flags("computer", "image", "R0lGODlh", "AQABAAAAACw=", fmt="base64")
    with pytest.raises(InvalidMessage, match=r"chunks\[3\]\.content must be base64 of a PNG or JPEG image"):
        list(chunks_from_oi(gif))
    with pytest.raises(InvalidMessage, match=r"chunks\[1\]\.content must be text for message, got 'int'"):
        list(chunks_from_oi(_flags("user", "message", 7)))
