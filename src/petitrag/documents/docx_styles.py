"""DOCX styles and numbering: what a paragraph is (a heading of some level, a list item of
some depth) and the number Word shows before it, read from its style chain and from
``word/numbering.xml``, which python-docx does not interpret.
"""

from __future__ import annotations

import re
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from docx.document import Document
    from docx.text.paragraph import Paragraph

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_HEADING_STYLE = re.compile(r"(?:heading|titre|überschrift|título|titolo)\s*([1-9])", re.IGNORECASE)
_TITLE_STYLES = frozenset({"title", "titre"})
_LIST_STYLE = re.compile(r"(?:list|liste)\b.*?(\d)?$", re.IGNORECASE)
_BODY_TEXT_OUTLINE = 9  # w:outlineLvl 9 means "body text", not a heading
_MAX_STYLE_DEPTH = 10


def style_name(paragraph: Paragraph) -> str:
    style = _style(paragraph)
    return (style.name or "") if style is not None else ""


def heading_level(paragraph: Paragraph) -> int:
    """1-6 for headings (by style name, else outline level), 0 for body text. A company
    template's own heading style ("ACME Heading", based on Heading 1) is a heading too: the
    styles it is based on, and their outline levels, are read as well, up to one that says it
    is body text (outline level 9): Word's "TOC Heading", based on Heading 1, made "Contents"
    the document's title and a section."""
    level = _level_of_name(style_name(paragraph))
    outline = _outline_level(paragraph._p)
    if level or outline is not None:
        return level or outline or 0
    style = _style(paragraph)
    for _ in range(_MAX_STYLE_DEPTH):  # a style based on itself must not loop
        if style is None:
            return 0
        level, outline = _level_of_name(style.name or ""), _outline_level(style.element)
        if level or outline is not None:
            return level or outline or 0
        style = style.base_style
    return 0


def _level_of_name(name: str) -> int:
    name = name.strip()
    if name.casefold() in _TITLE_STYLES:
        return 1
    match = _HEADING_STYLE.fullmatch(name)
    return min(int(match.group(1)), 6) if match else 0


def _outline_level(element: Any) -> int | None:
    """From a paragraph's or a style's ``<w:outlineLvl>`` (0-based): 0 for body text (9),
    None where it declares none."""
    outline = element.find(f"{W}pPr/{W}outlineLvl")
    value = outline.get(f"{W}val", "") if outline is not None else ""
    if not value.isdigit():
        return None
    return min(int(value) + 1, 6) if int(value) < _BODY_TEXT_OUTLINE else 0


def list_depth(paragraph: Paragraph) -> int | None:
    """Nesting depth (0 = top) of a list paragraph, None when it is not a list item."""
    ilvl = paragraph._p.find(f"{W}pPr/{W}numPr/{W}ilvl")
    if ilvl is not None:
        value = ilvl.get(f"{W}val", "0")
        return int(value) if value.isdigit() else 0
    if paragraph._p.find(f"{W}pPr/{W}numPr") is not None:
        return 0
    match = _LIST_STYLE.match(style_name(paragraph).strip())
    if match:
        return max(int(match.group(1) or 1) - 1, 0)  # "List Bullet 2" is one level in
    return None


class HiddenStyles:
    """Which styles hide their text (``w:vanish`` in their run properties, their own or from
    the styles they are based on): a template's instructions in a hidden paragraph style, a
    quiz's answers in a hidden character style were indexed, though Word neither shows nor
    prints them. Each style is resolved once per document, not once per run."""

    def __init__(self, document: Document | None = None) -> None:
        self.styles: dict[str, Any] = {}  # styleId -> w:style
        self.default_paragraph_style = ""
        self.resolved: dict[str, bool | None] = {}  # styleId -> hides, None where it says nothing
        try:
            root = document.styles.element if document is not None else None
        except Exception:  # no styles part: nothing is hidden by a style
            root = None
        for style in root.iterchildren(f"{W}style") if root is not None else ():
            style_id = style.get(f"{W}styleId", "")
            self.styles.setdefault(style_id, style)
            if style.get(f"{W}type") == "paragraph" and _on(style.get(f"{W}default", "0")):
                self.default_paragraph_style = self.default_paragraph_style or style_id

    def paragraph_style(self, paragraph: Any) -> str:
        """The styleId of a ``w:p`` (the default paragraph style when it names none)."""
        return _val(paragraph.find(f"{W}pPr/{W}pStyle")) or self.default_paragraph_style

    def hides(self, run: Any, paragraph_style: str) -> bool:
        """Whether Word hides a run: its own ``w:vanish`` first (``w:val="0"`` shows it), then
        its character style's, then its paragraph's style's."""
        for hidden in (
            vanish(run.find(f"{W}rPr")),
            self.style_hides(_val(run.find(f"{W}rPr/{W}rStyle"))),
            self.style_hides(paragraph_style),
        ):
            if hidden is not None:
                return hidden
        return False

    def style_hides(self, style_id: str, depth: int = 0) -> bool | None:
        """A style's ``w:vanish``, else the nearest one of the styles it is based on."""
        if style_id in self.resolved:
            return self.resolved[style_id]
        style = self.styles.get(style_id)
        if style is None or depth >= _MAX_STYLE_DEPTH:
            return None
        self.resolved[style_id] = None  # a style based on itself must not loop
        hidden = vanish(style.find(f"{W}rPr"))
        if hidden is None:
            hidden = self.style_hides(_val(style.find(f"{W}basedOn")), depth + 1)
        self.resolved[style_id] = hidden
        return hidden


