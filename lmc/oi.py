"""Open Interpreter's JSON LMC messages to and from ours, so its transcripts come along.

How Open Interpreter's messages map onto ours:

    OI                                          LMC
    image base64 / base64.png / base64.jpeg     image png / jpeg, raw bytes (the bytes decide
      (plain base64 or a data URL)                which of the two; "base64" alone is no hint)
    image path                                  image path
    image description (a text stand-in)         user message, or computer console output
    confirmation execution {type: code, ...}    confirmation holding an assistant code Message
    file (a path the user dropped in)           user message with the path, as OI shows it to models
    computer code (HTML shown to the user)      skipped: a display artefact, not conversation
    server completion                           server status "complete"
    error                                       computer error (OI's have no kind: "internal")

`recipient` is ignored. `to_oi` writes OI's formats back; our console
exit_code, which OI lacks, becomes an output line ``[exit status 2]`` (status 0
is left out) and our ids are dropped. Field names in errors are
``messages[i].field`` (or ``chunks[i].field``) so a bad transcript is easy to fix.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable, Iterator
from typing import Any

from lmc.errors import InvalidMessage, ProtocolError
from lmc.images import decode_base64, parse_data_url, sniff_image
from lmc.messages import ERROR_KINDS, Chunk, Message, Role

log = logging.getLogger(__name__)

_TYPES = "message, code, console, image, confirmation, file, error, status, completion"
_BASE64_FORMATS = ("base64", "base64.png", "base64.jpeg", "base64.jpg")
_IMAGE_FORMATS = ", ".join((*_BASE64_FORMATS[:3], "path", "description"))


def _image(where: str, role: Role, fmt: object, content: object) -> Message:
    """An OI image message as ours."""
    if fmt == "path" or fmt == "description":
        if not isinstance(content, str):
            raise InvalidMessage(f"{where}.content", f"text for an image/{fmt}", type(content).__name__)
        if fmt == "path":
            return Message(role, "image", content, "path")
        return Message(role, "message", content) if role == "user" else _output(content)
    if fmt not in _BASE64_FORMATS:
        raise InvalidMessage(f"{where}.format", f"one of {_IMAGE_FORMATS} for an image", fmt)
    if not isinstance(content, str):
        raise InvalidMessage(f"{where}.content", "base64 text for an image", type(content).__name__)
    if content.startswith("data:"):
        data, found = parse_data_url(content, f"{where}.content")
    else:
        data = decode_base64(content, f"{where}.content")
        sniffed = sniff_image(data)
        if sniffed is None:
            raise InvalidMessage(f"{where}.content", "base64 of a PNG or JPEG image", data[:16])
        found = sniffed
    return Message(role, "image", data, found)


def _output(text: str) -> Message:
    return Message("computer", "console", text, "output")


def _active_line(where: str, content: object) -> Message:
    """OI sends the line as an int, None when done, or in older versions a digit string."""
    if isinstance(content, str) and content.strip().isdigit():
        content = int(content)
    if content is not None and (not isinstance(content, int) or isinstance(content, bool)):
        raise InvalidMessage(f"{where}.content", "a line number or None for console/active_line", content)
    return Message("computer", "console", content, "active_line")


def _confirmation(where: str, content: object) -> Message:
    if not isinstance(content, dict) or content.get("type") != "code":
        expected = "{'type': 'code', 'format': language, 'content': code}"
        raise InvalidMessage(f"{where}.content", expected, content)
    code = Message("assistant", "code", content.get("content"), content.get("format"))
    return Message("computer", "confirmation", code, "execution")


def _error(content: object, fmt: object) -> Message:
    kind = next((known for known in ERROR_KINDS if known == fmt), "internal")
    return Message("computer", "error", content if isinstance(content, str) else str(content), kind)


def _known_role(where: str, role: object, type_: object, roles: tuple[Role, ...]) -> Role:
    for known in roles:
        if role == known:
            return known
    raise InvalidMessage(f"{where}.role", f"{' or '.join(roles)} for type {type_!r}", role)


def _convert(where: str, role: object, type_: object, fmt: object, content: object) -> Message | None:
    """Our message for one OI message's fields; None for what has no place in LMC."""
    if type_ in ("message", "file"):
        roles: tuple[Role, ...] = ("user", "assistant") if type_ == "message" else ("user",)
        return Message.checked(_known_role(where, role, type_, roles), "message", content)
    if type_ == "code":
        if role == "computer":
            log.info("%s: skipping an OI computer/code message (HTML shown to the user)", where)
            return None
        if not isinstance(fmt, str) or not fmt:
            raise InvalidMessage(f"{where}.format", "the language name for code", fmt)
        return Message.checked(_known_role(where, role, type_, ("assistant",)), "code", content, fmt)
    if type_ == "console":
        if fmt == "active_line":
            return _active_line(where, content)
        if fmt != "output":
            raise InvalidMessage(f"{where}.format", "output or active_line for console", fmt)
        return _output(content if isinstance(content, str) else str(content))
    if type_ == "image":
        return _image(where, _known_role(where, role, type_, ("user", "computer")), fmt, content)
    if type_ == "confirmation":
        return _confirmation(where, content)
    if type_ == "error":
        return _error(content, fmt)
    if type_ in ("status", "completion"):
        _known_role(where, role, type_, ("server",))
        return Message.checked("server", "status", "complete" if type_ == "completion" else content)
    raise InvalidMessage(f"{where}.type", f"one of {_TYPES}", type_)


