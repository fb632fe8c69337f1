"""The `lmc` command: a thin layer over the Python API.

Only here do exceptions become a one-line message and an exit code:
0 ok, 1 the code or the model failed, 2 a usage error, 3 a backend failed, 4 `lmc chat TASK`
ended unfinished (stuck, max_steps, a budget, a timeout).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import Any

from executors.errors import ExecutorError, SandboxError
from lmc.errors import LMCError
from orchestrator.cli.exits import EXIT_BACKEND, EXIT_STOPPED, EXIT_UNFINISHED, EXIT_USAGE

__all__ = ["EXIT_BACKEND", "EXIT_STOPPED", "EXIT_UNFINISHED", "EXIT_USAGE", "exit_code", "main"]
#: entry-point group of subcommands that plug in (`lmc bench` is one): `register(subparsers)`
COMMANDS = "lmc.commands"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `lmc` with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="lmc",
        description="Let language models use computers: run code in sandboxes, chat with a model that does. "
        "With no command, `lmc` opens an interactive chat.",
    )
    from orchestrator.cli import chat as chat_cli
    from orchestrator.cli import image as image_cli
    from orchestrator.cli import run as run_cli
    from orchestrator.cli import serve as serve_cli

    chat_cli.add_chat_arguments(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run_cli.register(sub)
    chat_cli.register_subcommands(sub)
    image_cli.register(sub)
    serve_cli.register(sub)
    for register in _plugged_commands():
        register(sub)
    parser.set_defaults(handler=lambda args: chat_cli.run_chat(args, None))
    return parser


def _plugged_commands() -> list[Callable[[Any], None]]:
    """The `register(subparsers)` functions of installed `lmc.commands` entry points, by name."""
    found = []
    for entry in sorted(entry_points(group=COMMANDS), key=lambda e: e.name):
        try:
            found.append(entry.load())
        except Exception as exc:  # a broken plugin must not take `lmc` down with it
            print(f"lmc: warning: command plugin {entry.name!r} ({entry.value}) failed to load: {exc}",
                  file=sys.stderr)
    return found


def _fail(message: str, code: int) -> int:
    print(f"lmc: error: {message}", file=sys.stderr)
    return code


def exit_code(exc: BaseException) -> int | None:
    """The exit code an exception ends `lmc` with (None: not ours to map, let it propagate)."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_STOPPED
    if isinstance(exc, SandboxError):
        return EXIT_BACKEND
    if isinstance(exc, (ExecutorError, ValueError)):
        return EXIT_USAGE
    if isinstance(exc, LMCError):
        return 1
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run `lmc` with argv; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except (KeyboardInterrupt, LMCError, ValueError) as exc:
        code = exit_code(exc)
        assert code is not None  # every class caught here has a code
        return code if isinstance(exc, KeyboardInterrupt) else _fail(str(exc), code)
