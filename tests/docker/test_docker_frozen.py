"""A frozen sandbox (`docker pause`) cannot enforce its own timeout: the host's deadline does."""

from __future__ import annotations

import threading
import time

from executors.channel import GRACE
from lmc.messages import Message
from orchestrator.computer import Computer
from tests.contract.helpers import errors, text
from tests.support.docker_backend import make_executor

#: how long the test lets the paused container stay frozen before thawing it (the old behaviour
#: returned only then); far above timeout + GRACE, so a pass means the host acted on its own
THAW_AFTER = 3 + GRACE + 60


def test_a_paused_sandbox_is_dropped_at_the_host_deadline_and_the_next_run_is_fresh() -> None:
    executor = make_executor()
    with Computer(executor) as computer:
        computer.run("python", "marker = 1")
        sandbox = executor.sandbox()
        sandbox.api.pause(sandbox.container_id)
        result: list[list[Message]] = []
        worker = threading.Thread(target=lambda: result.append(computer.run("python", "print(2)", timeout=3)))
        started = time.monotonic()
        worker.start()
        worker.join(timeout=THAW_AFTER)
        took = time.monotonic() - started
        if worker.is_alive():  # the old behaviour: thaw it so the run (and this test) can end
            sandbox.api.unpause(sandbox.container_id)
            worker.join(timeout=60)
        assert took < THAW_AFTER, "the run on a paused sandbox waited for it to be thawed"
        (kind, message), = errors(result[0])
        assert kind == "sandbox" and "did not answer within 3 s" in message and "fresh sandbox" in message
        assert "NameError" in text(computer.run("python", "marker"))
        assert text(computer.run("python", "print('fresh')")) == "fresh\n"
        assert executor.sandbox().container_id != sandbox.container_id
