"""The `lmc` command: a thin layer over the Python API.

Only here do exceptions become a one-line message and an exit code:
0 ok, 1 the code or the model failed, 2 a usage error, 3 a backend failed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from executors.errors import ExecutorError, SandboxError
from lmc.errors import LMCError

EXIT_USAGE, EXIT_BACKEND = 2, 3


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `lmc` with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="lmc",
        description="Let language models use computers: run code in sandboxes, chat with a model that does. "
        "With no command, `lmc` opens an interactive chat.",
    )
    from orchestrator import bench_cli, chat_cli, image_cli, run_cli

    chat_cli.add_chat_arguments(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run_cli.register(sub)
    chat_cli.register_subcommands(sub)
    image_cli.register(sub)
    bench_cli.register(sub)
    parser.set_defaults(handler=lambda args: chat_cli.run_chat(args, None))
    return parser


def _fail(message: str, code: int) -> int:
    print(f"lmc: error: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run `lmc` with argv; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except SandboxError as exc:
        return _fail(str(exc), EXIT_BACKEND)
    except (ExecutorError, ValueError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except LMCError as exc:
        return _fail(str(exc), 1)
