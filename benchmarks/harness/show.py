"""One trial, readably: what happened, how long each phase took, the conversation, the verifier's output.

    print(render(pick(results.read(run), "fix-git", model="oracle"), run))
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from benchmarks.harness import results, transcripts
from benchmarks.harness.errors import UnknownTask
from benchmarks.harness.results import TrialRow
from benchmarks.harness.trial import ATTEMPTS, guard
from lmc.messages import Message
from lmc.oi import from_oi

log = logging.getLogger(__name__)

#: lines of one output kept at each end unless --full
KEEP = 15
#: files of a trial folder that are not shown as text (the transcript and result have their own views)
SHOWN_ELSEWHERE = {transcripts.TRANSCRIPT, transcripts.TRAJECTORY, "result.json", *guard.FILES}


def pick(rows: list[TrialRow], task: str, model: str | None = None, trial: int | None = None) -> TrialRow:
    """The row of one trial; UnknownTask saying what the run has when the choice is missing or ambiguous."""
    rows = results.latest(rows)
    of_task = [r for r in rows if r.task == task]
    if not of_task:
        known = sorted({r.task for r in rows})
        raise UnknownTask(f"the run has no trial of task {task!r}; its tasks: {', '.join(known[:20]) or 'none'}"
                          f"{' ...' if len(known) > 20 else ''}")
    models = sorted({r.model for r in of_task})
    if model is None:
        if len(models) > 1:
            raise UnknownTask(f"task {task!r} ran with {len(models)} models ({', '.join(models)}); "
                              "choose one with --model")
        model = models[0]
    chosen = sorted((r for r in of_task if r.model == model), key=lambda r: r.trial)
    if not chosen:
        raise UnknownTask(f"task {task!r} did not run with model {model!r}; it ran with {', '.join(models)}")
    if trial is None:
        return chosen[0]
    for row in chosen:
        if row.trial == trial:
            return row
    raise UnknownTask(f"task {task!r} with {model} has no trial {trial}; its trials: "
                      f"{', '.join(str(r.trial) for r in chosen)}")


def _messages(row: TrialRow, run_dir: Path) -> tuple[list[Message] | None, str]:
    """The trial's conversation and where it came from: the .lmc file, else the trial's transcript.json."""
    if row.transcript:
        for path in (Path(row.transcript), run_dir / row.transcript):
            if path.is_file():
                return transcripts.load(path), str(path)
    if row.trial_dir:
        path = run_dir / row.trial_dir / transcripts.TRANSCRIPT
        if path.is_file():
            return from_oi(json.loads(path.read_text())), str(path)
    return None, "no transcript was saved"


def _clip(text: str, full: bool) -> list[str]:
    lines = text.rstrip("\n").split("\n")
    if full or len(lines) <= 2 * KEEP + 1:
        return lines
    return [*lines[:KEEP], f"... {len(lines) - 2 * KEEP} more lines (--full shows them) ...", *lines[-KEEP:]]


def _block(text: str, full: bool, mark: str = "  | ") -> list[str]:
    return [mark + line for line in _clip(text, full)]


def conversation(messages: list[Message], full: bool = False) -> list[str]:
    """The conversation as text: who said what, each code block and what it printed."""
    out: list[str] = []
    for m in messages:
        if m.type == "message":
            out += [f"{m.role}:", *_block(str(m.content), full, "  ")]
        elif m.type == "code":
            out += [f"{m.role} ran {m.format}:", *_block(str(m.content), full)]
        elif m.type == "console" and m.format == "output" and m.content:
            out += ["output:", *_block(str(m.content), full)]
        elif m.type == "console" and m.format == "exit_code" and m.content:
            out.append(f"  [exit status {m.content!s}]")
        elif m.type == "error":
            out += [f"error ({m.format}):", *_block(str(m.content), full, "  ! ")]
        elif m.type == "image":
            size = f"{len(m.content)} bytes" if isinstance(m.content, bytes) else str(m.content)
            out.append(f"{m.role} image ({m.format}, {size})")
        elif m.type == "status":
            out.append(f"status: {m.content!s}")
    return out


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


def _header(row: TrialRow, run_dir: Path) -> list[str]:
    if row.outcome == "errored":
        verdict = f"errored ({row.error_class}): not graded"
    else:
        verdict = f"{row.outcome} (reward {row.reward:g})" if row.reward is not None else row.outcome
    lines = [f"trial    {row.task} / {row.model} / trial {row.trial}", f"outcome  {verdict}"]
    if row.detail:
        lines += ["detail   " + line for line in _clip(row.detail, False)]
    if row.phases:
        lines.append("phases   " + ", ".join(f"{k} {_seconds(v)}" for k, v in row.phases.items())
                     + f" (wall {_seconds(row.wall_time)})")
    else:
        lines.append(f"wall     {_seconds(row.wall_time)}")
    lines.append(f"model    {row.steps} call(s), {row.tokens} tokens, {row.cost:.4f} USD, last status "
                 f"{row.status or '-'}")
    if row.exit_codes:
        lines.append("exits    " + ", ".join(f"{k} {v}" for k, v in row.exit_codes.items()))
    if row.image:
        lines.append(f"image    {row.image}")
    if row.node:
        lines.append(f"node     {row.node}")
    lines.append(f"attempts {row.attempts}" + "".join(f"\n  retried: {why}" for why in row.retried))
    if row.trial_dir:
        lines.append(f"folder   {run_dir / row.trial_dir}")
        kept = run_dir / row.trial_dir / ATTEMPTS
        earlier = sorted((p for p in kept.iterdir() if p.name.isdigit()), key=lambda p: int(p.name)) \
            if kept.is_dir() else []
        if earlier:  # retried attempts, and any cut short by a killed run: each with its transcript and logs
            lines.append("earlier  " + ", ".join(str(p) for p in earlier))
    return lines


def _files(folder: Path, full: bool) -> list[str]:
    """The verifier's output (and the build log of an environment failure), tails first."""
    out: list[str] = []
    for sub in ("verifier", "agent"):
        base = folder / sub
        if not base.is_dir():
            continue
        for path in sorted(p for p in base.rglob("*") if p.is_file() and p.name not in SHOWN_ELSEWHERE):
            try:
                text = path.read_text()
            except (UnicodeDecodeError, OSError):
                continue
            if text.strip():
                out += ["", f"--- {path.relative_to(folder)} ---", *_clip(text, full)]
    return out


