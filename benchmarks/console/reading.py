"""Reading runs for the console, only inside the bench folder: run names, rows, one trial's files."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any

from benchmarks.harness import results, show, transcripts
from benchmarks.harness.errors import BadResults, UnknownTask
from benchmarks.harness.results import TrialRow
from lmc.messages import Message
from lmc.oi import from_oi
from orchestrator.server.errors import BadRequest, NotFound
from orchestrator.server.wire import to_json

log = logging.getLogger(__name__)

#: how deep under the bench folder runs are looked for (bench-results/<sweep>/<run>)
DEPTH = 3
#: the most of one trial file sent to the page (its end is kept: that is where verifiers fail)
FILE_LIMIT = 64 * 1024


def inside(root: Path, path: Path) -> bool:
    """Whether `path`, links resolved, lies in `root`."""
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


def run_dir(root: Path, name: str) -> Path:
    """The folder of run `name` under root; BadRequest for a path that leaves it, NotFound for none there."""
    parts = name.split("/")
    if "\0" in name or name.startswith("/") or "\\" in name or ".." in parts:
        raise BadRequest(f"run name {name!r} must be a folder path inside the bench folder, without '..' "
                         "or a leading '/'; pick one from /bench/runs")
    folder = root / name
    if not inside(root, folder):
        raise BadRequest(f"run {name!r} leads outside the bench folder (a link?); it is not served")
    if not (folder / results.FILE).is_file():
        raise NotFound(f"no run {name!r} in the bench folder (no {results.FILE} there); the runs are at /bench/runs")
    return folder


def runs(root: Path) -> dict[str, Any]:
    """The runs under root (folders with a results.jsonl), newest first."""
    found = []
    if root.is_dir():
        candidates = [root / results.FILE, *(p for depth in range(1, DEPTH + 1)
                                               for p in root.glob("/".join(["*"] * depth) + f"/{results.FILE}"))]
        for path in candidates:
            if not path.is_file() or not inside(root, path):
                continue
            name = path.parent.relative_to(root).as_posix()
            found.append({"name": name, "modified": path.stat().st_mtime, **_counts(path)})
    found.sort(key=lambda r: -float(r["modified"]))
    return {"folder": str(root), "runs": found}


def _counts(path: Path) -> dict[str, Any]:
    try:
        rows = results.latest(results.read(path))
    except BadResults as exc:
        return {"error": str(exc), "trials": 0, "models": [], "outcomes": {}}
    outcomes = {o: sum(r.outcome == o for r in rows) for o in results.OUTCOMES}
    return {"trials": len(rows), "models": sorted({r.model for r in rows}), "outcomes": outcomes}


def rows(root: Path, name: str) -> list[TrialRow]:
    """Every row of a run's results.jsonl in file order (a torn last line is left for the next read)."""
    try:
        return results.read(run_dir(root, name))
    except BadResults as exc:
        raise BadRequest(str(exc)) from None


def row_json(row: TrialRow) -> dict[str, Any]:
    """A row for the page: its fields; errored trials keep reward None (shown as errors, never 0)."""
    data = dataclasses.asdict(row)
    data.pop("transcript", None)  # a path of the machine that ran it
    return data


def _messages(root: Path, folder: Path, row: TrialRow) -> tuple[list[Message], str]:
    """The trial's conversation from files inside the bench folder only."""
    if row.transcript:
        for path in (Path(row.transcript), folder / row.transcript):
            if path.is_file() and inside(root, path):
                return transcripts.load(path), path.name
    if row.trial_dir:
        path = folder / row.trial_dir / transcripts.TRANSCRIPT
        if path.is_file() and inside(root, path):
            return from_oi(json.loads(path.read_text())), path.name
    return [], "no transcript was saved"


def _files(root: Path, trial: Path) -> list[dict[str, Any]]:
    """The text files of the trial's verifier/ and agent/ folders (and build.log), ends kept."""
    out = []
    paths = [trial / "build.log", *(p for sub in ("verifier", "agent") for p in sorted((trial / sub).rglob("*")))]
    for path in paths:
        if path.name in show.SHOWN_ELSEWHERE or not path.is_file() or not inside(root, path):
            continue
        data = path.read_bytes()
        text = data[-FILE_LIMIT:].decode("utf-8", errors="replace")
        out.append({"path": path.relative_to(trial).as_posix(), "text": text, "size": len(data),
                    "clipped": len(data) > FILE_LIMIT})
    return out


def trial(root: Path, name: str, task: str, model: str | None, number: int) -> dict[str, Any]:
    """One trial: its row, its conversation (images as base64), its verifier's output and notes."""
    folder = run_dir(root, name)
    try:
        row = show.pick(rows(root, name), task, model, number)
    except UnknownTask as exc:
        raise NotFound(str(exc)) from None
    messages, source = _messages(root, folder, row)
    files: list[dict[str, Any]] = []
    notes: list[str] = []
    if row.trial_dir and inside(root, folder / row.trial_dir):
        files, notes = _files(root, folder / row.trial_dir), show.trial_notes(folder / row.trial_dir)
    return {"run": name, "row": row_json(row), "messages": [to_json(m) for m in messages],
            "source": source, "files": files, "notes": notes}
