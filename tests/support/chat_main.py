"""`python -m tests.support.chat_main ...`: the chat CLI wired the way orchestrator.cli wires it.

Tests run the chat commands as real subprocesses through this, so they do not
depend on which other subcommands the top-level CLI has at the moment.
"""

from __future__ import annotations

import argparse
import sys

from orchestrator.cli.chat import add_chat_arguments, register_subcommands, run_chat


def main(argv: list[str] | None = None) -> int:
    """Parse like `lmc` and dispatch: a subcommand's handler, or the interactive chat."""
    parser = argparse.ArgumentParser(prog="lmc")
    add_chat_arguments(parser)
    register_subcommands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    return int(handler(args)) if handler is not None else run_chat(args, None)


if __name__ == "__main__":
    sys.exit(main())
