"""Demultiplexing Docker's attach stream: frames split anywhere, stderr interleaved, to the log."""

from __future__ import annotations

import logging
import socket
import struct
import threading

import pytest

from executors.docker.transport import AttachTransport
from lmc.framing import frame

pytestmark = pytest.mark.docker


def _mux(stream: int, data: bytes) -> bytes:
    return struct.pack(">BxxxI", stream, len(data)) + data


def test_frames_split_across_pieces_and_reads_with_stderr_between(caplog: pytest.LogCaptureFixture) -> None:
    payloads = [b"a" * 10, b"", b"x" * 300_000, bytes(range(256))]
    wire = b"".join(frame(p) for p in payloads)
    pieces = [wire[i : i + 7000] for i in range(0, len(wire), 7000)]  # frames cut mid-header and mid-body
    stream = b"".join(_mux(1, piece) + _mux(2, b"warn") for piece in pieces) + _mux(2, b"ing\nlast")
    ours, theirs = socket.socketpair()

    def feed() -> None:
        for i in range(0, len(stream), 4097):  # and the mux stream cut at odd places too
            theirs.sendall(stream[i : i + 4097])
        theirs.close()

    threading.Thread(target=feed, daemon=True).start()
    transport = AttachTransport(api=None, container_id="c0ffee" * 10, sock=ours, memory_mb=64)
    with caplog.at_level(logging.INFO, logger="executors.docker.transport"):
        got = [transport.recv() for _ in payloads]
        assert transport.recv() is None
    assert got == payloads
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "sandbox c0ffeec0ffee: " + "warn" * len(pieces) + "ing"
    assert lines[-1] == "sandbox c0ffeec0ffee: last"
    ours.close()
