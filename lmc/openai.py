"""LMC messages to and from OpenAI chat-completions messages (plain dicts).

Two ways to show code to a model:

- ``mode="tools"``: one function tool, ``execute(language, code)``. Code is an
  assistant ``tool_calls`` entry; what the computer printed is the ``tool``
  message answering it. Images cannot go in a tool message, so it says
  "(image attached below)" and a ``user`` message with the images follows.
- ``mode="text"``: code is a fenced markdown block in the assistant's text;
  what the computer printed is a ``user`` message starting "Code output:".

Computer output is rendered as text, one piece per LMC message, joined by
newlines: console output as printed, a non-zero exit status as
``[exit status 2]``, an error as ``[error: timeout] what happened``. A run that
printed nothing says so (`NO_OUTPUT`) so the model is not left guessing.

Not sent to the model: server status, confirmations, active-line updates and
errors of kind "model" (its own API failing is nothing the model can act on).
Tool call ids are ``call`` plus the code message's position, zero-padded to
nine characters (some providers accept nothing else), so the same history
always gives the same ids.

`from_openai` reads all of this back. What does not survive a round trip:
system text (read it with `system_prompt`), active lines, confirmations and
statuses (never sent), exit status 0 (implied), message ids, images shown
without vision (a text note stays text), downscaled images (the smaller JPEG
comes back), consecutive console outputs of one run (they come back as one),
and in text mode consecutive assistant texts (they come back as one) and
surrounding whitespace of assistant text. The text conventions are read back
as such wherever they appear: a user message starting "Code output:" reads as
computer output, an output line like ``[exit status 2]`` as an exit status.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import Any, Literal

from lmc.errors import InvalidMessage
from lmc.images import (  # noqa: F401  (re-exported: part of this module's API)
    data_url,
    decode_base64,
    image_part,
    image_size,
    parse_data_url,
    shrink_image,
    sniff_image,
)
from lmc.markdown import parse_blocks
from lmc.messages import ERROR_KINDS, Message, Role

log = logging.getLogger(__name__)

Mode = Literal["tools", "text"]

#: What a run that printed nothing reads as, in a tool message or after `OUTPUT_HEADER`.
NO_OUTPUT = "(the code ran and printed no output)"
#: The first line of a user message that carries computer output.
OUTPUT_HEADER = "Code output:\n"
#: The last line of output whose images follow in a user message (or in the same one).
IMAGES_BELOW = "(image attached below)"
#: The default cap on one image's raw bytes when images are sent to the model.
MAX_IMAGE_BYTES = 1_000_000

_EXIT = re.compile(r"\[exit status (-?\d+)\]")
_ERROR = re.compile(r"\[error: (\w+)\] ?(.*)")


def execute_tool(languages: Sequence[str] | None = None) -> dict[str, Any]:
    """The `tools=[...]` entry for `execute(language, code)`; with languages, an enum of them."""
    language: dict[str, Any] = {
        "type": "string",
        "description": "The language of the code; must be one of the computer's languages.",
    }
    if languages is not None:
        if not languages or not all(isinstance(name, str) and name for name in languages):
            raise InvalidMessage("languages", "a non-empty list of language names", languages)
        language["enum"] = list(languages)
        language["description"] = "The language of the code: one of " + ", ".join(languages) + "."
    return {
        "type": "function",
        "function": {
            "name": "execute",
            "description": (
                "Run code on the user's computer and get back what it printed, its errors "
                "and any images. Variables persist between calls in the same language."
            ),
            "parameters": {
                "type": "object",
                "properties": {
                    "language": language,
                    "code": {"type": "string", "description": "The code to run."},
                },
                "required": ["language", "code"],
            },
        },
    }


#: The `execute` tool without a language enum; prefer `execute_tool(languages)`.
EXECUTE_TOOL = execute_tool()


def call_id(position: int) -> str:
    """The tool call id of the code message at `position` in the converted list."""
    return f"call{position:05d}"


# --- images -----------------------------------------------------------------


def render_output(outputs: Sequence[Message], vision: bool, max_bytes: int) -> tuple[str, list[dict[str, Any]]]:
    """The text the model reads for one run's computer messages, and its image parts."""
    pieces: list[str] = []
    images: list[dict[str, Any]] = []
    for message in outputs:
        if message.type == "console" and message.format == "output" and message.content:
            pieces.append(message.text)
        elif message.type == "console" and message.format == "exit_code":
            if isinstance(message.content, int) and message.content:  # 0 and None (still running) go unsaid
                pieces.append(f"[exit status {message.content}]")
        elif message.type == "error":
            pieces.append(f"[error: {message.format}] {message.text}")
        elif message.type == "image":
            part = image_part(message, vision, max_bytes)
            if isinstance(part, str):
                pieces.append(part)
            else:
                images.append(part)
    if images:
        pieces.append(IMAGES_BELOW)
    return "\n".join(pieces) or NO_OUTPUT, images


