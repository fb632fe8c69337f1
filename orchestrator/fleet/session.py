"""One fleet session: desktop, sandbox, hooks, the Interpreter under budgets; retried on infra failure.

`SessionRunner` is a plain class: the Fleet runs it in threads in-process, or
inside a Ray worker actor on each node.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from lmc.errors import LMCError
from lmc.messages import Message
from orchestrator.fleet.errors import RETRIED, SessionSetupFailed, classify
from orchestrator.fleet.sandbox import SandboxFactory
from orchestrator.fleet.spec import SandboxPlan, SessionResult, SessionSpec
from orchestrator.models.base import Mode, Model, ModelEvent, OpenAIMessages, OpenAITools, Usage

log = logging.getLogger(__name__)

#: serializes the first import of the heavy modules (see _preload)
_IMPORTS = threading.Lock()

#: the conversation's last status -> failure class (None: the model finished on its own)
_STATUS_FAILURE = {"complete": None, "max_steps": "budget", "budget": "budget", "timeout": "budget",
                   "stuck": "stuck"}


class MeteredModel:
    """A Model that adds up the Usage events of every reply the model it wraps streams."""

    def __init__(self, inner: Model) -> None:
        self.inner = inner
        self.usage = Usage(0, 0, 0.0)
        self.calls = 0

    @property
    def mode(self) -> Mode:
        """The inner model's mode."""
        return self.inner.mode

    @property
    def vision(self) -> bool:
        """Whether the inner model takes images."""
        return self.inner.vision

    @property
    def context_window(self) -> int:
        """The inner model's window."""
        return self.inner.context_window

    def count_tokens(self, messages: OpenAIMessages) -> int:
        """Tokens as the inner model counts them."""
        return self.inner.count_tokens(messages)

    def stream(self, messages: OpenAIMessages, tools: OpenAITools | None = None) -> Iterator[ModelEvent]:
        """The inner model's events, counted."""
        self.calls += 1
        for event in self.inner.stream(messages, tools):
            if isinstance(event, Usage):
                self.usage = self.usage + event
            yield event


@dataclass
class _Attempt:
    """What one attempt produced."""

    status: str = "failed"
    failure: str | None = None
    detail: str = ""
    steps: int = 0
    usage: Usage = field(default_factory=lambda: Usage(0, 0, 0.0))
    wall: float = 0.0
    evaluation: dict[str, Any] = field(default_factory=dict)
    transcript: str | None = None


class SessionRunner:
    """Runs sessions on one node: admission, fresh sandboxes, retries of infrastructure failures."""

    def __init__(self, sandboxes: SandboxFactory, max_retries: int = 2, node: str = "",
                 screens: ActorScreens | None = None) -> None:
        self.sandboxes = sandboxes
        self.max_retries = max_retries
        self.node = node or socket.gethostname()
        #: on Ray, desktops are device actors on this node; None: DeviceHosts in this process
        self.screens = screens

    def run(self, spec: SessionSpec, first: int = 1) -> SessionResult:
        """Run a session to its end; infra and model-API failures are retried up to max_retries.

        `first` is the number of this attempt when earlier ones ran elsewhere (a fleet worker lost
        with its node): they count against max_retries, and each attempt keeps its own transcript.
        """
        _preload()
        retried: list[str] = []
        attempt = _Attempt()
        for number in range(first, max(first, self.max_retries + 1) + 1):
            conversation = spec.id if number == 1 else f"{spec.id}-retry{number - 1}"
            with self.sandboxes.admit():
                attempt = self._attempt(spec, conversation)
            if attempt.failure not in RETRIED or number >= self.max_retries + 1:
                break
            log.warning("session %s attempt %d: %s (%s); retrying", spec.id, number, attempt.failure,
                        attempt.detail)
            retried.append(f"{attempt.failure}: {attempt.detail}")
        u = attempt.usage
        return SessionResult(
            spec.id, attempt.status, attempt.failure, attempt.detail, len(retried) + first, attempt.steps,
            u.prompt_tokens, u.completion_tokens, u.cost, attempt.wall, attempt.evaluation,
            attempt.transcript, tuple(retried), self.node)

    def _attempt(self, spec: SessionSpec, conversation: str) -> _Attempt:
        result = _Attempt()
        started = time.monotonic()
        with ExitStack() as stack:
            try:
                self._session(spec, conversation, stack, result)
            except LMCError as exc:
                result.failure, result.detail = classify(exc), f"{type(exc).__name__}: {exc}"
            except OSError as exc:  # a process or socket the sandbox needed went away
                result.failure, result.detail = "infra", f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # one session's bug must not take down the fleet's other sessions
                log.exception("session %s failed unexpectedly", spec.id)
                result.failure, result.detail = classify(exc), f"{type(exc).__name__}: {exc}"
        result.wall = time.monotonic() - started
        return result

    def _session(self, spec: SessionSpec, conversation: str, stack: ExitStack, result: _Attempt) -> None:
        desktop = self._screen(spec, stack)
        plan = SandboxPlan()
        if spec.hooks is not None:
            stack.callback(spec.hooks.close)
            plan = spec.hooks.open(self.sandboxes.config.backend, desktop.env() if desktop else {})
        if spec.record is not None and desktop is not None:  # after the hooks made its folder
            desktop.record(spec.record)  # finished when the desktop closes
        executor = plan.executor or self.sandboxes.create({**(desktop.env() if desktop else {}), **plan.env},
                                                          plan.cwd)
        computer = _computer(executor, desktop, stack)
        self.sandboxes.start(computer.executor)
        if spec.hooks is not None:
            spec.hooks.prepare(computer)
        interpreter, model = _interpreter(spec, conversation, plan, computer, stack)
        status = _chat(interpreter, spec)
        result.steps, result.usage = model.calls, model.usage
        result.transcript = str(interpreter.store.path(conversation))
        result.status, result.failure = status, _STATUS_FAILURE.get(status, None)
        broken = _sandbox_errors(interpreter.messages)
        if broken:
            raise SessionSetupFailed(f"the sandbox failed under the session: {broken[-1]}")
        if desktop is not None:
            desktop.check()  # an X server that died under the session is infrastructure
        if spec.hooks is not None:
            result.evaluation = spec.hooks.evaluate(computer)
        if desktop is not None:
            desktop.check()
        if result.failure == "budget":
            result.detail = f"stopped at {status}"

    def _screen(self, spec: SessionSpec, stack: ExitStack) -> Any:
        """The session's desktop and its devices: a DeviceHost here, or a device actor on this node (Ray)."""
        if spec.desktop is None:
            return None
        from orchestrator.ray.device_actor import DeviceHost, DeviceHostConfig

        config = DeviceHostConfig(desktop=spec.desktop)
        screen = self.screens.open(config) if self.screens is not None else DeviceHost(config)
        stack.callback(screen.close)
        return screen


