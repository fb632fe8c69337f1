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
from typing import Literal, TypeAlias, Union, cast, get_args

from lmc.errors import InvalidMessage

#: Who speaks: the user, the model, the computer that runs its code, the server of a session.
Role: TypeAlias = Literal["user", "assistant", "computer", "server"]
#: What a message is (the `type` field).
MessageType: TypeAlias = Literal["message", "code", "console", "image", "confirmation", "error", "status"]
#: `format` of a console message: printed text, the line running now, or the exit status.
ConsoleFormat: TypeAlias = Literal["output", "active_line", "exit_code"]
#: `format` of an image message: raw PNG or JPEG bytes, or the path of an image file.
ImageFormat: TypeAlias = Literal["png", "jpeg", "path"]
#: `format` of a confirmation message.
ConfirmationFormat: TypeAlias = Literal["execution"]
#: The closed set of error kinds (`format` of an error message).
ErrorKind: TypeAlias = Literal[
    "usage",  # the caller asked for something impossible (unknown language, bad argument)
    "timeout",  # the code ran past its time limit and was stopped
    "interrupted",  # the code was stopped on request
    "input_required",  # the code waited for standard input, which a sandbox has none of
    "crashed",  # the language process died under the code (e.g. os._exit, a segfault); state was lost
    "sandbox",  # the sandbox failed (its agent or container died, Docker, E2B): infrastructure, not the code
    "model",  # the model's API failed
    "internal",  # a bug of ours
]
#: `format` of any message: one of the literals above, or for type "code" the language name
#: (any text, so the union is as wide as `str`; the literals document the closed cases).
Format: TypeAlias = ConsoleFormat | ImageFormat | ConfirmationFormat | ErrorKind | str
#: What `content` may hold; which one is fixed by (type, format), see the table above.
Content: TypeAlias = Union[str, bytes, int, "Message", None]

ROLES: tuple[Role, ...] = get_args(Role)
TYPES: tuple[MessageType, ...] = get_args(MessageType)
ERROR_KINDS: tuple[ErrorKind, ...] = get_args(ErrorKind)
IMAGE_FORMATS: tuple[ImageFormat, ...] = get_args(ImageFormat)
CONSOLE_FORMATS: tuple[ConsoleFormat, ...] = get_args(ConsoleFormat)

# type -> the roles that may send it
_ROLES_OF_TYPE: dict[str, tuple[Role, ...]] = {
    "message": ("user", "assistant"),
    "code": ("assistant",),
    "console": ("computer",),
    "image": ("computer", "user"),
    "confirmation": ("computer",),
    "error": ("computer",),
    "status": ("server",),
}
# type -> its closed set of formats (message and status have none, code a language name)
_FORMATS_OF_TYPE: dict[str, tuple[str, ...]] = {
    "console": CONSOLE_FORMATS,
    "image": IMAGE_FORMATS,
    "confirmation": get_args(ConfirmationFormat),
    "error": ERROR_KINDS,
}


def _check_content(type_: str, format_: object, content: object, partial: bool) -> None:
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


def validate(role: object, type_: object, format_: object, content: object, partial: bool) -> None:
    """Check one message or chunk against the schema; raise InvalidMessage naming the field.

    The arguments are `object`: this is the check that stands between the wire (or an
    untyped caller) and the typed fields.
    """
    if not isinstance(type_, str) or type_ not in _ROLES_OF_TYPE:
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
        allowed = _FORMATS_OF_TYPE[type_]
        if format_ not in allowed:
            raise InvalidMessage("format", f"one of {', '.join(allowed)} for {type_!r}", format_)
    if partial and content is None:
        return
    _check_content(type_, format_, content, partial)


#: The (role, type, format) that ties the chunks of one message together.
Block: TypeAlias = tuple[Role, MessageType, Format | None]


@dataclass(frozen=True, slots=True)
class Message:
    """A complete LMC message."""

    role: Role
    type: MessageType
    content: Content = None
    format: Format | None = None
    session: str = ""
    message: int = 0

    def __post_init__(self) -> None:
        validate(self.role, self.type, self.format, self.content, partial=False)
        if isinstance(self.content, bytearray):
            object.__setattr__(self, "content", bytes(self.content))

    @classmethod
    def checked(cls, role: object, type_: object, content: object = None, format_: object = None) -> Message:
        """A Message from untyped values (a JSON dict, a foreign format); InvalidMessage if they break the schema."""
        validate(role, type_, format_, content, partial=False)
        # validate() has just proved these are a Role, a MessageType, a Content and a Format
        return cls(cast(Role, role), cast(MessageType, type_), cast(Content, content), cast("Format | None", format_))

    @property
    def text(self) -> str:
        """The content of a message whose content is text (all but images, line numbers, confirmations)."""
        if not isinstance(self.content, str):
            raise TypeError(f"a {self.type}/{self.format} message holds {type(self.content).__name__}, not text")
        return self.content

    def with_ids(self, session: str, message: int) -> Message:
        """This message stamped with a session id and its number in that session."""
        return replace(self, session=session, message=message)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A fragment of a message: the first carries `start`, the last `end`."""

    role: Role
    type: MessageType
    content: Content = None
    format: Format | None = None
    start: bool = False
    end: bool = False
    session: str = ""
    message: int = 0
    seq: int = 0

    def __post_init__(self) -> None:
        validate(self.role, self.type, self.format, self.content, partial=True)

    @property
    def block(self) -> Block:
        """The (role, type, format) that ties the chunks of one message together."""
        return (self.role, self.type, self.format)

    def with_ids(self, session: str, message: int, seq: int) -> Chunk:
        """This chunk stamped with its session, message number and stream position."""
        return replace(self, session=session, message=message, seq=seq)

    @classmethod
    def end_of(cls, block: Block) -> Chunk:
        """The chunk that ends an open block: how every stream cut short is closed."""
        role, type_, format_ = block
        return cls(role, type_, None, format_, end=True)

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
