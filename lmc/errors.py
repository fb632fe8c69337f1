"""Errors of the LMC protocol.

    LMCError                       root of every error this project raises
    ├── InvalidMessage (ValueError)    a message or chunk breaks the schema
    ├── ProtocolError                  a stream of chunks breaks the start/end rules
    └── FramingError                   a length-prefixed byte stream is corrupt
"""

from __future__ import annotations


class LMCError(Exception):
    """Root of every error the project raises on purpose."""


class InvalidMessage(LMCError, ValueError):
    """A message or chunk does not fit the LMC schema; the text names the field."""

    def __init__(self, field: str, expected: str, got: object) -> None:
        self.field = field
        self.expected = expected
        self.got = got
        shown = repr(got)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"invalid LMC message: {field} must be {expected}, got {shown}")


class ProtocolError(LMCError):
    """A chunk stream broke the rule that every block has one start and one end."""


class FramingError(LMCError):
    """A length-prefixed frame was truncated, oversized or not msgpack."""
