"""PDF running headers and footers: the lines that repeat at the top or bottom of the pages
(a document's name, "Page 3 of 12"), found by comparing pages, so that they are not glued to
each page's first and last paragraphs.
"""

from __future__ import annotations

import re
from collections import Counter

from petitrag.documents.base import PART_WORDS

_RUNNING_EDGE = 2  # lines at each end of a page where running headers and footers are looked for
_DIGITS = re.compile(r"\d+")
_PAGE_OFFSET = 10  # a printed page number may differ from the page's position by this much at least
#: up to this length, lines that differ only by numbers are one running line; a longer line is
#: compared numbers aside only as a page's very first or last line
_NUMBERED_LINE = 40
LAST_WORD = re.compile(r"[^\W\d_]+$")


def without_running_lines(texts: list[str]) -> list[str]:
    """The pages without their running header and footer: a line among the first or last two
    of a page that the same place holds on at least half the pages (three at least), page
    numbers aside ("ACME · Internal handbook", "Page 3 of 12"). Kept, they were glued to each page's
    first and last paragraphs and found by every search for their words. Two pages are few to
    compare: there, see ``_two_pages_running``.

    A page-number line goes from every page; any other running line is kept where it first
    appears: a table's header row repeated on each page ("Product | Unit price | Colour") or
    a document's name holds meaning, and once it costs nothing. And such a line goes only from
    the page's very edge, apart from the page's own text (``_edge_band``)."""
    pages = [text.split("\n") for text in texts]
    edges = [_edge_keys(lines) for lines in pages]
    running = _running_keys(pages, edges)
    if not running:
        return texts
    kept = _drop(pages, edges, running)
    # a page made only of such lines is a page of its own text (one line per page, numbered)
    return [new if new.strip() or not old.strip() else old for new, old in zip(kept, texts, strict=True)]


def only_repeated_line(texts: list[str]) -> str | None:
    """The one line every page holds and nothing else, on two pages or more: a scan whose only
    text is the scanner app's watermark ("Scanned with CamScanner") was indexed as that line,
    three times, and said nothing of the missing text layer."""
    lines = {" ".join(text.split()) for text in texts}
    if len(texts) < 2 or len(lines) != 1 or any("\n" in text.strip() for text in texts):
        return None
    line = lines.pop()
    return line or None


