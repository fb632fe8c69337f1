"""computer.* from sandboxed code: calls travel up the agent's channel to the session's devices.

The devices here are a recording handler injected through the documented
`devices=` parameter; tests/desktop drives the same path with real devices on Xvfb.
"""

from __future__ import annotations

import threading
from typing import Any

from lmc.errors import LMCError
from lmc.messages import Message
from orchestrator.computer import Computer
from tests.contract.helpers import text


def _png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 4), "blue").save(buf, format="PNG")
    return buf.getvalue()


PNG = _png()


class Recorder:
    """Devices stand-in: records calls, answers like the real facade (images as Messages)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[tuple[str, list[Any], dict[str, Any]]] = []
        self.delay = delay
        self.arrived = threading.Event()  #: set when a call reaches the devices
        self.release = threading.Event()  #: set to end a delay early

    def call(self, path: str, args: list[Any], kwargs: dict[str, Any]) -> object:
        self.calls.append((path, args, kwargs))
        self.arrived.set()
        self.release.wait(self.delay)
        if path in ("display.view", "display.screenshot"):
            return Message("computer", "image", PNG, "png")
        if path == "display.size":
            return [1280, 800]
        if path == "mouse.click":
            raise LMCError("no text 'OK' on screen; visible words: Cancel, Apply")
        return None


def test_calls_reach_the_devices_with_their_arguments() -> None:
    devices = Recorder()
    with Computer(devices=devices) as computer:
        code = "w, h = computer.display.size()\nprint(w * h)\ncomputer.keyboard.write('héllo', interval=0)"
        out = computer.run("python", code)
    assert text(out) == f"{1280 * 800}\n"
    assert devices.calls == [("display.size", [], {}), ("keyboard.write", ["héllo"], {"interval": 0})]


def test_view_shows_the_image_in_the_stream_and_screenshot_returns_it() -> None:
    with Computer(devices=Recorder()) as computer:
        out = computer.run("python", "print('before')\ncomputer.display.view()\nprint('after')")
        assert [m.type for m in out] == ["console", "image", "console"]
        assert out[1].content == PNG and text(out) == "before\nafter\n"
        shot = computer.run("python", "shot = computer.display.screenshot()\nprint(type(shot).__name__, shot.size)")
        assert [m.type for m in shot] == ["console"]  # returned to the code, not shown
        assert text(shot) == "PngImageFile (8, 4)\n"


def test_device_errors_become_exceptions_in_the_code() -> None:
    with Computer(devices=Recorder()) as computer:
        code = "try:\n    computer.mouse.click('OK')\nexcept Exception as e:\n    print(type(e).__name__, e)"
        out = text(computer.run("python", code))
    assert out == "ComputerError no text 'OK' on screen; visible words: Cancel, Apply\n"


def test_without_devices_the_error_says_how_to_get_a_screen() -> None:
    with Computer() as computer:
        out = text(computer.run("python", "computer.display.view()"))
    assert "ComputerError" in out and "lmc --os" in out and "python_kernel" not in out


def test_stop_during_a_slow_call_returns_and_the_next_call_works() -> None:
    devices = Recorder(delay=600.0)

    def stop_once_the_call_is_in_progress() -> None:
        # deterministic on a loaded machine: stop lands while the call is in the devices, whatever
        # the start-up took; the call then ends (an in-flight device call is not abandoned)
        assert devices.arrived.wait(120), "the call never reached the devices"
        computer.stop()
        devices.release.set()

    with Computer(devices=devices) as computer:
        stopper = threading.Thread(target=stop_once_the_call_is_in_progress, daemon=True)
        stopper.start()
        out = computer.run("python", "computer.display.size()")
        stopper.join()
        assert "KeyboardInterrupt" in text(out) or "interrupted" in str(out)
        devices.delay = 0
        assert text(computer.run("python", "computer.display.size()")) == "[1280, 800]\n"
