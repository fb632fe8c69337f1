"""Contract: stop, timeout, stdin, crashes — and the language stays usable after each."""

from __future__ import annotations

import time

import pytest

from lmc.assembly import assemble
from orchestrator.computer import Computer
from tests.contract.helpers import errors, stop_when, text

BUSY = {
    "python": ("x = 7\n", "print('started', flush=True)\nwhile True: pass", "x"),
    "shell": ("export X=7\n", "echo started; sleep 60", "echo $X"),
    "javascript": ("var x = 7;\n", "console.log('started'); while (true) {}", "x"),
}


@pytest.mark.parametrize("language", sorted(BUSY))
def test_stop_interrupts_and_keeps_state(computer: Computer, language: str) -> None:
    setup, busy, probe = BUSY[language]
    computer.run(language, setup)
    started = time.monotonic()
    messages = assemble(stop_when(computer, computer.run(language, busy, stream=True), "started"))
    assert time.monotonic() - started < 10
    assert "started" in text(messages)
    assert [kind for kind, _ in errors(messages)] == ["interrupted"]
    assert text(computer.run(language, probe)) == "7\n"


@pytest.mark.parametrize("language", sorted(BUSY))
def test_timeout_stops_code_keeps_partial_output_and_state(computer: Computer, language: str) -> None:
    setup, busy, probe = BUSY[language]
    computer.run(language, setup)
    messages = computer.run(language, busy, timeout=1.0)
    assert "started" in text(messages)
    (kind, message), = errors(messages)
    assert kind == "timeout" and "1 s timeout" in message
    assert text(computer.run(language, probe)) == "7\n"


def test_code_that_ignores_interrupts_is_killed_and_restarted(computer: Computer) -> None:
    computer.run("python", "y = 1")
    code = (
        "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "print('deaf', flush=True)\ntime.sleep(60)"
    )
    started = time.monotonic()
    messages = computer.run("python", code, timeout=0.5)
    assert time.monotonic() - started < 10
    (kind, message), = errors(messages)
    assert kind == "timeout" and "state was lost" in message
    assert "deaf" in text(messages)
    assert "NameError" in text(computer.run("python", "y"))  # a fresh interpreter, as the error said
    assert text(computer.run("python", "print('ok')")) == "ok\n"


@pytest.mark.parametrize(
    "language,code",
    [
        ("python", "name = input('name? ')"),
        ("shell", "read -r answer; echo got $answer"),
        ("javascript", "require('fs').readFileSync(0)"),
    ],
)
def test_waiting_for_stdin_is_reported_not_hung(computer: Computer, language: str, code: str) -> None:
    started = time.monotonic()
    messages = computer.run(language, code, input_timeout=0.5)
    assert time.monotonic() - started < 10
    kinds = [kind for kind, _ in errors(messages)]
    assert kinds == ["input_required"], messages
    assert "stdin" in errors(messages)[0][1]
    probe = {"python": "print(5)", "shell": "echo 5", "javascript": "console.log(5)"}[language]
    assert text(computer.run(language, probe)) == "5\n"


def test_silent_code_is_not_mistaken_for_waiting_on_input(computer: Computer) -> None:
    messages = computer.run("python", "import time\ntime.sleep(1.2)\nprint('done')", input_timeout=0.3)
    assert errors(messages) == [] and text(messages) == "done\n"


def test_crashed_language_is_reported_and_restarted(computer: Computer) -> None:
    computer.run("python", "z = 3")
    messages = computer.run("python", "import os\nprint('bye', flush=True)\nos.kill(os.getpid(), 9)")
    assert "bye" in text(messages)
    (kind, message), = errors(messages)
    assert kind == "crashed" and "signal 9" in message and "state" in message
    assert "NameError" in text(computer.run("python", "z"))


def test_agent_killed_by_the_code_is_reported_as_the_codes_and_replaced(computer: Computer) -> None:
    computer.run("python", "w = 1")
    kill_agent = (
        "import os, signal, time\nprint('going', flush=True)\ntime.sleep(0.3)\n"
        "os.kill(os.getppid(), signal.SIGKILL)\ntime.sleep(5)"
    )
    messages = computer.run("python", kill_agent)
    kinds = [kind for kind, _ in errors(messages)]
    # the sandbox itself is intact: the code's failure, data for the model, not infrastructure ("sandbox")
    assert kinds == ["crashed"], messages
    assert "killed by the code it ran" in errors(messages)[0][1] and "fresh" in errors(messages)[0][1]
    assert text(messages) == "going\n"  # the open output block was closed before the error
    assert "NameError" in text(computer.run("python", "w"))
    assert text(computer.run("shell", "echo alive")) == "alive\n"


def test_abandoned_stream_leaves_the_computer_usable(computer: Computer) -> None:
    stream = computer.run("python", "import time\nfor i in range(100):\n    print(i, flush=True)\n    time.sleep(0.05)",
                          stream=True)
    next(stream)
    stream.close()
    assert text(computer.run("python", "print('next')")) == "next\n"
