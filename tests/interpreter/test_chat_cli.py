"""The chat CLI as a real subprocess: one task, machine formats, the interactive loop, listings."""

from __future__ import annotations

import base64
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from lmc import codec, framing
from orchestrator.models.scripted_server import ScriptedServer, text, tool_call

ROOT = Path(__file__).resolve().parents[2]


def _lmc(
    args: list[str], tmp_path: Path, stdin: str = "", timeout: float = 120, binary: bool = False,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LMC_DATA_DIR": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "TERM": "dumb",
        "COLUMNS": "100",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "tests.support.chat_main", *args],
        input=stdin.encode() if binary else stdin,
        capture_output=True,
        text=not binary,
        env=env,
        cwd=ROOT,
        timeout=timeout,
    )


def _model(srv: ScriptedServer) -> list[str]:
    return ["--model", "openai/scripted", "--api-base", srv.url, "--api-key", "k", "--mode", "tools"]


def test_chat_task_streams_json_chunks(tmp_path: Path) -> None:
    with ScriptedServer([tool_call("python", "print(40 + 2)"), text("It is 42.")]) as srv:
        done = _lmc(["chat", "add", *_model(srv), "-y", "--format", "json"], tmp_path)
    assert done.returncode == 0, done.stderr
    chunks = [codec.chunk_from_dict(json.loads(line)) for line in done.stdout.splitlines()]
    output = "".join(c.content for c in chunks if c.type == "console" and c.format == "output")
    assert "42" in output and chunks[-1].content == "complete"


def test_msgpack_format_and_confirmation_read_from_stdin(tmp_path: Path) -> None:
    with ScriptedServer([tool_call("shell", "echo ran"), text("ok")]) as srv:
        done = _lmc(["chat", "go", *_model(srv), "--format", "msgpack"], tmp_path, stdin="n\n", binary=True)
    assert done.returncode == 0
    decoder = framing.FrameDecoder()
    chunks = [codec.decode_chunk(p) for p in decoder.feed(done.stdout)]
    kinds = [(c.type, c.format) for c in chunks]
    assert ("confirmation", "execution") in kinds and ("error", "interrupted") in kinds
    assert not any(c.type == "console" for c in chunks), "declined code must not run"


def test_interactive_session_magic_commands_and_listing(tmp_path: Path) -> None:
    with ScriptedServer([text("Hello **there**."), text("Second reply.")]) as srv:
        session = "%help\nhi\n%undo\nhello again\n%save " + str(tmp_path / "saved.json") + "\n%bogus\nexit\n"
        done = _lmc([*_model(srv), "-y"], tmp_path, stdin=session)
    assert done.returncode == 0, done.stderr
    assert "%reset" in done.stdout and "Hello there." in done.stdout and "Second reply." in done.stdout
    assert "removed 3 messages" in done.stdout and "unknown command '%bogus'" in done.stdout
    saved = json.loads((tmp_path / "saved.json").read_text())
    assert [m["content"] for m in saved if m["role"] == "user"] == ["hello again"]
    listing = _lmc(["conversations"], tmp_path)
    assert listing.returncode == 0 and "hello again" in listing.stdout


