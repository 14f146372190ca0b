"""Language detection and lexical analysis for French and English.

BM25 needs the right stemmer and stopwords per language ("chevaux" → "cheval" only with
the French stemmer), so each chunk is analysed in its own detected language and queries
in every language present in the collection. Detection is a function-word vote: fast,
deterministic and reliable for the two languages petitrag targets.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Literal

Language = Literal["fr", "en"]
LANGUAGES: tuple[Language, ...] = ("fr", "en")

_FRENCH_MARKERS = frozenset(
    "le la les des du un une et est sont en que qui dans pour pas sur au aux ce cette ces il elle ils "
    "ne se avec par plus ou mais comme été être avait était nous vous leur leurs sa son ses quel quelle "
    "où très aussi lors depuis entre dont".split()
)
_ENGLISH_MARKERS = frozenset(
    "the of and to is in that it for was on are with as by this be from at an have not which were "
    "has had their its what who when where how does did been would can will they there these than".split()
)
_WORD = re.compile(r"\w+", re.UNICODE)
# French elisions: l'homme, d'abord, qu'il, jusqu'à — keep the word after the apostrophe.
_ELISION = re.compile(r"\b(?:[cdjlmnst]|qu|jusqu|lorsqu|puisqu|quoiqu)['’]", re.IGNORECASE)
_STEMMER_NAMES = {"fr": "french", "en": "english"}


def detect_language(text: str, default: Language = "en") -> Language:
    """Vote with function words (and French accents as a tie-breaker)."""
    words = _WORD.findall(text.lower()[:4000])
    french = sum(word in _FRENCH_MARKERS for word in words)
    english = sum(word in _ENGLISH_MARKERS for word in words)
    if french == english:
        if french == 0 and any(c in text for c in "éèêàùçôîœ"):
            return "fr"
        return default
    return "fr" if french > english else "en"


@cache
def _stemmer(language: Language):  # type: ignore[no-untyped-def]
    import Stemmer  # PyStemmer: Snowball stemmers in C

    return Stemmer.Stemmer(_STEMMER_NAMES[language])


@cache
def stopwords(language: Language) -> frozenset[str]:
    """Stopwords from bm25s' lists, extended with the detection markers."""
    from bm25s import stopwords as lists

    words = lists.STOPWORDS_FRENCH if language == "fr" else lists.STOPWORDS_EN_PLUS
    markers = _FRENCH_MARKERS if language == "fr" else _ENGLISH_MARKERS
    return frozenset(strip_accents(w.lower()) for w in (*words, *markers))


def strip_accents(text: str) -> str:
    """'élève' → 'eleve', so that queries typed without accents still match."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """Lower-cased word tokens with French elisions removed."""
    return _WORD.findall(_ELISION.sub(" ", text.lower()))


def analyze(text: str, language: Language, stop: frozenset[str] | None = None) -> list[str]:
    """Tokens for BM25: words → drop stopwords → Snowball stem → strip accents."""
    stop = stopwords(language) if stop is None else stop
    kept = [word for word in words(text) if strip_accents(word) not in stop and word != "_"]
    return [strip_accents(stem) for stem in _stemmer(language).stemWords(kept)]


def query_terms(query: str, languages: set[str]) -> list[str]:
    """Analyse a query in every language present in the collection (deduplicated, ordered)."""
    present = [lang for lang in LANGUAGES if lang in languages] or [detect_language(query)]
    stop = frozenset().union(*(stopwords(language) for language in present))
    seen: dict[str, None] = {}
    for language in present:
        for term in analyze(query, language, stop):
            seen.setdefault(term, None)
    return list(seen)
