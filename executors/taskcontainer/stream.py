"""Read an exec's whole output off its attach socket, split into stdout and stderr, by a deadline."""

from __future__ import annotations

import socket
import time

from executors.docker.transport import RECV_SIZE, STDOUT, demux


def read_exec(sock: socket.socket, deadline: float | None) -> tuple[bytes, bytes, bool]:
    """(stdout, stderr, ended): everything until the stream ends, or what came by `deadline` (monotonic)."""
    out, err, buf = bytearray(), bytearray(), bytearray()
    ended = False
    while True:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
        try:
            data = sock.recv(RECV_SIZE)
        except TimeoutError:
            break
        if not data:
            ended = True
            break
        buf += data
        for stream, piece in demux(buf):
            (out if stream == STDOUT else err).extend(piece)
    return bytes(out), bytes(err), ended
