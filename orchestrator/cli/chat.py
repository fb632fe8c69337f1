"""`lmc` chat: the interactive conversation, `lmc chat TASK`, and `lmc conversations`.

A thin layer over Interpreter. Rich renders markdown and highlighted code as
they stream; `--format json|msgpack` streams LMC chunks for programs instead
(cli/output.py: JSON lines, images base64; or length-prefixed msgpack frames). Ctrl-C stops the
running code or generation, not the session. With `--server URL` the same views and turns
drive a conversation on `lmc serve` instead (cli/remote.py). Nothing heavy is imported at
module level, so `lmc --help` stays instant.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path
from typing import IO, Any

from executors.backends import backend_names
from orchestrator.cli.exits import EXIT_STOPPED, EXIT_UNFINISHED
from orchestrator.errors import OrchestratorError

HELP = """\
%reset         start a new conversation
%undo          remove your last message and everything after it
%save [FILE]   save the conversation as Open Interpreter JSON (default: <id>.json)
%help          this help
exit, Ctrl-D   leave (Ctrl-C stops running code or generation)"""


def add_chat_arguments(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    """Add the chat options; `suppress` leaves unset options out of the namespace (for subcommands)."""
    d: dict[str, Any] = {"default": argparse.SUPPRESS} if suppress else {}
    add = parser.add_argument
    add("--model", help="litellm model (gpt-4o, ollama/llama3, ...) or a .gguf file; default: embedded", **d)
    add("--api-base", help="base URL of the model's API (local or proxy servers)", **d)
    add("--api-key", help="API key (default: the provider's environment variable)", **d)
    add("--local", action="store_true", help="use the embedded SmolLM2 model, offline",
        **({"default": argparse.SUPPRESS} if suppress else {"default": None}))
    add("-y", "--auto-run", action="store_true", help="run code without asking",
        **({"default": argparse.SUPPRESS} if suppress else {"default": None}))
    add("--sandbox", choices=backend_names(), help="where code runs (default: local)", **d)
    add("--mode", choices=("auto", "tools", "text"), help="function calling or markdown blocks", **d)
    add("--format", choices=("rich", "json", "msgpack"), help="output: rich text, or LMC chunks", **d)
    add("--resume", metavar="ID", help="continue a saved conversation (see `lmc conversations`)", **d)
    add("--ray", action="store_true", help="host the conversation on Ray (RAY_ADDRESS picks the cluster)",
        **({"default": argparse.SUPPRESS} if suppress else {"default": None}))
    add("--max-steps", type=int, help="most model calls per message (default: 20)", **d)
    add("--max-tokens", type=int, help="token budget per message", **d)
    add("--max-cost", type=float, help="cost budget per message, USD", **d)
    add("--context-window", type=int, help="the model's window in tokens, if litellm does not know it", **d)
    add("--os", action="store_true", help="OS mode: the model drives a screen (see --desktop)",
        **({"default": argparse.SUPPRESS} if suppress else {"default": None}))
    add("--desktop", choices=("virtual", "host"), help="OS mode's screen: a fresh Xvfb desktop (default) or this "
        "machine's own", **d)
    add("--coordinates", metavar="SCALING", help="OS mode: the coordinates the model uses: auto (the "
        "screenshot's pixels, default), native, xga, wxga, fwxga, WIDTHxHEIGHT (a declared display size, as "
        "computer-use models expect) or normalized (0-999)", **d)
    add("--record", type=Path, metavar="FILE", help="OS mode: record the screen into FILE (.mp4 or .mkv; 5 fps, "
        "needs ffmpeg) until the chat ends", **d)
    add("--server", metavar="URL", help="chat through a running `lmc serve` at URL instead of in this process "
        "(needs --model; the conversation is deleted there when you leave)", **d)
    add("--token", help="the --server's token (default: LMC_TOKEN, then --token-file)", **d)
    add("--token-file", type=Path, metavar="FILE", help="a token file of --server, first token used (default: the "
        "one `lmc serve` made on this machine)", **d)


def register_subcommands(subparsers: Any) -> None:
    """Add `chat TASK` and `conversations` to the CLI's subcommands (each sets `handler`)."""
    chat = subparsers.add_parser(
        "chat", help="run one task and exit",
        epilog="exit codes: 0 complete, 1 the model or the chat failed, 2 a usage error, "
               "4 unfinished (stuck, max_steps, a budget, timeout), 130 stopped")
    chat.add_argument("task", help="what the model should do")
    add_chat_arguments(chat, suppress=True)
    chat.set_defaults(handler=lambda args: run_chat(args, args.task))
    listing = subparsers.add_parser("conversations", help="list saved conversations")
    listing.set_defaults(handler=list_conversations)


