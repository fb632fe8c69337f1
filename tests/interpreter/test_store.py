"""Conversation files: chunks appended as streamed, read back whole, damage at the tail survived."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmc.messages import Chunk, Message
from orchestrator.errors import ConversationNotFound, SettingsError
from orchestrator.session.store import ConversationStore, Recorder

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def _record(store: ConversationStore, conversation: str) -> list[Message]:
    messages: list[Message] = []
    rec = Recorder(conversation, messages, store)
    rec.record(Message("user", "message", "draw a chart"))
    rec.emit(Chunk("assistant", "message", "Sure", start=True))
    rec.emit(Chunk("assistant", "message", ", here.", end=True))
    rec.emit(Chunk.whole(Message("computer", "image", PNG, "png")))
    return messages


def test_round_trip_keeps_text_images_and_ids(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    written = _record(store, "c1")
    store.close()
    loaded = ConversationStore(tmp_path).load("c1")
    assert loaded == written
    assert [m.message for m in loaded] == [0, 1, 2] and loaded[2].content == PNG


def test_a_crash_mid_message_keeps_what_was_streamed(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    rec = Recorder("c2", [], store)
    rec.record(Message("user", "message", "hi"))
    rec.emit(Chunk("assistant", "message", "half a repl", start=True))
    path = store.path("c2")
    with open(path, "ab") as f:
        f.write(b"\x00\x00\x01\x00garbage")  # a frame cut short by the crash
    loaded = ConversationStore(tmp_path).load("c2")
    assert [m.content for m in loaded] == ["hi", "half a repl"]


def test_list_replace_and_errors(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    _record(store, "c3")
    store.replace("c3", [Message("user", "message", "only this")])
    assert [m.content for m in store.load("c3")] == ["only this"]
    infos = store.list()
    assert [(i.id, i.messages, i.title) for i in infos] == [("c3", 1, "only this")]
    with pytest.raises(ConversationNotFound, match="recent: c3"):
        store.load("missing")
    with pytest.raises(SettingsError, match="not valid"):
        store.path("../etc/passwd")
