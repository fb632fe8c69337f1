"""Task environments: real `docker build`s of task Dockerfiles from local bases (never a pull), and the
Dockerfile replayed in a local sandbox's shell for the backends without Docker."""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.harness import images
from benchmarks.harness import layout as lay
from benchmarks.harness.errors import EnvironmentFailed
from benchmarks.harness.replay import replay_environment
from benchmarks.harness.task import Task, load_task
from orchestrator.computer import Computer
from orchestrator.fleet.errors import classify
from tests.bench.conftest import write_task


def make_task(root: Path, dockerfile: str | None, files: dict[str, str] | None = None,
              environment: str = "") -> Task:
    """A task folder whose environment/ holds the Dockerfile and files given; loaded as the harness does."""
    name = f"env-{uuid.uuid4().hex[:8]}"
    toml = f'version = "1.0"\n[environment]\n{environment}'
    folder = write_task(root, name, toml=toml)
    shutil.rmtree(folder / "environment")  # write_task's own environment gives way to this one
    (folder / "environment").mkdir()
    if dockerfile is not None:
        (folder / "environment" / "Dockerfile").write_text(dockerfile)
    for path, text in (files or {}).items():
        (folder / "environment" / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / "environment" / path).write_text(text)
    return load_task(folder)


@pytest.fixture
def built() -> Iterator[list[str]]:
    """Tags of images a test built; removed afterwards."""
    tags: list[str] = []
    yield tags
    from executors.docker import client as docker_client

    api = docker_client.client().api
    for tag in tags:
        try:
            api.remove_image(tag, force=True)
        except Exception:  # noqa: BLE001  already gone, or still used by a leftover: not this test's concern
            pass


def run_in(image: str, command: str) -> str:
    """Output of a command in a throwaway container of an image."""
    from executors.docker import client as docker_client

    output = docker_client.client().containers.run(image, ["sh", "-c", command], remove=True, network_disabled=True)
    return bytes(output).decode()


# docker builds ---------------------------------------------------------------------------------------------


@pytest.mark.docker
def test_build_from_a_local_base_then_reuse_it(tmp_path: Path, no_python_base: str, built: list[str]) -> None:
    dockerfile = (f"FROM {no_python_base}\nWORKDIR /app\nCOPY . ./\n"
                  "RUN echo built-ok > made.txt && chmod +x run.sh\n")
    files = {"hello.txt": "hi\n", "run.sh": "echo run\n", "secret.log": "no\n", ".dockerignore": "*.log\n"}
    task = make_task(tmp_path, dockerfile, files)
    lines: list[str] = []
    log = tmp_path / "trial" / "build.log"
    first = images.ensure_image(task, {}, log_path=log, on_line=lines.append)
    built.append(first.tag)
    assert not first.cached and first.tag.startswith(f"lmc-env/{task.name}:")
    listing = run_in(first.tag, "cd /app && ls -A && cat hello.txt made.txt && ./run.sh")
    assert listing.split() == [".dockerignore", "Dockerfile", "hello.txt", "made.txt", "run.sh", "hi", "built-ok",
                               "run"]  # secret.log was excluded by .dockerignore
    assert any(line.startswith("Step 4/") for line in lines) and "Successfully tagged" in log.read_text()

    again = images.ensure_image(task, {}, log_path=log)
    assert again.cached and again.tag == first.tag
    assert "is already built" in log.read_text().splitlines()[-1]

    (task.environment_dir / "hello.txt").write_text("changed\n")  # new content, new image
    changed = images.ensure_image(task, {})
    built.append(changed.tag)
    assert not changed.cached and changed.tag != first.tag


