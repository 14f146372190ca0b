"""The lines of a summary: their list-item prefix, and a marker put before their final stop.

Shared by the summariser, which adds page and section markers to its sentences, and by the
translation of a summary, which puts them back on the translated lines.
"""

from __future__ import annotations

import re

#: a bullet or numbered list item's prefix, with the spaces after it
LIST_ITEM = re.compile(r"^\s*(?:[-*•+–—]|\d+[.)])\s+")  # "– " in French typography, "+ " in Markdown
#: the final punctuation of a sentence, and any spaces after it
TRAILING_STOP = re.compile(r"([.!?…]*)\s*$")


def with_marker(sentence: str, mark: str) -> str:
    """Put the marker before the final punctuation: «Il faut X.» → «Il faut X (p. 3).»"""
    if not mark:
        return sentence
    return TRAILING_STOP.sub(lambda m: f" {mark}{m.group(1)}", sentence.rstrip(), count=1)
