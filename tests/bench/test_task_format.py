"""Task folders read as Harbor reads them (schema 1.0 and 1.1), the built-in suite, and `lmc bench check`."""

from __future__ import annotations

import argparse
import logging
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks.harness.check import Host, Linter, check_command
from benchmarks.harness.errors import SuiteNotFound, TaskInvalid, UnknownTask
from benchmarks.harness.suite import BUILTIN, check_suite, load_suite
from benchmarks.harness.task import check_task, inspect_task, load_task, resolve_env, strip_canary
from benchmarks.harness.taskschema import size_mb

#: a Terminal-Bench 2.0 style task.toml (schema 1.0): free-form metadata, deprecated memory/storage sizes
TOML_1_0 = """version = "1.0"

[metadata]
author_name = "Grace Example"
author_email = "grace@example.org"
difficulty = "hard"
category = "system-administration"
tags = ["sys-admin", "networking"]
expert_time_estimate_min = 45.0
junior_time_estimate_min = 240.0
custom_docker_compose = true

[verifier]
timeout_sec = 900.0

[agent]
timeout_sec = 1200.0

[environment]
build_timeout_sec = 300.0
docker_image = "example-org/route-table:20250101"
cpus = 2
memory = "2G"
storage = "10G"
"""

#: a Harbor 1.1 task.toml with every section lmc reads
TOML_1_1 = """schema_version = "1.1"
source = "lmc-tests"

[task]
name = "lmc-tests/every-section"
description = "Touches every section of the schema."
authors = [{ name = "Ada Example", email = "ada@example.org" }, { name = "Bob Example" }]
keywords = ["schema", "probe"]

[metadata]
category = "probe"
difficulty_explanation = "nothing to do"

[verifier]
timeout_sec = 45
user = "checker"
network_mode = "no-network"

[verifier.env]
GRADER_MODE = "strict"
GRADER_KEY = "${LMC_TEST_GRADER_KEY:-offline}"

[agent]
timeout_sec = 300
user = 1000
max_steps = 7
network_mode = "public"

[solution.env]
SOLVER_HINT = "${LMC_TEST_SOLVER_HINT}"

[environment]
build_timeout_sec = 120
cpus = 0.5
memory_mb = 512
storage_mb = 4096
gpus = 0
gpu_types = ["T4"]
network_mode = "no-network"
skills_dir = "/skills"

[environment.env]
APP_MODE = "test"

[environment.healthcheck]
command = "test -f /app/ready"
interval_sec = 1
timeout_sec = 5
start_period_sec = 2
start_interval_sec = 0.5
retries = 4

[[environment.mcp_servers]]
name = "notes"
transport = "stdio"
command = "notes-server"
args = ["--readonly"]

[desktop]
app = "python3 app.py"
width = 640
height = 480
ready_window = "Probe"
"""

DOCKERFILE = "FROM lmc-sandbox:latest\nUSER root\nWORKDIR /app\n"


def _task(factory: Callable[..., Path], name: str, toml: str, dockerfile: str | None = DOCKERFILE,
          files: dict[str, str] | None = None) -> Path:
    folder = factory(name, toml=toml)
    shutil.rmtree(folder / "environment")  # the factory's default environment gives way to this one
    if dockerfile is not None:
        (folder / "environment").mkdir()
        (folder / "environment" / "Dockerfile").write_text(dockerfile)
    for path, text in (files or {}).items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    return folder


def test_builtin_suite_is_harbor_native_with_every_category_and_solutions() -> None:
    tasks = load_suite(BUILTIN, need_solution=True)
    categories = Counter(t.category for t in tasks)
    assert len(tasks) == 42
    assert categories["desktop"] >= 8
    assert {"files", "text", "python", "data", "fix", "git", "desktop"} <= set(categories)
    for task in tasks:
        assert inspect_task(task.path, need_solution=True)[2] == [], task.name
        assert task.schema_version == "1.1" and task.harbor_name == f"lmc/{task.name}"
        assert task.solution is not None and task.dockerfile is not None
        assert task.dockerfile.read_text().count("FROM lmc-sandbox:latest") == 1
        assert task.workdir == "/app" and task.network_mode == "no-network" and not task.allow_internet
        assert not (task.environment_dir / "setup.sh").exists() and task.setup is None
        assert task.tags, task.name
    assert all(t.desktop is not None and t.desktop.ready_window for t in tasks if t.category == "desktop")


