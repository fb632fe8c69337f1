"""Task containers: a task's own image with Harbor's semantics, lmc's agent entering from /.lmc.

Images are built here without a registry: busybox alone (no python, no bash), an
image with no program at all, and the Debian-based lmc sandbox image.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from executors.docker import client as docker_client
from executors.docker.errors import ImageMissing, InvalidDockerConfig, SandboxPathNotFound
from executors.runtime import MOUNT, ensure_runtime
from executors.runtime.volume import LABEL, PREFIX
from executors.taskcontainer import TaskContainer, TaskContainerConfig, TaskExecutor
from orchestrator.computer import Computer
from tests.contract.helpers import errors, exit_code, text

pytestmark = pytest.mark.docker

Start = Callable[..., TaskContainer]
#: what the agent's code sees of the runtime's own variables: nothing
LEAKS = "import os; print(sorted(k for k in os.environ if k.startswith(('LD_', 'PYTHONHOME', 'PYTHONPATH'))))"
#: the command line of the agent that runs a shell's code
AGENT_CMDLINE = "tr '\\0' ' ' < /proc/$PPID/cmdline"
#: from the agent's shell: what its code gets (user, groups, HOME and all the environment, working directory)
#: and what the agent process is (ids, capabilities, signals, umask, session, working directory, open files)
AGENT_PROBE = r"""a=$PPID
id; pwd; env | grep -v '^LMC_CALL_FD=' | sort
readlink /proc/$a/cwd
grep -E '^(Umask|Uid|Gid|Groups|SigBlk|SigIgn|SigCgt|Cap|NoNewPrivs|Seccomp)' /proc/$a/status
for f in /proc/$a/fd/*; do readlink "$f" | sed 's/:.*//'; done | sort | uniq -c
set -- $(sed 's/.*) //' /proc/$a/stat); [ "$3" = "$a" ] && [ "$4" = "$a" ] && echo "leads its session"
"""
#: an image's accounts: agent (1500) also in groups extra and more; dup shares its uid; nohome's home is missing
PASSWD = (b"root:x:0:0:root:/root:/bin/sh\nagent:x:1500:1500:Agent:/home/agent:/bin/sh\n"
          b"dup:x:1500:1700::/home/dup:/bin/sh\nnohome:x:1600:1600::/nonexistent:/bin/sh\n")
GROUP = b"root:x:0:\nagent:x:1500:\nextra:x:1601:agent,nohome\nmore:x:1602:agent\nempty:x:1603:\n"


@pytest.fixture
def computers() -> Any:
    """Make Computers on TaskExecutors; closed (agent only) after the test."""
    made: list[Computer] = []

    def make(container: TaskContainer, **options: Any) -> Computer:
        computer = Computer(sandbox=TaskExecutor(container, **options))
        made.append(computer)
        return computer

    yield make
    for computer in made:
        computer.close()


@pytest.fixture(scope="module")
def accounts_image(busybox_image: str) -> str:
    """busybox with PASSWD and GROUP, USER agent, and no HOME in its environment; kept between runs."""
    api = docker_client.client().api
    tag = f"lmc-test-accounts:{hashlib.sha256(busybox_image.encode() + PASSWD + GROUP).hexdigest()[:12]}"
    if api.images(name=tag):
        return tag
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for name, body in (("etc/passwd", PASSWD), ("etc/group", GROUP)):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(body), 0o644
            tar.addfile(info, io.BytesIO(body))
    created = api.create_container(busybox_image, ["true"], labels=docker_client.labels())["Id"]
    try:
        api.put_archive(created, "/", data.getvalue())
        api.commit(created, repository=tag.partition(":")[0], tag=tag.partition(":")[2], conf={"User": "agent"})
    finally:
        api.remove_container(created, force=True)
    return tag


def test_busybox_image_gets_python_and_shell_from_the_runtime(task_containers: Start, computers: Any,
                                                              busybox_image: str) -> None:
    container = task_containers(busybox_image, network=False)
    computer = computers(container)
    assert container.exec(["sh", "-c", "command -v python3 bash || echo neither"]).stdout == b"neither\n"
    shell = computer.run("shell", 'echo "$BASH"; busybox | head -1 | cut -d" " -f1')
    assert text(shell) == f"{MOUNT}/bin/bash\nBusyBox\n" and exit_code(shell) == 0
    probe = "import sys, json; print(sys.executable, sys.prefix, json.dumps([1]))"
    assert text(computer.run("python", probe)) == f"{MOUNT}/bin/python3 {MOUNT} [1]\n"
    assert text(computer.run("python", LEAKS)) == "[]\n"
    env = container.exec(["env"]).stdout.decode()
    assert "LD_" not in env and "PYTHON" not in env, env
    # javascript needs the image's node, and says so
    [(kind, message)] = errors(computer.run("javascript", "1 + 1"))
    assert kind == "sandbox" and "node" in message


def test_image_without_any_program_still_runs_code_and_gives_files(task_containers: Start, computers: Any,
                                                                    bare_image: str) -> None:
    container = task_containers(bare_image, network=False)
    assert container.read_file("/data/hello.txt") == b"hello from a bare image\n"
    computer = computers(container)
    assert text(computer.run("python", "print(open('hello.txt').read(), end='')")) == "hello from a bare image\n"
    assert text(computer.run("shell", "echo $(( 6 * 7 ))")) == "42\n"  # bash's own arithmetic: no programs


def test_debian_image_uses_its_own_python_and_bash(task_containers: Start, computers: Any,
                                                   debian_image: str) -> None:
    computer = computers(task_containers(debian_image, network=False))
    probe = "import os, sys, numpy; print(os.path.realpath(sys.executable), sys.prefix)"
    assert text(computer.run("python", probe)) == "/usr/bin/python3.11 /usr\n"
    assert text(computer.run("shell", 'echo "$BASH"')) in ("/bin/bash\n", "/usr/bin/bash\n")
    assert text(computer.run("javascript", "console.log(6 * 7)")) == "42\n"
    assert text(computer.run("python", LEAKS)) == "[]\n"


def test_image_user_and_workdir_are_honoured(task_containers: Start, computers: Any, busybox_image: str) -> None:
    container = task_containers(busybox_image, network=False)
    assert (container.image_user(), container.image_workdir()) == ("4321:4321", "/srv/task")
    assert text(computers(container).run("shell", "id -u; pwd")) == "4321\n/srv/task\n"
    assert container.exec(["sh", "-c", "id -u; pwd"]).stdout == b"4321\n/srv/task\n"
    assert container.exec(["id", "-u"], user="0").stdout == b"0\n"
    assert container.exec(["pwd"], workdir="/tmp").stdout == b"/tmp\n"
    as_root = computers(container, user="0")
    assert text(as_root.run("shell", "id -u")) == "0\n"

    overridden = task_containers(busybox_image, network=False, user="77:77", workdir="/opt")
    assert overridden.exec(["sh", "-c", "id -u; pwd"]).stdout == b"77\n/opt\n"


def test_network_none_or_bridge(task_containers: Start, busybox_image: str) -> None:
    closed = task_containers(busybox_image, network=False)
    assert closed.exec(["ls", "/sys/class/net"]).stdout.split() == [b"lo"]
    opened = task_containers(busybox_image, network=True)
    assert b"eth0" in opened.exec(["ls", "/sys/class/net"]).stdout.split()


def test_limits_and_labels_are_applied(task_containers: Start, busybox_image: str) -> None:
    container = task_containers(busybox_image, network=False, memory_mb=256, cpus=0.5, pids=64,
                                labels={"lmc.test": "yes"})
    limit = container.exec(["sh", "-c", "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes"
                                        " 2>/dev/null"]).stdout
    assert limit.split() == [str(256 * 2**20).encode()]
    info = container.api.inspect_container(container.id)
    host = info["HostConfig"]
    assert (host["NanoCpus"], host["PidsLimit"], host["CapDrop"]) == (500_000_000, 64, None)
    assert info["Config"]["Labels"]["lmc.test"] == "yes"
    assert info["Config"]["Labels"][docker_client.OWNER_LABEL] == docker_client.owner_id()
    # a writable-layer size limit is applied where the storage driver can, else the container says so
    assert host.get("StorageOpt") == {"size": "10240M"} or "not enforced" in " ".join(container.notes)


def test_kill_all_but_init_ends_everything_the_agent_left(task_containers: Start, computers: Any,
                                                          debian_image: str) -> None:
    container = task_containers(debian_image, network=False)
    computer = computers(container)
    assert text(computer.run("shell", AGENT_CMDLINE)).startswith("lmc agent: ")  # the one init started
    started = computer.run("shell", "setsid nohup sh -c 'while :; do sleep 1; done' >/dev/null 2>&1 &\necho $!")
    loop = text(started).strip()
    assert container.exec(["kill", "-0", loop]).exit_code == 0
    computer.run("python", "import subprocess; subprocess.Popen(['sleep', '600'], start_new_session=True)")
    computer.close()  # ends the agent, not the container
    container.kill_all_but_init()
    left = container.exec(["ps", "-e", "-o", "pid=,args="]).stdout.decode().splitlines()
    others = [line for line in left if line.split()[0] != "1" and "ps -e" not in line and "run.py" not in line]
    assert others == [], left
    assert container.api.inspect_container(container.id)["State"]["Running"]
    assert text(computer.run("shell", "echo again")) == "again\n"  # a fresh agent in the same container


def test_kill_all_but_init_under_a_connected_agent(task_containers: Start, computers: Any,
                                                   busybox_image: str) -> None:
    container = task_containers(busybox_image, network=False)
    computer = computers(container)
    assert text(computer.run("shell", "sleep 600 &\n" + AGENT_CMDLINE)).startswith("lmc agent: ")
    container.kill_all_but_init()
    listing = container.exec(["ps", "-o", "pid,args"]).stdout.decode().splitlines()[1:]
    assert [line.split()[0] for line in listing if "run.py" not in line and "ps -o" not in line] == ["1"], listing
    [(kind, message)] = errors(computer.run("shell", "echo again"))  # its agent was killed under it
    # from inside the container, which nothing outside touched: not infrastructure
    assert kind == "crashed" and "killed by the code it ran" in message, message
    assert text(computer.run("shell", "echo again")) == "again\n"  # and a fresh one comes by docker exec


def test_close_ends_the_agent_only(task_containers: Start, debian_image: str) -> None:
    container = task_containers(debian_image, network=False)
    executor = TaskExecutor(container)
    assert text(Computer(sandbox=executor).run("python", "print('up')")) == "up\n"
    executor.close()

    def ours() -> list[str]:  # the agent and its language kernels
        listing = container.exec(["ps", "-e", "-o", "args="]).stdout.decode().splitlines()
        return [line for line in listing if "inside.agent" in line or "/kernels/" in line]

    deadline = time.monotonic() + 30
    while ours() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ours() == []
    assert container.api.inspect_container(container.id)["State"]["Running"]


def test_exec_has_closed_stdin_separate_streams_and_a_timeout(task_containers: Start, busybox_image: str) -> None:
    container = task_containers(busybox_image, network=False)
    result = container.exec(["sh", "-c", "cat; echo out; echo err >&2; exit 3"], env={"X": "1"})
    assert (result.exit_code, result.stdout, result.stderr, result.timed_out) == (3, b"out\n", b"err\n", False)
    assert container.exec(["sh", "-c", 'echo "$X"'], env={"X": "set"}).stdout == b"set\n"
    slow = container.exec(["sh", "-c", "sleep 300 & sleep 300"], timeout=1)
    assert slow.timed_out and slow.exit_code == 124
    assert b"sleep 300" not in container.exec(["ps"]).stdout  # its whole session was killed
    missing = container.exec(["no-such-program"])
    assert missing.exit_code == 127 and b"no-such-program" in missing.stderr


def test_a_command_silent_past_dockers_read_timeout_is_not_cut_off(task_containers: Start, computers: Any,
                                                                     busybox_image: str) -> None:
    import docker

    container = task_containers(busybox_image, network=False)
    # docker-py gives an exec's socket its client's read timeout (60 s by default; 2 s here): an exec, or an
    # agent entered by docker exec, whose code prints nothing that long must still be read to its end
    container.api, usual = docker.from_env(timeout=2).api, container.api
    try:
        result = container.exec(["sh", "-c", "sleep 4; echo done"])
        assert (result.exit_code, result.stdout, result.timed_out) == (0, b"done\n", False)
        agent = computers(container, user="0")  # not the user of the agent started with the container: docker exec
        assert text(agent.run("shell", "sleep 4; echo done")) == "done\n"
    finally:
        container.api = usual


def test_files_move_through_the_archive_api(task_containers: Start, busybox_image: str, tmp_path: Path) -> None:
    container = task_containers(busybox_image, network=False)
    source = tmp_path / "tests"
    (source / "sub").mkdir(parents=True)
    (source / "test.sh").write_text("echo ok\n")
    (source / "test.sh").chmod(0o755)
    (source / "sub" / "data.txt").write_text("data\n")
    assert container.put_folder(source, "/tests") == "/tests"
    listing = container.exec(["sh", "-c", "stat -c '%u:%g %a %n' /tests /tests/test.sh /tests/sub/data.txt"])
    assert listing.stdout.decode().splitlines() == ["0:0 755 /tests", "0:0 755 /tests/test.sh",
                                                    "0:0 644 /tests/sub/data.txt"]
    container.put_folder(source, "/deep/new/place", owner="4321:4321")
    assert container.exec(["stat", "-c", "%u:%g", "/deep/new/place/sub/data.txt"]).stdout == b"4321:4321\n"

    container.put_bytes("/logs/verifier/reward.txt", b"1\n", 0o600, owner="4321")
    assert container.read_file("/logs/verifier/reward.txt") == b"1\n"
    assert container.exec(["stat", "-c", "%u %a", "/logs/verifier/reward.txt"]).stdout == b"4321 600\n"
    assert container.read_file("srv-relative-missing.txt") is None
    container.exec(["ln", "-s", "/logs/verifier/reward.txt", "/tmp/link"])
    assert container.read_file("/tmp/link") == b"1\n"
    with pytest.raises(SandboxPathNotFound):
        container.read_file("/tests")

    container.exec(["sh", "-c", "mkdir -p /tmp/out/in && echo a > /tmp/out/a && echo b > /tmp/out/in/b "
                                "&& ln -s /etc/passwd /tmp/out/escape"])
    copied = container.get_folder("/tmp/out", tmp_path / "out")
    assert (copied / "a").read_text() == "a\n" and (copied / "in" / "b").read_text() == "b\n"
    assert not (copied / "escape").exists()  # a link leading out of the folder is not followed or made
    with pytest.raises(SandboxPathNotFound):
        container.get_folder("/no/such/folder", tmp_path / "none")


def test_commit_starts_a_separate_verifier_container(task_containers: Start, busybox_image: str) -> None:
    agent = task_containers(busybox_image, network=False)
    agent.put_bytes("/srv/task/answer.txt", b"42\n")
    image = agent.commit()
    verifier = task_containers(image, network=False)
    assert verifier.read_file("/srv/task/answer.txt") == b"42\n"
    assert verifier.exec(["cat", "answer.txt"]).stdout == b"42\n"
    assert (verifier.image_user(), verifier.image_workdir()) == ("4321:4321", "/srv/task")
    api = agent.api
    verifier.close()
    agent.close()  # removes its snapshots
    assert image not in [i["Id"] for i in api.images(all=True)]


def test_missing_image_names_it_and_the_ways_out(busybox_image: str) -> None:
    from executors.taskcontainer import TaskContainerConfig

    with pytest.raises(ImageMissing) as caught:
        TaskContainer.start(TaskContainerConfig(image="lmc-test-never-built:1"))
    assert "lmc-test-never-built:1" in str(caught.value) and "docker load" in str(caught.value)


def test_runtime_volume_is_built_once_and_labelled(busybox_image: str) -> None:
    api = docker_client.client().api
    name = ensure_runtime(api)
    assert name.startswith(PREFIX) and ensure_runtime(api) == name
    assert api.inspect_volume(name)["Labels"][LABEL] == name[len(PREFIX):]


def test_an_interrupted_runtime_build_is_detected(busybox_image: str) -> None:
    from executors.docker.image import default_tag
    from executors.runtime import volume

    api = docker_client.client().api
    name = f"{PREFIX}test-partial-{docker_client.owner_id().replace(':', '-')}"
    api.create_volume(name)  # as a builder killed before `.complete` leaves it
    try:
        assert volume._complete(api, name, default_tag()) is False
        assert name not in [v["Name"] for v in api.volumes()["Volumes"] or []]
    finally:
        if name in [v["Name"] for v in api.volumes()["Volumes"] or []]:
            api.remove_volume(name, force=True)


def test_containers_start_in_parallel(task_containers: Start, busybox_image: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        started = list(pool.map(lambda _: task_containers(busybox_image, network=False), range(4)))
    assert len({c.id for c in started}) == 4
    assert all(c.exec(["true"]).exit_code == 0 for c in started)


@pytest.mark.parametrize("image, agent_user", [
    ("accounts_image", None), ("accounts_image", "nohome"), ("accounts_image", "4444"),
    ("accounts_image", "agent:extra"), ("accounts_image", "dup"), ("accounts_image", "0"), ("debian_image", None),
])
def test_the_agent_started_with_the_container_is_what_docker_exec_starts(
        task_containers: Start, computers: Any, request: pytest.FixtureRequest, image: str,
        agent_user: str | None) -> None:
    container = task_containers(request.getfixturevalue(image), network=False, agent_user=agent_user)
    started = computers(container)
    assert text(started.run("shell", AGENT_CMDLINE)).startswith("lmc agent: ")  # forked by init, not exec'd
    first = text(started.run("shell", AGENT_PROBE))
    started.close()
    execed = computers(container)  # after a close, an agent comes by docker exec
    assert "executors.runtime.inside.agent import main; main()" in text(execed.run("shell", AGENT_CMDLINE))
    assert text(execed.run("shell", AGENT_PROBE)) == first
    assert "leads its session" in first
    assert "LD_" not in first and "PYTHON" not in first, first


def test_the_started_agent_has_the_users_groups_and_home(task_containers: Start, computers: Any,
                                                         accounts_image: str) -> None:
    # what the comparison above holds docker exec to, said outright for the image's USER
    computer = computers(task_containers(accounts_image, network=False))
    probe = 'id; echo "$HOME"; grep -E "^Cap(Prm|Eff)" /proc/$PPID/status'
    assert text(computer.run("shell", probe)).split("\n") == [
        "uid=1500(agent) gid=1500(agent) groups=1500(agent),1601(extra),1602(more)", "/home/agent",
        "CapPrm:\t0000000000000000", "CapEff:\t0000000000000000", ""]


def test_a_crashed_agent_is_replaced_through_docker_exec(task_containers: Start, computers: Any,
                                                         busybox_image: str) -> None:
    container = task_containers(busybox_image, network=False)
    computer = computers(container)
    assert text(computer.run("shell", AGENT_CMDLINE)).startswith("lmc agent: ")
    [(kind, message)] = errors(computer.run("shell", "kill -9 $PPID; sleep 60"))
    assert kind == "crashed" and "killed by the code it ran" in message, message
    assert "inside.agent import main; main()" in text(computer.run("shell", AGENT_CMDLINE))
    assert text(computer.run("shell", "id -u; pwd")) == "4321\n/srv/task\n"


def test_an_agent_nobody_took_is_gone_before_an_exec(task_containers: Start, computers: Any,
                                                     busybox_image: str) -> None:
    container = task_containers(busybox_image, network=False)
    listing = container.exec(["ps", "-o", "pid,args"]).stdout.decode().splitlines()
    assert [line for line in listing[1:] if "run.py" not in line and "ps -o" not in line] == \
        [line for line in listing if line.split()[0] == "1"], listing  # init alone, before the exec
    assert "inside.agent import main; main()" in text(computers(container).run("shell", AGENT_CMDLINE))


def test_an_agent_for_another_user_is_not_the_one_started(task_containers: Start, computers: Any,
                                                          busybox_image: str) -> None:
    container = task_containers(busybox_image, network=False)
    as_root = computers(container, user="0")
    assert text(as_root.run("shell", "id -u; " + AGENT_CMDLINE)).startswith("0\n/.lmc/lib/ld.so ")
    assert "lmc agent" not in container.exec(["ps", "-o", "args"]).stdout.decode()  # the unfit one was ended


def test_an_agent_user_the_image_lacks_fails_as_docker_exec_does(task_containers: Start, computers: Any,
                                                                 busybox_image: str) -> None:
    container = task_containers(busybox_image, network=False, agent_user="nosuchuser")
    with pytest.raises(InvalidDockerConfig, match="unable to find user nosuchuser: no matching entries in passwd"):
        computers(container).run("shell", "id -u")


def test_no_agent_when_not_asked(busybox_image: str) -> None:
    with TaskContainer.start(TaskContainerConfig(image=busybox_image, network=False, start_agent=False)) as bare:
        info = bare.api.inspect_container(bare.id)
        assert "--agent" not in info["Config"]["Entrypoint"] and not info["Config"]["OpenStdin"]
        assert bare.exec(["id", "-u"]).stdout == b"4321\n"