def vanish(properties: Any) -> bool | None:
    """What run properties (``w:rPr``) say of hiding: True for ``<w:vanish/>``, False for
    ``<w:vanish w:val="0"/>``, None where they say nothing."""
    element = properties.find(f"{W}vanish") if properties is not None else None
    return None if element is None else _on(element.get(f"{W}val", "true"))


def _on(value: str) -> bool:
    return value not in ("0", "false", "off")


class Numbering:
    """List markers as Word shows them ("1.", "a)", "2.1."), from ``word/numbering.xml``:
    a numbered procedure read "- step" in the index, and "step 3" could not be found.

    A paragraph's ``w:numPr`` (its own or its style's: "List Number") names a numbering
    instance and a level; the instance's abstract definition gives each level's format
    ("decimal", "lowerLetter", "bullet"...), text ("%1.", "%1.%2.") and start. As in Word,
    numbers continue across the paragraphs between two items of one list and across an
    instance's copies, restart where an instance overrides its start, and an item restarts
    the numbers of the levels below it."""

    def __init__(self, document: Document) -> None:
        #: numId -> abstractNumId; abstractNumId -> ilvl -> (format, text, start)
        self.abstract: dict[str, str] = {}
        self.levels: dict[str, dict[int, tuple[str, str, int]]] = {}
        #: (numId, ilvl) -> start, where an instance restarts its list
        self.overrides: dict[tuple[str, int], int] = {}
        #: (abstractNumId, ilvl) -> (last number given, depth of its item)
        self.counters: dict[tuple[str, int], tuple[int, int]] = {}
        self.headings: set[tuple[str, int]] = set()  # counters that number headings
        #: (abstractNumId, styleId) -> ilvl: the level a style's numbering without w:ilvl takes
        self.styled: dict[tuple[str, str], int] = {}
        try:
            root = document.part.numbering_part.element
        except Exception:  # no numbering part: markers from style names only
            return
        for definition in root.iterchildren(f"{W}abstractNum"):
            abstract = definition.get(f"{W}abstractNumId", "")
            levels = self.levels.setdefault(abstract, {})
            for level in definition.iterchildren(f"{W}lvl"):
                start, ilvl = _val(level.find(f"{W}start")), int(_val(level, "ilvl") or 0)
                if style := _val(level.find(f"{W}pStyle")):
                    self.styled[(abstract, style)] = ilvl
                levels[ilvl] = (
                    _val(level.find(f"{W}numFmt")) or "decimal",
                    _val(level.find(f"{W}lvlText")) or "",
                    int(start) if start.isdigit() else 1,
                )
        for num in root.iterchildren(f"{W}num"):
            num_id = num.get(f"{W}numId", "")
            self.abstract[num_id] = _val(num.find(f"{W}abstractNumId"))
            for override in num.iterchildren(f"{W}lvlOverride"):
                start = _val(override.find(f"{W}startOverride"))
                if start.isdigit():
                    self.overrides[(num_id, int(_val(override, "ilvl") or 0))] = int(start)

    def marker(self, paragraph: Paragraph, depth: int, heading: bool = False) -> str:
        """The marker of a list paragraph (or a heading) at ``depth`` ("-" for a bullet), counting it."""
        num_id, ilvl = self._reference(paragraph)
        abstract = self.abstract.get(num_id, "")
        key = (abstract or f"style {style_name(paragraph)}", ilvl)
        self._restart_below(key, depth, heading)
        default = ("decimal" if _NUMBERED_STYLE.search(style_name(paragraph)) else "bullet", "", 1)
        number_format, text, start = self.levels.get(abstract, {}).get(ilvl, default)
        if number_format in ("bullet", "none") or num_id == "0":
            return "-"
        if (num_id, ilvl) in self.overrides:
            start = self.overrides.pop((num_id, ilvl)) - 1  # once: the instance's first item
            self.counters[key] = (start, depth)
        number = self.counters.get(key, (start - 1, depth))[0] + 1
        self.counters[key] = (number, depth)
        if heading:
            self.headings.add(key)
        shown = re.sub(r"%([1-9])", lambda match: self._shown(abstract, int(match.group(1)) - 1), text)
        return shown.strip() or f"{_formatted(number, number_format)}."

    def heading_number(self, paragraph: Paragraph) -> str:
        """What Word shows before a heading its style or itself numbers ("Article 2", "2.2"),
        counting it; "" for none. Without it "2.2 Warranty" read "Warranty", and a question
        about "article 2" found nothing."""
        num_id, ilvl = self._reference(paragraph)
        number_format, text, _ = self.levels.get(self.abstract.get(num_id, ""), {}).get(ilvl, ("none", "", 1))
        if number_format in ("bullet", "none") or not text.strip():
            return ""
        return self.marker(paragraph, ilvl, heading=True)

    def depth(self, paragraph: Paragraph) -> int | None:
        """The level of a paragraph its style numbers ("Numbered Para"), None when its
        style numbers nothing: its items read as paragraphs, their numbers lost."""
        num_id, ilvl = self._reference(paragraph)
        number_format = self.levels.get(self.abstract.get(num_id, ""), {}).get(ilvl, ("none",))[0]
        return None if number_format == "none" or num_id in ("", "0") else ilvl

    def _reference(self, paragraph: Paragraph) -> tuple[str, int]:
        """(numId, ilvl); a style that names no level takes the one that names the style."""
        num_id, ilvl = _number_reference(paragraph)
        if ilvl is not None:
            return num_id, ilvl
        style = getattr(_style(paragraph), "style_id", "")
        return num_id, self.styled.get((self.abstract.get(num_id, ""), style), 0)

    def _restart_below(self, key: tuple[str, int], depth: int, heading: bool) -> None:
        """An item restarts the numbers below it: its own list's deeper levels, as in Word, and
        under a list item, any list's deeper items (a nested list restarts under each item).
        List items never restart a heading's numbers ("2.1" then a list, then "2.2")."""
        for other, (_, deeper) in list(self.counters.items()):
            own_list = other[0] == key[0] and other[1] > key[1]
            if own_list or (not heading and other not in self.headings and deeper > depth):
                del self.counters[other]

    def _shown(self, abstract: str, ilvl: int) -> str:
        number_format, _, start = self.levels.get(abstract, {}).get(ilvl, ("decimal", "", 1))
        return _formatted(self.counters.get((abstract, ilvl), (start, 0))[0], number_format)


