"""Text wire mode: each frame payload travels as one base64 line.

E2B's process API hands a command's stdout to the SDK as decoded text, so the
agent's binary length-prefixed frames would not survive it. In this mode
(`python -m executors.sandbox.agent --wire base64`) the agent writes every frame as a
base64 line and reads requests the same way; the E2B transport on the host
speaks the same codec. Base64 costs a third more bytes, paid only on E2B.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import BinaryIO

from lmc.errors import FramingError
from lmc.framing import MAX_FRAME, frame, read_frame

#: the `--wire` values the agent accepts
WIRE_MODES = ("binary", "base64")


def encode_line(payload: bytes) -> bytes:
    """One payload as a base64 line ending in a newline."""
    if len(payload) > MAX_FRAME:
        raise FramingError(f"frame of {len(payload)} bytes exceeds the {MAX_FRAME}-byte limit")
    return base64.b64encode(payload) + b"\n"


def decode_line(line: bytes | str) -> bytes:
    """The payload of one base64 line (surrounding whitespace ignored)."""
    try:
        return base64.b64decode(line.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        shown = repr(line[:60])
        raise FramingError(
            f"expected a base64 line on the text wire, got {shown} ({exc}); something other than "
            "the agent wrote to its stdout"
        ) from exc


class LineDecoder:
    """Incremental decoder for text as it arrives: whole payloads out, partial lines kept."""

    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, text: str) -> list[bytes]:
        """Add received text; return the payload of every line now complete, in order."""
        self._buffer += text
        *lines, self._buffer = self._buffer.split("\n")
        return [decode_line(line) for line in lines]  # a blank line is an empty payload

    @property
    def pending(self) -> int:
        """Characters received that do not yet make a whole line."""
        return len(self._buffer)


class LineFrameReader:
    """A byte stream of length-prefixed frames read from base64 lines (what `read_frame` wants)."""

    def __init__(self, source: BinaryIO) -> None:
        self.source = source
        self._buffer = bytearray()

    def read(self, size: int) -> bytes:
        """Up to `size` bytes of framed data; fewer only at the end of the source."""
        while len(self._buffer) < size:
            line = self.source.readline()
            if not line:
                break
            self._buffer += frame(decode_line(line))
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out


def pump_lines(frames_fd: int, out_fd: int) -> None:
    """Copy frames from one descriptor to base64 lines on another, until end of input."""
    with os.fdopen(frames_fd, "rb") as frames:  # buffered: read(n) must not return short
        while (payload := read_frame(frames)) is not None:
            data = memoryview(encode_line(payload))
            while data:
                data = data[os.write(out_fd, data) :]
