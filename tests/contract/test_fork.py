"""Contract: code that forks (os.fork, multiprocessing, subprocess) leaves python's kernel in step.

A forked child that falls back into the kernel's loop used to read the next cells itself: each
run got the previous run's output and variables alternated between two processes.
"""

from __future__ import annotations

from orchestrator.computer import Computer
from tests.contract.helpers import errors, text

#: the child keeps going past the fork, to the end of the cell and back into the kernel's loop;
#: the parent waits for it, so the old kernel (whose child never ends) hangs into the timeout
FORK_AND_RETURN = """\
import os
x = 1
pid = os.fork()
if pid == 0:
    x = 2
    print('child', flush=True)
else:
    print('child status', os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""


def test_a_forked_child_never_serves_cells(computer: Computer) -> None:
    first = computer.run("python", FORK_AND_RETURN, timeout=60)
    assert errors(first) == [] and text(first) == "child\nchild status 0\n"
    pid = text(computer.run("python", "print(os.getpid())"))
    for n in range(4):  # every later run is answered by the one kernel, in order
        assert text(computer.run("python", f"print({n}, x, os.getpid())", timeout=60)) == f"{n} 1 {pid}"


def test_a_forked_childs_error_and_exit_status_are_its_own(computer: Computer) -> None:
    code = (
        "import os, sys\npid = os.fork()\nif pid == 0:\n    raise ValueError('in the child')\n"
        "print('status', os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))"
    )
    messages = computer.run("python", code, timeout=60)
    assert "ValueError: in the child" in text(messages) and text(messages).endswith("status 1\n")
    assert errors(messages) == []
    exits = (
        "pid = os.fork()\nif pid == 0:\n    sys.exit(3)\n"
        "print('status', os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))"
    )
    assert text(computer.run("python", exits, timeout=60)) == "status 3\n"
    assert text(computer.run("python", "print('after')")) == "after\n"


def test_a_child_that_outlives_its_cell_ends_when_it_gets_back(computer: Computer) -> None:
    computer.run("python", "import os, time\nkid = os.fork()\nif kid == 0:\n    time.sleep(0.5)\ny = 5")
    # the child comes back to the kernel's loop after its parent's run ended: it must end there
    reaped = computer.run("python", "print('status', os.waitstatus_to_exitcode(os.waitpid(kid, 0)[1]), y)", timeout=60)
    assert errors(reaped) == [] and text(reaped) == "status 0 5\n"
    for n in range(3):
        assert text(computer.run("python", f"print({n}, y)", timeout=60)) == f"{n} 5\n"


def test_multiprocessing_fork_and_subprocess_work_with_cell_functions(computer: Computer) -> None:
    code = (
        "import multiprocessing, subprocess\n"
        "def square(n):\n    return n * n\n"
        "with multiprocessing.get_context('fork').Pool(2) as pool:\n    print(pool.map(square, range(5)))\n"
        "p = multiprocessing.get_context('fork').Process(target=square, args=(3,))\np.start(); p.join()\n"
        "print('process', p.exitcode)\n"
        "print(subprocess.run(['echo', 'sub'], capture_output=True, text=True).stdout.strip())"
    )
    messages = computer.run("python", code, timeout=120)
    assert errors(messages) == [] and text(messages) == "[0, 1, 4, 9, 16]\nprocess 0\nsub\n"
    assert text(computer.run("python", "print(square(4))")) == "16\n"
