"""The one msgpack codec for LMC messages and chunks.

Images travel as raw bytes (msgpack bin), never base64. Field names are kept
whole so a dump is readable; default values are left out.
"""

from __future__ import annotations

from typing import Any

import msgpack

from lmc.errors import FramingError, InvalidMessage
from lmc.messages import Chunk, Message

_KNOWN = {"role", "type", "format", "content", "start", "end", "session", "message", "seq"}


def to_dict(item: Message | Chunk) -> dict[str, Any]:
    """A plain dict of a message or chunk, defaults left out (msgpack/JSON ready)."""
    out: dict[str, Any] = {"role": item.role, "type": item.type}
    if item.format is not None:
        out["format"] = item.format
    if isinstance(item.content, Message):
        out["content"] = to_dict(item.content)
    elif item.content is not None:
        out["content"] = item.content
    if isinstance(item, Chunk):
        if item.start:
            out["start"] = True
        if item.end:
            out["end"] = True
        if item.seq:
            out["seq"] = item.seq
    if item.session:
        out["session"] = item.session
    if item.message:
        out["message"] = item.message
    return out


def _fields(data: object, nested: bool = False) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidMessage("message", "a map of fields", type(data).__name__)
    unknown = set(data) - _KNOWN
    if unknown:
        raise InvalidMessage("fields", "only " + ", ".join(sorted(_KNOWN)), sorted(map(str, unknown)))
    for name in ("role", "type"):
        if name not in data:
            raise InvalidMessage(name, "present", None)
    content = data.get("content")
    if isinstance(content, dict):
        # only a confirmation holds a message (the code awaiting approval), and that one holds text:
        # one level, so a hostile peer's deep nesting is refused here, not by a RecursionError
        if nested:
            raise InvalidMessage("content", "text, bytes or an int inside a nested message", "a map")
        content = _message(content, nested=True)
    fields = {
        "role": data["role"],
        "type": data["type"],
        "format": data.get("format"),
        "content": content,
        "session": data.get("session", ""),
        "message": data.get("message", 0),
    }
    if not isinstance(fields["session"], str):
        raise InvalidMessage("session", "text", fields["session"])
    if not isinstance(fields["message"], int):
        raise InvalidMessage("message", "an int", fields["message"])
    return fields


def message_from_dict(data: object) -> Message:
    """Validate a plain dict into a Message; raise InvalidMessage naming the bad field."""
    return _message(data, nested=False)


def _message(data: object, nested: bool) -> Message:
    fields = _fields(data, nested)
    assert isinstance(data, dict)
    for flag in ("start", "end", "seq"):
        if flag in data:
            raise InvalidMessage(flag, "absent on a complete message", data[flag])
    return Message(**fields)


def chunk_from_dict(data: object) -> Chunk:
    """Validate a plain dict into a Chunk; raise InvalidMessage naming the bad field."""
    fields = _fields(data)
    assert isinstance(data, dict)
    for flag in ("start", "end"):
        if not isinstance(data.get(flag, False), bool):
            raise InvalidMessage(flag, "a bool", data[flag])
    seq = data.get("seq", 0)
    if not isinstance(seq, int):
        raise InvalidMessage("seq", "an int", seq)
    return Chunk(start=data.get("start", False), end=data.get("end", False), seq=seq, **fields)


def encode(item: Message | Chunk) -> bytes:
    """msgpack bytes of a message or chunk."""
    packed: bytes = msgpack.packb(to_dict(item), use_bin_type=True)  # msgpack ships no type hints
    return packed


def _unpack(data: bytes) -> object:
    try:
        return msgpack.unpackb(data, raw=False)
    except (ValueError, msgpack.UnpackException) as exc:
        raise FramingError(f"not a msgpack LMC item ({exc}); is the other side speaking LMC?") from exc
    except TypeError as exc:  # not bytes at all: a caller's mistake, named as such
        raise FramingError(f"expected msgpack bytes, got {type(data).__name__} ({exc})") from exc


def decode_chunk(data: bytes) -> Chunk:
    """A validated Chunk from msgpack bytes."""
    return chunk_from_dict(_unpack(data))


def decode_message(data: bytes) -> Message:
    """A validated Message from msgpack bytes."""
    return message_from_dict(_unpack(data))


def pack(obj: object) -> bytes:
    """msgpack bytes of a plain value (for control frames that are not messages)."""
    packed: bytes = msgpack.packb(obj, use_bin_type=True)  # msgpack ships no type hints
    return packed


def unpack(data: bytes) -> object:
    """A plain value from msgpack bytes; FramingError when they are not msgpack."""
    return _unpack(data)
