"""A real conversation exported as transcript.json and an ATIF trajectory, and shown by `lmc bench show`.

The conversation is a real Interpreter session: litellm over real HTTP to the scripted server,
code run by a real local Computer, saved to a real .lmc transcript.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks.harness import results, transcripts
from benchmarks.harness.results import TrialRow
from lmc.messages import Message
from lmc.oi import from_oi, to_oi
from orchestrator.models.scripted_server import ScriptedServer, text, tool_call

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"
IMAGE_CODE = "from PIL import Image\nImage.new('RGB', (4, 4), 'red')"


@dataclass(frozen=True)
class Session:
    """What a finished session left: its id, messages, transcript file and what the model was sent."""

    id: str
    messages: list[Message]
    transcript: Path
    requests: list[dict]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    """One real conversation: python output, a failing shell command, an image, then a final answer."""
    from orchestrator.computer import Computer
    from orchestrator.session.interpreter import Interpreter
    from orchestrator.settings import resolve

    data = tmp_path_factory.mktemp("data")
    script = [tool_call("python", "print('hello from python')", content="Let me run it."),
              tool_call("shell", "echo to stderr >&2; exit 3"), tool_call("python", IMAGE_CODE),
              text("Done: I said hello.")]
    with ScriptedServer(script) as server, Computer(sandbox="local") as computer:
        settings = resolve(dict(model="openai/scripted", api_base=server.url, api_key="sk-test", mode="tools",
                                auto_run=True, data_dir=data, retry_delay=0.01),
                           env={}, config_file=data / "no-config.toml")
        interpreter = Interpreter(settings, computer=computer)
        interpreter.chat("Say hello from python.")
        yield Session(interpreter.id, list(interpreter.messages),
                      data / "conversations" / f"{interpreter.id}.lmc", server.requests)


@pytest.fixture(scope="module")
def exported(session: Session, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("trial")
    plain, atif = transcripts.export(session.transcript, folder, model="openai/scripted", prompt_tokens=400,
                                     completion_tokens=60, cost_usd=0.0, model_calls=4)
    assert (plain, atif) == (folder / "transcript.json", folder / "trajectory.json")
    return folder


def test_transcript_json_is_the_conversation_in_open_interpreter_json(session: Session, exported: Path) -> None:
    data = json.loads((exported / "transcript.json").read_text())
    assert data == to_oi(session.messages)
    assert [m["type"] for m in data if m["role"] != "computer"][:4] == ["message", "message", "code", "code"]
    image = next(m for m in data if m["type"] == "image")
    assert image["format"] == "base64.png" and base64.b64decode(image["content"]).startswith(PNG)
    back = from_oi(data)
    assert [m.content for m in back if m.type == "code"] == [
        "print('hello from python')", "echo to stderr >&2; exit 3", IMAGE_CODE]


def test_trajectory_is_atif_with_tool_calls_and_their_observations(session: Session, exported: Path) -> None:
    atif = json.loads((exported / "trajectory.json").read_text())
    assert atif["schema_version"] == "ATIF-v1.6" and atif["session_id"] == session.id
    assert atif["agent"]["name"] == "lmc" and atif["agent"]["model_name"] == "openai/scripted"
    steps = atif["steps"]
    assert [s["step_id"] for s in steps] == list(range(1, len(steps) + 1))
    assert [s["source"] for s in steps] == ["user", "agent", "agent", "agent", "agent"]
    user, hello, failing, picture, done = steps
    assert user["message"] == "Say hello from python."
    assert hello["message"] == "Let me run it." and hello["model_name"] == "openai/scripted"
    [call] = hello["tool_calls"]
    assert call["function_name"] == "execute"
    assert call["arguments"] == {"language": "python", "code": "print('hello from python')"}
    [result] = hello["observation"]["results"]
    assert result["source_call_id"] == call["tool_call_id"] and "hello from python" in result["content"]
    # the ids are the ones the model was sent
    sent = [c["id"] for m in session.requests[-1]["messages"] for c in m.get("tool_calls") or []]
    assert sent == [s["tool_calls"][0]["tool_call_id"] for s in (hello, failing, picture)]
    [result] = failing["observation"]["results"]
    assert "to stderr" in result["content"] and "[exit status 3]" in result["content"]
    [result] = picture["observation"]["results"]
    [image] = [part for part in result["content"] if part["type"] == "image"]
    assert image["source"]["media_type"] == "image/png"
    assert (exported / image["source"]["path"]).read_bytes().startswith(PNG)
    assert done["message"] == "Done: I said hello." and "tool_calls" not in done and "observation" not in done
    assert atif["final_metrics"] == {"total_steps": 5, "total_prompt_tokens": 400, "total_completion_tokens": 60,
                                     "total_cost_usd": 0.0, "extra": {"model_calls": 4}}
    assert atif["extra"] == {"status": "complete"}


def _run_folder(root: Path, session: Session, exported: Path) -> Path:
    """A run's folder as `lmc bench run` leaves it: rows, and a folder per trial with the verifier's output."""
    run = root / "run"
    passed = TrialRow("hello", "probe", "oracle", 0, 1.0, 4, 460, 0.0, 2.5, None, status="complete",
                      transcript=str(session.transcript), trial_dir="trials/hello-t0",
                      phases={"build": 0.5, "start": 0.2, "agent": 1.5, "verify": 0.3},
                      exit_codes={"verifier": 0}, image="lmc-env/hello:abc123")
    verifier = run / "trials" / "hello-t0" / "verifier"
    verifier.mkdir(parents=True)
    (verifier / "test-stdout.txt").write_text("".join(f"check {i} ok\n" for i in range(40)) + "1 passed\n")
    (verifier / "reward.txt").write_text("1\n")
    # a trial whose .lmc is gone still shows, from the transcript.json kept in its folder
    kept = run / "trials" / "hello-t1"
    kept.mkdir(parents=True)
    (kept / "transcript.json").write_text((exported / "transcript.json").read_text())
    (kept / "trial.json").write_text(json.dumps({"notes": ["storage_mb is not enforced by this daemon"]}))
    again = TrialRow("hello", "probe", "oracle", 1, None, 1, 10, 0.0, 9.0, "verifier",
                     "tests/test.sh of hello wrote no reward", trial_dir="trials/hello-t1")
    other = TrialRow("hello", "probe", "null", 0, 0.0, 1, 10, 0.0, 1.0, None)
    for row in (passed, again, other):
        results.append(run / results.FILE, row)
    return run


def _lmc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orchestrator", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_bench_show_prints_a_trial_readably(session: Session, exported: Path, tmp_path: Path) -> None:
    run = _run_folder(tmp_path, session, exported)
    shown = _lmc("bench", "show", str(run), "hello", "--model", "oracle")
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "outcome  passed (reward 1)" in out
    assert "phases   build 0.5 s, start 0.2 s, agent 1.5 s, verify 0.3 s (wall 2.5 s)" in out
    assert "exits    verifier 0" in out and "image    lmc-env/hello:abc123" in out
    assert "user:\n  Say hello from python." in out
    assert "assistant ran python:\n  | print('hello from python')\noutput:\n  | hello from python" in out
    assert "assistant ran shell:\n  | echo to stderr >&2; exit 3" in out and "[exit status 3]" in out
    assert "computer image (png," in out and "status: complete" in out
    assert "--- verifier/test-stdout.txt ---" in out and "1 passed" in out
    assert "... 11 more lines (--full shows them) ..." in out  # 41 lines: both ends kept
    assert out.rstrip().endswith("reward   1 (passed)")
    full = _lmc("bench", "show", str(run), "hello", "--model", "oracle", "--full").stdout
    assert "check 20 ok" in full and "more lines" not in full


def test_bench_show_of_an_errored_trial_and_of_an_ambiguous_choice(session: Session, exported: Path,
                                                                    tmp_path: Path) -> None:
    run = _run_folder(tmp_path, session, exported)
    shown = _lmc("bench", "show", str(run), "hello", "-m", "oracle", "--trial", "1")
    assert shown.returncode == 0, shown.stderr
    assert "outcome  errored (verifier): not graded" in shown.stdout
    assert "detail   tests/test.sh of hello wrote no reward" in shown.stdout
    assert "transcript.json) ===" in shown.stdout and "hello from python" in shown.stdout
    assert "- storage_mb is not enforced by this daemon" in shown.stdout
    assert shown.stdout.rstrip().endswith("reward   - (errored)")
    ambiguous = _lmc("bench", "show", str(run), "hello")
    assert ambiguous.returncode == 1
    assert "task 'hello' ran with 2 models (null, oracle); choose one with --model" in ambiguous.stderr
    unknown = _lmc("bench", "show", str(run), "nope")
    assert unknown.returncode == 1 and "its tasks: hello" in unknown.stderr