def _skipped(message: Message) -> bool:
    """Messages the model never sees: progress, approvals, server notices, its own API's failures."""
    return (
        message.type in ("status", "confirmation")
        or (message.type == "console" and message.format == "active_line")
        or (message.type == "error" and message.format == "model")
    )


class _ChatBuilder:
    """Folds LMC messages into chat messages, one at a time, in order."""

    def __init__(self, mode: Mode, vision: bool, max_bytes: int) -> None:
        self.mode, self.vision, self.max_bytes = mode, vision, max_bytes
        self.out: list[dict[str, Any]] = []
        self.assistant: dict[str, Any] | None = None  # the assistant message still open for code
        self.user: dict[str, Any] | None = None  # the user message still open for more parts
        self.pending: str | None = None  # the call id (tools) or "" (text) of code awaiting output
        self.outputs: list[Message] = []

    def add(self, position: int, message: Message) -> None:
        """Fold in the message at `position` of the input list."""
        if message.role == "computer":
            self.outputs.append(message)
            return
        if message.role == "user":
            if self.outputs or self.pending is not None or self.assistant is not None:
                self.flush()
            self._user(message)
            return
        awaits_output = self.pending is not None and self.mode == "tools"
        if self.outputs or self.user is not None or awaits_output:
            self.flush()
        if message.type == "message":
            self._assistant_text(message.text)
        else:
            self._code(position, message)

    def _user(self, message: Message) -> None:
        if self.user is None:
            self.user = {"role": "user", "content": []}
            self.out.append(self.user)
        parts = self.user["content"]
        if message.type == "message":
            parts.append({"type": "text", "text": message.text})
            return
        part = image_part(message, self.vision, self.max_bytes)
        parts.append({"type": "text", "text": part} if isinstance(part, str) else part)

    def _assistant_text(self, text: str) -> None:
        if self.assistant is not None and self.mode == "text":  # the same reply goes on
            self.assistant["content"] += "\n\n" + text
            return
        self.assistant = {"role": "assistant", "content": text}
        self.out.append(self.assistant)

    def _code(self, position: int, message: Message) -> None:
        if self.mode == "text":
            fence = "`" * max(3, _longest_backtick_run(message.text) + 1)
            self._assistant_text(f"{fence}{message.format}\n{message.text}\n{fence}")
            self.pending = ""
            return
        ident = call_id(position)
        call = {
            "id": ident,
            "type": "function",
            "function": {
                "name": "execute",
                "arguments": json.dumps({"language": message.format, "code": message.text}),
            },
        }
        if self.assistant is None:
            self.assistant = {"role": "assistant"}  # no content key: what litellm sends for null
            self.out.append(self.assistant)
        self.assistant["tool_calls"] = [call]
        self.assistant, self.pending = None, ident

    def flush(self) -> None:
        """Close the open messages and write the pending run's output."""
        if self.user is not None:
            self.user["content"] = _simplified(self.user["content"])
        self.assistant = self.user = None
        if self.pending is None and not self.outputs:
            return
        text, images = render_output(self.outputs, self.vision, self.max_bytes)
        if self.pending:
            self.out.append({"role": "tool", "tool_call_id": self.pending, "content": text})
            if images:
                self.out.append({"role": "user", "content": images})
        else:  # text mode, or output that answers no code: the user relays it
            content: Any = OUTPUT_HEADER + text
            if images:
                content = [{"type": "text", "text": content}, *images]
            self.out.append({"role": "user", "content": content})
        self.pending, self.outputs = None, []


def _longest_backtick_run(text: str) -> int:
    runs = re.findall(r"`+", text)
    return max(map(len, runs), default=0)


