"""Chunk assembly: streams of chunks to complete messages, and back."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

from lmc.errors import ProtocolError
from lmc.messages import Block, Chunk, Content, Message


class Assembler:
    """Feed chunks in stream order; complete messages come out as their end arrives."""

    def __init__(self) -> None:
        self._open: Chunk | None = None
        self._parts: list[Content] = []

    def feed(self, chunk: Chunk) -> Message | None:
        """Take one chunk; return the message it completes, if any."""
        if chunk.start:
            if self._open is not None:
                raise ProtocolError(
                    f"a {chunk.role}/{chunk.type} block started before the open "
                    f"{self._open.role}/{self._open.type} block ended"
                )
            self._open, self._parts = chunk, []
        elif self._open is None:
            raise ProtocolError(f"a {chunk.role}/{chunk.type} chunk arrived with no start chunk before it")
        elif chunk.block != self._open.block:
            raise ProtocolError(
                f"chunk {chunk.block} arrived inside the open block {self._open.block}; "
                "blocks must not interleave"
            )
        if chunk.content is not None:
            self._parts.append(chunk.content)
        if not chunk.end:
            return None
        head, parts = self._open, self._parts
        self._open, self._parts = None, []
        return Message(head.role, head.type, _join(head, parts), head.format, head.session, head.message)

    @property
    def open_block(self) -> Block | None:
        """The (role, type, format) of the block still waiting for its end, if any."""
        return None if self._open is None else self._open.block


def _join(head: Chunk, parts: list[Content]) -> Content:
    if head.type == "console" and head.format in ("active_line", "exit_code"):
        return parts[-1] if parts else None  # a position, not text: the latest wins
    if head.type == "confirmation":
        return parts[-1] if parts else None
    if head.type == "image" and head.format in ("png", "jpeg"):
        return b"".join(p for p in parts if isinstance(p, bytes))
    return "".join(p for p in parts if isinstance(p, str))


def assemble(chunks: Iterable[Chunk]) -> list[Message]:
    """All complete messages of a finished stream; an unfinished block is an error."""
    assembler = Assembler()
    out = [m for m in map(assembler.feed, chunks) if m is not None]
    if assembler.open_block is not None:
        raise ProtocolError(f"the stream ended inside an open {assembler.open_block} block")
    return out


def split(message: Message, size: int | None = None) -> Iterator[Chunk]:
    """Chunks of a message: one whole chunk, or start / content pieces of `size` / end."""
    if size is None or not isinstance(message.content, (str, bytes)) or len(message.content) <= size:
        yield Chunk.whole(message)
        return
    empty = Chunk(message.role, message.type, None, message.format, session=message.session,
                  message=message.message)
    yield replace(empty, start=True)
    for i in range(0, len(message.content), size):
        yield replace(empty, content=message.content[i : i + size])
    yield replace(empty, end=True)
