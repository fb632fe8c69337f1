"""OS mode with a text-only model: it is shown the screen's words and positions (OCR), never a screenshot,
its prompt says so, and the CLI says so when it starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from orchestrator.models.scripted_server import ScriptedServer, text, tool_call
from orchestrator.session.os_mode import screen_text

ROOT = Path(__file__).resolve().parents[2]
APP = Path(__file__).with_name("tk_app.py")


def test_text_only_model_reads_the_screen_as_text(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    launch = (  # the Tk app on the session's desktop; the code returns once OCR reads its button
        "import subprocess, time\n"
        f"subprocess.Popen([{sys.executable!r}, {str(APP)!r}, {str(state)!r}])\n"
        "deadline = time.time() + 60\n"
        "while not computer.display.find_text('Submit') and time.time() < deadline:\n    time.sleep(0.2)\n"
        "print('app is up')"
    )
    script = [tool_call("python", launch), text("Done.")]
    env = dict(os.environ, LMC_DATA_DIR=str(tmp_path / "data"), LMC_VISION="false",
               LITELLM_LOCAL_MODEL_COST_MAP="True")
    env.pop("DISPLAY", None)
    with ScriptedServer(script) as server:
        result = subprocess.run(
            [sys.executable, "-m", "orchestrator", "chat", "--os", "--desktop", "virtual", "-y", "--format", "json",
             "--model", "openai/scripted", "--api-base", server.url, "--api-key", "k", "look at the app"],
            capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
        requests = list(server.requests)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "cannot see images" in result.stderr and "OCR" in result.stderr
    assert len(requests) == 2
    everything = json.dumps([r["messages"] for r in requests])
    assert "image_url" not in everything  # a text-only model is never sent a screenshot
    system = requests[0]["messages"][0]["content"]
    assert "you cannot see images" in system and "display.view() shows you" not in system
    seen = json.dumps(requests[1]["messages"][-1])
    assert "Screen text (OCR)" in seen and "Submit@" in seen, seen[-1500:]


def test_screen_text_groups_words_into_rows_with_click_points() -> None:
    boxes = [{"text": "Cancel", "left": 100, "top": 52, "width": 40, "height": 12},
             {"text": "File", "left": 0, "top": 0, "width": 20, "height": 10},
             {"text": "OK", "left": 10, "top": 50, "width": 20, "height": 12}]
    assert screen_text(boxes).splitlines()[1:] == ["File@10,5", "OK@20,56 Cancel@120,58"]
    assert "no text" in screen_text([])