def _simplified(parts: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """A lone text part as a plain string, which every provider accepts."""
    if len(parts) == 1 and parts[0]["type"] == "text":
        return str(parts[0]["text"])
    return parts


def to_openai(
    messages: Sequence[Message],
    *,
    system: str | None = None,
    mode: Mode = "tools",
    vision: bool = False,
    max_image_bytes: int = MAX_IMAGE_BYTES,
) -> list[dict[str, Any]]:
    """OpenAI chat messages for a conversation, the system prompt first when given."""
    if mode not in ("tools", "text"):
        raise InvalidMessage("mode", "'tools' (function calling) or 'text' (markdown code blocks)", mode)
    if not isinstance(max_image_bytes, int) or max_image_bytes <= 0:
        raise InvalidMessage("max_image_bytes", "a positive number of bytes", max_image_bytes)
    builder = _ChatBuilder(mode, vision, max_image_bytes)
    if system is not None:
        builder.out.append({"role": "system", "content": system})
    for position, message in enumerate(messages):
        if not isinstance(message, Message):
            raise InvalidMessage(f"messages[{position}]", "an lmc Message", type(message).__name__)
        if not _skipped(message):
            builder.add(position, message)
    builder.flush()
    return builder.out


# --- OpenAI -> LMC ----------------------------------------------------------


def parse_output(text: str) -> list[Message]:
    """Computer messages back from text made by `render_output` (images aside)."""
    if text == NO_OUTPUT:
        return []
    segments: list[tuple[str, str | None, list[str]]] = [("output", None, [])]
    for line in text.split("\n"):
        exit_status, error = _EXIT.fullmatch(line), _ERROR.fullmatch(line)
        if exit_status:
            segments.append(("exit_code", exit_status[1], []))
        elif error and error[1] in ERROR_KINDS:
            segments.append(("error", error[1], [error[2]]))
        else:
            segments[-1][2].append(line)
    out: list[Message] = []
    for kind, value, lines in segments:
        body = "\n".join(lines)
        if kind == "exit_code" and value is not None:
            out.append(Message("computer", "console", int(value), "exit_code"))
            if body:  # text after an exit status line reads as more output
                out.append(Message("computer", "console", body, "output"))
        elif kind == "error":
            out.append(Message("computer", "error", body, value))
        elif body:  # empty output is never rendered, so none is read
            out.append(Message("computer", "console", body, "output"))
    return out


class _ChatReader:
    """Reads chat messages into LMC messages, remembering the calls it has seen."""

    def __init__(self, mode: Mode, default_language: str) -> None:
        self.mode, self.default_language = mode, default_language
        self.calls: set[str] = set()
        self.images_follow = False  # the last tool message promised images in the next user message
        self.out: list[Message] = []

    def read(self, i: int, chat: object) -> None:
        """Convert chat message number `i`."""
        where = f"chat_messages[{i}]"
        if not isinstance(chat, dict):
            raise InvalidMessage(where, "a dict with 'role' and 'content'", type(chat).__name__)
        role = chat.get("role")
        images_follow, self.images_follow = self.images_follow, False
        if role in ("system", "developer"):
            return  # the caller's system prompt, read with system_prompt()
        if role == "user":
            self._user(where, chat.get("content"), images_follow)
        elif role == "assistant":
            self._assistant(where, chat)
        elif role == "tool":
            self._tool(where, chat)
        else:
            raise InvalidMessage(f"{where}.role", "one of system, developer, user, assistant, tool", role)

    def _user(self, where: str, content: object, images_follow: bool) -> None:
        parts = _parts(content, f"{where}.content")
        if images_follow and parts and all(p.get("type") == "image_url" for p in parts):
            self.out.extend(self._image(f"{where}.content[{j}]", p, "computer") for j, p in enumerate(parts))
            return
        first = parts[0].get("text") if parts and parts[0].get("type") == "text" else None
        if isinstance(first, str) and first.startswith(OUTPUT_HEADER):
            self.out.extend(parse_output(_without_image_note(first[len(OUTPUT_HEADER) :])))
            rest = enumerate(parts[1:], start=1)
            self.out.extend(self._image(f"{where}.content[{j}]", p, "computer") for j, p in rest)
            return
        for j, part in enumerate(parts):
            if part.get("type") == "text":
                self.out.append(Message("user", "message", _text(part, f"{where}.content[{j}]")))
            else:
                self.out.append(self._image(f"{where}.content[{j}]", part, "user"))

    def _image(self, where: str, part: dict[str, Any], role: Role) -> Message:
        if part.get("type") != "image_url":
            raise InvalidMessage(f"{where}.type", "'text' or 'image_url'", part.get("type"))
        image_url = part.get("image_url")
        url = image_url.get("url") if isinstance(image_url, dict) else image_url
        data, fmt = parse_data_url(url, f"{where}.image_url.url")
        return Message(role, "image", data, fmt)

    def _assistant(self, where: str, chat: dict[str, Any]) -> None:
        parts = _parts(chat.get("content"), f"{where}.content")
        text = "".join(_text(p, f"{where}.content[{j}]") for j, p in enumerate(parts))
        if self.mode == "tools":
            if text:
                self.out.append(Message("assistant", "message", text))
        else:
            for block in parse_blocks(text):
                if block.kind == "text":
                    self.out.append(Message("assistant", "message", block.content))
                else:
                    language = block.language or self.default_language
                    self.out.append(Message("assistant", "code", block.content, language))
        calls = chat.get("tool_calls") or []
        if not isinstance(calls, list):
            raise InvalidMessage(f"{where}.tool_calls", "a list of tool calls", calls)
        for j, call in enumerate(calls):
            self.out.append(self._call(f"{where}.tool_calls[{j}]", call))

    def _call(self, where: str, call: object) -> Message:
        if not isinstance(call, dict) or not isinstance(call.get("id"), str):
            raise InvalidMessage(where, "a dict with an 'id' and a 'function'", call)
        function = call.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if name != "execute":
            raise InvalidMessage(f"{where}.function.name", "'execute', the only tool LMC offers", name)
        raw = function.get("arguments") if isinstance(function, dict) else None
        args = _arguments(raw, f"{where}.function.arguments")
        self.calls.add(call["id"])
        return Message("assistant", "code", args["code"], args["language"])

    def _tool(self, where: str, chat: dict[str, Any]) -> None:
        call = chat.get("tool_call_id")
        if call not in self.calls:
            known = ", ".join(sorted(self.calls)) or "none yet"
            expected = f"the id of an earlier execute call ({known})"
            raise InvalidMessage(f"{where}.tool_call_id", expected, call)
        parts = _parts(chat.get("content"), f"{where}.content")
        text = "".join(_text(p, f"{where}.content[{j}]") for j, p in enumerate(parts))
        body = _without_image_note(text)
        self.images_follow = body != text
        self.out.extend(parse_output(body))


def _without_image_note(text: str) -> str:
    if text == IMAGES_BELOW:
        return ""
    return text.removesuffix("\n" + IMAGES_BELOW)


def _parts(content: object, where: str) -> list[dict[str, Any]]:
    """Chat content as a list of parts: a string is one text part, None is none."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        return content
    raise InvalidMessage(where, "a string, a list of content parts, or None", content)


def _text(part: dict[str, Any], where: str) -> str:
    text = part.get("text")
    if part.get("type") != "text" or not isinstance(text, str):
        raise InvalidMessage(where, "a text part {'type': 'text', 'text': ...}", part)
    return text


def _arguments(raw: object, where: str) -> dict[str, str]:
    """The execute call's arguments: a JSON string (or an already parsed dict)."""
    example = 'a JSON object like {"language": "python", "code": "print(1)"}'
    args = raw
    if isinstance(raw, str):
        try:
            args = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InvalidMessage(where, f"{example} ({exc.msg}, char {exc.pos})", raw) from exc
    if not isinstance(args, dict):
        raise InvalidMessage(where, example, raw)
    for key in ("language", "code"):
        if not isinstance(args.get(key), str) or (key == "language" and not args[key]):
            raise InvalidMessage(f"{where}.{key}", f"text ({example})", args.get(key))
    return args


def from_openai(
    chat_messages: Sequence[object], *, mode: Mode = "tools", default_language: str = "python"
) -> list[Message]:
    """LMC messages of an OpenAI chat; system messages are dropped (see `system_prompt`).

    In text mode, fenced blocks in assistant text become code; a bare fence gets
    `default_language`. Tool calls become code in either mode.
    """
    if mode not in ("tools", "text"):
        raise InvalidMessage("mode", "'tools' (function calling) or 'text' (markdown code blocks)", mode)
    reader = _ChatReader(mode, default_language)
    for i, chat in enumerate(chat_messages):
        reader.read(i, chat)
    return reader.out


def system_prompt(chat_messages: Sequence[object]) -> str | None:
    """The text of the chat's system messages, joined by blank lines; None when there are none."""
    texts = [
        m["content"]
        for m in chat_messages
        if isinstance(m, dict)
        and m.get("role") in ("system", "developer")
        and isinstance(m.get("content"), str)
    ]
    return "\n\n".join(texts) if texts else None
