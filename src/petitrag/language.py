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
    "le la les des de du un une et est sont en que qui dans pour pas sur au aux ce cette ces il elle ils "
    "ne se avec par plus ou mais comme été être avait était nous vous leur leurs sa son ses quel quelle "
    "quels quelles où très aussi lors depuis entre dont quand comment pourquoi combien quoi lequel "
    "laquelle lesquels lesquelles ont fut peut".split()
)
_ENGLISH_MARKERS = frozenset(
    "the of and to is in that it for was on are with as by this be from at an have not which were "
    "has had their its what who when where how does did been would can will they there these than "
    "why whom whose many much do".split()
)
# A question's first word says most about its language: "Who founded L'Oréal?" is English.
_OPENERS: dict[Language, frozenset[str]] = {
    "fr": frozenset("qui que quoi quand comment combien pourquoi quel quelle quels quelles où lequel "
                    "laquelle lesquels lesquelles peux pouvez".split()),
    "en": frozenset("who what when where why how which whom whose is are was were does do did can could "
                    "should will would has have".split()),
}  # fmt: skip
# Elided articles and pronouns (l'accident, d'enfants, qu'il), inverted "-t-on" and subjects
# after a verb ("Doit-on", "Faut-il", "Pouvons-nous"): French only.
_FRENCH_FORMS = re.compile(
    r"\b(?:[cdjlmnst]|qu)['’]\w|-t-(?:on|il|elle)s?\b|\w[td]-(?:on|ils?|elles?)\b|\w-(?:je|nous|vous)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+", re.UNICODE)
# French elisions: l'homme, d'abord, qu'il, jusqu'à — keep the word after the apostrophe.
_ELISION = re.compile(r"\b(?:[cdjlmnst]|qu|jusqu|lorsqu|puisqu|quoiqu)['’]", re.IGNORECASE)
_STEMMER_NAMES = {"fr": "french", "en": "english"}


def detect_language(text: str, default: Language = "en", *, accents_break_ties: bool = True) -> Language:
    """Vote with function words and French elisions; French accents break a tie.

    Questions are short ("Quand a lieu l'accident de Doris Day ?" has no function word of either
    list), so elisions and a question's opening word count double, and a tie with accents is
    French; with no sign at all the ``default`` wins (the answerer passes the language of the
    passages found). Without ``accents_break_ties`` a tie is the ``default``'s: a chunk of an
    English document listing "Alice Martin, Chloé Dubois" is English.
    """
    head = text.lower()[:4000]
    words = _WORD.findall(head)
    french = sum(word in _FRENCH_MARKERS for word in words) + 2 * len(_FRENCH_FORMS.findall(head))
    english = sum(word in _ENGLISH_MARKERS for word in words)
    if words and words[0] in _OPENERS["fr"]:
        french += 2
    elif words and words[0] in _OPENERS["en"]:
        english += 2
    if french == english:
        return "fr" if accents_break_ties and any(c in head for c in "éèêàùçôîœâû") else default
    return "fr" if french > english else "en"


def reads_as_french_or_english(text: str) -> bool:
    """Whether a text of four words or more holds two signs of French or English at least
    (function words, elisions, a question's opening word): "¿Cuántos días de teletrabajo por
    semana están permitidos?" holds one ("de"), "Wie viele Tage Homeoffice pro Woche sind
    erlaubt?" none; 9 of PIAF dev's 2,021 questions hold fewer ("Doris Day et Ella Fitzgerald")."""
    head = text.lower()[:4000]
    words = _WORD.findall(head)
    markers = _FRENCH_MARKERS | _ENGLISH_MARKERS
    signs = sum(word in markers for word in words) + len(_FRENCH_FORMS.findall(head))
    if words and (words[0] in _OPENERS["fr"] or words[0] in _OPENERS["en"]):
        signs += 2
    return len(words) < 4 or signs >= 2


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
    """Lower-cased word tokens with French elisions removed; accents composed first (a query
    typed on macOS may write « é » as two characters, which a word pattern would split)."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return _WORD.findall(_ELISION.sub(" ", text.lower()))


def analyze(text: str, language: Language, stop: frozenset[str] | None = None) -> list[str]:
    """Tokens for BM25: words → drop stopwords → Snowball stem → strip accents."""
    stop = stopwords(language) if stop is None else stop
    kept = [word for word in words(text) if strip_accents(word) not in stop and word != "_"]
    return [strip_accents(stem) for stem in _stemmer(language).stemWords(kept)]


def query_terms(query: str, languages: set[str]) -> list[str]:
    """Analyse a query in every language present in the collection (deduplicated, ordered)."""
    return list(dict.fromkeys(term for group in query_term_groups(query, languages) for term in group))


def query_term_groups(query: str, languages: set[str]) -> list[tuple[str, ...]]:
    """Each query word once, as its terms in every language present in the collection:
    "brake" is ("brak", "brake"). Coverage credits a word any of its forms holds; counted as
    two terms, the form no chunk holds weighed as a missing word, and a chunk holding every
    word of the query never reached full coverage in a French and English collection."""
    present = [lang for lang in LANGUAGES if lang in languages] or [detect_language(query)]
    stop = frozenset().union(*(stopwords(language) for language in present))
    analysed = [analyze(query, language, stop) for language in present]  # the same words, in order
    return list(dict.fromkeys(tuple(dict.fromkeys(forms)) for forms in zip(*analysed, strict=True)))
