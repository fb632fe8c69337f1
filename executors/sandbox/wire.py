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
#: the longest line a frame makes (the base64 of MAX_FRAME bytes, and a CR LF): a longer one, or
#: that much text with no newline, is refused before it is held in memory
MAX_LINE = 4 * ((MAX_FRAME + 2) // 3) + 2


def _too_long(size: int, limit: int) -> FramingError:
    return FramingError(f"a line of more than {limit} characters on the text wire ({size} so far), longer than "
                        "any frame; something other than the agent wrote to its stdout")


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

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._buffer = ""
        self.max_line = max_line  #: characters a line may have; FramingError beyond

    def feed(self, text: str) -> list[bytes]:
        """Add received text; return the payload of every line now complete, in order."""
        self._buffer += text
        *lines, self._buffer = self._buffer.split("\n")
        for line in (*lines, self._buffer):
            if len(line) > self.max_line:
                raise _too_long(len(line), self.max_line)
        return [decode_line(line) for line in lines]  # a blank line is an empty payload

    @property
    def pending(self) -> int:
        """Characters received that do not yet make a whole line."""
        return len(self._buffer)


class LineFrameReader:
    """A byte stream of length-prefixed frames read from base64 lines (what `read_frame` wants)."""

    def __init__(self, source: BinaryIO, max_line: int = MAX_LINE) -> None:
        self.source = source
        self.max_line = max_line  #: bytes a line may have; FramingError beyond
        self._buffer = bytearray()

    def read(self, size: int) -> bytes:
        """Up to `size` bytes of framed data; fewer only at the end of the source."""
        while len(self._buffer) < size:
            line = self.source.readline(self.max_line + 1)
            if not line:
                break
            if len(line) > self.max_line:
                raise _too_long(len(line), self.max_line)
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
