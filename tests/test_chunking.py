from pathlib import Path

import pytest

from petitrag.chunking import Chunker
from petitrag.documents import parse_bytes
from petitrag.documents.base import Block, ParsedDocument, assemble


def words(text: str) -> int:
    """A transparent token counter for tests: one token per word."""
    return len(text.split())


def doc(*blocks: Block) -> ParsedDocument:
    return assemble(list(blocks), "test")


def test_headings_start_chunks_and_give_section_paths() -> None:
    parsed = doc(
        Block("heading", "Guide", level=1),
        Block("paragraph", "Intro text here."),
        Block("heading", "Battery", level=2),
        Block("paragraph", "Charge it for four hours."),
        Block("heading", "Tyres", level=2),
        Block("paragraph", "Inflate to four bars."),
    )
    chunks = Chunker(words, budget=50, overlap=5).chunk(parsed)
    assert [c.section for c in chunks] == ["Guide", "Guide > Battery", "Guide > Tyres"]
    assert [c.text for c in chunks] == [
        "Intro text here.",
        "Charge it for four hours.",
        "Inflate to four bars.",
    ]


def test_small_blocks_are_packed_and_offsets_are_exact() -> None:
    parsed = doc(*(Block("paragraph", f"Paragraph number {i} has six words.") for i in range(10)))
    chunks = Chunker(words, budget=20, overlap=4).chunk(parsed)
    assert len(chunks) == 4  # 3 + 3 + 3 + 1 paragraphs of 6 words
    for chunk in chunks:
        assert parsed.text[chunk.start : chunk.end] == chunk.text
        assert chunk.tokens <= 20


def test_long_paragraph_splits_at_sentences_with_overlap_never_mid_word() -> None:
    sentences = [f"Sentence {i} talks about topic {i} at length." for i in range(30)]
    parsed = doc(Block("paragraph", " ".join(sentences)))
    chunks = Chunker(words, budget=40, overlap=10).chunk(parsed)
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.tokens <= 40
        assert chunk.text == parsed.text[chunk.start : chunk.end]
        assert chunk.text.startswith("Sentence") and chunk.text.endswith("length.")
    # consecutive chunks share the overlapping sentence
    assert chunks[1].start < chunks[0].end


def test_runaway_sentence_is_cut_at_spaces() -> None:
    parsed = doc(Block("paragraph", " ".join(f"word{i}" for i in range(500))))
    chunks = Chunker(words, budget=64, overlap=0).chunk(parsed)
    assert all(c.tokens <= 64 for c in chunks)
    rebuilt = " ".join(" ".join(c.text.split()) for c in chunks)
    assert rebuilt.split() == [f"word{i}" for i in range(500)]


def test_tables_and_lists_stay_whole_when_they_fit() -> None:
    table = "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |"
    items = "- one\n- two\n- three"
    parsed = doc(Block("table", table), Block("list", items))
    chunks = Chunker(words, budget=100, overlap=5).chunk(parsed)
    assert len(chunks) == 1 and table in chunks[0].text and items in chunks[0].text


def test_oversized_table_repeats_its_header() -> None:
    rows = "\n".join(f"| row {i} | value {i} |" for i in range(40))
    table = f"| name | value |\n|---|---|\n{rows}"
    chunks = Chunker(words, budget=60, overlap=0).chunk(doc(Block("table", table)))
    assert len(chunks) > 1
    assert all(c.text.startswith("| name | value |") for c in chunks)


def test_page_break_starts_a_new_chunk() -> None:
    parsed = doc(Block("paragraph", "On page one.", page=1), Block("paragraph", "On page two.", page=2))
    chunks = Chunker(words, budget=100, overlap=5).chunk(parsed)
    assert [(c.text, c.page) for c in chunks] == [("On page one.", 1), ("On page two.", 2)]
    # a sentence the break cuts is finished in the page's last chunk: each half was alone
    cut = doc(
        Block("paragraph", "Press and hold the FILTER button for 5 seconds until the", page=2),
        Block("paragraph", "indicator light blinks twice and turns green. Then close the lid.", page=3),
    )
    chunks = Chunker(words, budget=100, overlap=5).chunk(cut)
    whole = "Press and hold the FILTER button for 5 seconds until the indicator light blinks twice and turns green."  # noqa: E501
    assert [(c.text.replace("\n\n", " "), c.page) for c in chunks] == [
        (whole, 2),
        ("indicator light blinks twice and turns green. Then close the lid.", 3),
    ]
    assert all(cut.text[c.start : c.end] == c.text for c in chunks)


