"""Languages routed to E2B's code interpreter: stdout, stderr, Results and errors as LMC chunks, streamed."""

from __future__ import annotations

import base64
import io
import threading

from e2b_code_interpreter.models import Result
from PIL import Image

from executors.e2b.interpreter import ConsoleBlock, result_chunks
from executors.sandbox.languages.base import RunLimits
from lmc.assembly import assemble
from lmc.messages import Message
from tests.e2b.conftest import MakeExecutor


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), "blue").save(out, "PNG")
    return out.getvalue()


def _text(messages: list[Message]) -> str:
    return "".join(m.content for m in messages if m.type == "console" and m.format == "output")


def test_results_map_to_images_or_text() -> None:
    png, block = _png(), ConsoleBlock()
    (image,) = result_chunks(Result(png=base64.b64encode(png).decode(), text="<Figure>"), block)
    assert (image.type, image.format, image.content, image.start, image.end) == ("image", "png", png, True, True)
    (jpeg,) = result_chunks(Result(jpeg=base64.b64encode(b"\xff\xd8jpeg").decode()), block)
    assert jpeg.format == "jpeg" and jpeg.content == b"\xff\xd8jpeg"
    (text,) = result_chunks(Result(text="42", is_main_result=True), block)
    assert (text.type, text.content, text.start) == ("console", "42\n", True)
    (html,) = result_chunks(Result(html="<b>table</b>"), block)
    assert html.content == "<b>table</b>\n" and not html.start  # same console block continues
    assert [c.end for c in block.close()] == [True]
    assert list(result_chunks(Result(), block)) == []


def test_stdout_results_and_errors_stream_as_lmc(make: MakeExecutor) -> None:
    executor = make(interpreter_languages=("python",))
    assert "python" in [info.name for info in executor.languages()]
    messages = assemble(executor.run("python", "import sys\nprint('a')\nprint('b', file=sys.stderr)\n6 * 7"))
    assert _text(messages) == "a\nb\n42\n"
    out = _text(assemble(executor.run("python", "def f():\n    return 1 / 0\nf()")))
    assert "ZeroDivisionError" in out and "return 1 / 0" in out


def test_rich_results_come_back_as_images(make: MakeExecutor) -> None:
    executor = make(interpreter_languages=("python",))
    code = ("import base64\nclass Chart:\n    def _repr_png_(self):\n"
            f"        return base64.b64decode({base64.b64encode(_png())!r})\nprint('drawn')\nChart()")
    messages = assemble(executor.run("python", code))
    assert [(m.type, m.format) for m in messages] == [("console", "output"), ("image", "png")]
    assert messages[1].content == _png()


def test_timeout_and_stop_on_the_interpreter(make: MakeExecutor) -> None:
    executor = make(interpreter_languages=("python",))
    slow = "import time\nprint('slow', flush=True)\ntime.sleep(2)"
    messages = assemble(executor.run("python", slow, RunLimits(timeout=0.5)))
    assert [(m.format, "0.5 s timeout" in m.content) for m in messages if m.type == "error"] == [("timeout", True)]
    stream = executor.run("python", "import time\nfor i in range(100):\n    print(i, flush=True)\n    time.sleep(0.1)")
    seen = [next(stream)]
    threading.Timer(0.2, executor.stop).start()
    seen += list(stream)
    messages = assemble(seen)
    assert [m.format for m in messages if m.type == "error"] == ["interrupted"]
    assert len(_text(messages).split()) < 50
