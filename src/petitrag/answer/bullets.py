"""The lines of a summary: their list-item prefix, a marker put before their final stop, and
the clean-up of what a small model writes (lines said twice, an end cut by the token limit).

Shared by the summariser, which adds page and section markers to its sentences, and by the
translation of a summary, which puts them back on the translated lines.
"""

from __future__ import annotations

import re
from collections.abc import Collection

#: a bullet or numbered list item's prefix, with the spaces after it
LIST_ITEM = re.compile(r"^\s*(?:[-*•+–—]|\d+[.)])\s+")  # "– " in French typography, "+ " in Markdown
#: the final punctuation of a sentence, and any spaces after it
TRAILING_STOP = re.compile(r"([.!?…]*)\s*$")
#: a page marker the summariser adds: " (p. 3)", " (p. 2, Tarifs)"
PAGE_MARKER = re.compile(r"\s*\(p\.\s*\d+[^()]*\)")


def unlisted(line: str) -> str:
    """The line without its list sign ("1. ", "- "), nor the indentation before it."""
    return LIST_ITEM.sub("", line, count=1)


def with_marker(sentence: str, mark: str) -> str:
    """Put the marker before the final punctuation: «Il faut X.» → «Il faut X (p. 3).»"""
    if not mark:
        return sentence
    return TRAILING_STOP.sub(lambda m: f" {mark}{m.group(1)}", sentence.rstrip(), count=1)


_END_OF_PART = re.compile(r"[.!?…][\"'»”’)\]]*(?=\s|$)|\n")


def without_cut_end(text: str) -> str:
    """A text cut by ``max_tokens`` without its unfinished end: after its last line break or
    sentence end, whichever is later ("… Vent d'Ouest.\n15. Il est un moment rédacteur en")."""
    ends = [match.end() for match in _END_OF_PART.finditer(text) if _ends_a_part(text, match)]
    return text[: ends[-1]].rstrip() if ends else _DANGLING_MARKER.sub("", text)


#: a page marker the limit cut: "… above 1,000 meters (p"
_DANGLING_MARKER = re.compile(r"\s*\((?:p\.?\s*\d*)?$")


#: a "." that ends a word, not a sentence: "(p.", "e.g.", "cf."
_ABBREVIATION = re.compile(
    r"(?:\b(?:p|pp|e\.g|i\.e|cf|vol|art|fig|n°|env|approx)|\(p)$",
    re.IGNORECASE,  # not "etc.", "No.": ends too
)


def _ends_a_part(text: str, match: re.Match[str]) -> bool:
    """Whether the end found is one: not a list number ("11. "), an abbreviation ("(p." of a
    page marker the limit cut), nor a number's point at the very end of the text ("… is 12."
    of a cut "12,400 euros")."""
    if match.group() == "\n":
        return True
    before = text[: match.start()]
    if _is_list_number(text, match.start()) or _ABBREVIATION.search(before):
        return False
    return not (match.end() >= len(text.rstrip()) and before[-1:].isdigit())


def _is_list_number(text: str, position: int) -> bool:
    """Whether the "." at ``position`` only ends a list number ("11. ")."""
    line_start = text.rfind("\n", 0, position) + 1
    return bool(re.fullmatch(r"\s*\d+", text[line_start:position]))


#: the page markers petitrag writes, wherever the model left them: "(p. 3)", "(pages 2–3)"
_OWN_PAGE_MARKER = re.compile(r"\((?:p\.\s*|pages?\s+)\d+[^()]*\)", re.IGNORECASE)
#: a line's words and numbers, a number with its sign and separators: "-5 °C" is not "5 °C",
#: "+3 %" not "-3 %", "10:00" not "14:00"
_SAID_TOKEN = re.compile(r"(?<!\w)[-+−]?\d(?:[\d.,:]*\d)?(?!\w)|\w+")
#: a line of at least this many words that an earlier line starts with is a cut repeat
_CUT_REPEAT_WORDS = 8


def drop_repeats(text: str, markers: Collection[str] = ()) -> str:
    """Without the lines that repeat an earlier one (petitrag's markers, list signs, quotes,
    punctuation and case aside), or only its start (cut by the loop's end), and the blank line
    before each: small models loop ("La révision d'un vélo…" five times over), copying the line
    with a leading quote, another section's marker ("(Article 2)", then "(Article 3)") or cut
    short. ``markers``: the section markers the summary's chunks have; any other parenthesis is
    what the line says ("Meeting on Monday (10:00)" and "(14:00)" are two meetings)."""
    known = sorted({mark.casefold() for mark in markers if mark}, key=len, reverse=True)
    seen: list[list[str]] = []
    kept: list[str] = []
    for line in text.splitlines():
        said = _said(line, known)
        if any(
            _repeated(said, earlier, _finished(line)) for earlier in seen
        ):  # never a blank line: it says nothing
            while kept and not kept[-1].strip():
                kept.pop()
            continue
        if said:
            seen.append(said)
        kept.append(line)
    return "\n".join(kept)


def _said(line: str, markers: list[str]) -> list[str]:
    """The words and numbers a line says, without its list sign and petitrag's markers."""
    body = _OWN_PAGE_MARKER.sub(" ", unlisted(line)).casefold()
    for mark in markers:
        body = body.replace(mark, " ")
    return _SAID_TOKEN.findall(body)


_FINAL_STOP = re.compile(r"[.!?…][\"'»”’)\]]*\s*$")


def _finished(line: str) -> bool:
    """Whether a line ends its sentence: then it was not cut ("… before leaving." says less than
    "… before leaving the flat.", and says it on purpose)."""
    return bool(_FINAL_STOP.search(line))


def _repeated(said: list[str], earlier: list[str], finished: bool = False) -> bool:
    """Whether a line's words are an earlier line's, or start it (a long enough line without its
    final stop, its last word maybe cut: "… à la date anniv")."""
    if not said or said == earlier:
        return bool(said)
    if finished or len(said) < _CUT_REPEAT_WORDS or len(said) > len(earlier):
        return False
    return said[:-1] == earlier[: len(said) - 1] and earlier[len(said) - 1].startswith(said[-1])
