"""A Dockerfile parser, and the questions the harness asks of one, written once.

    parse(text)                    -> [Instruction(keyword, args, line, flags, ...)]
    base_images(instructions)      images the build needs present (FROM and COPY --from), ARGs substituted
    final_workdir / final_user     what the final stage leaves set (None: the base image's)
    copy_paths(instruction)        (sources, dest) of a COPY or ADD
    context_files(folder)          the files `docker build` would send, honouring .dockerignore

The parser follows Docker's rules where a task can tell the difference: parser
directives at the top (`# escape=`` ` ``), line continuations (comment and empty
lines inside one are dropped), `--flag=value` options, JSON (exec) form, and
BuildKit heredocs (`RUN <<EOF ... EOF`), which are recognised only when their
terminator really follows. It never refuses a file: Docker is the judge of
unknown instructions.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

#: instructions whose leading `--name[=value]` words are options, not arguments
FLAGGED = ("FROM", "RUN", "COPY", "ADD", "HEALTHCHECK")
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9_-]*)\s*=\s*(.*?)\s*$")
_HEREDOC = re.compile(r"<<(-?)(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")
_VARIABLE = re.compile(r"\\\$|\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


@dataclass(frozen=True)
class Heredoc:
    """A BuildKit heredoc attached to an instruction (`<<EOF` ... `EOF`)."""

    name: str  #: the terminator word
    body: str  #: the lines between the marker and the terminator (tabs stripped for `<<-`)


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction."""

    keyword: str  #: upper case: FROM, RUN, COPY...
    args: str  #: the text after the keyword and its options, continuations joined
    line: int  #: 1-based line of the keyword
    flags: Mapping[str, str] = field(default_factory=dict)  #: `--from=build` -> {"from": "build"}
    end_line: int = 0  #: last line the instruction spans, heredoc bodies included
    heredocs: tuple[Heredoc, ...] = ()  #: heredocs in order

    def argv(self, variables: Mapping[str, str] | None = None) -> list[str]:
        """The arguments as a list: the exec form's JSON array, else Docker's word split (variables substituted)."""
        form = exec_form(self.args)
        return form if form is not None else words(self.args, variables or {})


def exec_form(args: str) -> list[str] | None:
    """The JSON array of an exec-form instruction (`["a", "b"]`), or None when it is shell form."""
    text = args.strip()
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _directives(lines: list[str]) -> tuple[dict[str, str], int]:
    """Parser directives at the top of the file, and the index of the first line after them."""
    found: dict[str, str] = {}
    for index, line in enumerate(lines):
        match = _DIRECTIVE.match(line.strip()) if line.strip().startswith("#") else None
        if match is None or match.group(1).lower() in found:
            return found, index
        found[match.group(1).lower()] = match.group(2)
    return found, len(lines)


