"""The JSON routes of the benchmark pages (module doc of benchmarks.console)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from benchmarks.console import reading
from benchmarks.harness import compare, results, summary
from benchmarks.harness.results import TrialRow
from orchestrator.server.errors import BadRequest


def _param(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if not value:
        raise BadRequest(f"missing query parameter {name!r}; e.g. /bench/run?name=RUN (a folder listed by /bench/runs)")
    return value


def _int_param(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name)
    if value is None:
        return default
    if not value.isdigit():
        raise BadRequest(f"query parameter {name!r} must be a whole number of 0 or more, got {value!r}")
    return int(value)


def _summaries(rows: list[TrialRow]) -> list[dict[str, Any]]:
    out = []
    for s in summary.by_model(rows):
        data = dataclasses.asdict(s)
        data.update(pass_rate=s.pass_rate, graded=s.graded, errored_total=s.errored_total, interval=s.interval)
        out.append(data)
    return out


def run_view(root: Path, name: str) -> dict[str, Any]:
    """One run: per-model summaries, the task x model table, every latest trial row."""
    rows = reading.rows(root, name)
    latest = results.latest(rows)
    tasks = {task: {m: dataclasses.asdict(cell) for m, cell in models.items()}
             for task, models in summary.by_task(latest).items()}
    return {"name": name, "count": len(rows), "models": _summaries(latest), "tasks": tasks,
            "rows": [reading.row_json(r) for r in latest]}


def rows_view(root: Path, name: str, after: int) -> dict[str, Any]:
    """The rows of results.jsonl from line `after` on, as written; `count` is where the next poll starts."""
    rows = reading.rows(root, name)
    return {"name": name, "count": len(rows), "rows": [reading.row_json(r) for r in rows[after:]]}


def compare_view(root: Path, a: str, b: str) -> dict[str, Any]:
    """Two runs: their per-model summaries and the tasks whose mean reward changed."""
    rows_a, rows_b = results.latest(reading.rows(root, a)), results.latest(reading.rows(root, b))
    return {"a": {"name": a, "models": _summaries(rows_a)}, "b": {"name": b, "models": _summaries(rows_b)},
            "changes": [dataclasses.asdict(c) for c in compare.changes(rows_a, rows_b)],
            "markdown": compare.compare_text(rows_a, rows_b, a, b)}


async def _json(work: Callable[[], Any]) -> Response:
    return JSONResponse(await asyncio.to_thread(work))


def routes(root: Path) -> list[BaseRoute]:
    """The benchmark routes over the runs under `root`."""
    root = Path(root)

    async def runs(request: Request) -> Response:
        return await _json(partial(reading.runs, root))

    async def run(request: Request) -> Response:
        return await _json(partial(run_view, root, _param(request, "name")))

    async def rows(request: Request) -> Response:
        return await _json(partial(rows_view, root, _param(request, "name"), _int_param(request, "after", 0)))

    async def trial(request: Request) -> Response:
        return await _json(partial(reading.trial, root, _param(request, "name"), _param(request, "task"),
                                   request.query_params.get("model"), _int_param(request, "trial", 0)))

    async def both(request: Request) -> Response:
        return await _json(partial(compare_view, root, _param(request, "a"), _param(request, "b")))

    return [Route("/bench/runs", runs, methods=["GET"]), Route("/bench/run", run, methods=["GET"]),
            Route("/bench/rows", rows, methods=["GET"]), Route("/bench/trial", trial, methods=["GET"]),
            Route("/bench/compare", both, methods=["GET"])]