@pytest.mark.docker
def test_parallel_trials_of_a_task_build_it_once(tmp_path: Path, no_python_base: str, built: list[str]) -> None:
    task = make_task(tmp_path, f"FROM {no_python_base}\nRUN sleep 1 && echo once > /once.txt\n")
    results: list[images.BuiltImage] = []

    def trial() -> None:
        results.append(images.ensure_image(task, {}))

    threads = [threading.Thread(target=trial) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    built.append(results[0].tag)
    assert len({r.tag for r in results}) == 1 and sorted(r.cached for r in results) == [False, True, True]


@pytest.mark.docker
def test_a_failed_run_names_its_step_and_output(tmp_path: Path, no_python_base: str) -> None:
    task = make_task(tmp_path, f"FROM {no_python_base}\nWORKDIR /app\n"
                               "RUN echo preparing && echo the-tool-broke >&2 && exit 3\nRUN echo never\n")
    with pytest.raises(EnvironmentFailed) as caught:
        images.ensure_image(task, {}, log_path=tmp_path / "build.log")
    message = str(caught.value)
    assert "step 3/5 (RUN echo preparing" in message and "returned a non-zero code: 3" in message
    assert "the-tool-broke" in message and "preparing" in message and "never" not in message
    assert classify(caught.value) == "environment"


@pytest.mark.docker
def test_a_missing_base_image_names_it_and_both_ways_out(tmp_path: Path) -> None:
    from tests.support.docker_backend import require_docker

    require_docker()
    missing = f"lmc-test/never-built-{uuid.uuid4().hex[:6]}:1"
    task = make_task(tmp_path, f"FROM {missing}\nRUN true\n")
    assert images.missing_bases(task, {}) == [missing]
    started = time.monotonic()
    with pytest.raises(EnvironmentFailed) as caught:
        images.ensure_image(task, {})
    message = str(caught.value)
    assert missing in message and "not present locally" in message and "does not pull" in message
    assert "docker load -i FILE" in message and f"--image-map {missing}=LOCAL_IMAGE" in message
    assert time.monotonic() - started < 60  # refused up front, no pull attempted and waited on
    # a prebuilt docker_image that is missing says the same
    prebuilt = make_task(tmp_path, None, environment=f'docker_image = "{missing}"\n')
    with pytest.raises(EnvironmentFailed, match="docker_image.*docker load -i FILE"):
        images.ensure_image(prebuilt, {})


@pytest.mark.docker
def test_image_map_rewrites_from_and_copy_from(tmp_path: Path, no_python_base: str, built: list[str]) -> None:
    wanted = f"lmc-test/upstream-{uuid.uuid4().hex[:6]}:24.04"  # a name no daemon here has
    task = make_task(tmp_path, f"ARG BASE={wanted}\nFROM $BASE AS build\nRUN echo from-build > /made.txt\n"
                               f"FROM {wanted}\nCOPY --from=build /made.txt /made.txt\n"
                               f"COPY --from=docker.io/{wanted} /bin/busybox /copied-busybox\n")
    image_map = images.parse_image_map([f"{wanted}={no_python_base}"])
    assert images.missing_bases(task, {}) == [wanted] and images.missing_bases(task, image_map) == []
    lines: list[str] = []
    result = images.ensure_image(task, image_map, on_line=lines.append)
    built.append(result.tag)
    assert f"lmc: --image-map: {wanted} -> {no_python_base}" in lines
    assert run_in(result.tag, "cat /made.txt && test -x /copied-busybox && echo copied").split() == \
        ["from-build", "copied"]
    # the prebuilt form is mapped too
    prebuilt = make_task(tmp_path, None, environment=f'docker_image = "{wanted}"\n')
    used = images.ensure_image(prebuilt, image_map)
    assert used.tag == no_python_base and used.cached


@pytest.mark.docker
def test_a_prebuilt_image_is_used_when_present_else_its_dockerfile_built(
        tmp_path: Path, no_python_base: str, built: list[str]) -> None:
    absent = f"lmc-test/prebuilt-{uuid.uuid4().hex[:6]}:20251031"  # as Terminal-Bench 2 tasks name theirs
    dockerfile = f"FROM {no_python_base}\nRUN echo from-dockerfile > /made.txt\n"
    present = make_task(tmp_path, dockerfile, environment=f'docker_image = "{no_python_base}"\n')
    assert images.ensure_image(present, {}) == images.BuiltImage(no_python_base, pytest.approx(0.0, abs=60), True)
    task = make_task(tmp_path, dockerfile, environment=f'docker_image = "{absent}"\n')
    assert images.missing_bases(task, {}) == []  # the Dockerfile's base is here
    lines: list[str] = []
    result = images.ensure_image(task, {}, on_line=lines.append)
    built.append(result.tag)
    assert not result.cached and result.tag.startswith("lmc-env/")
    assert f"lmc: the prebuilt image {absent} is not present; building environment/Dockerfile" in lines
    assert run_in(result.tag, "cat /made.txt").strip() == "from-dockerfile"


@pytest.mark.docker
def test_build_timeout_stops_the_build(tmp_path: Path, no_python_base: str) -> None:
    marker = uuid.uuid4().hex
    task = make_task(tmp_path, f"FROM {no_python_base}\nRUN sleep 30 # {marker}\n",
                     environment="build_timeout_sec = 2\n")
    with pytest.raises(EnvironmentFailed) as caught:
        images.ensure_image(task, {})
    assert "took longer than its build_timeout_sec (2 s) and was stopped" in str(caught.value)
    assert classify(caught.value) == "environment"
    # the daemon cancelled the build: its RUN container goes away (well before the sleep would end)
    deadline = time.monotonic() + 25
    while _containers_running(marker) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _containers_running(marker)


def _containers_running(marker: str) -> list[Any]:
    from executors.docker import client as docker_client

    containers = docker_client.client().api.containers(all=True)
    return [c for c in containers if marker in (c.get("Command") or "")]


@pytest.mark.docker
def test_apt_get_install_in_a_build(tmp_path: Path, built: list[str]) -> None:
    from executors.docker import image as docker_image
    from tests.support.docker_backend import require_docker

    require_docker()  # containers here reach Debian's mirror, not a registry
    task = make_task(tmp_path, f"FROM {docker_image.default_tag()}\nUSER root\n"
                               "RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends sl "
                               ">/dev/null\nUSER 1000:1000\n")
    result = images.ensure_image(task, {})
    built.append(result.tag)
    assert run_in(result.tag, "test -x /usr/games/sl && echo installed").strip() == "installed"


def test_compose_files_are_not_supported(tmp_path: Path) -> None:
    task = make_task(tmp_path, "FROM x\n", {"docker-compose.yaml": "services: {}\n"})
    with pytest.raises(EnvironmentFailed, match=r"environment/docker-compose.yaml is not supported"):
        images.ensure_image(task, {})
    with pytest.raises(EnvironmentFailed, match=r"environment/docker-compose.yaml is not supported"):
        replay_environment(None, task, lay.layout_for("e2b"))


# replay without Docker -------------------------------------------------------------------------------------


@pytest.fixture
def local() -> Iterator[tuple[Computer, lay.Layout]]:
    """A local sandbox and a fresh trial layout (root folder deleted afterwards)."""
    layout = lay.layout_for("local")
    with Computer(sandbox="local") as computer:
        yield computer, layout
    lay.remove(layout)


def _replay(local: tuple[Computer, lay.Layout], task: Task, on_line: Callable[[str], None] | None = None) -> Any:
    computer, layout = local
    return replay_environment(computer, task, layout, on_line=on_line)


def test_replay_of_a_simple_dockerfile(tmp_path: Path, local: tuple[Computer, lay.Layout]) -> None:
    import tarfile

    archive = tmp_path / "bundle.tgz"
    (tmp_path / "inner.txt").write_text("unpacked\n")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "inner.txt", arcname="inner.txt")
    dockerfile = ("FROM ubuntu:24.04\nARG GREETING=hello\nENV APP_NAME=demo PATH=/opt/tool/bin:$PATH\n"
                  "WORKDIR /app\nCOPY a.txt ./\nCOPY *.txt /app/all/\nCOPY sub /app/sub\n"
                  "COPY --chmod=755 run.txt run.sh\nADD bundle.tgz /app/unpacked/\nUSER nobody\n"
                  'RUN echo "$GREETING from $APP_NAME" > greeting.txt\nWORKDIR src\nRUN pwd > ../where.txt\n'
                  'CMD ["bash"]\n')
    task = make_task(tmp_path, dockerfile, {"a.txt": "a\n", "run.txt": "echo run\n", "sub/deep/x.txt": "x\n",
                                            "skip.log": "no\n", ".dockerignore": "*.log\n"})
    (task.environment_dir / "bundle.tgz").write_bytes(archive.read_bytes())
    lines: list[str] = []
    result = _replay(local, task, lines.append)
    computer, layout = local
    app = Path(layout.root) / "app"
    assert result.workdir == str(app / "src") and app == Path(layout.app)
    assert sorted(p.relative_to(app).as_posix() for p in app.rglob("*") if p.is_file()) == [
        "a.txt", "all/a.txt", "all/run.txt", "greeting.txt", "run.sh", "sub/deep/x.txt", "unpacked/inner.txt",
        "where.txt"]
    assert (app / "greeting.txt").read_text() == "hello from demo\n"
    assert (app / "where.txt").read_text().strip() == str(app / "src")
    assert (app / "run.sh").stat().st_mode & 0o777 == 0o755
    assert result.env["APP_NAME"] == "demo" and result.env["PATH"].startswith("/opt/tool/bin:/")
    assert "lmc: USER ignored: the local sandbox is the base and its user runs everything" in lines
    shell = computer.run("shell", "echo $APP_NAME")
    assert "demo" in "".join(str(m.content) for m in shell)


