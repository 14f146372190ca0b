"""PDF table rows, found from where the pieces of text of a line start.

pypdf reads a table row as one line, its cells joined by spaces ("Widget model 1 13.50
blue"), and rows of like lengths are never short: a price list's rows became one run-on
paragraph, the sentence below the table glued to its last row. A cell starts well to the right
of where the text before it can end: a wide gap, which no line of a paragraph has.
"""

from __future__ import annotations

from petitrag.documents.pdf_fonts import LineFonts, Style, line_text

#: the widest a character is, on average over a piece of text, in font sizes: an upper bound, so
#: that a gap is never imagined after wide letters (Helvetica's capitals average 0.7, its lower
#: case 0.5, digits 0.56)
_CHAR_EMS = 0.75
#: a gap between two cells is wider than this many font sizes (word spaces are a quarter of
#: one, stretched to one and a half in a justified line of long code words)
_GAP_EMS = 1.5
#: a table has rows of as many cells on consecutive lines: a lone line with a gap is a form's
#: or a signature's ("Date:        Signature:"), lines of a justified paragraph with wide
#: spaces have them in no two lines alike
_MIN_ROWS = 2


def table_rows(page: LineFonts) -> dict[str, str]:
    """A page's lines that are rows of a table (as ``heading_levels`` keys them), each with its
    cells joined by " | ": consecutive lines of as many cells, two cells and two lines at least."""
    rows: dict[str, str] = {}
    run: list[tuple[str, list[str]]] = []
    for line, starts in [*zip(page.lines, page.starts, strict=True), ([], [])]:
        cells = _cells(line, starts)
        if len(cells) > 1 and (not run or len(cells) == len(run[0][1])):
            run.append((line_text(line), cells))
            continue
        if len(run) >= _MIN_ROWS:
            rows.update((text, " | ".join(cells)) for text, cells in run)
        run = [(line_text(line), cells)] if len(cells) > 1 else []
    return rows


def _cells(line: list[tuple[str, Style]], starts: list[float | None]) -> list[str]:
    """The line's text cut where a piece starts past a wide gap after the one before; [] when
    positions are unknown or go backwards (text drawn out of order is not read as columns)."""
    cells: list[list[tuple[str, Style]]] = []
    previous = end = -1.0  # where the previous piece starts, the farthest its text can reach
    for piece, start in zip(line, starts, strict=True):
        text, (size, _) = piece
        if start is None or size <= 0 or start < previous:
            return []
        if not cells or start - end > _GAP_EMS * size:
            cells.append([])
        cells[-1].append(piece)
        previous, end = start, start + len(text.strip()) * size * _CHAR_EMS
    return [line_text(cell) for cell in cells]
