"""Helpers for contract tests: collect a run's text, errors and images."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from lmc.messages import Chunk, Message
from orchestrator.computer import Computer


def text(messages: Iterable[Message]) -> str:
    """All console output text of a run, joined."""
    return "".join(m.content for m in messages if m.type == "console" and m.format == "output")


def errors(messages: Iterable[Message]) -> list[tuple[str, str]]:
    """(kind, text) of every error message of a run."""
    return [(m.format or "", m.content) for m in messages if m.type == "error"]


def exit_code(messages: Iterable[Message]) -> int | None:
    """The exit status a run reported, if any."""
    codes = [m.content for m in messages if m.type == "console" and m.format == "exit_code"]
    return codes[-1] if codes else None


def stop_when(computer: Computer, chunks: Iterable[Chunk], marker: str) -> list[Chunk]:
    """Consume a stream, calling computer.stop() from another thread once marker was printed."""
    seen: list[Chunk] = []
    fired = False
    for chunk in chunks:
        seen.append(chunk)
        if not fired and marker in "".join(c.content for c in seen if isinstance(c.content, str)):
            fired = True
            threading.Timer(0.2, computer.stop).start()
    return seen


def timed(chunks: Iterable[Chunk]) -> list[tuple[float, Chunk]]:
    """Each chunk with the monotonic time it arrived."""
    return [(time.monotonic(), c) for c in chunks]