def _enough(pages: int) -> int:
    """On how many pages a line must stand to be a running line."""
    return max(3, (pages + 1) // 2) if pages != 2 else 2


def _running_keys(pages: list[list[str]], edges: list[dict[int, str]]) -> dict[str, bool]:
    """The keys (``_running_key``) of the running lines, each with whether it is a page number."""
    seen: dict[str, dict[int, str]] = {}  # key -> page index -> the line there
    places: dict[str, dict[int, frozenset[int]]] = {}  # key -> page index -> its places there
    for number, (lines, page) in enumerate(zip(pages, edges, strict=True)):
        slots = _places(lines)
        for index, key in page.items():
            seen.setdefault(key, {}).setdefault(number, _in_digits(lines[index]))
            places.setdefault(key, {}).setdefault(number, slots[index])
    enough = _enough(len(pages))
    running: dict[str, bool] = {}  # key -> whether it is a page number (dropped everywhere)
    for key, lines in seen.items():
        if not key or len(lines) < 2:
            continue
        kind = _running_kind(key, lines, len(pages))
        if kind == "page" and _same_place(places[key]):
            # a page number needs no half of the pages: front matter is a few pages ("i", "ii",
            # "iii" before page 1 of 9), a cover page leaves two of three numbered, a chapter's
            # header holds its number ("Chapter 4: Function reference 13"); held to half the
            # document, their numbers stayed glued to their pages' text ("…batch 22. ii")
            running[key] = True
        elif (
            kind
            and len(lines) >= enough
            and (len(pages) != 2 or _two_pages_running(kind, lines, places[key]))
        ):
            running[key] = kind == "page"
    numbered = [set(lines) for key, lines in seen.items() if running.get(key)]
    for key, lines in seen.items():
        if key not in running and _beside_page_numbers(key, lines, places[key], numbered, len(pages)):
            running[key] = False
    return running


def _beside_page_numbers(
    key: str, lines: dict[int, str], places: dict[int, frozenset[int]], numbered: list[set[int]], pages: int
) -> bool:
    """Whether a line on too few pages to be a running line by count is one still: written the same
    at the same place on consecutive pages that all bear one page number line (``numbered``: the
    pages of each). After a cover page, the header "Northwind Logistics - Pilot Report 2024" of
    the two pages after it was glued to each one's first paragraph; a contents page numbered "ii"
    and the first page numbered "1" both hold "1. Introduction", but as no running line."""
    return (
        bool(key)
        and len(lines) >= 2
        and any(set(lines) <= pages_numbered for pages_numbered in numbered)
        and max(lines) - min(lines) == len(lines) - 1
        and _running_kind(key, lines, pages) == "fixed"
        and _same_place(places)
    )


def _plain(text: str) -> str:
    return " ".join(text.split()).casefold()


#: a page's running lines (page numbers aside) at one edge, and the sentence next to them
_Band = tuple[list[int], str]


def _drop(pages: list[list[str]], edges: list[dict[int, str]], running: dict[str, bool]) -> list[str]:
    """The pages' text without their running lines: a page number everywhere, another running
    line but where it first appears, and there only at the page's edge, apart from a template's
    repeated text (``_edge_band``)."""
    bands = [_edge_bands(lines, page, running) for lines, page in zip(pages, edges, strict=True)]
    beside = Counter(sentence for sides in bands for sentence in {sentence for _, sentence in sides})
    enough = _enough(len(pages))
    shown: set[str] = set()
    kept = []
    for lines, page, sides in zip(pages, edges, bands, strict=True):
        droppable = {
            index for band, next_to in sides if not next_to or beside[next_to] < enough for index in band
        }
        left = []
        for index, line in enumerate(lines):
            key = page.get(index, "")
            if running.get(key) or (index in droppable and key in shown):
                continue
            if key in running:
                shown.add(key)
            left.append(line)
        kept.append("\n".join(left))
    return kept


def _edge_bands(lines: list[str], keys: dict[int, str], running: dict[str, bool]) -> list[_Band]:
    """The page's running lines at its top and at its bottom (``_edge_band``), each with the
    sentence of the text next to them ("" when none)."""
    filled = [index for index, line in enumerate(lines) if line.strip()]
    above = dict(zip(filled, ["", *(lines[index] for index in filled)], strict=False))
    continuing = {index for index in keys if _continues_sentence(lines[index], above[index])}
    sentences = {index for index in keys if _is_sentence(lines[index])}
    top, below = _edge_band(filled, keys, running, continuing, sentences)
    bottom, over = _edge_band(filled[::-1], keys, running, continuing, sentences)
    first = "" if below is None else _SENTENCE_BREAK.split(_plain(" ".join(lines[below:])), 1)[0]
    last = "" if over is None else _SENTENCE_BREAK.split(_plain(" ".join(lines[: over + 1])))[-1]
    return [(top, first), (bottom, last)]


def _edge_band(
    order: list[int],
    keys: dict[int, str],
    running: dict[str, bool],
    continuing: set[int],
    sentences: set[int],
) -> tuple[list[int], int | None]:
    """The running lines (page numbers aside) at one edge of the page, ``order`` going inwards
    from it, and the index of the first line past them (None when there is none).

    Only the outermost lines may be running, or those between them and another running line:
    deeper in the page a repeated line is the text's own (a recipe's "Ingredients" heading under
    each recipe's name was lost). Nothing past a line of the text's own is running: one ending
    the sentence the line before began (``continuing``), or a sentence inwards of a running line
    other than a page number (``sentences``); the outermost sentence, page numbers aside, is a
    footer ("(c) 2024 Northwind Logistics. All rights reserved." over "Page 2" stayed on every page);
    and where the sentence past them is the same on as many pages as a running line needs, they
    are a template's repeated content, kept (``_drop``): four certificates, one per page, each
    closing on "Valid for three years from the date of issue." then "Signed: Jeanne Roux, Head of
    Training", lost both from every page but the first. A header or footer stands apart from the
    page's own text, which changes from page to page."""
    band: list[int] = []
    for position, index in enumerate(order):
        key = keys.get(index, "") if position < _RUNNING_EDGE else ""
        own_text = index in continuing or (bool(band) and index in sentences)
        if key not in running or (not running[key] and own_text):
            return band, index
        if not running[key]:
            band.append(index)
    return band, None


_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")
#: a line that ends a sentence: "…the date of issue.", "…for that month."
_SENTENCE_END = re.compile(r"[.!?][\"'”»)]*$")
_PROSE_WORDS = 4  # a sentence of this many words at least is text, not a header or footer


def _is_sentence(line: str) -> bool:
    """Whether a line repeated at a page's edge reads as a sentence ("Valid for three years from
    the date of issue."): a template's text, unless it stands outermost (``_edge_band``)."""
    return bool(_SENTENCE_END.search(line.rstrip())) and len(line.split()) >= _PROSE_WORDS


def _continues_sentence(line: str, before: str) -> bool:
    """Whether a line repeated at a page's edge ends the sentence that the line before began:
    each page's passage wrapping to "…found no discrepancies in the" / "ledger entries for that
    month." lost its last line from every page but the first."""
    if not _SENTENCE_END.search(line.rstrip()):
        return False
    return bool(before.strip()) and not re.search(r"[.!?:;,]\W*$", before.rstrip())


_TWO_PAGES_LINE = 80  # of a two-page document, a line repeated word for word is running up to this length


def _two_pages_running(kind: str, lines: dict[int, str], places: dict[int, frozenset[int]]) -> bool:
    """Whether a line on both pages of a two-page document is a running header or footer: both
    copies in the same place (first line, last line…), and either a page number ("Helios Solar plc
    | Q3 2024 | 1", then "| 2") or a short line written the same ("Helios Solar plc - Interim Report
    Q3 2024"). Kept, the footer ended page 1's last passage and page 2's header was a passage of its
    own, as with three pages or more. Two copies are thin evidence, hence the same place; a
    repeated line is kept on page 1 anyway, so a wrong guess only loses a repeat."""
    if not _same_place(places):
        return False
    return kind == "page" or all(len(line) <= _TWO_PAGES_LINE for line in lines.values())


def _same_place(places: dict[int, frozenset[int]]) -> bool:
    """Whether the copies of a line (their places by page) share a place: all the first line,
    or all the last…"""
    return bool(frozenset.intersection(*places.values()))


def _places(lines: list[str]) -> dict[int, frozenset[int]]:
    """Where each non-blank line stands on its page: its rank from the top (0, 1, …) and from
    the bottom (-1, -2, …)."""
    filled = [index for index, line in enumerate(lines) if line.strip()]
    return {index: frozenset({rank, rank - len(filled)}) for rank, index in enumerate(filled)}


def _edge_keys(lines: list[str]) -> dict[int, str]:
    """The keys (``_running_key``) of the first and last ``_RUNNING_EDGE`` non-blank lines of a
    page, by their index, a roman page number in digits."""
    filled = [index for index, line in enumerate(lines) if line.strip()]
    outermost = set(filled[:1] + filled[-1:])
    return {
        index: _running_key(_in_digits(lines[index]), index in outermost)
        for index in filled[:_RUNNING_EDGE] + filled[-_RUNNING_EDGE:]
    }


#: a line that is only a roman numeral, as front matter numbers its pages: "iv", "- iv -", "(IV)"
_ROMAN_LINE = re.compile(r"\s*([-–—(]?)\s*([ivxlc]{1,8})\s*([-–—)]?)\s*", re.IGNORECASE)
_ROMAN = re.compile(r"c{0,3}(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})")
#: the key (``_running_key``) of a lone roman numeral
_ROMAN_KEY = re.compile(r"[-–—(]?roman #[-–—)]?")
_ROMAN_VALUES = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100}