def test_harbor_1_0_file_reads_like_terminal_bench(task_factory: Callable[..., Path]) -> None:
    folder = _task(task_factory, "tb-style", TOML_1_0)
    (folder / "instruction.md").write_text("<!-- our canary GUID 1234 -->\n# canary line two\n\nRoute it.\n")
    task, errors, warnings = inspect_task(folder)
    assert errors == [] and warnings == []
    assert task is not None
    assert task.instruction == "Route it."
    assert (task.schema_version, task.category, task.difficulty) == ("1.0", "system-administration", "hard")
    assert task.tags == ("sys-admin", "networking") and task.metadata["expert_time_estimate_min"] == 45.0
    assert task.metadata["custom_docker_compose"] is True
    assert (task.agent_timeout, task.verifier_timeout, task.build_timeout) == (1200.0, 900.0, 300.0)
    assert (task.cpus, task.memory_mb, task.storage_mb, task.gpus) == (2.0, 2048, 10240, 0)
    assert task.docker_image == "example-org/route-table:20250101"
    # Harbor's defaults: a network, no users of its own, the image's WORKDIR
    assert task.allow_internet and task.network_mode == "public" and task.internet_for("verifier")
    assert (task.agent_user, task.verifier_user, task.harbor_name) == (None, None, None)
    assert task.workdir == "/app"


def test_harbor_1_1_file_with_every_section(task_factory: Callable[..., Path]) -> None:
    task, errors, warnings = inspect_task(_task(task_factory, "every", TOML_1_1))
    assert errors == [], errors
    assert task is not None
    assert task.harbor_name == "lmc-tests/every-section" and task.name == "every"
    assert (task.category, task.difficulty, task.tags) == ("probe", "medium", ("schema", "probe"))
    assert (task.agent_timeout, task.agent_user, task.max_steps) == (300.0, "1000", 7)
    assert (task.verifier_timeout, task.verifier_user) == (45.0, "checker")
    assert task.verifier_env == {"GRADER_MODE": "strict", "GRADER_KEY": "${LMC_TEST_GRADER_KEY:-offline}"}
    assert task.solution_env == {"SOLVER_HINT": "${LMC_TEST_SOLVER_HINT}"} and task.env == {"APP_MODE": "test"}
    assert (task.build_timeout, task.cpus, task.memory_mb, task.storage_mb) == (120.0, 0.5, 512, 4096)
    assert task.gpu_types == ("T4",) and task.docker_image is None
    assert task.healthcheck is not None and task.healthcheck.command == "test -f /app/ready"
    assert (task.healthcheck.start_interval_sec, task.healthcheck.retries) == (0.5, 4)
    assert task.mcp_servers == ({"name": "notes", "transport": "stdio", "command": "notes-server",
                                 "args": ["--readonly"]},)
    assert task.desktop is not None and (task.desktop.width, task.desktop.ready_window) == (640, "Probe")
    # the phase's own network_mode wins over the environment's
    assert task.network_for("agent") == "public" and task.internet_for("agent")
    assert task.network_for("verifier") == "no-network" and not task.allow_internet
    text = "\n".join(warnings)
    assert len(warnings) == 2 and "MCP client" in text and "skills" in text


@pytest.mark.parametrize(("toml", "expected"), [
    ("[agent]\ntimeout = 5\n", "unknown key 'timeout' in [agent], ignored (as Harbor does); did you mean "
                               "'timeout_sec'?"),
    ("[envirnoment]\ncpus = 1\n", "unknown section [envirnoment], ignored (as Harbor does); did you mean "
                                  "[environment]?"),
    ("surprise = 1\n", "unknown key 'surprise' in the top level"),
    ("[environment.healthcheck]\ncommand = 'true'\nevery = 3\n", "unknown key 'every' in "
                                                                 "[environment.healthcheck]"),
    ("[metadata]\ndifficulty = 'brutal'\n", "difficulty 'brutal' is not one of easy, medium, hard"),
    ('schema_version = "1.4"\n', "schema version '1.4' is newer than the ones lmc knows (1.0, 1.1)"),
    ('artifacts = ["/app/out"]\n', "lmc does not copy artifacts"),
    ('[[steps]]\nname = "one"\n', "multi-step tasks are not supported"),
    ('[environment]\nos = "windows"\n', "lmc runs Linux containers only"),
    ('[environment]\nallowed_hosts = ["pypi.org"]\n', "lmc cannot allow single hosts (pypi.org)"),
    ('[verifier]\nnetwork_mode = "allowlist"\nallowed_hosts = ["Example.COM."]\n',
     "[verifier] allowlist networking: lmc cannot allow single hosts (example.com)"),
    ('[environment]\nnetwork_mode = "public"\nallow_internet = false\n', "disagree; network_mode wins"),
])
def test_what_harbor_ignores_is_a_warning(task_factory: Callable[..., Path], toml: str, expected: str) -> None:
    task, errors, warnings = inspect_task(_task(task_factory, "warned", toml))
    assert errors == [] and task is not None
    assert any(expected in w for w in warnings), warnings
    load_task(task.path)  # warnings never stop a task from loading