_NUMBERED_STYLE = re.compile(r"number|numéro|nummer|numer", re.IGNORECASE)


def _val(element: Any, name: str = "val") -> str:
    return "" if element is None else str(element.get(f"{W}{name}", ""))


#: each document part's styles by id, looked up once: python-docx scans every style of the
#: document for the default of a paragraph naming none (a 3,000-paragraph file took 50 s)
_STYLES_FOUND: weakref.WeakKeyDictionary[Any, dict[str | None, Any]] = weakref.WeakKeyDictionary()


def _style(paragraph: Paragraph) -> Any:
    """``paragraph.style``, or None where the file names one it lacks."""
    try:
        found = _STYLES_FOUND.setdefault(paragraph.part, {})
        style_id = paragraph._p.style
        if style_id not in found:
            found[style_id] = paragraph.style
        return found[style_id]
    except (KeyError, ValueError, AttributeError):
        return None


def _number_reference(paragraph: Paragraph) -> tuple[str, int | None]:
    """(numId, ilvl) of a list paragraph: its own ``w:numPr``, else its styles'; ilvl None
    when none of them names it."""
    elements = [paragraph._p]
    style = _style(paragraph)
    for _ in range(_MAX_STYLE_DEPTH):
        if style is None:
            break
        elements.append(style.element)
        style = style.base_style
    num_id, ilvl = "", ""
    for element in elements:
        reference = element.find(f"{W}pPr/{W}numPr")
        if reference is not None:
            num_id = num_id or _val(reference.find(f"{W}numId"))
            ilvl = ilvl or _val(reference.find(f"{W}ilvl"))
    return num_id, int(ilvl) if ilvl.isdigit() else None


def _formatted(number: int, number_format: str) -> str:
    if number_format in ("lowerLetter", "upperLetter"):
        letters = chr(ord("a") + (number - 1) % 26) * ((number - 1) // 26 + 1)
        return letters.upper() if number_format == "upperLetter" else letters
    if number_format in ("lowerRoman", "upperRoman"):
        return roman(number).upper() if number_format == "upperRoman" else roman(number)
    if number_format == "decimalZero":
        return f"{number:02d}"
    return str(number)


def roman(number: int) -> str:
    """Word's default endnote numbering: i, ii, iii, iv…"""
    numerals = ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"),
                (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))  # fmt: skip
    text = ""
    for value, numeral in numerals:
        count, number = divmod(number, value)
        text += numeral * count
    return text
