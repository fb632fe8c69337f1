"""Typed LMC messages and chunks, validated when they are made.

The schema (role, type) -> allowed formats and content:

    user, assistant   message       format None              text
    assistant         code          language name            source
    computer          console       output / active_line /   text / line number /
                                    exit_code                exit status
    computer, user    image         png / jpeg ; path        bytes ; path text
    computer          confirmation  execution                the code Message
    computer          error         one of ERROR_KINDS       what failed, how to fix
    server            status        None                     e.g. "complete"

A `Message` is complete; a `Chunk` is a fragment of one with `start` / `end`
flags. Ids: `session` names the conversation, `message` numbers the message in
it and `seq` numbers the chunk in the stream, so a stream can be resumed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Union

from lmc.errors import InvalidMessage

ROLES = ("user", "assistant", "computer", "server")
TYPES = ("message", "code", "console", "image", "confirmation", "error", "status")

#: The closed set of error kinds (`format` of an error message).
ERROR_KINDS = (
    "usage",  # the caller asked for something impossible (unknown language, bad argument)
    "timeout",  # the code ran past its time limit and was stopped
    "interrupted",  # the code was stopped on request
    "input_required",  # the code waited for standard input, which a sandbox has none of
    "crashed",  # the language process died under the code (e.g. os._exit, a segfault); state was lost
    "sandbox",  # the sandbox failed (its agent or container died, Docker, E2B): infrastructure, not the code
    "model",  # the model's API failed
    "internal",  # a bug of ours
)

IMAGE_FORMATS = ("png", "jpeg", "path")
CONSOLE_FORMATS = ("output", "active_line", "exit_code")

Content = Union[str, bytes, int, None, "Message"]

# (role, type) -> allowed roles checked separately; here: type -> roles
_ROLES_OF_TYPE = {
    "message": ("user", "assistant"),
    "code": ("assistant",),
    "console": ("computer",),
    "image": ("computer", "user"),
    "confirmation": ("computer",),
    "error": ("computer",),
    "status": ("server",),
}


def _check_content(type_: str, format_: str | None, content: object, partial: bool) -> None:
    """Raise InvalidMessage when content does not suit the type and format."""
    if type_ == "console" and format_ in ("active_line", "exit_code"):
        ok = content is None or (isinstance(content, int) and not isinstance(content, bool))
        if not ok:
            raise InvalidMessage("content", f"an int or None for console/{format_}", content)
        return
    if type_ == "image" and format_ in ("png", "jpeg"):
        if not isinstance(content, (bytes, bytearray)):
            raise InvalidMessage("content", f"bytes for image/{format_}", type(content).__name__)
        return
    if type_ == "confirmation":
        if partial and content is None:
            return
        if not isinstance(content, Message) or content.type != "code":
            raise InvalidMessage("content", "the code Message awaiting approval", content)
        return
    if not isinstance(content, str):
        raise InvalidMessage("content", f"text for {type_}", type(content).__name__)


def validate(role: str, type_: str, format_: str | None, content: object, partial: bool) -> None:
    """Check one message or chunk against the schema; raise InvalidMessage naming the field."""
    if type_ not in _ROLES_OF_TYPE:
        raise InvalidMessage("type", "one of " + ", ".join(TYPES), type_)
    roles = _ROLES_OF_TYPE[type_]
    if role not in roles:
        raise InvalidMessage("role", f"{' or '.join(roles)} for type {type_!r}", role)
    if type_ in ("message", "status"):
        if format_ is not None:
            raise InvalidMessage("format", f"None for type {type_!r}", format_)
    elif type_ == "code":
        if not isinstance(format_, str) or not format_:
            raise InvalidMessage("format", "the language name for type 'code'", format_)
    else:
        allowed = {
            "console": CONSOLE_FORMATS,
            "image": IMAGE_FORMATS,
            "confirmation": ("execution",),
            "error": ERROR_KINDS,
        }[type_]
        if format_ not in allowed:
            raise InvalidMessage("format", f"one of {', '.join(allowed)} for {type_!r}", format_)
    if partial and content is None:
        return
    _check_content(type_, format_, content, partial)


@dataclass(frozen=True, slots=True)
class Message:
    """A complete LMC message."""

    role: str
    type: str
    content: Any = None
    format: str | None = None
    session: str = ""
    message: int = 0

    def __post_init__(self) -> None:
        validate(self.role, self.type, self.format, self.content, partial=False)
        if isinstance(self.content, bytearray):
            object.__setattr__(self, "content", bytes(self.content))

    def with_ids(self, session: str, message: int) -> Message:
        """This message stamped with a session id and its number in that session."""
        return replace(self, session=session, message=message)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A fragment of a message: the first carries `start`, the last `end`."""

    role: str
    type: str
    content: Any = None
    format: str | None = None
    start: bool = False
    end: bool = False
    session: str = ""
    message: int = 0
    seq: int = 0

    def __post_init__(self) -> None:
        validate(self.role, self.type, self.format, self.content, partial=True)

    @property
    def block(self) -> tuple[str, str, str | None]:
        """The (role, type, format) that ties the chunks of one message together."""
        return (self.role, self.type, self.format)

    def with_ids(self, session: str, message: int, seq: int) -> Chunk:
        """This chunk stamped with its session, message number and stream position."""
        return replace(self, session=session, message=message, seq=seq)

    @classmethod
    def whole(cls, message: Message) -> Chunk:
        """A single chunk that carries a complete message (start and end)."""
        return cls(
            message.role,
            message.type,
            message.content,
            message.format,
            start=True,
            end=True,
            session=message.session,
            message=message.message,
        )
