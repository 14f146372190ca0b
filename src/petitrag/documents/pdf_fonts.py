"""PDF headings from fonts: a short line set larger than the body text is a heading, a line
all in bold stands apart from its neighbours.

Without bookmarks, a PDF's headings were found nowhere: a heading after a paragraph's
full-width last line was glued to it ("…at least 4 weeks in advance. Sick leave") and no
passage had a section. pypdf reports each piece of text with its font as it extracts the
page (``visitor_text``), so the font costs no second reading.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from typing import Any

#: a heading's size is at least this many times the body text's
_LARGER = 1.15
#: a bold line at least this many times the body's size is kept apart (a table's header row is
#: often a little smaller than the body)
_SMALLER = 0.85
_MAX_WORDS = 12
_MAX_CHARS = 100
#: a line of one character is a drop cap or a stray mark, never a heading
_MIN_CHARS = 2
_MAX_LEVEL = 6
#: a heading wraps on this many lines at most; more lines of one style are a paragraph
_MAX_HEADING_LINES = 3
#: a bullet list's mark ("- ", "• "): a list item is no heading, whatever its size (numbers
#: are not among them: "1. Introduction" is a heading)
_LIST_MARK = re.compile(r"[-•▪◦‣●–*]\s")
_BOLD = re.compile(r"bold|black|heavy|semibold|demi", re.IGNORECASE)
#: a line ending so is a sentence or a clause, not a heading
_SENTENCE_TAIL = (".", ",", ";")
#: the level of a bold line at the body's size: it is kept apart, not made a heading (a table's
#: header row is bold too)
APART = 0
#: the typographic ligatures a PDF may draw as one character ("ﬁ" in "Deﬁnitions")
LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "ft", "ﬆ": "st"})

Style = tuple[float, bool]  # (size in points, rounded to a half; bold)


class LineFonts:
    """A ``visitor_text`` for ``page.extract_text``: the style of each piece of each line."""

    def __init__(self) -> None:
        self.lines: list[list[tuple[str, Style]]] = [[]]
        #: where each piece of each line starts across the page, in points (``pdf_tables``)
        self.starts: list[list[float | None]] = [[]]
        #: how wide each piece's text is drawn, in points, from its font's widths; None unknown
        self.widths: list[list[float | None]] = [[]]
        self._metrics: dict[int, Any] = {}

    def __call__(self, text: str, cm: Any, tm: Any, font: Any, size: Any) -> None:
        """Never raises: pypdf would lose the page's text for a font it could read itself."""
        try:
            style = (_points(cm, tm, size), _is_bold(font))
        except Exception:
            style = (0.0, False)
        start = _start(cm, tm)
        for number, part in enumerate(str(text).split("\n")):
            if number:
                self.lines.append([])
                self.starts.append([])
                self.widths.append([])
            if part.strip():
                self.lines[-1].append((part, style))
                self.starts[-1].append(start if number == 0 else None)
                self.widths[-1].append(self._width(part.strip(), font, style[0]))

    def _width(self, text: str, font: Any, points: float) -> float | None:
        """The text's width in points from the font's character widths (its /Widths, or the
        standard metrics of Helvetica and the other core fonts); None when unknown."""
        if font is None or points <= 0:
            return None
        if id(font) not in self._metrics:
            self._metrics[id(font)] = _font_metrics(font)
        metrics = self._metrics[id(font)]
        if metrics is None:
            return None
        try:
            return float(metrics.get_text_width(text)) / 1000 * points
        except Exception:
            return None


def _font_metrics(font: Any) -> Any:
    """pypdf's reading of the font's character widths; None when it cannot read them. A
    composite font's widths are by glyph number, not by character: no width is better than a
    wrong one there."""
    try:
        from pypdf.generic._font import Font  # private in pypdf 7: an import error is no width

        if font.get("/Subtype") == "/Type0":
            return None
        metrics = Font.from_font_resource(font)
        return metrics if len(metrics.character_widths) > 1 else None
    except Exception:
        return None


def _points(cm: Any, tm: Any, size: Any) -> float:
    """The size the text is drawn at: the font's size scaled by the text and page matrices (Word
    sets "1 Tf" and scales the text matrix; fpdf2 the reverse). 0 when unreadable."""
    try:
        c = float(tm[2]) * float(cm[0]) + float(tm[3]) * float(cm[2])
        d = float(tm[2]) * float(cm[1]) + float(tm[3]) * float(cm[3])
        return round(2 * float(size) * math.hypot(c, d)) / 2
    except (TypeError, ValueError, IndexError):
        return 0.0