@pytest.mark.parametrize(("toml", "expected"), [
    ("[agent]\ntimeout_sec = 'soon'\n", "[agent] timeout_sec must be a number, got 'soon'"),
    ("[agent]\ntimeout_sec = -1\n", "[agent] timeout_sec must be a number above 0, got -1"),
    ("[agent]\nmax_steps = 2.5\n", "[agent] max_steps must be an integer, got 2.5"),
    ("[environment]\ngpus = -1\n", "[environment] gpus must be an integer at least 0, got -1"),
    ("[environment]\nmemory = 'lots'\n", "[environment] memory must be a size like \"2G\""),
    ("[environment]\nallow_internet = 'no'\n", "allow_internet must be true or false, got 'no'"),
    ("[environment]\nnetwork_mode = 'offline'\n", "network_mode must be one of 'public', 'no-network', "
                                                  "'allowlist', got 'offline'"),
    ('[environment]\nnetwork_mode = "public"\nallowed_hosts = ["pypi.org"]\n',
     "allowed_hosts is only valid with network_mode = 'allowlist'"),
    ('[agent]\nallowed_hosts = ["https://pypi.org"]\n', "not URLs, ports or paths"),
    ("[verifier.env]\nRETRIES = 3\n", "[verifier] env must be a table of strings"),
    ("[verifier]\nuser = true\n", "[verifier] user must be a user name or a numeric uid, got True"),
    ('[task]\nname = "no-org"\n', '[task] name must be "org/name"'),
    ('[task]\ndescription = "unnamed"\n', "[task] needs name = ..."),
    ("[environment.healthcheck]\nretries = 2\n", "[environment.healthcheck] needs command = ..."),
    ('[[environment.mcp_servers]]\nname = "x"\n', "with transport 'sse' needs url = ..."),
    ("[desktop]\nwidth = 800\n", "[desktop] needs app = ..."),
    ("agent = 3\n", "agent must be a section ([agent]), got 3"),
    ("[agent\n", "task.toml is not valid TOML"),
])
def test_wrong_types_and_impossible_values_are_errors(task_factory: Callable[..., Path], toml: str,
                                                      expected: str) -> None:
    folder = _task(task_factory, "broken", toml)
    with pytest.raises(TaskInvalid) as caught:
        load_task(folder)
    assert expected in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert check_task(folder) == caught.value.problems


@pytest.mark.parametrize(("environment", "mode", "internet"), [
    ("", "public", True),  # Harbor's default
    ("allow_internet = true\n", "public", True),
    ("allow_internet = false\n", "no-network", False),
    ('network_mode = "no-network"\n', "no-network", False),
    ('network_mode = "no-network"\nallow_internet = true\n', "no-network", False),
    ('network_mode = "public"\nallow_internet = false\n', "public", True),
    ('allowed_hosts = ["pypi.org"]\n', "allowlist", False),
    ('network_mode = "allowlist"\nallowed_hosts = ["pypi.org"]\nallow_internet = true\n', "allowlist", False),
])
def test_network_mode_wins_over_allow_internet(task_factory: Callable[..., Path], environment: str, mode: str,
                                               internet: bool) -> None:
    task = load_task(_task(task_factory, "net", "[environment]\n" + environment))
    assert (task.network_mode, task.allow_internet) == (mode, internet)
    assert task.internet_for("agent") is internet and task.internet_for("verifier") is internet


@pytest.mark.parametrize(("text", "mb"), [("2G", 2048), ("512M", 512), ("1.5G", 1536), ("4096K", 4),
                                          (" 8g ", 8192), ("100m", 100)])
def test_sizes_in_megabytes_like_harbor(text: str, mb: int) -> None:
    assert size_mb(text) == mb


