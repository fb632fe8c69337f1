"""The suite through the full pipeline: oracle scores 100% and null 0% on a subset covering every category.

The whole suite: `lmc bench run builtin --model oracle --model null` (19 s at --parallel 8 on 2 cores).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from benchmarks.harness import results
from benchmarks.harness.runner import RunConfig, run_bench
from benchmarks.harness.suite import BUILTIN

#: one or two tasks per category, two of them desktop tasks on their own Xvfb
SUBSET = ("files-move-logs", "text-log-errors", "py-module-function", "data-json-merge", "fix-shell-script",
          "git-branch", "desktop-form-fill", "desktop-read-code")


def _run(tmp_path: Path, *models: str, sandbox: str = "local", tasks: tuple[str, ...] = SUBSET
         ) -> list[results.TrialRow]:
    config = RunConfig(suite=BUILTIN, output=tmp_path / "out", models=models, tasks=tasks, parallel=4,
                       sandbox=sandbox)
    return list(run_bench(config))


@pytest.mark.desktop
def test_oracle_scores_full_and_null_scores_zero(tmp_path: Path) -> None:
    rows = _run(tmp_path, "oracle", "null")
    by_model = {m: {r.task: r for r in rows if r.model == m} for m in ("oracle", "null")}
    assert set(by_model["oracle"]) == set(SUBSET) == set(by_model["null"])
    assert {t: r.reward for t, r in by_model["oracle"].items()} == dict.fromkeys(SUBSET, 1.0)
    assert {t: r.reward for t, r in by_model["null"].items()} == dict.fromkeys(SUBSET, 0.0)
    assert all(r.failure is None and r.attempts == 1 for r in rows), [r for r in rows if r.failure]
    oracle = by_model["oracle"]["git-branch"]
    assert oracle.steps == 2 and oracle.tokens > 0 and oracle.transcript and Path(oracle.transcript).is_file()
    assert by_model["oracle"]["desktop-form-fill"].desktop
    # the rows on disk are the rows streamed
    on_disk = results.read(tmp_path / "out")
    assert sorted(r.key for r in on_disk) == sorted(r.key for r in rows)


def test_a_rerun_resumes_and_skips_finished_trials(tmp_path: Path) -> None:
    first = _run(tmp_path, "oracle", tasks=("files-create-hello", "text-reverse-lines"))
    assert [r.reward for r in first] == [1.0, 1.0]
    # a run killed mid-write leaves half a line: it is ignored, not fatal
    with open(tmp_path / "out" / results.FILE, "a") as out:
        out.write('{"task": "files-cr')
    again = _run(tmp_path, "oracle", tasks=("files-create-hello", "text-reverse-lines", "files-largest"))
    assert [r.task for r in again] == ["files-largest"]


def test_run_command_writes_results_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import cli as bench_cli

    parser = argparse.ArgumentParser(prog="lmc")
    bench_cli.register(parser.add_subparsers(dest="command"))
    out = tmp_path / "run"
    args = parser.parse_args(["bench", "run", "builtin", "--model", "oracle", "--model", "null", "-t",
                              "files-archive", "-t", "data-csv-total", "-p", "2", "-o", str(out), "--no-progress",
                              "--sandbox", "local"])
    assert args.handler(args) == 0
    printed = capsys.readouterr().out
    assert "| oracle | 2 | 2 | 0 | 0 | 100.0% [34.2-100.0%] |" in printed
    assert "| null | 2 | 0 | 2 | 0 | 0.0% [0.0-65.8%] |" in printed
    rows = [json.loads(line) for line in (out / results.FILE).read_text().splitlines()]
    assert {(r["model"], r["reward"]) for r in rows} == {("oracle", 1.0), ("null", 0.0)}
    assert {"task", "model", "reward", "steps", "tokens", "cost", "wall_time", "failure", "transcript"} <= set(rows[0])
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "<p>2 failed, 0 errored, of 4 trial(s).</p>" in page


@pytest.mark.docker
def test_oracle_and_null_in_the_tasks_docker_images_use_the_real_paths(tmp_path: Path) -> None:
    rows = _run(tmp_path, "oracle", "null", sandbox="docker", tasks=("files-permissions", "data-csv-to-json"))
    assert sorted((r.model, r.task, r.reward) for r in rows) == [
        ("null", "data-csv-to-json", 0.0), ("null", "files-permissions", 0.0),
        ("oracle", "data-csv-to-json", 1.0), ("oracle", "files-permissions", 1.0)]


@pytest.mark.docker
@pytest.mark.desktop
def test_desktop_tasks_in_docker_pass_with_the_oracle_and_fail_with_null(tmp_path: Path) -> None:
    # each trial's app runs in the task's container and draws on the trial's own Xvfb (only its socket is
    # mounted); the oracle's xdotool clicks from inside the container, the verifier reads what the app saved
    # (rename-window's reads the app's live window title: the app outlives the agent's processes)
    tasks = ("desktop-form-fill", "desktop-read-code", "desktop-rename-window")
    rows = _run(tmp_path, "oracle", "null", sandbox="docker", tasks=tasks)
    assert sorted((r.model, r.task, r.reward) for r in rows) == sorted(
        [("null", t, 0.0) for t in tasks] + [("oracle", t, 1.0) for t in tasks]), [r.detail for r in rows]
    assert all(r.desktop and r.failure is None and (r.image or "").startswith("lmc-env/") for r in rows)
