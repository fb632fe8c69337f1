"""Run models x tasks on a Fleet; append one JSONL row per trial as it finishes; resume a run.

    rows = run_bench(RunConfig(suite=BUILTIN, models=("oracle",), output=Path("out")))
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.harness import results
from benchmarks.harness.models import LOCAL, ModelChoice
from benchmarks.harness.results import TrialRow, outcome_of
from benchmarks.harness.suite import load_suite
from benchmarks.harness.task import Task
from benchmarks.harness.transcripts import export
from benchmarks.harness.trial import TrialHooks, TrialOptions, guard
from benchmarks.harness.trial.record import load as load_record
from orchestrator.fleet.errors import ERRORED, FleetConfigError
from orchestrator.fleet.fleet import Budget, Fleet, FleetConfig, SandboxConfig, SessionResult, SessionSpec
from orchestrator.settings import Settings

log = logging.getLogger(__name__)

#: sandboxes whose GUI programs can draw on the trial's virtual desktop (an Xvfb on the host; docker mounts
#: only its X socket into the task's container)
DESKTOP_SANDBOXES = ("local", "docker")
PROMPT_TAIL = "\n\nWork in the current working directory. Say when you are done."
#: the trials' folders, under the run's output folder
TRIALS = "trials"
#: a recorded desktop trial's video, in its folder (--record)
RECORDING = "screen.mp4"
#: seconds for the agent when neither the task ([agent] timeout_sec) nor --timeout says (Harbor: unlimited)
DEFAULT_AGENT_TIMEOUT = 1800.0


@dataclass(frozen=True)
class RunConfig:
    """One benchmark run."""

    suite: Path  #: a suite folder (or one task folder)
    output: Path  #: where results.jsonl and transcripts/ go
    models: tuple[str, ...] = ("oracle",)  #: litellm names, "local", or the pseudo-models oracle / null
    tasks: tuple[str, ...] = ()  #: only these task names; () for all
    trials: int = 1  #: repetitions of each (task, model)
    parallel: int = 4  #: sessions at once
    sandbox: str = "docker"  #: docker (the task's own image), local or e2b
    max_steps: int = 10  #: model calls per trial, unless the task's [agent] max_steps says otherwise
    max_tokens: int | None = None  #: token budget per trial
    max_cost: float | None = None  #: USD budget per trial
    timeout: float | None = None  #: wall seconds per trial, instead of each task's [agent] timeout_sec
    max_retries: int = 2  #: retries after infrastructure failures
    api_base: str | None = None  #: base URL for the hosted models named (not for local or pseudo)
    api_key: str | None = None  #: API key for them; None lets litellm read the provider's variable
    ray: bool = False  #: run the fleet's sessions in Ray worker actors
    resume: bool = True  #: skip trials already in results.jsonl (failed infra ones run again)
    progress: bool = False  #: show the fleet's live progress on stderr
    image_map: dict[str, str] = field(default_factory=dict)  #: FROM image -> local image (--image-map)
    verifier: str = "shared"  #: shared: tests run in the agent's container; separate: in a fresh one
    keep_services: bool = False  #: spare the agent's listening servers when stopping its processes before the verifier
    record: bool = False  #: record each desktop trial's screen into its folder as screen.mp4 (needs ffmpeg)

    def __post_init__(self) -> None:
        if not self.models:
            raise FleetConfigError("name at least one model (--model oracle, --model gpt-4o, --model local)")
        if self.trials < 1:
            raise FleetConfigError(f"trials must be at least 1, got {self.trials!r}")


def trial_id(task: str, model: str, trial: int) -> str:
    """A conversation id for a trial: readable, unique per (task, model, trial), at most 64 characters."""
    digest = hashlib.sha1(f"{model}\0{task}\0{trial}".encode()).hexdigest()[:8]
    return f"{task[:44]}-t{trial}-{digest}"


def _choices(config: RunConfig) -> list[ModelChoice]:
    chosen = []
    for name in config.models:
        base: dict[str, Any] = {}
        if name == LOCAL:
            # each session serves the embedded model itself, as `lmc` does: that path caps replies at
            # 512 tokens, without which the small model can ramble a step to the end of its window
            base.update(model=None, local=True)
        elif name not in ("oracle", "null"):
            base.update(model=name, api_base=config.api_base, api_key=config.api_key)
        chosen.append(ModelChoice(name, base))
    return chosen


def _runnable(tasks: list[Task], sandbox: str) -> list[Task]:
    kept = [t for t in tasks if t.desktop is None or sandbox in DESKTOP_SANDBOXES]
    if len(kept) < len(tasks):
        log.warning("skipping %d desktop task(s): the %s sandbox cannot reach a virtual desktop yet; "
                    "run them with --sandbox local or docker", len(tasks) - len(kept), sandbox)
    return kept


def _options(config: RunConfig, run_id: str) -> TrialOptions:
    return TrialOptions(config.output, dict(config.image_map), config.verifier, keep_services=config.keep_services,
                        run_id=run_id)


def _spec(task: Task, model: ModelChoice, trial: int, config: RunConfig, run_id: str) -> SessionSpec:
    desktop = None
    if task.desktop is not None:
        from devices.desktop import DesktopConfig

        desktop = DesktopConfig(width=task.desktop.width, height=task.desktop.height)
    ident = trial_id(task.name, model.name, trial)
    # each trial keeps its transcript in its own folder, which a retried or resumed attempt starts afresh
    settings = Settings(data_dir=config.output / TRIALS / ident)
    budget = Budget(wall_time=config.timeout or task.agent_timeout or DEFAULT_AGENT_TIMEOUT,
                    steps=task.max_steps or config.max_steps, tokens=config.max_tokens, cost=config.max_cost)
    prompt = task.instruction + PROMPT_TAIL
    record = config.output / TRIALS / ident / RECORDING if config.record and desktop is not None else None
    return SessionSpec(ident, prompt, settings, budget, desktop,
                       TrialHooks(task, dataclasses.replace(model), _options(config, run_id), ident), record)


def _row(task: Task, model: str, trial: int, result: SessionResult, run_dir: Path) -> TrialRow:
    folder = run_dir / TRIALS / result.id
    record = load_record(folder)
    failure, detail = result.failure, result.detail
    reward: float | None = None
    if failure not in ERRORED:  # the model's own failures (budget, stuck) are graded
        if "reward" in result.evaluation:
            reward = float(result.evaluation["reward"])
        else:  # graded trials always carry a reward; if one does not, say so rather than score it 0
            failure, detail = "verifier", detail or "the verifier returned no reward"
    row = TrialRow(
        task=task.name, category=task.category, model=model, trial=trial, reward=reward,
        outcome=outcome_of(reward, failure), steps=result.steps, tokens=result.tokens, cost=result.cost,
        wall_time=round(result.wall_time, 3), failure=failure, detail=detail, attempts=result.attempts,
        retried=list(result.retried), status=result.status, transcript=result.transcript,
        desktop=task.desktop is not None, trial_dir=str(folder.relative_to(run_dir)), phases=record.phases,
        exit_codes=record.exit_codes, image=record.image, node=result.node)
    _keep(row, folder, result)
    return row


def _keep(row: TrialRow, folder: Path, result: SessionResult) -> None:
    """result.json, and the transcript as JSON and as an ATIF trajectory, in the trial's folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "result.json").write_text(json.dumps(dataclasses.asdict(row), indent=2) + "\n")
    if row.transcript and Path(row.transcript).is_file():
        try:
            export(Path(row.transcript), folder, model=row.model, prompt_tokens=result.prompt_tokens,
                   completion_tokens=result.completion_tokens, cost_usd=result.cost, model_calls=result.steps)
        except Exception as exc:  # an export problem must not lose the row
            log.warning("could not export the transcript of %s: %s", row.task, exc)


