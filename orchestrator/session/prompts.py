"""What the model is told, and how its malformed requests for code are read anyway.

The system message teaches the model its languages, how to ask for code in
the current mode, and the `computer` API available inside Python. Small models
often get the form wrong: they print the tool call's JSON as text, call a tool
named after the language, or rename the arguments. `code_from_call` and
`code_from_text` repair what can be read unambiguously; what cannot becomes a
note that tells the model what was expected.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from lmc.messages import Message

_TOOLS_HOWTO = (
    "To run code, call the `execute` function with two arguments: `language` (one of {languages}) "
    "and `code`. You get back what it printed. Call it once per step, read the result, then "
    "continue. When the task is done, answer in plain text without calling the function."
)
_TEXT_HOWTO = (
    "To run code, write it in a fenced markdown block whose info string names the language, "
    "one of {languages}:\n\n```python\nprint('hello')\n```\n\nThe block runs as soon as your "
    "message ends and its output comes back to you as the next message. Write one block per "
    "step. When the task is done, answer in plain text with no code block."
)

SYSTEM_MESSAGE = """You are a capable assistant that completes tasks by running code on the user's computer.

{howto}

Rules:
- The computer is real: files you write stay, commands have effects. Be careful with deletions.
- State persists between runs of the same language (variables, imports, the working directory).
- If code fails, read the error, fix the code and run it again; do not repeat the same mistake.
- Print what you need to see; only printed output and images come back to you.
- Prefer small steps. Install missing packages only when needed.

Inside Python, a `computer` object drives the screen when the computer has one:
computer.display.view() (a screenshot comes back to you), computer.display.get_text() (words on
screen with boxes), computer.mouse.click(x, y) or computer.mouse.click("visible text"), computer.keyboard.write(text),
computer.keyboard.hotkey("ctrl", "c"), computer.clipboard.view() / .copy(text).

Languages available: {languages}."""


def system_message(languages: Sequence[str], mode: str, extra: str | None = None) -> str:
    """The system message for a model that asks for code in `mode` (tools or text)."""
    names = ", ".join(languages)
    howto = (_TOOLS_HOWTO if mode == "tools" else _TEXT_HOWTO).format(languages=names)
    text = SYSTEM_MESSAGE.format(howto=howto, languages=names)
    return text + ("\n\n" + extra.strip() if extra and extra.strip() else "")


def budget_note(steps_left: int, seconds_left: float | None) -> str:
    """What is left of the model's budget, so it can finish (or stop) before the limit cuts it off."""
    steps = f"{steps_left} step{'s' if steps_left != 1 else ''}"
    time = "" if seconds_left is None else f" and about {max(0, int(seconds_left))} seconds"
    return (f"Budget: you have {steps}{time} left (a step is one reply of yours). When it runs out you are "
            "stopped wherever you are, so leave the task in its finished state before then.")


@dataclass(frozen=True)
class Repair:
    """What was read from a malformed request: the code, or a note saying what went wrong."""

    code: Message | None
    note: str | None = None


_LANGUAGE_KEYS = ("language", "lang", "type")
_CODE_KEYS = ("code", "source", "script", "command", "cmd", "input")
_EXPECTED = 'execute(language, code), e.g. {"language": "python", "code": "print(1)"}'


def _pick(args: dict[str, object], keys: Sequence[str]) -> str | None:
    for key in keys:
        value = args.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _from_args(args: dict[str, object], fallback_language: str | None) -> Message | None:
    code = _pick(args, _CODE_KEYS)
    language = _pick(args, _LANGUAGE_KEYS) or fallback_language
    if code is None or language is None:
        return None
    return Message("assistant", "code", code, language)


def code_from_call(name: str, arguments: str, languages: Sequence[str]) -> Repair:
    """The code of one tool call, repaired when its form is off but its meaning is clear."""
    # A tool named after a language (`python`) is how older function-calling prompts worked.
    fallback = name if name in languages else None
    if name != "execute" and fallback is None:
        return Repair(None, f"there is no function {name!r}; the only function is {_EXPECTED}")
    try:
        args = json.loads(arguments) if arguments.strip() else {}
    except json.JSONDecodeError as exc:
        if fallback is not None:  # `python` called with the bare source as its argument
            return Repair(Message("assistant", "code", arguments, fallback))
        return Repair(None, f"the arguments of execute were not valid JSON ({exc.msg} at char "
                            f"{exc.pos}); call {_EXPECTED}")
    if isinstance(args, dict):
        message = _from_args(args, fallback)
        if message is not None:
            return Repair(message)
    got = arguments[:200]
    return Repair(None, f"execute needs both `language` and `code`, got {got!r}; call {_EXPECTED}")