def parse(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile, in order; comments, blank lines and directives dropped."""
    lines = text.splitlines()
    directives, index = _directives(lines)
    escape = directives.get("escape", "\\")[:1] or "\\"
    out: list[Instruction] = []
    while index < len(lines):
        if not lines[index].strip() or lines[index].lstrip().startswith("#"):
            index += 1
            continue
        start, parts = index, []
        while index < len(lines):
            body = lines[index].rstrip()
            index += 1
            if not body.endswith(escape):
                parts.append(body)
                break
            parts.append(body[: -len(escape)])
            while index < len(lines) and (not lines[index].strip() or lines[index].lstrip().startswith("#")):
                index += 1  # comments and empty lines inside a continuation are dropped
        match = re.match(r"(\S+)\s*(.*)", "".join(parts).strip(), re.S)
        assert match is not None  # the first line has text
        keyword, rest = match.group(1).upper(), match.group(2)
        heredocs, index = _heredocs(keyword, rest, lines, index)
        flags, rest = _flags(rest) if keyword in FLAGGED else ({}, rest)
        out.append(Instruction(keyword, rest, start + 1, flags, index, heredocs))
    return out


def _heredocs(keyword: str, args: str, lines: list[str], index: int) -> tuple[tuple[Heredoc, ...], int]:
    """Heredoc bodies following a RUN/COPY/ADD, and the index after them (none unless each terminator exists)."""
    if keyword not in ("RUN", "COPY", "ADD"):
        return (), index
    found: list[Heredoc] = []
    for strip, _, name in _HEREDOC.findall(args):
        for end in range(index, len(lines)):
            candidate = lines[end].lstrip("\t") if strip else lines[end]
            if candidate == name:
                body = lines[index:end]
                found.append(Heredoc(name, "\n".join(b.lstrip("\t") if strip else b for b in body)))
                index = end + 1
                break
        else:
            return tuple(found), index  # no terminator: shell's `<<`, not a heredoc
    return tuple(found), index


def _flags(args: str) -> tuple[dict[str, str], str]:
    flags: dict[str, str] = {}
    rest = args
    while rest.startswith("--"):
        word, _, after = rest.partition(" ")
        name, equals, value = word[2:].partition("=")
        flags[name.lower()] = value if equals else "true"
        rest = after.lstrip()
    return flags, rest


def expand(text: str, variables: Mapping[str, str]) -> str:
    """Docker's variable substitution: $VAR, ${VAR}, ${VAR:-default}, ${VAR:+alternative}, \\$ literal."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "\\$":
            return "$"
        name = match.group(1) or match.group(4)
        value = variables.get(name)
        if match.group(2) == "-":
            return value if value else expand(match.group(3) or "", variables)
        if match.group(2) == "+":
            return expand(match.group(3) or "", variables) if value else ""
        return value or ""

    return _VARIABLE.sub(one, text)


def words(text: str, variables: Mapping[str, str]) -> list[str]:
    """Split on whitespace as Docker does for ENV, ARG, COPY...: quotes group, '...' is literal,
    "..." and bare text have variables substituted, a backslash escapes one character."""
    found: list[str] = []
    current: list[str] | None = None
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            if current is not None:
                found.append("".join(current))
                current = None
            index += 1
            continue
        current = [] if current is None else current
        if char == "'":
            end = text.find("'", index + 1)
            end = len(text) if end < 0 else end
            current.append(text[index + 1:end])
            index = end + 1
        elif char == '"':
            end = index + 1
            while end < len(text) and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            current.append(expand(text[index + 1:end].replace('\\"', '"'), variables))
            index = end + 1
        elif char == "\\" and index + 1 < len(text):
            current.append(text[index + 1])
            index += 2
        else:
            match = _VARIABLE.match(text, index)
            current.append(expand(match.group(0), variables) if match else char)
            index = match.end() if match else index + 1
    if current is not None:
        found.append("".join(current))
    return found


def arg_values(instruction: Instruction, known: Mapping[str, str], build_args: Mapping[str, str],
               inherited: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables one ARG defines: a build arg, else its default, else (no default) an inherited global."""
    found: dict[str, str] = {}
    for word in words(instruction.args, {**known}):
        name, equals, default = word.partition("=")
        if name in build_args:
            found[name] = build_args[name]
        elif equals:
            found[name] = default
        elif inherited and name in inherited:
            found[name] = inherited[name]
    return found


def env_values(instruction: Instruction, known: Mapping[str, str]) -> dict[str, str]:
    """The variables one ENV sets: `ENV A=1 B="two words"`, or the old `ENV A the rest of the line`.

    Substitution sees the values from before the instruction, as in Docker (`ENV A=2 B=$A` gives B the old A).
    """
    args = instruction.args.strip()
    if "=" not in (args.split(None, 1) or [""])[0]:
        name, _, value = args.partition(" ")
        return {name: expand(value.strip(), known)} if name else {}
    found: dict[str, str] = {}
    for word in re.findall(r"""(?:[^\s"'\\]|\\.|"(?:[^"\\]|\\.)*"|'[^']*')+""", args):
        name, _, value = word.partition("=")
        found[name] = "".join(words(value, known)) if value else ""
    return found


@dataclass(frozen=True)
class Stage:
    """One build stage: its FROM and the instructions after it."""

    base: str  #: the FROM reference, ARGs substituted
    name: str | None  #: the `AS name`, lower case
    instructions: tuple[Instruction, ...]  #: after the FROM, up to the next one
    from_line: int  #: line of the FROM


def global_args(instructions: Iterable[Instruction], build_args: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ARGs declared before the first FROM (usable in FROM lines)."""
    values: dict[str, str] = {}
    for instruction in instructions:
        if instruction.keyword == "FROM":
            break
        if instruction.keyword == "ARG":
            values.update(arg_values(instruction, values, build_args or {}))
    return values


def stages(instructions: list[Instruction], build_args: Mapping[str, str] | None = None) -> list[Stage]:
    """The build stages in order (instructions before the first FROM belong to none)."""
    variables = global_args(instructions, build_args)
    found: list[Stage] = []
    current: list[Instruction] = []
    head: Instruction | None = None
    for instruction in instructions + [Instruction("FROM", "", 0)]:
        if instruction.keyword != "FROM":
            if head is not None:
                current.append(instruction)
            continue
        if head is not None:
            parts = head.args.split()
            name = parts[2].lower() if len(parts) >= 3 and parts[1].lower() == "as" else None
            found.append(Stage(expand(parts[0], variables) if parts else "", name, tuple(current), head.line))
        head, current = instruction, []
    return found


def base_images(instructions: list[Instruction], build_args: Mapping[str, str] | None = None) -> list[str]:
    """Images the build needs present, in order, once each: FROM and COPY --from refs that are no stage."""
    names: set[str] = set()
    images: list[str] = []

    def need(ref: str) -> None:
        if ref and ref.lower() != "scratch" and ref.lower() not in names and ref not in images:
            images.append(ref)

    variables = global_args(instructions, build_args)
    for stage in stages(instructions, build_args):
        need(stage.base)
        for instruction in stage.instructions:
            source = instruction.flags.get("from")
            if instruction.keyword in ("COPY", "ADD") and source and not source.isdigit():
                need(expand(source, variables))  # an image, unless it names an earlier stage
        if stage.name:
            names.add(stage.name)
    return images


def _final(instructions: list[Instruction], keyword: str) -> str | None:
    """The value of WORKDIR or USER the final stage ends with (inherited from an earlier stage it builds on)."""
    by_name: dict[str, str | None] = {}
    inherited = global_args(instructions)
    value: str | None = None
    for stage in stages(instructions):
        value = by_name.get(stage.base.lower())
        variables: dict[str, str] = {}
        for instruction in stage.instructions:
            if instruction.keyword == "ARG":
                variables.update(arg_values(instruction, variables, {}, inherited))
            elif instruction.keyword == "ENV":
                variables.update(env_values(instruction, variables))
            elif instruction.keyword == keyword and instruction.args.strip():
                text = " ".join(words(instruction.args.strip(), variables))
                value = posixpath.normpath(posixpath.join(value or "/", text)) if keyword == "WORKDIR" else text
        if stage.name:
            by_name[stage.name] = value
    return value


def final_workdir(instructions: list[Instruction]) -> str | None:
    """The WORKDIR the final stage ends in, absolute; None when the Dockerfile never sets one."""
    return _final(instructions, "WORKDIR")


def final_user(instructions: list[Instruction]) -> str | None:
    """The USER the final stage ends as; None when the Dockerfile never sets one (the base image's)."""
    return _final(instructions, "USER")


def copy_paths(instruction: Instruction, variables: Mapping[str, str] | None = None) -> tuple[list[str], str]:
    """(sources, destination) of a COPY or ADD, variables substituted; heredoc sources by their names."""
    found = instruction.argv(variables)
    for doc in instruction.heredocs:  # the lexer has already dropped a quoted marker's quotes
        found = [doc.name if re.fullmatch(r"<<-?" + doc.name, w) else w for w in found]
    if len(found) < 2:
        return [], found[0] if found else ""
    return found[:-1], found[-1]


def _glob(pattern: str) -> re.Pattern[str]:
    """A COPY source pattern (Go's filepath.Match) as a regex: `*`, `?` within one segment, `[...]` a class."""
    out, index = "", 0
    while index < len(pattern):
        char = pattern[index]
        end = pattern.find("]", index + 2) if char == "[" else -1
        if end > 0:
            body = pattern[index + 1:end]
            out += "[" + ("^" + body[1:] if body[:1] in "!^" else body) + "]"
            index = end + 1
            continue
        out += {"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char))
        index += 1
    return re.compile(f"^{out}$")


def match_sources(source: str, files: Iterable[str]) -> list[str]:
    """The context entries (from context_files) a COPY/ADD source names: itself, or a glob's matches.

    "." (or "/") is the whole context, returned as [""]; a source outside the context matches nothing.
    """
    relative = posixpath.normpath(source.lstrip("/") or ".")
    if relative == ".." or relative.startswith("../"):
        return []
    if relative == ".":
        return [""]
    entries = list(files)
    if not re.search(r"[*?\[]", relative):
        return [relative] if relative in entries else []
    regex = _glob(relative)
    return [entry for entry in entries if regex.match(entry)]


# .dockerignore -------------------------------------------------------------------------------------------


def ignore_patterns(folder: Path) -> list[str]:
    """The patterns of folder/.dockerignore (none when there is no such file)."""
    path = folder / ".dockerignore"
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text(errors="replace").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


@lru_cache(maxsize=256)
def _pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex: `**` any depth, `*` and `?` within one path segment."""
    out, index = "", 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            out, index = out + "(?:.*/)?", index + 3
            continue
        if pattern.startswith("**", index):
            out, index = out + ".*", index + 2
            continue
        out += {"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char))
        index += 1
    return re.compile(f"^{out}$")


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore patterns exclude a context path (a pattern also excludes what is under a match)."""
    excluded = False
    parts = path.split("/")
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = posixpath.normpath(raw[1:] if negate else raw).lstrip("/")
        regex = _pattern(pattern)
        if any(regex.match("/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            excluded = not negate
    return excluded


def context_files(folder: Path) -> list[str]:
    """Paths (files, folders, links; relative, sorted) of a build context after .dockerignore.

    The Dockerfile and .dockerignore are always kept, as `docker build` sends them regardless.
    """
    patterns = ignore_patterns(folder)
    found: list[str] = []
    for top, dirs, files in os.walk(folder):
        relative = os.path.relpath(top, folder)
        for name in sorted(dirs) + sorted(files):
            path = name if relative == "." else f"{relative}/{name}"
            if path in ("Dockerfile", ".dockerignore") or not ignored(path, patterns):
                found.append(path)
    return sorted(found)