def test_env_templates_resolve_from_the_host() -> None:
    environ = {"API_KEY": "sk-123", "EMPTY": ""}
    mapping = {"literal": "plain", "key": "${API_KEY}", "empty": "${EMPTY}", "fallback": "${UNSET:-dflt}",
               "blank": "${UNSET:-}", "set_wins": "${API_KEY:-other}", "inside": "x-${API_KEY}"}
    assert resolve_env(mapping, environ) == {"literal": "plain", "key": "sk-123", "empty": "", "fallback": "dflt",
                                             "blank": "", "set_wins": "sk-123", "inside": "x-${API_KEY}"}
    with pytest.raises(TaskInvalid) as caught:
        resolve_env({"TOKEN": "${LMC_TEST_UNSET_TOKEN}", "OK": "${API_KEY}"}, environ, where="[verifier] env")
    assert caught.value.problems == [
        "[verifier] env: TOKEN = '${LMC_TEST_UNSET_TOKEN}' needs the host variable LMC_TEST_UNSET_TOKEN, which is "
        "not set; export LMC_TEST_UNSET_TOKEN=... before running, or give a default: ${LMC_TEST_UNSET_TOKEN:-value}"]


def test_canary_lines_are_dropped_only_at_the_top() -> None:
    assert strip_canary("# BENCHMARK canary GUID x\n\nDo it.\n# canary stays here\n") == "Do it.\n# canary stays here\n"
    assert strip_canary("Do it.") == "Do it."


