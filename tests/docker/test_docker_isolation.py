"""Isolation of docker sandboxes: network, host files, env secrets, Docker socket, bombs."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from executors.docker.executor import DockerConfig
from orchestrator.computer import Computer
from tests.contract.helpers import errors, text

pytestmark = pytest.mark.docker

Make = Callable[..., Computer]


@pytest.fixture
def host_server() -> Iterator[int]:
    """An HTTP server on all host interfaces (so the Docker bridge reaches it); its port."""
    server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


FETCH = """
import socket, urllib.request
gateway = open('/proc/net/route').read().split('\\n')[1:]
gw = [l.split()[2] for l in gateway if l and l.split()[1] == '00000000']
ip = socket.inet_ntoa(bytes.fromhex(gw[0])[::-1]) if gw else '172.17.0.1'
try:
    urllib.request.urlopen(f'http://{ip}:%d/', timeout=3).read()
    print('REACHED')
except OSError as exc:
    print('BLOCKED', type(exc).__name__)
"""


def test_no_network_by_default_and_network_when_asked(make_computer: Make, host_server: int) -> None:
    closed = make_computer()
    assert text(closed.run("python", "import os; print(sorted(os.listdir('/sys/class/net')))")) == "['lo']\n"
    assert text(closed.run("python", FETCH % host_server)).startswith("BLOCKED")
    opened = make_computer(DockerConfig(network=True))
    assert text(opened.run("python", FETCH % host_server)) == "REACHED\n"


def test_host_files_are_not_visible(make_computer: Make, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("host-only")
    computer = make_computer()
    probe = f"import os; print(os.path.exists({str(secret)!r}), os.path.exists('/work/main'), os.getcwd())"
    assert text(computer.run("python", probe)) == "False False /workspace\n"


def test_workspace_is_the_only_host_mount(make_computer: Make, tmp_path: Path) -> None:
    (tmp_path / "shared.txt").write_text("from the host")
    os.chown(tmp_path, 1234, 1234)  # the sandbox runs as the workspace's owner
    computer = make_computer(DockerConfig(workspace=str(tmp_path)))
    out = text(computer.run("shell", "cat /workspace/shared.txt; echo made > /workspace/back.txt; id -u"))
    assert out == "from the host1234\n"
    assert (tmp_path / "back.txt").read_text() == "made\n"
    assert (tmp_path / "back.txt").stat().st_uid == 1234
    # the other writable places are tmpfs (the disk limit), in memory: no host folder
    awk = "awk '$2 ~ /^\\/(workspace|home|work|root|var|tmp)/ && $3 != \"tmpfs\" {print $2}' /proc/mounts"
    mounts = text(computer.run("shell", awk))
    assert mounts.split() == ["/workspace"]


def test_host_env_secrets_are_not_forwarded_unless_named(
    make_computer: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LMC_TEST_API_KEY", "sk-host-secret")
    probe = "import os; print(os.environ.get('LMC_TEST_API_KEY'), os.environ.get('GIVEN'))"
    plain = make_computer(DockerConfig(env={"GIVEN": "yes"}))
    assert text(plain.run("python", probe)) == "None yes\n"
    assert "sk-host-secret" not in text(plain.run("shell", "env"))
    named = make_computer(DockerConfig(forward_env=("LMC_TEST_API_KEY",)))
    assert text(named.run("python", probe)) == "sk-host-secret None\n"


def test_no_docker_socket_no_root_no_capabilities(make_computer: Make) -> None:
    computer = make_computer()
    probe = "ls /var/run/docker.sock /run/docker.sock 2>&1; id -u; grep CapEff /proc/self/status"
    out = text(computer.run("shell", probe))
    assert out.count("No such file or directory") == 2
    assert "\n1000\n" in out
    assert out.strip().endswith("CapEff:\t0000000000000000")


def _alive(computer: Computer) -> bool:
    return text(computer.run("python", "print(6 * 7)", timeout=20)) == "42\n"


def test_fork_bomb_is_contained(make_computer: Make) -> None:
    bystander = make_computer()
    assert _alive(bystander)
    bomb = make_computer(DockerConfig(pids=64))
    messages = bomb.run("shell", "bomb() { bomb | bomb & }; bomb; sleep 3; echo survived", timeout=8)
    assert errors(messages) or "survived" in text(messages)  # it ran into the limit either way
    assert _alive(bystander)
    command = [sys.executable, "-c", "print('host ok')"]
    host = subprocess.run(command, capture_output=True, text=True, timeout=20)
    assert host.stdout == "host ok\n"
    bomb.close()  # the bomb's processes die with their container
    assert _alive(make_computer())


def test_memory_bomb_is_contained(make_computer: Make) -> None:
    bystander = make_computer()
    assert _alive(bystander)
    bomb = make_computer(DockerConfig(memory_mb=128))
    messages = bomb.run("python", "hog = []\nwhile True: hog.append(bytearray(16 * 2**20))", timeout=30)
    (kind, message), = errors(messages)
    assert kind in ("crashed", "error"), message
    assert "memory" in (message + text(messages)).lower(), message
    assert _alive(bystander)
    assert _alive(bomb)  # the sandbox carries on (its python restarted)
