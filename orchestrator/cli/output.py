"""Machine output (--format json|msgpack): one encoding of a chunk per format; it owns standard output alone.

A JSON line is the chunk's dict; bytes content (an image) is base64 with
`"encoding": "base64"` beside it, since JSON has no bytes. `lmc run` and
`lmc chat` both write through `encode_chunk`.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from typing import BinaryIO

from lmc.messages import Chunk

#: The machine formats, as --format names them.
MACHINE_FORMATS = ("json", "msgpack")


def json_line(chunk: Chunk) -> bytes:
    """One chunk as a JSON line (bytes content base64, marked by "encoding": "base64")."""
    from lmc.codec import to_dict

    data = to_dict(chunk)
    if isinstance(data.get("content"), bytes):  # JSON has no bytes: base64 at this edge only
        data["content"] = base64.b64encode(data["content"]).decode("ascii")
        data["encoding"] = "base64"
    return (json.dumps(data) + "\n").encode()


def encode_chunk(chunk: Chunk, fmt: str) -> bytes:
    """One chunk in a machine format: a JSON line, or a length-prefixed msgpack frame."""
    if fmt == "json":
        return json_line(chunk)
    if fmt == "msgpack":
        from lmc.codec import encode
        from lmc.framing import frame

        return frame(encode(chunk))
    raise ValueError(f"unknown machine format {fmt!r}; known: {', '.join(MACHINE_FORMATS)}")


def claim_stdout() -> BinaryIO:
    """A writer on the real stdout; fd 1 itself now points at stderr.

    Libraries print to stdout at times (python-xlib warns there on every X
    connection), and one stray line corrupts a JSON or msgpack stream. After
    this, only the returned writer reaches the real stdout.
    """
    sys.stdout.flush()
    fd = os.dup(1)
    os.dup2(2, 1)
    return os.fdopen(fd, "wb", buffering=0)