def _done(path: Path) -> set[tuple[str, str, int]]:
    """Trials already graded (passed or failed); errored ones run again on resume."""
    if not path.is_file():
        return set()
    return {r.key for r in results.latest(results.read(path)) if r.outcome != "errored"}


def run_bench(config: RunConfig, fleet: Fleet | None = None) -> Iterator[TrialRow]:
    """Run every (task, model, trial) not yet done; yield each row as it is appended to results.jsonl."""
    tasks = _runnable(load_suite(config.suite, list(config.tasks) or None), config.sandbox)
    if config.record and any(t.desktop is not None for t in tasks):
        from devices.recording import ffmpeg_missing

        if (missing := ffmpeg_missing()) is not None:
            raise FleetConfigError(f"--record cannot record the desktop trials: {missing}; or run without --record")
    out = config.output / results.FILE
    results.repair(out)  # a row torn by a killed run is cut now, never read or built on
    done = _done(out) if config.resume else set()
    with ExitStack() as stack:
        models = _choices(config)
        wanted = {}
        for task in tasks:
            for model in models:
                for trial in range(config.trials):
                    if (task.name, model.name, trial) not in done:
                        wanted[trial_id(task.name, model.name, trial)] = (task, model.name, trial)
        run_id = guard.new_run_id()
        specs = [_spec(t, m, n, config, run_id) for t, name, n in wanted.values() for m in models if m.name == name]
        for ident in wanted:  # from now on, an attempt of an earlier run of these trials stops (trial/guard.py)
            guard.claim(config.output / TRIALS / ident, run_id)
        log.info("%d trial(s) to run, %d already done", len(specs), len(done))
        if fleet is None:
            fleet = stack.enter_context(Fleet(FleetConfig(
                max_sessions=config.parallel, max_retries=config.max_retries, ray=config.ray,
                progress=config.progress, sandbox=SandboxConfig(config.sandbox,
                                                                per_node=max(config.parallel, 1)))))
        for result in fleet.run(specs, outcome=results.session_outcome):
            task, model_name, trial = wanted[result.id]
            row = _row(task, model_name, trial, result, config.output)
            results.append(out, row)
            yield row
