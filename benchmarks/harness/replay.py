"""A task's environment without Docker: its Dockerfile replayed in the sandbox's shell.

`--sandbox local` and `e2b` have no image builder, so a simple Dockerfile is
replayed step by step through the sandbox's Computer:

    FROM, USER                   ignored (the sandbox itself is the base; a log line says so)
    ARG, ENV                     set for later steps; ENV also for the agent (replay_environment().env)
    WORKDIR                      created; later relative paths and RUN start there
    COPY, ADD (local files)      from environment/ (.dockerignore honoured); ADD unpacks local tarballs
    RUN                          `/bin/sh -c` (or the SHELL given) in the WORKDIR, stdin closed
    CMD, LABEL, EXPOSE, ...      ignored: they change no file

Absolute paths of WORKDIR and COPY/ADD destinations are mapped under the
trial's root folder (layout.Layout.root), so `WORKDIR /app` is <root>/app,
which is the APP_DIR the sandbox is given. A RUN's own command is not
rewritten: it should use relative paths or ${APP_DIR:-/app}. Anything else
(multi-stage builds, COPY --from, ADD of a URL, an unknown instruction) is
refused with EnvironmentFailed: run that task with `--sandbox docker`.
The older form, environment/files/ copied into the working dir and
environment/setup.sh run there, still works when there is no Dockerfile.
"""

from __future__ import annotations

import base64
import io
import logging
import posixpath
import re
import shlex
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.harness import dockerfile as df
from benchmarks.harness import layout as lay
from benchmarks.harness.errors import EnvironmentFailed, StagingFailed
from benchmarks.harness.task import Task

log = logging.getLogger(__name__)

#: instructions that change no file: nothing to replay
INERT = ("CMD", "ENTRYPOINT", "EXPOSE", "LABEL", "MAINTAINER", "STOPSIGNAL", "HEALTHCHECK", "VOLUME", "ONBUILD")
#: a heredoc delimiter no context file is expected to contain
_EOF = "LMC_REPLAY_EOF_5c1e"
_TAIL = 15


@dataclass(frozen=True)
class Replayed:
    """What a replayed Dockerfile leaves for the agent."""

    workdir: str | None  #: the final WORKDIR inside the sandbox; None when the Dockerfile sets none
    env: dict[str, str] = field(default_factory=dict)  #: ENV values, as the sandbox's shell resolved them


def replay(computer: Any, task: Task, layout: lay.Layout, *,
           on_line: Callable[[str], None] | None = None) -> str | None:
    """Make the task's environment in the sandbox; the final WORKDIR there (None when none is set)."""
    return replay_environment(computer, task, layout, on_line=on_line).workdir


def replay_environment(computer: Any, task: Task, layout: lay.Layout, *,
                       on_line: Callable[[str], None] | None = None) -> Replayed:
    """Make the task's environment in the sandbox: its Dockerfile replayed, or files/ and setup.sh."""
    from benchmarks.harness.images import refuse_compose

    refuse_compose(task)
    if task.dockerfile is not None:
        return _Replay(computer, task, layout, on_line).run(df.parse(task.dockerfile.read_text()))
    if task.docker_image:
        raise EnvironmentFailed(f"task {task.name} runs in the prebuilt image {task.docker_image}, which cannot "
                                "be replayed without Docker; run it with --sandbox docker")
    _legacy(computer, task, layout)
    return Replayed(None)


def _legacy(computer: Any, task: Task, layout: lay.Layout) -> None:
    """environment/files/ into the working dir, then environment/setup.sh run there."""
    folder = task.environment_dir
    lay.must_run(computer, lay.unpack_script(lay.tarball(folder / "files"), layout.app),
                 "copying the task's files into the sandbox")
    if (folder / "setup.sh").is_file():
        staged = f"{layout.logs}/agent/environment"
        lay.must_run(computer, f'{lay.unpack_script(lay.tarball(folder), staged)}\n'
                               f'cd "{layout.app}" && bash "{staged}/setup.sh" < /dev/null',
                     "the task's environment/setup.sh", timeout=task.build_timeout)