def _start(cm: Any, tm: Any) -> float | None:
    """Where a piece of text starts across the page (the text matrix's origin through the page's
    matrix); None when unreadable."""
    try:
        return float(tm[4]) * float(cm[0]) + float(tm[5]) * float(cm[2]) + float(cm[4])
    except (TypeError, ValueError, IndexError):
        return None


def _is_bold(font: Any) -> bool:
    name = str(font.get("/BaseFont", "")) if font else ""
    return bool(_BOLD.search(name))


def heading_levels(pages: list[LineFonts]) -> list[dict[str, int]]:
    """For each page, its heading lines (spaces normalised) and their level: 1 for the largest
    size a heading has in the document, 2 for the next… ``APART`` for a line that stands out by
    its font but is no heading: all in bold at the body's size, or body text set larger (see
    ``_page_headings``). A line of several sizes, long, or ending a sentence is none. A line
    without a letter may be a heading's second line ("…Third Quarter", "2024")."""
    styles = [[(line_text(line), line) for line in page.lines] for page in pages]
    body = _body_style(styles)
    if body is None:
        return [{} for _ in pages]
    found = [_page_headings(page, body) for page in styles]
    sizes = sorted(
        {style[0] for page in found for style in page.values() if style and style[0] > body[0]}, reverse=True
    )
    return [
        {
            text: min(sizes.index(style[0]) + 1, _MAX_LEVEL) if style and style[0] in sizes else APART
            for text, style in page.items()
        }
        for page in found
    ]


def line_text(line: list[tuple[str, Style]]) -> str:
    """A line's text as the page's text has it (``pdf._page_texts``): spaces normalised,
    ligatures undone. "2. Deﬁnitions" (one "ﬁ" glyph) was no heading: the page read
    "2. Definitions", the line was looked up as drawn, and a numbered list item was made."""
    text = "".join(part for part, _ in line).translate(LIGATURES).replace("\x00", "").replace("\xad", "")
    return " ".join(text.split())


def _page_headings(page: list[tuple[str, list[tuple[str, Style]]]], body: Style) -> dict[str, Style | None]:
    """A page's lines that stand out by their font, with their style when they are a heading,
    None when they are only kept apart. A heading is a few lines at most, all of its style: a
    17 pt introduction over 10 pt body text ("This quarter we opened…" on three lines, the last
    ending the sentence) or an 11 pt bullet list above an 8 pt table was taken for a heading,
    the section of every passage after it, and its last line lost as a stray paragraph. Such a
    run of lines is body text, kept apart from its neighbours."""
    found: dict[str, Style | None] = {}
    for _, run in itertools.groupby(page, key=lambda item: _run_key(item[1])):
        lines = list(run)
        verdicts = [_heading_style(text, line, body) for text, line in lines]
        if not any(verdicts):
            continue
        if len(lines) > _MAX_HEADING_LINES or not all(verdicts):
            found.update(dict.fromkeys((text for text, _ in lines if text), None))
        else:
            found.update({text: verdict for (text, _), verdict in zip(lines, verdicts, strict=True)})
    return found


def _run_key(line: list[tuple[str, Style]]) -> tuple[frozenset[float], bool] | None:
    """What consecutive lines of one paragraph share: their size, and being all in bold (a word
    in italics or in bold inside changes neither). None for a blank line: it ends a run."""
    if not line:
        return None
    return frozenset(size for _, (size, _) in line), all(bold for _, (_, bold) in line)


def _body_style(styles: list[list[tuple[str, list[tuple[str, Style]]]]]) -> Style | None:
    """The style most of the document's characters are set in."""
    counts: Counter[Style] = Counter()
    for page in styles:
        for _, line in page:
            for part, style in line:
                counts[style] += len(part.strip())
    return counts.most_common(1)[0][0] if counts and counts.most_common(1)[0][0][0] > 0 else None


def _heading_style(text: str, line: list[tuple[str, Style]], body: Style) -> Style | None:
    """The line's style when the whole line stands out from the body: larger, or bold where the
    body is not; None for body text or a line that cannot be a heading."""
    if not line or len(text) > _MAX_CHARS or len(text.split()) > _MAX_WORDS:
        return None
    if len(text) < _MIN_CHARS:  # a 42 pt drop cap ("T" of "The river otter…") was the title
        return None
    if text.endswith(_SENTENCE_TAIL) or _LIST_MARK.match(text):
        return None
    sizes = {size for _, (size, _) in line}
    if len(sizes) > 1:
        return None
    size = sizes.pop()
    if size >= body[0] * _LARGER:
        return size, True
    if not body[1] and size >= body[0] * _SMALLER and all(bold for _, (_, bold) in line):
        return size, True
    return None