def trial_notes(folder: Path) -> list[str]:
    """What the harness recorded it did not enforce (trial.json's notes), if anything."""
    try:
        notes = json.loads((folder / "trial.json").read_text()).get("notes", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [str(n) for n in notes] if isinstance(notes, list) else []


def render(row: TrialRow, run_dir: Path, *, full: bool = False) -> str:
    """Everything `lmc bench show` prints about one trial."""
    run_dir = Path(run_dir)
    lines = _header(row, run_dir)
    messages, source = _messages(row, run_dir)
    lines += ["", f"=== conversation ({source}) ==="]
    lines += conversation(messages, full) if messages is not None else ["(none)"]
    if row.trial_dir:
        folder = run_dir / row.trial_dir
        notes = trial_notes(folder)
        if notes:
            lines += ["", "=== notes ===", *(f"- {n}" for n in notes)]
        build = folder / "build.log"
        if row.error_class == "environment" and build.is_file():
            lines += ["", "=== build.log ===", *_clip(build.read_text(errors="replace"), full)]
        files = _files(folder, full)
        if files:
            lines += ["", "=== trial files ===", *files[1:]]
    lines += ["", f"reward   {'-' if row.reward is None else f'{row.reward:g}'} ({row.outcome})"]
    return "\n".join(lines) + "\n"
