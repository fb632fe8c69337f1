"""How chunks travel from the server: JSON (bytes as base64) or msgpack frames, and SSE events.

A JSON frame is `lmc.codec.to_dict` of the chunk; image bytes become base64 text with
`"base64": true` beside them. A msgpack frame is `lmc.codec.encode` (bytes stay bytes).
An SSE stream is `chunk` events, then `error` (an error body, see errors.py) if the run
failed, then one `done` event.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from lmc.codec import chunk_from_dict, encode, message_from_dict, to_dict
from lmc.messages import Chunk, Message

#: the version of the HTTP API (routes, bodies, frames); `GET /version` says it, clients refuse another
API_VERSION = 1
#: the extra key of a JSON frame whose content is base64 of bytes
BASE64 = "base64"


def to_json(item: Chunk | Message) -> dict[str, Any]:
    """A JSON-ready dict of a chunk or message."""
    out = to_dict(item)
    if isinstance(out.get("content"), bytes):
        out["content"] = base64.b64encode(out["content"]).decode("ascii")
        out[BASE64] = True
    return out


def _from_json(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    if data.pop(BASE64, False):
        data["content"] = base64.b64decode(data["content"])
    return data


def chunk_from_json(data: dict[str, Any]) -> Chunk:
    """A validated Chunk from a JSON frame."""
    return chunk_from_dict(_from_json(data))


def message_from_json(data: dict[str, Any]) -> Message:
    """A validated Message from a JSON frame."""
    return message_from_dict(_from_json(data))


def frame(chunk: Chunk, msgpack: bool) -> bytes | str:
    """A WebSocket frame of a chunk: msgpack bytes, or JSON text."""
    return encode(chunk) if msgpack else json.dumps(to_json(chunk))


def sse(event: str, data: dict[str, Any]) -> str:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"
