"""Length-prefixed frames for byte streams: 4-byte big-endian length, then payload."""

from __future__ import annotations

import struct
from typing import IO

from lmc.errors import FramingError

HEADER = struct.Struct(">I")
#: Frames larger than this are refused: a corrupt header must not allocate gigabytes.
MAX_FRAME = 256 * 1024 * 1024


def frame(payload: bytes) -> bytes:
    """One frame: the payload behind its length."""
    if len(payload) > MAX_FRAME:
        raise FramingError(f"frame of {len(payload)} bytes exceeds the {MAX_FRAME}-byte limit")
    return HEADER.pack(len(payload)) + payload


def _length(header: bytes) -> int:
    (size,) = HEADER.unpack(header)
    if size > MAX_FRAME:
        raise FramingError(
            f"frame header announces {size} bytes (limit {MAX_FRAME}); the stream is corrupt "
            "or something else wrote to it"
        )
    return int(size)


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    """Up to size bytes, fewer only at end of stream (raw pipes return short reads)."""
    data = stream.read(size) or b""
    if len(data) == size:
        return data
    parts = [data]
    got = len(data)
    while got < size:
        more = stream.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def read_frame(stream: IO[bytes]) -> bytes | None:
    """The next frame's payload from a blocking stream; None at a clean end of stream."""
    header = _read_exactly(stream, HEADER.size)
    if not header:
        return None
    if len(header) < HEADER.size:
        raise FramingError(f"stream ended inside a frame header ({len(header)} of 4 bytes)")
    size = _length(header)
    payload = _read_exactly(stream, size)
    if len(payload) < size:
        raise FramingError(f"stream ended inside a frame ({len(payload)} of {size} bytes)")
    return payload


class FrameDecoder:
    """Incremental decoder: feed bytes as they arrive, get whole payloads back."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return every payload now complete, in order."""
        self._buffer += data
        out: list[bytes] = []
        while len(self._buffer) >= HEADER.size:
            size = _length(bytes(self._buffer[: HEADER.size]))
            end = HEADER.size + size
            if len(self._buffer) < end:
                break
            out.append(bytes(self._buffer[HEADER.size : end]))
            del self._buffer[:end]
        return out

    @property
    def pending(self) -> int:
        """Bytes received that do not yet make a whole frame."""
        return len(self._buffer)