class _Replay:
    """The state of one replay: where the build is (WORKDIR), its variables, its shell."""

    def __init__(self, computer: Any, task: Task, layout: lay.Layout, on_line: Callable[[str], None] | None) -> None:
        self.computer, self.task, self.layout, self.folder = computer, task, layout, task.environment_dir
        self.on_line = on_line
        self.files = df.context_files(self.folder)
        self.variables: dict[str, str] = {}  # ARG and ENV values, for paths (Docker substitutes them)
        self.prelude: list[str] = []  # the same ARG / ENV as shell code, run before each RUN
        self.env_names: list[str] = []
        self.workdir: str | None = None  # the task's path, e.g. /app
        self.shell = ["/bin/sh", "-c"]
        self.deadline = time.monotonic() + task.build_timeout
        self.where = ""

    def say(self, text: str, level: int = logging.INFO) -> None:
        """A line of replay output: to the log, and to on_line (progress, the build log)."""
        log.log(level, "%s: %s", self.task.name, text)
        if self.on_line is not None:
            self.on_line(text)

    def fail(self, why: str) -> EnvironmentFailed:
        return EnvironmentFailed(f"task {self.task.name}: cannot replay environment/Dockerfile without Docker: "
                                 f"{self.where}: {why}; run this task with --sandbox docker")

    def run(self, instructions: list[df.Instruction]) -> Replayed:
        """Replay every instruction in order."""
        if sum(i.keyword == "FROM" for i in instructions) > 1:
            self.where = "line " + str([i.line for i in instructions if i.keyword == "FROM"][1])
            raise self.fail("it has several stages (FROM ... AS); only single-stage Dockerfiles replay")
        for number, instruction in enumerate(instructions, 1):
            self.where = f"step {number}/{len(instructions)} (line {instruction.line}: {instruction.keyword} " \
                         f"{instruction.args[:80]})"
            flags = "".join(f"--{name}={value} " for name, value in instruction.flags.items())
            self.say(f"Step {number}/{len(instructions)} : {instruction.keyword} {flags}{instruction.args}")
            self.step(instruction)
        return Replayed(self.layout.inside(self.workdir) if self.workdir else None, self._apply_env())

    def step(self, instruction: df.Instruction) -> None:
        keyword = instruction.keyword
        if keyword in ("FROM", "USER"):
            self.say(f"lmc: {keyword} ignored: the {self._backend()} sandbox is the base and its user runs everything")
        elif keyword in INERT:
            self.say(f"lmc: {keyword} changes no file; skipped")
        elif keyword == "ARG":
            values = df.arg_values(instruction, self.variables, {})
            self.variables.update(values)
            self.prelude += [f"export {name}={shlex.quote(value)}" for name, value in values.items()]
        elif keyword == "ENV":
            self.variables.update(df.env_values(instruction, self.variables))
            self.prelude.append(_env_shell(instruction))
            self.env_names += [n for n in df.env_values(instruction, {}) if n not in self.env_names]
        elif keyword == "SHELL":
            self.shell = df.exec_form(instruction.args) or self.shell
        elif keyword == "WORKDIR":
            path = " ".join(df.words(instruction.args, self.variables))
            self.workdir = posixpath.normpath(posixpath.join(self.workdir or "/", path))
            self.shell_run(f"mkdir -p {shlex.quote(self.layout.inside(self.workdir))}")
        elif keyword in ("COPY", "ADD"):
            self.copy(instruction, add=keyword == "ADD")
        elif keyword == "RUN":
            self.shell_run(self.command(instruction), inside_workdir=True)
        else:
            raise self.fail(f"{keyword} is not an instruction lmc can replay")

    def _backend(self) -> str:
        return "local" if self.layout.host_root else "e2b"

    def command(self, instruction: df.Instruction) -> str:
        """The shell command a RUN stands for (exec form, SHELL, heredocs)."""
        if set(instruction.flags) - {"network", "security"}:
            raise self.fail(f"RUN --{next(iter(instruction.flags))} needs BuildKit")
        argv = df.exec_form(instruction.args)
        if argv is not None:
            return shlex.join(argv)
        script = instruction.args
        if instruction.heredocs and re.fullmatch(r"\s*<<-?['\"]?\w+['\"]?\s*", script):
            script = instruction.heredocs[0].body  # `RUN <<EOF` alone: the body is the script
        elif instruction.heredocs:
            script += "".join(f"\n{doc.body}\n{doc.name}" for doc in instruction.heredocs)
        return shlex.join([*self.shell, script])

    def shell_run(self, command: str, inside_workdir: bool = False, quiet: bool = False) -> str:
        """Run shell code in a subshell with the ARG/ENV so far; EnvironmentFailed unless it exits 0."""
        where = self.layout.inside(self.workdir or "/")
        cd = f"cd {shlex.quote(where)} && " if inside_workdir else ""
        code = "(\n" + "\n".join(self.prelude) + f"\n{cd}{command}\n) < /dev/null 2>&1"
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise self._timeout("")
        messages = self.computer.run("shell", code, timeout=remaining)
        text = "".join(str(m.content) for m in messages if m.type == "console" and m.format == "output")
        for line in [] if quiet else text.splitlines():
            self.say(line, logging.DEBUG)
        errors = [m for m in messages if m.type == "error"]
        if errors and errors[0].format == "timeout":
            raise self._timeout(text)
        if errors:
            raise StagingFailed(f"task {self.task.name}: the sandbox failed during {self.where} "
                                f"({errors[0].format}): {errors[0].content}")
        status = next((int(m.content) for m in messages if m.type == "console" and m.format == "exit_code"), 0)
        if status != 0:
            raise EnvironmentFailed(f"task {self.task.name}: replaying environment/Dockerfile failed at "
                                    f"{self.where}: exit status {status}; last output:\n{_tail(text)}")
        return text

    def _timeout(self, text: str) -> EnvironmentFailed:
        limit = self.task.build_timeout
        return EnvironmentFailed(f"task {self.task.name}: replaying its environment took longer than its "
                                 f"build_timeout_sec ({limit:g} s) and was stopped during {self.where}; raise "
                                 f"[environment] build_timeout_sec in task.toml if it needs longer. "
                                 f"Last output:\n{_tail(text)}")

    def _apply_env(self) -> dict[str, str]:
        """Export the ENV values in the agent's shell and Python; return them as the shell resolved them."""
        if not self.env_names:
            return {}
        reads = "".join(f'printf "%s=%s\\0" {name} "${{{name}}}"\n' for name in self.env_names)
        text = self.shell_run(reads, quiet=True)
        found = dict(item.split("=", 1) for item in text.split("\0") if "=" in item)
        values = {name: found.get(name, "") for name in self.env_names}
        lay.must_run(self.computer, "".join(f"export {k}={shlex.quote(v)}\n" for k, v in values.items()),
                     "setting the Dockerfile's ENV in the shell")
        self.computer.run("python", f"import os; os.environ.update({values!r})")
        return values

    # COPY and ADD --------------------------------------------------------------------------------------

    def copy(self, instruction: df.Instruction, add: bool) -> None:
        """Copy context files (or heredocs) to the mapped destination."""
        if "from" in instruction.flags:
            raise self.fail("COPY --from needs the image or stage it copies from")
        ignored = set(instruction.flags) - {"chmod"}
        if ignored:
            self.say(f"lmc: {instruction.keyword} --{', --'.join(sorted(ignored))} ignored")
        sources, dest = df.copy_paths(instruction, self.variables)
        if not sources:
            raise self.fail(f"{instruction.keyword} needs a source and a destination")
        if not dest.startswith("/"):
            dest = posixpath.join(self.workdir or "/", dest) + ("/" if dest.endswith("/") else "")
        docs = {doc.name: doc.body for doc in instruction.heredocs}
        matched = [m for source in sources for m in self._match(source, docs, add)]
        into_dir = dest.endswith("/") or len(matched) > 1 or any(self._expands(m, add) for m in matched)
        mode = int(instruction.flags["chmod"], 8) if "chmod" in instruction.flags else None
        data = io.BytesIO()
        with tarfile.open(fileobj=data, mode="w:gz") as tar:
            for path in matched:
                self._add(tar, path, docs, add, mode)
        target = shlex.quote(self.layout.inside(dest))
        encoded = base64.encodebytes(data.getvalue()).decode()
        if into_dir:
            place = f"mkdir -p {target} && cp -R \"$t/x/.\" {target}/"
        else:  # one file: into the destination if it is a folder, else as the destination
            name = shlex.quote(posixpath.basename(matched[0]))
            place = (f"if [ -d {target} ]; then cp -R \"$t/x/\"{name} {target}/; else mkdir -p "
                     f"\"$(dirname {target})\" && cp -R \"$t/x/\"{name} {target}; fi")
        self.shell_run(f't="$(mktemp -d)" || exit 1\nbase64 -d > "$t/in.tgz" <<\'{_EOF}\' || exit 1\n{encoded}{_EOF}\n'
                       f'mkdir -p "$t/x" && tar -xzf "$t/in.tgz" -C "$t/x" && {place}; s=$?; rm -rf "$t"; exit $s')

    def _match(self, source: str, docs: dict[str, str], add: bool) -> list[str]:
        if source in docs:
            return [source]
        if add and (re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", source) or source.startswith("git@")):
            raise self.fail(f"ADD {source}: only local files can be replayed")
        found = df.match_sources(source, self.files)
        if not found:
            raise EnvironmentFailed(f"task {self.task.name}: {self.where}: {source} is not in the build context "
                                    "(environment/), or .dockerignore excludes it")
        return found

    def _expands(self, path: str, add: bool) -> bool:
        """Whether a source lands as a folder's contents: a folder, or (ADD) a local tarball."""
        full = self.folder / path
        return full.is_dir() or (add and full.is_file() and tarfile.is_tarfile(full))

    def _add(self, tar: tarfile.TarFile, path: str, docs: dict[str, str], add: bool, mode: int | None) -> None:
        def chmod(info: tarfile.TarInfo) -> tarfile.TarInfo:
            if mode is not None and not info.isdir():
                info.mode = mode
            return info

        if path in docs:
            body = (docs[path] + "\n").encode()
            info = chmod(tarfile.TarInfo(path))
            info.size, info.mode = len(body), info.mode if mode is not None else 0o644
            tar.addfile(info, io.BytesIO(body))
            return
        full = self.folder / path
        if add and full.is_file() and tarfile.is_tarfile(full):
            with tarfile.open(full) as archive:  # ADD unpacks a local archive
                for member in archive.getmembers():
                    tar.addfile(member, archive.extractfile(member) if member.isfile() else None)
        elif full.is_dir():
            prefix = "" if path == "" else path + "/"
            for item in (p for p in self.files if p.startswith(prefix) and p != path):
                tar.add(self.folder / item, arcname=item[len(prefix):], recursive=False, filter=chmod)
        else:
            tar.add(full, arcname=posixpath.basename(path), recursive=False, filter=chmod)


def _env_shell(instruction: df.Instruction) -> str:
    """An ENV as shell code: the shell substitutes $VAR (unset ones from the sandbox's own environment)."""
    args = instruction.args.strip()
    if "=" not in (args.split(None, 1) or [""])[0]:
        name, _, value = args.partition(" ")
        escaped = re.sub(r'(["`\\])', r"\\\1", value.strip()).replace("$(", "\\$(")
        return f'export {name}="{escaped}"'
    return "export " + args.replace("`", "\\`").replace("$(", "\\$(")


def _tail(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()][-_TAIL:]
    return "\n".join(f"    {line}" for line in lines) or "    (no output)"