_SETTING_ARGS = ("model", "api_base", "api_key", "local", "auto_run", "sandbox", "mode", "ray",
                 "max_steps", "max_tokens", "max_cost", "context_window")


def _settings(args: argparse.Namespace) -> Any:
    from orchestrator.settings import resolve

    return resolve({name: getattr(args, name, None) for name in _SETTING_ARGS})


def list_conversations(args: argparse.Namespace) -> int:
    """Print saved conversations, newest first."""
    import time

    from orchestrator.session.store import ConversationStore

    try:
        infos = ConversationStore(_settings(args).data_dir).list()
    except OrchestratorError as exc:
        print(f"lmc: {exc}", file=sys.stderr)
        return 2
    if not infos:
        print("no saved conversations yet")
    for info in infos:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.modified))
        print(f"{info.id}  {when}  {info.messages:>4} msgs  {info.title}")
    return 0


def _os_interpreter(settings: Any, resume: str | None, desktop: str, record: Path | None = None,
                    coordinates: str | None = None) -> Any:
    from orchestrator.session.os_mode import os_interpreter
    from orchestrator.session.store import ConversationStore

    if settings.uses_ray:
        interpreter = _ray_os_interpreter(settings, resume, desktop, record, coordinates or "auto")
    else:
        extra: dict[str, Any] = {"record": record, "coordinates": coordinates or "auto"}
        if resume is not None:
            extra.update(conversation=resume, messages=ConversationStore(settings.data_dir).load(resume))
        interpreter = os_interpreter(settings, desktop, **extra)
    try:
        print(interpreter.notice, file=sys.stderr)  # how the model sees the screen, before it starts
    except BaseException:
        interpreter.close()
        raise
    if record is not None:
        print(f"OS mode: recording the screen into {record}", file=sys.stderr)
    return interpreter


def _ray_os_interpreter(settings: Any, resume: str | None, desktop: str, record: Path | None,
                        coordinates: str) -> Any:
    """OS mode hosted on Ray: the orchestrator actor drives a device actor's screen (a node with a `display` slot)."""
    import os

    from orchestrator.ray.cluster import ensure_ray
    from orchestrator.session.interpreter import Interpreter
    from orchestrator.session.os_mode import ScreenPlan

    host: dict[str, Any] = {}
    if desktop == "host":  # this machine's screen: the device actor must run on this node
        from devices.xdisplay import host_display

        host = {"display": host_display(os.environ),
                "node": ensure_ray(settings.ray_address).get_runtime_context().get_node_id()}
    plan = ScreenPlan(desktop, coordinates, str(record.resolve()) if record is not None else None, **host)
    if resume is not None:
        return Interpreter.load(resume, settings, screen=plan)
    return Interpreter(settings, screen=plan)


def run_chat(args: argparse.Namespace, task: str | None) -> int:
    """Run one task (task given) or the interactive chat; return the exit code."""
    from lmc.errors import LMCError
    from orchestrator.session.interpreter import Interpreter

    fmt = getattr(args, "format", None) or "rich"
    for flag in ("record", "coordinates"):
        if getattr(args, flag, None) is not None and (not getattr(args, "os", None) or getattr(args, "server", None)):
            print(f"lmc: --{flag} is for OS mode on this machine; add --os (and leave out --server)", file=sys.stderr)
            return 2
    if getattr(args, "server", None):
        return _run_remote(args, task, fmt)
    try:
        settings = _settings(args)
        resume = getattr(args, "resume", None)
        if getattr(args, "os", None):
            interpreter = _os_interpreter(settings, resume, getattr(args, "desktop", None) or "virtual",
                                          getattr(args, "record", None), getattr(args, "coordinates", None))
        else:
            interpreter = Interpreter.load(resume, settings) if resume else Interpreter(settings)
    except LMCError as exc:
        print(f"lmc: {exc}", file=sys.stderr)
        return 2
    view: _View = _RichView(interpreter) if fmt == "rich" else _MachineView(interpreter, fmt)
    try:
        if task is not None:
            return _turn(interpreter, view, task)
        return _interactive(interpreter, view)
    finally:
        interpreter.close()


