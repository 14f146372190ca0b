"""The lines of a summary: their list-item prefix, a marker put before their final stop, and
the clean-up of what a small model writes (lines said twice, an end cut by the token limit).

Shared by the summariser, which adds page and section markers to its sentences, and by the
translation of a summary, which puts them back on the translated lines.
"""

from __future__ import annotations

import re

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


#: the marker the summariser puts before a line's final stop when it has no page: the heading
#: of its section, "(Article 3 — Loyer)", at most a few words
_END_MARKER = re.compile(r"\s*\(\s*[^()\s]+(?:\s+[^()\s]+){0,9}\s*\)(?=[\W_]*$)")
#: a line of at least this many words that an earlier line starts with is a cut repeat
_CUT_REPEAT_WORDS = 8


def drop_repeats(text: str) -> str:
    """Without the lines that repeat an earlier one (markers, list signs, quotes, punctuation
    and case aside), or only its start (cut by the loop's end), and the blank line before each:
    small models loop ("La révision d'un vélo…" five times over), copying the line with a
    leading quote, another section's marker ("(Article 2)", then "(Article 3)") or cut short."""
    seen: list[list[str]] = []
    kept: list[str] = []
    for line in text.splitlines():
        said = _said(line)
        if any(_repeated(said, earlier) for earlier in seen):  # never a blank line: it says nothing
            while kept and not kept[-1].strip():
                kept.pop()
            continue
        if said:
            seen.append(said)
        kept.append(line)
    return "\n".join(kept)


def _said(line: str) -> list[str]:
    """The words a line says, without its list sign and markers."""
    item = LIST_ITEM.match(line)
    body = PAGE_MARKER.sub("", line[item.end() :] if item else line)
    return re.findall(r"\w+", _END_MARKER.sub("", body).casefold())


def _repeated(said: list[str], earlier: list[str]) -> bool:
    """Whether a line's words are an earlier line's, or start it (a long enough line, its last
    word maybe cut: "… à la date anniv")."""
    if not said or said == earlier:
        return bool(said)
    if len(said) < _CUT_REPEAT_WORDS or len(said) > len(earlier):
        return False
    return said[:-1] == earlier[: len(said) - 1] and earlier[len(said) - 1].startswith(said[-1])
