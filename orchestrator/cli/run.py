"""`lmc run LANGUAGE CODE`: run code on a Computer and print what it prints."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Iterable
from typing import Any, BinaryIO, TextIO

from executors.backends import backend_names
from lmc.messages import Chunk
from orchestrator.cli.output import MACHINE_FORMATS, encode_chunk


def register(sub: Any) -> None:
    """Add the `run` subcommand."""
    p = sub.add_parser(
        "run",
        help="run code in a language on a sandboxed computer",
        description="Run CODE in LANGUAGE and print its output as a terminal would.",
    )
    p.add_argument("language", help="python, shell, javascript, an alias (py, bash, js) or a plugin language")
    p.add_argument("code", help="the code; '-' reads it from standard input")
    p.add_argument("--sandbox", default="local", choices=backend_names(), help="where the code runs (default: local)")
    p.add_argument("--timeout", type=float, default=None, help="stop the code after this many seconds")
    p.add_argument("--max-output", type=int, default=None, help="characters of output kept before truncating")
    p.add_argument(
        "--format",
        choices=("text", "json", "msgpack"),
        default="text",
        help="text prints like a terminal; json and msgpack stream the raw LMC chunks for programs",
    )
    p.set_defaults(handler=run_command)


def print_chunks(chunks: Iterable[Chunk], fmt: str, out: TextIO, err: TextIO, raw: BinaryIO) -> int:
    """Write chunks in the chosen format (text to out; json and msgpack to raw); the run's exit code."""
    status = 0
    for chunk in chunks:
        if chunk.type == "error":
            status = status or 1
        elif chunk.type == "console" and chunk.format == "exit_code" and isinstance(chunk.content, int) \
                and chunk.content:
            status = chunk.content
        if fmt in MACHINE_FORMATS:
            raw.write(encode_chunk(chunk, fmt))
            raw.flush()
        else:
            _print_text(chunk, out, err)
    return status


def _print_text(chunk: Chunk, out: TextIO, err: TextIO) -> None:
    if chunk.type == "console" and chunk.format == "output" and isinstance(chunk.content, str) and chunk.content:
        out.write(chunk.content)
        out.flush()
    elif chunk.type == "image" and chunk.start:
        size = f"{len(chunk.content)} bytes" if isinstance(chunk.content, bytes) else str(chunk.content)
        err.write(f"[image: {chunk.format}, {size}; use --format json to receive it]\n")
    elif chunk.type == "error" and chunk.content:
        err.write(f"[{chunk.format}] {chunk.content!s}\n")


def run_command(args: argparse.Namespace) -> int:
    """Handler of `lmc run`."""
    from orchestrator.cli.output import claim_stdout
    from orchestrator.computer import Computer

    code = sys.stdin.read() if args.code == "-" else args.code
    with Computer(args.sandbox) as computer:
        chunks = computer.run(
            args.language, code, stream=True, timeout=args.timeout, max_output=args.max_output
        )
        previous = signal.signal(signal.SIGINT, lambda *_: computer.stop())
        try:
            raw = claim_stdout() if args.format != "text" else sys.stdout.buffer
            return print_chunks(chunks, args.format, sys.stdout, sys.stderr, raw)
        finally:
            signal.signal(signal.SIGINT, previous)
