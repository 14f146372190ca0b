"""DOCX run text: the words of a paragraph as Word shows them, which python-docx's
``paragraph.text`` does not read (tracked insertions, field results, content controls, breaks).
"""

from __future__ import annotations

from typing import Any

from petitrag.documents.docx_styles import HiddenStyles, W
from petitrag.documents.docx_symbols import symbol

#: elements of a paragraph whose runs are visible text (not w:del, not w:moveFrom)
_RUN_CONTAINERS = frozenset(
    f"{W}{tag}" for tag in "hyperlink ins moveTo fldSimple smartTag customXml sdt sdtContent dir bdo".split()
)
_NO_STYLES = HiddenStyles()  # where no document's styles are known: only a run's own w:vanish hides it


def paragraph_text(element: Any, styles: HiddenStyles = _NO_STYLES) -> str:
    """The visible text of a ``w:p`` (or of a run container inside one).

    python-docx's ``paragraph.text`` reads only plain runs and links: the words of a
    tracked insertion, a field result, a smart tag or an inline content control were
    silently left out of the index. Deleted and moved-away text is left out on purpose,
    and so is hidden text, whether the run or one of its styles hides it.
    """
    return _visible_text(element, styles, styles.paragraph_style(element))


def _visible_text(element: Any, styles: HiddenStyles, paragraph_style: str) -> str:
    parts: list[str] = []
    for child in element.iterchildren():
        if child.tag == f"{W}r":
            parts.append("" if styles.hides(child, paragraph_style) else _run_text(child))
        elif child.tag in _RUN_CONTAINERS:
            parts.append(_visible_text(child, styles, paragraph_style))
        elif child.tag in _MATH:
            parts.append(_math_text(child))
    return "".join(parts)


def _run_text(run: Any) -> str:
    """A run's text; every break is a line break, a symbol its character.
    python-docx's ``run.text`` reads a page or column break as nothing, gluing the words around
    it ("partieDeuxième"), and drops symbols ("below 8C" for 8 °C)."""
    if run.find(f"{W}br") is None and run.find(f"{W}sym") is None:
        return str(run.text)  # w:t, tabs, plain breaks, non-breaking hyphens
    return "".join(_part_text(part, run) for part in run.iterchildren())


def _part_text(part: Any, run: Any) -> str:
    if part.tag == f"{W}br":
        return "\n"
    if part.tag == f"{W}sym":
        return symbol(part.get(f"{W}font", ""), part.get(f"{W}char", ""))
    return _run_text_of(part, run)


_M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
_MATH = frozenset({f"{_M}oMath", f"{_M}oMathPara"})
#: how a structure's parts are written on one line: a fraction "F/A", a power "x^2", "x_i"
_MATH_JOINS = {f"{_M}f": "/", f"{_M}sSup": "^", f"{_M}sSub": "_"}


def _math_text(element: Any) -> str:
    """An equation's text in reading order ("k=F/A"): its words were left out, so the
    formula a sentence names could not be found."""
    if element.tag == f"{_M}t":
        return str(element.text or "")
    parts = [_math_text(child) for child in element if not str(child.tag).endswith("Pr")]
    return _MATH_JOINS.get(element.tag, "").join(part for part in parts if part)


def _run_text_of(part: Any, run: Any) -> str:
    """One child of a run as python-docx reads it (a new run holding only a copy of it: a
    copy of the whole run for each child took minutes on a run of 20,000 breaks)."""
    from copy import deepcopy

    alone = run.makeelement(run.tag, {})
    alone.append(deepcopy(part))
    return str(alone.text)