_JSON_BLOCK = re.compile(r"^\s*(?:```(?:json)?\s*\n)?(\{.*\})\s*(?:\n```)?\s*$", re.DOTALL)


def code_from_text(text: str) -> Repair | None:
    """A tool call the model printed as JSON text instead of making it; None when the text is prose."""
    match = _JSON_BLOCK.match(text)
    if match is None:
        return None
    try:
        args = json.loads(match[1])
    except json.JSONDecodeError:
        return None
    if not isinstance(args, dict):
        return None
    if isinstance(args.get("arguments"), (dict, str)):  # {"name": "execute", "arguments": {...}}
        inner = args["arguments"]
        args = json.loads(inner) if isinstance(inner, str) and inner.strip().startswith("{") else inner
        if not isinstance(args, dict):
            return None
    message = _from_args(args, None)
    return Repair(message) if message is not None else None


DECLINED = "The user declined to run this code. Ask what they want instead, or try another way."
#: Told to a model once, when it runs the same code (or fails the same way) several times in a row.
REPEATING = ("You are repeating yourself: the same code, or the same failure, {times} times in a row. Running "
             "it again will not help. Read the output above and change your approach (different code, another "
             "command or language), or say what blocks you and stop. If you repeat it again, you are stopped.")
#: The result of the code a warned model asked for yet again: it is not run, and the chat stops as stuck.
NOT_RUN_AGAIN = "Not run: this is the code you were told you keep repeating. The chat stopped."
#: The result of a code block the user stopped (or the deadline ended) after the reply and before the run.
NOT_RUN_ENDED = {"stopped": "Not run: the chat was stopped before this code started.",
                 "timeout": "Not run: the chat ran out of time before this code started."}
#: Told to a model once, when its reply repeated one piece of text over and over and was cut off.
LOOPING = ("Your last reply repeated the same text over and over, so it was cut off. Write something new: the "
           "next step, or a short answer. If you loop again, you are stopped.")


_ARGS_HEAD = re.compile(r'\s*\{\s*"language"\s*:\s*"(?P<language>[^"\\]+)"\s*,\s*"code"\s*:\s*"')
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class CodeArgumentStream:
    """Reads the code out of `execute` arguments while they stream, so code shows as it is written.

    Only the usual form `{"language": "...", "code": "...` is followed; anything
    else waits for the whole call (and `code_from_call`).
    """

    def __init__(self) -> None:
        self.language: str | None = None
        self._buffer = ""
        self._at = 0  # where undecoded string content starts in the buffer
        self.done = False  # the closing quote of the code string was seen

    def feed(self, piece: str) -> str:
        """Take more argument text; return the code decoded from it so far (maybe empty)."""
        self._buffer += piece
        if self.language is None:
            head = _ARGS_HEAD.match(self._buffer)
            if head is None:
                return ""
            self.language, self._at = head["language"], head.end()
        out: list[str] = []
        text, i = self._buffer, self._at
        while i < len(text) and not self.done:
            char = text[i]
            if char == '"':
                self.done = True
                i += 1
            elif char != "\\":
                out.append(char)
                i += 1
            elif i + 1 >= len(text):
                break  # an escape cut in two: wait for the rest
            elif text[i + 1] == "u":
                decoded = _unicode_escape(text, i)
                if decoded is None:
                    break
                out.append(decoded[0])
                i += decoded[1]
            else:
                out.append(_ESCAPES.get(text[i + 1], text[i + 1]))
                i += 2
        self._at = i
        return "".join(out)


def _unicode_escape(text: str, i: int) -> tuple[str, int] | None:
    """The character of the \\u escape at i and its length; None until all of it has arrived."""
    if i + 6 > len(text):
        return None
    try:
        code = int(text[i + 2 : i + 6], 16)
    except ValueError:
        return ("\ufffd", 6)  # not hex: what the final JSON parse will reject anyway
    if not 0xD800 <= code < 0xDC00:
        return (chr(code), 6)
    if i + 12 > len(text):
        return None
    low = text[i + 6 : i + 12]
    if low[:2] != "\\u":
        return (chr(code), 6)
    try:
        pair = chr(code) + chr(int(low[2:], 16))
    except ValueError:
        return (chr(code), 6)
    return (pair.encode("utf-16", "surrogatepass").decode("utf-16", "replace"), 12)