def _fields(where: str, item: object) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidMessage(where, "a dict with 'role', 'type' and 'content'", type(item).__name__)
    return item


def _message(where: str, item: dict[str, Any]) -> Message | None:
    """Convert one OI dict, naming it in any InvalidMessage the schema raises."""
    try:
        return _convert(where, item.get("role"), item.get("type"), item.get("format"), item.get("content"))
    except InvalidMessage as exc:
        if exc.field.startswith(where):
            raise
        raise InvalidMessage(f"{where}.{exc.field}", exc.expected, exc.got) from exc


def from_oi(messages: Iterable[object]) -> list[Message]:
    """Our messages for a list of complete Open Interpreter messages (JSON dicts)."""
    out: list[Message] = []
    for i, item in enumerate(messages):
        where = f"messages[{i}]"
        fields = _fields(where, item)
        for flag in ("start", "end"):
            if flag in fields:
                expected = "absent in a complete message; read streamed chunks with chunks_from_oi()"
                raise InvalidMessage(f"{where}.{flag}", expected, fields[flag])
        message = _message(where, fields)
        if message is not None:
            out.append(message)
    return out


def to_oi(messages: Iterable[Message]) -> list[dict[str, Any]]:
    """Open Interpreter messages (JSON-serialisable dicts) for ours."""
    out: list[dict[str, Any]] = []
    for m in messages:
        item: dict[str, Any] = {"role": m.role, "type": m.type}
        content: object = m.content
        if m.type == "console" and m.format == "exit_code":
            if not isinstance(content, int) or not content:
                continue  # success is OI's silent default
            item["format"], content = "output", f"[exit status {content}]"
        elif m.type == "image" and isinstance(content, bytes):  # png or jpeg; a path is text
            item["format"], content = f"base64.{m.format}", base64.b64encode(content).decode("ascii")
        elif m.type == "confirmation" and isinstance(content, Message):
            item["format"] = "execution"
            content = {"type": "code", "format": content.format, "content": content.content}
        elif m.format is not None:
            item["format"] = m.format
        item["content"] = content
        out.append(item)
    return out


