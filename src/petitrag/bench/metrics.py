"""Answer quality without an LLM judge: deterministic, offline, French-aware.

SQuAD-style normalisation (lower case, no punctuation, no articles) extended for French:
accents folded, elided articles removed (l', d', qu'), and number words mapped to digits
so that "une heure et demie" and "1 heure et demie" compare equal.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter

from petitrag.answer.citations import strip_markers
from petitrag.answer.numbers import NUMBER_WORDS

_ARTICLES = frozenset("a an the le la les l des du de d".split())
_PUNCTUATION = set(string.punctuation) | set("«»“”‘’…–—·")
_ELISION = re.compile(r"\b(?:[cdjlmnst]|qu|jusqu|lorsqu|puisqu)['’]")


#: commas that can only group thousands: two groups or more, or one before a decimal point
#: ("45,000" alone stays ambiguous: 45 thousand in English, 45.0 in French)
_ENGLISH_GROUPS = re.compile(r"\b\d{1,3}(?:,\d{3}){2,}\b|\b\d{1,3}(?:,\d{3})+(?=\.\d)")


def normalize(text: str) -> str:
    """The comparable form of an answer."""
    text = strip_markers(text).casefold().replace("\u202f", " ").replace("\xa0", " ")
    text = _ELISION.sub(" ", text)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = _ENGLISH_GROUPS.sub(lambda match: match.group().replace(",", ""), text)  # 1,234,567 / 7,200.50
    text = re.sub(r"(?<=\d)[ .](?=\d{3}\b)", "", text)  # 45 000 / 45.000 → 45000
    text = re.sub(r"(?<=\d),(?=\d)", ".", text)  # 3,5 → 3.5
    text = "".join(" " if c in _PUNCTUATION and c != "." else c for c in text)
    text = re.sub(r"\.(?!\d)|(?<!\d)\.", " ", text)  # keep only decimal points
    words = [NUMBER_WORDS.get(token, token) for token in text.split() if token not in _ARTICLES]
    # "un"/"une"/"1" before a word is a determiner as often as a count ("une batterie"):
    # drop it there, so "une heure et demie" == "1 heure et demie" == "heure et demie".
    kept = [
        w for i, w in enumerate(words) if not (w == "1" and i + 1 < len(words) and not words[i + 1].isdigit())
    ]
    return " ".join(kept)


def tokens(text: str) -> list[str]:
    return normalize(text).split()


def exact_match(prediction: str, golds: list[str]) -> float:
    return float(any(normalize(prediction) == normalize(gold) for gold in golds))


def token_f1(prediction: str, golds: list[str]) -> float:
    """Best SQuAD token-F1 over the gold answers."""
    return max((_f1(tokens(prediction), tokens(gold)) for gold in golds), default=0.0)


def _f1(predicted: list[str], gold: list[str]) -> float:
    if not predicted or not gold:
        return float(predicted == gold)
    common = sum((Counter(predicted) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def contains_gold(prediction: str, golds: list[str]) -> float:
    """1 when a normalised gold answer appears, as whole tokens, in the normalised prediction."""
    padded = f" {normalize(prediction)} "
    return float(any(f" {normalize(gold)} " in padded for gold in golds if normalize(gold)))
