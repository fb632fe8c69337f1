"""A trial in the task's own container, with Harbor's semantics (see the package doc).

The container is the task's image, run as its USER in its WORKDIR with the
task's cpus, memory and network policy and Docker's default capabilities; lmc's
agent enters it from the read-only runtime at /.lmc, so the image needs nothing
of ours. Verification never trusts the agent's shell: its processes are killed,
the verifier is a fresh `docker exec` (or a fresh container made from a
snapshot, with `--verifier separate`), and the reward is read through Docker's
archive API.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.harness.task import Task, resolve_env
from benchmarks.harness.trial.record import TrialRecord
from benchmarks.harness.trial.reward import REWARD_FILES, parse_reward
from orchestrator.fleet.errors import VerifierFailed
from orchestrator.fleet.spec import SandboxPlan

log = logging.getLogger(__name__)

#: run as root in the container before the verifier: a fresh, empty /logs/verifier and no /tests
#: (whatever the agent put there, a symlink included, goes)
RESET = """
import os, shutil
for path in ("/tests", "/logs/verifier"):
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)
os.makedirs("/logs/verifier")
os.chmod("/logs/verifier", 0o777)
os.makedirs("/tests")
"""
#: Harbor's /logs/agent and /logs/verifier, writable by whichever user the agent and verifier run as
LOGS: dict[str, tuple[int, bytes | None]] = {path: (0o777, None) for path in ("/logs", "/logs/agent", "/logs/verifier")}
#: what test.sh's output is saved as in the trial's verifier/ folder
STDOUT, STDERR = "test-stdout.txt", "test-stderr.txt"


class ContainerTrial:
    """Environment, agent and verifier phases of one trial in the task's container."""

    solution_dir = "/solution"
    logs_dir = "/logs"

    def __init__(self, task: Task, oracle: bool, options: Any, folder: Path, record: TrialRecord) -> None:
        self.task = task
        self.oracle = oracle
        self.options = options
        self.folder = folder
        self.record = record
        self.container: Any = None  # the agent's TaskContainer
        self.checker: Any = None  # the verifier's own container (--verifier separate)
        self.config: Any = None
        self.app_session: int | None = None  # the session id of a desktop task's app, spared before verifying

    def plan(self, settings: dict[str, Any], desktop_env: dict[str, str]) -> SandboxPlan:
        """Build (or reuse) the image, start the container, stage /solution for the oracle."""
        from benchmarks.harness.images import ensure_image
        from executors.taskcontainer import TaskContainer, TaskContainerConfig, TaskExecutor

        task = self.task
        with self.record.phase("build"):
            built = ensure_image(task, self.options.image_map, docker_host=self.options.docker_host,
                                 log_path=self.folder / "build.log")
        self.record.image = built.tag
        with self.record.phase("start"):
            cpus = self._cpus()
            self.config = TaskContainerConfig(
                image=built.tag, workdir=task.workdir, env=resolve_env(task.env, os.environ),
                network=task.internet_for("agent") or task.internet_for("verifier"), cpus=cpus,
                memory_mb=task.memory_mb,
                storage_mb=task.storage_mb, docker_host=self.options.docker_host,
                display=desktop_env.get("DISPLAY"), agent_user=task.agent_user)
            self.container = TaskContainer.start(self.config)
            self.record.notes.extend(self.container.notes)
            self._network(self.container, "agent")  # [agent] network_mode may be stricter than the verifier's
            staged = dict(LOGS)
            if self.oracle and task.solution_dir.is_dir():
                staged.update(_tree(task.solution_dir, self.solution_dir))
            self.container.put_tree(staged)  # one archive call: /logs, and /solution for the oracle
            if task.healthcheck is not None:
                wait_healthy(self.container, task.healthcheck, task.name)
            executor = TaskExecutor(self.container, user=task.agent_user)
        return SandboxPlan(settings=settings, executor=executor)

    def _cpus(self) -> float:
        """The task's cpus, capped at what the Docker host has (Docker refuses more), with a note if capped."""
        host = _host_cpus(self.options.docker_host)
        if self.task.cpus <= host:
            return float(self.task.cpus)
        self.record.notes.append(f"cpus = {self.task.cpus:g} capped at the {host:g} CPUs this Docker host has")
        return host

    def prepare(self, computer: Any) -> None:
        """The image holds the task's files: start a desktop task's app on the session's display
        (its socket is mounted in the container). Start timing the agent."""
        if self.task.desktop is not None:
            from benchmarks.harness.trial.desktop import start_app

            with self.record.phase("start"):
                self.app_session = start_app(computer, self.task.desktop,
                                             self.task.workdir or self.container.image_workdir(), self.logs_dir)
        self._agent_started = _now()

    def verify(self, computer: Any) -> dict[str, Any]:
        """Stop the agent and all it left running, then run tests/test.sh as Harbor does."""
        self.record.phases["agent"] = round(_now() - getattr(self, "_agent_started", _now()), 3)
        computer.close()  # the agent's exec ends; the container stays
        with self.record.phase("verify"):
            # one root process kills everything the agent left, then empties /logs/verifier and /tests
            # a desktop task's app is the environment, as on the host: its tests may read its live windows
            self.container.kill_all_but_init(then=RESET, spare_services=self.options.keep_services,
                                             spare_sessions=(self.app_session,) if self.app_session else ())
            target = self.container
            if self.options.verifier == "separate":  # a snapshot of that state, with nothing running in it
                image = self.container.commit()
                from executors.taskcontainer import TaskContainer

                config = dataclasses.replace(self.config, image=image, start_agent=False,
                                             network=self.task.internet_for("verifier"))
                self.checker = target = TaskContainer.start(config)
            else:
                self._network(target, "verifier")
            return self._run_tests(target)

    def _network(self, container: Any, phase: str) -> None:
        """Connect or disconnect the container's network for a phase whose policy differs from the other's."""
        if not container.config.network or self.task.internet_for("agent") == self.task.internet_for("verifier"):
            return
        from executors.docker.errors import docker_errors

        with docker_errors(f"set the network of task container {container.short_id} for the {phase}"):
            if self.task.internet_for(phase):
                container.api.connect_container_to_network(container.id, "bridge")
            else:
                container.api.disconnect_container_from_network(container.id, "bridge")

    def _run_tests(self, target: Any) -> dict[str, Any]:
        task = self.task
        target.put_folder(task.tests, "/tests")
        env = resolve_env(task.verifier_env, os.environ)
        try:
            result = target.exec(["bash", "/tests/test.sh"], user=task.verifier_user, env=env,
                                 timeout=task.verifier_timeout)
        finally:
            self._save_logs(target)  # /logs/agent and /logs/verifier, through the archive API, never a shell
        out = self.folder / "verifier"
        out.mkdir(parents=True, exist_ok=True)
        (out / STDOUT).write_bytes(result.stdout)
        (out / STDERR).write_bytes(result.stderr)
        self.record.exit_codes["verifier"] = result.exit_code
        if result.timed_out:
            raise VerifierFailed(f"tests/test.sh of {task.name} did not finish within {task.verifier_timeout:g} s "
                                 f"([verifier] timeout_sec); its output is in {out}")
        for name in REWARD_FILES:  # read from the copy just taken
            path = out / Path(name).name
            if path.is_file() and not path.is_symlink():
                return {"reward": parse_reward(path.read_text(errors="replace"), task.name),
                        "verifier_exit": result.exit_code}
        tail = (result.stdout + result.stderr).decode("utf-8", "replace").strip()[-300:]
        raise VerifierFailed(f"tests/test.sh of {task.name} exited with status {result.exit_code} and wrote no "
                             f"reward to /logs/verifier/reward.txt (or reward.json); its output ends: {tail!r}")

    def _as_root(self, container: Any, code: str, what: str) -> None:
        from executors.runtime import python_argv

        result = container.exec(python_argv("-c", code), user="0", timeout=60)
        if result.exit_code != 0:
            from benchmarks.harness.errors import StagingFailed

            detail = result.stderr.decode("utf-8", "replace").strip()[-300:]
            raise StagingFailed(f"{what} in the task container failed (status {result.exit_code}): {detail}")

    def _save_logs(self, container: Any) -> None:
        """Copy /logs/agent and /logs/verifier into the trial's folder (only those: the agent owns /logs)."""
        with tempfile.TemporaryDirectory(prefix="lmc-logs-") as tmp:
            container.get_folder("/logs", tmp)
            for name in ("agent", "verifier"):
                if (Path(tmp) / name).is_dir():
                    shutil.copytree(Path(tmp) / name, self.folder / name, ignore=_links, dirs_exist_ok=True)

    def close(self) -> None:
        """Remove the containers (and the verifier's snapshot image)."""
        for container in (self.checker, self.container):
            if container is not None:
                container.close()
        self.checker = self.container = None


