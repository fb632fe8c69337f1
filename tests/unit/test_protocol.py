"""LMC messages, codec, framing and assembly: round trips and clear errors."""

from __future__ import annotations

import io
from typing import get_args

import pytest

from lmc import ConsoleFormat, ErrorKind, ImageFormat, MessageType, Role
from lmc.assembly import Assembler, assemble, split
from lmc.codec import decode_chunk, decode_message, encode, message_from_dict, to_dict
from lmc.errors import FramingError, InvalidMessage, ProtocolError
from lmc.framing import MAX_FRAME, FrameDecoder, frame, read_frame
from lmc.messages import ERROR_KINDS, ROLES, TYPES, Chunk, Message

CODE = Message("assistant", "code", "print(1)", "python")
EVERY_TYPE = [
    Message("user", "message", "hello"),
    Message("assistant", "message", "hi, héllo ✓"),
    CODE,
    Message("computer", "console", "1\n", "output"),
    Message("computer", "console", 3, "active_line"),
    Message("computer", "console", 2, "exit_code"),
    Message("computer", "image", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "png"),
    Message("user", "image", b"\xff\xd8\xff", "jpeg"),
    Message("user", "image", "/tmp/shot.png", "path"),
    Message("computer", "confirmation", CODE, "execution"),
    *[Message("computer", "error", f"{kind} happened", kind) for kind in ERROR_KINDS],
    Message("server", "status", "complete", session="s1", message=7),
]


@pytest.mark.parametrize("message", EVERY_TYPE, ids=lambda m: f"{m.role}-{m.type}-{m.format}")
def test_every_type_round_trips_through_msgpack(message: Message) -> None:
    assert decode_message(encode(message)) == message
    chunk = Chunk.whole(message).with_ids("s", 3, 9)
    assert decode_chunk(encode(chunk)) == chunk


def test_images_are_raw_bytes_on_the_wire() -> None:
    data = bytes(1000)
    wire = encode(Message("computer", "image", data, "png"))
    assert data in wire and len(wire) < 1100  # no base64 inflation


@pytest.mark.parametrize(
    "fields,expected",
    [
        ({"role": "user", "type": "code", "content": "x", "format": "python"}, "role must be assistant"),
        ({"role": "user", "type": "mesage", "content": "x"}, "type must be one of"),
        ({"role": "computer", "type": "console", "content": "x", "format": "stdout"}, "format must be one of output"),
        ({"role": "computer", "type": "image", "content": "abc", "format": "png"}, "content must be bytes"),
        ({"role": "computer", "type": "error", "content": "x", "format": "oops"}, "format must be one of usage"),
        ({"role": "assistant", "type": "code", "content": "x"}, "format must be the language name"),
        ({"role": "user", "type": "message", "content": 5}, "content must be text"),
        ({"role": "user", "type": "message", "content": "x", "colour": 1}, "fields must be only"),
        ({"type": "message", "content": "x"}, "role must be present"),
        ({"role": 5, "type": "message", "content": "x"}, "role must be user or assistant"),
        ({"role": "user", "type": ["message"], "content": "x"}, "type must be one of"),
        ({"role": "computer", "type": "console", "content": 1, "format": ["exit_code"]}, "format must be one of"),
    ],
)
def test_malformed_messages_name_the_field(fields: dict, expected: str) -> None:
    with pytest.raises(InvalidMessage, match=expected):
        message_from_dict(fields)


def test_checked_types_untyped_values_and_still_validates() -> None:
    fields: dict[str, object] = {"role": "computer", "type": "console", "format": "exit_code"}
    assert Message.checked(fields["role"], fields["type"], 2, fields["format"]) == Message(
        "computer", "console", 2, "exit_code"
    )
    with pytest.raises(InvalidMessage, match="content must be an int or None"):
        Message.checked(fields["role"], fields["type"], "2", fields["format"])
    with pytest.raises(InvalidMessage, match="role must be computer"):
        Message.checked("robot", "console", 2, "exit_code")


def test_text_reads_text_content_and_refuses_the_rest() -> None:
    assert Message("computer", "error", "took too long", "timeout").text == "took too long"
    assert Message("user", "image", "/tmp/shot.png", "path").text == "/tmp/shot.png"
    with pytest.raises(TypeError, match="image/png message holds bytes, not text"):
        _ = Message("computer", "image", b"\x89PNG", "png").text
    with pytest.raises(TypeError, match="console/exit_code message holds int"):
        _ = Message("computer", "console", 1, "exit_code").text


def test_the_literal_types_and_their_runtime_tuples_agree() -> None:
    assert ROLES == get_args(Role) == ("user", "assistant", "computer", "server")
    assert ERROR_KINDS == get_args(ErrorKind)
    assert set(TYPES) == set(get_args(MessageType))
    assert "exit_code" in get_args(ConsoleFormat) and "path" in get_args(ImageFormat)


def test_to_dict_leaves_defaults_out() -> None:
    assert to_dict(Message("user", "message", "hi")) == {"role": "user", "type": "message", "content": "hi"}


def test_framing_round_trip_and_incremental_decoding() -> None:
    payloads = [b"", b"a", bytes(70000), b"xyz"]
    stream = b"".join(frame(p) for p in payloads)
    decoder = FrameDecoder()
    got = [p for i in range(0, len(stream), 7) for p in decoder.feed(stream[i : i + 7])]
    assert got == payloads and decoder.pending == 0
    reader = io.BytesIO(stream)
    assert [read_frame(reader) for _ in payloads] == payloads and read_frame(reader) is None


def test_framing_errors_are_clear() -> None:
    with pytest.raises(FramingError, match="inside a frame"):
        read_frame(io.BytesIO(frame(b"abcdef")[:-2]))
    with pytest.raises(FramingError, match="corrupt"):
        FrameDecoder().feed((MAX_FRAME + 1).to_bytes(4, "big"))
    with pytest.raises(FramingError, match="not a msgpack"):
        decode_chunk(b"\xc1")


def test_split_and_assemble_are_inverse() -> None:
    for message in EVERY_TYPE:
        for size in (None, 1, 3, 1000):
            assert assemble(split(message, size)) == [message]


def test_assembly_rejects_broken_streams() -> None:
    a = Chunk("computer", "console", "x", "output", start=True)
    b = Chunk("computer", "image", b"", "png", start=True, end=True)
    with pytest.raises(ProtocolError, match="started before"):
        assembler = Assembler()
        assembler.feed(a)
        assembler.feed(b)
    with pytest.raises(ProtocolError, match="no start"):
        Assembler().feed(Chunk("computer", "console", "x", "output"))
    with pytest.raises(ProtocolError, match="ended inside"):
        assemble([a])
