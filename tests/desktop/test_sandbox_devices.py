"""computer.* called by code inside a sandbox drives the real screen; the Tk app's state proves it."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator

import pytest
from desktop_app import AppState

from devices.facade import Devices
from executors.backends import backend_names
from executors.base import Executor
from executors.local import LocalExecutor
from orchestrator.computer import Computer


def _executor(backend: str) -> Executor:
    if backend == "local":
        return LocalExecutor()
    try:
        module = importlib.import_module(f"tests.support.{backend}_backend")
    except ModuleNotFoundError as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"{backend} backend support not present: {exc}")
    return module.make_executor()  # type: ignore[no-any-return]


@pytest.fixture(params=list(backend_names()))
def computer(request: pytest.FixtureRequest, devices: Devices) -> Iterator[Computer]:
    """A Computer whose sandboxed code reaches the session desktop's devices."""
    with Computer(_executor(request.param), devices=devices) as c:
        yield c


def test_code_clicks_a_button_by_text_and_types(computer: Computer, app: AppState) -> None:
    out = computer.run("python", "where = computer.mouse.click('Submit')\nprint(sorted(where))")  # OI's form
    assert [m.content for m in out if m.type == "console"] == ["['x', 'y']\n"]
    state = app.wait(lambda s: s["clicks"].get("Submit@20") == 1)
    assert state["label"] == "Clicked Submit"
    x, y = app.center("entry")
    computer.run("python", f"computer.mouse.click({x}, {y})\ncomputer.keyboard.write('from the sandbox')\n"
                           "computer.keyboard.press('enter')")
    assert app.wait(lambda s: s["label"] == "from the sandbox")["entry"] == "from the sandbox"


def test_code_views_the_screen_and_the_model_gets_the_image(computer: Computer, app: AppState) -> None:
    out = computer.run("python", "computer.display.view(format='png')\nw, h = computer.display.size()\nprint(w, h)")
    images = [m for m in out if m.type == "image"]
    assert len(images) == 1 and images[0].content.startswith(b"\x89PNG")
    assert [m.content for m in out if m.type == "console"] == ["1280 800\n"]


def test_a_device_error_reaches_the_code_as_an_exception(computer: Computer, app: AppState) -> None:
    code = "try:\n    computer.mouse.click(text='Sbumit')\nexcept Exception as e:\n    print(type(e).__name__, e)"
    out = "".join(m.content for m in computer.run("python", code) if m.type == "console")
    assert out.startswith("ComputerError no text 'Sbumit' on the screen")
    assert app.read()["clicks"] == {}


def test_code_manages_windows_and_cannot_launch_programs_on_the_host(computer: Computer, app: AppState) -> None:
    code = ("w = computer.windows.find('lmc test app')[0]\n"
            "print(computer.windows.move(w['id'], 30, 20)['x'])\n"
            "computer.windows.move(w['id'], 0, 0)\n"
            "try:\n    computer.windows.launch('xterm')\nexcept Exception as e:\n    print(type(e).__name__, e)")
    out = "".join(m.content for m in computer.run("python", code) if m.type == "console")
    assert out.startswith("30\nComputerError unknown computer call 'windows.launch'"), out
    app.wait(lambda s: s["boxes"]["Submit@20"][:2] == [20, 20])  # moved and moved back, as the app saw it
