"""The Python side of the python language: runs in the child, imports nothing of ours.

argv: CODE_FD CTL_FD. Code arrives NUL-terminated on CODE_FD; each cell runs in
one namespace; output goes to stdout/stderr (the agent's output pipe); events go
to CTL_FD as JSON lines: {"image": fmt, "data": base64} and {"done": status}.
A child the code forks (os.fork, multiprocessing) lets go of CODE_FD and CTL_FD at once and
exits when it gets back to the kernel loop, so only this process ever serves cells.
"""

from __future__ import annotations

import ast
import base64
import builtins
import io
import json
import linecache
import os
import sys
import traceback

# typing.TYPE_CHECKING without importing typing: the kernel runs on the image's Python, which
# may not have loaded typing yet, and would pay for it on every start
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

CODE_FD, CTL_FD = int(sys.argv[1]), int(sys.argv[2])
os.set_inheritable(CODE_FD, False)
os.set_inheritable(CTL_FD, False)
_ctl = os.fdopen(CTL_FD, "w", buffering=1, encoding="utf-8")
# the cells run in a module that is sys.modules["__main__"], so what pickle looks up by name there
# (a cell's functions sent to a multiprocessing pool) is found, and spawn does not re-run this file
sys.modules["lmc_python_kernel"] = sys.modules["__main__"]  # this file, as lmc_inline_backend finds it
_main = type(sys)("__main__")
sys.modules["__main__"] = _main
_ns: dict[str, Any] = _main.__dict__
_ns["__builtins__"] = builtins
if "LMC_REPLY_FD" in os.environ:
    os.set_inheritable(int(os.environ["LMC_REPLY_FD"]), False)
_KERNEL = os.path.abspath(__file__)
_PID = os.getpid()  # a forked child of the user's code has another pid and must never serve cells


def _detach_forked_child() -> None:
    """In a child the user's code forked: let go of the kernel's pipes, so it cannot take cells or events."""
    for fd in (CODE_FD, CTL_FD, _REPLY_FD):
        try:
            os.close(fd)
        except OSError:
            pass


def _leave_if_forked(status: int) -> None:
    """A forked child that got back to the kernel loop ends here (as a plain script's child would)."""
    if os.getpid() != _PID:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _emit(event: dict[str, Any]) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    if os.getpid() != _PID:  # a forked child has no control pipe: say so rather than drop an image
        sys.stderr.write(f"[lmc: {', '.join(event)} from a forked child process is not shown; "
                         "show it from the main process]\n")
        return
    _ctl.write(json.dumps(event) + "\n")
    _ctl.flush()


def _emit_image(fmt: str, data: bytes) -> None:
    _emit({"image": fmt, "data": base64.b64encode(data).decode("ascii")})


class ComputerError(Exception):
    """A computer.* call failed; the message says why and what to do."""


_REPLY_FD = int(os.environ.pop("LMC_REPLY_FD", "-1"))
os.environ.pop("LMC_CALL_FD", None)
_calls = [0]
_replies = b""


def _unbytes(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__bytes__"}:
            return base64.b64decode(value["__bytes__"])
        if value.get("type") == "image" and isinstance(value.get("content"), dict):
            data = _unbytes(value["content"])
            try:
                from PIL import Image

                return Image.open(io.BytesIO(data))
            except ImportError:
                return data
        return {k: _unbytes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unbytes(v) for v in value]
    return value


def _call(path: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Send one computer.* call up through the agent and wait for its answer."""
    global _replies
    if _REPLY_FD < 0:
        raise ComputerError("computer.* is not available in this process")
    if os.getpid() != _PID:
        raise ComputerError("computer.* is not available in a forked child process; call it from the main process")
    _calls[0] += 1
    cid = _calls[0]
    _emit({"call": path, "args": list(args), "kwargs": kwargs, "cid": cid})
    while True:
        while b"\n" not in _replies:
            data = os.read(_REPLY_FD, 65536)
            if not data:
                raise ComputerError("the agent closed the computer.* channel")
            _replies += data
        line, _replies = _replies.split(b"\n", 1)
        reply = json.loads(line)
        if reply.get("cid") != cid:
            continue  # the answer to a call that was interrupted
        if "error" in reply:
            raise ComputerError(reply["error"].get("message", "computer call failed"))
        return _unbytes(reply.get("result"))


class _Device:
    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if method.startswith("_"):
            raise AttributeError(method)
        return lambda *args, **kwargs: _call(f"{self._name}.{method}", args, kwargs)

    def __repr__(self) -> str:
        return f"<computer.{self._name}>"


class _Computer:
    """computer.display / mouse / keyboard / clipboard / windows / accessibility: calls go to the session's devices."""

    def __init__(self) -> None:
        # devices.facade.DEVICES (this file runs in the sandbox, where devices is not installed)
        for name in ("display", "mouse", "keyboard", "clipboard", "windows", "accessibility"):
            setattr(self, name, _Device(name))

    def __repr__(self) -> str:
        return "<computer: display, mouse, keyboard, clipboard, windows, accessibility>"


def _show_figures() -> None:
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return
    for num in plt.get_fignums():
        buf = io.BytesIO()
        plt.figure(num).savefig(buf, format="png", bbox_inches="tight")
        _emit_image("png", buf.getvalue())
    plt.close("all")


def _display(value: object) -> None:
    image = sys.modules.get("PIL.Image")
    if image is not None and isinstance(value, image.Image):
        buf = io.BytesIO()
        value.save(buf, format="PNG")
        _emit_image("png", buf.getvalue())
        return
    print(repr(value))


def _user_frames(te: traceback.TracebackException | None) -> None:
    """Drop this kernel's frames from a traceback, its causes and contexts."""
    seen = set()
    while te is not None and id(te) not in seen:
        seen.add(id(te))
        te.stack = traceback.StackSummary.from_list([f for f in te.stack if f.filename != _KERNEL])
        _user_frames(te.__cause__)
        te = te.__context__


def _print_exception(exc: BaseException) -> None:
    te = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    _user_frames(te)
    sys.stderr.write("".join(te.format()))


def _run_cell(source: str, filename: str) -> None:
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    tree = ast.parse(source, filename, "exec")
    last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    if last is not None:
        tree.body.pop()
    exec(compile(tree, filename, "exec"), _ns)
    if last is not None:
        value = eval(compile(ast.Expression(last.value), filename, "eval"), _ns)
        if value is not None:
            _ns["_"] = value
            _display(value)


def _read_cells() -> Iterator[str]:
    buffer = b""
    while True:
        try:
            data = os.read(CODE_FD, 65536)
        except KeyboardInterrupt:
            continue  # an interrupt that arrived between cells
        if not data:
            return
        buffer += data
        while b"\0" in buffer:
            cell, buffer = buffer.split(b"\0", 1)
            yield cell.decode("utf-8", "surrogatepass")


def main() -> None:
    os.register_at_fork(after_in_child=_detach_forked_child)
    _ns["computer"] = _Computer()
    for number, source in enumerate(_read_cells(), 1):
        status = 0
        try:
            try:
                _run_cell(source, f"<cell {number}>")
                _show_figures()
            except KeyboardInterrupt:
                sys.stderr.write("KeyboardInterrupt\n")
                status = 130
            except SystemExit as exc:
                code = exc.code
                status = code if isinstance(code, int) else (0 if code is None else 1)
            except BaseException as exc:
                _print_exception(exc)
                status = 1
            _leave_if_forked(status)
            _emit({"done": status})
        except KeyboardInterrupt:
            _leave_if_forked(130)
            _emit({"done": 130})


main()
