"""Machine output (--format json|msgpack) owns standard output alone."""

from __future__ import annotations

import os
import sys
from typing import BinaryIO


def claim_stdout() -> BinaryIO:
    """A writer on the real stdout; fd 1 itself now points at stderr.

    Libraries print to stdout at times (python-xlib warns there on every X
    connection), and one stray line corrupts a JSON or msgpack stream. After
    this, only the returned writer reaches the real stdout.
    """
    sys.stdout.flush()
    fd = os.dup(1)
    os.dup2(2, 1)
    return os.fdopen(fd, "wb", buffering=0)
