"""The benchmark harness's own overhead per trial, against a bare `docker run` + `docker exec` of the same steps.

    python -m benchmarks.perf.bench_harness [--runs 10]

One trivial Harbor task (image already built): start its container, run the
agent's first command (`echo ok > /app/done.txt`), verify (tests/ copied in,
`bash /tests/test.sh`, the reward read back), remove the container. Side by
side in one run, alternating, so the noisy shared machine weighs on both alike:

    lmc    TrialHooks as `lmc bench run` uses them: the cached image looked up by content
           hash, our init and the read-only runtime mounted, the agent entered by docker
           exec, every agent process killed and /logs/verifier emptied before the verifier
    bare   the Docker API alone: create + start `sleep infinity`, exec the command, put
           tests/, exec test.sh, read reward.txt, remove

Targets: the agent's first command under 1 s from trial start with the image
cached; the whole trial's overhead under 10 % of the bare run's time.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

TEST_SH = ('#!/bin/bash\n[ "$(cat /app/done.txt)" = ok ] && echo 1 > /logs/verifier/reward.txt '
           "|| echo 0 > /logs/verifier/reward.txt\n")
COMMAND = "echo ok > /app/done.txt"


def write_task(root: Path) -> Path:
    """A minimal Harbor task FROM lmc's sandbox image."""
    folder = root / "bench-trivial"
    for sub in ("environment", "tests", "solution"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "task.toml").write_text('version = "1.0"\n[environment]\nallow_internet = false\n')
    (folder / "instruction.md").write_text("Write ok to /app/done.txt.")
    (folder / "environment" / "Dockerfile").write_text("FROM lmc-sandbox:latest\nUSER root\nWORKDIR /app\n")
    (folder / "tests" / "test.sh").write_text(TEST_SH)
    (folder / "solution" / "solve.sh").write_text(f"#!/bin/bash\n{COMMAND}\n")
    return folder


def lmc_trial(task: Any, run_dir: Path) -> dict[str, float]:
    """One trial through the harness's hooks (no model: the agent's command is run directly)."""
    from benchmarks.harness.models import ModelChoice
    from benchmarks.harness.trial import TrialHooks, TrialOptions
    from orchestrator.computer import Computer

    hooks = TrialHooks(task, ModelChoice("bench"), TrialOptions(run_dir), "bench-trial")
    start = time.perf_counter()
    plan = hooks.open("docker", {})
    computer = Computer(sandbox=plan.executor)
    hooks.prepare(computer)
    computer.run("shell", COMMAND)
    first = time.perf_counter()
    evaluation = hooks.evaluate(computer)
    verified = time.perf_counter()
    hooks.close()
    end = time.perf_counter()
    assert evaluation["reward"] == 1.0, evaluation
    return {"first command": first - start, "verify": verified - first, "remove": end - verified,
            "trial": end - start}


def _tests_tar() -> bytes:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for name, body in (("tests/test.sh", TEST_SH.encode()),):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(body), 0o755
            tar.addfile(info, io.BytesIO(body))
    return data.getvalue()


def bare_trial(api: Any, image: str) -> dict[str, float]:
    """The same steps with nothing but the Docker API."""
    start = time.perf_counter()
    host = api.create_host_config(network_mode="none", mem_limit=2048 * 2**20, nano_cpus=10**9)
    cid = api.create_container(image, ["sleep", "infinity"], user="0", working_dir="/app", host_config=host)["Id"]
    api.start(cid)
    try:
        _exec(api, cid, ["bash", "-c", COMMAND])
        first = time.perf_counter()
        _exec(api, cid, ["mkdir", "-p", "/logs/verifier"])
        api.put_archive(cid, "/", _tests_tar())
        _exec(api, cid, ["bash", "/tests/test.sh"])
        stream, _ = api.get_archive(cid, "/logs/verifier/reward.txt")
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.extractfile("reward.txt")
            assert member is not None and member.read().strip() == b"1"
        verified = time.perf_counter()
    finally:
        api.remove_container(cid, force=True)
    end = time.perf_counter()
    return {"first command": first - start, "verify": verified - first, "remove": end - verified,
            "trial": end - start}


def _exec(api: Any, cid: str, argv: list[str]) -> None:
    exec_id = api.exec_create(cid, argv)["Id"]
    api.exec_start(exec_id)
    code = api.exec_inspect(exec_id)["ExitCode"]
    assert code == 0, (argv, code)


def main() -> None:
    """Run both side by side and print medians, ratios and the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="trials of each kind (default 10)")
    args = parser.parse_args()
    from benchmarks.harness.images import ensure_image
    from benchmarks.harness.task import load_task
    from executors.docker import client as docker_client

    root = Path(tempfile.mkdtemp(prefix="lmc-bench-harness-"))
    task = load_task(write_task(root))
    image = ensure_image(task).tag  # built once here: the trials below find it cached
    api = docker_client.client().api
    lmc_trial(task, root / "run")  # warm: the runtime volume, imports, the first exec
    bare_trial(api, image)
    samples: dict[str, list[dict[str, float]]] = {"lmc": [], "bare": []}
    for _ in range(args.runs):
        samples["lmc"].append(lmc_trial(task, root / "run"))
        samples["bare"].append(bare_trial(api, image))
    table = Table(title=f"one trial, image cached: median of {args.runs} (ms)")
    for column in ("step", "lmc", "bare docker", "lmc - bare", "lmc / bare"):
        table.add_column(column, justify="left" if column == "step" else "right")
    medians = {kind: {k: statistics.median(s[k] for s in runs) * 1000 for k in runs[0]}
               for kind, runs in samples.items()}
    for step in ("first command", "verify", "remove", "trial"):
        a, b = medians["lmc"][step], medians["bare"][step]
        table.add_row(step, f"{a:.0f}", f"{b:.0f}", f"{a - b:+.0f}", f"{a / b:.2f}x")
    console = Console()
    console.print(table)
    first, trial, bare = medians["lmc"]["first command"], medians["lmc"]["trial"], medians["bare"]["trial"]
    console.print(f"first agent command {first:.0f} ms (target < 1000 ms): {'met' if first < 1000 else 'MISSED'}")
    overhead = (trial - bare) / bare
    console.print(f"harness overhead per trial {trial - bare:+.0f} ms = {overhead:.0%} of a bare run "
                  f"(target < 10 %): {'met' if overhead < 0.10 else 'MISSED'}")


if __name__ == "__main__":
    main()
