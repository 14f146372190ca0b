"""DOCX run text: the words of a paragraph as Word shows them, which python-docx's
``paragraph.text`` does not read (tracked insertions, field results, content controls, breaks).
"""

from __future__ import annotations

from typing import Any

from petitrag.documents.docx_styles import W

#: elements of a paragraph whose runs are visible text (not w:del, not w:moveFrom)
_RUN_CONTAINERS = frozenset(
    f"{W}{tag}" for tag in "hyperlink ins moveTo fldSimple smartTag customXml sdt sdtContent dir bdo".split()
)


def paragraph_text(element: Any) -> str:
    """The visible text of a ``w:p`` (or of a run container inside one).

    python-docx's ``paragraph.text`` reads only plain runs and links: the words of a
    tracked insertion, a field result, a smart tag or an inline content control were
    silently left out of the index. Deleted and moved-away text is left out on purpose.
    """
    parts: list[str] = []
    for child in element.iterchildren():
        if child.tag == f"{W}r":
            parts.append(_run_text(child))
        elif child.tag in _RUN_CONTAINERS:
            parts.append(paragraph_text(child))
    return "".join(parts)


def _run_text(run: Any) -> str:
    """A run's text; every break is a line break. python-docx's ``run.text`` reads a page or
    column break as nothing, gluing the words around it ("partieDeuxième")."""
    if run.find(f"{W}br") is None:
        return str(run.text)  # w:t, tabs, plain breaks, non-breaking hyphens
    return "".join("\n" if part.tag == f"{W}br" else _run_text_of(part, run) for part in run.iterchildren())


def _run_text_of(part: Any, run: Any) -> str:
    """One child of a run as python-docx reads it (a run holding only that child)."""
    from copy import deepcopy

    alone = deepcopy(run)
    for other in list(alone):
        alone.remove(other)
    alone.append(deepcopy(part))
    return str(alone.text)
