"""The web UI in headless Chromium (Debian's ``chromium``, driven by Playwright), as a user uses it.

Enter the API key, upload a document, ask a question, watch the answer stream in, open its
source. A screenshot of the result is saved to ``tests/artifacts/web-ui.png``.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from petitrag.demo import sample_corpus
from tests.test_server import MODEL, ingest, running_server

KEY = "web-ui-key-0001"
LIMITED_KEY = "web-ui-key-0002"  # for the collection "handbooks" only, not made yet
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
    with running_server(home, "--api-key", KEY, "--api-key", f"{LIMITED_KEY}:handbooks") as base:
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


def upload_to_new_collection(
    page: Page, server: str, tmp_path: Path, name: str, files: list[Path] | None = None
) -> None:
    """Open the page, make collection ``name`` with "New…", and upload ``files`` (DOCUMENT
    by default) into it."""
    page.on("dialog", lambda dialog: dialog.accept(name))
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    page.click("#new-collection")
    expect(page.locator("#collection")).to_have_value(name)
    if files is None:
        document = tmp_path / "library-hours.txt"
        document.write_text(DOCUMENT)
        files = [document]
    page.set_input_files("#upload-input", [str(path) for path in files])
    page.click("#upload-button")


def test_upload_ask_stream_and_open_a_source(server: str, browser: Browser, tmp_path: Path) -> None:
    page = new_page(browser, "en-US")
    page.goto(server)
    expect(page.locator("#key-form")).to_be_visible()  # /api/info said 401
    page.fill("#key-input", KEY)
    page.click("#key-form button[type=submit]")
    expect(page.locator("#question")).to_be_focused()  # not lost with the hidden key form
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


def test_a_summary_warning_is_shown_with_the_summary(server: str, browser: Browser) -> None:
    """The server's summary warnings (a model that wrote the wrong language and could not
    translate it) appear under the summary, not only in the JSON."""
    page = new_page(browser, "en-US")
    page.add_init_script(f"localStorage.setItem('petitrag.key', '{KEY}')")
    warning = (
        "the summary is in French, not English as asked, and tiny could not translate it: try a larger model"
    )
    summary = {"text": "- Une puce (p. 1)", "model": "tiny", "seconds": 1.5, "warnings": [warning]}
    page.route("**/summarize", lambda route: route.fulfill(status=200, json=summary))
    page.goto(server)
    page.locator("#documents li", has_text="solar-panels.pdf").locator("button.summarize").click()
    turn = page.locator("#transcript .turn.summary").last
    expect(turn.locator(".meta .warning")).to_have_text(warning)
    expect(turn.locator(".answer-text")).to_have_text("- Une puce (p. 1)")


def sent_messages(page: Page) -> list[list[dict[str, str]]]:
    """The ``messages`` of each chat request the page sends from now on."""
    sent: list[list[dict[str, str]]] = []
    page.on(
        "request",
        lambda request: (
            sent.append(request.post_data_json["messages"])
            if request.url.endswith("/v1/chat/completions")
            else None
        ),
    )
    return sent


def test_follow_up_questions_carry_the_conversation(server: str, browser: Browser) -> None:
    """The page sends the earlier turns with each question, so the server rewrites a follow-up
    to stand alone (as `petitrag chat` does)."""
    page = new_page(browser, "en-US")
    page.add_init_script(f"localStorage.setItem('petitrag.key', '{KEY}')")
    sent = sent_messages(page)
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


def keyed_page(browser: Browser, locale: str = "en-US", width: int | None = None, key: str = KEY) -> Page:
    """A page whose browser already holds the key; ``width``: a narrower (phone) viewport."""
    page = new_page(browser, locale)
    if width:
        page.set_viewport_size({"width": width, "height": 740})
    page.add_init_script(f"localStorage.setItem('petitrag.key', '{key}')")
    return page


def test_a_key_for_collections_not_made_yet_lands_on_one_of_them(server: str, browser: Browser) -> None:
    """It landed on "default", which it may not use: every action said so, nothing said why."""
    page = keyed_page(browser, key=LIMITED_KEY)
    page.goto(server)
    expect(page.locator("#collection")).to_have_value("handbooks")
    expect(page.locator("#no-documents")).to_be_visible()
    assert page.locator("#collection option").all_text_contents() == ["handbooks"]
    expect(page.locator("#notice")).to_be_hidden()


def test_the_page_loads_without_console_errors(server: str, browser: Browser) -> None:
    page = keyed_page(browser)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert errors == []  # a missing /favicon.ico was a 404 on every load


def test_enter_while_an_answer_streams_sends_nothing(server: str, browser: Browser) -> None:
    """One question at a time: Enter submitted the form even while "Ask" was disabled."""
    page = keyed_page(browser)
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if "/v1/chat/" in request.url else None)
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    page.fill("#question", "How often should I turn my compost pile?")
    page.keyboard.press("Enter")
    expect(page.locator("#ask-button")).to_be_disabled()
    page.fill("#question", "What does the inverter do?")
    page.keyboard.press("Enter")
    expect(page.locator("#transcript .turn").last).not_to_have_class(
        re.compile(r"\bstreaming\b"), timeout=ANSWER_TIMEOUT_MS
    )
    assert len(sent) == 1
    expect(page.locator("#transcript .turn")).to_have_count(1)
    expect(page.locator("#question")).to_have_value("What does the inverter do?")  # kept for later


def test_enter_that_ends_an_input_method_composition_sends_nothing(server: str, browser: Browser) -> None:
    page = keyed_page(browser)
    sent: list[str] = []
    page.route("**/v1/chat/completions", lambda route: (sent.append(route.request.url), route.abort()))
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    page.fill("#question", "日本語")
    page.evaluate(
        """() => document.getElementById("question").dispatchEvent(new KeyboardEvent("keydown",
             { key: "Enter", isComposing: true, bubbles: true, cancelable: true }))"""
    )
    page.wait_for_timeout(300)
    assert sent == []
    expect(page.locator("#question")).to_have_value("日本語")


def test_an_error_before_the_stream_lands_on_its_own_turn(server: str, browser: Browser) -> None:
    """A refused question (here a 503, while a summary was started meanwhile) says so on its
    own turn and stops streaming; it used to keep its cursor blinking and write the error on
    whichever turn was last."""
    page = keyed_page(browser)
    held: list[Route] = []
    page.route("**/v1/chat/completions", lambda route: held.append(route))
    page.route("**/summarize", lambda route: held.append(route))  # never answered: stays in progress
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    page.fill("#question", "How often should I turn my compost pile?")
    page.keyboard.press("Enter")
    page.locator("#documents li", has_text="composting.html").locator("button.summarize").click()
    expect(page.locator("#transcript .turn")).to_have_count(2)
    while len(held) < 2:
        page.wait_for_timeout(50)
    chat = next(route for route in held if route.request.url.endswith("/v1/chat/completions"))
    error = {"error": {"message": "request timed out", "type": "server_error", "code": "timeout"}}
    chat.fulfill(status=503, json=error)
    question, summary = page.locator("#transcript .turn").all()
    expect(question).not_to_have_class(re.compile(r"\bstreaming\b"))
    expect(question.locator(".meta")).to_have_text(  # in the page's words, not the server's
        "The answer took too long and was stopped: try again, or ask a shorter question."
    )
    expect(summary.locator(".meta")).to_have_text("Reading the whole document…")
    expect(page.locator("#ask-button")).to_be_enabled()


@pytest.mark.parametrize(
    ("locale", "advice"), [("en-GB", "add some with Upload"), ("fr-FR", "ajoutez-en avec « Envoyer »")]
)
def test_a_collection_without_documents_gets_the_page_s_advice(
    server: str, browser: Browser, locale: str, advice: str
) -> None:
    """The server's message tells a terminal user to run `petitrag ingest`; the page says what to do here."""
    page = keyed_page(browser, locale)
    page.on("dialog", lambda dialog: dialog.accept("nothing-yet"))
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    page.click("#new-collection")
    expect(page.locator("#collection")).to_have_value("nothing-yet")
    expect(page.locator("#no-documents")).to_be_visible()
    page.fill("#question", "How often should I turn my compost pile?")
    page.keyboard.press("Enter")
    meta = page.locator("#transcript .turn .meta")
    expect(meta).to_contain_text(advice)
    expect(meta).not_to_contain_text("petitrag ingest")