def test_replay_refuses_what_needs_docker(tmp_path: Path, local: tuple[Computer, lay.Layout]) -> None:
    cases = {"FROM a AS one\nRUN true\nFROM one\n": "several stages",
             "FROM a\nCOPY --from=tool:1 /x /y\n": "COPY --from",
             "FROM a\nADD https://example.com/x.tgz /x\n": "only local files",
             "FROM a\nCOPY nothere.txt /x\n": "nothere.txt is not in the build context"}
    for dockerfile, why in cases.items():
        with pytest.raises(EnvironmentFailed, match=why):
            _replay(local, make_task(tmp_path, dockerfile))
    with pytest.raises(EnvironmentFailed, match="prebuilt image lmc-sandbox:latest.*--sandbox docker"):
        _replay(local, make_task(tmp_path, None, environment='docker_image = "lmc-sandbox:latest"\n'))


def test_replay_of_a_failed_run_and_of_a_slow_one(tmp_path: Path, local: tuple[Computer, lay.Layout]) -> None:
    task = make_task(tmp_path, "FROM a\nWORKDIR /app\nRUN echo getting-there && exit 4\n")
    with pytest.raises(EnvironmentFailed, match=r"step 3/3 \(line 3: RUN echo getting-there.*exit status 4"
                                                r"(.|\n)*getting-there"):
        _replay(local, task)
    slow = make_task(tmp_path, "FROM a\nRUN sleep 30\n", environment="build_timeout_sec = 2\n")
    with pytest.raises(EnvironmentFailed, match=r"build_timeout_sec \(2 s\).*RUN sleep 30"):
        _replay(local, slow)


def test_replay_of_the_older_files_and_setup_form(tmp_path: Path, local: tuple[Computer, lay.Layout]) -> None:
    task = make_task(tmp_path, None, {"files/data.txt": "3\n", "setup.sh": "cp data.txt copy.txt\n"})
    assert _replay(local, task).workdir is None  # the trial starts in APP_DIR
    app = Path(local[1].app)
    assert (app / "data.txt").read_text() == (app / "copy.txt").read_text() == "3\n"
