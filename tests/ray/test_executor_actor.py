"""The executor actor on real Ray: sandboxes owned by one actor per node, streamed runs,
stop from another thread, computer.* relayed back to the client, concurrent sandboxes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from executors.errors import UnknownLanguage
from lmc.errors import LMCError
from lmc.messages import Message
from orchestrator.computer import Computer
from orchestrator.ray.executor_actor import RayExecutor, executor_actor
from tests.contract.helpers import errors, text


@pytest.fixture
def computer(ray_session: Any) -> Iterator[Computer]:
    with Computer(RayExecutor("local")) as c:
        yield c


def test_runs_stream_through_the_actor_with_state(computer: Computer) -> None:
    computer.run("python", "x = 20")
    assert text(computer.run("python", "x * 2 + 2")) == "42\n"
    assert text(computer.run("bash", "echo $((6 * 7))")) == "42\n"
    with pytest.raises(UnknownLanguage, match="known: javascript, python, shell"):
        computer.run("pyhton", "1")


def test_one_actor_per_node_owns_every_sandbox(ray_session: Any) -> None:
    first, second = RayExecutor("local"), RayExecutor("local")
    try:
        assert first.actor._actor_id == second.actor._actor_id == executor_actor()._actor_id
        assert first.sid != second.sid
    finally:
        first.close()
        second.close()


def test_stop_from_another_thread_interrupts(computer: Computer) -> None:
    threading.Timer(0.5, computer.stop).start()
    started = time.monotonic()
    out = computer.run("python", "import time\nprint('go', flush=True)\ntime.sleep(30)")
    assert time.monotonic() - started < 10
    assert "go" in text(out) and [k for k, _ in errors(out)] == ["interrupted"]


def test_sandboxes_run_side_by_side(ray_session: Any) -> None:
    computers = [Computer(RayExecutor("local")) for _ in range(3)]
    results: list[float] = []

    def work(c: Computer) -> None:
        start = time.monotonic()
        c.run("python", "import time\ntime.sleep(1.0)")
        results.append(time.monotonic() - start)

    try:
        for c in computers:
            c.run("python", "1")
        started = time.monotonic()
        threads = [threading.Thread(target=work, args=(c,)) for c in computers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert time.monotonic() - started < 2.8, "the actor served the sleeping runs one after another"
    finally:
        for c in computers:
            c.close()


class Screen:
    """A call handler on the client's side (where the session's devices live)."""

    def call(self, path: str, args: list[Any], kwargs: dict[str, Any]) -> object:
        if path == "display.view":
            return Message("computer", "image", b"\x89PNG-fake", "png")
        if path == "clipboard.view":
            return f"clip:{args}"
        raise LMCError(f"nothing at {path}")


def test_computer_calls_travel_back_to_the_client(ray_session: Any) -> None:
    with Computer(RayExecutor("local"), devices=Screen()) as c:
        out = c.run("python", "print(computer.clipboard.view(1))\ncomputer.display.view()\n"
                              "try:\n    computer.mouse.click('x')\nexcept Exception as e:\n    print(e)")
        assert [m.type for m in out] == ["console", "image", "console"]
        assert text(out) == "clip:[1]\nnothing at mouse.click\n"