def _run_remote(args: argparse.Namespace, task: str | None, fmt: str) -> int:
    """The chat with a conversation on `lmc serve` (cli/remote.py): the same views, turns and exit codes."""
    from orchestrator.cli.remote import connect

    chat, code = connect(args)
    if chat is None:
        return code
    view: _View = _RichView(chat) if fmt == "rich" else _MachineView(chat, fmt)
    try:
        if task is not None:
            return _turn(chat, view, task, second_leaves=True)
        return _interactive(chat, view, remote=True)
    finally:
        chat.close()


def _turn(interpreter: Any, view: _View, message: str, *, second_leaves: bool = False) -> int:
    """One chat turn, rendered; Ctrl-C stops the work and the turn ends cleanly.

    Ctrl-C is a signal handler that calls stop(), not a KeyboardInterrupt: raised
    inside the chat's generator, the exception would close it, and the turn would
    end without its "stopped" status (seen as a flaky test). The handler hands
    stop() to a thread: run inline, it would interrupt the main thread wherever it
    is, possibly holding a lock that stop() needs. The chat waits for the model on
    a queue, so the stop acts within a fraction of a second even while the model
    is silent mid-stream. With `second_leaves` (a chat on a server, which may not answer), a
    second Ctrl-C in the same turn raises KeyboardInterrupt: the CLI leaves (exit 130).
    """
    import signal
    import threading

    from lmc.errors import LMCError

    previous = None
    if threading.current_thread() is threading.main_thread():
        interrupts = []

        def on_interrupt(*_: object) -> None:
            interrupts.append(1)
            if second_leaves and len(interrupts) > 1:
                print("\nlmc: leaving without waiting for the server to stop", file=sys.stderr)
                raise KeyboardInterrupt
            threading.Thread(target=interpreter.stop, name="ctrl-c-stop", daemon=True).start()

        previous = signal.signal(signal.SIGINT, on_interrupt)
    status = "complete"
    try:
        for chunk in interpreter.chat(message, stream=True):
            if chunk.type == "status" and isinstance(chunk.content, str):
                status = chunk.content
            view.show(chunk)
    except LMCError as exc:
        view.fail(exc)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        view.done()
    return turn_exit_code(status)


def turn_exit_code(status: str) -> int:
    """`lmc chat TASK`'s exit code for how the turn ended.

    0 when the model finished (complete), 130 when stopped (Ctrl-C), and EXIT_UNFINISHED for
    every other end (stuck, max_steps, a token/cost budget, timeout): a script running one
    task must be able to tell "done" from "gave up", which exit 0 hid.
    """
    if status == "complete":
        return 0
    return EXIT_STOPPED if status == "stopped" else EXIT_UNFINISHED


def _interactive(interpreter: Any, view: _View, *, remote: bool = False) -> int:
    from orchestrator.models.litellm_client import load_litellm

    if not remote:  # Why a thread: litellm takes seconds to import; do it while the user types the first message.
        threading.Thread(target=load_litellm, name="warm-litellm", daemon=True).start()
    view.banner()
    while True:
        try:
            line = view.ask()
        except (EOFError, KeyboardInterrupt):
            view.say("")
            return 0
        text = line.strip()
        if not text:
            continue
        if text in ("exit", "quit"):
            return 0
        if text.startswith("%"):
            _magic(interpreter, view, text)
            continue
        _turn(interpreter, view, line, second_leaves=remote)


def _magic(interpreter: Any, view: _View, text: str) -> None:
    from lmc.errors import LMCError
    from lmc.oi import to_oi

    command, _, rest = text.partition(" ")
    if command == "%reset":
        interpreter.reset()
        view.say(f"new conversation {interpreter.id}")
    elif command == "%undo":
        try:
            removed = interpreter.undo()
        except LMCError as exc:  # not offered (a chat on a server)
            view.say(str(exc))
            return
        view.say(f"removed {len(removed)} messages" if removed else "nothing to undo")
    elif command == "%save":
        path = rest.strip() or f"{interpreter.id}.json"
        with open(path, "w") as out:
            json.dump(to_oi(interpreter.messages), out, indent=1)
        view.say(f"saved {len(interpreter.messages)} messages to {path}")
    elif command == "%help":
        view.say(HELP)
    else:
        view.say(f"unknown command {command!r}; known: %reset, %undo, %save, %help")


class _View:
    """How a chat shows itself."""

    def show(self, chunk: Any) -> None:
        """Render one chunk."""

    def done(self) -> None:
        """The turn ended."""

    def fail(self, exc: Exception) -> None:
        """The turn failed; say why in one line."""
        print(f"lmc: {exc}", file=sys.stderr)

    def banner(self) -> None:
        """Greet the user."""

    def ask(self) -> str:
        """Read the user's next message."""
        return input()

    def say(self, text: str) -> None:
        """Tell the user something."""
        print(text, file=sys.stderr)


