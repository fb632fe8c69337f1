"""Conversations on disk: every chunk appended as it is produced, so a crash loses nothing streamed.

One file per conversation, `<data dir>/conversations/<id>.lmc`: length-prefixed
msgpack frames (lmc.framing + lmc.codec), the same bytes as on the wire, images
raw. Appending a frame is one write() followed by a flush, so what was
streamed is in the operating system's hands even if the process dies next. A
frame cut short by a crash is dropped on load, and a message whose end never
arrived is closed there.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from lmc import codec, framing
from lmc.assembly import Assembler
from lmc.errors import FramingError, InvalidMessage
from lmc.messages import Chunk, Message
from orchestrator.errors import ConversationNotFound, SettingsError

log = logging.getLogger(__name__)

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SUFFIX = ".lmc"
#: what a conversation spent in all, beside its transcript (json)
USAGE_SUFFIX = ".usage.json"


def new_id() -> str:
    """A fresh conversation id: sortable by time, unique by randomness."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


@dataclass(frozen=True)
class ConversationInfo:
    """What `lmc conversations` shows about one saved conversation."""

    id: str
    """The id to pass to --resume."""
    modified: float
    """Last write, seconds since the epoch."""
    messages: int
    """Complete messages in it."""
    title: str
    """The first user message, shortened."""


class ConversationStore:
    """Append-only conversation files under one directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root) / "conversations"
        self._open: dict[str, BinaryIO] = {}

    def path(self, conversation: str) -> Path:
        """The file of a conversation id (the id is checked: it becomes a file name)."""
        if not _ID.match(conversation):
            raise SettingsError(
                f"conversation id {conversation!r} is not valid; expected letters, digits, '-' or '_' "
                "(see `lmc conversations` for saved ids)")
        return self.root / (conversation + SUFFIX)

    def append(self, conversation: str, chunks: Iterable[Chunk]) -> None:
        """Append chunks to a conversation, flushed before returning."""
        handle = self._open.get(conversation)
        if handle is None:
            self.root.mkdir(parents=True, exist_ok=True)
            handle = self._open[conversation] = open(self.path(conversation), "ab")  # noqa: SIM115
        data = b"".join(framing.frame(codec.encode(c)) for c in chunks)
        if data:
            handle.write(data)
            handle.flush()

    def replace(self, conversation: str, messages: list[Message]) -> None:
        """Rewrite a conversation to exactly these messages (after %undo); atomic via rename."""
        handle = self._open.pop(conversation, None)
        if handle is not None:
            handle.close()
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.path(conversation)
        partial = path.with_suffix(".partial")
        with open(partial, "wb") as out:
            out.write(b"".join(framing.frame(codec.encode(Chunk.whole(m))) for m in messages))
        partial.replace(path)

    def save_usage(self, conversation: str, usage: dict[str, Any]) -> None:
        """Keep what the conversation has spent in all (UsageReport.total), beside its transcript; atomic."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.path(conversation).with_suffix(USAGE_SUFFIX)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(usage))
        partial.replace(path)

    def load_usage(self, conversation: str) -> dict[str, Any] | None:
        """What `save_usage` kept; None if nothing was (a conversation from before, or never metered)."""
        path = self.path(conversation).with_suffix(USAGE_SUFFIX)
        try:
            found = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("conversation %s: its usage file %s is unreadable (%s); counting from zero",
                        conversation, path, exc)
            return None
        return found if isinstance(found, dict) else None

    def exists(self, conversation: str) -> bool:
        """Whether a conversation has been saved."""
        return self.path(conversation).is_file()

    def delete(self, conversation: str) -> None:
        """Delete a saved conversation (nothing happens if none was saved)."""
        handle = self._open.pop(conversation, None)
        if handle is not None:
            handle.close()
        self.path(conversation).unlink(missing_ok=True)
        self.path(conversation).with_suffix(USAGE_SUFFIX).unlink(missing_ok=True)

    def load(self, conversation: str) -> list[Message]:
        """The complete messages of a saved conversation."""
        path = self.path(conversation)
        if not path.is_file():
            known = ", ".join(i.id for i in self.list()[:5]) or "none saved yet"
            raise ConversationNotFound(
                f"no saved conversation {conversation!r} in {self.root}; recent: {known} "
                "(`lmc conversations` lists them)")
        return _messages(_read_chunks(path))

    def list(self) -> list[ConversationInfo]:
        """Saved conversations, newest first."""
        if not self.root.is_dir():
            return []
        out = []
        for path in self.root.glob("*" + SUFFIX):
            messages = _messages(_read_chunks(path))
            first = next((m.content for m in messages if m.role == "user" and m.type == "message"), "")
            title = " ".join(str(first).split())
            out.append(ConversationInfo(path.stem, path.stat().st_mtime, len(messages),
                                        title[:60] + ("…" if len(title) > 60 else "")))
        return sorted(out, key=lambda info: info.modified, reverse=True)

    def close(self) -> None:
        """Close the open files."""
        for handle in self._open.values():
            handle.close()
        self._open.clear()


def _read_chunks(path: Path) -> list[Chunk]:
    chunks: list[Chunk] = []
    with open(path, "rb") as stream:
        while True:
            try:
                payload = framing.read_frame(stream)
                if payload is None:
                    return chunks
                chunks.append(codec.decode_chunk(payload))
            except (FramingError, InvalidMessage) as exc:
                # Only a crash mid-write leaves a bad frame, and only at the end: keep what came before.
                log.warning("%s: dropping a damaged tail after %d chunks (%s)", path, len(chunks), exc)
                return chunks


def _messages(chunks: list[Chunk]) -> list[Message]:
    """Assemble chunks; a block left open by a crash is closed where it stopped."""
    assembler = Assembler()
    out: list[Message] = []
    for chunk in chunks:
        if chunk.start and assembler.open_block is not None:
            out.extend(_close(assembler))
        done = assembler.feed(chunk)
        if done is not None:
            out.append(done)
    out.extend(_close(assembler))
    return out


def _close(assembler: Assembler) -> list[Message]:
    block = assembler.open_block
    if block is None:
        return []
    try:
        done = assembler.feed(Chunk.end_of(block))
    except InvalidMessage:  # e.g. an image cut off before any bytes: nothing worth keeping
        return []
    return [done] if done is not None else []


class Recorder:
    """Stamps a conversation's chunks with ids, assembles them into its transcript, appends them to disk."""

    def __init__(self, conversation: str, messages: list[Message], store: ConversationStore) -> None:
        self.conversation = conversation
        self.messages = messages
        self.store = store
        self._assembler = Assembler()
        self._seq = 0

    def emit(self, chunk: Chunk) -> Chunk:
        """Stamp, save and assemble one chunk; return it stamped."""
        self._seq += 1
        stamped = chunk.with_ids(self.conversation, len(self.messages), self._seq)
        self.store.append(self.conversation, [stamped])
        done = self._assembler.feed(stamped)
        if done is not None:
            self.messages.append(done)
        return stamped

    def emit_message(self, message: Message) -> Generator[Chunk, object, object]:
        """Yield a whole message as one chunk; return what the consumer sent back (for approvals)."""
        sent = yield self.emit(Chunk.whole(message))
        return sent

    def record(self, message: Message) -> None:
        """Save a message that is not streamed to anyone (the user's own)."""
        self.emit(Chunk.whole(message))

    def close_open(self) -> None:
        """End a block left open by a stop or an abandoned stream, so the transcript stays whole."""
        block = self._assembler.open_block
        if block is not None:
            self.emit(Chunk.end_of(block))
