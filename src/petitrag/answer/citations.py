"""Citations are checked, not trusted.

The model cites sources as [n]. Numbers outside 1..len(sources) are invented: they are
removed from the answer and not reported. When the model cites nothing (and did not
abstain), the passages whose text supports the answer — most of its content words and
all of its numbers — are cited instead. An answer whose words and numbers beyond the
question's are in none of the passages it was given did not come from them (``draws_on``).
Against passages in another language only numbers must be found, since words may be translated.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from petitrag.answer.numbers import (
    DETERMINERS,
    month_names,
    month_numbers,
    number_readings,
    numbers_in,
    spelled_numbers,
)
from petitrag.language import LANGUAGES, Language, analyze, stopwords, strip_accents, words

# a passage number, or a range: "[2-3]"; not "[1939-1945]", nor a value of the documents that
# no passage list reaches: "[0, 1]" (an interval), "ISO [27001]"
_CITED = r"(?:[1-9]\d?\s*[-–]\s*[1-9]\d?|[1-9]\d{0,2})(?![\d.])"
_CITATIONS = rf"0|{_CITED}(?:\s*[,;]\s*{_CITED})*"  # a lone "[0]": invented
#: a citation marker, without the space before it: what trimming and scoring take for one too
MARKER = rf"\[(?:{_CITATIONS})\]"
_MARKER = re.compile(rf"\s*\[({_CITATIONS})\]")
_REPEATED_MARKER = re.compile(r"(\[[\d, ]+\])(?:\s*\1)+")  # "casque [1] [1]": once is enough
_MAX_RANGE = 20  # "[1-1000]" cites no thousand passages
SUPPORT_THRESHOLD = 0.5
_RECITE_SUPPORT = 0.75  # moving a citation the model gave takes more than citing an uncited answer
_RECITE_WORDS = 3  # and an answer of at least this many content words, all of them elsewhere
#: the first words of a yes/no answer, which may rightly share no word with the sources and
#: whose words after them qualify it (trim.py cuts nothing then)
YES_NO = frozenset({"oui", "non", "yes", "no", "vrai", "faux", "true", "false"})


def cited_numbers(answer: str) -> list[int]:
    """Every number cited as [n] or [n, m], in order of first appearance."""
    seen: dict[int, None] = {}
    for match in _MARKER.finditer(answer):
        for number in _numbers_of(match):
            seen.setdefault(number, None)
    return list(seen)


def _numbers_of(marker: re.Match[str]) -> list[int]:
    """The passage numbers a marker cites, its ranges ("2-4") spelled out."""
    numbers: list[int] = []
    for part in re.split(r"[,;]", marker.group(1)):
        bounds = [int(bound) for bound in re.split(r"[-–]", part)]
        first, last = bounds[0], bounds[-1]
        numbers += (
            range(first, min(last, first + _MAX_RANGE) + 1) if last > first else dict.fromkeys((first, last))
        )
    return numbers


def remove_invalid(answer: str, count: int) -> str:
    """Drop citation markers that point outside 1..count; keep the valid ones."""

    def keep_valid(match: re.Match[str]) -> str:
        valid = [n for n in dict.fromkeys(_numbers_of(match)) if 1 <= n <= count]
        return f" [{', '.join(map(str, valid))}]" if valid else ""

    return _REPEATED_MARKER.sub(r"\1", _MARKER.sub(keep_valid, answer)).strip()


def renumber(answer: str, numbers: list[int]) -> str:
    """Markers as positions in ``numbers`` (the citations list): the model cites passages by
    their number in its prompt ("3 200 [3]"), a reader of the answer and its list of
    citations expects [1] to be the first listed ("3 200 [1]"). Numbers not listed are dropped."""
    position = {number: index for index, number in enumerate(numbers, start=1)}

    def renumbered(match: re.Match[str]) -> str:
        listed = [position[n] for n in _numbers_of(match) if n in position]
        return f" [{', '.join(map(str, dict.fromkeys(listed)))}]" if listed else ""

    return _MARKER.sub(renumbered, answer).strip()


def recited(answer: str, question: str, passages: list[Evidence], language: Language) -> str:
    """An answer citing one passage that does not hold it, when exactly one other passage does
    (or, of several, the one that supports it best) and shares one of its words, cites that one.
    Read all passages, the 1.5B model wrote "3 200 euros [5]" for the price of passage [4], and
    cited the phone-support passage for a list of equipment that only another passage holds.
    Held: by numbers, every number the answer adds to the question; without them, a cited
    passage that shares no content word with the answer, when one other supports it well (a
    passage it only cites is not changed: nothing tells which it meant)."""
    cited = cited_numbers(answer)
    if len(cited) != 1:
        return answer
    # a 1 is too often written "un", "a", "one" to tell which passage holds it ("1 an")
    readings = [
        values for values in _unasked(_answer_numbers(strip_markers(answer)), question) if "1" not in values
    ]
    if readings:
        if _found(readings, passages[cited[0] - 1].numbers):
            return answer
        holding = [
            number for number, passage in enumerate(passages, start=1) if _found(readings, passage.numbers)
        ]
        holders = _best_supported(
            _sharing_a_word(holding, answer, passages, language), answer, passages, language
        )
    else:
        cited_passage, said = passages[cited[0] - 1], content_words(strip_markers(answer))
        if said & cited_passage.words:
            return answer
        if len(said) < _RECITE_WORDS:  # "By e-mail", "Friday": a paraphrase or a translation, maybe;
            holders = _naming(answer, passages)  # but a name is written alike ("Sophie Martin [1]")
        else:
            scores = support_each(answer, passages, language)
            if cited_passage.language != language or scores[cited[0] - 1] > 0:
                return answer  # shares no word with the answer: proves nothing
            holders = [number for number, score in enumerate(scores, start=1) if score >= _RECITE_SUPPORT]
    if len(holders) != 1:
        return answer
    return re.sub(rf"\[{cited[0]}\]", f"[{holders[0]}]", answer)


def _sharing_a_word(
    holders: list[int], answer: str, passages: list[Evidence], language: Language
) -> list[int]:
    """Of the passages holding an answer's numbers, those sharing one of its words too, when it
    has any: "200 salariés [1]" moved to "Le parking compte 200 places" (its [1] wrote "deux
    cents salariés", then read as no 200). A bare "300 [3]" has nothing else to go by."""
    plain = strip_markers(answer)
    terms = {term for term in analyze(plain, language) if not _DIGITS.fullmatch(term)}
    said = content_words(plain)
    if not terms and not said:
        return holders

    def shares(passage: Evidence) -> bool:
        return bool(said & passage.words or (passage.language == language and terms & passage.terms))

    return [number for number in holders if shares(passages[number - 1])]


_DIGITS = re.compile(r"[\d.,]+")


def _naming(answer: str, passages: list[Evidence]) -> list[int]:
    """The passages holding every name of a short answer (its capitalised words, "Sophie
    Martin"); none when it names nothing."""
    capitalised = [word.lower() for word in re.findall(r"\w+", strip_markers(answer)) if word[:1].isupper()]
    names = _content(capitalised) - YES_NO
    if not names:
        return []
    return [number for number, passage in enumerate(passages, start=1) if names <= passage.words]


def _best_supported(
    holders: list[int], answer: str, passages: list[Evidence], language: Language
) -> list[int]:
    """Of several passages holding the answer's numbers, the one that supports it best ("300
    euros [3]": [2] says "300 euros", [1] only "AquaPure 300"); of several as good, the first
    read (the cited one holds none: keeping it cited a lease's "Objet du contrat" for the
    deposit that articles 4 and 5 both give)."""
    if len(holders) < 2:
        return holders
    scores = support_each(answer, passages, language)
    return sorted(holders, key=lambda number: scores[number - 1], reverse=True)[:1]


def strip_markers(answer: str) -> str:
    """The answer without any [n] marker (for scoring and support checks)."""
    return _MARKER.sub("", answer).strip()


def _found(readings: list[frozenset[str]], numbers: frozenset[str]) -> bool:
    """Whether every number (any of its readings) is among ``numbers``."""
    return all(values & numbers for values in readings)


@dataclass(frozen=True)
class Evidence:
    """A passage analysed once, to check many answers or sentences against it."""

    numbers: frozenset[str]
    terms: frozenset[str]  # analysed in ``language``: comparable with answers in that language only
    language: str
    words: frozenset[str]  # plain content words, comparable across languages

    @classmethod
    def of(cls, passage: str, language: str) -> Evidence:
        analysed = analyze(passage, language) if language in LANGUAGES else []  # type: ignore[arg-type]
        plain = words(passage)
        numbers = (
            numbers_in(passage, both_ways=True, scale_apart=True)
            | spelled_numbers(passage)
            | month_names(passage)
        )
        return cls(numbers, frozenset(analysed), language, frozenset(_content(plain)))


def support(answer: str, passage: str, language: Language) -> float:
    """Share of the answer's content terms found in the passage; 0 if a number is missing."""
    return support_each(answer, [Evidence.of(passage, language)], language)[0]


def support_each(answer: str, passages: list[Evidence], language: Language) -> list[float]:
    """``support`` against each passage, analysing the answer once. A passage in another
    language than the answer's is judged on what survives translation (``_support_across``).
    A list's numbering and a 1 need not be found, as in ``draws_on``: an uncited "1 mois." over
    "un mois", or a numbered list of steps, was supported by no passage and refused."""
    plain = _LIST_NUMBERS.sub("", strip_markers(answer))
    numbers = [values for values in _answer_numbers(plain) if "1" not in values]
    terms = set(analyze(plain, language)) - {"1"}
    as_written = content_words(plain)
    return [
        _support_across(numbers, as_written, passage)
        if passage.language != language and passage.language in LANGUAGES
        else len(terms & passage.terms) / len(terms)
        if terms and _found(numbers, passage.numbers)
        else 0.0
        for passage in passages
    ]


def _support_across(numbers: list[frozenset[str]], as_written: set[str], passage: Evidence) -> float:
    """Support of a sentence by a passage in another language: its words may be translated,
    so a missing word proves nothing, but its numbers must all be there. At least one number,
    or words found as written (a name: "PostgreSQL") that are two or half of its words, make it
    a supporting passage (0.5), the more of its words found, the better (up to 1). One name
    shared by a longer sentence proves little: "The apartment in Lyon has a swimming pool",
    of a French lease in Lyon, was cited."""
    if not _found(numbers, passage.numbers):
        return 0.0
    shared = len(as_written & passage.words)
    if not numbers and (not shared or (shared < 2 and 2 * shared < len(as_written))):
        return 0.0
    return 0.5 + 0.5 * shared / max(len(as_written), 1)


def supporting(answer: str, passages: list[Evidence], language: Language) -> list[int]:
    """1-based numbers of the passages that support the answer, best first."""
    scores = [
        (score, number) for number, score in enumerate(support_each(answer, passages, language), start=1)
    ]
    best = sorted((s for s in scores if s[0] >= SUPPORT_THRESHOLD), key=lambda s: (-s[0], s[1]))
    return [number for _, number in best[:2]]


def draws_on(answer: str, question: str, passages: list[Evidence], language: Language) -> bool | None:
    """Whether the answer adds to the question something found in one of the passages: a
    content word or a number that the question does not already hold; and every number it
    adds must be in a passage, whatever the words around it (SmolLM2: "Le jour de présence
    obligatoire est le 14 mars 1947", every word but the date from the passage), except 1:
    passages write it "un", "une", "a", words too common to count as numbers ("1 kilomètre plus
    au sud" for "un kilomètre plus au sud").

    False is a small model answering from its own knowledge despite the rules: asked for the
    capital of Australia over a neighbourhood meeting's minutes, the 1.5B model answers
    "Melbourne [1]"; asked when a club was founded, "1900 [1]" where its passage gives no
    year (reading all passages then finds "1902 [3]"). None when there is nothing to judge:
    no content word nor number, a yes/no answer, or an answer made only of the question's
    words. Those are often useless restatements ("Qui est le beau-frère d'Henriette ?" →
    "Henriette [1]"), but English questions often hold their answer ("What is the term given
    to algorithms that utilize random bits?" → "randomized algorithms"), so ``restates`` tells
    them apart and the answerer decides per language. A yes/no answer is judged on its numbers
    alone: False when one is made up, else None.
    """
    added = _added(answer, question, language)
    if added is None:  # "Yes, a deposit of 2,000 euros is required [1]" over "1,700 euros" was kept
        unasked = _unasked(_answer_numbers(strip_markers(answer)), question)
        return False if _made_up(unasked, passages) else None
    if not any(added):
        return None
    plain, (new_terms, new_numbers) = strip_markers(answer), added
    if _made_up(new_numbers, passages):
        return False  # a number no passage holds, in any language: made up ("le 14 mars 1947")
    same = [passage for passage in passages if passage.language == language]
    spelled = _spelled_terms(plain, language)  # "Dix jours" is the "10 jours" of its passage
    if any(
        new_terms & passage.terms
        or _any_found(new_numbers, passage.numbers)
        or any(spelled.get(term) in passage.numbers for term in new_terms)
        for passage in same
    ):
        return True
    others = [passage for passage in passages if passage.language != language]
    if not others:
        return False
    # Passages in another language: the answer may translate their words, so a word found
    # as written (a name: "Apple") supports it but a missing one proves nothing; numbers are
    # written alike in both languages, so a new one that no passage holds was made up.
    new_words = content_words(plain) - content_words(question)
    if any(_any_found(new_numbers, passage.numbers) or new_words & passage.words for passage in others):
        return True
    return False if new_numbers else None


def _made_up(numbers: list[frozenset[str]], passages: list[Evidence]) -> bool:
    """Whether a number (but a 1: "un", "a") is in no passage, whatever their language."""
    return not all(
        "1" in values or any(values & passage.numbers for passage in passages) for values in numbers
    )


def _spelled_terms(plain: str, language: Language) -> dict[str, str]:
    """The answer's numbers written out, by term: {"dix": "10"} for "Dix jours"."""
    found = {}
    for word in words(plain):
        values = spelled_numbers(word)
        for term in analyze(word, language) if len(values) == 1 else []:
            found[term] = next(iter(values))
    return found


def restates(answer: str, question: str, language: Language, topic: frozenset[str] = frozenset()) -> bool:
    """Whether the answer is made only of the question's words ("Qui est le beau-frère
    d'Henriette ?" → "Henriette [1]") or, repeating one of them, of the question's words and
    ``topic``'s (``topic_terms`` of the headings of the passages read: "Comment entretenir la
    chaîne du vélo ?" → "Le guide d'entretien du vélo électrique [1]"), the question offering no
    choice ("haut ou bas ?") and the answer being no yes/no: it tells the user nothing they did
    not say or the document's title did not. An answer that is a title without repeating the
    question ("Qui était-elle ?" → "Madame de Maintenon") is no restatement."""
    added = _added(answer, question, language)
    if added is None or _CHOICE.search(question):
        return False
    if not any(added):
        return True
    repeats = set(analyze(strip_markers(answer), language)) & set(analyze(question, language))
    return bool(repeats) and _within(added, topic) and not _names(answer, added[0], language)


def adds_only_topic(answer: str, question: str, language: Language, topic: frozenset[str]) -> bool:
    """Whether all that the answer adds to the question is ``topic``'s terms (no number) and
    no name (``_names``)."""
    added = _added(answer, question, language)
    return added is not None and _within(added, topic) and not _names(answer, added[0], language)


def _names(answer: str, new_terms: set[str], language: Language) -> bool:
    """Whether a word the answer adds is a name (capitalised after its first word): "La société
    Lumen Conseil SAS [1]", asked the company's name that only a title gives, is an answer,
    not a restatement like "Le guide d'entretien du vélo [1]"."""
    later = re.findall(r"\w+", strip_markers(answer))[1:]
    return any(word[:1].isupper() and set(analyze(word, language)) & new_terms for word in later)


def topic_terms(headings: str, language: Language) -> frozenset[str]:
    """The terms of headings (titles, section paths), analysed once for ``restates``."""
    return frozenset(analyze(headings, language))


def _within(added: tuple[set[str], list[frozenset[str]]], topic: frozenset[str]) -> bool:
    new_terms, new_numbers = added
    return bool(topic) and not new_numbers and new_terms <= topic


def _added(answer: str, question: str, language: Language) -> tuple[set[str], list[frozenset[str]]] | None:
    """The answer's content terms and numbers (``number_readings``) that the question does not
    hold; None when it has none to judge (only stopwords, or a yes/no answer)."""
    plain = strip_markers(answer)
    tokens = words(plain)
    terms, numbers = set(analyze(plain, language)), _answer_numbers(plain)
    if (not terms and not numbers) or (tokens and tokens[0] in YES_NO):
        return None
    counted = _COUNT_QUESTION.search(question)
    if (
        counted
        and len(tokens) > 1
        and tokens[0] in DETERMINERS
        and _same_term(tokens[1], counted[1], language)
    ):
        return None  # "Combien de fois… ?" → "Une fois par an": the "une" is the answer, not a determiner
    return terms - set(analyze(question, language)), _unasked(numbers, question)


def _answer_numbers(plain: str) -> list[frozenset[str]]:
    """The readings of each number an answer (without markers) gives, a list's numbering aside,
    its millions as millions ("$3.2 billion [1]" was kept over "$3.2 million"), and the months
    of its dates ("month:6" of "15 June 2025": "On 15 June 2025 [1]" was kept over "15 April
    2025", a month name being no number)."""
    unlisted = _LIST_NUMBERS.sub("", plain)
    months = [frozenset({month}) for month in sorted(month_numbers(unlisted))]
    return number_readings(unlisted, as_answer=True) + months


def _unasked(readings: list[frozenset[str]], question: str) -> list[frozenset[str]]:
    """The numbers the question does not hold already."""
    asked = numbers_in(question) | month_names(question)
    return [values for values in readings if not values & asked]


#: a question for a count, and what it counts: "Combien de fois…", "How many days…"
_COUNT_QUESTION = re.compile(r"\b(?:combien\s+(?:de|d')\s*|how\s+many\s+)(\w+)", re.IGNORECASE)


def _same_term(word: str, other: str, language: Language) -> bool:
    """The two words analyse to the same term ("jour", "jours")."""
    term = analyze(word, language)
    return bool(term) and term == analyze(other, language)


#: "1. ", "2) ", "(3) " opening a line: a list's numbering, not numbers the answer claims
_LIST_NUMBERS = re.compile(r"^[ \t]*(?:\d{1,2}[.)]|\(\d{1,2}\))[ \t]+", re.MULTILINE)


def _any_found(readings: list[frozenset[str]], numbers: frozenset[str]) -> bool:
    return any(values & numbers for values in readings)


_CHOICE = re.compile(r"\b(?:ou|or)\b", re.IGNORECASE)


def borrows(answer: str, seen: set[str], names: frozenset[str]) -> bool:
    """Whether the answer holds one of ``names`` (the worked examples' names and numbers) that
    is not in ``seen`` (``plain_words`` of the question and the passages): it was copied from
    the examples. Judged on plain words, so it holds whatever the passages' language."""
    return bool((plain_words(strip_markers(answer)) & names) - seen)


def plain_words(*texts: str) -> set[str]:
    """Lower-cased, unaccented words and the numbers as written ("112,000"), of all ``texts``."""
    return {strip_accents(word) for text in texts for word in words(text)} | {
        number for text in texts for number in WRITTEN_NUMBER.findall(text)
    }


def content_words(text: str) -> set[str]:
    """Lower-cased, unaccented words of a text that are no stopword in either language."""
    return _content(words(text))


def _content(tokens: list[str]) -> set[str]:
    stop = _stopwords_of_any_language()
    return {plain for plain in map(strip_accents, tokens) if plain not in stop and not plain.isdigit()}


@functools.cache
def _stopwords_of_any_language() -> frozenset[str]:
    return frozenset().union(*(stopwords(language) for language in LANGUAGES))


#: a number as written, separators included ("112,000"): how the worked examples' numbers are matched
WRITTEN_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