def wait_healthy(container: Any, check: Any, task: str) -> None:
    """[environment.healthcheck] with Docker's semantics: healthy at the first success; unhealthy after
    `retries` failures in a row once the start period is over (EnvironmentFailed, with the last output)."""
    import time

    from benchmarks.harness.errors import EnvironmentFailed

    started, failures = time.monotonic(), 0
    while True:
        result = container.exec(["sh", "-c", check.command], timeout=check.timeout_sec)
        if result.exit_code == 0:
            return
        starting = time.monotonic() - started < check.start_period_sec
        if not starting:
            failures += 1
            if failures >= check.retries:
                tail = (result.stdout + result.stderr).decode("utf-8", "replace").strip()[-300:]
                raise EnvironmentFailed(
                    f"the environment of {task} is unhealthy: its healthcheck {check.command!r} failed {failures} "
                    f"times in a row (last status {result.exit_code}, output {tail!r})")
        time.sleep(check.start_interval_sec if starting else check.interval_sec)


def _links(folder: str, names: list[str]) -> list[str]:
    """Symlinks the agent left in /logs: never copied (they would point into this host's filesystem)."""
    return [name for name in names if os.path.islink(os.path.join(folder, name))]


@functools.cache
def _host_cpus(docker_host: str | None) -> float:
    """How many CPUs a Docker daemon has (asked once per daemon)."""
    from executors.docker import client as docker_client

    return float(docker_client.client(docker_host).info().get("NCPU") or 1)


def _tree(folder: Path, dest: str) -> dict[str, tuple[int, bytes | None]]:
    """A host folder as put_tree entries under dest (files keep their modes; folders first)."""
    entries: dict[str, tuple[int, bytes | None]] = {dest: (0o755, None)}
    for path in sorted(folder.rglob("*")):
        target = f"{dest}/{path.relative_to(folder).as_posix()}"
        if path.is_dir():
            entries[target] = (0o755, None)
        elif path.is_file():
            entries[target] = (path.stat().st_mode & 0o777, path.read_bytes())
    return entries


def _now() -> float:
    import time

    return time.monotonic()
