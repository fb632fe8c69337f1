"""The wheel, as a user gets it: built from the tree, installed into a fresh venv, every command run.

What this proves, and how:
- The wheel holds every file of the product packages that git tracks (the image recipe, the
  kernels, the in-sandbox code, every built-in task file), the py.typed markers and the entry
  points pyproject.toml declares, and nothing else (no tests/, no scripts/).
- The commands run from an empty folder, by the venv's `lmc` script, with no PYTHONPATH, and the
  interpreter they run imports lmc, executors, devices, orchestrator and benchmarks from the
  venv: no path of this checkout is on sys.path and no editable-install finder is loaded.

Why dependencies are borrowed: installing `lmc[docker,model]` from the registry into an empty
venv took 71 s here (litellm alone pulls ~60 packages) and needs the network on every run. The
venv is made without system site-packages; one `.pth` line appends this interpreter's
site-packages, where scripts/test installed the dependencies. A path added by a `.pth` file is
not a site dir, so the `.pth` files inside it, among them the editable install of this checkout
(`__editable__.lmc-*.pth`), are never processed; the venv's own site-packages comes first.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("lmc", "executors", "devices", "orchestrator", "benchmarks")
TYPED = ("lmc", "executors", "devices", "orchestrator")
#: tracked under the product packages, deliberately not shipped: example output for the README
NOT_SHIPPED = ("benchmarks/results/",)

pytestmark = pytest.mark.packaging


@dataclass(frozen=True)
class Venv:
    """A fresh virtual environment with the wheel installed."""

    root: Path
    site: Path  #: its site-packages, where the wheel's packages must come from

    @property
    def python(self) -> Path:
        """The venv's interpreter."""
        return self.root / "bin" / "python"

    @property
    def lmc(self) -> Path:
        """The console script the wheel installed."""
        return self.root / "bin" / "lmc"