@dataclass(frozen=True)
class ActorScreens:
    """Where a Ray fleet worker's desktop sessions get their screens: device actors on its node."""

    node: str  #: the worker's node id: the actor goes there, next to the session's sandbox
    display_slot: bool = True  #: each actor takes one of the node's `display` slots (False: it declares none)

    def open(self, config: Any) -> Any:
        """A device actor on this node with its desktop up (RemoteDevices)."""
        from orchestrator.ray.device_actor import open_device_actor

        return open_device_actor(config, node=self.node, display_slot=self.display_slot)


def _preload() -> None:
    """Import litellm and the Interpreter once, before many session threads race to import them."""
    # Why: in a fresh process (a Ray worker) threads importing litellm's circular module graph at the
    # same time were seen to hang for minutes; one lock makes the first import happen once, in one thread
    with _IMPORTS:
        import orchestrator.models.local  # noqa: F401
        import orchestrator.session.interpreter  # noqa: F401
        from orchestrator.models.litellm_client import load_litellm

        load_litellm()


def _computer(executor: Any, screen: Any, stack: ExitStack) -> Any:
    from orchestrator.computer import Computer

    computer = Computer(sandbox=executor, devices=screen)  # computer.* in the session's code acts on its desktop
    stack.callback(computer.close)
    return computer


def _interpreter(spec: SessionSpec, conversation: str, plan: SandboxPlan, computer: Any,
                 stack: ExitStack) -> tuple[Any, MeteredModel]:
    from orchestrator.models.local import client_for
    from orchestrator.session.interpreter import Interpreter

    budget = spec.budget
    settings = dataclasses.replace(
        spec.settings, **{**plan.settings, "auto_run": True, "ray": False, "ray_address": None,
                          "max_steps": budget.steps, "max_tokens": budget.tokens, "max_cost": budget.cost})
    client, local = client_for(settings)
    if local is not None:
        stack.callback(local.close)
    model = MeteredModel(client)
    # the model is told what is left of its steps and wall time (Harbor never tells it)
    deadline = time.monotonic() + budget.wall_time if budget.wall_time else None
    interpreter = Interpreter(settings, computer=computer, model=model,
                              conversation=conversation, deadline=deadline)
    stack.callback(interpreter.store.close)
    return interpreter, model


def _chat(interpreter: Any, spec: SessionSpec) -> str:
    """Run the conversation under the wall-time budget; its last status ("timeout" if stopped by it)."""
    expired = threading.Event()

    def stop() -> None:
        expired.set()
        interpreter.stop()

    timer = threading.Timer(spec.budget.wall_time, stop) if spec.budget.wall_time else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        interpreter.chat(spec.prompt)
    finally:
        if timer is not None:
            timer.cancel()
    statuses = [m.content for m in interpreter.messages if m.role == "server" and m.type == "status"]
    status = str(statuses[-1]) if statuses else "complete"
    return "timeout" if expired.is_set() and status == "stopped" else status


#: error kinds that mean the sandbox itself failed under the session ("crashed" is a language process
#: that died under the model's own code: the model's failure, not ours)
_BROKEN = ("sandbox",)


def _sandbox_errors(messages: list[Message]) -> list[str]:
    """The sandbox failures the Interpreter reported to the model (it carries on; we must not)."""
    return [str(m.content) for m in messages if m.role == "computer" and m.type == "error"
            and m.format in _BROKEN]
