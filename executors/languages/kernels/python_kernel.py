"""The Python side of the python language: runs in the child, imports nothing of ours.

argv: CODE_FD CTL_FD. Code arrives NUL-terminated on CODE_FD; each cell runs in
one namespace; output goes to stdout/stderr (the agent's output pipe); events go
to CTL_FD as JSON lines: {"image": fmt, "data": base64} and {"done": status}.
"""

import ast
import base64
import builtins
import io
import json
import linecache
import os
import sys
import traceback

CODE_FD, CTL_FD = int(sys.argv[1]), int(sys.argv[2])
os.set_inheritable(CODE_FD, False)
os.set_inheritable(CTL_FD, False)
_ctl = os.fdopen(CTL_FD, "w", buffering=1, encoding="utf-8")
_ns = {"__name__": "__main__", "__builtins__": builtins}
_KERNEL = os.path.abspath(__file__)


def _emit(event):
    sys.stdout.flush()
    sys.stderr.flush()
    _ctl.write(json.dumps(event) + "\n")
    _ctl.flush()


def _emit_image(fmt, data):
    _emit({"image": fmt, "data": base64.b64encode(data).decode("ascii")})


def _show_figures():
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return
    for num in plt.get_fignums():
        buf = io.BytesIO()
        plt.figure(num).savefig(buf, format="png", bbox_inches="tight")
        _emit_image("png", buf.getvalue())
    plt.close("all")


def _display(value):
    image = sys.modules.get("PIL.Image")
    if image is not None and isinstance(value, image.Image):
        buf = io.BytesIO()
        value.save(buf, format="PNG")
        _emit_image("png", buf.getvalue())
        return
    print(repr(value))


def _print_exception(exc):
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == _KERNEL:
        tb = tb.tb_next
    lines = traceback.format_exception(type(exc), exc, tb)
    sys.stderr.write("".join(lines))


def _run_cell(source, filename):
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


def _read_cells():
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


def main():
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
            _emit({"done": status})
        except KeyboardInterrupt:
            _emit({"done": 130})


main()
