"""The console in a real browser (headless Chromium driven by Playwright) against a real `lmc serve`:
log in (a wrong token refused), a conversation with the scripted model streaming, approve, stop;
a benchmark run, one of its trials, two runs compared. Skipped only where Chromium is missing."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.models.scripted_server import ScriptedServer, text, tool_call
from tests.server.helpers import Served

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (scripts/test installs it)")
#: generous waits for a loaded 2-core machine; the page acts in well under a second when idle
WAIT = 60_000
#: where the README's screenshots are written when LMC_CONSOLE_SCREENSHOTS names a folder
SHOTS = os.environ.get("LMC_CONSOLE_SCREENSHOTS")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any, console: Served) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(WAIT)
    page.goto(console.url + "/console")
    try:
        yield page
    finally:
        context.close()


def log_in(page: Any, token: str) -> None:
    page.fill("#token", token)
    page.click("#login-button")


def shot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / name))


def test_a_wrong_token_is_refused_and_the_right_one_logs_in(page: Any, console: Served) -> None:
    log_in(page, "not-a-token-of-this-server")
    page.wait_for_selector("#login-error:has-text('does not know that token')")
    assert page.is_hidden("#tabs")
    log_in(page, console.tokens[0])
    page.wait_for_selector("#tabs:visible")
    assert page.evaluate("location.href") == console.url + "/console"  # the token is in no URL
    page.reload()  # kept in the tab: still logged in
    page.wait_for_selector("#tabs:visible")


def test_a_conversation_streams_is_approved_and_stopped(page: Any, console: Served) -> None:
    with ScriptedServer() as model:
        model.add(tool_call("python", "print(6 * 7)", usage=(100, 10)), text("It is 42.", usage=(120, 5)),
                  tool_call("python", "import time\nprint('started', flush=True)\ntime.sleep(120)"), text("unused"))
        log_in(page, console.tokens[0])
        page.click("#new-conversation summary")
        page.fill("#conversation-form [name=model]", "openai/scripted")
        page.fill("#conversation-form [name=api_base]", model.url)
        page.click("#conversation-form button")  # the server's own message, on the page
        page.wait_for_selector("#error:has-text('give api_key with api_base')")
        page.fill("#conversation-form [name=api_key]", "sk-test")
        page.select_option("#conversation-form [name=mode]", "tools")
        page.select_option("#conversation-form [name=sandbox]", "local")
        page.click("#conversation-form button")
        page.wait_for_selector("#message")
        assert "steps ≤ 20" in page.inner_text("#budget")
        page.fill("#message", "What is 6 times 7?")
        page.click("#send")
        page.wait_for_selector(".block.confirmation")  # streamed: the code waits for a decision
        assert "print(6 * 7)" in page.inner_text(".block.confirmation")
        assert page.locator(".block.confirmation .k, .block.confirmation .n").count() >= 1  # highlighted
        page.wait_for_selector("#approve:enabled")
        # budget use while the chat runs: the first model call's tokens, read by the page's session tick
        page.wait_for_selector("#usage-chat:has-text('this message so far: 1 model call(s), 110 tokens')")
        page.click("#approve")
        page.wait_for_selector(".block[data-type=console] pre:has-text('42')")
        page.wait_for_selector(".block:has-text('It is 42.')")
        page.wait_for_selector(".block.status:has-text('complete')")
        page.wait_for_selector("#usage-chat:has-text('last message: 2 model call(s), 235 tokens')")
        assert "cost unknown" in page.inner_text("#usage-total")  # openai/scripted has no litellm price
        shot(page, "console-conversation.png")
        page.fill("#message", "Now sleep")
        page.click("#send")
        page.wait_for_selector("#approve:enabled")
        page.click("#approve")
        page.wait_for_selector(".block[data-type=console] pre:has-text('started')")
        page.click("#stop")
        page.wait_for_selector(".block.status:has-text('stopped')")
        assert len(model.requests) == 3  # stopped: the model was not asked after the sleep


def test_a_chat_another_client_drives_is_followed_and_approved_from_the_page(page: Any, console: Served) -> None:
    from orchestrator.client import RemoteConversation

    with ScriptedServer() as model:
        model.add(tool_call("python", "print(6 * 7)"), text("It is 42."))
        with RemoteConversation(console.url, console.tokens[0], model="openai/scripted", api_base=model.url,
                                api_key="sk-test", mode="tools", auto_run=False, sandbox="local") as chat:
            chunks: list[Any] = []
            driver = threading.Thread(target=lambda: chunks.extend(chat.chat("6 times 7?", stream=True)), daemon=True)
            driver.start()
            log_in(page, console.tokens[0])
            page.click(f"#conversation-list a[data-id='{chat.id}']")
            page.wait_for_selector(".block.confirmation:has-text('print(6 * 7)')")
            page.wait_for_selector("#approve:enabled")
            page.click("#approve")
            driver.join(WAIT / 1000)
            assert not driver.is_alive()
            printed = "".join(str(c.content) for c in chunks if c.type == "console" and c.format == "output")
            assert printed == "42\n"  # the client that drives the chat got the output too
            page.wait_for_selector(".block[data-type=console] pre:has-text('42')")
            page.wait_for_selector(".block:has-text('It is 42.')")


def test_a_computer_runs_code_from_the_page(page: Any, console: Served) -> None:
    log_in(page, console.tokens[0])
    page.click("#new-computer summary")
    page.select_option("#computer-form [name=backend]", "local")
    page.click("#computer-form button")
    page.fill("#code", "print('<b>not bold</b>', 2 + 3)")
    page.click("#run")
    page.wait_for_selector(".block[data-type=console] pre:has-text('<b>not bold</b> 5')")  # text, never markup
    assert page.locator("#transcript b").count() == 0
    page.fill("#code", "from PIL import Image\nImage.new('RGB', (32, 16), 'red')")
    page.click("#run")
    image = page.wait_for_selector("#transcript .block.image img")
    page.wait_for_function("img => img.complete && img.naturalWidth === 32", arg=image)  # the PNG, inline


def test_a_run_being_written_shows_its_new_trials_live(page: Any, console: Served, bench_dir: Path) -> None:
    from benchmarks.harness import results

    rows = results.read(bench_dir / "runs" / "first")
    path = bench_dir / "growing" / results.FILE
    results.append(path, rows[0])
    log_in(page, console.tokens[0])
    page.click(".tab[data-tab=bench]")
    page.click("#run-list a[data-run='growing']")
    page.wait_for_selector("#run-progress:has-text('1 trial(s)')")
    for row in rows[1:]:
        results.append(path, row)  # the page polls: the new trial appears without a reload
    results.append(path, rows[0])  # a resumed run writes a trial again: shown once, as last written
    page.wait_for_selector("#run-progress:has-text('results.jsonl has 3 row(s)')")
    assert page.locator("#trial-table tr.clickable").count() == 2
    assert page.locator("#model-table td:text-is('oracle')").count() == 1


def test_a_benchmark_run_a_trial_and_a_comparison(page: Any, console: Served) -> None:
    log_in(page, console.tokens[0])
    page.click(".tab[data-tab=bench]")
    page.click("#run-list a[data-run='runs/second']")
    page.wait_for_selector("#trial-table tr[data-model=oracle]")
    cells = page.locator("#trial-table tr[data-model=oracle] td").all_inner_texts()
    assert cells[3:5] == ["errored (environment)", "errored"]  # outcome and reward: an error, never 0
    page.click("#run-list a[data-run='runs/first']")
    page.wait_for_selector("#bench-view h2:text-is('runs/first')")
    page.wait_for_selector("#model-table td:has-text('oracle')")
    assert "100.0%" in page.inner_text("#model-table")
    shot(page, "console-bench-run.png")
    page.click("#trial-table tr[data-model=oracle]")
    page.wait_for_selector("#trial-outcome:has-text('passed (reward 1)')")
    page.wait_for_selector("#trial-files :text('verifier/reward.txt')")
    assert "agent" in page.inner_text("#trial-facts") and "verify" in page.inner_text("#trial-facts")
    assert page.locator("#trial-transcript pre.code").count() >= 1
    shot(page, "console-bench-trial.png")
    page.select_option("#compare-a", "runs/first")
    page.select_option("#compare-b", "runs/second")
    page.click("#compare-form button")
    page.wait_for_selector("#change-table td.errored:has-text('errored')")
    assert "1 task(s) changed reward" in page.inner_text("#bench-view")