def answer_with(page: Page, body: str) -> None:
    """Every chat request of ``page`` gets this event stream (no model is asked)."""
    page.route(
        "**/v1/chat/completions",
        lambda route: route.fulfill(status=200, content_type="text/event-stream", body=body),
    )


def stream_body(streamed: str, result: dict[str, object]) -> str:
    """Events as the server sends them: ``streamed`` text, then ``result`` as the extension."""
    chunks = [
        {"choices": [{"index": 0, "delta": {"content": streamed}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "petitrag": result},
    ]
    return "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks) + "data: [DONE]\n\n"


def test_long_words_and_html_stay_text_on_a_phone(server: str, browser: Browser) -> None:
    """A long URL in a question, answer or passage wraps instead of widening the page, and
    markup in any of them is shown as text."""
    page = keyed_page(browser, width=375)
    url = "https://example.org/" + "a/b" * 120
    markup = "<img src=x onerror=\"document.title='pwned'\"><b>bold</b>"
    text = f"{markup} {url}"
    citation = {"source": "/x/notes.md", "page": None, "section": None, "chunk_id": "c1", "text": text}
    result = {"answer": f"{markup} {url} [1]", "abstained": False, "model": MODEL, "citations": [citation],
              "question": f"{markup} {url}", "timings": {}, "prompt": None}  # fmt: skip
    answer_with(page, stream_body(f"{markup} {url}", result))
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    page.fill("#question", f"{markup} {url}")
    page.keyboard.press("Enter")
    turn = page.locator("#transcript .turn").last
    expect(turn.locator(".answer-text")).to_have_text(f"{markup} {url} [1]")
    turn.locator("button.source").click()
    expect(turn.locator(".passage")).to_have_text(f"{markup} {url}")
    expect(turn.locator(".question")).to_have_text(f"{markup} {url}")
    assert page.locator("#transcript img, #transcript b").count() == 0
    assert page.title() == "petitrag"
    width, visible = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= visible


@pytest.mark.parametrize(
    ("locale", "said"),
    [
        ("en-US", "invalid collection 'Projets 2027'"),
        ("fr-FR", "nom de collection « Projets 2027 » invalide"),
    ],
)
def test_an_invalid_new_collection_name_is_not_kept(
    server: str, browser: Browser, locale: str, said: str
) -> None:
    page = keyed_page(browser, locale)
    page.on("dialog", lambda dialog: dialog.accept("Projets 2027"))  # a space: refused by the server
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    documents = page.locator("#documents li").count()
    page.click("#new-collection")
    expect(page.locator("#notice")).to_contain_text(said)  # the server's message is English
    expect(page.locator("#collection")).to_have_value("default")
    assert "Projets 2027" not in page.locator("#collection option").all_text_contents()
    expect(page.locator("#documents li")).to_have_count(documents)


@pytest.mark.parametrize("name", ["a/b", "..", "-sites"])
def test_a_name_no_route_can_hold_is_refused_by_the_page(server: str, browser: Browser, name: str) -> None:
    """The browser sends neither to a route ("a/b" is two path segments, ".." is collapsed):
    the server's generic 404 was shown as "Error: Not Found" on an empty collection. "-sites"
    was made, and its upload's job failed ("would read as an option")."""
    page = keyed_page(browser)
    page.on("dialog", lambda dialog: dialog.accept(name))
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    page.click("#new-collection")
    expect(page.locator("#notice")).to_contain_text(f"invalid collection '{name}'")
    expect(page.locator("#collection")).to_have_value("default")


def test_a_long_collection_name_never_widens_a_phone_page(server: str, browser: Browser) -> None:
    page = keyed_page(browser, width=375)
    page.on("dialog", lambda dialog: dialog.accept("b" * 64))  # valid: 64 characters
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    page.click("#new-collection")
    expect(page.locator("#collection")).to_have_value("b" * 64)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_on_a_phone_each_new_turn_shows_above_the_question_box(server: str, browser: Browser) -> None:
    """The box sticks to the bottom of the screen: turns scrolled "into view" ended under it."""
    page = keyed_page(browser, width=375)
    answer_with(page, event_stream("Every two to three weeks [1]."))
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    for number in range(1, 4):
        page.fill("#question", f"How often should I turn my compost pile? ({number})")
        page.keyboard.press("Enter")
        expect(page.locator("#transcript .turn .meta .model")).to_have_count(number)
        expect(page.locator("#ask-button")).to_be_enabled()
        turn = page.locator("#transcript .turn").last.bounding_box()
        box = page.locator("#ask-form").bounding_box()
        assert turn is not None and box is not None
        assert turn["y"] + turn["height"] <= box["y"] + 1, (turn, box)


def test_ingest_warnings_and_a_stopped_embedding_are_reported(server: str, browser: Browser) -> None:
    """As `petitrag ingest` prints them (rendered here by the page's own code)."""
    page = keyed_page(browser, "fr-FR")
    page.goto(server)
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    report = {
        "added": ["scan.pdf"], "updated": [], "unchanged": [], "failed": [],
        "warnings": [{"file": "scan.pdf", "warning": "no text layer on page 2 (scanned?)"}],
        "embed_error": "embedder crashed",
    }  # fmt: skip
    page.evaluate("(report) => followJob({ status: 'done', report })", report)
    expect(page.locator("#upload-text")).to_have_text(
        "Indexé : 1 ajouté(s), 0 inchangé(s).\n"
        "scan.pdf : no text layer on page 2 (scanned?)\n"
        "Indexation des passages interrompue : embedder crashed"
    )


def event_stream(answer: str, citations: list[dict[str, object]] | None = None, **timings: float) -> str:
    """A streamed RAG answer as the server sends it: the text, then the ``petitrag`` result."""
    result = {"answer": answer, "abstained": False, "model": MODEL, "citations": citations or [],
              "timings": timings, "prompt": None}  # fmt: skip
    return stream_body(answer, result)


def test_a_wrong_key_is_said_to_be_wrong(server: str, browser: Browser) -> None:
    """It used to say "This server needs an API key." again, as if nothing had been entered."""
    page = new_page(browser, "en-US")
    page.goto(server)
    expect(page.locator("#notice")).to_have_text("This server needs an API key.")
    expect(page.locator("#model")).to_be_hidden()  # no empty badge before /api/info answers
    page.fill("#key-input", "not-the-key-0000")
    page.click("#key-form button[type=submit]")
    expect(page.locator("#notice")).to_have_text("This API key was refused: enter the right one.")
    expect(page.locator("#key-form")).to_be_visible()


def test_a_key_no_request_can_carry_is_refused_in_words(server: str, browser: Browser) -> None:
    """A pasted key with a curly quote was told "The server cannot be reached…" and the key form
    hidden; an upload showed the browser's "Failed to execute 'setRequestHeader'…"."""
    page = new_page(browser, "en-US")
    page.goto(server)
    expect(page.locator("#notice")).to_have_text("This server needs an API key.")
    page.fill("#key-input", "key€with’curly")
    page.click("#key-form button[type=submit]")
    expect(page.locator("#notice")).to_have_text(
        "This API key holds '€', '’', which no request can carry: type it as the server was given "
        "it (a paste may have made a quote or a dash typographic)."
    )
    expect(page.locator("#key-form")).to_be_visible()
    expect(page.locator("#key-input")).to_be_focused()
    page.fill("#key-input", KEY)
    page.click("#key-form button[type=submit]")
    expect(page.locator("#documents li").first).to_be_visible()
    expect(page.locator("#notice")).to_be_hidden()

    saved = keyed_page(browser, "fr-FR", key=f"{KEY}’")  # saved by a page that did not check it
    saved.goto(server)
    expect(saved.locator("#notice")).to_have_text(
        "Cette clé d’API contient « ’ », qu’aucune requête ne peut transmettre : saisissez-la telle "
        "que le serveur l’a reçue (un copier-coller a pu rendre typographique une apostrophe ou un tiret)."
    )
    expect(saved.locator("#key-form")).to_be_visible()


def test_a_lost_server_is_said_in_the_page_s_language_and_the_question_kept(
    server: str, browser: Browser
) -> None:
    """A stopped server showed the browser's own English ("Erreur : Failed to fetch", or "network
    error" mid-stream), and the question was gone from the box."""
    page = keyed_page(browser, "fr-FR")
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    server_is_back = False

    def lost_then_back(route: Route) -> None:
        # One handler for both phases: unroute + route again let a request slip through to the
        # real server on a slow machine (CI), where SmolLM2 then answered something else, late.
        if server_is_back:
            answer = event_stream("Tous les 2 000 km.")
            route.fulfill(status=200, content_type="text/event-stream", body=answer)
        else:
            route.abort("connectionrefused")

    page.route("**/v1/chat/completions", lost_then_back)
    page.fill("#question", "Quand faut-il remplacer les plaquettes ?")
    page.keyboard.press("Enter")
    turn = page.locator("#transcript .turn").last
    expect(turn.locator(".meta")).to_have_text(
        "Le serveur ne répond pas : petitrag serve tourne-t-il encore ? Réessayez quand il sera revenu."
    )
    expect(turn).not_to_have_class(re.compile(r"\bstreaming\b"))
    expect(page.locator("#question")).to_have_value("Quand faut-il remplacer les plaquettes ?")
    server_is_back = True  # asking again works
    page.keyboard.press("Enter")
    expect(page.locator("#transcript .turn").last.locator(".answer-text")).to_have_text("Tous les 2 000 km.")


def test_an_answer_from_the_previous_collection_stays_out_of_the_next_conversation(
    server: str, browser: Browser
) -> None:
    """Switching collection while an answer streamed added that answer to the new collection's
    conversation, so the next question was rewritten with the other collection's context."""
    page = keyed_page(browser)
    held: list[Route] = []
    sent: list[list[dict[str, str]]] = []

    def answer(route: Route) -> None:
        sent.append(route.request.post_data_json["messages"])
        if len(sent) == 1:
            held.append(route)
        else:
            route.fulfill(
                status=200, content_type="text/event-stream", body=event_stream("From the other one.")
            )

    page.route("**/v1/chat/completions", answer)
    page.on("dialog", lambda dialog: dialog.accept("other-collection"))
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    page.fill("#question", "How often should I turn my compost pile?")
    page.keyboard.press("Enter")
    while not held:
        page.wait_for_timeout(50)
    page.click("#new-collection")
    expect(page.locator("#collection")).to_have_value("other-collection")
    held[0].fulfill(status=200, content_type="text/event-stream", body=event_stream("Every week."))
    expect(page.locator("#transcript .turn").first.locator(".answer-text")).to_have_text("Every week.")
    page.fill("#question", "And how damp should it be?")
    page.keyboard.press("Enter")
    expect(page.locator("#transcript .turn").last.locator(".answer-text")).to_have_text("From the other one.")
    assert sent[1] == [{"role": "user", "content": "And how damp should it be?"}]


def test_too_large_an_upload_is_refused_before_it_is_sent(
    server: str, browser: Browser, tmp_path: Path
) -> None:
    """The whole file went up before the server's 413, whose message is English."""
    page = keyed_page(browser, "fr-FR")
    uploads: list[str] = []
    page.on("request", lambda request: uploads.append(request.url) if request.method == "POST" else None)
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    page.evaluate("state.maxUploadMb = 0.001")  # /api/info's limit (50 MB on this server), made small
    document = tmp_path / "big.txt"
    document.write_text("x" * 2000)
    page.set_input_files("#upload-input", str(document))
    page.click("#upload-button")
    expect(page.locator("#upload-text")).to_have_text(
        "Trop volumineux : le serveur accepte au plus 0,001 Mo par envoi."
    )
    assert uploads == []
    expect(page.locator("#upload-button")).to_be_enabled()


def test_a_collection_the_key_may_not_use_is_said_in_the_page_s_language(
    server: str, browser: Browser
) -> None:
    page = keyed_page(browser, "fr-FR")
    refusal = {"error": {"message": "this API key may not use collection 'rh'", "type": "permission_error",
                         "code": "collection_forbidden", "param": None}}  # fmt: skip
    page.route("**/api/collections/rh/documents", lambda route: route.fulfill(status=403, json=refusal))
    page.on("dialog", lambda dialog: dialog.accept("rh"))
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    page.click("#new-collection")
    expect(page.locator("#notice")).to_have_text("Cette clé d’API n’a pas accès à cette collection.")
    expect(page.locator("#collection")).to_have_value("default")


@pytest.mark.parametrize("width", [1280, 375])
def test_the_question_box_stays_in_view_after_long_answers(server: str, browser: Browser, width: int) -> None:
    """Long answers pushed the question box below the window: the page grew instead of the transcript
    scrolling (on a phone the box now stays at the bottom of the screen)."""
    page = keyed_page(browser, "fr-FR", width=width)
    answer_with(
        page, event_stream("Une réponse longue. " * 150, ttft_s=1.25, tokens_per_s=40, total_s=2.5, queue_s=0)
    )
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    for _ in range(3):
        page.fill("#question", "Une question ?")
        page.keyboard.press("Enter")
        expect(page.locator("#ask-button")).to_be_enabled()
    expect(page.locator("#transcript .turn")).to_have_count(3)
    expect(page.locator("#ask-form")).to_be_in_viewport(ratio=1)
    expect(page.locator("#transcript .turn .timings").first).to_contain_text("premier mot 1,3 s")  # not "1.3"


def test_an_error_notice_goes_once_the_server_is_back(server: str, browser: Browser) -> None:
    """ "The server cannot be reached" stayed on screen after it was back; a delete while it was
    down also left an unhandled rejection."""
    page = keyed_page(browser)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "dialog",
        lambda dialog: dialog.accept("other-collection") if dialog.type == "prompt" else dialog.accept(),
    )
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    page.route("**/api/**", lambda route: route.abort("connectionrefused"))
    page.locator("#documents li").first.locator("button", has_text="Delete").click()
    expect(page.locator("#notice")).to_have_text(
        "The server cannot be reached: is petitrag serve still running? Try again once it is back."
    )
    page.unroute("**/api/**")
    page.click("#new-collection")
    expect(page.locator("#collection")).to_have_value("other-collection")
    expect(page.locator("#notice")).to_be_hidden()
    assert errors == []


def test_document_buttons_say_which_document(server: str, browser: Browser) -> None:
    """A screen reader heard the same "Supprimer" / "Résumer" for every document."""
    page = keyed_page(browser, "fr-FR")
    page.goto(server)
    expect(page.get_by_role("button", name="Supprimer composting.html", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Résumer solar-panels.pdf", exact=True)).to_be_visible()


def test_an_escalation_is_explained_in_words(server: str, browser: Browser) -> None:
    """The "escalated" badge's tooltip was the route as raw JSON (rendered here by the page's own code)."""
    page = keyed_page(browser, "fr-FR")
    page.goto(server)
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    route = {"signals": {"mean_logprob": -0.21}, "confidence": 0.31, "threshold": 0.52, "calibrated": True,
             "first_model": "qwen2.5-coder-0.5b", "answered_by": "qwen2.5-coder-1.5b",
             "reason": "low confidence"}  # fmt: skip
    result = {
        "model": "qwen2.5-coder-1.5b",
        "escalated": True,
        "route": route,
        "abstained": False,
        "timings": {},
    }
    title = page.evaluate(
        "(result) => metaParts(result, 'q').find((part) => part.classList.contains('escalated')).title",
        result,
    )
    assert title == "escaladé de qwen2.5-coder-0.5b à qwen2.5-coder-1.5b : confiance 0,31 < 0,52"


def test_the_key_prompt_fits_a_phone(server: str, browser: Browser) -> None:
    """In French, "Enregistrer" went past the right edge of a 375 px screen."""
    page = new_page(browser, "fr-FR")
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(server)
    expect(page.locator("#key-form button[type=submit]")).to_be_in_viewport(ratio=1)
    width, visible = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= visible


def test_a_collection_is_deleted_from_the_page_after_asking(
    server: str, browser: Browser, tmp_path: Path
) -> None:
    page = keyed_page(browser)
    answers = ["drafts", None, True]  # the new collection's name; no, then yes, to deleting it
    asked: list[str] = []

    def reply(dialog) -> None:  # type: ignore[no-untyped-def]
        asked.append(dialog.message)
        answer = answers.pop(0)
        dialog.accept(answer) if isinstance(answer, str) else dialog.accept() if answer else dialog.dismiss()

    page.on("dialog", reply)
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    expect(page.locator("#delete-collection")).to_be_visible()
    documents = page.locator("#documents li").count()
    page.click("#new-collection")
    expect(page.locator("#collection")).to_have_value("drafts")
    expect(page.locator("#delete-collection")).to_be_hidden()  # not made until a file is added
    draft = tmp_path / "draft.txt"
    draft.write_text("A draft about the new bicycle shed.\n")
    page.set_input_files("#upload-input", str(draft))
    page.click("#upload-button")
    expect(page.locator("#documents li", has_text="draft.txt")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    page.click("#delete-collection")  # declined: nothing happens
    expect(page.locator("#collection")).to_have_value("drafts")
    expect(page.locator("#documents li", has_text="draft.txt")).to_be_visible()
    page.click("#delete-collection")
    expect(page.locator("#collection")).to_have_value("default")
    assert "drafts" not in page.locator("#collection option").all_text_contents()
    expect(page.locator("#documents li")).to_have_count(documents)
    assert (
        asked[1]
        == asked[2]
        == ("Delete the collection drafts and its index? Files uploaded to it are deleted too.")
    )


#: answers every chat request with a stream the test writes: ``__stream.text(...)``, ``__stream.end(result)``;
#: ``__aborted`` tells whether the page aborted the request (installed before the page's own script runs)
STREAM_BY_HAND = """
window.__aborted = false;
const realFetch = window.fetch;
window.fetch = (url, options = {}) => {
  if (!String(url).endsWith("/v1/chat/completions")) return realFetch(url, options);
  const encoder = new TextEncoder();
  const body = new ReadableStream({
    start(controller) {
      const send = (chunk) => controller.enqueue(encoder.encode(`data: ${JSON.stringify(chunk)}\\n\\n`));
      window.__stream = {
        text: (content) => send({ choices: [{ index: 0, delta: { content } }] }),
        end: (result) => {
          send({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }], petitrag: result });
          controller.enqueue(encoder.encode("data: [DONE]\\n\\n"));
          controller.close();
        },
      };
      if (options.signal) options.signal.addEventListener("abort", () => {
        window.__aborted = true;
        controller.error(options.signal.reason); // as a real fetch: the read rejects with an AbortError
      });
    },
  });
  const headers = { "Content-Type": "text/event-stream" };
  return Promise.resolve(new Response(body, { status: 200, headers }));
};
"""


def streamed_by_hand(browser: Browser, locale: str = "en-US", width: int | None = None) -> Page:
    """A keyed page whose answers stream only what the test sends (see STREAM_BY_HAND)."""
    page = keyed_page(browser, locale, width=width)
    page.add_init_script(STREAM_BY_HAND)
    return page


@pytest.mark.parametrize(
    ("locale", "stopped"), [("en-US", "Stopped before the end."), ("fr-FR", "Arrêtée avant la fin.")]
)
@pytest.mark.parametrize("how", ["button", "Escape"])
def test_a_streaming_answer_is_stopped_and_its_text_kept(
    server: str, browser: Browser, locale: str, stopped: str, how: str
) -> None:
    """Nothing stopped an answer while it streamed (Ask disabled, Escape did nothing): only a reload."""
    page = streamed_by_hand(browser, locale)
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    page.fill("#question", "How often should I turn my compost pile?")
    page.keyboard.press("Enter")
    turn = page.locator("#transcript .turn").last
    page.wait_for_function("() => window.__stream !== undefined")
    page.evaluate("__stream.text('Every two')")
    expect(turn.locator(".answer-text")).to_have_text("Every two")
    expect(page.locator("#ask-button")).to_be_hidden()
    stop = page.locator("#stop-button")
    expect(stop).to_have_text("Stop" if locale == "en-US" else "Arrêter")
    if how == "button":
        stop.click()
    else:
        page.keyboard.press("Escape")
    expect(turn).not_to_have_class(re.compile(r"\bstreaming\b"))
    assert page.evaluate("window.__aborted")
    expect(turn).to_have_class(re.compile(r"\bstopped\b"))
    expect(turn.locator(".answer-text")).to_have_text("Every two")
    expect(turn.locator(".meta")).to_have_text(stopped)
    expect(stop).to_be_hidden()
    expect(page.locator("#ask-button")).to_be_enabled()
    expect(page.locator("#question")).to_be_focused()
    expect(page.locator("#question")).to_have_value("")  # it was answered, in part
    page.fill("#question", "And how damp should it be?")  # usable again; the stopped answer is not history
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#transcript .turn').length === 2")
    page.evaluate("__stream.text('Moist.'); __stream.end({answer: 'Moist.', abstained: false, model: 'm', "
                  "citations: [], timings: {}, prompt: null})")  # fmt: skip
    expect(page.locator("#transcript .turn").last.locator(".answer-text")).to_have_text("Moist.")
    expect(page.locator("#transcript .turn").last).not_to_have_class(re.compile(r"\bstopped\b"))


def test_stop_ends_the_real_answer_on_the_server(server: str, browser: Browser) -> None:
    """The request goes (the server stops generating when its client leaves): the next answer comes."""
    page = keyed_page(browser)
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    page.evaluate(  # Stop, clicked by the page itself at the first word: SmolLM2 is quick
        """() => new MutationObserver((records, observer) => {
             if (!document.querySelector(".turn.streaming .answer-text")?.textContent) return;
             observer.disconnect();
             document.getElementById("stop-button").click();
           }).observe(document.getElementById("transcript"),
                      { subtree: true, childList: true, characterData: true })"""
    )
    page.fill("#question", "List every step to build a compost pile, in detail, with all the materials.")
    page.keyboard.press("Enter")
    turn = page.locator("#transcript .turn").last
    expect(turn).to_have_class(re.compile(r"\bstopped\b"), timeout=ANSWER_TIMEOUT_MS)
    expect(turn.locator(".answer-text")).not_to_be_empty()
    assert any(url.endswith("/v1/chat/completions") for url in failed)
    page.fill("#question", "How often should I turn my compost pile?")
    page.keyboard.press("Enter")
    expect(page.locator("#transcript .turn").last).not_to_have_class(
        re.compile(r"\bstreaming\b"), timeout=ANSWER_TIMEOUT_MS
    )
    expect(page.locator("#transcript .turn").last.locator(".meta .badge.model")).to_have_text(MODEL)


def cursor_in_view(page: Page) -> bool:
    """Whether the streaming answer's cursor is on screen: in the transcript, above the question box."""
    return page.evaluate(
        """() => {
             const cursor = document.querySelector(".turn.streaming .cursor").getBoundingClientRect();
             const transcript = document.getElementById("transcript").getBoundingClientRect();
             const box = document.getElementById("ask-form").getBoundingClientRect();
             return cursor.top >= Math.max(0, transcript.top) - 1
               && cursor.bottom <= Math.min(transcript.bottom, box.top, window.innerHeight) + 1;
           }"""
    )


@pytest.mark.parametrize("width", [1280, 375])
def test_a_long_answer_is_followed_as_it_streams_unless_scrolled_up(
    server: str, browser: Browser, width: int
) -> None:
    """The transcript was scrolled only when an answer started and ended: a long one streamed out of view."""
    page = streamed_by_hand(browser, width=width)
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    page.fill("#question", "How do I assemble the bookshelf?")
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.__stream !== undefined")
    for step in range(1, 41):
        page.evaluate("(step) => __stream.text(`Step ${step}: screw the next panel on.\\n`)", step)
        expect(page.locator(".turn .answer-text")).to_contain_text(f"Step {step}:")
        assert cursor_in_view(page), step
    scroller = "document.getElementById('transcript')" if width > 720 else "document.scrollingElement"
    page.evaluate(f"{scroller}.scrollTop = 0")  # up, to read the beginning
    page.wait_for_timeout(100)
    for step in range(41, 51):
        page.evaluate("(step) => __stream.text(`Step ${step}: screw the next panel on.\\n`)", step)
        expect(page.locator(".turn .answer-text")).to_contain_text(f"Step {step}:")
    assert page.evaluate(f"{scroller}.scrollTop") == 0  # not pulled back down
    page.evaluate(f"{scroller}.scrollTop = {scroller}.scrollHeight")  # down again: followed again
    page.wait_for_timeout(100)
    for step in range(51, 61):
        page.evaluate("(step) => __stream.text(`Step ${step}: screw the next panel on.\\n`)", step)
        expect(page.locator(".turn .answer-text")).to_contain_text(f"Step {step}:")
        assert cursor_in_view(page), step


def test_ingest_progress_shows_under_its_own_collection_only(
    server: str, browser: Browser, tmp_path: Path
) -> None:
    """Switching collection mid-ingest showed the ingest's progress, then its report, under the other one."""
    page = keyed_page(browser)
    held = True

    def job(route: Route) -> None:  # held at "indexing" until the test lets it go on
        if held:
            job_id = route.request.url.rsplit("/", 1)[-1]
            route.fulfill(json={"id": job_id, "status": "running", "stage": "embed", "done": 1, "total": 3})
        else:
            route.continue_()

    page.route("**/api/jobs/*", job)
    upload_to_new_collection(page, server, tmp_path, "ingest-elsewhere")
    status = page.locator("#upload-status")
    expect(page.locator("#upload-text")).to_have_text("Indexing passages 1/3…")
    page.select_option("#collection", "default")
    expect(status).to_be_hidden()
    expect(page.locator("#upload-button")).to_be_enabled()  # nothing is being added to this one
    page.select_option("#collection", "ingest-elsewhere")
    expect(status).to_be_visible()
    expect(page.locator("#upload-text")).to_have_text("Indexing passages 1/3…")
    expect(page.locator("#upload-button")).to_be_disabled()
    page.select_option("#collection", "default")
    held = False  # it ends while another collection is on screen
    page.wait_for_function(
        "() => uploads.get('ingest-elsewhere').running === false", timeout=ANSWER_TIMEOUT_MS
    )
    expect(status).to_be_hidden()
    page.select_option("#collection", "ingest-elsewhere")
    expect(page.locator("#upload-text")).to_have_text("Ingested: 1 added, 0 unchanged.")
    expect(page.locator("#documents li", has_text="library-hours.txt")).to_be_visible()
    page.select_option("#collection", "default")
    page.select_option("#collection", "ingest-elsewhere")  # the report was seen: gone
    expect(status).to_be_hidden()


def test_an_unsupported_file_is_named(server: str, browser: Browser, tmp_path: Path) -> None:
    """The page's fixed message for `unsupported_type` dropped the file the server named."""
    page = keyed_page(browser, "fr-FR")
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    tool = tmp_path / "tool.exe"
    tool.write_bytes(b"MZ\x90\x00")
    page.set_input_files("#upload-input", str(tool))
    page.click("#upload-button")
    expect(page.locator("#upload-text")).to_have_text(
        "tool.exe : type de fichier non pris en charge. "
        "Les fichiers PDF, DOCX, HTML, Markdown et texte sont lus."
    )
    expect(page.locator("#upload-button")).to_be_enabled()


def test_an_upload_where_every_file_failed_does_not_look_done(
    server: str, browser: Browser, tmp_path: Path
) -> None:
    """A corrupt PDF ended with the bar full under "Ingested: 0 added, 0 unchanged.": a full bar
    reads as success."""
    page = keyed_page(browser)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 cut short")
    upload_to_new_collection(page, server, tmp_path, "all-failed", [broken])
    expect(page.locator("#upload-text")).to_have_text(
        "Nothing was added.\n1 file(s) could not be read:\n"
        "broken.pdf: corrupt or unreadable PDF: Stream has ended unexpectedly",
        timeout=ANSWER_TIMEOUT_MS,
    )
    expect(page.locator("#upload-status")).to_have_class("failed")
    assert page.locator("#upload-progress").evaluate("(bar) => bar.value") == 0
    expect(page.locator("#upload-button")).to_be_enabled()


def test_files_the_server_does_not_read_are_left_out_and_named(
    server: str, browser: Browser, tmp_path: Path
) -> None:
    """penguins.txt chosen with tool.exe: the server refused both (415) and the page named
    tool.exe alone, so nobody learned that penguins.txt was not uploaded either."""
    page = keyed_page(browser, "fr-FR")
    penguins = tmp_path / "penguins.txt"
    penguins.write_text("Penguins\n\nEmperor penguins breed in the Antarctic winter.\n")
    tool = tmp_path / "tool.exe"
    tool.write_bytes(b"MZ\x90\x00")
    upload_to_new_collection(page, server, tmp_path, "mixed", [penguins, tool])
    expect(page.locator("#upload-text")).to_have_text(
        "Indexé : 1 ajouté(s), 0 inchangé(s).\n"
        "Non envoyé(s) : tool.exe (type de fichier non pris en charge ; "
        "les fichiers PDF, DOCX, HTML, Markdown et texte sont lus).",
        timeout=ANSWER_TIMEOUT_MS,
    )
    expect(page.locator("#upload-status")).not_to_have_class("failed")
    expect(page.locator("#documents li", has_text="penguins.txt")).to_be_visible()


def test_a_source_is_named_by_its_file_name_on_either_system(server: str, browser: Browser) -> None:
    """A Linux file name may hold a backslash: "notes\\2024.md" was shown as "2024.md" (rendered
    here by the page's own code)."""
    page = keyed_page(browser)
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    names = {
        "/srv/docs/notes\\2024.md": "notes\\2024.md",
        "/srv/docs/guide.md": "guide.md",
        "C:\\Users\\me\\report.pdf": "report.pdf",
        "d:/shared/plan.docx": "plan.docx",
        "\\\\server\\share\\minutes.txt": "minutes.txt",
    }
    for source, name in names.items():
        citation = {"source": source, "page": 3, "section": None, "chunk_id": "c1", "text": "…"}
        shown = page.evaluate("(citation) => sourceItem(null, citation, 0).textContent", citation)
        assert shown == f"[1] {name} · p. 3"
    left_out = [{"source": source, "page": None, "section": None, "chunk_id": "c2"} for source in names]
    report = {"budget_tokens": 120, "tokens": 118, "shortened": [], "withheld": [], "left_out": left_out}
    title = page.evaluate("(report) => budgetNote(report).title", report)
    assert title.endswith(f"Left out: {', '.join(names.values())}.")


@pytest.mark.parametrize(
    ("locale", "said"),
    [
        ("en-US", "The summary took too long and was stopped: try again when the server is less busy, "
                  "or ask a question about the document instead."),
        ("fr-FR", "Le résumé a pris trop de temps et a été arrêté : réessayez quand le serveur sera moins "
                  "occupé, ou posez plutôt une question sur le document."),
    ],
)  # fmt: skip
def test_a_summary_that_timed_out_gets_its_own_advice(
    server: str, browser: Browser, locale: str, said: str
) -> None:
    """It said "…try again, or ask a shorter question", but no question was asked."""
    page = keyed_page(browser, locale)
    error = {"error": {"message": "no answer within 120 s (the model is busy); retry later",
                       "type": "server_error", "code": "timeout"}}  # fmt: skip
    page.route("**/summarize", lambda route: route.fulfill(status=503, json=error))
    page.goto(server)
    page.locator("#documents li", has_text="solar-panels.pdf").locator("button.summarize").click()
    turn = page.locator("#transcript .turn.summary").last
    expect(turn.locator(".meta")).to_have_text(said)
    expect(turn).not_to_have_class(re.compile(r"\bstreaming\b"))


def test_a_model_that_could_not_load_is_said_on_opening(server: str, browser: Browser) -> None:
    """Nothing said so until a question was asked; asking stays possible (it gets the server's error)."""
    page = keyed_page(browser, "fr-FR")
    health = {"status": "degraded", "version": "0", "model": None, "model_loaded": False,
              "error": "model file not found: /models/tiny.gguf", "queue_depth": 0}  # fmt: skip
    page.route("**/health", lambda route: route.fulfill(json=health))
    page.goto(server)
    expect(page.locator("#model-warning")).to_have_text(
        "Le modèle n’a pas pu être chargé, les questions vont échouer : "
        "model file not found: /models/tiny.gguf"
    )
    expect(page.locator("#documents li").first).to_be_visible()
    page.fill("#question", "Une question ?")
    expect(page.locator("#ask-button")).to_be_enabled()
    page.click("#upload-button")  # another action: the warning stays (the notice is cleared)
    expect(page.locator("#model-warning")).to_be_visible()


def test_a_healthy_model_gets_no_warning(server: str, browser: Browser) -> None:
    page = keyed_page(browser)
    checked: list[str] = []
    page.on(
        "response",
        lambda response: checked.append(response.url) if response.url.endswith("/health") else None,
    )
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert checked
    expect(page.locator("#model-warning")).to_be_hidden()


def test_the_chosen_collection_is_kept_across_a_reload(server: str, browser: Browser) -> None:
    """A reload always went back to "default"; a collection since deleted falls back to it."""
    page = keyed_page(browser)

    def with_kept(route: Route) -> None:  # one more collection, made elsewhere
        response = route.fetch()
        info = response.json()
        route.fulfill(response=response, json={**info, "collections": [*info["collections"], "kept"]})

    page.route("**/api/info", with_kept)
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    page.select_option("#collection", "kept")
    expect(page.locator("#no-documents")).to_be_visible()
    page.reload()
    expect(page.locator("#collection")).to_have_value("kept")
    expect(page.locator("#no-documents")).to_be_visible()
    page.unroute("**/api/info")  # deleted meanwhile
    page.reload()
    expect(page.locator("#collection")).to_have_value("default")
    expect(page.locator("#documents li").first).to_be_visible()
    assert "kept" not in page.locator("#collection option").all_text_contents()


def test_a_summary_can_be_stopped(server: str, browser: Browser) -> None:
    """No Stop while a summary ran (minutes with a large model); a question asked meanwhile waited."""
    page = keyed_page(browser)
    page.route("**/summarize", lambda route: None)  # the server is still at it
    page.goto(server)
    page.locator("#documents li", has_text="solar-panels.pdf").locator("button.summarize").click()
    turn = page.locator("#transcript .turn.summary").last
    expect(page.locator("#stop-button")).to_be_visible()
    expect(page.locator("#ask-button")).to_be_hidden()
    page.keyboard.press("Escape")
    expect(turn.locator(".meta")).to_have_text("Stopped before the end.")
    expect(turn).not_to_have_class(re.compile(r"\bstreaming\b"))
    expect(page.locator("#ask-button")).to_be_visible()


def test_another_key_s_collection_starts_its_own_conversation(server: str, browser: Browser) -> None:
    """A key that moved the page to another collection kept the former one's conversation: the
    next question was rewritten with turns about documents this key may not read."""
    page = keyed_page(browser)
    sent = sent_messages(page)
    answer_with(page, event_stream("Every week."))
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    page.fill("#question", "How often should I turn my compost pile?")
    page.keyboard.press("Enter")
    expect(page.locator("#transcript .turn").last.locator(".answer-text")).to_have_text("Every week.")
    page.click("#key-button")
    page.fill("#key-input", LIMITED_KEY)
    page.click("#key-form button[type=submit]")
    expect(page.locator("#collection")).to_have_value("handbooks")
    page.fill("#question", "And how damp should it be?")
    page.keyboard.press("Enter")
    expect(page.locator("#transcript .turn")).to_have_count(2)
    expect(page.locator("#transcript .turn").last.locator(".answer-text")).to_have_text("Every week.")
    assert sent[1] == [{"role": "user", "content": "And how damp should it be?"}]


def test_a_new_collection_a_limited_key_may_not_use_is_refused_in_words(
    server: str, browser: Browser
) -> None:
    """It silently stayed on (or went to) another collection; the conversation went with it."""
    page = keyed_page(browser, key=LIMITED_KEY)
    page.on("dialog", lambda dialog: dialog.accept("secrets"))
    answer_with(page, event_stream("Nine to six."))
    sent = sent_messages(page)
    page.goto(server)
    expect(page.locator("#collection")).to_have_value("handbooks")
    page.evaluate("state.history = [{role: 'user', content: 'Q1'}, {role: 'assistant', content: 'A1'}]")
    page.click("#new-collection")
    expect(page.locator("#notice")).to_have_text("This API key may not use this collection.")
    expect(page.locator("#collection")).to_have_value("handbooks")
    page.fill("#question", "And on Sundays?")
    page.keyboard.press("Enter")
    expect(page.locator("#transcript .turn").last.locator(".answer-text")).to_have_text("Nine to six.")
    assert [message["content"] for message in sent[0]] == ["Q1", "A1", "And on Sundays?"]


def test_a_rewrite_that_differs_only_in_spacing_is_not_shown(server: str, browser: Browser) -> None:
    """French "électrique ?" came back "électrique?", and the page said "understood as" the same question."""
    page = keyed_page(browser, "fr-FR")
    page.goto(server)
    expect(page.locator("#documents li").first).to_be_visible()
    result = {"answer": "Oui.", "abstained": False, "model": MODEL, "citations": [], "timings": {}}
    notes = """([result, asked]) => metaParts(result, asked).filter((part) => part.className === "understood")
        .map((part) => part.textContent)"""
    same = {**result, "question": "Le vélo est-il électrique?"}
    assert page.evaluate(notes, [same, "Le vélo est-il  électrique ?"]) == []
    other = {**result, "question": "Le vélo de ville est-il électrique ?"}
    assert page.evaluate(notes, [other, "Est-il électrique ?"]) == [
        "compris comme : Le vélo de ville est-il électrique ?"
    ]


def test_the_ingest_bar_never_goes_back_from_reading_to_indexing(
    server: str, browser: Browser, tmp_path: Path
) -> None:
    """Reading 1/1 filled the bar, then indexing 16/60 showed 27 %; "Uploading 100 %" was
    followed by the job's 0 %."""
    page = keyed_page(browser)
    stages = {
        "Waiting to be ingested…": ("queued", "queued", 0, 0),
        "Reading files 0/1…": ("running", "parse", 0, 1),
        "Reading files 1/1…": ("running", "parse", 1, 1),
        "Indexing passages 16/60…": ("running", "embed", 16, 60),
    }
    shown = ["Waiting to be ingested…"]  # the stage every poll gets until the test moves on

    def job(route: Route) -> None:
        status, stage, done, total = stages[shown[0]]
        job_id = route.request.url.rsplit("/", 1)[-1]
        route.fulfill(json={"id": job_id, "status": status, "stage": stage, "done": done, "total": total})

    page.route("**/api/jobs/*", job)
    upload_to_new_collection(page, server, tmp_path, "progress-bar")
    values: list[int] = []
    for text in stages:
        shown[0] = text
        expect(page.locator("#upload-text")).to_have_text(text)
        values.append(page.locator("#upload-progress").evaluate("(bar) => bar.value"))
    assert values == [10, 10, 30, 49]  # sent, read (a fifth), indexed 16/60 of the rest