def test_missing_files_are_all_listed_with_fixes(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    problems = check_task(tmp_path / "empty", need_solution=True)
    text = "\n".join(problems)
    assert len(problems) == 4, problems
    assert "task.toml is missing" in text and "instruction.md is missing" in text
    assert "tests/test.sh is missing" in text and "reward.txt" in text
    assert "solution/solve.sh is missing" in text


def test_suite_errors_name_the_task_and_warnings_are_logged(task_factory: Callable[..., Path], tmp_path: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    task_factory("good", toml="[agent]\nsteps = 3\n")
    task_factory("bad", toml="[agent]\ntimeout_sec = 0\n")
    assert list(check_suite(tmp_path / "suite")) == ["bad"]
    with pytest.raises(TaskInvalid, match="bad: task.toml: \\[agent\\] timeout_sec must be a number above 0"):
        load_suite(tmp_path / "suite")
    with caplog.at_level(logging.WARNING, logger="benchmarks.harness.suite"):
        assert [t.name for t in load_suite(tmp_path / "suite", ["good"])] == ["good"]
    assert "good: task.toml: unknown key 'steps' in [agent]" in caplog.text
    with pytest.raises(UnknownTask, match="unknown task.*gdoo.*known: bad, good"):
        load_suite(tmp_path / "suite", ["gdoo"])
    with pytest.raises(SuiteNotFound, match="no task folders"):
        load_suite(tmp_path)


# `lmc bench check` ----------------------------------------------------------------------------------------

NO_GPU = Host(cpus=2, memory_mb=4096, gpu=False, environ={})


@pytest.mark.parametrize(("toml", "dockerfile", "files", "expected"), [
    ("[environment]\ngpus = 1\n", DOCKERFILE, {}, "this machine has no GPU"),
    ("[environment]\ncpus = 8\nmemory_mb = 65536\n", DOCKERFILE, {}, "cpus = 8 but this machine has 2"),
    ("[environment]\nmemory_mb = 65536\n", DOCKERFILE, {}, "memory is 65536 MB but this machine has 4096 MB"),
    ('[verifier.env]\nKEY = "${LMC_TEST_NOT_SET}"\n', DOCKERFILE, {}, "needs the host variable LMC_TEST_NOT_SET"),
    ("", DOCKERFILE + "COPY data/ /app/data/\nCOPY *.csv notes.txt /app/\n", {"environment/notes.txt": "n"},
     "COPY source 'data/' is not in the build context"),
    ("", DOCKERFILE + "COPY *.csv /app/\n", {}, "COPY source '*.csv' is not in the build context"),
    ("", DOCKERFILE + "COPY secret.txt /app/\n", {"environment/secret.txt": "s", "environment/.dockerignore":
                                                  "secret*\n"}, "'secret.txt' is not in the build context"),
    ("", "FROM lmc-sandbox:latest\nUSER 1000\nWORKDIR /data\n", {}, "WORKDIR /data is never created by the task"),
    ("", "FROM lmc-sandbox:latest\nUSER root\n", {}, "sets no WORKDIR"),
    ("", DOCKERFILE, {"environment/docker-compose.yaml": "services: {}\n"}, "does not run multi-container"),
    ("", DOCKERFILE, {"tests/test.sh": "exit 0\n"}, "never mentions reward.txt"),
    ('[environment]\nnetwork_mode = "no-network"\n', DOCKERFILE,
     {"tests/test.sh": "apt-get install -y curl\necho 1 > /logs/verifier/reward.txt\n"},
     "tests/ downloads (apt-get, pip, curl, uv...) but the verifier has no network"),
])
def test_linter_warns_about_what_breaks_here(task_factory: Callable[..., Path], toml: str, dockerfile: str,
                                             files: dict[str, str], expected: str) -> None:
    report = Linter(host=NO_GPU, check_images=False).task(_task(task_factory, "t", toml, dockerfile, files))
    assert report.valid, report.errors
    assert any(expected in w for w in report.warnings), report.warnings


@pytest.mark.parametrize("dockerfile", [
    DOCKERFILE + "COPY data/ /app/data/\nCOPY --from=lmc-sandbox:latest /etc/hostname /app/\n",
    DOCKERFILE + "ARG SRC=data\nCOPY ${SRC}/a.txt *.md /app/\nCOPY <<EOF /app/x\nhi\nEOF\n",
    "FROM lmc-sandbox:latest\nUSER root\nRUN mkdir -p /data && chown 1000 /data\nUSER 1000\nWORKDIR /data\n",
])
def test_linter_is_quiet_about_what_works(task_factory: Callable[..., Path], dockerfile: str) -> None:
    folder = _task(task_factory, "ok", "", dockerfile, {"environment/data/a.txt": "a", "environment/README.md": "r"})
    report = Linter(host=NO_GPU, check_images=False).task(folder)
    assert (report.errors, report.warnings) == ([], [])


def test_a_task_without_an_environment_is_an_error(task_factory: Callable[..., Path]) -> None:
    report = Linter(host=NO_GPU, check_images=False).task(_task(task_factory, "bare", "", dockerfile=None))
    assert not report.valid and "no environment/Dockerfile and no [environment] docker_image" in report.errors[0]
    prebuilt = _task(task_factory, "prebuilt", '[environment]\ndocker_image = "lmc-sandbox:latest"\n', None)
    assert Linter(host=NO_GPU, check_images=False).task(prebuilt).valid


def _check(path: Path | str, *image_map: str) -> argparse.Namespace:
    return argparse.Namespace(path=str(path), need_solution=False, image_map=list(image_map))


@pytest.mark.docker
def test_check_command_names_missing_images_and_counts(task_factory: Callable[..., Path], tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    _task(task_factory, "good", "")
    _task(task_factory, "absent-base", "", "FROM lmc-tests/never-built:1\nWORKDIR /app\n")
    _task(task_factory, "broken", "[agent]\ntimeout_sec = 'soon'\n")
    assert check_command(_check(tmp_path / "suite")) == 1
    out = capsys.readouterr().out
    assert "broken: invalid\n  - task.toml: [agent] timeout_sec must be a number" in out
    assert "absent-base: valid, 1 warning(s)\n  ! image lmc-tests/never-built:1 is not available locally" in out
    assert "--image-map lmc-tests/never-built:1=LOCAL_IMAGE" in out and "good:" not in out
    assert out.endswith("2 of 3 task(s) valid (1 with warnings)\n")
    # mapped to an image this machine has, the warning goes; warnings alone exit 0
    (tmp_path / "suite" / "broken" / "task.toml").write_text("")
    assert check_command(_check(tmp_path / "suite", "lmc-tests/never-built:1=lmc-sandbox:latest")) == 0
    assert capsys.readouterr().out == "3 of 3 task(s) valid (0 with warnings)\n"


def test_check_command_without_docker_says_what_it_skipped(task_factory: Callable[..., Path], tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    _task(task_factory, "good", "")
    args = _check(tmp_path / "suite")
    args.docker_host = "tcp://127.0.0.1:9"  # nothing listens there
    assert check_command(args) == 0
    out = capsys.readouterr().out
    assert "note: FROM images were not checked: Docker is not reachable" in out
    assert out.endswith("1 of 1 task(s) valid (0 with warnings)\n")


def test_the_builtin_suite_passes_the_linter(capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(path="builtin", need_solution=True, image_map=[])
    assert check_command(args) == 0
    assert capsys.readouterr().out.endswith("42 of 42 task(s) valid (0 with warnings)\n")
