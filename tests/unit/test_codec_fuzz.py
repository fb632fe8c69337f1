"""The codec under hostile input: whatever the bytes, it raises only its own errors.

Bytes from a sandbox, a transcript file or a client are untrusted; `decode_chunk`,
`decode_message` and the agent protocol's `decode` must turn every one of them into
a value or an `LMCError` (never a TypeError, a KeyError or a RecursionError).
"""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from executors.sandbox import protocol
from lmc.codec import decode_chunk, decode_message, encode, unpack
from lmc.errors import FramingError, InvalidMessage, LMCError
from lmc.messages import Chunk, Message

DECODERS = [decode_chunk, decode_message, protocol.decode]
FIELDS = ["role", "type", "format", "content", "start", "end", "seq", "session", "message",
          "op", "id", "cid", "chunk", "error", "kind", "fields", "language", "code", "timeout",
          "max_output", "input_timeout", "path", "args", "kwargs", "result", "languages", "protocol", "pid"]
WORDS = ["user", "assistant", "computer", "server", "message", "code", "console", "image", "confirmation",
         "error", "status", "output", "exit_code", "active_line", "png", "path", "execution", "sandbox",
         "python", "run", "chunk", "done", "call", "reply", "hello", "languages_reply", "stop", "close"]
ints = st.integers(min_value=-(2**63), max_value=2**64 - 1)  # what msgpack can carry
leaves = (st.none() | st.booleans() | ints | st.floats()
          | st.text(max_size=8) | st.binary(max_size=8) | st.sampled_from(WORDS))
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=3) | st.binary(max_size=3) | ints,
                      inner, max_size=8),
    max_leaves=12,
)


def _decodes_or_refuses(data: object) -> None:
    for decoder in DECODERS:
        try:
            decoder(data)  # type: ignore[arg-type]
        except LMCError:
            pass


@settings(max_examples=200, deadline=None, database=None)
@given(st.binary(max_size=96))
def test_random_bytes_raise_only_lmc_errors(data: bytes) -> None:
    _decodes_or_refuses(data)


@settings(max_examples=200, deadline=None, database=None)
@given(values)
def test_random_msgpack_structures_raise_only_lmc_errors(value: object) -> None:
    _decodes_or_refuses(msgpack.packb(value, use_bin_type=True, strict_types=False))


@settings(max_examples=200, deadline=None, database=None)
@given(st.fixed_dictionaries(
    {"role": st.sampled_from(WORDS) | leaves, "type": st.sampled_from(WORDS) | leaves},
    optional={name: values for name in ("format", "content", "start", "end", "seq", "session", "message")},
))
def test_near_messages_raise_only_lmc_errors(fields: dict[str, object]) -> None:
    _decodes_or_refuses(msgpack.packb(fields, use_bin_type=True))
    _decodes_or_refuses(msgpack.packb({"op": "chunk", "id": 1, "chunk": fields}, use_bin_type=True))


@pytest.mark.parametrize("depth", [2, 3, 50, 500, 5000, 100_000])
def test_deep_nesting_is_refused_not_a_recursion_error(depth: int) -> None:
    item: dict[str, object] = {"role": "assistant", "type": "code", "format": "python", "content": "1"}
    for _ in range(depth):
        item = {"role": "computer", "type": "confirmation", "format": "execution", "content": item}
    try:
        data = msgpack.packb(item, use_bin_type=True)
    except ValueError:  # msgpack refuses to write this deep; bytes that say the same are built below
        data = b"\x81\xa7content" * depth + b"\xc0"
    for decoder in DECODERS:
        with pytest.raises(LMCError):
            decoder(data)
    deep_list = b"\x91" * depth + b"\xc0"
    for decoder in DECODERS:
        with pytest.raises(LMCError):
            decoder(deep_list)


def test_one_level_of_nesting_still_decodes() -> None:
    code = Message("assistant", "code", "print(1)", "python")
    confirmation = Chunk("computer", "confirmation", code, "execution", start=True, end=True)
    assert decode_chunk(encode(confirmation)) == confirmation
    with pytest.raises(InvalidMessage, match="content"):
        decode_message(msgpack.packb({"role": "computer", "type": "confirmation", "format": "execution",
                                      "content": {"role": "computer", "type": "confirmation",
                                                  "format": "execution", "content": code.content}}))


@pytest.mark.parametrize("data", ["text", None, 12, ["a"]])
def test_not_bytes_is_a_framing_error_that_says_so(data: object) -> None:
    with pytest.raises(FramingError, match="expected msgpack bytes"):
        unpack(data)  # type: ignore[arg-type]
