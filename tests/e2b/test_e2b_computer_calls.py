"""computer.* from code inside an E2B sandbox: calls relay up the agent's base64 channel to the host."""

from __future__ import annotations

from typing import Any

from lmc.errors import LMCError
from orchestrator.computer import Computer
from tests.e2b.conftest import MakeExecutor


class Screen:
    """Devices stand-in injected through Computer(devices=...): records calls, answers like the facade."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[Any], dict[str, Any]]] = []

    def call(self, path: str, args: list[Any], kwargs: dict[str, Any]) -> object:
        self.calls.append((path, args, kwargs))
        if path == "mouse.click":
            raise LMCError("no text 'OK' on screen; visible words: Cancel")
        return [1280, 800] if path == "display.size" else None


def test_computer_calls_from_the_e2b_sandbox_reach_the_host(make: MakeExecutor) -> None:
    screen = Screen()
    with Computer(make(), devices=screen) as computer:
        code = ("w, h = computer.display.size()\nprint(w, h)\ncomputer.keyboard.write('hi')\n"
                "try:\n    computer.mouse.click(text='OK')\nexcept Exception as e:\n    print(type(e).__name__, e)")
        messages = computer.run("python", code)
    out = "".join(m.content for m in messages if m.type == "console" and m.format == "output")
    assert out.splitlines() == ["1280 800", "ComputerError no text 'OK' on screen; visible words: Cancel"]
    assert [path for path, _, _ in screen.calls] == ["display.size", "keyboard.write", "mouse.click"]
    assert screen.calls[1][1] == ["hi"]
