"""The console's routes over real HTTP: static files without a token (and nothing else), the
benchmark routes read-only inside --bench-dir, errored trials never shown as reward 0, live rows
of a run being written neither lost nor repeated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from benchmarks.harness import results
from orchestrator.server.console import PUBLIC
from tests.server.helpers import Served


def get(served: Served, path: str, **params: Any) -> httpx.Response:
    return httpx.get(served.url + path, params=params, headers=served.headers(), timeout=60)


def test_the_console_files_are_public_hold_no_data_and_keep_scripts_to_the_server(console: Served) -> None:
    for path in sorted(PUBLIC):
        page = httpx.get(console.url + path, timeout=60)
        assert page.status_code == 200, path
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
        assert not any(token in page.text for token in console.tokens)
        # only reading them is open: anything else needs the token like every route
        assert httpx.post(console.url + path, timeout=60).status_code == 401
    html = httpx.get(console.url + "/console", timeout=60).text
    assert '<script src="/console/app.js"' in html and "http" not in html  # nothing loaded from elsewhere
    assert httpx.get(console.url + "/console/other.js", timeout=60).status_code == 401  # not a file list: an exact set


def test_runs_are_listed_with_their_outcomes(console: Served) -> None:
    found = get(console, "/bench/runs").json()
    by_name = {r["name"]: r for r in found["runs"]}
    assert set(by_name) == {"runs/first", "runs/second"}
    assert by_name["runs/first"]["outcomes"] == {"passed": 1, "failed": 1, "errored": 0}
    assert by_name["runs/second"]["outcomes"] == {"passed": 0, "failed": 1, "errored": 1}


def test_an_errored_trial_is_an_error_never_a_reward_of_0(console: Served) -> None:
    run = get(console, "/bench/run", name="runs/second").json()
    oracle = next(r for r in run["rows"] if r["model"] == "oracle")
    assert (oracle["outcome"], oracle["reward"], oracle["failure"]) == ("errored", None, "environment")
    summary = next(m for m in run["models"] if m["model"] == "oracle")
    assert summary["errored"] == {"environment": 1} and summary["pass_rate"] is None and summary["mean_reward"] is None
    assert run["tasks"]["data-csv-total"]["oracle"] == {"passed": 0, "graded": 0, "errored": {"environment": 1}}
    compared = get(console, "/bench/compare", a="runs/first", b="runs/second").json()
    assert {"model": "oracle", "task": "data-csv-total", "a": 1.0, "b": None} in compared["changes"]


def test_a_trial_has_its_conversation_phases_and_verifier_output(console: Served) -> None:
    trial = get(console, "/bench/trial", name="runs/first", task="data-csv-total", model="oracle").json()
    row = trial["row"]
    assert row["outcome"] == "passed" and row["reward"] == 1.0 and set(row["phases"]) >= {"agent", "verify"}
    assert "transcript" not in row  # a path of the machine that ran it
    assert [m["type"] for m in trial["messages"]][:2] == ["message", "code"]
    assert any(f["path"] == "verifier/reward.txt" and f["text"].strip() == "1" for f in trial["files"])


@pytest.mark.parametrize(("params", "status", "words"), [
    ({"name": "../outside"}, 400, "without '..'"),
    ({"name": "/etc"}, 400, "leading '/'"),
    ({"name": "runs/../../x"}, 400, "without '..'"),
    ({"name": "runs/missing"}, 404, "no run 'runs/missing'"),
    ({}, 400, "missing query parameter 'name'"),
])
def test_run_names_stay_inside_the_bench_folder(console: Served, params: dict[str, str], status: int,
                                                words: str) -> None:
    response = get(console, "/bench/run", **params)
    assert response.status_code == status and words in response.json()["message"], response.text


def test_a_link_or_a_transcript_path_out_of_the_bench_folder_is_not_followed(
        console: Served, bench_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / results.FILE).write_text("")
    (bench_dir / "linked").symlink_to(outside)
    response = get(console, "/bench/run", name="linked")
    assert response.status_code == 400 and "outside the bench folder" in response.json()["message"]
    assert "linked" not in {r["name"] for r in get(console, "/bench/runs").json()["runs"]}
    secret = outside / "secret.json"  # a transcript.json-shaped file a results row points at
    secret.write_text(json.dumps([{"role": "user", "type": "message", "content": "SECRET"}]))
    row = {"task": "t", "category": "c", "model": "m", "trial": 0, "reward": 1.0, "steps": 0, "tokens": 0,
           "cost": 0.0, "wall_time": 0.0, "failure": None, "transcript": str(secret)}
    (bench_dir / "pointing").mkdir()
    (bench_dir / "pointing" / results.FILE).write_text(json.dumps(row) + "\n")
    trial = get(console, "/bench/trial", name="pointing", task="t").json()
    assert trial["messages"] == [] and "SECRET" not in json.dumps(trial)


def test_live_rows_of_a_run_being_written_are_neither_lost_nor_repeated(console: Served, bench_dir: Path) -> None:
    live = bench_dir / "live"
    path = live / results.FILE
    template = results.read(bench_dir / "runs" / "first")[0]
    seen: list[tuple[str, str, int]] = []
    after = 0

    def poll() -> None:
        nonlocal after
        got = get(console, "/bench/rows", name="live", after=after).json()
        seen.extend((r["task"], r["model"], r["trial"]) for r in got["rows"])
        after = got["count"]

    import dataclasses
    for trial in range(6):
        results.append(path, dataclasses.replace(template, trial=trial))
        if trial % 2:
            poll()
    with path.open("a") as out:  # a row half written when the page polls
        out.write('{"task": "data-csv-total", "model": "null", "tri')
    poll()
    assert len(seen) == 6
    results.append(path, dataclasses.replace(template, trial=6))  # the writer repairs the torn tail
    poll()
    poll()
    assert seen == [(template.task, template.model, t) for t in range(7)]
    assert get(console, "/bench/rows", name="live", after="x").status_code == 400
