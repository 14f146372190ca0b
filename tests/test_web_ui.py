"""The web UI in headless Chromium (Debian's ``chromium``, driven by Playwright), as a user uses it.

Enter the API key, upload a document, ask a question, watch the answer stream in, open its
source. A screenshot of the result is saved to ``tests/artifacts/web-ui.png``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from petitrag.demo import sample_corpus
from tests.test_server import MODEL, ingest, running_server

KEY = "web-ui-key-0001"
ARTIFACTS = Path(__file__).parent / "artifacts"
DOCUMENT = "Library opening hours\n\nThe town library is open from 9 am to 6 pm, Monday to Saturday. It is closed on Sundays.\n"  # noqa: E501
ANSWER_TIMEOUT_MS = 180_000

#: counts changes of answer text while it streams (installed before the page's own script runs)
COUNT_UPDATES = """
window.__answerUpdates = 0;
new MutationObserver((records) => {
  for (const record of records) {
    const node = record.target.nodeType === 1 ? record.target : record.target.parentElement;
    if (node && node.closest(".turn.streaming .answer-text")) window.__answerUpdates += 1;
  }
}).observe(document, { subtree: true, childList: true, characterData: true });
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("web-ui-home")
    corpus = home / "corpus"
    shutil.copytree(sample_corpus(), corpus)
    ingest(home, corpus, "default")
    with running_server(home, "--api-key", KEY) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    assert chromium, "the web UI tests need Debian's chromium: bash scripts/setup.sh --dev"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        yield browser
        browser.close()


def new_page(browser: Browser, locale: str) -> Page:
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 820})
    context.add_init_script(COUNT_UPDATES)
    return context.new_page()


def test_upload_ask_stream_and_open_a_source(server: str, browser: Browser, tmp_path: Path) -> None:
    page = new_page(browser, "en-US")
    page.goto(server)
    expect(page.locator("#key-form")).to_be_visible()  # /api/info said 401
    page.fill("#key-input", KEY)
    page.click("#key-form button[type=submit]")
    expect(page.locator("#collection")).to_have_value("default")
    expect(page.locator("#documents li")).to_have_count(5)

    document = tmp_path / "library-hours.txt"
    document.write_text(DOCUMENT)
    page.set_input_files("#upload-input", str(document))
    page.click("#upload-button")
    expect(page.locator("#upload-text")).to_contain_text("Ingested: 1 added", timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator("#documents li", has_text="library-hours.txt")).to_be_visible()

    page.fill("#question", "When is the town library open?")
    page.keyboard.press("Enter")
    turn = page.locator("#transcript .turn").last
    expect(turn.locator(".question")).to_have_text("When is the town library open?")
    expect(turn).not_to_have_class("turn streaming", timeout=ANSWER_TIMEOUT_MS)
    assert page.evaluate("window.__answerUpdates") >= 3  # the text grew token by token
    expect(turn.locator(".answer-text")).to_contain_text("9 am to 6 pm")
    expect(turn.locator(".meta .badge.model")).to_have_text(MODEL)
    expect(turn.locator(".meta .timings")).to_contain_text("first token")

    source = turn.locator("button.source").first
    expect(source).to_contain_text("library-hours.txt")
    source.click()
    expect(turn.locator(".passage")).to_be_visible()
    expect(turn.locator(".passage")).to_contain_text("The town library is open from 9 am to 6 pm")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "web-ui.png")


def test_french_browser_gets_french_strings(server: str, browser: Browser) -> None:
    page = new_page(browser, "fr-FR")
    page.add_init_script(f"localStorage.setItem('petitrag.key', '{KEY}')")
    page.goto(server)
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("#ask-button")).to_have_text("Demander")
    expect(page.locator("#upload-button")).to_have_text("Envoyer")
    expect(page.locator("#key-form")).to_be_hidden()
    expect(page.locator("#documents li").first).to_contain_text("Supprimer")


def test_what_the_prompt_budget_left_out_is_shown(server: str, browser: Browser) -> None:
    """The server's ``petitrag.prompt`` report becomes a badge (rendered here by the page's own code)."""
    page = new_page(browser, "fr-FR")
    page.add_init_script(f"localStorage.setItem('petitrag.key', '{KEY}')")
    page.goto(server)
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    left_out = [{"source": "/docs/guide.md", "page": None, "section": None, "chunk_id": "c3"}]
    report = {"budget_tokens": 120, "tokens": 118, "shortened": [2], "withheld": [], "left_out": left_out}
    note = page.evaluate(
        "(report) => { const n = budgetNote(report); return [n.textContent, n.title]; }", report
    )
    assert note == [
        "budget du prompt : 2 passage(s) raccourci(s) ou écarté(s)",
        "118 jetons sur 120. Raccourcis : [2]. Écartés : guide.md.",
    ]
    untouched = {**report, "shortened": [], "left_out": []}
    assert page.evaluate("(report) => budgetNote(report) === null", untouched)


def test_a_document_is_summarised_from_the_list(server: str, browser: Browser) -> None:
    page = new_page(browser, "fr-FR")
    page.add_init_script(f"localStorage.setItem('petitrag.key', '{KEY}')")
    page.goto(server)
    item = page.locator("#documents li", has_text="solar-panels.pdf")
    item.locator("button.summarize").click()
    turn = page.locator("#transcript .turn.summary").last
    expect(turn.locator(".question")).to_have_text("Résumé de solar-panels.pdf")
    expect(turn).not_to_have_class(re.compile(r"\bstreaming\b"), timeout=ANSWER_TIMEOUT_MS)
    expect(turn.locator(".meta .badge.model")).to_have_text(MODEL)
    assert turn.locator(".answer-text").inner_text().strip()
    expect(item.locator("button.summarize")).to_be_enabled()


def test_follow_up_questions_carry_the_conversation(server: str, browser: Browser) -> None:
    """The page sends the earlier turns with each question, so the server rewrites a follow-up
    to stand alone (as `petitrag chat` does)."""
    page = new_page(browser, "en-US")
    page.add_init_script(f"localStorage.setItem('petitrag.key', '{KEY}')")
    sent: list[list[dict[str, str]]] = []
    page.on(
        "request",
        lambda request: (
            sent.append(request.post_data_json["messages"])
            if request.url.endswith("/v1/chat/completions")
            else None
        ),
    )
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    for question in ("How often should I turn my compost pile?", "And how damp should it be?"):
        page.fill("#question", question)
        page.keyboard.press("Enter")
        expect(page.locator("#transcript .turn").last).not_to_have_class(
            re.compile(r"\bstreaming\b"), timeout=ANSWER_TIMEOUT_MS
        )
    first_answer = page.locator("#transcript .turn .answer-text").first.inner_text()
    assert [message["role"] for message in sent[1]] == ["user", "assistant", "user"]
    assert sent[1][0]["content"] == "How often should I turn my compost pile?"
    assert sent[1][1]["content"] == first_answer and sent[1][2]["content"] == "And how damp should it be?"
