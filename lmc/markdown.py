"""Code blocks in a model's markdown: parsed whole, or streamed as LMC chunks.

A fence is a line of three or more backticks (or tildes), indented by at most
three spaces, with an optional info string whose first word is the language.
It closes at a line of the same character, at least as long, with nothing but
whitespace after. A fence left open at the end of the text closes there.

Text between fences is stripped of surrounding whitespace and dropped when
nothing is left, so a reply of only code gives only code blocks.
Languages are reported as written (``py``, ``sh``); the caller maps aliases.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from lmc.messages import Chunk

#: A whole line that opens a fence: indent, the fence run, the info string.
_OPEN = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)$")
#: A partial line that could still become an opening fence (held until its newline).
_MAYBE_OPEN = re.compile(r"^ {0,3}(`{0,2}|~{0,2}|`{3,}[^`]*|~{3,}.*)$")
#: A partial line that could still become a closing fence.
_MAYBE_CLOSE = re.compile(r"^ {0,3}(`*|~*)[ \t]*$")


@dataclass(frozen=True, slots=True)
class Block:
    """A piece of markdown: prose, or the source inside one fenced code block."""

    kind: Literal["text", "code"]
    #: The prose (stripped) or the code (without the newline before the closing fence).
    content: str
    #: The first word of the fence's info string; None for prose and for a bare fence.
    language: str | None = None


def _language(info: str) -> str | None:
    """The first word of a fence's info string, or None when there is none."""
    words = info.split()
    return words[0] if words else None


def _opening(line: str) -> tuple[str, str | None] | None:
    """(fence run, language) when the complete line opens a fence."""
    match = _OPEN.match(line)
    if match is None:
        return None
    fence, info = match["fence"], match["info"]
    if fence[0] == "`" and "`" in info:
        return None  # CommonMark: a backtick fence's info string has no backticks (it is inline code)
    return fence, _language(info)


def _closes(line: str, fence: str) -> bool:
    """Whether the complete line closes a block opened with `fence`."""
    stripped = line.rstrip()
    body = stripped.lstrip(" ")
    if len(stripped) - len(body) > 3 or len(body) < len(fence):
        return False
    return body == fence[0] * len(body)


def parse_blocks(text: str) -> list[Block]:
    """Split markdown into prose and fenced code blocks, in order."""
    blocks: list[Block] = []
    prose: list[str] = []
    code: list[str] | None = None
    fence, language = "", None
    for line in text.split("\n"):
        if code is None:
            opened = _opening(line)
            if opened is None:
                prose.append(line)
                continue
            _add_text(blocks, "\n".join(prose))
            prose, code = [], []
            fence, language = opened
        elif _closes(line, fence):
            blocks.append(Block("code", "\n".join(code), language))
            code = None
        else:
            code.append(line)
    if code is not None:
        if code and code[-1] == "":
            code.pop()  # the newline that ends an unclosed block's last line is not code
        blocks.append(Block("code", "\n".join(code), language))
    else:
        _add_text(blocks, "\n".join(prose))
    return blocks


def _add_text(blocks: list[Block], text: str) -> None:
    stripped = text.strip()
    if stripped:
        blocks.append(Block("text", stripped))


def python_by_default(language: str | None) -> str:
    """The language as written, or ``python`` for a bare fence (Open Interpreter's habit)."""
    return language or "python"


class BlockStream:
    """Turn streamed markdown deltas into assistant message and code chunks.

    Text is released as soon as it cannot be part of a fence line; a code
    block's start chunk goes out when its fence line is complete and its end
    chunk when the closing fence is. `finish()` closes whatever is still open.
    Assembled, the chunks give the same blocks as `parse_blocks` on the whole text.
    """

    def __init__(self, resolve_language: Callable[[str | None], str] = python_by_default) -> None:
        self._resolve = resolve_language
        self._line = ""  # the current line, not yet released
        self._released = 0  # how much of _line has gone out already
        self._mode: Literal["text", "code"] = "text"
        self._fence = ""
        self._language = ""
        self._text_open = False
        self._space = ""  # whitespace held back: it is dropped if a fence or the end follows
        self._code_lines = 0  # complete code lines released in the open block
        self._out: list[Chunk] = []

    def feed(self, delta: str) -> list[Chunk]:
        """Take the next piece of text; return the chunks it makes certain."""
        for piece in re.split(r"(?<=\n)", delta):
            if piece:
                self._take(piece)
        out, self._out = self._out, []
        return out

    def finish(self) -> list[Chunk]:
        """End of the stream: release the last line and close the open block."""
        line = self._line
        if self._mode == "code":
            if line and not _closes(line, self._fence):
                self._code(line[self._released :])
            self._end_code()
        elif _opening(line) is not None:
            self._end_text()
            self._start_code(line)  # a reply that ends on an opening fence: an empty block
            self._end_code()
        else:
            self._text(line[self._released :])
            self._end_text()
        self._line, self._released = "", 0
        out, self._out = self._out, []
        return out

    def _take(self, piece: str) -> None:
        """Add a piece that holds at most one newline, at its end."""
        self._line += piece
        if not self._line.endswith("\n"):
            maybe = _MAYBE_CLOSE if self._mode == "code" else _MAYBE_OPEN
            if not maybe.match(self._line):
                self._release(self._line[self._released :])
                self._released = len(self._line)
            return
        line = self._line[:-1]
        if self._mode == "code" and _closes(line, self._fence):
            self._end_code()
        elif self._mode == "text" and self._released == 0 and _opening(line) is not None:
            self._end_text()
            self._start_code(line)
        elif self._mode == "code":
            self._code(line[self._released :])
            self._code_lines += 1
        else:
            self._text(self._line[self._released :])
        self._line, self._released = "", 0

    def _release(self, text: str) -> None:
        if self._mode == "code":
            self._code(text)
        else:
            self._text(text)

    def _text(self, text: str) -> None:
        """Release prose, holding back whitespace that may turn out to be trailing."""
        if not self._text_open:
            text = text.lstrip()  # a text block's leading whitespace is dropped
        body = text.rstrip()
        if body:
            self._emit_text(self._space + body, start=not self._text_open)
            self._text_open, self._space = True, ""
        self._space += text[len(body) :]

    def _emit_text(self, content: str, start: bool) -> None:
        self._out.append(Chunk("assistant", "message", content, start=start))

    def _end_text(self) -> None:
        if self._text_open:
            self._out.append(Chunk("assistant", "message", end=True))
        self._text_open, self._space = False, ""

    def _start_code(self, line: str) -> None:
        opened = _opening(line)
        assert opened is not None
        self._fence = opened[0]
        self._language = self._resolve(opened[1])
        self._mode, self._code_lines = "code", 0
        self._out.append(Chunk("assistant", "code", None, self._language, start=True))

    def _code(self, text: str) -> None:
        """Release code; the newline before a line goes out with the line (it may be the last)."""
        first_piece = self._released == 0
        if first_piece and self._code_lines:
            text = "\n" + text
        if text:
            self._out.append(Chunk("assistant", "code", text, self._language))

    def _end_code(self) -> None:
        self._out.append(Chunk("assistant", "code", None, self._language, end=True))
        self._mode = "text"
