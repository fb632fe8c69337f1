"""One trial's hooks around its Fleet session: stage the task, start its app, grade with tests/test.sh."""

from __future__ import annotations

import json
import logging
import shlex
from pathlib import Path
from typing import Any

from benchmarks.harness import layout as lay
from benchmarks.harness.errors import StagingFailed
from benchmarks.harness.models import ModelChoice, PseudoServer
from benchmarks.harness.task import Task
from orchestrator.fleet_errors import VerifierFailed
from orchestrator.fleet_spec import SandboxPlan

log = logging.getLogger(__name__)


class TrialHooks:
    """SessionHooks for one (task, model) trial; a fresh layout (and pseudo-model server) per attempt."""

    def __init__(self, task: Task, model: ModelChoice) -> None:
        self.task = task
        self.model = model
        self.layout: lay.Layout | None = None
        self._server: PseudoServer | None = None

    def open(self, backend: str, desktop_env: dict[str, str]) -> SandboxPlan:
        """Pick the trial's paths; start the pseudo-model's server if the model is one."""
        self.layout = lay.layout_for(backend)
        if self.layout.host_root:
            Path(self.layout.app).mkdir(parents=True)  # the local agent starts in it
        settings = dict(self.model.settings)
        if self.model.pseudo:
            self._server = PseudoServer(self.model.name, self.task)
            settings.update(self._server.settings(self.model.name))
        return SandboxPlan(env=dict(self.layout.env), cwd=self.layout.app if self.layout.host_root else None,
                           settings=settings)

    def prepare(self, computer: Any) -> None:
        """Copy environment/files into the working dir, run setup.sh, start the desktop app."""
        ly = self._layout()
        lay.make_roots(computer, ly)
        folders = f'mkdir -p "{ly.app}" "{ly.tests}" "{ly.logs}/verifier" "{ly.logs}/agent"'
        lay.must_run(computer, folders + "\n" + lay.unpack_script(lay.tarball(self.task.files), ly.app),
                     "copying the task's files into the sandbox")
        if self.task.setup is not None:
            staged = lay.unpack_script(lay.tarball(self.task.setup.parent), f"{ly.logs}/agent/environment")
            lay.must_run(computer, f'{staged}\ncd "{ly.app}" && bash "{ly.logs}/agent/environment/setup.sh"',
                         "the task's environment/setup.sh", timeout=600)
        if self.task.desktop is not None:
            self._start_app(computer, ly)
        lay.must_run(computer, f'cd "{ly.app}"', "entering the working dir")
        if ly.host_root is None:  # local kernels already start there; elsewhere Python must move too
            computer.run("python", f"import os; os.chdir({ly.app!r})")

    def _start_app(self, computer: Any, ly: lay.Layout) -> None:
        desktop = self.task.desktop
        assert desktop is not None
        start = (f'cd "{ly.app}" && (setsid sh -c {shlex.quote(desktop.app)} '
                 f'> "{ly.logs}/agent/app.log" 2>&1 < /dev/null &)')
        lay.must_run(computer, start, "starting the desktop app")
        if desktop.ready_window:
            tries = max(1, int(desktop.ready_timeout_sec / 0.2))
            wait = (f"for i in $(seq {tries}); do xdotool search --name {shlex.quote(desktop.ready_window)} "
                    ">/dev/null 2>&1 && exit 0; sleep 0.2; done; exit 1")
            _, status = lay.run_shell(computer, f"( {wait} )", "waiting for the app's window",
                                      timeout=desktop.ready_timeout_sec + 10)
            if status != 0:
                text, _ = lay.run_shell(computer, f'tail -5 "{ly.logs}/agent/app.log"', "reading the app log")
                raise StagingFailed(f"the desktop app did not show a window titled {desktop.ready_window!r} "
                                    f"within {desktop.ready_timeout_sec} s; its log: {text.strip()[-300:]}")

    def evaluate(self, computer: Any) -> dict[str, Any]:
        """Stage tests/, run test.sh in the working dir, read the reward it wrote."""
        ly = self._layout()
        verifier = f"{ly.logs}/verifier"
        exports = "".join(f"export {k}={shlex.quote(v)}; " for k, v in self.task.verifier_env.items())
        code = (f'{lay.unpack_script(lay.tarball(self.task.tests), ly.tests)}\nmkdir -p "{verifier}"\n'
                f'( {exports}cd "{ly.app}" && bash "{ly.tests}/test.sh" > "{verifier}/test-output.txt" 2>&1 )')
        try:
            _, status = lay.run_shell(computer, code, "the verifier", timeout=self.task.verifier_timeout)
            text, _ = lay.run_shell(computer, f'cat "{verifier}/reward.txt" 2>/dev/null || '
                                              f'cat "{verifier}/reward.json" 2>/dev/null', "reading the reward")
        except StagingFailed as exc:
            raise VerifierFailed(f"tests/test.sh of {self.task.name} did not finish: {exc}") from exc
        return {"reward": parse_reward(text, self.task.name), "verifier_exit": status}

    def _layout(self) -> lay.Layout:
        if self.layout is None:
            raise StagingFailed("TrialHooks.open() was not called before prepare/evaluate")
        return self.layout

    def close(self) -> None:
        """Stop the pseudo-model's server; delete the trial's host folder."""
        if self._server is not None:
            self._server.close()
            self._server = None
        if self.layout is not None:
            lay.remove(self.layout)
            self.layout = None


def parse_reward(text: str, task: str) -> float:
    """The reward in reward.txt (a number) or reward.json ({"reward": x}, else the mean of its numbers)."""
    text = text.strip()
    if not text:
        raise VerifierFailed(f"tests/test.sh of {task} wrote no reward; it must write a number 0..1 to "
                             "$LOGS_DIR/verifier/reward.txt (or reward.json)")
    try:
        value: Any = json.loads(text)
    except json.JSONDecodeError:
        raise VerifierFailed(f"the reward of {task} is {text[:60]!r}, not a number or JSON") from None
    if isinstance(value, dict):
        numbers = [v for v in value.values() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        value = value.get("reward", sum(numbers) / len(numbers) if numbers else None)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
        raise VerifierFailed(f"the reward of {task} must be a number from 0 to 1, got {text[:60]!r}")
    return float(value)