def test_bad_option_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = _lmc(["chat", "x", "--resume", "no-such-id", "--model", "openai/x"], tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "no saved conversation 'no-such-id'" in done.stderr


def test_ctrl_c_stops_the_code_not_the_session(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), LMC_DATA_DIR=str(tmp_path / "data"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), TERM="dumb")
    with ScriptedServer([tool_call("shell", "echo started; sleep 30"), text("second answer")]) as srv:
        proc = subprocess.Popen([sys.executable, "-m", "tests.support.chat_main", *_model(srv), "-y"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env, cwd=ROOT)
        assert proc.stdin is not None and proc.stdout is not None
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
        proc.stdin.write("go\n")
        proc.stdin.flush()
        seen = ""
        deadline = time.monotonic() + 90
        while "started" not in seen and time.monotonic() < deadline:
            seen += lines.get(timeout=90)
        interrupted = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.stdin.write("next\nexit\n")
        proc.stdin.flush()
        proc.wait(timeout=60)
        while not lines.empty():
            seen += lines.get()
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    assert time.monotonic() - interrupted < 25, "the sleep was not stopped"
    assert "(stopped)" in seen and "second answer" in seen


def test_run_and_chat_emit_the_same_json_for_an_image(tmp_path: Path) -> None:
    code = "from PIL import Image\nImage.new('RGB', (4, 2), 'red')"
    run = subprocess.run([sys.executable, "-m", "orchestrator", "run", "--format", "json", "python", code],
                         capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert run.returncode == 0, run.stderr
    with ScriptedServer([tool_call("python", code), text("A red image.")]) as srv:
        chat = _lmc(["chat", "draw", *_model(srv), "-y", "--format", "json"], tmp_path)
    assert chat.returncode == 0, chat.stderr

    def images(stdout: str) -> list[dict[str, object]]:
        return [d for d in map(json.loads, stdout.splitlines()) if d["type"] == "image"]

    from_run, from_chat = images(run.stdout), images(chat.stdout)
    assert len(from_run) == len(from_chat) == 1
    shape = {"type", "format", "content", "encoding"}
    assert shape <= set(from_run[0]) and shape <= set(from_chat[0])
    assert from_run[0]["encoding"] == from_chat[0]["encoding"] == "base64"
    assert (from_run[0]["format"], from_run[0]["content"]) == (from_chat[0]["format"], from_chat[0]["content"])
    fields = {k: v for k, v in from_chat[0].items() if k != "encoding"}
    png = codec.chunk_from_dict({**fields, "content": base64.b64decode(str(fields["content"]))})
    assert isinstance(png.content, bytes) and png.content.startswith(b"\x89PNG")


def test_os_mode_on_ray_with_the_host_screen_and_no_display_says_how_to_get_one(tmp_path: Path) -> None:
    """--os --ray --desktop host drives this machine's screen from a device actor on this node: without a
    DISPLAY it fails at once, before Ray starts or the model is asked."""
    with ScriptedServer([text("unreached")]) as srv:
        done = _lmc(["chat", "click it", *_model(srv), "--os", "--ray", "--desktop", "host", "-y"], tmp_path,
                    env={"DISPLAY": ""})
    assert done.returncode == 2, done.stderr
    assert "lmc: no X display: DISPLAY is not set" in done.stderr and "Traceback" not in done.stderr
    assert srv.served == 0


def test_the_rich_view_prints_brackets_as_they_are(tmp_path: Path) -> None:
    """Program output and error text are never rich markup: "[exit status 3]", an error naming
    "pip install 'lmc[ray]'" and a status in brackets reach the terminal whole."""
    code = "echo '[red]not markup[/red]'; exit 3"
    with ScriptedServer([tool_call("shell", code), text("It printed [bold] and exited.")]) as srv:
        done = _lmc(["chat", "run it", *_model(srv), "-y"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "[red]not markup[/red]" in done.stdout and "[exit status 3]" in done.stdout, done.stdout
    hide = tmp_path / "hide" / "sitecustomize.py"  # `import ray` fails, as for a user without the ray extra
    hide.parent.mkdir()
    hide.write_text("import sys\nsys.modules['ray'] = None\n", encoding="utf-8")
    with ScriptedServer([text("unreached")]) as srv:
        done = _lmc(["chat", "hi", *_model(srv), "--ray", "-y"], tmp_path,
                    env={"PYTHONPATH": f"{hide.parent}{os.pathsep}{ROOT}", "RAY_ADDRESS": ""})
    said = " ".join((done.stdout + done.stderr).split())  # the rich view wraps long lines
    assert "Ray is not installed here" in said and "pip install 'lmc[ray]'" in said, said
    assert "Traceback" not in done.stderr
