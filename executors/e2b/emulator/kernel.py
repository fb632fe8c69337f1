"""A small Python kernel for the fake code interpreter: one JSON request line in, the /execute lines out.

Runs as its own process in the sandbox's folder. Each request is
`{"code": text, "env": {...}}`; it answers with the line types E2B's code
interpreter streams (stdout, stderr, result, error, number_of_executions,
end_of_execution), one JSON object per line.
"""

from __future__ import annotations

import ast
import base64
import json
import linecache
import os
import sys
import time
import traceback
from typing import Any

OUT = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)


def emit(kind: str, **fields: Any) -> None:
    """Write one protocol line."""
    OUT.write(json.dumps({"type": kind, **fields}) + "\n")


class Stream:
    """sys.stdout / sys.stderr replacement that streams each write as a line of the protocol."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def write(self, text: str) -> int:
        if text:
            emit(self.kind, text=text, timestamp=time.time_ns())
        return len(text)

    def flush(self) -> None:
        pass


def result(value: Any) -> dict[str, Any]:
    """The formats of a displayed value, like IPython's display formatter."""
    data: dict[str, Any] = {"text": repr(value), "is_main_result": True}
    for name, method in (("png", "_repr_png_"), ("jpeg", "_repr_jpeg_"), ("html", "_repr_html_")):
        render = getattr(value, method, None)
        if callable(render):
            out = render()
            if out is not None:
                data[name] = base64.b64encode(out).decode() if isinstance(out, bytes) else out
    return data


def execute(code: str, scope: dict[str, Any], count: int) -> None:
    """Run one cell: statements, then the value of a final expression."""
    name = f"<cell {count}>"
    linecache.cache[name] = (len(code), None, code.splitlines(True), name)  # tracebacks show the source
    tree = ast.parse(code, name)
    last = tree.body[-1] if tree.body else None
    if isinstance(last, ast.Expr):
        tree.body.pop()
    exec(compile(tree, name, "exec"), scope)
    if isinstance(last, ast.Expr):
        value = eval(compile(ast.Expression(last.value), name, "eval"), scope)
        if value is not None:
            emit("result", **result(value))


def main() -> None:
    """Serve cells until stdin closes."""
    scope: dict[str, Any] = {"__name__": "__main__"}
    sys.stdout, sys.stderr = Stream("stdout"), Stream("stderr")
    count = 0
    for line in sys.stdin:
        request = json.loads(line)
        count += 1
        os.environ.update(request.get("env") or {})
        emit("number_of_executions", execution_count=count)
        try:
            execute(request["code"], scope, count)
        except BaseException as exc:  # noqa: BLE001 - the cell's failure is data for the caller
            tb = exc.__traceback__
            while tb is not None and tb.tb_frame.f_code.co_filename == __file__:  # show user frames only
                tb = tb.tb_next
            text = "".join(traceback.format_exception(type(exc), exc, tb))
            emit("error", name=type(exc).__name__, value=str(exc), traceback=text)
        emit("end_of_execution")


if __name__ == "__main__":
    main()
