"""The console's desktop view in a real browser (Chromium + Playwright) on a real `lmc serve` with Xvfb and
x11vnc: noVNC shows the desktop change, a view-only click does nothing, a click after "Take over" reaches the app."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.desktop.desktop_app import AppState
from tests.server.helpers import Served
from tests.server.test_console_browser import CHROMIUM, WAIT, browser, log_in, page, shot  # noqa: F401 (fixtures)
from tests.server.test_desktop import desktop_server  # noqa: F401 (fixture)

APP = Path(__file__).resolve().parents[1] / "desktop" / "tk_app.py"
pytestmark = [pytest.mark.desktop, pytest.mark.skipif(
    CHROMIUM is None or shutil.which("x11vnc") is None or not Path("/usr/share/novnc/core/rfb.js").is_file(),
    reason="needs chromium, x11vnc and novnc (scripts/test installs them)")]

#: dark pixels of the app's white label (screen box x 20..360, y 140..170) on the noVNC canvas; -1 while no
#: white label is there (the empty desktop is black)
LABEL_INK = """() => { const c = document.querySelector('#desktop-screen canvas');
  if (!c || c.width < 400) return -1;
  const d = c.getContext('2d').getImageData(20, 140, 340, 30).data; let dark = 0, light = 0;
  for (let i = 0; i < d.length; i += 4) {
    const v = d[i] + d[i + 1] + d[i + 2]; if (v < 300) dark++; else if (v > 700) light++; }
  return light > d.length / 8 ? dark : -1; }"""


@pytest.fixture(scope="module")
def console(desktop_server: Served) -> Served:  # noqa: F811
    """test_console_browser's `page` fixture opens the console of this server: the one with desktops."""
    return desktop_server


def _wait_ink(view: Any, above: float) -> int:
    """Poll the label's ink until it is above `above` (the page's CSP forbids wait_for_function's eval)."""
    deadline = time.monotonic() + WAIT / 1000
    while (ink := view.evaluate(LABEL_INK)) <= above:
        assert time.monotonic() < deadline, f"the view never showed it: ink {ink}, wanted more than {above}"
        view.wait_for_timeout(100)
    return int(ink)


def _click_on_canvas(view: Any, x: int, y: int) -> None:
    box = view.locator("#desktop-screen canvas").bounding_box()
    width = view.evaluate("document.querySelector('#desktop-screen canvas').width")
    scale = box["width"] / width
    view.mouse.click(box["x"] + x * scale, box["y"] + y * scale)


def test_the_desktop_view_changes_and_take_over_reaches_the_app(  # noqa: F811 (fixtures by name)
        page: Any, desktop_server: Served, tmp_path: Path) -> None:  # noqa: F811
    app = AppState(tmp_path / "state.json")
    log_in(page, desktop_server.tokens[0])
    page.click("#new-computer summary")
    page.select_option("#computer-form [name=backend]", "local")
    page.check("#computer-form [name=desktop]")
    page.click("#computer-form button")
    page.wait_for_selector("#desktop-screen[data-state=connected]")
    assert "view only" in page.inner_text("#desktop-note")
    assert page.evaluate(LABEL_INK) == -1  # an empty (black) desktop
    page.fill("#code", f"{sys.executable} {APP} {app.path} > /dev/null 2>&1 &")
    page.select_option("#language", "shell")
    page.click("#run")
    app.wait(lambda s: s["boxes"]["entry"][2] > 1, timeout=60)
    ready = _wait_ink(page, 0)  # the app appeared in the live view ("Ready")
    # view only: a click on Cancel is not sent
    _click_on_canvas(page, *app.center("Cancel@160"))
    page.click("#takeover")
    assert "mouse and keyboard" in page.inner_text("#desktop-note")
    _click_on_canvas(page, *app.center("Submit@20"))
    state = app.wait(lambda s: s["clicks"].get("Submit@20") == 1, timeout=60)
    # the same ordered stream carried both clicks: had the view-only one been sent, it would be here first
    assert "Cancel@160" not in state["clicks"], state
    _wait_ink(page, ready * 1.5)  # "Clicked Submit" is drawn in the view
    shot(page, "console-desktop.png")
    computer = page.locator("#computer-list a").first.get_attribute("data-id")
    httpx.delete(f"{desktop_server.url}/computers/{computer}", headers=desktop_server.headers(), timeout=120)


def test_the_view_shows_what_the_agent_does_on_its_desktop(  # noqa: F811 (fixtures by name)
        page: Any, desktop_server: Served, tmp_path: Path) -> None:  # noqa: F811
    from orchestrator.models.scripted_server import ScriptedServer, text, tool_call

    app, go = AppState(tmp_path / "state.json"), tmp_path / "go"
    # the agent starts the app on its desktop and waits until the test has seen it in the view; then it
    # clicks Submit by its text (OCR on the conversation's own desktop), which the view must show
    start = (f"import os, subprocess, sys, time\n"
             f"subprocess.Popen([sys.executable, {str(APP)!r}, {str(app.path)!r}])\n"
             f"deadline = time.time() + 120\n"
             f"while not os.path.exists({str(go)!r}) and time.time() < deadline:\n    time.sleep(0.1)\n"
             f"print('app up')")
    with ScriptedServer() as model:
        model.add(tool_call("python", start), tool_call("python", "print(computer.mouse.click('Submit'))"),
                  text("I clicked Submit."))
        log_in(page, desktop_server.tokens[0])
        page.click("#new-conversation summary")
        page.fill("#conversation-form [name=model]", "openai/scripted")
        page.fill("#conversation-form [name=api_base]", model.url)
        page.fill("#conversation-form [name=api_key]", "sk-test")
        page.select_option("#conversation-form [name=mode]", "tools")
        page.select_option("#conversation-form [name=sandbox]", "local")
        page.check("#conversation-form [name=auto_run]")
        page.check("#conversation-form [name=desktop]")
        page.click("#conversation-form button")
        page.wait_for_selector("#desktop-screen[data-state=connected]")
        assert page.evaluate(LABEL_INK) == -1  # nothing on the desktop yet
        page.fill("#message", "Click Submit in the test app")
        page.click("#send")
        ready = _wait_ink(page, 0)  # the agent's app appeared in the view ("Ready")
        assert app.read()["clicks"] == {}
        go.touch()
        app.wait(lambda s: s["clicks"].get("Submit@20") == 1, timeout=120)  # the agent's click reached the app
        _wait_ink(page, ready * 1.5)  # and the view shows "Clicked Submit"
        page.wait_for_selector(".block:has-text('I clicked Submit.')")
        conversation = page.locator("#conversation-list a").first.get_attribute("data-id")
        httpx.delete(f"{desktop_server.url}/conversations/{conversation}", headers=desktop_server.headers(),
                     timeout=120)
