"""The Dockerfile parser and its questions (bases, final WORKDIR/USER, COPY paths, .dockerignore), image maps."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.harness import dockerfile as df
from benchmarks.harness import images


def test_continuations_comments_and_flags() -> None:
    text = ("# a comment\n\nfrom --platform=linux/amd64 ubuntu:24.04 AS build\n"
            "RUN apt-get update && \\\n    # a comment inside the continuation is dropped\n\n"
            "    apt-get install -y git\n"
            "COPY --chown=1000:1000 --from=build /src /dst\n"
            'CMD ["bash", "-c", "echo hi"]\n')
    parsed = df.parse(text)
    assert [(i.keyword, i.line, i.end_line) for i in parsed] == [("FROM", 3, 3), ("RUN", 4, 7), ("COPY", 8, 8),
                                                                  ("CMD", 9, 9)]
    assert parsed[0].flags == {"platform": "linux/amd64"} and parsed[0].args == "ubuntu:24.04 AS build"
    assert parsed[1].args == "apt-get update &&     apt-get install -y git"
    assert parsed[2].flags == {"chown": "1000:1000", "from": "build"} and parsed[2].args == "/src /dst"
    assert parsed[3].argv() == ["bash", "-c", "echo hi"] and df.exec_form("echo [x]") is None


def test_parser_directives_change_the_escape_character() -> None:
    parsed = df.parse("# escape=`\nFROM base\nRUN echo a `\n    b\nRUN dir c:\\\n")
    assert [i.args for i in parsed] == ["base", "echo a     b", "dir c:\\"]
    # a directive after a comment is just a comment: the backslash stays the escape
    parsed = df.parse("# hello\n# escape=`\nFROM base\nRUN echo a \\\n b\n")
    assert parsed[1].args == "echo a  b"


def test_heredocs_only_when_their_terminator_follows() -> None:
    parsed = df.parse("FROM base\nRUN <<EOF\necho one\necho two\nEOF\nCOPY <<-\"END\" /etc/conf\n\tkey=1\n\tEND\n"
                      "RUN echo $((1<<3))\nRUN true\n")
    assert [i.keyword for i in parsed] == ["FROM", "RUN", "COPY", "RUN", "RUN"]
    assert parsed[1].heredocs == (df.Heredoc("EOF", "echo one\necho two"),) and parsed[1].end_line == 5
    assert parsed[2].heredocs == (df.Heredoc("END", "key=1"),)
    assert df.copy_paths(parsed[2]) == (["END"], "/etc/conf")
    assert parsed[3].heredocs == () and parsed[3].args == "echo $((1<<3))"


def test_base_images_skip_stages_and_scratch_and_substitute_args() -> None:
    parsed = df.parse("ARG BASE=ubuntu:24.04\nARG TOOL=ghcr.io/astral-sh/uv:0.8.14\nFROM ${BASE} AS build\n"
                      "COPY --from=$TOOL /uv /bin/\nFROM scratch\nFROM build AS final\n"
                      "COPY --from=build /a /b\nCOPY --from=0 /a /c\nFROM python:3.13-slim\n")
    assert df.base_images(parsed) == ["ubuntu:24.04", "ghcr.io/astral-sh/uv:0.8.14", "python:3.13-slim"]
    assert df.base_images(parsed, {"BASE": "debian:12"})[0] == "debian:12"
    assert [(s.base, s.name) for s in df.stages(parsed)] == [("ubuntu:24.04", "build"), ("scratch", None),
                                                            ("build", "final"), ("python:3.13-slim", None)]


def test_final_workdir_and_user() -> None:
    parsed = df.parse("FROM a AS one\nWORKDIR /src\nUSER 1000\nFROM one\nENV SUB=lib\nWORKDIR pkg/$SUB\n")
    assert df.final_workdir(parsed) == "/src/pkg/lib" and df.final_user(parsed) == "1000"
    parsed = df.parse("FROM a\nWORKDIR /x\nFROM b\nRUN true\n")
    assert df.final_workdir(parsed) is None and df.final_user(parsed) is None
    parsed = df.parse("ARG DIR=/opt/app\nFROM a\nARG DIR\nWORKDIR ${DIR}\nWORKDIR ..\n")
    assert df.final_workdir(parsed) == "/opt"


def test_env_and_arg_values_and_substitution() -> None:
    parsed = df.parse("FROM a\nARG V=1 W\nENV A=\"two words\" B=${A}x C='$A' D=${NOPE:-dflt} E=${A:+set} F=\\$A\n"
                      "ENV OLD the rest of the line\n")
    assert df.arg_values(parsed[1], {}, {}) == {"V": "1"}
    assert df.arg_values(parsed[1], {}, {"W": "given"}) == {"V": "1", "W": "given"}
    # within one ENV, substitution sees the values from before it (as Docker does)
    assert df.env_values(parsed[2], {"A": "old"}) == {"A": "two words", "B": "oldx", "C": "$A", "D": "dflt",
                                                      "E": "set", "F": "$A"}
    assert df.env_values(parsed[3], {}) == {"OLD": "the rest of the line"}
    assert df.words('a "b c" d\\ e', {}) == ["a", "b c", "d e"]


def test_copy_paths() -> None:
    parsed = df.parse('FROM a\nCOPY --chown=1 src/*.py lib/ /app/\nCOPY ["with space.txt", "/dst/"]\n'
                      "ADD $NAME.tgz /opt/\n")
    assert df.copy_paths(parsed[1]) == (["src/*.py", "lib/"], "/app/")
    assert df.copy_paths(parsed[2]) == (["with space.txt"], "/dst/")
    assert df.copy_paths(parsed[3], {"NAME": "bundle"}) == (["bundle.tgz"], "/opt/")


def test_dockerignore(tmp_path: Path) -> None:
    for name in ("Dockerfile", "keep.txt", "notes.log", "build/out.o", "build/keep.log", "src/a/deep.tmp",
                 "src/main.py", "node_modules/x/index.js"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    (tmp_path / ".dockerignore").write_text("# comment\n*.log\n/build\n!build/keep.log\n**/*.tmp\nnode_modules\n"
                                            "Dockerfile\n")
    assert df.context_files(tmp_path) == [".dockerignore", "Dockerfile", "build/keep.log", "keep.txt", "src",
                                          "src/a", "src/main.py"]
    assert df.ignored("a/b/c.tmp", ["**/*.tmp"]) and not df.ignored("a/b.txt", ["*.txt"])


def test_parse_image_map() -> None:
    mapping = images.parse_image_map(["ubuntu:24.04=lmc-base:noble", "docker.io/library/python:3.13-slim = py:local",
                                      "debian=lmc-sandbox:latest"])
    assert mapping == {"ubuntu:24.04": "lmc-base:noble", "python:3.13-slim": "py:local",
                       "debian:latest": "lmc-sandbox:latest"}
    assert images.map_image("docker.io/ubuntu:24.04", mapping) == "lmc-base:noble"
    assert images.map_image("debian", mapping) == "lmc-sandbox:latest"
    assert images.map_image("alpine:3", mapping) == "alpine:3"
    for bad in ("ubuntu:24.04", "=x", "a=", "a=b=c", "a b=c"):
        with pytest.raises(images.ImageMapInvalid, match="IMAGE=LOCAL_IMAGE"):
            images.parse_image_map([bad])
    with pytest.raises(images.ImageMapInvalid, match="twice"):
        images.parse_image_map(["a=b", "a:latest=c"])


def test_env_tag_is_a_valid_reference() -> None:
    assert images.env_tag("terminal-bench/Fix_Git", "0123456789ab") == "lmc-env/terminal-bench/fix-git:0123456789ab"
    assert images.env_tag("--", "ff") == "lmc-env/task:ff"