class _MachineView(_View):
    """LMC chunks for programs: JSON lines or msgpack frames on stdout; approvals read from stdin."""

    def __init__(self, interpreter: Any, fmt: str) -> None:
        from orchestrator.cli.output import claim_stdout

        self.interpreter, self.fmt = interpreter, fmt
        self.out = claim_stdout()

    def show(self, chunk: Any) -> None:
        """Write the chunk; for a confirmation, read y/n from stdin."""
        from orchestrator.cli.output import encode_chunk

        self.out.write(encode_chunk(chunk, self.fmt))
        if chunk.type == "confirmation":
            answer = sys.stdin.readline().strip().lower()
            (self.interpreter.approve if answer in ("y", "yes") else self.interpreter.decline)()


class _RichView(_View):
    """Markdown and highlighted code, streamed with rich."""

    def __init__(self, interpreter: Any, stream: IO[str] | None = None) -> None:
        from rich.console import Console

        self.interpreter = interpreter
        # what is printed is program output and error text, never markup: "[exit status 1]" and
        # "pip install 'lmc[ray]'" were eaten as rich tags (markup=False on every such print)
        self.console = Console(file=stream, highlight=False)
        self.live: Any = None
        self.block: tuple[str, str, str | None] | None = None
        self.text = ""

    def banner(self) -> None:
        """Greet the user."""
        self.console.print(f"[bold]lmc[/bold] conversation {self.interpreter.id} - %help for commands")

    def ask(self) -> str:
        """Read the user's next message."""
        return str(self.console.input("[bold green]> [/bold green]"))

    def say(self, text: str) -> None:
        """Tell the user something."""
        self.console.print(text, style="dim", markup=False)

    def show(self, chunk: Any) -> None:
        """Render one chunk as it arrives."""
        if chunk.type in ("message", "code") and chunk.role == "assistant":
            self._stream(chunk)
            return
        self._close()  # output never lands inside a live markdown or code block
        if chunk.type == "console" and chunk.format == "output" and chunk.content:
            self.console.out(chunk.content, end="", style="dim", highlight=False)
        elif chunk.type == "console" and chunk.format == "exit_code" and chunk.content:
            self.console.print(f"[exit status {chunk.content}]", style="yellow", markup=False)
        elif chunk.type == "image" and chunk.content is not None:
            self.console.print(f"[image {chunk.format}, {len(chunk.content)} bytes]", style="cyan", markup=False)
        elif chunk.type == "error" and chunk.content:
            self.console.print(f"{chunk.format}: {chunk.content}", style="red", markup=False)
        elif chunk.type == "confirmation":
            self._confirm()
        elif chunk.type == "status" and chunk.content != "complete":
            self.console.print(f"({chunk.content})", style="dim", markup=False)

    def _stream(self, chunk: Any) -> None:
        from rich.live import Live

        if chunk.start:
            self._close()
            self.block, self.text = chunk.block, ""
            self.live = Live(self._render(), console=self.console, refresh_per_second=12,
                             vertical_overflow="visible")
            self.live.start()
        if isinstance(chunk.content, str):
            self.text += chunk.content
            self.live.update(self._render())
        if chunk.end:
            self._close()

    def _render(self) -> Any:
        from rich.markdown import Markdown
        from rich.panel import Panel
        from rich.syntax import Syntax

        assert self.block is not None
        if self.block[1] == "code":
            language = self.block[2] or "text"
            lexer = {"shell": "bash", "javascript": "js"}.get(language, language)
            return Panel(Syntax(self.text, lexer, theme="monokai"), title=language, title_align="left")
        return Markdown(self.text)

    def _close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
            if not self.console.is_terminal:  # off a terminal, Live ends without a line break
                self.console.line()

    def _confirm(self) -> None:
        self._close()
        try:
            # escaped: rich took "[y/N]" for markup and printed nothing of it
            answer = self.console.input("Run this code? \\[y/N] ").strip().lower()
        except EOFError:
            answer = ""
        (self.interpreter.approve if answer in ("y", "yes") else self.interpreter.decline)()

    def done(self) -> None:
        """End any open live block."""
        self._close()

    def fail(self, exc: Exception) -> None:
        """Say in one line why the turn failed."""
        self._close()
        self.console.print(f"lmc: {exc}", style="bold red", markup=False)
