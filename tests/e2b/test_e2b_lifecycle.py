"""Sandbox lifecycle: creation settings, kill on close, timeout kept alive while in use, reconnect, loss."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from executors.e2b.emulator import E2BServer
from lmc.assembly import assemble
from lmc.messages import Message
from tests.e2b.conftest import MakeExecutor


def _text(messages: list[Message]) -> str:
    return "".join(m.content for m in messages if m.type == "console" and m.format == "output")


def _errors(messages: list[Message]) -> list[tuple[str | None, str]]:
    return [(m.format, m.content) for m in messages if m.type == "error"]


def test_sandbox_is_created_with_the_configured_settings(make: MakeExecutor, server: E2BServer) -> None:
    executor = make(template="base", timeout=120, metadata={"session": "s1"}, envs={"GREETING": "hi"},
                    internet=False)
    assert executor.sandbox_id is None  # nothing is created before first use
    assert _text(assemble(executor.run("shell", "echo $GREETING"))) == "hi\n"
    sandbox = server.cloud.get(executor.sandbox_id or "")
    assert sandbox is not None
    assert (sandbox.template, sandbox.timeout, sandbox.metadata, sandbox.internet) == (
        "base", 120, {"session": "s1"}, False)


def test_close_kills_the_sandbox(make: MakeExecutor, server: E2BServer) -> None:
    executor = make()
    executor.run("python", "x = 1")
    list(executor.run("python", "x = 1"))
    sandbox_id = executor.sandbox_id
    assert sandbox_id in server.live()
    executor.close()
    assert sandbox_id not in server.live() and executor.sandbox_id is None
    assert _text(assemble(executor.run("python", "print('again')"))) == "again\n"  # a new sandbox
    assert executor.sandbox_id not in (None, sandbox_id)


def test_timeout_is_extended_while_in_use_and_idle_sandboxes_expire(make: MakeExecutor, server: E2BServer) -> None:
    executor = make(timeout=2)
    messages = assemble(executor.run("python", "import time\ntime.sleep(4.5)\nprint('survived')"))
    assert _text(messages) == "survived\n"  # ran more than twice the sandbox timeout
    assert executor._keepalive is not None and executor._keepalive.extensions >= 2
    sandbox_id = executor.sandbox_id
    deadline = time.monotonic() + 10
    while sandbox_id in server.live() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sandbox_id not in server.live()  # unused, it expired on its own


def test_reconnect_to_a_live_sandbox_by_id(make: MakeExecutor, server: E2BServer) -> None:
    first = make()
    list(first.run("shell", "echo kept > note.txt"))
    sandbox_id = first.detach()
    assert sandbox_id in server.live()
    second = make(sandbox_id=sandbox_id)
    assert _text(assemble(second.run("shell", "cat note.txt"))) == "kept\n"
    assert second.sandbox_id == sandbox_id
    second.close()
    assert sandbox_id not in server.live()


def test_reconnect_to_a_missing_sandbox_says_so(make: MakeExecutor) -> None:
    executor = make(sandbox_id="inosuchsandbox")
    ((kind, text),) = _errors(assemble(executor.run("python", "print(1)")))
    assert kind == "sandbox" and "inosuchsandbox" in text and "not found" in text


def test_sandbox_lost_mid_run_is_an_infrastructure_error_and_the_next_run_gets_a_new_one(
    make: MakeExecutor, server: E2BServer
) -> None:
    executor = make()
    list(executor.run("python", "state = 1"))
    lost = executor.sandbox_id
    assert lost is not None
    threading.Timer(0.5, server.lose, args=(lost,)).start()
    started = time.monotonic()
    messages = assemble(executor.run("python", "import time\nprint('working', flush=True)\ntime.sleep(30)"))
    assert time.monotonic() - started < 10
    assert "working" in _text(messages)
    ((kind, text),) = _errors(messages)
    assert kind == "sandbox" and "gone" in text and "state was lost" in text
    assert "NameError" in _text(assemble(executor.run("python", "state")))
    assert executor.sandbox_id not in (None, lost)


def test_sandbox_lost_between_runs_is_reported_once(make: MakeExecutor, server: E2BServer) -> None:
    executor = make()
    list(executor.run("python", "print(1)"))
    server.lose(executor.sandbox_id or "")
    ((kind, _),) = _errors(assemble(executor.run("python", "print(2)")))
    assert kind == "sandbox"
    assert _text(assemble(executor.run("python", "print(3)"))) == "3\n"


def test_stop_after_the_sandbox_vanished_does_not_raise(make: MakeExecutor, server: E2BServer) -> None:
    executor = make()
    stream = executor.run("python", "import time\nprint('go', flush=True)\ntime.sleep(30)")
    next(stream)
    server.lose(executor.sandbox_id or "")
    executor.stop()
    kinds = [c.format for c in stream if c.type == "error"]
    assert kinds == ["sandbox"]


def _lost_message(sandbox_id: str | None) -> str:
    return f"E2B sandbox {sandbox_id} lost: all state was lost and the next run gets a new sandbox ("


def test_sandbox_lost_while_no_agent_runs_is_reported_then_replaced(make: MakeExecutor, server: E2BServer) -> None:
    executor = make()
    crashed = assemble(executor.run("python", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"))
    assert [m.format for m in crashed if m.type == "error"] == ["crashed"]  # the code killed its agent
    lost = executor.sandbox_id
    server.lose(lost or "")
    ((kind, text),) = _errors(assemble(executor.run("python", "print(1)")))
    assert kind == "sandbox" and text.startswith(_lost_message(lost)) and "not found" in text
    assert _text(assemble(executor.run("python", "print(2)"))) == "2\n"
    assert executor.sandbox_id not in (None, lost)


#: the SDK call during which the sandbox vanishes, and whether it vanishes before or after it
_PHASES = {"upload": ("files", "write_files", "before"), "start": ("commands", "run", "before"),
           "greeting": ("commands", "run", "after")}


@pytest.mark.parametrize("phase", list(_PHASES))
def test_sandbox_lost_while_the_agent_starts_is_one_error_whatever_the_phase(
    make: MakeExecutor, server: E2BServer, phase: str
) -> None:
    """Lost during the agent's upload, its start or before its greeting: the same report, a new sandbox next."""
    executor = make()
    assert _text(assemble(executor.run("python", "print(0)"))) == "0\n"
    lost = executor.sandbox_id
    assemble(executor.run("python", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"))
    area, name, when = _PHASES[phase]
    target = getattr(executor.sandbox(), area)  # the SDK's object: the loss happens exactly in this call
    real = getattr(target, name)

    def losing(*args: Any, **kwargs: Any) -> Any:
        if when == "before":
            server.lose(lost or "")
        result = real(*args, **kwargs)
        if when == "after":
            server.lose(lost or "")
        return result

    setattr(target, name, losing)
    ((kind, text),) = _errors(assemble(executor.run("python", "print(1)")))
    assert kind == "sandbox" and text.startswith(_lost_message(lost)), text
    assert executor.sandbox_id is None
    assert _text(assemble(executor.run("python", "print(2)"))) == "2\n"
    assert executor.sandbox_id not in (None, lost)


def test_computer_selects_e2b_by_name(server: E2BServer) -> None:
    from orchestrator.computer import Computer
    from tests.support.e2b_backend import config

    with Computer(sandbox="e2b", config=config(server)) as computer:
        assert computer.executor.backend == "e2b"
        assert _text(computer.run("py", "print('named')")) == "named\n"
    assert server.live() == []