def _source_tree(dest: Path) -> Path:
    """Copy the files git tracks or would track (nothing ignored: no build/, no caches) to dest."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the work tree is listed too
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def _tracked_product_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", *PRODUCT],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    return [n for n in listed if n and (ROOT / n).is_file() and not n.startswith(NOT_SHIPPED)]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a clean copy of the tree, the way `pip install .` builds it."""
    src = _source_tree(tmp_path_factory.mktemp("src"))
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(src)],
                          capture_output=True, text=True, timeout=240, env=_env(out))
    assert done.returncode == 0, done.stdout + done.stderr
    [built] = out.glob("lmc-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A venv without system site-packages, the wheel installed, dependencies borrowed (see above)."""
    root = tmp_path_factory.mktemp("venv")
    env = _env(root)  # no PYTHONPATH: pip must see the venv, not this checkout
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=60, env=env)
    site = Path(subprocess.run([str(root / "bin" / "python"), "-c",
                                "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True, env=env).stdout.strip())
    host = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (site / "zz_host_dependencies.pth").write_text("".join(f"{p}\n" for p in host))
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(root / "bin" / "python"), "install",
                           "-q", "--no-deps", "--no-index", str(wheel)], capture_output=True, text=True, timeout=120,
                          env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return Venv(root, site)


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    """An empty working folder, far from the checkout."""
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def _env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env.update(LMC_DATA_DIR=str(folder.parent / "data"), XDG_CONFIG_HOME=str(folder.parent / "config"),
               LITELLM_LOCAL_MODEL_COST_MAP="True", TERM="dumb", COLUMNS="120")
    return env


def _lmc(venv: Venv, folder: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(venv.lmc), *args], cwd=folder, env=_env(folder), capture_output=True,
                          text=True, timeout=timeout)


def test_wheel_ships_every_product_file_and_nothing_else(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [n for n in _tracked_product_files() if n not in names]
    assert not missing, f"{len(missing)} files missing from the wheel, e.g. {missing[:10]}"
    for package in TYPED:
        assert f"{package}/py.typed" in names
    for name in ("Dockerfile", "README.md", "build.sh", "packages.txt"):
        assert f"executors/docker/recipe/{name}" in names
    assert not [n for n in names if n.endswith(".pyc")]
    tops = {n.split("/")[0] for n in names}
    assert tops - {t for t in tops if t.endswith(".dist-info")} == set(PRODUCT)


def test_wheel_declares_the_entry_points_of_pyproject(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    [ep_file] = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
    shipped = configparser.ConfigParser()
    shipped.read_string(archive.read(ep_file).decode())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {"console_scripts": project["scripts"], **project["entry-points"]}
    for group, entries in declared.items():
        assert dict(shipped[group]) == entries, group
        for target in entries.values():  # each target's module is in the wheel
            module = target.split(":")[0].replace(".", "/")
            assert {f"{module}.py", f"{module}/__init__.py"} & set(archive.namelist()), target


def test_installed_files_match_the_tree_with_their_modes(venv: Venv) -> None:
    # bytes and executable bits survive the wheel (tasks' solve.sh and test.sh, the image recipe)
    staged = subprocess.run(["git", "ls-files", "-s", *PRODUCT], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.splitlines()
    executable = {line.split("\t", 1)[1] for line in staged if line.startswith("100755")}
    assert "executors/docker/recipe/build.sh" in executable
    differ, not_executable = [], []
    for name in _tracked_product_files():
        installed = venv.site / name
        if installed.read_bytes() != (ROOT / name).read_bytes():
            differ.append(name)
        if name in executable and not os.access(installed, os.X_OK):
            not_executable.append(name)
    assert not differ and not not_executable, (differ[:10], not_executable[:10])


PROOF = r"""
import importlib, importlib.metadata as md, json, sys
ours = sys.argv[1].split(",")
found = {"files": {n: importlib.import_module(n).__file__ for n in ours}}
found["entry_points"] = {}
for group in ("lmc.commands", "lmc.languages", "console_scripts"):
    for e in md.entry_points(group=group):
        if e.module.split(".")[0] in ours:
            e.load()
            found["entry_points"][f"{group}:{e.name}"] = sys.modules[e.module].__file__
found["sys_path"] = sys.path
found["meta_path"] = [getattr(f, "__name__", type(f).__name__) for f in sys.meta_path]
found["loaded"] = [m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)]
found["dist"] = str(md.distribution("lmc")._path)
print(json.dumps(found))
"""


def test_the_venv_imports_the_wheel_not_the_checkout(venv: Venv, empty: Path) -> None:
    done = subprocess.run([str(venv.python), "-c", PROOF, ",".join(PRODUCT)], cwd=empty, env=_env(empty),
                          capture_output=True, text=True, timeout=120, check=True)
    found = json.loads(done.stdout)
    site = str(venv.site) + os.sep
    for name, file in {**found["files"], **found["entry_points"]}.items():
        assert file.startswith(site), f"{name} imported from {file}, not from the wheel in {venv.site}"
    assert len(found["entry_points"]) >= 5  # lmc, bench, three languages
    assert found["dist"].startswith(site)
    checkout = str(ROOT) + os.sep
    assert not [p for p in found["sys_path"] if (p + os.sep).startswith(checkout) or p == str(ROOT)]
    assert not [f for f in found["loaded"] if f.startswith(checkout)]
    assert not [f for f in found["meta_path"] if "Editable" in f], found["meta_path"]
    assert venv.lmc.read_text().splitlines()[0] == f"#!{venv.python}"


def test_lmc_help_lists_every_command(venv: Venv, empty: Path) -> None:
    done = _lmc(venv, empty, "--help")
    assert done.returncode == 0, done.stderr
    for command in ("run", "chat", "conversations", "image", "sandbox", "bench"):
        assert f"\n    {command} " in done.stdout, command
    assert "warning" not in done.stderr  # the bench plugin loaded from the wheel's entry point
    module = subprocess.run([str(venv.python), "-m", "orchestrator", "--help"], cwd=empty, env=_env(empty),
                            capture_output=True, text=True, timeout=60)
    assert module.returncode == 0 and "bench" in module.stdout, module.stderr


def test_lmc_run_every_language_in_the_local_sandbox(venv: Venv, empty: Path) -> None:
    # the kernels (.py, .sh, .js) are data files of the wheel; the agent runs from the venv
    python = _lmc(venv, empty, "run", "python", "import executors; print(6 * 7, executors.__file__)")
    assert python.returncode == 0, python.stderr
    answer, agent = python.stdout.split()
    assert answer == "42" and agent.startswith(str(venv.site))
    shell = _lmc(venv, empty, "run", "shell", "echo $((6 * 7)); pwd")
    assert shell.returncode == 0 and shell.stdout.split() == ["42", str(empty)], shell.stderr
    js = _lmc(venv, empty, "run", "javascript", "console.log(6 * 7)")
    assert js.returncode == 0 and js.stdout.strip() == "42", js.stderr
    assert list(empty.iterdir()) == []


@pytest.mark.docker
def test_lmc_image_status_and_run_in_docker(venv: Venv, empty: Path) -> None:
    from executors.docker.image import default_tag
    from tests.support.docker_backend import require_docker

    require_docker()
    status = _lmc(venv, empty, "image", "status")
    # the same tag as this checkout's recipe: the wheel's recipe is complete and byte-identical
    assert status.returncode == 0 and f"{default_tag()}: present" in status.stdout, status.stdout + status.stderr
    ran = _lmc(venv, empty, "run", "--sandbox", "docker", "python", "import os; print(6 * 7, os.getuid())")
    assert ran.returncode == 0, ran.stderr
    answer, uid = ran.stdout.split()
    assert answer == "42" and uid != "0"
    shell = _lmc(venv, empty, "run", "--sandbox", "docker", "shell", "echo $((6 * 7))")
    assert shell.returncode == 0 and shell.stdout.strip() == "42", shell.stderr


@pytest.mark.docker
def test_lmc_bench_run_builtin_with_the_oracle(venv: Venv, empty: Path) -> None:
    from tests.support.docker_backend import require_docker

    require_docker()
    tasks = ("files-create-hello", "text-reverse-lines")
    done = _lmc(venv, empty, "bench", "run", "builtin", "--model", "oracle", "-p", "2", "--no-progress",
                "-o", "out", *(arg for task in tasks for arg in ("-t", task)), timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rows = [json.loads(line) for line in (empty / "out" / "results.jsonl").read_text().splitlines()]
    assert sorted((r["task"], r["outcome"]) for r in rows) == [(t, "passed") for t in tasks]


def test_lmc_chat_with_the_scripted_model(venv: Venv, empty: Path) -> None:
    from orchestrator.models.scripted_server import ScriptedServer, text, tool_call

    script = [tool_call("python", "import executors; print(40 + 2, executors.__file__)"), text("It is 42.")]
    with ScriptedServer(script) as server:
        done = _lmc(venv, empty, "chat", "-y", "--model", "openai/scripted", "--api-base", server.url,
                    "--api-key", "sk-test", "--mode", "tools", "--format", "json", "What is 40 + 2?",
                    timeout=180)
        requests = server.requests
    assert done.returncode == 0, done.stderr
    chunks = [json.loads(line) for line in done.stdout.splitlines()]
    output = "".join(c.get("content") or "" for c in chunks if c["type"] == "console" and c["format"] == "output")
    answer, agent = output.split()
    assert answer == "42" and agent.startswith(str(venv.site))
    assert chunks[-1]["type"] == "status" and chunks[-1]["content"] == "complete"
    assert len(requests) == 2 and "42" in json.dumps(requests[1]["messages"][-1])


@pytest.fixture(autouse=True, scope="module")
def _no_leftover_venv_processes(venv: Venv) -> Iterator[None]:
    """Every process the venv's commands started has ended once the module is done."""
    yield
    left = subprocess.run(["pgrep", "-f", str(venv.root)], capture_output=True, text=True).stdout.split()
    assert not left, f"processes of the venv still running: {left}"
