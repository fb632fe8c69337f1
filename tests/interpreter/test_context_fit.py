"""Fitting a transcript to the window: images go first, then old output, never the last user message."""

from __future__ import annotations

import pytest

from lmc.messages import Message
from orchestrator.errors import ContextOverflow
from orchestrator.session.context import fit_to_window


def _size(message: Message) -> int:
    """A real, simple count: length of content (images weigh what they weigh)."""
    return len(message.content) if isinstance(message.content, (str, bytes)) else 1


OLD = [
    Message("user", "message", "make a plot"),
    Message("assistant", "code", "plot()", "python"),
    Message("computer", "image", b"\x89PNG" + b"x" * 5000, "png"),
    Message("computer", "console", "y" * 3000, "output"),
    Message("assistant", "message", "done"),
]
LAST = [Message("user", "message", "now summarize")]


def test_fits_already_is_untouched() -> None:
    assert fit_to_window(OLD + LAST, _size, 100_000) is not None
    assert fit_to_window(OLD + LAST, _size, 100_000) == OLD + LAST


def test_images_go_before_output() -> None:
    fitted = fit_to_window(OLD + LAST, _size, 5000)
    assert [m.type for m in fitted] == ["message", "code", "console", "message", "message"]
    assert fitted[2].content == "y" * 3000


def test_then_old_output_is_elided() -> None:
    fitted = fit_to_window(OLD + LAST, _size, 800)
    console = [m for m in fitted if m.type == "console"]
    assert console and "2600 characters of output trimmed" in console[0].content
    assert fitted[-1] == LAST[0]


def test_last_user_message_is_never_dropped() -> None:
    fitted = fit_to_window(OLD + LAST, _size, 40)
    assert fitted[-1] == LAST[0] and len(fitted) < len(OLD) + 1
    with pytest.raises(ContextOverflow, match="last message alone"):
        fit_to_window(OLD + LAST, _size, 1000, fixed=900)
    with pytest.raises(ContextOverflow, match="last message alone"):
        fit_to_window(OLD + [Message("user", "message", "z" * 500)], _size, 100)