@pytest.mark.parametrize(
    ("page_end", "next_page", "goes_on"),
    [
        ("Certificate for Alice Martin. Signed by Jeanne Roux", "Certificate for Bruno Petit.", False),
        ("Certificate for Alice Martin. Signed by", "Jeanne Roux. Certificate for Bruno Petit.", True),
        ("The audit found no discrepancies in the", "ledger entries of 2023. All was in order.", True),
        ("Stock counted on 3 May", "42 units were missing. Nobody knew why.", True),
        ("Le contrat est signé par Jeanne Roux et", "Marc Dubois. Il prend effet en mai.", True),
        ("Deliveries arrive on Monday,", "Wednesday and Friday. Nothing comes on Sunday.", True),
        ("Figures are detailed in Annex A", "Budget lines were cut by half.", False),
        ("Summary of the findings", "2. Scope of the audit is the ledger.", False),
    ],
)
def test_only_the_sentence_a_page_break_cuts_is_finished_on_the_page(
    page_end: str, next_page: str, goes_on: bool
) -> None:
    """A page ending without a stop pulled the next page's first sentence in: "Signed by Jeanne
    Roux" + "Certificate for Bruno Petit." cited Bruno's certificate as page 1. Only text that
    goes on with the sentence is: a next page in lower case or a number, a page ending in a
    comma or a word no sentence ends with."""
    parsed = doc(Block("paragraph", page_end, page=1), Block("paragraph", next_page, page=2))
    chunks = Chunker(words, budget=100, overlap=5).chunk(parsed)
    pulled = next_page.split(". ")[0] + "."
    assert [(c.text, c.page) for c in chunks] == [
        (f"{page_end}\n\n{pulled}" if goes_on else page_end, 1),
        (next_page, 2),
    ]


def test_huge_line_without_sentence_end_is_cut_fast_and_exactly() -> None:
    """5 MB on one line used to recount the whole remainder at every cut (quadratic) and
    recurse once per piece (RecursionError)."""
    calls: list[int] = []

    def counting(text: str) -> int:
        calls.append(len(text))
        return words(text)

    parsed = doc(Block("paragraph", "mot " * 1_250_000))
    chunks = Chunker(counting, budget=200, overlap=32).chunk(parsed)
    assert len(chunks) > 5000
    assert all(c.tokens <= 200 and parsed.text[c.start : c.end] == c.text for c in chunks)
    assert sum(calls) < 10 * len(parsed.text)  # linear work, not quadratic


def quarter(text: str) -> int:
    """The default embedder estimate: four characters per token."""
    return max(1, len(text) // 4)


def test_run_without_spaces_is_cut_to_the_budget() -> None:
    """A long blob (base64, URL) used to recurse forever when its sentence's space followed
    it, and a file-sized one became a single multi-megabyte chunk."""
    for text in (f"See {'A' * 5000}. Then the next sentence here.", "B" * 400_000):
        parsed = doc(Block("paragraph", text))
        chunks = Chunker(quarter, budget=200, overlap=32).chunk(parsed)
        assert all(c.tokens <= 200 and parsed.text[c.start : c.end] == c.text for c in chunks)
        rebuilt = "".join(c.text for c in Chunker(quarter, budget=200, overlap=0).chunk(parsed))
        assert rebuilt.replace(" ", "") == text.replace(" ", "")


def test_markdown_headings_label_sections_and_title_without_their_markup() -> None:
    source = "# **Guide** du `vélo`\n\n## Le [loyer](x.md) et *charges*\n\nTexte.\n\n## Plain\n\nMore.\n"
    parsed = parse_bytes(source.encode(), Path("guide.md"))
    assert parsed.title == "Guide du vélo"
    chunks = Chunker(words, budget=50, overlap=5).chunk(parsed)
    assert [chunk.section for chunk in chunks] == [
        "Guide du vélo > Le loyer et charges",
        "Guide du vélo > Plain",
    ]
    assert all(chunk.text == parsed.text[chunk.start : chunk.end] for chunk in chunks)  # offsets untouched


def test_a_document_of_headings_only_is_chunked_as_text() -> None:
    """An outline gave no chunk at all: "added" to the index, yet never found."""
    parsed = parse_bytes(b"# Plan du rapport\n\n## Budget 2025\n\n### Annexes\n", Path("plan.md"))
    chunks = Chunker(words, budget=50, overlap=5).chunk(parsed)
    assert [c.text for c in chunks] == ["Plan du rapport\n\n## Budget 2025\n\n### Annexes"]
    assert all(c.text == parsed.text[c.start : c.end] for c in chunks)


def test_a_heading_no_text_follows_is_a_chunk_of_its_own() -> None:
    """ "## Helpdesk: extension 4242" followed by another heading, or a last line styled as a
    heading, was only a section name that the next heading replaced: never indexed."""
    source = (
        "# Contacts\n\n## Helpdesk: extension 4242\n\n## Security desk: extension 7777\n\n"
        "Both desks answer around the clock.\n\n## Claims are due on the 5th of each month\n"
    )
    parsed = parse_bytes(source.encode(), Path("contacts.md"))
    chunks = Chunker(words, budget=50, overlap=5).chunk(parsed)
    assert [(c.text, c.section) for c in chunks] == [
        ("Helpdesk: extension 4242", "Contacts > Helpdesk: extension 4242"),
        ("Both desks answer around the clock.", "Contacts > Security desk: extension 7777"),
        ("Claims are due on the 5th of each month", "Contacts > Claims are due on the 5th of each month"),
    ]
    assert all(c.text == parsed.text[c.start : c.end] for c in chunks)
