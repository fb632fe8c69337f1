"""A trial where there is no Docker (`--sandbox local`, `e2b`): the environment is replayed in a shell.

The task's Dockerfile steps (WORKDIR, COPY, RUN, ENV...) run in the sandbox's
shell under a per-trial folder (benchmarks.harness.replay); Harbor's /app,
/tests and /logs are folders of it, given to the sandbox as APP_DIR, TESTS_DIR
and LOGS_DIR. On the local backend the verifier is a fresh host process with
stdin closed, started after the agent's processes are gone; in E2B it runs
through the sandbox's shell. Neither isolates the verifier from what the agent
did to the machine as a container does: that is what `--sandbox docker` is for.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

from benchmarks.harness import layout as lay
from benchmarks.harness.errors import StagingFailed
from benchmarks.harness.task import Task, resolve_env
from benchmarks.harness.trial.record import TrialRecord
from benchmarks.harness.trial.reward import REWARD_FILES, parse_reward
from orchestrator.fleet.errors import VerifierFailed
from orchestrator.fleet.spec import SandboxPlan


class ShellTrial:
    """Environment replay and verification of one trial in a local or E2B sandbox."""

    def __init__(self, task: Task, backend: str, folder: Path, record: TrialRecord, oracle: bool) -> None:
        self.task = task
        self.backend = backend
        self.folder = folder
        self.record = record
        self.oracle = oracle
        self.layout = lay.layout_for(backend)
        self.workdir = self.layout.app
        self.solution_dir = str(Path(self.layout.logs).parent / "solution")
        self.logs_dir = self.layout.logs
        self.desktop_env: dict[str, str] = {}
        self.image_env: dict[str, str] = {}  #: the Dockerfile's ENV, as replayed

    @property
    def local(self) -> bool:
        """Whether the trial's folders are on this host."""
        return self.layout.host_root is not None

    def plan(self, settings: dict[str, Any], desktop_env: dict[str, str]) -> SandboxPlan:
        """The sandbox's environment variables and (local) working dir."""
        self.desktop_env = dict(desktop_env)
        env = {**resolve_env(self.task.env, os.environ), **self.layout.env}
        if self.local:
            Path(self.layout.app).mkdir(parents=True)  # the local agent starts in it
        return SandboxPlan(env=env, cwd=self.layout.app if self.local else None, settings=settings)

    def prepare(self, computer: Any) -> None:
        """Replay the environment, stage the oracle's solution, start the desktop app."""
        from benchmarks.harness.replay import replay_environment

        with self.record.phase("start"):
            folders = f'mkdir -p "{self.layout.app}" "{self.layout.logs}/verifier" "{self.layout.logs}/agent"'
            lay.must_run(computer, folders, "creating the trial's folders")
            replayed = replay_environment(computer, self.task, self.layout)
            self.workdir, self.image_env = replayed.workdir or self.layout.app, replayed.env
            if self.oracle and self.task.solution_dir.is_dir():
                lay.must_run(computer, lay.unpack_script(lay.tarball(self.task.solution_dir), self.solution_dir),
                             "copying solution/ into the sandbox")
            if self.task.desktop is not None:
                from benchmarks.harness.trial.desktop import start_app

                start_app(computer, self.task.desktop, self.workdir, self.layout.logs)
            lay.must_run(computer, f"cd {shlex.quote(self.workdir)}", "entering the working dir")
            computer.run("python", f"import os; os.chdir({self.workdir!r})")
        self._agent_started = _now()

    def verify(self, computer: Any) -> dict[str, Any]:
        """Run tests/test.sh after the agent: a fresh host process (local), the sandbox's shell (e2b)."""
        self.record.phases["agent"] = round(_now() - getattr(self, "_agent_started", _now()), 3)
        with self.record.phase("verify"):
            if self.local:
                computer.close()  # the agent and its languages' process groups end here
                return self._verify_on_host()
            return self._verify_in_shell(computer)

    def _verify_on_host(self) -> dict[str, Any]:
        task, ly = self.task, self.layout
        verifier = Path(ly.logs) / "verifier"
        shutil.rmtree(verifier, ignore_errors=True)
        shutil.rmtree(ly.tests, ignore_errors=True)
        verifier.mkdir(parents=True)
        shutil.copytree(task.tests, ly.tests)
        env = {**os.environ, **self.desktop_env, **self.image_env, **resolve_env(task.env, os.environ), **ly.env,
               **resolve_env(task.verifier_env, os.environ)}
        try:
            done = subprocess.run(["bash", str(Path(ly.tests) / "test.sh")], cwd=self.workdir, env=env,
                                  stdin=subprocess.DEVNULL, capture_output=True, timeout=task.verifier_timeout,
                                  start_new_session=True)
        except subprocess.TimeoutExpired as exc:
            self._save(exc.stdout or b"", exc.stderr or b"", verifier)
            raise VerifierFailed(f"tests/test.sh of {task.name} did not finish within "
                                 f"{task.verifier_timeout:g} s ([verifier] timeout_sec)") from None
        self.record.exit_codes["verifier"] = done.returncode
        self._save(done.stdout, done.stderr, verifier)
        for name in REWARD_FILES:
            path = Path(ly.logs) / name
            if path.is_file():
                return {"reward": parse_reward(path.read_text(errors="replace"), task.name),
                        "verifier_exit": done.returncode}
        raise VerifierFailed(f"tests/test.sh of {task.name} exited with status {done.returncode} and wrote no "
                             f"reward to $LOGS_DIR/verifier/reward.txt; output: {done.stdout[-300:]!r}")

    def _save(self, stdout: bytes, stderr: bytes, verifier: Path) -> None:
        out = self.folder / "verifier"
        if verifier.is_dir():
            shutil.copytree(verifier, out, dirs_exist_ok=True)
        out.mkdir(parents=True, exist_ok=True)
        (out / "test-stdout.txt").write_bytes(stdout)
        (out / "test-stderr.txt").write_bytes(stderr)
        agent = Path(self.layout.logs) / "agent"
        if agent.is_dir():
            shutil.copytree(agent, self.folder / "agent", dirs_exist_ok=True)

    def _verify_in_shell(self, computer: Any) -> dict[str, Any]:
        task, ly = self.task, self.layout
        verifier = f"{ly.logs}/verifier"
        exports = "".join(f"export {k}={shlex.quote(v)}; "
                          for k, v in resolve_env(task.verifier_env, os.environ).items())
        code = (f'rm -rf "{verifier}" "{ly.tests}"\n{lay.unpack_script(lay.tarball(task.tests), ly.tests)}\n'
                f'mkdir -p "{verifier}"\n'
                f'( {exports}cd {shlex.quote(self.workdir)} && bash "{ly.tests}/test.sh" '
                f'> "{verifier}/test-stdout.txt" 2>&1 < /dev/null )')
        try:
            _, status = lay.run_shell(computer, code, "the verifier", timeout=task.verifier_timeout)
            text, _ = lay.run_shell(computer, f'cat "{verifier}/reward.txt" 2>/dev/null || '
                                              f'cat "{verifier}/reward.json" 2>/dev/null', "reading the reward")
        except StagingFailed as exc:
            raise VerifierFailed(f"tests/test.sh of {task.name} did not finish: {exc}") from exc
        self.record.exit_codes["verifier"] = status
        return {"reward": parse_reward(text, task.name), "verifier_exit": status}

    def close(self) -> None:
        """Delete the trial's host folder (its logs were copied into the trial's results folder)."""
        lay.remove(self.layout)


def _now() -> float:
    import time

    return time.monotonic()
