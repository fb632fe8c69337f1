"""`lmc --server URL` / `lmc chat --server URL TASK`: the chat CLI driving a conversation on `lmc serve`.

The chat's views and its turn loop (cli/chat.py) are the local chat's; `RemoteChat` stands where
the Interpreter stands, so the display, the approval prompts, Ctrl-C and the exit codes are the
same. Approve / decline / stop are requests to the server. The token comes from --token, then
LMC_TOKEN, then --token-file, then the token file `lmc serve` makes on this machine.
Leaving deletes the conversation on the server (its sandbox too).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lmc.errors import LMCError
from lmc.messages import Chunk, Message
from orchestrator.cli.exits import EXIT_BACKEND, EXIT_USAGE

#: chat options that mean something only in this process, with the reason given when refused
LOCAL_ONLY = {
    "local": "the embedded model runs on the server's side only if the server is set up for it; name a hosted "
             "model with --model (and --api-base/--api-key)",
    "ray": "the server decides where its conversations run",
    "resume": "saved conversations are the server's; resume one locally without --server",
    "os": "OS mode drives a screen of this machine",
    "desktop": "OS mode drives a screen of this machine",
}
#: chat options passed to the server's create-conversation route (the option's dest is the field's name)
PASSED = ("api_base", "api_key", "auto_run", "sandbox", "mode", "max_steps", "max_tokens", "max_cost",
          "context_window")
#: how long leaving waits for the server to delete the conversation
LEAVE_TIMEOUT = 10.0


class RemoteChat:
    """A conversation on `lmc serve` with the Interpreter's chat interface (id, chat, approve, stop...)."""

    def __init__(self, url: str, token: str, fields: dict[str, Any]) -> None:
        from orchestrator.client import Connection, RemoteConversation

        self.url, self.token, self.fields = url, token, fields
        check = Connection(url, token, timeout=30.0)
        try:
            check.check_version()
        finally:
            check.close()
        self.remote = RemoteConversation(url, token, **fields)

    @property
    def id(self) -> str:
        """The conversation's id on the server."""
        return self.remote.id

    def chat(self, message: str, *, stream: bool = True) -> Iterator[Chunk]:
        """The chunks of one chat, as the server streams them."""
        return self.remote.chat(message, stream=True)

    def approve(self) -> None:
        """Run the pending code."""
        self.remote.approve()

    def decline(self) -> None:
        """Skip the pending code."""
        self.remote.decline()

    def stop(self) -> None:
        """Ask the server to stop the chat (from Ctrl-C's thread: a failure is said, not raised)."""
        try:
            self.remote.stop()
        except LMCError as exc:
            print(f"lmc: could not stop the chat on the server: {exc}", file=sys.stderr)

    @property
    def messages(self) -> list[Message]:
        """The transcript, from the server."""
        return self.remote.messages

    def reset(self) -> None:
        """A new conversation on the server; the old one is deleted there."""
        from orchestrator.client import RemoteConversation

        self.remote.close()
        self.remote = RemoteConversation(self.url, self.token, **self.fields)

    def undo(self) -> list[Message]:
        """Not offered by the server."""
        raise LMCError("%undo is not available with --server (the server has no route for it); %reset "
                       "starts over")

    def close(self) -> None:
        """Delete the conversation on the server, waiting LEAVE_TIMEOUT at most."""
        import httpx

        self.remote.connection.http.timeout = httpx.Timeout(LEAVE_TIMEOUT)
        try:
            self.remote.close()
        except LMCError as exc:
            print(f"lmc: could not delete conversation {self.id} on the server ({exc}); it closes "
                  "itself after the server's idle timeout", file=sys.stderr)


def token_for(args: argparse.Namespace) -> str:
    """The token: --token, LMC_TOKEN, --token-file, or the file `lmc serve` made here; ValueError naming the fix."""
    from orchestrator.server import tokens

    given = getattr(args, "token", None) or os.environ.get("LMC_TOKEN")
    if given:
        return str(given)
    path: Path | None = getattr(args, "token_file", None)
    if path is None:
        path = tokens.default_token_file()
        if not path.is_file():
            raise ValueError("no token for --server: give --token TOKEN, set LMC_TOKEN, or --token-file FILE "
                             "(the token `lmc serve` printed on its first start)")
    return tokens.load(path).tokens[0]


def remote_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The create-conversation body from the options; ValueError for an option that is local only."""
    refused = [name for name in LOCAL_ONLY if getattr(args, name, None) not in (None, False)]
    if refused:
        name = refused[0]
        raise ValueError(f"--{name} cannot be used with --server: {LOCAL_ONLY[name]}")
    model = getattr(args, "model", None)
    if not model:
        raise ValueError("--server needs --model: the server's conversations name their model "
                         "(e.g. --model openai/gpt-4o, with --api-base and --api-key for your own endpoint)")
    fields = {name: getattr(args, name) for name in PASSED if getattr(args, name, None) is not None}
    return {"model": model, **fields}


def connect(args: argparse.Namespace) -> tuple[RemoteChat | None, int]:
    """The remote chat, or None and the exit code after saying in one line why not."""
    from orchestrator.server.errors import BadRequest, Unauthorized, Unreachable, VersionMismatch

    try:
        return RemoteChat(args.server.rstrip("/"), token_for(args), remote_fields(args)), 0
    except Unauthorized:
        message, code = (f"lmc serve at {args.server} refused the token (401); use a token from its token file "
                         "(--token, LMC_TOKEN or --token-file)"), EXIT_USAGE
    except Unreachable as exc:
        message, code = str(exc), EXIT_BACKEND
    except (VersionMismatch, BadRequest, ValueError) as exc:
        message, code = str(exc), EXIT_USAGE
    except LMCError as exc:
        message, code = str(exc), 1
    print(f"lmc: {message}", file=sys.stderr)
    return None, code
