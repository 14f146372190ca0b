"""PDF table rows, found from where the pieces of text of a line start.

pypdf reads a table row as one line, its cells joined by spaces ("Widget model 1 13.50
blue"), and rows of like lengths are never short: a price list's rows became one run-on
paragraph, the sentence below the table glued to its last row. A cell starts well to the right
of where the text before it can end: a wide gap, which no line of a paragraph has.
"""

from __future__ import annotations

from collections.abc import Iterator

from petitrag.documents.pdf_fonts import LineFonts, Style, line_text

#: how wide a character is, on average, in font sizes, where the font's widths are unknown
#: (Helvetica's lower case averages 0.5, its capitals 0.7, digits 0.56). 0.75 was taken, an
#: upper bound: a cell filling its column ("Pre-carbon block filter" in a 45 mm column) seemed
#: to reach the next cell, and the two were read as one
_CHAR_EMS = 0.55
#: a gap between two cells is wider than this many font sizes (word spaces are a quarter of
#: one, stretched to one and a half in a justified line of long code words)
_GAP_EMS = 1.5
#: a table has rows of as many cells on consecutive lines: a lone line with a gap is a form's
#: or a signature's ("Date:        Signature:"), lines of a justified paragraph with wide
#: spaces have them in no two lines alike
_MIN_ROWS = 2
#: cells of one column start this close, in font sizes (a left-aligned column's, exactly)
_ALIGNED_EMS = 0.5

Cell = tuple[float, float, str]  # where the cell starts, its font size, its text


def table_rows(page: LineFonts) -> dict[str, str]:
    """A page's lines that are rows of a table (as ``heading_levels`` keys them), each with its
    cells joined by " | ": consecutive lines of two cells at least, of as many cells or with
    their cells starting under the table's columns, two lines at least. A row with an empty
    cell ("Nantes | 8:00-18:00 |" under "Branch | Hours | Notes") broke the run of rows, and a
    last row left alone was glued to the sentence below the table."""
    rows: dict[str, str] = {}
    run: list[tuple[str, list[Cell]]] = []
    lines = zip(page.lines, page.starts, page.widths, strict=True)
    for line, starts, widths in [*lines, ([], [], [])]:
        cells = _cells(line, starts, widths)
        if len(cells) > 1 and (not run or _same_table(cells, run)):
            run.append((line_text(line), cells))
            continue
        if len(run) >= _MIN_ROWS:
            rows.update(_formatted(run))
        run = [(line_text(line), cells)] if len(cells) > 1 else []
    return rows


def _same_table(cells: list[Cell], run: list[tuple[str, list[Cell]]]) -> bool:
    """Whether a line of cells continues the rows above: as many cells as the first row, or
    every cell starting under one of the columns the rows have so far."""
    return len(cells) == len(run[0][1]) or all(_column(cell, _columns(run)) is not None for cell in cells)


def _columns(run: list[tuple[str, list[Cell]]]) -> list[float]:
    """Where the columns of a run of rows start: those of its row of most cells."""
    return [start for start, _, _ in max((cells for _, cells in run), key=len)]


def _column(cell: Cell, columns: list[float]) -> int | None:
    """The column the cell starts under; None when it starts under none."""
    start, size, _ = cell
    return next(
        (index for index, column in enumerate(columns) if abs(start - column) <= _ALIGNED_EMS * size), None
    )


def _formatted(run: list[tuple[str, list[Cell]]]) -> Iterator[tuple[str, str]]:
    """Each row's cells joined by " | ", an empty cell left empty in its column when every cell
    of the row starts under a column, so that "Nantes | 8:00-18:00 |" keeps its hours under
    "Hours" rather than under whichever column comes second."""
    columns = _columns(run)
    for text, cells in run:
        places = [_column(cell, columns) for cell in cells]
        if None in places or len(set(places)) < len(places):
            yield text, " | ".join(cell for _, _, cell in cells)
            continue
        by_column = dict(zip(places, (cell for _, _, cell in cells), strict=True))
        yield text, " | ".join(by_column.get(index, "") for index in range(len(columns))).rstrip()


def _cells(
    line: list[tuple[str, Style]], starts: list[float | None], widths: list[float | None]
) -> list[Cell]:
    """The line's text cut where a piece starts past a wide gap after the one before; [] when
    positions are unknown or go backwards (text drawn out of order is not read as columns)."""
    cells: list[list[tuple[str, Style]]] = []
    origins: list[tuple[float, float]] = []
    previous = end = -1.0  # where the previous piece starts, where its text ends
    for piece, start, width in zip(line, starts, widths, strict=True):
        text, (size, _) = piece
        if start is None or size <= 0 or start < previous:
            return []
        if not cells or start - end > _GAP_EMS * size:
            cells.append([])
            origins.append((start, size))
        cells[-1].append(piece)
        previous, end = start, start + (width if width is not None else len(text.strip()) * size * _CHAR_EMS)
    return [(start, size, line_text(cell)) for (start, size), cell in zip(origins, cells, strict=True)]
