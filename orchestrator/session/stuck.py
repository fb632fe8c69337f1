"""Noticing a model that is stuck: the same code, the same failure, or one sentence over and over.

The conversation tells the model once (a `computer` note, prompts.REPEATING) and,
if it carries on, stops with the status STUCK. A reply whose own text loops is
cut as it streams (`looping_tail`).

    Repetition.before_run(code)      True: the model was warned and asks for the same code again: stop
    Repetition.after_run(code, out)  "warn" the first time a streak reaches REPEATS, "stop" after a warning
    Repetition.after_cut()           the same for a reply cut for repeating itself
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from lmc.messages import Message

#: The status of a chat stopped because the model kept repeating itself.
STUCK = "stuck"
#: The same code, or the same failing output, this many times in a row is a streak the model is told about.
REPEATS = 3
#: A reply's text whose last LOOP_SPAN characters (at least) repeat one piece LOOP_TIMES times is cut.
LOOP_SPAN = 240
LOOP_TIMES = 4
#: The shortest and longest repeating piece looked for, in characters.
LOOP_PERIODS = (8, 300)
#: How much of a reply's text is kept to look for loops.
LOOP_TAIL = LOOP_PERIODS[1] * LOOP_TIMES

Verdict = Literal["warn", "stop"] | None


def _code_key(code: Message) -> tuple[str, str]:
    return str(code.format), " ".join(str(code.content).split())


def _failure_key(outputs: Sequence[Message]) -> str | None:
    """The step's output when it failed (an error, a non-zero exit, a traceback), numbers blanked; else None."""
    failed = False
    text: list[str] = []
    for message in outputs:
        if message.role != "computer":
            continue
        if message.type == "error":
            failed = True
        elif message.type == "console" and message.format == "exit_code":
            failed = failed or message.content not in (0, None)
        if isinstance(message.content, str):
            text.append(message.content)
            failed = failed or "Traceback (most recent call last)" in message.content
    # Why blank the numbers: cell numbers, line numbers and pids differ between runs of the same failure
    return re.sub(r"\d+", "#", "".join(text)) if failed else None


class Repetition:
    """Streaks of the same code and of the same failing output in one chat; whether the model was warned."""

    def __init__(self) -> None:
        self.warned = False
        self._code: tuple[str, str] | None = None
        self._code_runs = 0
        self._failure: str | None = None
        self._failure_runs = 0

    def before_run(self, code: Message) -> bool:
        """Whether this code must not run: the model was warned and asks for its last code again."""
        return self.warned and _code_key(code) == self._code and self._code_runs >= REPEATS

    def after_run(self, code: Message, outputs: Sequence[Message]) -> Verdict:
        """Count the step in its streaks; "warn" at the first streak of REPEATS, "stop" at one after that."""
        key = _code_key(code)
        self._code_runs = self._code_runs + 1 if key == self._code else 1
        self._code = key
        failure = _failure_key(outputs)
        self._failure_runs = self._failure_runs + 1 if failure is not None and failure == self._failure else (
            1 if failure is not None else 0)
        self._failure = failure
        if max(self._code_runs, self._failure_runs) >= REPEATS:
            return self._verdict()
        return None

    def after_cut(self) -> Verdict:
        """A reply was cut for repeating itself: "warn" the first time, "stop" after a warning."""
        return self._verdict()

    def _verdict(self) -> Verdict:
        if self.warned:
            return "stop"
        self.warned = True
        return "warn"


def looping_tail(text: str) -> bool:
    """Whether the end of `text` is one piece (with some letters) repeated LOOP_TIMES times or more."""
    low, high = LOOP_PERIODS
    for period in range(low, min(high, len(text) // LOOP_TIMES) + 1):
        times = max(LOOP_TIMES, -(-LOOP_SPAN // period))
        span = period * times
        if span > len(text):
            continue
        tail = text[-span:]
        if tail[period:] == tail[:-period]:
            piece = tail[-period:]
            if len(set(piece)) >= 5 and any(c.isalpha() for c in piece):
                return True
    return False
