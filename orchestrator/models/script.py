"""A script of model replies: text, tool calls, injected faults; one format for every scripted model.

Faults, for testing what a client does when the model misbehaves: an HTTP error
status (`http_error`), or a stream that starts well and then stalls (`stall`),
is cut (`drop`) or turns to garbage (`malformed`).

The scripted HTTP server (scripted_server.py) and the in-process ScriptedModel
(testing.py) both play these, so a test can move between them unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

#: Characters per token when the server estimates prompt size (OpenAI's rule of thumb).
CHARS_PER_TOKEN = 4
#: What can go wrong in a streamed reply after its text: silence, a cut connection, a broken event.
FAULTS = ("stall", "drop", "malformed")


@dataclass(frozen=True)
class ToolCall:
    """One function call the scripted model makes."""

    name: str
    arguments: str
    id: str = ""


@dataclass(frozen=True)
class Reply:
    """One scripted answer: text, tool calls, or an HTTP error."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    status: int = 200
    error_message: str = ""
    error_code: str | None = None
    delay: float = 0.0
    chunk_size: int = 8
    usage: tuple[int, int] | None = None
    fault: str | None = None
    """One of FAULTS, played after the reply's text; None streams the reply whole."""
    stall: float = 0.0
    """Seconds of silence of a "stall" fault (the reply then ends normally)."""

    def __post_init__(self) -> None:
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; known: {', '.join(FAULTS)}")


def text(
    content: str, *, chunk_size: int = 8, delay: float = 0.0, usage: tuple[int, int] | None = None
) -> Reply:
    """A plain assistant reply (markdown allowed), streamed `chunk_size` characters at a time."""
    return Reply(text=content, chunk_size=chunk_size, delay=delay, usage=usage)


def tool_call(language: str, code: str, *, name: str = "execute", content: str = "",
              usage: tuple[int, int] | None = None) -> Reply:
    """A reply that calls the `execute(language, code)` tool once (with optional text before it)."""
    args = json.dumps({"language": language, "code": code})
    return Reply(text=content, tool_calls=(ToolCall(name, args),), usage=usage)


def raw_tool_call(arguments: str, *, name: str = "execute") -> Reply:
    """A tool call with arbitrary (possibly malformed) argument text."""
    return Reply(tool_calls=(ToolCall(name, arguments),))


def http_error(status: int, message: str = "", *, code: str | None = None) -> Reply:
    """An injected HTTP error (e.g. 500, 429) in OpenAI's error body format."""
    return Reply(status=status, error_message=message or f"scripted HTTP {status}", error_code=code)


def stall(before: str = "", seconds: float = 3600.0, *, chunk_size: int = 8) -> Reply:
    """A streamed reply that sends `before`, then nothing for `seconds` (a model gone silent mid-stream)."""
    return Reply(text=before, chunk_size=chunk_size, fault="stall", stall=seconds)


def drop(before: str = "", *, chunk_size: int = 8) -> Reply:
    """A streamed reply that sends `before`, then closes the connection without ending the stream."""
    return Reply(text=before, chunk_size=chunk_size, fault="drop")


def malformed(before: str = "", *, chunk_size: int = 8) -> Reply:
    """A streamed reply that sends `before`, then an event that is not JSON, then ends."""
    return Reply(text=before, chunk_size=chunk_size, fault="malformed")


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    """An estimate of a prompt's size: characters of text / CHARS_PER_TOKEN."""
    total = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            total += len(content)
        elif isinstance(content, list):
            total += sum(len(part.get("text", "")) for part in content if isinstance(part, dict))
        for call in message.get("tool_calls") or []:
            total += len(call.get("function", {}).get("arguments", ""))
    return total // CHARS_PER_TOKEN + 1


def estimated_usage(reply: Reply, messages: list[dict[str, Any]]) -> dict[str, int]:
    """The usage a scripted reply reports: its own, or estimated from the characters."""
    if reply.usage is not None:
        prompt, completion = reply.usage
    else:
        prompt = prompt_tokens(messages)
        produced = len(reply.text) + sum(len(c.arguments) for c in reply.tool_calls)
        completion = produced // CHARS_PER_TOKEN + 1
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
