"""The one block closer: keeps a chunk stream well formed when it is cut short."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from lmc.messages import Chunk


class OpenBlock:
    """Remembers the block a stream left open, so a failure can end it before reporting."""

    def __init__(self) -> None:
        self.open: Chunk | None = None

    def watch(self, chunks: Iterable[Chunk]) -> Iterator[Chunk]:
        """Pass chunks through; a block cut off by the start of another is ended first."""
        for chunk in chunks:
            if chunk.start:
                yield from self.close()
                if not chunk.end:
                    self.open = chunk
            elif chunk.end:
                self.open = None
            yield chunk

    def close(self) -> Iterator[Chunk]:
        """The end chunk of the block left open, if any."""
        if self.open is not None:
            head, self.open = self.open, None
            yield Chunk.end_of(head.block)
