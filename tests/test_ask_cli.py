"""ask / summarize / extract end to end through the CLI with the real SmolLM2 GGUF (greedy).

SmolLM2-135M is tiny and English-only: assertions are on structure and grounding rules
(contract keys, citations that point at retrieved passages, determinism), not on prose.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from unittest.mock import ANY

import pytest
from click.testing import CliRunner

from petitrag.answer.bullets import drop_repeats, without_cut_end
from petitrag.answer.extract import _problem, merge_found, tidy_numbers
from petitrag.answer.summarize import cite_sentences, drop_headings, keep_bullets
from petitrag.answer.translate import _decode, _encode
from petitrag.cli import cli
from petitrag.demo import sample_corpus
from petitrag.index.store import ChunkView
from tests.conftest import ASK_JSON_KEYS, petitrag_env

MODEL = "smollm2-135m"


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One data directory with the sample corpus ingested, shared by this module's tests."""
    home = tmp_path_factory.mktemp("ask-home")
    with petitrag_env(home, model=MODEL):
        corpus = home / "corpus"
        shutil.copytree(sample_corpus(), corpus)
        result = CliRunner().invoke(cli, ["ingest", str(corpus)], catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        yield home


def run(*args: str, expect: int = 0):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == expect, result.stdout + result.stderr
    return result


def test_ask_json_contract_and_grounded_citations(indexed: Path) -> None:
    data = json.loads(run("ask", "How often should I turn my compost pile?", "--json").stdout)
    assert list(data) == ASK_JSON_KEYS
    assert data["model"] == MODEL and data["language"] == "en" and data["escalated"] is False
    assert isinstance(data["answer"], str) and data["answer"]
    assert isinstance(data["abstained"], bool)
    assert data["confidence"] is None or 0 < data["confidence"] <= 1
    timings = data["timings"]
    assert 0 < timings["retrieval_s"] <= timings["ttft_s"] <= timings["total_s"]
    assert timings["prompt_tokens"] > 0 and timings["completion_tokens"] > 0
    search = json.loads(run("search", "How often should I turn my compost pile?", "--json").stdout)
    retrieved = {hit["chunk_id"] for hit in search["hits"]}
    for citation in data["citations"]:
        assert set(citation) == {"source", "page", "section", "chunk_id", "text"}
        assert citation["chunk_id"] in retrieved  # cites only what it was given
    if data["abstained"]:
        assert data["citations"] == []


def test_greedy_answers_are_reproducible(indexed: Path) -> None:
    question = "When does the inverter need replacing?"
    first = json.loads(run("ask", question, "--json").stdout)
    second = json.loads(run("ask", question, "--json").stdout)
    assert first["answer"] == second["answer"] and first["citations"] == second["citations"]


def test_a_question_read_from_standard_input_is_the_same_question(indexed: Path) -> None:
    question = "When does the inverter need replacing?"
    piped = CliRunner().invoke(cli, ["ask", "-", "--json"], input=f"{question}\n", catch_exceptions=False)
    assert json.loads(piped.stdout) == {**json.loads(run("ask", question, "--json").stdout), "timings": ANY}
    searched = CliRunner().invoke(cli, ["search", "-", "--json"], input=question, catch_exceptions=False)
    assert json.loads(searched.stdout)["hits"] == json.loads(run("search", question, "--json").stdout)["hits"]
    empty = CliRunner().invoke(cli, ["ask", "-"], input="  \n", catch_exceptions=False)
    assert empty.exit_code == 1 and empty.stderr == "error: the question is empty\n"
    emoji = run("ask", "🌞🔋 ?!...", expect=1)  # SmolLM2 echoed it, and the echo passed as an answer
    assert emoji.stderr == "error: the question has no words to search for\n"


def test_a_pasted_book_is_refused_before_it_is_searched(indexed: Path) -> None:
    """60,000 words took four minutes to embed before `ask` said they could not fit; `search`
    embeds only the first words of such a query (and says so)."""
    book = "vélo batterie recharge " * 20_000
    asked = CliRunner().invoke(cli, ["ask", "-"], input=book, catch_exceptions=False)
    assert asked.exit_code == 1 and asked.stderr.startswith("error: the question is too long (")
    searched = CliRunner().invoke(cli, ["search", "-", "--json"], input=book, catch_exceptions=False)
    result = json.loads(searched.stdout)
    assert result["hits"][0]["source"].endswith("velo-electrique.md")
    assert result["warnings"] == [
        "long query (60000 words): the dense search reads its first 400 words, the lexical search all of them"
    ]


def test_french_question_is_answered_in_french_mode(indexed: Path) -> None:
    data = json.loads(run("ask", "Combien de jours de télétravail par semaine ?", "--json").stdout)
    assert data["language"] == "fr"


def test_self_check_gate_turns_an_answer_into_the_abstention(indexed: Path) -> None:
    question = "How often should I turn my compost pile?"
    free = json.loads(run("ask", question, "--json").stdout)
    kept = json.loads(run("ask", question, "--json", "--abstain-below", "0").stdout)
    gated = json.loads(run("ask", question, "--json", "--abstain-below", "1").stdout)  # P(yes) < 1 always
    assert not free["abstained"] and kept["answer"] == free["answer"]
    assert gated["abstained"] and gated["citations"] == []
    assert gated["answer"] == "The documents do not contain the answer to this question."
    streamed = run("ask", question, "--abstain-below", "1").stdout
    assert streamed.startswith("The documents do not contain the answer") and free["answer"] not in streamed


def test_a_reading_whose_abstention_is_likely_enough_is_not_generated(indexed: Path) -> None:
    question = "How often should I turn my compost pile?"
    gated = json.loads(run("ask", question, "--json", "--abstain-above", "-1000").stdout)  # every reading
    assert gated["abstained"] and gated["citations"] == []
    assert gated["timings"]["completion_tokens"] == 0 and gated["timings"]["prompt_tokens"] > 0
    off = json.loads(run("ask", question, "--json", "--abstain-above", "0", "--reread-above", "0").stdout)
    assert not off["abstained"] and off["timings"]["completion_tokens"] > 0


def test_questions_the_documents_share_nothing_with_are_abstained_on_without_the_model(indexed: Path) -> None:
    """Hybrid search: the best passage of an off-topic question is a dense match alone (score 1.0)."""
    data = json.loads(run("ask", "What is the capital of Australia?", "--json").stdout)
    assert data["abstained"] and data["citations"] == [] and data["timings"]["completion_tokens"] == 0
    assert 0 < data["timings"]["retrieval_s"] <= data["timings"]["ttft_s"] == data["timings"]["total_s"]
    assert data["answer"] == "The documents do not contain the answer to this question."
    assert {key: type(value) for key, value in data["timings"].items()} == {  # 0.0, not 0, with no call
        "retrieval_s": float, "ttft_s": float, "total_s": float, "prompt_tokens": int,
        "completion_tokens": int, "tokens_per_s": float,
    }  # fmt: skip
    shown = run("ask", "What is the capital of Australia?")  # streamed: nothing streamed, the sentence shown
    assert shown.stdout.strip() == data["answer"]
    assert f"{MODEL} not asked: search found too little" in shown.stderr
    asked = json.loads(run("ask", "What is the capital of Australia?", "--json", "--min-score", "0").stdout)
    assert asked["timings"]["completion_tokens"] > 0  # 0 turns the gate off: the model answers


def test_a_question_in_a_third_language_is_not_refused_for_sharing_no_words(indexed: Path) -> None:
    """Search ranks the compost page first for a German question, but shares none of its words:
    the gate refused it unread ("search found too little"), though the README promises such a
    question an answer in the closer of the two languages."""
    question = "Wie oft sollte man den Komposthaufen umwenden?"
    top = json.loads(run("search", question, "--json").stdout)["hits"][0]
    assert top["source"].endswith("composting.html") and top["score"] == 1.0  # a dense match alone
    data = json.loads(run("ask", question, "--json").stdout)
    assert data["timings"]["completion_tokens"] > 0 and data["language"] == "en"


def test_min_score_abstains_on_questions_search_barely_matches(indexed: Path) -> None:
    question = "How often should I turn my compost pile?"
    top = json.loads(run("search", question, "--json").stdout)["hits"][0]["score"]
    weak = json.loads(run("ask", question, "--json", "--min-score", str(top + 0.01)).stdout)
    assert list(weak) == ASK_JSON_KEYS and weak["abstained"] and weak["citations"] == []
    assert weak["timings"]["completion_tokens"] == 0  # the model was not asked
    assert not json.loads(run("ask", question, "--json", "--min-score", str(top - 0.01)).stdout)["abstained"]


def test_reread_below_one_always_reads_every_passage(indexed: Path) -> None:
    question = "When does the inverter need replacing?"  # SmolLM2 answers it from passage [1] alone
    free = json.loads(run("ask", question, "--json").stdout)
    kept = json.loads(run("ask", question, "--json", "--reread-below", "0").stdout)
    reread = json.loads(run("ask", question, "--json", "--reread-below", "1").stdout)  # P(yes) < 1 always
    assert (
        kept["answer"] == free["answer"]
        and kept["timings"]["prompt_tokens"] == free["timings"]["prompt_tokens"]
    )
    assert reread["timings"]["prompt_tokens"] > free["timings"]["prompt_tokens"]  # all passages, read after
    assert reread["timings"]["ttft_s"] == reread["timings"]["total_s"]  # shown once checked and re-read


def test_streamed_output_lists_sources(indexed: Path) -> None:
    result = run("ask", "What should not go in the compost?")
    assert result.stdout.strip()
    assert MODEL in result.stderr and "first token" in result.stderr


def test_what_the_prompt_budget_leaves_out_is_reported(indexed: Path) -> None:
    question = "What should not go in the compost?"
    with petitrag_env(indexed, model=MODEL, prompt_budget="120"):
        result = run("ask", question, "--reading", "all", "--no-stream")
    line = next(
        line for line in result.stderr.splitlines() if line.startswith("prompt (budget 120 tokens): ")
    )
    assert re.search(r"\d passages? left out \(.+\)", line)  # five passages cannot fit in 120 tokens
    with petitrag_env(indexed, model=MODEL, prompt_budget="120"):
        scripted = run("ask", question, "--reading", "all", "--json")
    assert f"note: {line}" in scripted.stderr.splitlines()  # the JSON contract has no key for it
    plain = run("ask", question, "--reading", "all", "--no-stream")
    assert "prompt (budget" not in plain.stderr  # the default budget holds them all


def test_summarize_covers_every_page(indexed: Path) -> None:
    """A document that fits one prompt is read in one call; a longer one (here: a small budget)
    by map-reduce, with progress. Either way no invented page survives."""
    data = json.loads(run("summarize", "solar-panels.pdf", "--json").stdout)
    assert data["pages"] == [1, 2, 3] and data["map_calls"] == 1 and data["reduce_calls"] == 0
    assert data["text"].strip() and data["model"] == MODEL
    cited = {int(page) for page in re.findall(r"\(p\. (\d+)\)", data["text"])}
    assert cited <= {1, 2, 3}  # whatever the model wrote, no invented page survives
    with petitrag_env(indexed, model=MODEL, prompt_budget="100"):
        result = run("summarize", "solar-panels.pdf")
    assert result.stdout.strip()
    assert re.search(r"solar-panels\.pdf \(pages 1–3\) · [2-9] map \+ 1 reduce calls", result.stderr)
    assert {int(page) for page in re.findall(r"\(p\. (\d+)\)", result.stdout)} <= {1, 2, 3}


def test_a_french_summary_of_an_english_document_is_translated_with_its_pages(indexed: Path) -> None:
    data = json.loads(run("summarize", "solar-panels.pdf", "--language", "fr", "--json").stdout)
    assert data["language"] == "fr" and data["translate_calls"] >= 1 and data["text"].strip()
    assert data["translated"] is not bool(data["warnings"])  # kept only if it came out in French
    english = json.loads(run("summarize", "solar-panels.pdf", "--json").stdout)
    lines = [line for line in english["text"].splitlines() if line.strip()]
    translated = [line for line in data["text"].splitlines() if line.strip()]
    assert len(translated) == len(lines)  # one line for one, whatever the model wrote
    for original, line in zip(lines, translated, strict=True):
        assert re.findall(r"\(p\. \d+\)", line) == re.findall(r"\(p\. \d+\)", original)


def test_a_summary_the_model_wrote_in_the_wrong_language_is_translated_or_flagged(indexed: Path) -> None:
    """Asked for English, SmolLM2 summarises the French guide in French; its translation pass
    stays French too, so the user gets the untranslated summary and a warning, not silence."""
    result = run("summarize", "velo-electrique.md", "--language", "en", "--json")
    data = json.loads(result.stdout)
    assert data["language"] == "en" and data["translate_calls"] >= 1 and data["translated"] is False
    assert data["warnings"][-1] == (
        f"the summary is in French, not English as asked, and {MODEL} could not translate it: "
        "try a larger model"
    )
    assert "warning: the summary is in French" in result.stderr
    plain = run("summarize", "velo-electrique.md", "--language", "en")
    assert "(its translation failed)" in plain.stderr


def test_translation_puts_back_the_markers_and_bullets_the_model_dropped() -> None:
    coded, codes, first = _encode(
        "- Rinse twice a year (p. 2).\n- Turn the pile (Turning and moisture).", MARKERS
    )
    assert coded == "- Rinse twice a year [1].\n- Turn the pile [2]." and first == 1
    assert codes == ["(p. 2)", "(Turning and moisture)"]
    assert _decode("- Rinse twice a year [1].", "Rincer deux fois par an [1].", codes, first) == (
        "- Rincer deux fois par an (p. 2)."
    )
    assert (
        _decode("- Turn the pile [2].", "* Retourner le tas.", codes, first)
        == "- Retourner le tas (Turning and moisture)."
    )
    # the document's own references ("Smith et al. [2]") are not markers: they stay as written
    text = "- Smith et al. [2] showed it (Results).\n- The authors of [1] measured it (p. 2)."
    coded, codes, first = _encode(text, ["(Results)", "(p. 2)"])
    assert first == 3 and coded == "- Smith et al. [2] showed it [3].\n- The authors of [1] measured it [4]."
    line = coded.splitlines()[0]
    assert _decode(line, "- Smith et al. [2] l'ont montré [3].", codes, first) == (
        "- Smith et al. [2] l'ont montré (Results)."
    )
    assert _decode(line, "- Smith et al. [2] l'ont montré [4].", codes, first) == (
        "- Smith et al. [2] l'ont montré (Results)."
    )  # another line's marker is dropped, the line's own put back
    # two sentences of one page: both keep their marker (the second was dropped as a repeat)
    two = "- Revenue rose [1]. Visits reached 1.9 million [1]."
    assert _decode(
        two, "- Le chiffre a augmenté [1]. Les visites ont atteint 1,9 million [1].", ["(p. 3)"], 1
    ) == ("- Le chiffre a augmenté (p. 3). Les visites ont atteint 1,9 million (p. 3).")
    assert (
        _decode("- Revenue rose [1].", "- Le chiffre [1] a augmenté [1].", ["(p. 3)"], 1).count("(p. 3)") == 1
    )


MARKERS = ["(p. 2)", "(Turning and moisture)", ""]


def page_chunk(page: int, text: str) -> ChunkView:
    """Page ``page`` of an English PDF, one chunk."""
    return ChunkView(page, f"c{page}", "s.pdf", None, page, None, text, 0, len(text), "en")


def test_summary_markers_are_checked_and_missing_ones_added() -> None:
    chunks = [
        page_chunk(1, "The system produces about 7,200 kWh per year in northern France."),
        page_chunk(2, "Dirty panels lose 5 to 15 percent of their output."),
    ]
    summary = (
        "The panels make about 7,200 kWh per year in northern France (p. 9). Dirty panels lose 5 to 15 "
        "percent of their output (p. 2). It is a nice house.\n- Output: 7,200 kWh per year"
    )
    assert cite_sentences(summary, chunks, "en") == (
        "The panels make about 7,200 kWh per year in northern France (p. 1). Dirty panels lose 5 to 15 "
        "percent of their output (p. 2). It is a nice house.\n- Output: 7,200 kWh per year (p. 1)"
    )
    moved = "Dirty panels lose 5 to 15 percent of their output (p. 1). The panels make 7,200 kWh (p. 2)."
    assert cite_sentences(moved, chunks, "en") == (
        "Dirty panels lose 5 to 15 percent of their output (p. 2). The panels make 7,200 kWh (p. 1)."
    )  # a marker copied onto a sentence of another page is moved to the page that supports it
    sections = [
        ChunkView(
            1, "c1", "v.md", None, None, "Guide > La batterie", "Une recharge prend 4 heures.", 0, 9, "fr"
        )
    ]
    listed = "4. La batterie :\n   - Une recharge prend environ 4 heures\n5. Bien."
    assert cite_sentences(listed, sections, "fr") == (
        "4. La batterie :\n   - Une recharge prend environ 4 heures (La batterie)\n5. Bien."
    )  # a list number is not a sentence, a heading is not a claim, "(p. N)" is never invented


def test_a_summary_in_another_language_gets_its_markers_too() -> None:
    """`summarize --language fr` of an English document: a sentence is supported by the chunk
    holding its numbers, or its words kept as written (names), since the rest is translated."""

    chunks = [
        page_chunk(
            1, "The PostgreSQL cluster was down for 47 minutes. About 3,200 customers could not log in."
        ),
        page_chunk(2, "Owner of the follow-up: Priya Raman, due 30 November."),
    ]
    summary = (
        "- 3 200 clients n'ont pas pu se connecter.\n- Priya Raman est responsable du suivi.\n"
        "- La panne a beaucoup gêné les utilisateurs.\n- La panne a duré 12 heures."
    )
    assert cite_sentences(summary, chunks, "fr") == (
        "- 3 200 clients n'ont pas pu se connecter (p. 1).\n- Priya Raman est responsable du suivi (p. 2).\n"
        "- La panne a beaucoup gêné les utilisateurs.\n- La panne a duré 12 heures."
    )  # nothing kept as written, or a number no chunk holds: no marker


def test_a_bullet_in_another_language_sharing_one_name_is_not_cited() -> None:
    """Of a French lease in Lyon, "The apartment in Lyon has a swimming pool" was cited: one
    name shared proves nothing of the rest; a number, or half of its words, does."""
    lease = [
        ChunkView(1, "c1", "b.docx", None, None, "Article 1", "Appartement situé à Lyon, 68 m².", 0, 9, "fr")
    ]
    made_up = "- The apartment in Lyon has a swimming pool."
    assert cite_sentences(made_up, lease, "en") == made_up
    assert cite_sentences("- It is so.", lease, "en") == "- It is so."  # no word of its own: no support
    assert (
        cite_sentences("- The flat in Lyon has 68 m².", lease, "en")
        == "- The flat in Lyon has 68 m² (Article 1)."
    )


def test_summary_bullets_that_only_repeat_a_heading_are_dropped() -> None:
    title, section = (
        "Guide d'entretien du vélo électrique",
        "Guide d'entretien du vélo électrique > La batterie",
    )
    chunks = [ChunkView(1, "c1", "v.md", title, None, section, "Une recharge prend 4 heures.", 0, 9, "fr")]
    summary = f"- {title} ({title})\n- La batterie\n- La batterie se recharge en 4 heures\n- Les freins"
    assert drop_headings(summary, chunks, "fr") == "- La batterie se recharge en 4 heures\n- Les freins"
    assert drop_headings("- La batterie", chunks, "fr") == "- La batterie"  # never an empty summary
    numbered = f"1. {title} ({title})\n2. La batterie se recharge en 4 heures"  # the 1 is no fact
    assert drop_headings(numbered, chunks, "fr") == "2. La batterie se recharge en 4 heures"
    # a heading's own numbers: "Article 4 — Loyer" was kept as a fact, crowding out facts
    lease = [
        ChunkView(1, "c1", "b.docx", "Bail", None, "Bail > Article 4 — Loyer", "Loyer : 850 €.", 0, 9, "fr")
    ]
    summary = "- Article 4 — Loyer\n- Le loyer est de 850 €.\n- Article 5 — Loyer révisé"
    assert drop_headings(summary, lease, "fr") == "- Le loyer est de 850 €.\n- Article 5 — Loyer révisé"


def test_a_summary_keeps_at_most_the_bullets_asked_for() -> None:
    """Asked for 3 to 5 bullets the model writes about 8: what the document does not say goes
    first, then repeats; a bullet keeps its sub-bullets, and the rest keeps its order."""
    chunks = [
        page_chunk(1, "The system produces about 7,200 kWh per year. Replace the inverter after 12 years."),
        page_chunk(
            2, "Dirty panels lose 5 to 15 percent of their output. Clean them twice a year with soft water."
        ),
        page_chunk(3, "The warranty covers the panels for 25 years and the installation for 10 years."),
    ]
    bullets = [
        "- The system produces about 7,200 kWh per year (p. 1).",
        "- Each year the system produces about 7,200 kWh.",  # a repeat
        "- Replace the inverter after 12 years.",
        "- Dirty panels lose 5 to 15 percent of their output.",
        "- The panels are made of gold and glow at night.",  # not in the document
        "- Clean the panels twice a year:\n  - with soft water.",
        "- The warranty covers the panels for 25 years.",
    ]
    summary = "Summary:\n" + "\n".join(bullets)
    kept = keep_bullets(summary, 5, chunks, "en")
    assert kept == "Summary:\n" + "\n".join(bullets[:1] + bullets[2:4] + bullets[5:])
    assert keep_bullets(summary, 7, chunks, "en") == summary  # no more than asked: untouched
    assert keep_bullets("One sentence, no bullets.", 1, chunks, "en") == "One sentence, no bullets."
    numbered = "\n".join(f"{n}. {bullet[2:]}" for n, bullet in enumerate(bullets, start=1))
    assert keep_bullets(numbered, 5, chunks, "en").splitlines()[2:4] == [
        "3. Dirty panels lose 5 to 15 percent of their output.",  # was 4.: a numbered list stays 1, 2, 3…
        "4. Clean the panels twice a year:",
    ]
    # the same bullets numbered keep the same ones (their "1.", "2." were judged as facts, in no page)
    as_dashes = re.sub(r"(?m)^\d+\. ", "- ", keep_bullets(numbered, 5, chunks, "en"))
    assert as_dashes == "\n".join(kept.splitlines()[1:])
    assert keep_bullets("1. A\n2. B\n4. C", 5, chunks, "en") == "1. A\n2. B\n3. C"  # a repeat went before
    assert keep_bullets("2. A\n3. B", 5, chunks, "en") == "1. A\n2. B"  # the first went: still from 1
    # a heading whose bullets all went goes with them (a bare "**Plans**" ended the summary)
    sections = (
        "**Output**\n" + "\n".join(bullets[:5]) + "\n**Plans**\n" + "\n".join(bullets[5:]) + "\n- Gold."
    )
    assert keep_bullets(sections, 3, chunks, "en").splitlines()[0] == "**Output**"
    assert "**Plans**" not in keep_bullets(sections, 3, chunks, "en")
    prose = "Overall, the panels lose output when dirty and the warranty lasts 25 years."
    assert prose in keep_bullets(sections.replace("**Plans**", prose), 3, chunks, "en")  # a sentence: kept
    dashed = "\n".join(f"– {bullet[2:]}" for bullet in bullets)  # French typography: also capped
    assert len(keep_bullets(dashed, 5, chunks, "en").split("\n– ")) == 5
    assert keep_bullets("1. A\n2. B\nThen:\n1. C", 5, chunks, "en") == "1. A\n2. B\nThen:\n1. C"  # two lists


def test_a_summary_says_each_line_once() -> None:
    """SmolLM2 loops: the same sentence five times over is said once."""
    looped = "\n".join(
        ["Intro.", "", "La révision est annuelle.", "", "La révision est annuelle (p. 2).", "",
         "- la révision est  annuelle", "Fin."]
    )  # fmt: skip
    assert drop_repeats(looped) == "Intro.\n\nLa révision est annuelle.\nFin."
    assert drop_repeats("- A\n\n- B") == "- A\n\n- B"  # blank lines between different lines stay
    cut = "10. Il dirige Vent d'Ouest (p. 2).\n11. Il est un moment rédacteur en"  # max_tokens reached
    assert without_cut_end(cut) == "10. Il dirige Vent d'Ouest (p. 2)."
    assert without_cut_end("Il écrit. Il enseigne à Fougè") == "Il écrit."
    assert without_cut_end("rien de fini") == "rien de fini"  # nothing to keep instead
    # a page marker or a number the limit cut is no sentence end: "(p." and the "12." of 12,400
    assert (
        without_cut_end("- Rent is 900 euros (p. 1).\n- Deposit is 1,700 euros (p.")
        == "- Rent is 900 euros (p. 1)."
    )
    assert without_cut_end("The roof faces south (p. 2). The price is 12.") == "The roof faces south (p. 2)."
    assert without_cut_end("Above 1,000 meters (p") == "Above 1,000 meters"
    assert (
        without_cut_end("It uses e.g. panels. It lasts 25 years.")
        == "It uses e.g. panels. It lasts 25 years."
    )
    assert without_cut_end("Are pets allowed? No. Cats must be kept in") == "Are pets allowed? No."
    assert without_cut_end("- Bring pens, paper, etc. The meeting starts at") == "- Bring pens, paper, etc."


def test_extract_returns_json_valid_against_the_schema(indexed: Path, tmp_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {"title": {"type": "string"}, "warranty_years": {"type": "integer"}},
        "required": ["title", "warranty_years"],
        "additionalProperties": False,
    }
    schema_path = tmp_path / "schema.json"
    schema_path.write_text(json.dumps(schema))
    data = json.loads(run("extract", "solar-panels.pdf", "--schema", str(schema_path)).stdout)
    assert set(data) == {"title", "warranty_years"}
    assert isinstance(data["title"], str) and isinstance(data["warranty_years"], int)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "question?", "-c", "nothing-here"], "collection 'nothing-here' does not exist"),
        (["ask", "question?", "-m", "no-such-model"], "no-such-model"),
        (
            ["ask", "How often should I turn my compost pile?", "--model-base-url", "http://127.0.0.1:9/v1"],
            "cannot reach",
        ),
        (["summarize", "missing.pdf"], "no document matching 'missing.pdf'"),
        (["summarize", "solar-panels.pdf", "-c", "nothing-here"], "collection 'nothing-here' does not exist"),
        (["extract", "solar-panels.pdf", "--schema", "/nonexistent/schema.json"], "does not exist"),
    ],
)
def test_bad_inputs_give_one_clear_line(indexed: Path, args: list[str], message: str) -> None:
    result = run(*args, expect=1)
    assert message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_empty_collection_and_corrupt_model(indexed: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "blank.txt").write_text("   \n")
    run("ingest", str(empty), "-c", "hollow", expect=3)  # the only file fails: collection stays empty
    assert "is empty" in run("ask", "anything?", "-c", "hollow", expect=1).stderr
    searched = run("search", "anything", "-c", "hollow")  # no hits is a result, but say why
    assert "No matching passage." in searched.stdout
    assert "collection 'hollow' holds no documents" in searched.stderr
    corrupt = tmp_path / "broken.gguf"
    corrupt.write_bytes(b"GGUF" + os.urandom(4096))
    result = run("ask", "How often should I turn my compost pile?", "-m", str(corrupt), expect=1)
    assert "broken.gguf" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_chat_answers_follow_up_questions(indexed: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["chat"],
        input="How often should I turn my compost pile?\nAnd in wet weather?\n\n",
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("first token") == 2  # two answers, then the empty line ends the chat
    quit_typed = CliRunner().invoke(cli, ["chat"], input="/quit\nHow often should I turn my compost pile?\n")
    assert quit_typed.exit_code == 0 and "first token" not in quit_typed.stderr  # not asked as a question
    # piped questions go on past a blank line (the rest was dropped); commands are not questions
    piped = "/help\nHow often should I turn my compost pile?\n\n/new\n/frobnicate\nAnd in wet weather?\n"
    result = CliRunner().invoke(cli, ["chat"], input=piped, catch_exceptions=False)
    assert result.exit_code == 1 and result.stderr.count("first token") == 2, result.stderr  # /frobnicate
    assert "/new     forget the conversation" in result.stderr and "(conversation forgotten)" in result.stderr
    assert "unknown command /frobnicate" in result.stderr and "understood as" not in result.stderr
    # a command is the line's first word ("/new please" was a follow-up, "/foo bar" a question)
    piped = "How often should I turn my compost pile?\n/new And in wet weather?\n/frobnicate the pile\n"
    result = CliRunner().invoke(cli, ["chat"], input=piped, catch_exceptions=False)
    assert result.exit_code == 1 and result.stderr.count("first token") == 2, result.stderr  # its error line
    assert "(conversation forgotten)" in result.stderr and "understood as" not in result.stderr
    assert "unknown command /frobnicate" in result.stderr


def test_a_question_chat_cannot_use_does_not_end_the_chat(indexed: Path) -> None:
    """A pasted question longer than the context used to end the conversation with its error."""
    too_long = "When should the inverter be replaced? " * 500
    result = CliRunner().invoke(
        cli, ["chat"], input=f"{too_long}\nHow often should I turn my compost pile?\n", catch_exceptions=False
    )
    assert result.exit_code == 1, result.stderr  # piped: a failed question fails the run, as with `ask`
    assert "error: the question is too long" in result.stderr
    assert result.stderr.count("first token") == 1  # the next question is answered
    # as a follow-up, it overflowed the rewrite prompt instead: an error that ended the chat
    questions = f"How often should I turn my compost pile?\n{too_long}\nAnd in wet weather?\n"
    result = CliRunner().invoke(cli, ["chat"], input=questions, catch_exceptions=False)
    assert result.exit_code == 1, result.stderr
    assert "error: the question is too long" in result.stderr and result.stderr.count("first token") == 2


def test_a_model_error_or_ctrl_c_mid_chat_ends_only_that_answer(indexed: Path, monkeypatch) -> None:
    """A model server down for one turn, or Ctrl-C during an answer, used to end the whole chat."""
    from petitrag.answer import conversation

    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        down = f"served@http://127.0.0.1:{unused.getsockname()[1]}/v1"
        result = CliRunner().invoke(cli, ["chat", "-m", down], input="Compost?\nAnd wet weather?\n")
    assert result.exit_code == 1, result.stderr  # piped: a script reading the status learns it
    assert result.stderr.count("error: cannot reach") == 2  # each turn said so, the chat went on

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(conversation.Conversation, "answer", interrupted)
    result = CliRunner().invoke(cli, ["chat"], input="How often should I turn my compost pile?\nAgain?\n")
    assert result.exit_code == 0 and result.stderr.count("(answer interrupted)") == 2
    # Ctrl-C at the prompt quits as interrupted (it exited 0, like Ctrl-D: click made them one Abort)
    monkeypatch.setattr("builtins.input", interrupted)
    result = CliRunner().invoke(cli, ["chat"])
    assert result.exit_code == 130 and result.stderr.rstrip().endswith("interrupted"), result.stderr
    empty = CliRunner().invoke(cli, ["chat", "-c", "hollow-chat"], input="Anything?\n")
    assert empty.exit_code == 1 and "does not exist" in empty.stderr and "?" not in empty.stdout


def test_extract_reads_a_long_document_whole(indexed: Path, tmp_path: Path) -> None:
    """With a small prompt budget the document takes several prompts: all are read and merged."""
    schema = {
        "type": "object",
        "properties": {"topics": {"type": "array", "items": {"type": "string"}, "maxItems": 3}},
        "required": ["topics"],
    }
    schema_path = tmp_path / "schema.json"
    schema_path.write_text(json.dumps(schema))
    with petitrag_env(indexed, model=MODEL, prompt_budget="64", max_tokens="48"):
        result = run("extract", "solar-panels.pdf", "--schema", str(schema_path))
    data = json.loads(result.stdout)
    assert set(data) == {"topics"} and all(isinstance(topic, str) for topic in data["topics"])
    assert re.search(r"read in [2-9]\d* parts, merged", result.stderr), result.stderr


def test_extract_says_when_the_json_is_cut_by_max_tokens(indexed: Path, tmp_path: Path) -> None:
    """It retried twice "to correct" JSON that was only cut, then blamed the JSON."""
    schema = {
        "type": "object",
        "properties": {"summary": {"type": "string", "minLength": 400}},
        "required": ["summary"],
    }
    schema_path = tmp_path / "long.json"
    schema_path.write_text(json.dumps(schema))
    with petitrag_env(indexed, model=MODEL, max_tokens="16"):
        result = run("extract", "solar-panels.pdf", "--schema", str(schema_path), expect=1)
    assert "the JSON was cut at 32 tokens (twice max_tokens): raise max_tokens" in result.stderr


def test_a_schema_ref_that_names_nothing_is_refused_before_the_model_runs(tmp_path: Path) -> None:
    """With a model server it was found only after the answer, as a traceback."""
    from petitrag.answer.extract import load_schema
    from petitrag.errors import ConfigError

    for ref in ("#/$defs/missing", "other.json"):
        path = tmp_path / "schema.json"
        path.write_text(json.dumps({"type": "object", "properties": {"a": {"$ref": ref}}, "$defs": {}}))
        with pytest.raises(ConfigError, match=f"\\$ref '{re.escape(ref)}' names nothing in the file"):
            load_schema(path)
    path.write_text(json.dumps({"properties": {"a": {"$ref": "#/$defs/x~1y"}}, "$defs": {"x/y": {}}}))
    assert load_schema(path)["$defs"] == {"x/y": {}}
    # required but not a property: the grammar writes only properties, three calls then failed
    path.write_text(json.dumps({"type": "object", "properties": {"rent": {"type": "number"}},
                                "required": ["rent", "deposit"]}))  # fmt: skip
    with pytest.raises(ConfigError, match="'deposit' required but not in \"properties\""):
        load_schema(path)
    either = {"type": "object", "properties": {"siret": {"type": "string"}, "vat": {"type": "string"}},
              "oneOf": [{"required": ["siret"]}, {"required": ["vat"]}]}  # fmt: skip
    path.write_text(json.dumps(either))  # the variants name the parent's properties: fine
    assert load_schema(path) == either


def test_extracted_numbers_lose_the_grammar_s_spurious_digits() -> None:
    raw = json.loads(
        '{"kwh": 7200.0000000000004999e+0, "share": [0.30000000000000004, 2.5], "ok": true, "n": 3}'
    )
    assert tidy_numbers(raw) == {"kwh": 7200, "share": [0.3, 2.5], "ok": True, "n": 3}
    assert isinstance(tidy_numbers(raw)["kwh"], int) and tidy_numbers(raw)["ok"] is True


def test_extracted_values_merge_by_what_each_part_states() -> None:
    found = [
        (
            {"name": "Acme", "year": 2019, "tags": ["a"], "city": "Paris", "ceo": "Bob"},
            "Acme SA, since 2019.",
        ),
        (
            {"name": "Globex", "year": 2021, "tags": ["a", "b"], "city": "Lyon", "ceo": "Eve"},
            "Based in Lyon.",
        ),
        ({"name": None, "year": 2021, "tags": [], "note": "x"}, "Founded in 2021."),
    ]
    assert merge_found(found) == {
        "name": "Acme",  # stated in its part, and first
        "year": 2019,  # so is 2019 (a whole number: the "2019" of "20190" would not count)
        "tags": ["a", "b"],  # lists joined without repeats
        "city": "Lyon",  # "Paris" is not in part 1's text: the model filled it in
        "ceo": "Bob",  # stated nowhere: the first given
        "note": "x",
    }
    assert merge_found([({"n": 4.5}, "about 4,5 hours"), ({"n": 3}, "3 hours")]) == {"n": 4.5}
    assert merge_found([({"n": 4}, "in 2024"), ({"n": 3}, "3 hours")]) == {"n": 3}
    limited = {"properties": {"tags": {"type": "array", "maxItems": 2}, "any": True}}
    merged = merge_found([({"tags": ["a", "b"], "any": [1]}, ""), ({"tags": ["c"], "any": [2]}, "")], limited)
    assert merged == {"tags": ["a", "b"], "any": [1, 2]}
    # a part answering null for a nullable list or object does not stop the others' from merging
    people = [
        ({"people": [{"name": "Olsen"}]}, ""),
        ({"people": None}, ""),
        ({"people": [{"name": "Reyes"}]}, ""),
    ]
    assert merge_found(people) == {"people": [{"name": "Olsen"}, {"name": "Reyes"}]}
    lease = [({"lease": {"rent": 900}}, ""), ({"lease": None}, ""), ({"lease": {"deposit": 1800}}, "")]
    assert merge_found(lease) == {"lease": {"rent": 900, "deposit": 1800}}
    assert merge_found([({"lease": None}, ""), ({"lease": None}, "")]) == {"lease": None}
    tenants = [
        ({"t": ["Claire Fontaine"]}, ""),
        ({"t": ["Claire  Fontaine", "claire fontaine", "Marc Roy"]}, ""),
    ]
    assert merge_found(tenants) == {"t": ["Claire Fontaine", "Marc Roy"]}  # one tenant, as people read it
    # what Pydantic writes: maxItems behind $ref and anyOf (the merge broke the schema: part 1 kept)
    pydantic = {
        "properties": {
            "invoice": {"$ref": "#/$defs/Invoice"},
            "tags": {
                "anyOf": [{"type": "array", "items": {"type": "string"}, "maxItems": 2}, {"type": "null"}]
            },
        },
        "$defs": {"Invoice": {"properties": {"lines": {"type": "array", "maxItems": 3}}}},
    }
    parts = [({"invoice": {"lines": [n]}, "tags": [n]}, "") for n in ("Widget", "Gadget", "Gizmo", "Gear")]
    assert merge_found(parts, pydantic) == {
        "invoice": {"lines": ["Widget", "Gadget", "Gizmo"]},
        "tags": ["Widget", "Gadget"],
    }
    # the part that states a value wins: a negative number, an English amount, a yes/no, a short word
    parts = [
        ({"min_c": 20, "due": 100, "warranty_included": False, "pets": "no"}, "Meeting notes of the board."),
        ({"min_c": -5, "due": 7200.5, "warranty_included": True, "pets": "yes"},
         "Minimum: -5 °C. Amount due: 7,200.50 USD. The warranty is included. Pets allowed: yes."),
    ]  # fmt: skip
    assert merge_found(parts) == {"min_c": -5, "due": 7200.5, "warranty_included": True, "pets": "yes"}
    # a French document read with English keys: the property's description names the thing
    described = {"properties": {"pets_allowed": {"type": "boolean", "description": "Animaux acceptés ?"}}}
    parts = [({"pets_allowed": False}, "Le loyer est de 900 euros."),
             ({"pets_allowed": True}, "Les animaux de compagnie sont acceptés.")]  # fmt: skip
    assert merge_found(parts, described) == {"pets_allowed": True}
    assert merge_found(parts) == {"pets_allowed": False}  # no description: nothing names pets
    vague = {"properties": {"pets_allowed": {"type": "boolean", "description": "Whether they are there"}}}
    assert merge_found(parts, vague) == {"pets_allowed": False}  # function words name nothing
    # the part stating the value beside the key's words wins: a figure or date elsewhere in a
    # part is no source (the works fund was taken for the budget, the meeting's date for the AGM's)
    parts = [
        ({"date_assemblee_generale": "2024-03-14", "budget_previsionnel_2025_eur": 41200},
         "Réunion du jeudi 14 mars 2024. Le fonds de travaux s'élève à 41 200 €."),
        ({"date_assemblee_generale": "2024-06-11", "budget_previsionnel_2025_eur": 98500},
         "L'assemblée générale se tiendra le mardi 11 juin 2024.\nBudget prévisionnel 2025 : 98 500 €."),
    ]  # fmt: skip
    assert merge_found(parts) == {
        "date_assemblee_generale": "2024-06-11",
        "budget_previsionnel_2025_eur": 98500,
    }


def test_extraction_reads_titles_and_headings() -> None:
    """Its windows held the chunks' texts only: a lease's type given only in its title ("Bail
    d'un logement vide") was never read, and the model answered from the body."""
    from types import SimpleNamespace

    from petitrag.answer.extract import _with_headings

    def chunk(section: str | None, text: str) -> SimpleNamespace:
        return SimpleNamespace(title="Bail d'un logement vide", section=section, text=text)

    rent = "Article 4 — Loyer"
    texts = _with_headings(
        [
            chunk(None, "Le présent contrat…"),
            chunk(rent, "Le loyer est de 850 €."),
            chunk(rent, "Charges : 120 €."),
        ]
    )
    assert texts == [
        "Bail d'un logement vide\nLe présent contrat…",
        "Article 4 — Loyer\nLe loyer est de 850 €.",
        "Charges : 120 €.",
    ]


def test_extraction_checks_formats_and_takes_raw_newlines_in_strings() -> None:
    """ "format": "date" was not checked (any string passed); a raw newline inside a string,
    which the grammar allows, failed every attempt as invalid JSON."""
    schema = {"type": "object", "properties": {"day": {"type": "string", "format": "date"},
              "mail": {"type": "string", "format": "email"}}}  # fmt: skip
    assert _problem('{"day": "14 mars", "mail": "a@b.fr"}', schema) == "at day: '14 mars' is not a 'date'"
    assert _problem('{"day": "2026-03-14", "mail": "nobody"}', schema) == "at mail: 'nobody' is not a 'email'"
    assert _problem('{"day": "2026-03-14", "mail": "a@b.fr"}', schema) is None
    assert _problem('{"note": "two\nlines"}', {"type": "object"}) is None
    assert _problem('{"note":', {}) == "not valid JSON (character 8: Expecting value)"


def test_demo_answers_from_the_bundled_corpus_alone(indexed: Path, tmp_path: Path) -> None:
    """Each checkout's demo added the five sample files again under its own path: answers
    cited the copy of whichever clone came first, a deleted one included."""
    other_checkout = tmp_path / "old-clone" / "sample"
    shutil.copytree(sample_corpus(), other_checkout)
    own = tmp_path / "mine.txt"
    own.write_text("My own note about the compost bin, kept in the demo collection.\n")
    run("ingest", str(other_checkout), str(own), "-c", "demo-copies")
    result = run("demo", "-c", "demo-copies")
    assert result.stdout.count(f"Answer ({MODEL})") == 2
    assert result.stdout.count("removed  ") == 5 and "old-clone" in result.stdout
    listed = run("documents", "-c", "demo-copies").stdout
    assert "old-clone" not in listed and "mine.txt" in listed and len(listed.strip().splitlines()) == 6
