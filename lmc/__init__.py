"""LMC messages: the one data type that flows between models, sessions and computers.

Typed messages and chunks, their validation, the msgpack codec and framing,
chunk assembly, and conversion to and from OpenAI chat messages and Open
Interpreter's JSON messages. This package imports nothing else of the project.
"""

from lmc.errors import FramingError, InvalidMessage, LMCError, ProtocolError
from lmc.messages import (
    ERROR_KINDS,
    Block,
    Chunk,
    ConfirmationFormat,
    ConsoleFormat,
    Content,
    ErrorKind,
    Format,
    ImageFormat,
    Message,
    MessageType,
    Role,
)

__all__ = [
    "ERROR_KINDS",
    "Block",
    "Chunk",
    "ConfirmationFormat",
    "ConsoleFormat",
    "Content",
    "ErrorKind",
    "Format",
    "FramingError",
    "ImageFormat",
    "InvalidMessage",
    "LMCError",
    "Message",
    "MessageType",
    "ProtocolError",
    "Role",
]
