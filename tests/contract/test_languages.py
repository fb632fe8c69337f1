"""Contract: what every language does on every backend (state, streaming, values, errors)."""

from __future__ import annotations

import pytest

from executors.errors import InvalidCode, UnknownLanguage
from lmc.assembly import Assembler
from orchestrator.computer import Computer
from tests.contract.helpers import errors, exit_code, text, timed


def test_languages_listed_and_aliases_resolve(computer: Computer) -> None:
    assert {"python", "shell", "javascript"} <= set(computer.languages)
    assert computer.resolve_language("py") == "python"
    assert computer.resolve_language("bash") == "shell"
    assert computer.resolve_language("JS") == "javascript"


def test_unknown_language_names_the_known_ones(computer: Computer) -> None:
    with pytest.raises(UnknownLanguage) as info:
        computer.run("pyhton", "print(1)")
    assert "unknown language 'pyhton'" in str(info.value)
    assert "python" in str(info.value) and "shell" in str(info.value)


def test_nul_in_code_is_refused_with_advice(computer: Computer) -> None:
    with pytest.raises(InvalidCode, match="NUL"):
        computer.run("python", "print(1)\0")
    assert text(computer.run("python", "print(2)")) == "2\n"


def test_python_hello_and_state(computer: Computer) -> None:
    assert text(computer.run("python", "print('Hello World!')")) == "Hello World!\n"
    computer.run("python", "import math\nx = 41")
    assert text(computer.run("python", "x + 1")) == "42\n"
    assert text(computer.run("python", "math.floor(2.5)")) == "2\n"
    assert text(computer.run("python", "None")) == ""


def test_python_stdout_and_stderr_keep_their_order(computer: Computer) -> None:
    code = "import sys\nprint('a')\nprint('b', file=sys.stderr)\nprint('c')"
    assert text(computer.run("python", code)) == "a\nb\nc\n"


def test_python_output_streams_before_the_code_ends(computer: Computer) -> None:
    code = "import time\nprint('first', flush=True)\ntime.sleep(1.0)\nprint('second')"
    arrivals = timed(computer.run("python", code, stream=True))
    first = next(t for t, c in arrivals if isinstance(c.content, str) and "first" in c.content)
    second = next(t for t, c in arrivals if isinstance(c.content, str) and "second" in c.content)
    assert second - first >= 0.8
    assembler = Assembler()
    done = [m for _, c in arrivals if (m := assembler.feed(c)) is not None]
    assert text(done) == "first\nsecond\n"


def test_every_block_has_one_start_and_one_end(computer: Computer) -> None:
    chunks = list(computer.run("python", "for i in range(50): print(i)", stream=True))
    assert sum(c.start for c in chunks) == sum(c.end for c in chunks) >= 1
    assert chunks[0].start and chunks[-1].end


def test_python_traceback_shows_only_user_code(computer: Computer) -> None:
    out = text(computer.run("python", "def f():\n    return 1 / 0\nf()"))
    assert "ZeroDivisionError: division by zero" in out
    assert "return 1 / 0" in out and "<cell" in out
    assert "kernel" not in out
    assert text(computer.run("python", "1 +")).count("SyntaxError") == 1


def test_python_figures_and_pil_images_come_back_as_png(computer: Computer) -> None:
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()\nprint('shown')"
    messages = computer.run("python", code)
    images = [m for m in messages if m.type == "image"]
    assert len(images) == 1 and images[0].format == "png"
    assert images[0].content.startswith(b"\x89PNG\r\n\x1a\n")
    assert "shown" in text(messages)
    pil = computer.run("python", "from PIL import Image\nImage.new('RGB', (32, 16), 'red')")
    assert [m.format for m in pil if m.type == "image"] == ["png"]


def test_shell_state_and_exit_status(computer: Computer) -> None:
    computer.run("shell", "mkdir -p /tmp/lmc-contract && cd /tmp/lmc-contract && export GREETING=hi")
    messages = computer.run("shell", "pwd; echo $GREETING")
    assert text(messages) == "/tmp/lmc-contract\nhi\n"
    assert exit_code(messages) == 0
    assert exit_code(computer.run("bash", "false")) == 1
    computer.run("shell", "greet() { echo \"hello $1\"; }")
    assert text(computer.run("sh", "greet you")) == "hello you\n"


def test_shell_exit_restarts_the_shell(computer: Computer) -> None:
    messages = computer.run("shell", "echo bye; exit 3")
    assert text(messages).startswith("bye\n") and "exited with status 3" in text(messages)
    assert exit_code(messages) == 3
    assert text(computer.run("shell", "echo back")) == "back\n"


def test_javascript_state_values_and_promises(computer: Computer) -> None:
    computer.run("javascript", "var total = 40; function add(a, b) { return a + b; }")
    assert text(computer.run("js", "add(total, 2)")) == "42\n"
    assert text(computer.run("node", "console.log('x'); ({a: 1})")) == "x\n{ a: 1 }\n"
    assert text(computer.run("javascript", "new Promise(r => setTimeout(() => r('later'), 50))")) == "'later'\n"
    out = text(computer.run("javascript", "null.boom"))
    assert "TypeError" in out and "node_kernel" not in out


def test_invalid_utf8_is_replaced_not_fatal(computer: Computer) -> None:
    out = text(computer.run("python", "import sys\nsys.stdout.buffer.write(b'\\xff\\xfe ok\\n')"))
    assert "\ufffd" in out and "ok" in out
    assert "\ufffd" in text(computer.run("shell", "printf '\\377 fine\\n'"))


def test_large_output_is_truncated_with_a_marker(computer: Computer) -> None:
    code = "print('x' * 50000)\nprint('THE END')"
    out = text(computer.run("python", code, max_output=1000))
    assert len(out) < 3000
    assert "output truncated" in out and "characters omitted" in out
    assert "THE END" in out  # the tail is kept: the last lines are often what matters
    assert errors(computer.run("python", "print(1)")) == []


def test_output_just_over_a_small_limit_arrives_whole_without_a_marker(computer: Computer) -> None:
    # 150 characters against a limit of 100: the kept tail (at least 200) holds the rest, so
    # nothing is omitted and no "0 characters omitted" note may appear.
    out = text(computer.run("python", "print('y' * 149)", max_output=100))
    assert out == "y" * 149 + "\n" and "truncated" not in out


def test_a_megabyte_of_output_arrives_whole(computer: Computer) -> None:
    out = text(computer.run("python", "print('x' * 1_000_000)", max_output=2_000_000))
    assert out == "x" * 1_000_000 + "\n"