def _in_digits(line: str) -> str:
    """A lone roman numeral ("iv") as a number ("roman 4"), so that it is compared across pages
    like a page number in digits: the footers "i", "ii", "iii" were glued to each page's last
    paragraph ("…dairy farmers. i"). "roman" keeps them apart from the digits of the pages after."""
    match = _ROMAN_LINE.fullmatch(line)
    if match is None or not _ROMAN.fullmatch(numeral := match.group(2).casefold()):
        return line
    value = sum(
        -_ROMAN_VALUES[char] if _ROMAN_VALUES[char] < _ROMAN_VALUES.get(after, 0) else _ROMAN_VALUES[char]
        for char, after in zip(numeral, numeral[1:] + " ", strict=True)
    )
    return f"{match.group(1)}roman {value}{match.group(3)}"


def _running_kind(key: str, lines: dict[int, str], pages: int) -> str | None:
    """What a running line's copies (by page index) are: "fixed" when the same on every page,
    "page" when they are a page number ("Page 3 of 12", "- 3 -"), None when their numbers are
    content. "Total TTC : 489,90 EUR" or "Facture 2024-0013" on each invoice of a bundle has
    the shape of a footer, but its numbers change otherwise, start with a zero, or are far from
    the page's number; "Article 3" opening page 3 has numbers that follow the pages, but is
    no page number: one is written alone or with page words (``_is_page_number``). Beside a page
    number, a number may change by chapter ("Chapter 4: Function reference 13", then "Chapter 5:
    … 14"): it rises now and then (``_by_chapter``), and every page kept its header."""
    numbers = {page: _DIGITS.findall(line) for page, line in lines.items()}
    if len({len(found) for found in numbers.values()}) > 1:
        return None
    count = len(next(iter(numbers.values())))
    moving: list[int] = []
    chapters = 0
    for column, values in enumerate(zip(*numbers.values(), strict=True)):
        if len(set(values)) == 1:
            continue
        if _by_chapter(dict(zip(numbers, values, strict=True))):
            chapters += 1
            continue
        if not _follows_pages(dict(zip(numbers, values, strict=True)), pages):
            return None
        moving.append(column)
    if not moving:
        return "fixed" if not chapters else None
    # a "#" of the line's own ("Issue #3") would make the numbers' ranks in ``key`` unknown
    return "page" if key.count("#") == count and _is_page_number(key, moving) else None


