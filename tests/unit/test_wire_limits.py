"""The E2B text wire is as strict as the binary one: a line longer than any frame is refused, not buffered."""

from __future__ import annotations

import io

import pytest

from executors.sandbox.wire import LineDecoder, LineFrameReader, encode_line
from lmc.errors import FramingError
from lmc.framing import read_frame


def test_endless_text_without_a_newline_is_refused_as_it_arrives() -> None:
    decoder = LineDecoder(max_line=100)
    assert decoder.feed("QUJD" * 20) == []  # 80 characters: still a possible line
    with pytest.raises(FramingError, match="longer than any frame"):
        decoder.feed("QUJD" * 10)


def test_a_whole_line_over_the_limit_is_refused() -> None:
    with pytest.raises(FramingError, match="more than 100 characters"):
        LineDecoder(max_line=100).feed("QUJD" * 30 + "\n")


def test_the_agents_reader_refuses_an_overlong_line_and_reads_a_normal_one() -> None:
    assert read_frame(LineFrameReader(io.BytesIO(encode_line(b"abc")), max_line=100)) == b"abc"  # type: ignore[arg-type]
    with pytest.raises(FramingError, match="longer than any frame"):
        read_frame(LineFrameReader(io.BytesIO(b"QUJD" * 30 + b"\n"), max_line=100))  # type: ignore[arg-type]
