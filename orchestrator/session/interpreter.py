"""The Interpreter: one conversation. The model writes code, the Computer runs it, until done.

    interpreter = Interpreter(resolve({"model": "gpt-4o", "auto_run": True}))
    for chunk in interpreter.chat("How many files are in ~/Downloads?", stream=True):
        ...                      # LMC chunks: assistant text, code, confirmations, console, images
    interpreter.messages         # the transcript, saved to disk as it streamed

With auto_run off, a confirmation chunk comes before each code block; the
caller answers with `interpreter.approve()` / `decline()` (or `send(True)` on
the generator, or an `approve=` callback) before pulling the next chunk.
Undecided means declined. A chat stops when the model stops asking for code
("complete"), at `max_steps` model calls, at the token / cost budget ("budget"),
at `stop()` ("stopped", within a fraction of a second even while the model is
silent mid-stream), at the `deadline` ("timeout"), or when the model keeps
repeating itself after being told once ("stuck", see session/stuck.py); a
`server` status message says which.

`model=` takes any `orchestrator.models.base.Model` (e.g. a ScriptedModel from
orchestrator.models.testing). With `ray`, the conversation is hosted by a Ray
session actor, and a given computer or model travels to it (pickled); one that
cannot is a SettingsError at construction, never silently replaced.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Literal, overload

from executors.errors import InvalidCode, UnknownLanguage
from lmc.errors import LMCError
from lmc.messages import Chunk, Message
from lmc.openai import execute_tool, to_openai
from orchestrator.errors import ContextOverflow, SettingsError
from orchestrator.models.base import Model, Usage
from orchestrator.session import prompts
from orchestrator.session.context import fit_to_window
from orchestrator.session.pump import cancellable
from orchestrator.session.reply import Asked, Reply
from orchestrator.session.store import ConversationStore, Recorder, new_id
from orchestrator.session.stuck import REPEATS, STUCK, Repetition
from orchestrator.session.usage import Budget, Spent, UsageMeter, UsageReport, has_price
from orchestrator.settings import Settings, resolve

if TYPE_CHECKING:
    from orchestrator.ray.sessions import SessionParts

log = logging.getLogger(__name__)

Approver = Callable[[Message], bool]
UserInput = str | Message | list[Message] | None
#: The share of the window kept free for the model's reply.
FIT_RESERVE = 0.2


class Interpreter:
    """One conversation between a model and a Computer."""

    def __init__(self, settings: Settings | None = None, *, computer: Any = None,
                 model: Model | None = None, store: ConversationStore | None = None,
                 conversation: str | None = None, messages: list[Message] | None = None,
                 ray: bool | str | None = None, deadline: float | None = None, screen: Any = None) -> None:
        settings = settings if settings is not None else resolve()
        if ray is not None:  # True: a local or RAY_ADDRESS cluster; a string: that cluster's address
            address = ray if isinstance(ray, str) else settings.ray_address
            settings = dataclasses.replace(settings, ray=bool(ray), ray_address=address if ray else None)
        self.settings = settings
        self.id = conversation or new_id()
        self.store = store if store is not None else ConversationStore(self.settings.data_dir)
        self.messages: list[Message] = list(messages or [])
        self._computer = computer
        self._model = model
        #: what the caller gave: under Ray these travel to the session actor (never silently dropped)
        self._given = _Given(computer, model, screen)
        if screen is not None and not self.settings.uses_ray:
            raise SettingsError("Interpreter(screen=...) is OS mode hosted on Ray (with ray=True); on this machine "
                                "use orchestrator.session.os_mode.os_interpreter")
        if self.settings.uses_ray:
            self._given.check_sendable()
        #: a line for the user before the chat starts (OS mode: how the model sees the screen), if any
        self._notice: str | None = None
        self._local: Any = None  # the LocalModelServer when the embedded model serves us
        self._decision: bool | None = None
        self._stopping = threading.Event()
        self._recorder = Recorder(self.id, self.messages, self.store)
        self._remote: Any = None  # the RemoteSession when the conversation is hosted on Ray
        self._token_cache: dict[Message, int] = {}  # messages are immutable: count each once
        #: time.monotonic() at which the caller stops the chat; with it the model is told its budget
        self.deadline = deadline
        self._steps_used = 0
        self._meter = self._new_meter(self.store.load_usage(self.id) if conversation else None)

    def _new_meter(self, kept: dict[str, Any] | None) -> UsageMeter:
        """A usage meter starting from what a resumed conversation spent, saving its total after each chat
        (a Ray-hosted chat's is kept by the interpreter in its actor, which makes the model calls)."""
        if self.settings.uses_ray:
            return UsageMeter()

        def save(total: Spent) -> None:
            try:
                self.store.save_usage(self.id, total.to_dict())
            except OSError as exc:  # the chat itself is saved; only its running total is not
                log.warning("conversation %s: cannot save its usage (%s)", self.id, exc)

        return UsageMeter(Spent.from_dict(kept) if kept else None, on_end=save)

    # --- parts, created on first use so construction stays cheap ------------------------

    @property
    def computer(self) -> Any:
        """The Computer that runs the model's code."""
        if self._computer is None:
            from orchestrator.computer import Computer

            self._computer = Computer(sandbox=self.settings.sandbox)
        return self._computer

    @property
    def model(self) -> Model:
        """The model client (starts the embedded model server when no model is configured)."""
        if self._model is None:
            from orchestrator.models.local import client_for  # the local server only when asked for

            self._model, self._local = client_for(self.settings)
        return self._model

    @classmethod
    def load(cls, conversation: str, settings: Settings | None = None, **parts: Any) -> Interpreter:
        """Continue a saved conversation."""
        settings = settings if settings is not None else resolve()
        store = parts.pop("store", None) or ConversationStore(settings.data_dir)
        messages = store.load(conversation)
        return cls(settings, store=store, conversation=conversation, messages=messages, **parts)

    @property
    def usage(self) -> UsageReport:
        """Tokens, cost, model calls and wall time spent, against the budgets (session/usage.py); thread-safe."""
        return self._meter.report(Budget.of(self.settings))

    # --- the public conversation API --------------------------------------------------------

    @overload
    def chat(self, message: UserInput = None, *, stream: Literal[False] = False,
             approve: Approver | None = None) -> list[Message]: ...

    @overload
    def chat(self, message: UserInput = None, *, stream: Literal[True],
             approve: Approver | None = None) -> Generator[Chunk, object, None]: ...

    def chat(self, message: UserInput = None, *, stream: bool = False,
             approve: Approver | None = None) -> list[Message] | Generator[Chunk, object, None]:
        """Send a message and let the model work; chunks as they come, or the new messages at the end."""
        start = len(self.messages)
        if not self.settings.auto_run and approve is None and not stream:
            log.warning("auto_run is off and no approve= callback was given: all code will be declined")
        run = self._chat_remote if self.settings.uses_ray else self._chat
        self._stopping.clear()  # here, not in the generator: a stop after this call reaches this chat
        chunks = self._meter.metered(run(message, approve))
        if stream:
            return chunks
        for _ in chunks:
            pass
        return self.messages[start:]

    @property
    def notice(self) -> str | None:
        """A line for the user before the chat starts (OS mode: how the model sees the screen), or None.

        A Ray-hosted session is opened here (rather than on the first chat) to ask its actor, so
        what cannot start (no screen on the cluster) fails now, before anything is typed."""
        if self.settings.uses_ray:
            return self._open_remote().notice()  # type: ignore[no-any-return]
        return self._notice

    @notice.setter
    def notice(self, line: str | None) -> None:
        self._notice = line

    def approve(self) -> None:
        """Run the code of the confirmation just received."""
        self._decision = True

    def decline(self) -> None:
        """Do not run the code of the confirmation just received."""
        self._decision = False

    def stop(self) -> None:
        """Stop the running code or generation (thread-safe); the conversation stays usable."""
        self._stopping.set()
        if self._remote is not None:
            self._remote.stop()
        if self._computer is not None:
            self._computer.stop()

    def reset(self) -> None:
        """Start a new, empty conversation (the old one stays saved)."""
        self.id = new_id()
        self.messages.clear()
        self._recorder = Recorder(self.id, self.messages, self.store)
        self._meter = self._new_meter(None)

    def undo(self) -> list[Message]:
        """Remove the last user message and everything after it; return what was removed."""
        last = max((i for i, m in enumerate(self.messages) if m.role == "user"), default=None)
        if last is None:
            return []
        removed = self.messages[last:]
        del self.messages[last:]
        self.store.replace(self.id, self.messages)
        return removed

    def close(self) -> None:
        """Shut down what this conversation started: the local model server, the Computer."""
        self.store.close()
        if self._remote is not None:
            self._remote.close()
            self._remote = None
        if self._local is not None:
            self._local.close()
            self._local = None
        if self._computer is not None:
            self._computer.close()

    def __enter__(self) -> Interpreter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the loop ---------------------------------------------------------------------------

    def _chat_remote(self, message: str | Message | list[Message] | None, approve: Approver | None
                     ) -> Generator[Chunk, object, None]:
        """The chat hosted by a Ray orchestrator actor; the transcript is mirrored here."""
        remote = self._open_remote()
        items = _user_messages(message)
        if len(items) > 1:
            raise SettingsError("a Ray-hosted chat takes one message at a time; send them one by one")

        def decide(code: Message) -> bool | None:
            return approve(code) if approve is not None else self._decision

        self._decision = None
        yield from remote.chat(items[0] if items else None, decide=decide)

    def _open_remote(self) -> Any:
        """The RemoteSession hosting this conversation on Ray, opened on first use."""
        if self._remote is None:
            from orchestrator.ray.sessions import RemoteSession

            self._remote = RemoteSession.start(self.settings, self.id, self._given.parts(), ray_hosted)
            self._remote.messages[:0] = [m for m in self.messages if m not in self._remote.messages]
            self.messages = self._remote.messages
        return self._remote

    def _chat(self, message: str | Message | list[Message] | None, approve: Approver | None
              ) -> Generator[Chunk, object, None]:
        for item in _user_messages(message):
            self._recorder.record(item)
        try:
            yield from self._steps(approve)
        finally:
            self._recorder.close_open()  # a stopped or abandoned stream still leaves whole messages

    def _steps(self, approve: Approver | None) -> Generator[Chunk, object, None]:
        spent = Usage(0, 0, 0.0)
        repetition = Repetition()
        for step in range(self.settings.max_steps):
            self._steps_used = step
            over = self._ended() or self._over_budget(spent)  # stopped already: the model is not asked
            if over:
                yield from self._status(over)
                return
            asked = yield from self._ask(spent)
            spent = asked.usage
            ended = self._ended()
            if ended:
                yield from self._status(ended)
                return
            if asked.cut and (yield from self._repeating(repetition.after_cut(), prompts.LOOPING)):
                return
            if not asked.codes and not asked.calls and not asked.notes and not asked.cut:
                yield from self._status("complete")
                return
            for code, recorded in [(c, True) for c in asked.codes] + [(c, False) for c in asked.calls]:
                if not recorded:  # a tool call's code goes in right before its output, keeping pairs intact
                    yield from self._recorder.emit_message(code)
                if repetition.before_run(code):  # told once already: not run again, and the chat ends
                    yield from self._recorder.emit_message(
                        Message("computer", "error", prompts.NOT_RUN_AGAIN, "interrupted"))
                    yield from self._status(STUCK)
                    return
                ran = len(self.messages)
                yield from self._execute(code, approve)
                ended = self._ended()
                if ended:
                    yield from self._status(ended)
                    return
                verdict = repetition.after_run(code, self.messages[ran:])
                if (yield from self._repeating(verdict, prompts.REPEATING.format(times=REPEATS))):
                    return
            for note in asked.notes:
                yield from self._recorder.emit_message(Message("computer", "error", note, "usage"))
        yield from self._status("max_steps")

    def _ended(self) -> str | None:
        """"stopped" after stop(), "timeout" past the deadline, else None."""
        if self._stopping.is_set():
            return "stopped"
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return "timeout"
        return None

    def _repeating(self, verdict: str | None, note: str) -> Generator[Chunk, object, bool]:
        """Tell the model it repeats itself (once), or stop the chat as stuck; True when it stopped."""
        if verdict == "warn":
            log.info("conversation %s: the model repeats itself; telling it once", self.id)
            yield from self._recorder.emit_message(Message("computer", "error", note, "usage"))
        elif verdict == "stop":
            yield from self._status(STUCK)
            return True
        return False

    def _over_budget(self, spent: Usage) -> str | None:
        s = self.settings
        if s.max_tokens is not None and spent.prompt_tokens + spent.completion_tokens >= s.max_tokens:
            return "budget"
        if s.max_cost is not None and spent.cost >= s.max_cost:
            return "budget"
        return None

    def _status(self, what: str) -> Generator[Chunk, object, None]:
        log.info("conversation %s: %s", self.id, what)
        yield from self._recorder.emit_message(Message("server", "status", what))

    def _prompt(self, shrink: float) -> list[dict[str, Any]]:
        """The chat messages for the model: system message, then the transcript fitted to the window."""
        model = self.model
        system = prompts.system_message(self.computer.languages, model.mode, self.settings.system_message)
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            system += "\n\n" + prompts.budget_note(self.settings.max_steps - self._steps_used, left)

        def render(messages: list[Message], with_system: bool = True) -> list[dict[str, Any]]:
            return to_openai(messages, system=system if with_system else None, mode=model.mode,
                             vision=model.vision)

        window = int(model.context_window * shrink)
        everything = render(self.messages)
        # A token is at least a byte: when the bytes fit, litellm's exact (slower) count is not needed.
        if len(json.dumps(everything).encode()) <= window * (1 - FIT_RESERVE):
            return everything

        def count(message: Message) -> int:
            if message not in self._token_cache:
                self._token_cache[message] = model.count_tokens(render([message], with_system=False))
            return self._token_cache[message]

        fixed = model.count_tokens(render([]))
        return render(fit_to_window(self.messages, count, window, fixed, FIT_RESERVE))

    def _ask(self, spent: Usage) -> Generator[Chunk, object, Asked]:
        """One model call, streamed; returns the code it asked for and notes on what it got wrong."""
        model = self.model
        tools = [execute_tool(self.computer.languages)] if model.mode == "tools" else None
        shrinks = (1.0, 0.75, 0.5, 0.3)  # the window litellm reports, or its token count, may be optimistic
        for attempt, shrink in enumerate(shrinks):
            reply = Reply(self._recorder, self.computer.languages, model.mode)
            try:
                events = model.stream(self._prompt(shrink), tools)
                for event in cancellable(events, self._stopping, self.deadline):
                    yield from reply.take(event)
                    if reply.cut:  # the model loops in its own text: stop reading it
                        log.info("conversation %s: the model's reply repeats itself; cut", self.id)
                        break
                yield from reply.finish()
                break
            except ContextOverflow:
                if attempt == len(shrinks) - 1 or reply.started:
                    raise
                log.warning("the model says the prompt is too long; fitting it to %d%% of the window",
                            int(shrinks[attempt + 1] * 100))
        self._meter.called(reply.usage, has_price(model, reply.usage))
        return Asked(reply.codes, reply.calls, reply.notes, spent + reply.usage, cut=reply.cut)

    def _execute(self, code: Message, approve: Approver | None) -> Generator[Chunk, object, None]:
        """Confirm (unless auto_run) and run one code message, streaming the computer's output."""
        try:
            language = self.computer.resolve_language(code.format)
        except UnknownLanguage as exc:  # the model's mistake, so the model is told
            log.info("model asked for an unknown language: %s", exc)
            note = f"{exc}. Run the code again with one of those."
            yield from self._recorder.emit_message(Message("computer", "error", note, "usage"))
            return
        if not self.settings.auto_run:
            self._decision = None
            confirmation = Message("computer", "confirmation", code, "execution")
            sent = yield from self._recorder.emit_message(confirmation)
            if approve is not None:
                decided: bool | None = approve(code)
            else:
                decided = sent if isinstance(sent, bool) else self._decision
            if not decided:
                yield from self._recorder.emit_message(
                    Message("computer", "error", prompts.DECLINED, "interrupted"))
                return
        ended = self._ended()
        if ended:  # stop() or the deadline came after the reply (or the approval), before the run began
            yield from self._recorder.emit_message(
                Message("computer", "error", prompts.NOT_RUN_ENDED[ended], "interrupted"))
            return
        try:
            restopped = False
            for chunk in self.computer.run(language, code.content, stream=True):
                if self._stopping.is_set() and not restopped:
                    # a stop() from another thread that came while this run was starting found
                    # nothing to interrupt; now the run is under way (the agent stops a run once)
                    self.computer.stop()
                    restopped = True
                yield self._recorder.emit(chunk)
        except InvalidCode as exc:  # code that cannot run as given (a NUL): the model's mistake, told to it
            self._recorder.close_open()
            yield from self._recorder.emit_message(Message("computer", "error", f"{exc}", "usage"))
        except LMCError as exc:  # the sandbox failed: infrastructure, reported to model and user alike
            self._recorder.close_open()
            yield from self._recorder.emit_message(
                Message("computer", "error", f"{type(exc).__name__}: {exc}", "sandbox"))


def _user_messages(message: str | Message | list[Message] | None) -> list[Message]:
    if message is None:
        return []
    if isinstance(message, str):
        return [Message("user", "message", message)]
    if isinstance(message, Message):
        return [message]
    return list(message)


class _Given:
    """The computer and model a caller gave the Interpreter; a Ray-hosted session must use them too."""

    def __init__(self, computer: Any, model: Model | None, screen: Any = None) -> None:
        self.computer, self.model, self.screen = computer, model, screen

    def parts(self) -> SessionParts:
        """The parts to send to the session actor."""
        from orchestrator.ray.sessions import SessionParts

        return SessionParts(computer=self.computer, model=self.model, screen=self.screen)

    def check_sendable(self) -> None:
        """SettingsError naming the fix when a given part cannot travel to the Ray session actor."""
        if self.computer is None and self.model is None:
            return
        from orchestrator.ray.sessions import check_sendable

        check_sendable(self.parts())


def hosted(settings: Settings, conversation: str | None, parts: SessionParts) -> Interpreter:
    """A session for a SessionHost: a fresh interpreter, or a saved conversation continued, with the parts."""
    given = {"computer": parts.computer, "model": parts.model}
    if conversation is not None and ConversationStore(settings.data_dir).exists(conversation):
        return Interpreter.load(conversation, settings, **given)
    return Interpreter(settings, conversation=conversation, **given)


def ray_hosted(settings: Settings, conversation: str | None, parts: SessionParts) -> Interpreter:
    """As `hosted`, but without a given computer the sandbox is owned by this node's executor actor;
    with a screen plan, OS mode on a device actor's screen (os_mode.ScreenPlan.session)."""
    if parts.screen is not None:  # an os_mode.ScreenPlan: it makes the OS-mode session on its screen
        return parts.screen.session(settings, conversation, parts)  # type: ignore[no-any-return]
    if parts.computer is None:
        from orchestrator.computer import Computer
        from orchestrator.ray.executor_actor import RayExecutor

        parts = dataclasses.replace(parts, computer=Computer(RayExecutor(settings.sandbox)))
    return hosted(settings, conversation, parts)
