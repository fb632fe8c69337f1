"""The base64 text wire: codec, incremental decoding, and the agent speaking it in a real subprocess."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from executors.sandbox.protocol import (
    PROTOCOL,
    AgentMessage,
    ChunkReply,
    CloseRequest,
    Done,
    Hello,
    RunRequest,
    decode,
    encode,
)
from executors.sandbox.wire import LineDecoder, LineFrameReader, decode_line, encode_line
from lmc.errors import FramingError
from lmc.framing import read_frame

BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from executors.sandbox.agent import main; main()"


def test_lines_round_trip_binary_payloads() -> None:
    payload = bytes(range(256)) * 3
    line = encode_line(payload)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert decode_line(line) == payload
    assert decode_line(line.decode()) == payload


def test_decoder_keeps_partial_lines_until_complete() -> None:
    lines = (encode_line(b"one") + encode_line(b"two")).decode()
    decoder = LineDecoder()
    assert decoder.feed(lines[:3]) == []
    assert decoder.pending == 3
    assert decoder.feed(lines[3:]) == [b"one", b"two"]
    assert decoder.pending == 0


def test_garbage_on_the_wire_is_a_clear_framing_error() -> None:
    with pytest.raises(FramingError, match="expected a base64 line") as info:
        LineDecoder().feed("hello from a stray print\n")
    assert "something other than the agent" in str(info.value)


def test_frame_reader_turns_lines_into_frames() -> None:
    reader = LineFrameReader(io.BytesIO(encode_line(b"abc") + encode_line(b"")))
    assert read_frame(reader) == b"abc"  # type: ignore[arg-type]
    assert read_frame(reader) == b""  # type: ignore[arg-type]
    assert read_frame(reader) is None  # type: ignore[arg-type]


def _agent(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", BOOT, ".", *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_agent_speaks_base64_lines() -> None:
    agent = _agent("--wire", "base64")
    assert agent.stdin is not None and agent.stdout is not None
    decoder = LineDecoder()
    hello = decode(decoder.feed(agent.stdout.readline())[0])
    assert isinstance(hello, Hello) and hello.protocol == PROTOCOL
    request = RunRequest(1, "python", "print(6 * 7)", 10, 1000, 2.0)
    agent.stdin.write(encode_line(encode(request)).decode())
    agent.stdin.flush()
    replies: list[AgentMessage] = []
    while not replies or not isinstance(replies[-1], Done):
        replies += [decode(p) for p in decoder.feed(agent.stdout.readline())]
    assert "".join(str(r.chunk.content) for r in replies if isinstance(r, ChunkReply)) == "42\n"
    agent.stdin.write(encode_line(encode(CloseRequest())).decode())
    agent.stdin.close()
    assert agent.wait(timeout=10) == 0


def test_agent_refuses_an_unknown_wire_mode() -> None:
    agent = _agent("--wire", "base65")
    _, err = agent.communicate(timeout=10)
    assert agent.returncode != 0
    assert "unknown --wire 'base65'; known: binary, base64" in err
