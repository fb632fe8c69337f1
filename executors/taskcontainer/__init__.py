"""A benchmark task's own container, run with Harbor's semantics, and an executor inside it.

    container = TaskContainer.start(TaskContainerConfig(image="lmc-env/hello:0123abcd"))
    computer = Computer(sandbox=TaskExecutor(container))      # the agent, as the image's USER
    ...
    computer.close()                                           # ends the agent, not the container
    container.kill_all_but_init()                              # nothing the agent left runs on
    container.put_folder("tests", "/tests")
    result = container.exec(["bash", "/tests/test.sh"], timeout=600)
    reward = container.read_file("/logs/verifier/reward.txt")
    container.close()

The image needs nothing of ours: PID 1 is our tiny init and the agent runs from
the read-only runtime at /.lmc (executors.runtime). Init forks the agent as the
container starts, so the first TaskExecutor finds it running; later ones start
theirs by `docker exec`. Files move through Docker's archive API, never through
a shell.
"""

from executors.taskcontainer.config import ExecResult, TaskContainerConfig
from executors.taskcontainer.container import TaskContainer
from executors.taskcontainer.executor import TaskExecutor

__all__ = ["ExecResult", "TaskContainer", "TaskContainerConfig", "TaskExecutor"]
