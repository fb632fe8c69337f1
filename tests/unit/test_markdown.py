"""Code blocks in model markdown: whole-text parsing and the streaming parser agree."""

from __future__ import annotations

import pytest

from lmc.assembly import assemble
from lmc.markdown import Block, BlockStream, parse_blocks, python_by_default
from lmc.messages import Chunk
from orchestrator.models.scripted_server import ScriptedServer, text

REPLY = "Let me check.\n\n```python\nimport os\n\nprint(os.getcwd())\n```\n\nThat prints the folder."

SAMPLES = [
    REPLY,
    "```py\nx = 1\n```",
    "just prose\n  indented line  \n",
    "a\n```\nbare fence\n```\n\n```sh\nls -l\n  ```  \nz",
    "unclosed\n```js\nconsole.log(1)\n",
    "unclosed, blank line kept\n```bash\necho hi\n\n",
    "ends on an opening fence\n```python",
    "````md\n```python\ninner\n```\n````\nafter",
    "inline ```python not a fence``` here\n``x``\n",
    "~~~javascript\nconsole.log(`hi`)\n~~~\n",
    "```python\n```",
    "    ```python\nfour spaces: not a fence\n",
    "",
    "\n \n",
    "```",
    "```python\nprint(1)\n``` trailing words keep it open\n```",
]


def _stream(text: str, cuts: list[int]) -> list[Chunk]:
    stream = BlockStream(lambda tag: tag or "untagged")
    chunks: list[Chunk] = []
    previous = 0
    for cut in [*cuts, len(text)]:
        chunks += stream.feed(text[previous:cut])
        previous = cut
    return chunks + stream.finish()


def _as_blocks(chunks: list[Chunk]) -> list[Block]:
    return [
        Block("code", m.content, m.format) if m.type == "code" else Block("text", m.content)
        for m in assemble(chunks)
    ]


def _expected(text: str) -> list[Block]:
    return [
        Block(b.kind, b.content, b.language or "untagged") if b.kind == "code" else b
        for b in parse_blocks(text)
    ]


def test_parse_blocks_splits_prose_and_code() -> None:
    assert parse_blocks(REPLY) == [
        Block("text", "Let me check."),
        Block("code", "import os\n\nprint(os.getcwd())", "python"),
        Block("text", "That prints the folder."),
    ]


@pytest.mark.parametrize("tag", ["python", "py", "bash", "sh", "js", "javascript"])
def test_language_tags_are_reported_as_written(tag: str) -> None:
    assert parse_blocks(f"```{tag}\nx\n```") == [Block("code", "x", tag)]


def test_bare_fence_has_no_language_and_info_string_takes_first_word() -> None:
    assert parse_blocks("```\nx\n```") == [Block("code", "x", None)]
    assert parse_blocks("``` python title='a.py'\nx\n```") == [Block("code", "x", "python")]


def test_longer_fence_holds_shorter_fences_and_tildes_close_only_tildes() -> None:
    assert parse_blocks("````\n```\n````") == [Block("code", "```", None)]
    assert parse_blocks("~~~sh\n```\n~~~") == [Block("code", "```", "sh")]


def test_unclosed_fence_runs_to_the_end() -> None:
    assert parse_blocks("run:\n```python\nprint(1)\n") == [
        Block("text", "run:"),
        Block("code", "print(1)", "python"),
    ]


def test_inline_backticks_and_deep_indent_are_prose() -> None:
    assert parse_blocks("use ```python here``` inline") == [Block("text", "use ```python here``` inline")]
    assert parse_blocks("    ```python\nx") == [Block("text", "```python\nx")]


@pytest.mark.parametrize("text", SAMPLES)
def test_stream_matches_parse_for_every_single_split(text: str) -> None:
    expected = _expected(text)
    for cut in range(len(text) + 1):
        assert _as_blocks(_stream(text, [cut])) == expected, f"split at {cut}"


@pytest.mark.parametrize("text", SAMPLES)
@pytest.mark.parametrize("step", [1, 2, 3, 7])
def test_stream_matches_parse_for_small_deltas(text: str, step: int) -> None:
    assert _as_blocks(_stream(text, list(range(step, len(text), step)))) == _expected(text)


def test_stream_emits_text_before_the_fence_is_complete() -> None:
    stream = BlockStream()
    first = stream.feed("Hello ")  # the space waits: it is dropped if the text ends here
    assert [(c.type, c.content, c.start) for c in first] == [("message", "Hello", True)]
    assert [c.content for c in stream.feed("world\n``")] == [" world"]  # "``" may open a fence


def test_stream_opens_code_when_the_fence_line_ends_and_closes_at_the_closing_fence() -> None:
    stream = BlockStream()
    assert stream.feed("Run:\n```py") == [Chunk("assistant", "message", "Run:", start=True)]
    opened = stream.feed("\nprint(1)")
    assert opened == [
        Chunk("assistant", "message", end=True),
        Chunk("assistant", "code", None, "py", start=True),
        Chunk("assistant", "code", "print(1)", "py"),
    ]
    assert stream.feed("\n``") == []  # the newline may be the last one, the backticks a fence
    assert stream.feed("`\n") == [Chunk("assistant", "code", None, "py", end=True)]
    assert stream.finish() == []


def test_stream_finish_closes_an_open_code_block() -> None:
    stream = BlockStream()
    chunks = stream.feed("```python\nprint(1)\nprint(2)")
    chunks += stream.finish()
    assert [m.content for m in assemble(chunks)] == ["print(1)\nprint(2)"]
    assert chunks[-1].end and chunks[-1].type == "code"


def test_default_resolver_gives_bare_fences_python() -> None:
    stream = BlockStream()
    chunks = stream.feed("```\nx = 1\n```\n") + stream.finish()
    assert assemble(chunks)[0].format == "python"
    assert python_by_default("sh") == "sh"


def test_every_streamed_block_has_one_start_and_one_end() -> None:
    chunks = _stream(REPLY, list(range(1, len(REPLY))))
    assert sum(c.start for c in chunks) == 3
    assert sum(c.end for c in chunks) == 3
    assert not any(c.content == "" for c in chunks)


def test_litellm_stream_deltas_become_the_same_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network for the price map
    import litellm

    chunks: list[Chunk] = []
    stream = BlockStream()
    with ScriptedServer([text(REPLY, chunk_size=3)]) as server:
        response = litellm.completion(
            model="openai/scripted",
            api_base=server.url,
            api_key="x",
            messages=[{"role": "user", "content": "where am I?"}],
            stream=True,
        )
        deltas = 0
        for part in response:
            delta = part.choices[0].delta.content
            if delta:
                deltas += 1
                chunks += stream.feed(delta)
    chunks += stream.finish()
    assert deltas > 10  # it really arrived in pieces
    assert [(m.type, m.format, m.content) for m in assemble(chunks)] == [
        ("message", None, "Let me check."),
        ("code", "python", "import os\n\nprint(os.getcwd())"),
        ("message", None, "That prints the folder."),
    ]
