"""LMC messages: the one data type that flows between models, sessions and computers.

Typed messages and chunks, their validation, the msgpack codec and framing,
chunk assembly, and conversion to and from OpenAI chat messages and Open
Interpreter's JSON messages. This package imports nothing else of the project.
"""

from lmc.errors import FramingError, InvalidMessage, LMCError, ProtocolError
from lmc.messages import ERROR_KINDS, Chunk, Message

__all__ = [
    "ERROR_KINDS",
    "Chunk",
    "FramingError",
    "InvalidMessage",
    "LMCError",
    "Message",
    "ProtocolError",
]
