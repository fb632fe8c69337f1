"""Contract: node code waiting on stdin is reported as input_required however it reads.

Reads through process.stdin wait in libuv's epoll, which the agent's probe of blocked read()
calls did not see: with no timeout such code hung. The kernel now reports them, and the wait
is interrupted cleanly (state kept); a read() blocked in a thread is seen by the probe.
"""

from __future__ import annotations

import time

import pytest

from orchestrator.computer import Computer
from tests.contract.helpers import errors, text

RL = "require('readline').createInterface({ input: process.stdin })"
#: waits that node's event loop makes: interrupted cleanly, the node process and its state kept
EVENT_LOOP_READS = {
    "readline_question": f"{RL}.question('name? ', (a) => console.log('hi', a));",
    "readline_question_awaited": f"new Promise((resolve) => {RL}.question('name? ', resolve))",
    "stdin_on_data": "process.stdin.on('data', (d) => console.log('got', String(d))); undefined",
    "for_await_readline": f"(async () => {{ for await (const line of {RL}) console.log(line); }})()",
    "for_await_stdin": "(async () => { for await (const c of process.stdin) console.log(String(c)); })()",
}
#: reads blocked in read(): seen by the probe; node cannot be interrupted there, so it is restarted
BLOCKED_READS = {
    "fs_readSync": "require('fs').readSync(0, Buffer.alloc(8), 0, 8, null)",
    "fs_promises_readFile": "require('fs').promises.readFile('/dev/stdin')",
}


def _input_required(computer: Computer, code: str) -> str:
    started = time.monotonic()
    messages = computer.run("javascript", code, input_timeout=0.5, timeout=60)
    assert time.monotonic() - started < 30  # the old kernel waited for the 60 s timeout
    [(kind, message)] = errors(messages)
    assert kind == "input_required" and "stdin" in message, messages
    return message


@pytest.mark.parametrize("case", sorted(EVENT_LOOP_READS))
def test_event_loop_stdin_waits_are_reported_and_state_is_kept(computer: Computer, case: str) -> None:
    computer.run("javascript", "var kept = 7;")
    for _ in range(2):  # the interrupt let go of stdin: the same read is seen again, nothing else is
        message = _input_required(computer, EVENT_LOOP_READS[case])
        assert "state was lost" not in message
        assert text(computer.run("javascript", "kept", input_timeout=0.5)) == "7\n"


@pytest.mark.parametrize("case", sorted(BLOCKED_READS))
def test_blocked_stdin_reads_are_reported_and_node_restarts(computer: Computer, case: str) -> None:
    message = _input_required(computer, BLOCKED_READS[case])
    assert "state was lost" in message
    assert text(computer.run("javascript", "console.log(5)")) == "5\n"


def test_stdin_that_stops_being_read_and_silent_code_are_not_input(computer: Computer) -> None:
    closed = f"const rl = {RL}; rl.close(); 'closed'"
    messages = computer.run("javascript", closed, input_timeout=0.3)
    assert errors(messages) == [] and text(messages) == "'closed'\n"
    silent = "new Promise((resolve) => setTimeout(() => resolve('slept'), 1500))"
    messages = computer.run("javascript", silent, input_timeout=0.3)
    assert errors(messages) == [] and text(messages) == "'slept'\n"
