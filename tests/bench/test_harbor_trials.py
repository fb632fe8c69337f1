"""Harbor-format tasks run as Harbor runs them, in their own images, with real Docker builds.

Each test writes its task folders (Dockerfile environment, tests/test.sh,
solution/) and runs them through `run_bench` on the docker backend: the task's
image is built, the agent works in its container as the image's USER, and the
verifier runs in a fresh process after every process of the agent is gone.
Cheating models are scripted models served over real HTTP.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.harness import results
from benchmarks.harness.runner import RunConfig, run_bench
from orchestrator.models.scripted_server import ScriptedServer, text, tool_call
from tests.support.docker_backend import require_docker

pytestmark = pytest.mark.docker

#: a task image FROM the lmc sandbox image (Debian, python3, bash), as root like every TB2 image
BASE = "FROM lmc-sandbox:latest\nUSER root\n"
PASS_IF_DONE = """#!/bin/bash
if [ "$(cat /app/done.txt 2>/dev/null)" = "ok" ]; then echo 1 > /logs/verifier/reward.txt
else echo 0 > /logs/verifier/reward.txt; fi
"""


@pytest.fixture(autouse=True)
def docker_ready() -> Iterator[None]:
    """Skip without Docker (fail under CI=true)."""
    require_docker()
    yield


def task(root: Path, name: str, *, dockerfile: str = BASE + "WORKDIR /app\n", test: str = PASS_IF_DONE,
         solve: str = "echo ok > /app/done.txt", toml: str = "[agent]\ntimeout_sec = 120\n",
         files: dict[str, str] | None = None, solution_files: dict[str, str] | None = None) -> Path:
    """Write a Harbor task folder: environment/Dockerfile (+ files), tests/test.sh, solution/solve.sh."""
    folder = root / name
    for sub in ("environment", "tests", "solution"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "task.toml").write_text('version = "1.0"\n' + toml)
    (folder / "instruction.md").write_text(f"Do the {name} task.")
    (folder / "environment" / "Dockerfile").write_text(dockerfile)
    for rel, content in (files or {}).items():
        (folder / "environment" / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / "environment" / rel).write_text(content)
    (folder / "tests" / "test.sh").write_text(test)
    (folder / "solution" / "solve.sh").write_text("#!/bin/bash\n" + solve + "\n")
    for rel, content in (solution_files or {}).items():
        (folder / "solution" / rel).write_text(content)
    return folder


def run(suite: Path, out: Path, *models: str, **config: object) -> dict[tuple[str, str], results.TrialRow]:
    """Run models over a suite on docker; the rows by (task, model)."""
    defaults: dict[str, object] = {"sandbox": "docker", "parallel": 2, "max_retries": 1}
    rows = list(run_bench(RunConfig(suite=suite, output=out, models=models, **{**defaults, **config})))
    return {(r.task, r.model): r for r in rows}


def test_oracle_passes_and_null_fails_in_the_tasks_own_images(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    # files outside /app, a WORKDIR elsewhere, solution/ helper files, a root-only verifier
    task(suite, "workdir-elsewhere",
         dockerfile=BASE + "RUN mkdir -p /srv/data && echo 41 > /srv/data/n\nWORKDIR /workspace/proj\n",
         test='#!/bin/bash\n[ "$PWD" = /workspace/proj ] && [ "$(cat answer)" = 42 ] '
              "&& echo 1 > /logs/verifier/reward.txt || echo 0 > /logs/verifier/reward.txt\n",
         solve="echo $(( $(cat /srv/data/n) + 1 )) > answer")
    task(suite, "solution-files", solve="cp /solution/answer.txt /app/done.txt",
         solution_files={"answer.txt": "ok\n"})
    task(suite, "root-only-verifier",
         dockerfile=BASE + "RUN echo secret > /root/key && chmod 600 /root/key\nWORKDIR /app\n",
         test='#!/bin/bash\n[ "$(id -u)" = 0 ] && [ "$(cat /root/key)" = secret ] && [ -f /app/done.txt ] '
              "&& echo 1 > /logs/verifier/reward.txt || echo 0 > /logs/verifier/reward.txt\n")
    rows = run(suite, tmp_path / "out", "oracle", "null")
    for name in ("workdir-elsewhere", "solution-files", "root-only-verifier"):
        oracle, null = rows[(name, "oracle")], rows[(name, "null")]
        assert (oracle.outcome, oracle.reward) == ("passed", 1.0), oracle
        assert (null.outcome, null.reward) == ("failed", 0.0), null
        assert oracle.exit_codes == {"verifier": 0, "oracle": 0}, oracle.exit_codes
        assert {"build", "start", "agent", "verify"} <= set(oracle.phases), oracle.phases
        folder = tmp_path / "out" / str(oracle.trial_dir)
        assert (folder / "verifier" / "reward.txt").read_text().strip() == "1"
        assert (folder / "agent" / "oracle-exit-code.txt").read_text().strip() == "0"
        assert json.loads((folder / "result.json").read_text())["outcome"] == "passed"


def test_a_base_image_without_python_or_bash_still_runs_the_agent(tmp_path: Path, no_python_base: str) -> None:
    suite = tmp_path / "suite"
    # the oracle's shell is lmc's own bash; the verifier's `bash` is the image's (here bash-static)
    task(suite, "bare", dockerfile=f"FROM {no_python_base}\nWORKDIR /app\n",
         solve="command -v python3 > /app/python.txt || echo none > /app/python.txt; echo ok > /app/done.txt")
    rows = run(suite, tmp_path / "out", "oracle")
    row = rows[("bare", "oracle")]
    assert (row.outcome, row.reward) == ("passed", 1.0), row


def test_allow_internet_false_leaves_the_agent_only_loopback(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    only_lo = ('#!/bin/bash\n[ "$(cat /app/nets)" = lo ] && echo 1 > /logs/verifier/reward.txt '
               "|| echo 0 > /logs/verifier/reward.txt\n")
    solve = "ls /sys/class/net > /app/nets"
    task(suite, "offline", toml="[environment]\nallow_internet = false\n", test=only_lo, solve=solve)
    task(suite, "online", toml="[environment]\nallow_internet = true\n", test=only_lo, solve=solve)
    # Harbor 1.1's per-phase policy: an agent without network, a verifier with one
    phases = ('#!/bin/bash\n[ "$(cat /app/nets)" = lo ] && [ "$(ls /sys/class/net | wc -l)" -gt 1 ] '
              "&& echo 1 > /logs/verifier/reward.txt || echo 0 > /logs/verifier/reward.txt\n")
    task(suite, "per-phase", toml='schema_version = "1.1"\n[agent]\nnetwork_mode = "no-network"\n', test=phases,
         solve=solve)
    rows = run(suite, tmp_path / "out", "oracle")
    assert rows[("offline", "oracle")].reward == 1.0
    assert rows[("online", "oracle")].reward == 0.0  # Harbor's default: a network
    assert rows[("per-phase", "oracle")].reward == 1.0


CHEATS = {
    # a reward written before the verifier runs is erased with /logs/verifier
    "prewritten-reward": "mkdir -p /logs/verifier; echo 1 > /logs/verifier/reward.txt",
    # PATH, functions and aliases of the agent's shell do not reach the verifier's fresh process
    "exported-path": "mkdir -p /tmp/fake; printf '#!/bin/sh\\necho ok\\n' > /tmp/fake/cat; chmod +x /tmp/fake/cat; "
                     "export PATH=/tmp/fake:$PATH",
    "shell-function": "cat() { echo ok; }; export -f cat",
    # a background loop that keeps writing the reward is killed before the verifier starts
    "background-writer": "setsid nohup bash -c 'while :; do mkdir -p /logs/verifier; "
                         "echo 1 > /logs/verifier/reward.txt; sleep 0.05; done' >/dev/null 2>&1 < /dev/null &",
}


@pytest.mark.parametrize("cheat", sorted(CHEATS))
def test_a_cheating_model_scores_zero(tmp_path: Path, cheat: str) -> None:
    suite = tmp_path / "suite"
    # the verifier reads stdin to its end (Harbor closes it) and takes its time, then grades honestly
    test = "#!/bin/bash\ncat > /dev/null\nsleep 0.5\n" + PASS_IF_DONE.split("\n", 1)[1]
    task(suite, "guarded", test=test)
    with ScriptedServer([tool_call("shell", CHEATS[cheat]), text("Done.")]).start() as server:
        rows = run(suite, tmp_path / "out", "openai/cheater", api_base=server.url, api_key="x")
    row = rows[("guarded", "openai/cheater")]
    assert (row.outcome, row.reward, row.failure) == ("failed", 0.0, None), row
    assert row.exit_codes.get("verifier") == 0


def test_a_separate_verifier_sees_the_agents_files_but_none_of_its_processes(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    task(suite, "separate", toml="[agent]\ntimeout_sec = 120\n[environment]\ncpus = 64\n")
    writer = CHEATS["background-writer"]
    with ScriptedServer([tool_call("shell", writer + "\necho ok > /app/done.txt"), text("Done.")]).start() as server:
        rows = run(suite, tmp_path / "out", "openai/agent", "oracle", api_base=server.url, api_key="x",
                   verifier="separate")
    # the model did the work (and left a writer running, which cannot reach the snapshot's verifier)
    assert rows[("separate", "openai/agent")].reward == 1.0
    assert rows[("separate", "oracle")].reward == 1.0
    trial = json.loads((tmp_path / "out" / str(rows[("separate", "oracle")].trial_dir) / "trial.json").read_text())
    assert any("cpus = 64 capped" in note for note in trial["notes"]), trial["notes"]


def test_a_healthcheck_gates_the_agent_and_an_unhealthy_environment_errors(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    # healthy only once a file a background service writes exists; the oracle relies on it
    service = BASE + "WORKDIR /app\n"
    check = ('[environment.healthcheck]\ncommand = "test -f /tmp/ready || (touch /tmp/ready; exit 1)"\n'
             "interval_sec = 0.1\nretries = 3\n")
    task(suite, "healthy", dockerfile=service, toml=check, solve="test -f /tmp/ready && echo ok > /app/done.txt")
    task(suite, "unhealthy", toml='[environment.healthcheck]\ncommand = "echo not yet; exit 1"\n'
                                  "interval_sec = 0.1\nretries = 2\n")
    rows = run(suite, tmp_path / "out", "oracle")
    assert rows[("healthy", "oracle")].reward == 1.0
    bad = rows[("unhealthy", "oracle")]
    assert (bad.outcome, bad.failure, bad.attempts) == ("errored", "environment", 1), bad
    assert "failed 2 times in a row" in bad.detail and "not yet" in bad.detail


def test_keep_services_spares_a_server_the_tests_use_and_nothing_else(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    # the solution starts a server (as TB2's nginx, sshd and gRPC tasks do) and the tests talk to it
    serve = ("mkdir -p /srv/www && echo ok > /srv/www/index.html\n"
             "setsid nohup python3 -m http.server 8123 -d /srv/www >/dev/null 2>&1 < /dev/null &\n"
             "for i in $(seq 100); do python3 -c 'import urllib.request as u; u.urlopen(\"http://127.0.0.1:8123\")' "
             "2>/dev/null && break; sleep 0.1; done")
    check = ("#!/bin/bash\npython3 -c 'import urllib.request as u; "
             "assert u.urlopen(\"http://127.0.0.1:8123\").read().strip() == b\"ok\"' "
             "&& echo 1 > /logs/verifier/reward.txt || echo 0 > /logs/verifier/reward.txt\n")
    task(suite, "service", solve=serve, test=check, toml="[environment]\nallow_internet = false\n")
    strict = run(suite, tmp_path / "strict", "oracle")
    kept = run(suite, tmp_path / "kept", "oracle", keep_services=True)
    assert strict[("service", "oracle")].reward == 0.0  # every process of the agent was stopped
    assert kept[("service", "oracle")].reward == 1.0
    # a loop that writes the reward listens on no port: it is still killed
    cheat = tmp_path / "cheat"
    task(cheat, "guarded")
    with ScriptedServer([tool_call("shell", CHEATS["background-writer"]), text("Done.")]).start() as server:
        rows = run(cheat, tmp_path / "out", "openai/cheater", api_base=server.url, api_key="x", keep_services=True)
    assert rows[("guarded", "openai/cheater")].reward == 0.0


def test_a_failed_build_is_an_environment_error_not_retried(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    task(suite, "broken-build", dockerfile=BASE + "RUN echo building && exit 3\n")
    rows = run(suite, tmp_path / "out", "oracle", "null", max_retries=2)
    row = rows[("broken-build", "oracle")]
    assert (row.outcome, row.reward, row.failure, row.attempts) == ("errored", None, "environment", 1), row
    assert "exit 3" in row.detail or "status 3" in row.detail or "code: 3" in row.detail, row.detail
    logs = [(tmp_path / "out" / str(r.trial_dir) / "build.log").read_text() for r in rows.values()]
    # one trial built and failed; the other, waiting on the same image, was told so instead of building again
    assert sorted("failed to build earlier in this run" in log for log in logs) == [False, True], logs
    assert any("building" in log for log in logs)


def test_a_missing_from_image_names_both_ways_out_and_image_map_fixes_it(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    task(suite, "mapped", dockerfile="FROM lmc-test/not-here:24.04\nUSER root\nWORKDIR /app\n")
    rows = run(suite, tmp_path / "out1", "oracle")
    row = rows[("mapped", "oracle")]
    assert (row.outcome, row.failure) == ("errored", "environment"), row
    assert "lmc-test/not-here:24.04" in row.detail and "docker load" in row.detail and "--image-map" in row.detail
    rows = run(suite, tmp_path / "out2", "oracle", image_map={"lmc-test/not-here:24.04": "lmc-sandbox:latest"})
    assert rows[("mapped", "oracle")].reward == 1.0


def test_trials_resume_and_pass_at_k(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    task(suite, "repeat")
    out = tmp_path / "out"
    first = run(suite, out, "oracle", "null", trials=3)
    assert len(results.read(out)) == 6 and first[("repeat", "oracle")].reward == 1.0
    again = list(run_bench(RunConfig(suite=suite, output=out, models=("oracle", "null"), trials=3,
                                     sandbox="docker")))
    assert again == []  # every trial was graded: nothing runs again
    from benchmarks.harness import summary

    rows = results.latest(results.read(out))
    k = {s.model: s for s in summary.by_model(rows)}
    assert k["oracle"].passed == 3 and k["null"].passed == 0


def test_the_cli_runs_oracle_from_an_empty_folder(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    task(suite, "cli")
    empty = tmp_path / "empty"
    empty.mkdir()
    done = subprocess.run([sys.executable, "-m", "orchestrator", "bench", "run", str(suite), "--model", "oracle",
                           "--model", "null", "-o", str(tmp_path / "out"), "--no-progress"],
                          cwd=empty, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "cli" in done.stdout and "passed" in done.stdout
    shown = subprocess.run([sys.executable, "-m", "orchestrator", "bench", "show", str(tmp_path / "out"), "cli",
                            "--model", "oracle"], cwd=empty, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert "reward" in shown.stdout.lower() and "solve.sh" in shown.stdout