class _ChunkReader:
    """Open Interpreter's start/content/end dicts to our chunks.

    OI wraps a run's console in one block with no format and mixes output and
    active_line chunks inside it; ours keeps them apart, so output pieces open
    and close their own block around each active line. Base64 image pieces are
    collected and decoded once the image's block ends.
    """

    def __init__(self) -> None:
        self.outer: dict[str, Any] | None = None  # the OI start chunk of the open block
        self.inner: Chunk | None = None  # the start chunk of our open block
        self.image: list[str] = []

    def read(self, i: int, item: object) -> Iterator[Chunk]:
        """Our chunks for OI chunk number `i`."""
        where = f"chunks[{i}]"
        fields = _fields(where, item)
        start, end = bool(fields.get("start")), bool(fields.get("end"))
        if start:
            yield from self._start(where, fields)
        elif self.outer is None:
            message = _message(where, fields)  # a chunk with no flags outside a block is whole
            if message is not None:
                yield Chunk.whole(message)
            return
        if "content" in fields:
            yield from self._content(where, fields)
        if end:
            yield from self._end(where)

    def _start(self, where: str, fields: dict[str, Any]) -> Iterator[Chunk]:
        if self.outer is not None:
            raise ProtocolError(
                f"{where}: a {fields.get('role')}/{fields.get('type')} block started before the open "
                f"{self.outer.get('role')}/{self.outer.get('type')} block ended"
            )
        self.outer = fields
        role, type_ = fields.get("role"), fields.get("type")
        if type_ in ("message", "code") and role != "computer":  # open now so readers see it start
            probe = _message(where, {**fields, "content": ""})
            if probe is not None:
                self.inner = Chunk(probe.role, probe.type, None, probe.format, start=True)
                yield self.inner

    def _content(self, where: str, fields: dict[str, Any]) -> Iterator[Chunk]:
        assert self.outer is not None
        merged = {**self.outer, **fields}
        if merged["content"] is None and merged.get("format") != "active_line":
            return  # only an active line means something by None: the run has finished
        if (merged.get("role"), merged.get("type")) != (self.outer.get("role"), self.outer.get("type")):
            raise ProtocolError(
                f"{where}: a {merged.get('role')}/{merged.get('type')} chunk arrived inside the open "
                f"{self.outer.get('role')}/{self.outer.get('type')} block; blocks must not interleave"
            )
        if merged.get("type") == "image" and merged.get("format") in _BASE64_FORMATS:
            self.image.append(merged["content"])  # base64 pieces decode only when joined
            return
        message = _message(where, merged)
        if message is None:
            return
        block = (message.role, message.type, message.format)
        if self.inner is not None and self.inner.block == block:
            yield Chunk(*block[:2], message.content, block[2])
            return
        yield from self._close_inner()
        if message.type != "console" or message.format == "active_line":
            yield Chunk.whole(message)  # a position, a path, an approval: nothing to append to
        else:
            self.inner = Chunk(*block[:2], message.content, block[2], start=True)
            yield self.inner

    def _close_inner(self) -> Iterator[Chunk]:
        if self.inner is not None:
            yield Chunk.end_of(self.inner.block)
        self.inner = None

    def _end(self, where: str) -> Iterator[Chunk]:
        if self.image:
            assert self.outer is not None
            message = _message(where, {**self.outer, "content": "".join(self.image)})
            if message is not None:
                yield Chunk.whole(message)
        yield from self._close_inner()
        self.outer, self.image = None, []


def chunks_from_oi(chunks: Iterable[object]) -> Iterator[Chunk]:
    """Our chunks for a stream of Open Interpreter chunks (dicts with start/end flags).

    Lazy: a bad chunk raises InvalidMessage or ProtocolError when it is reached.
    """
    reader = _ChunkReader()
    i = -1
    for i, item in enumerate(chunks):
        yield from reader.read(i, item)
    if reader.outer is not None:
        block = f"{reader.outer.get('role')}/{reader.outer.get('type')}"
        raise ProtocolError(f"the OI stream ended after chunks[{i}] inside an open {block} block")
