"""One trial's hooks around its Fleet session: Harbor's phases for one (task, model, trial).

    environment   build the task's image (cached) or use its docker_image; start its container
    agent         the model works in it as the image's USER, with the task's limits and network
    verifier      every process the agent left is killed; tests/ copied in only now; /logs/verifier
                  emptied; `bash /tests/test.sh` in a fresh process; the reward read by the harness

In the docker backend each trial runs in the task's own container (container.py).
`--sandbox local` and `e2b` have no Docker: the task's Dockerfile is replayed in
the sandbox's shell under a per-trial folder (shell.py). Everything a trial
leaves (build log, agent logs, verifier output, reward, trial.json) goes to
`<run>/trials/<trial id>/`; an earlier attempt of the trial (retried, or cut short by a killed run
and run again on resume) is moved whole, transcript and logs, to `<trial id>/attempts/<n>/`.
An attempt holds the folder's lock throughout, and one of a run that a newer run replaced
stops before touching it (guard.py): a killed run's worker cannot write over the resumed run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.harness.errors import StagingFailed
from benchmarks.harness.models import ModelChoice, PseudoServer
from benchmarks.harness.task import Task
from benchmarks.harness.trial import guard
from benchmarks.harness.trial.record import TrialRecord
from orchestrator.fleet.spec import SandboxPlan

log = logging.getLogger(__name__)

VERIFIER_MODES = ("shared", "separate")
#: the folder of a trial's folder where its earlier attempts are kept, as attempts/1, attempts/2...
ATTEMPTS = "attempts"


def set_aside(folder: Path) -> Path | None:
    """Move what an earlier attempt left in a trial's folder to attempts/<n> (n from 1); where it went."""
    left = [p for p in folder.iterdir() if p.name not in (ATTEMPTS, *guard.FILES)] if folder.is_dir() else []
    if not left:
        return None
    kept = folder / ATTEMPTS
    kept.mkdir(exist_ok=True)
    number = 1 + max((int(p.name) for p in kept.iterdir() if p.name.isdigit()), default=0)
    dest = kept / str(number)
    dest.mkdir()
    for path in left:
        path.rename(dest / path.name)
    log.info("trial folder %s: the earlier attempt's files are kept in %s", folder, dest)
    return dest


@dataclass(frozen=True)
class TrialOptions:
    """How every trial of a run is set up."""

    run_dir: Path  #: the run's output folder; trials go to <run_dir>/trials/<id>
    image_map: dict[str, str] = field(default_factory=dict)  #: FROM image -> local image to use instead
    verifier: str = "shared"  #: "shared": verify in the agent's container; "separate": in a fresh copy of it
    docker_host: str | None = None  #: Docker daemon URL; None for DOCKER_HOST or the local socket
    #: keep the agent's processes that listen on a TCP port (servers the tests use) through verification
    keep_services: bool = False
    run_id: str = ""  #: the run that claimed the trials (guard.claim); "" checks no claim


class TrialHooks:
    """SessionHooks for one trial; a fresh environment (and pseudo-model server) per attempt."""

    def __init__(self, task: Task, model: ModelChoice, options: TrialOptions, trial_id: str) -> None:
        self.task = task
        self.model = model
        self.options = options
        self.folder = options.run_dir / "trials" / trial_id
        self.record = TrialRecord()
        self._server: PseudoServer | None = None
        self._phase: Any = None  # ContainerTrial or ShellTrial of the current attempt
        self._guard = guard.TrialGuard(self.folder, options.run_id)

    def open(self, backend: str, desktop_env: dict[str, str]) -> SandboxPlan:
        """Start the environment (the model's server first, if it is a pseudo-model)."""
        self._guard.acquire()  # an earlier attempt still writing here ends first; a replaced run's stops here
        set_aside(self.folder)  # a retried or resumed attempt starts clean; the earlier one is kept
        self.folder.mkdir(parents=True, exist_ok=True)
        self.record = TrialRecord()
        if backend == "docker":
            from benchmarks.harness.trial.container import ContainerTrial

            self._phase = ContainerTrial(self.task, self.model.name == "oracle", self.options, self.folder,
                                         self.record)
        else:
            from benchmarks.harness.trial.shell import ShellTrial

            self._phase = ShellTrial(self.task, backend, self.folder, self.record, self.model.name == "oracle")
        settings = dict(self.model.settings)
        if self.model.pseudo:
            self._server = PseudoServer(self.model.name, self.task, self._phase.solution_dir, self._phase.logs_dir)
            settings.update(self._server.settings(self.model.name))
        try:
            return self._phase.plan(settings, desktop_env)  # type: ignore[no-any-return]
        finally:
            self.record.save(self.folder)

    def prepare(self, computer: Any) -> None:
        """After the agent started, before the model: the shell backends replay the environment here."""
        self._current().prepare(computer)

    def evaluate(self, computer: Any) -> dict[str, Any]:
        """After the model: stop what the agent left, run the verifier, read the reward."""
        try:
            evaluation: dict[str, Any] = self._current().verify(computer)
        finally:
            self._read_oracle_status()
            self.record.save(self.folder)
        return evaluation

    def _read_oracle_status(self) -> None:
        """The exit status solve.sh left in the agent logs (see models.oracle_code)."""
        try:
            text = (self.folder / "agent" / "oracle-exit-code.txt").read_text().strip()
        except OSError:
            return
        if text.lstrip("-").isdigit():
            self.record.exit_codes["oracle"] = int(text)

    def _current(self) -> Any:
        if self._phase is None:
            raise StagingFailed("TrialHooks.open() was not called before prepare/evaluate")
        return self._phase

    def close(self) -> None:
        """Remove the environment; stop the pseudo-model's server; keep the trial's folder; let the next attempt in."""
        try:
            if self._phase is not None:
                try:
                    self._phase.close()
                finally:
                    self._phase = None
                    self.record.save(self.folder)
            if self._server is not None:
                self._server.close()
                self._server = None
        finally:
            self._guard.release()
