"""OS mode with a text-only model: it is shown the screen's words and positions (OCR) and the window list,
never a screenshot, clicks by text, its prompt says so, and the CLI says so when it starts; --record records
the session's screen."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from desktop_app import AppState

from orchestrator.models.scripted_server import ScriptedServer, text, tool_call
from orchestrator.session.os_mode import os_prompt, screen_text

ROOT = Path(__file__).resolve().parents[2]
APP = Path(__file__).with_name("tk_app.py")


def _probe(path: Path) -> dict[str, Any]:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-of", "json",
                          "-show_entries", "stream=codec_type,nb_read_frames:format=duration", str(path)],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    return dict(json.loads(out))


def test_text_only_model_reads_the_screen_as_text_and_clicks_by_it(tmp_path: Path) -> None:
    app = AppState(tmp_path / "state.json")
    launch = (  # the Tk app on the session's desktop; the code returns once OCR reads its button
        "import subprocess, time\n"
        f"subprocess.Popen([{sys.executable!r}, {str(APP)!r}, {str(app.path)!r}])\n"
        "deadline = time.time() + 60\n"
        "while not computer.display.find_text('Submit') and time.time() < deadline:\n    time.sleep(0.2)\n"
        "print('app is up')"
    )
    click = (  # what a text-only model does with what it read: click the button by its text
        "computer.mouse.click('Submit')\n"
        "import time\ndeadline = time.time() + 30\n"
        "while not computer.display.find_text('Clicked Submit') and time.time() < deadline:\n    time.sleep(0.2)\n"
        "print('clicked')"
    )
    script = [tool_call("python", launch), tool_call("python", click), text("Done.")]
    # no LMC_VISION: litellm does not know openai/scripted, so it declares no vision (supports_vision false)
    env = dict(os.environ, LMC_DATA_DIR=str(tmp_path / "data"), LITELLM_LOCAL_MODEL_COST_MAP="True")
    for name in ("DISPLAY", "LMC_VISION"):
        env.pop(name, None)
    video = tmp_path / "os-session.mp4"
    record = ["--record", str(video)] if shutil.which("ffmpeg") else []
    with ScriptedServer(script) as server:
        result = subprocess.run(
            [sys.executable, "-m", "orchestrator", "chat", "--os", "--desktop", "virtual", "-y", "--format", "json",
             "--coordinates", "normalized", "--model", "openai/scripted", "--api-base", server.url,
             "--api-key", "k", *record, "press Submit"],
            capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
        requests = list(server.requests)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "openai/scripted cannot see images" in result.stderr and "OCR" in result.stderr, result.stderr[-2000:]
    assert "its coordinates are normalized" in result.stderr
    assert len(requests) == 3
    everything = json.dumps([r["messages"] for r in requests])
    assert "image_url" not in everything and "base64" not in everything  # never a screenshot
    system = requests[0]["messages"][0]["content"]
    assert "you cannot see images" in system and "display.view() shows you" not in system
    assert "run from 0 to 999 on each axis" in system
    seen = json.dumps(requests[1]["messages"][-1])
    # the app's own words with their click points, and its window by title
    for word in ("Screen text (OCR)", "Submit@", "Ready@", "Windows:", "lmc test app"):
        assert word in seen, (word, seen[-1500:])
    assert "Focused window's elements" not in seen  # Tk publishes no accessibility tree: nothing made up
    # the click points are in the model's units: 0-999 across a 1280x800 screen
    points = [tuple(map(int, p)) for p in re.findall(r"@(\d+),(\d+)", seen)]
    assert points and all(x < 1000 and y < 1000 for x, y in points), seen[-1500:]
    assert "Clicked" in json.dumps(requests[2]["messages"][-1])  # the click's effect, read back as text
    assert app.read()["clicks"].get("Submit@20") == 1
    if record:
        assert f"recording the screen into {video}" in result.stderr
        probed = _probe(video)
        assert probed["streams"][0]["codec_type"] == "video" and int(probed["streams"][0]["nb_read_frames"]) > 1
        assert float(probed["format"]["duration"]) > 0


def test_record_without_os_mode_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "orchestrator", "chat", "--record", str(tmp_path / "x.mp4"),
                             "--model", "openai/x", "hi"], capture_output=True, text=True, cwd=ROOT, timeout=120,
                            env=dict(os.environ, LMC_DATA_DIR=str(tmp_path / "data")))
    assert result.returncode == 2 and "--record is for OS mode on this machine; add --os" in result.stderr, (
        result.stderr)
    assert "Traceback" not in result.stderr


def test_screen_text_groups_words_into_rows_with_click_points() -> None:
    boxes = [{"text": "Cancel", "left": 100, "top": 52, "width": 40, "height": 12},
             {"text": "File", "left": 0, "top": 0, "width": 20, "height": 10},
             {"text": "OK", "left": 10, "top": 50, "width": 20, "height": 12}]
    assert screen_text(boxes).splitlines()[1:] == ["File@10,5", "OK@20,56 Cancel@120,58"]
    assert "no text" in screen_text([])
    listed = screen_text(boxes[:1], [{"title": "Notes", "app": "gedit", "x": 0, "y": 20, "width": 640,
                                      "height": 480, "active": True}])
    assert listed.splitlines()[-2:] == ["Windows:", "'Notes' (gedit) at 0,20 640x480, active"]


def test_both_prompts_offer_marks_and_only_the_vision_one_promises_an_image() -> None:
    vision, blind = os_prompt(True), os_prompt(False)
    assert "computer.display.marks() shows the screen with numbered boxes" in vision and "click(mark=3)" in vision
    assert "computer.display.marks() lists numbered boxes on the screen" in blind and "click(mark=3)" in blind
    assert "shows the screen" not in blind


def test_element_text_indents_named_elements_and_skips_unnamed_containers() -> None:
    from orchestrator.session import os_mode

    button = {"role": "push button", "name": "OK", "x": 40, "y": 20, "states": ["showing", "focused"]}
    tree = {"role": "frame", "name": "Dialog", "x": 100, "y": 80, "states": [], "children": [
        {"role": "filler", "name": "", "states": [], "children": [button, {"role": "label", "name": "", "states": []}]},
    ]}
    assert os_mode.element_text(tree).splitlines() == [
        "Focused window's elements (accessibility):", "frame 'Dialog'@100,80", "  push button 'OK'@40,20 [focused]"]
    many = {"role": "list", "name": "Files", "states": [],
            "children": [{"role": "list item", "name": f"f{i}", "states": []} for i in range(500)]}
    lines = os_mode.element_text(many).splitlines()
    assert len(lines) == os_mode.ELEMENTS + 1 and "(the first ones)" in lines[0]
    assert os_mode.element_text({"role": "filler", "name": "", "states": []}) == ""