def _by_chapter(values: dict[int, str]) -> bool:
    """Whether a number, by page, numbers the pages' chapter: it never falls, and holds on
    some pages in a row."""
    ordered = [int(values[page]) for page in sorted(values)]
    return ordered == sorted(ordered) and len(set(ordered)) < len(ordered)


def _follows_pages(values: dict[int, str], pages: int) -> bool:
    if any(value.startswith("0") for value in values.values()):
        return False
    offsets = {int(value) - page for page, value in values.items()}
    return len(offsets) == 1 and -pages <= offsets.pop() <= max(pages, _PAGE_OFFSET)


def _is_page_number(key: str, moving: list[int]) -> bool:
    """Whether each moving number (its rank among the ``#`` of ``key``) may be a page number:
    any but one that numbers a part of the content ("Article 3", "Chapter 3", "Étape 3" opening
    page 3), whose headings were all lost. Footers write page numbers every way ("ACME Internal
    Handbook 3", "(3)", "3.", "Page No. 3"): the rule names what is not one."""
    ranks = [match.start() for match in re.finditer("#", key)]
    for column in moving:
        before = re.sub(r"(?:[\s.:#]|\bn[°º])+$", "", key[: ranks[column]])  # "Article n° 3"
        word = LAST_WORD.search(before)
        if word is not None and word.group() in PART_WORDS and before.endswith(word.group()):
            return False
    return True


def _running_key(line: str, outermost: bool) -> str:
    """The line as compared across pages: a short one (a page number, a date) digits aside, and
    a longer one too where footers and headers stand, as a page's first or last line ("Northwind
    Logistics - Employee Handbook 2024 - Page 2" was glued mid-sentence to the page's text).
    A long line inside the text that differs only by a number is content ("…building 3 of the
    site"); a short one there is rarely anything but a page number or a date."""
    line = " ".join(line.split()).casefold()
    return _DIGITS.sub("#", line) if outermost or len(line) <= _NUMBERED_LINE else line
