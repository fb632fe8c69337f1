"""Results people can trust: rows with outcomes, errors never scored 0, intervals, pass@k, tables, exit code."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks.harness import commands, results, summary
from benchmarks.harness.compare import compare_text
from benchmarks.harness.errors import BadResults
from benchmarks.harness.report import write_report
from benchmarks.harness.results import TrialRow, outcome_of
from orchestrator.fleet.errors import ERRORED
from orchestrator.fleet.progress import progress_display
from orchestrator.fleet.spec import SessionResult


def _row(task: str, model: str, trial: int, reward: float | None, failure: str | None = None,
         category: str = "files", **extra: object) -> TrialRow:
    return TrialRow(task, category, model, trial, reward, 2, 100, 0.01, 3.0, failure,
                    f"{failure} went wrong" if failure else "", **extra)  # type: ignore[arg-type]


# --- rows -----------------------------------------------------------------------------------------


def test_outcome_of_never_scores_an_error() -> None:
    assert outcome_of(1.0, None) == "passed"
    assert outcome_of(0.99, None) == "failed"
    assert outcome_of(0.0, "budget") == "failed"  # running out of budget is the model's failure: graded
    assert outcome_of(1.0, "budget") == "passed"
    for failure in ERRORED:
        assert outcome_of(0.0, failure) == "errored"
    assert outcome_of(None, None) == "errored"  # no reward, no score
    row = _row("t", "m", 0, 0.0, "infra")
    assert (row.reward, row.outcome, row.graded, row.passed, row.error_class) == (None, "errored", False, False,
                                                                                   "infra")


def test_new_rows_round_trip_with_every_field(tmp_path: Path) -> None:
    row = _row("t", "m", 1, 1.0, trial_dir="trials/t-t1-abc", phases={"build": 12.5, "agent": 3.25},
               exit_codes={"verifier": 0, "oracle": 0}, image="lmc-env/t:1234")
    results.append(tmp_path / results.FILE, row)
    [back] = results.read(tmp_path)
    assert back == row and back.outcome == "passed"
    on_disk = json.loads((tmp_path / results.FILE).read_text())
    assert on_disk["outcome"] == "passed" and on_disk["phases"] == {"build": 12.5, "agent": 3.25}


def test_old_rows_without_outcome_still_read_and_their_errors_lose_the_zero(tmp_path: Path) -> None:
    path = tmp_path / results.FILE
    old = {"task": "a", "category": "c", "model": "m", "trial": 0, "reward": 0.0, "steps": 1, "tokens": 5,
           "cost": 0.0, "wall_time": 1.0, "failure": "infra", "detail": "sandbox died", "attempts": 3,
           "retried": ["infra: x", "infra: y"], "status": "failed", "transcript": None, "desktop": False}
    passed = {**old, "task": "b", "reward": 1.0, "failure": None, "detail": "", "attempts": 1, "retried": []}
    path.write_text(json.dumps(old) + "\n" + json.dumps(passed) + "\n")
    errored, ok = results.read(path)
    assert (errored.outcome, errored.reward, errored.trial_dir, errored.phases) == ("errored", None, None, {})
    assert (ok.outcome, ok.reward) == ("passed", 1.0)


def test_a_torn_last_line_is_skipped_and_the_next_row_does_not_glue_onto_it(tmp_path: Path) -> None:
    path = tmp_path / results.FILE
    results.append(path, _row("a", "m", 0, 1.0))
    with open(path, "a") as out:
        out.write('{"task": "b", "mod')  # the run was killed mid-write
    assert [r.task for r in results.read(path)] == ["a"]
    results.append(path, _row("c", "m", 0, 0.0))
    assert [r.task for r in results.read(path)] == ["a", "c"]
    assert all(json.loads(line) for line in path.read_text().splitlines())


def test_a_whole_last_row_missing_its_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / results.FILE
    path.write_text(json.dumps({"task": "a", "category": "c", "model": "m", "trial": 0, "reward": 1.0,
                                "steps": 1, "tokens": 1, "cost": 0.0, "wall_time": 1.0, "failure": None}))
    results.append(path, _row("b", "m", 0, 0.0))
    assert [r.task for r in results.read(path)] == ["a", "b"]


def test_a_file_that_is_not_results_is_refused_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / results.FILE).write_text("not json\n{}\n")
    with pytest.raises(BadResults, match="is not JSON; was this file written by `lmc bench run`"):
        results.read(tmp_path)
    with pytest.raises(BadResults, match="pass the --output folder"):
        results.read(tmp_path / "missing")


# --- numbers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("passed", "n", "low", "high"), [
    # Newcombe (1998), Statistics in Medicine 17:857, table I, method 3 (Wilson score, no continuity correction)
    (81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718),
    (5, 10, 0.2366, 0.7634), (10, 10, 0.7225, 1.0)])
def test_wilson_interval_matches_published_values(passed: int, n: int, low: float, high: float) -> None:
    interval = summary.wilson(passed, n)
    assert interval is not None
    assert (round(interval[0], 4), round(interval[1], 4)) == (low, high)


def test_wilson_of_nothing_is_none() -> None:
    assert summary.wilson(0, 0) is None


def test_pass_at_k_is_the_unbiased_estimator() -> None:
    # by hand: 1 - C(n-c, k) / C(n, k)
    assert summary.pass_at_k(5, 2, 1) == pytest.approx(0.4)  # = c / n
    assert summary.pass_at_k(5, 2, 3) == pytest.approx(1 - 1 / 10)  # C(3,3)=1, C(5,3)=10
    assert summary.pass_at_k(3, 1, 2) == pytest.approx(1 - 1 / 3)  # C(2,2)=1, C(3,2)=3
    assert summary.pass_at_k(10, 3, 5) == pytest.approx(1 - 21 / 252)  # C(7,5)=21, C(10,5)=252
    assert summary.pass_at_k(4, 0, 2) == 0.0 and summary.pass_at_k(4, 3, 2) == 1.0  # n - c < k: certain
    with pytest.raises(ValueError, match="needs 0 < k <= n"):
        summary.pass_at_k(2, 1, 3)


def _three_trials() -> list[TrialRow]:
    return [
        _row("a", "m1", 0, 1.0), _row("a", "m1", 1, 0.0), _row("a", "m1", 2, 1.0),
        _row("b", "m1", 0, 0.0), _row("b", "m1", 1, 0.0), _row("b", "m1", 2, 1.0, category="text"),
        _row("c", "m1", 0, None, "environment"), _row("c", "m1", 1, 0.0, "verifier"), _row("c", "m1", 2, 1.0),
        _row("a", "m2", 0, 1.0), _row("a", "m2", 1, 0.5, "budget"), _row("a", "m2", 2, 0.0, "infra"),
    ]


def test_model_summary_counts_outcomes_and_scores_graded_trials_only() -> None:
    m1, m2 = summary.by_model(_three_trials())
    assert (m1.trials, m1.passed, m1.failed, m1.errored, m1.graded) == (9, 4, 3, {"environment": 1, "verifier": 1}, 7)
    assert m1.pass_rate == pytest.approx(4 / 7)
    assert m1.interval == summary.wilson(4, 7)
    assert m1.mean_reward == pytest.approx(4 / 7)
    assert (m2.passed, m2.failed, m2.errored, m2.budget) == (1, 1, {"infra": 1}, 1)
    assert m2.mean_reward == pytest.approx(0.75)  # (1 + 0.5) / 2: the infra error is not a 0


def test_pass_at_k_averages_tasks_with_enough_graded_trials() -> None:
    m1, m2 = summary.by_model(_three_trials())
    at1, at3 = m1.pass_at
    # a: n=3 c=2, b: n=3 c=1, c: n=1 c=1 (two errored)
    assert (at1.k, at1.tasks) == (1, 3) and at1.value == pytest.approx((2 / 3 + 1 / 3 + 1) / 3)
    assert (at3.k, at3.tasks) == (3, 2) and at3.value == pytest.approx((1.0 + 1.0) / 2)
    assert m2.pass_at[1].value is None and m2.pass_at[1].tasks == 0  # a has 2 graded trials of m2


def test_per_task_table_marks_errors() -> None:
    cells = summary.by_task(_three_trials())
    assert list(cells) == ["a", "b", "c"]
    assert cells["c"]["m1"] == summary.TaskCell(1, 1, {"environment": 1, "verifier": 1})
    text = summary.markdown(_three_trials())
    assert "| a | 2/3 | 1/2 + 1 errored (infra 1) |" in text
    assert "| c | 1/1 + 2 errored (environment 1, verifier 1) | - |" in text
    assert "| m1 | 9 | 4 | 3 | 2 | 57.1% [25.0-84.2%] |" in text
    assert "| model | environment | infra | verifier |" in text
    assert "| m1 | 100.0% (3) |" not in text and "| pass@1 | pass@3 |" in text
    assert "**3 of 12 trial(s) errored** (environment 1, infra 1, verifier 1)" in text


def test_one_trial_each_shows_no_pass_at_k_table() -> None:
    text = summary.markdown([_row("a", "m", 0, 1.0), _row("b", "m", 0, 0.0)])
    assert "pass@" not in text and "errored" not in text.split("## Per task")[1]


def test_report_lists_every_failed_and_errored_trial(tmp_path: Path) -> None:
    rows = _three_trials()
    md, report = write_report(rows, tmp_path, run_dir=tmp_path)
    page = report.read_text()
    assert "No failures" not in page and "Every one" not in page
    unsuccessful = [r for r in rows if not r.passed]
    assert page.count("<td class='failed'>failed</td>") == sum(r.outcome == "failed" for r in unsuccessful)
    assert page.count("<td class='errored'>errored</td>") == sum(r.outcome == "errored" for r in unsuccessful)
    assert "environment: environment went wrong" in page and "<b>3 of 12 trial(s) errored</b>" in page
    assert md.read_text().startswith("# lmc benchmark report")


def test_report_of_all_passed_says_so_and_links_trial_folders(tmp_path: Path) -> None:
    rows = [_row("a", "m", 0, 1.0, trial_dir="trials/a-t0"), _row("b", "m", 0, 0.0, trial_dir="trials/b-t0")]
    _, report = write_report(rows[:1], tmp_path / "one")
    assert "Every one of the 1 trial(s) passed." in report.read_text()
    _, report = write_report(rows, tmp_path / "elsewhere", run_dir=tmp_path / "run")
    assert "<a href='../run/trials/b-t0/'>trials/b-t0</a>" in report.read_text()


def test_report_without_matplotlib_keeps_the_tables_and_says_how_to_get_charts(tmp_path: Path) -> None:
    # `pip install lmc[docker,model]` has no matplotlib: `lmc bench run` must still end with its report
    code = ("import sys, pathlib; sys.modules['matplotlib'] = None\n"
            "from benchmarks.harness import results\nfrom benchmarks.harness.report import write_report\n"
            f"rows = results.read({str(tmp_path / 'run')!r})\n"
            f"write_report(rows, pathlib.Path({str(tmp_path / 'out')!r}))")
    (tmp_path / "run").mkdir()
    for row in _three_trials():
        results.append(tmp_path / "run" / results.FILE, row)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "out" / "report.html").read_text()
    assert "matplotlib is not installed" in page and "data:image/png" not in page
    assert "<b>3 of 12 trial(s) errored</b>" in page


def test_compare_counts_errors_apart() -> None:
    a = [_row("x", "m", 0, 1.0), _row("y", "m", 0, 1.0)]
    b = [_row("x", "m", 0, None, "infra"), _row("y", "m", 0, 0.0)]
    text = compare_text(a, b)
    assert "| m | 100.0% [34.2-100.0%] | 0.0% [0.0-79.3%] | -100.0 pts | 2 (0) | 2 (1) |" in text
    assert "- m x: 1 -> errored" in text and "- m y: 1 -> 0" in text


# --- exit code and progress --------------------------------------------------------------------------


def test_bench_run_exits_nonzero_when_a_trial_of_this_run_errored() -> None:
    rows = [_row("a", "m", 0, 1.0), _row("b", "m", 0, 0.0), _row("c", "old", 0, None, "infra")]
    assert commands.exit_code(rows, ("m",)) == 0  # a failed trial is a score, not an error
    assert commands.exit_code(rows, ("m", "old")) == 1
    assert commands.exit_code(rows, ("old",), ("a",)) == 0


def _result(failure: str | None, reward: float | None, attempts: int = 1) -> SessionResult:
    evaluation = {} if reward is None else {"reward": reward}
    return SessionResult("s", "complete", failure, "", attempts, 1, 1, 1, 0.0, 1.0, evaluation)


def test_progress_counts_passed_failed_and_errored_by_class() -> None:
    finished = (_result(None, 1.0), _result("budget", 0.0), _result("infra", None, 3), _result(None, 0.2),
                _result("verifier", 1.0))
    with progress_display(len(finished), False, results.session_outcome) as tally:
        for result in finished:
            tally(result)
    assert tally.line() == "passed 1 | failed 2 | errored 2 (infra 1, verifier 1) | retries 2"
    with progress_display(1, False) as plain:  # a fleet without graded sessions: finished, not "ok"
        plain(_result(None, None))
    assert plain.line() == "finished 1"


def test_lmc_bench_run_exits_1_when_a_trial_errored(task_factory: Callable[..., Path], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import cli as bench_cli

    task_factory("silent", test="#!/bin/bash\necho 'I forgot to write the reward'\n")  # the verifier breaks
    task_factory("fine")
    parser = argparse.ArgumentParser(prog="lmc")
    bench_cli.register(parser.add_subparsers(dest="command"))
    out = tmp_path / "run"
    args = parser.parse_args(["bench", "run", str(tmp_path / "suite"), "-m", "oracle", "-o", str(out),
                              "--no-progress", "--sandbox", "local"])
    assert args.handler(args) == 1
    printed = capsys.readouterr()
    assert commands.LOCAL_WARNING in printed.err and "1 trial(s) errored and were not graded" in printed.err
    rows = {r.task: r for r in results.read(out)}
    assert (rows["silent"].outcome, rows["silent"].reward, rows["silent"].failure) == ("errored", None, "verifier")
    assert (rows["fine"].outcome, rows["fine"].reward) == ("passed", 1.0)
    assert '"reward": null' in (out / results.FILE).read_text()
    assert "| oracle | 2 | 1 | 0 | 1 | 100.0% [20.7-100.0%] |" in printed.out
    assert "<td>silent</td><td>0</td><td class='errored'>errored</td>" in (out / "report.html").read_text()
