"""Answers say what the question asked, not the question again.

Asked "Quel animal a offert le père à son fils aîné ?", the small model often answers with a
sentence: "Le père a offert un chevreau à son fils aîné [1]". The answer is "un chevreau"; the
rest repeats the question (and costs token F1 against a short gold answer). ``trimmed`` drops
such a frame at either edge of the answer: a run of the question's words and stopwords holding
at least ``MIN_REPEATED`` of the question's words, cut after the last of them at the start (the
determiner of what the answer adds stays: "un chevreau") and before the run at the end, when
that run opens a phrase ("à son fils aîné"). While an answer streams, ``settled`` says how much
of it no later token can change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from petitrag.answer.citations import MARKER, YES_NO
from petitrag.answer.numbers import number_readings
from petitrag.language import Language, analyze, stopwords, strip_accents

#: question words an edge must repeat to be cut: one alone is often part of the answer's name
#: ("L'université de Chicago" for "Quelle université…") — unless a leading one is followed by
#: a verb of being or having: then it is a clause ("La fumée était | noire")
MIN_REPEATED = 2
_AUXILIARIES: dict[Language, frozenset[str]] = {
    "fr": frozenset("est était sont étaient fut furent sera seront a ont avait avaient eut".split()),
    "en": frozenset("is was are were be been has have had".split()),  # not "a": an article here
}
#: a question answered yes or no: its answer's repeated words are the yes ("est reporté au 15
#: septembre" cut to "Au 15 septembre" lost it)
_YES_NO_QUESTION = re.compile(
    r"^(?:est-ce|is|are|was|were|do|does|did|can|could|will|would|should|shall|has|have|had|may|must)\b"
    r"|\w-(?:t-)?(?:il|elle|ils|elles|on)\b",
    re.IGNORECASE,
)
_ASKS_WHAT = re.compile(
    r"\b(?:qu['’]|que|qui|quoi|quel|quelle|quels|quelles|quand|comment|pourquoi|où|combien|lequel|laquelle"
    r"|what|which|when|where|who|whom|whose|how|why)\b",
    re.IGNORECASE,
)  # "Can you tell me when the office opens?" asks when, not yes or no
#: a trailing run that starts with one of these is another item of a list, not a frame
_CONJUNCTIONS = frozenset({"and", "or", "nor", "et", "ou", "ni"})
_TOKEN = re.compile(rf"{MARKER}|\w+(?:[-‐]\w+)*")  # "worst-case" is one word; "[0, 1]" is no marker
_TRAILING_MARKERS = re.compile(rf"(?:\s*{MARKER})+\s*[.!]?\s*$")
#: a last word a token may still add to, or a number with what may continue it: "3." of 3.5,
#: "3," of 3,500, "3 " of 3 500 (shown, then judged once whole, it was withdrawn)
_PARTIAL_WORD = re.compile(r"\d+(?:[.,\s\u202f\xa0]\d+)*[.,\s\u202f\xa0]?$|\w+$")
_EDGE = " ,;:."
_ABBREVIATED = re.compile(r"(?:^|[\s.])[^\W\d]\.[^\W\d]\.$")  # "10 p.m.": its last period stays ("2.5." not)
#: the noun after "quel"/"what" names what the answer is ("À quel niveau…" → "au deuxième niveau"):
#: repeated, it is the answer's head, not a frame
_ASKED_FOR = re.compile(r"\b(?:quel|quelle|quels|quelles|what|which)\s+(\w+)", re.IGNORECASE)
_OPENING_QUOTES, _CLOSING_QUOTES = "«“", "»”"
#: a frame holding one of these is not cut: it carries the answer's meaning
_NEGATION = re.compile(
    r"\b(?:not|never|no|none|nobody|nothing|neither|nor|cannot|without|ne|pas|jamais|aucun|aucune|"
    r"rien|ni|sans)\b|\w+n['’]t\b|\bn['’]",
    re.IGNORECASE,
)
#: what a cut frame may leave before a number: the "de" of "est de 265 euros", the "of" of "a
#: penalty of 10%" (left, "After 30 days, a penalty of 10% applies" became "Of 10% applies")
_OF_NUMBER = re.compile(
    r"[\s,;:]*(?:de|d['’]|of)\s*(?=\d|(?:un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|"
    r"quinze|vingt|trente|quarante|cinquante|soixante|cent|mille|one|two|three|four|five|six|seven|eight|"
    r"nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|hundred|thousand)\b)",
    re.IGNORECASE,
)  # "est d'un mois" → "Un mois"
#: any other "of"/"de" after the frame goes on with the frame's noun: "The cleaning fee | of the
#: apartment is 50 euros" is not cut
_OF = re.compile(r"[\s,;:]*(?:de|of)\b|[\s,;:]*d['’]", re.IGNORECASE)
#: what a time's number carries: "At 10 am, the store opens on Sundays" lost its "am" (a
#: stopword) with the frame after it, leaving "At 10"
_TIME_OF_DAY = re.compile(r"(?<=\d)\s?(?:[ap]\.?m\b\.?|h\b)", re.IGNORECASE)
#: what separates the items of an answer: "30 days for in-store purchases, 14 days for online
#: purchases" (a trailing frame there qualifies its item as the first item's words do)
_ITEM_SEPARATOR = re.compile(r"[,;]\s|\s(?:and|or|et|ou)\s", re.IGNORECASE)


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    kind: Literal["repeated", "filler", "marker", "word"]  # repeated: one of the question's words
    word: str = ""  # lower-cased, accents kept ("à" is no "a")
    capitalized: bool = False
    auxiliary: bool = False  # a form of to be or to have

    @property
    def framing(self) -> bool:
        return self.kind in ("repeated", "filler")


@dataclass(frozen=True)
class _Cut:
    text: str  # the answer without its frame
    settled: int  # how many of its first characters no later text can change


def trimmed(answer: str, question: str, language: Language) -> str:
    """The answer without the question's words it repeats around what it adds; unchanged when
    it adds nothing (a restatement is the abstention checks' business)."""
    return _cut(answer.strip(), question, language).text


def settled(text: str, question: str, language: Language) -> tuple[str, int]:
    """``trimmed`` of an answer still streaming, and how many of its first characters are final:
    up to the last word the answer adds, the last, maybe partial, word aside (a leading frame
    is settled once such a word follows it; a trailing one only when the answer ends)."""
    cut = _cut(complete_words(text.lstrip()), question, language)
    return cut.text, cut.settled


def complete_words(text: str) -> str:
    """``text`` without its last word when a token may still be adding to it ("14 ma", "3.")."""
    tail = max(0, len(text) - 200)  # matched on the end only: run on every token of a stream
    return text[:tail] + _PARTIAL_WORD.sub("", text[tail:])


def _cut(answer: str, question: str, language: Language) -> _Cut:
    markers = _TRAILING_MARKERS.search(answer)
    body, tail = (answer[: markers.start()], markers.group().strip()) if markers else (answer, "")
    tokens = _tokens(body, question, language)
    yes_no_question = _YES_NO_QUESTION.search(question.strip()) and not _ASKS_WHAT.search(question)
    # the words repeating "Le séminaire est-il reporté ?" say yes; after "Non, …" the rest qualifies it
    if yes_no_question or (tokens and tokens[0].word in YES_NO):
        return _Cut(answer, max((t.end for t in tokens if not t.framing), default=0))
    start, end = _frame_end(tokens), _frame_start(tokens)
    # "est de 265 euros" → "265 euros", not "De 265 euros"; "The cleaning fee | of the…" stays
    if start and (of := _OF_NUMBER.match(body, start)):
        start = of.end()
    elif start and _OF.match(body, start):
        start = 0
    if _quoted(body[:start]):  # inside a title or quotation: "« De la démocratie | en Amérique »"
        start = 0
    if end is not None and _quoted(body[end:][::-1].translate(_MIRROR)):
        end = None
    # "Le mercredi est un jour | de présence obligatoire": a clause's complement cut left
    # "Le mercredi est un jour"; a trailing frame goes only after the answer itself
    if end is not None and any(t.auxiliary for t in tokens if start <= t.start < end):
        end = None
    if end is not None and _qualifies_an_item(body[start:end], tokens, end):
        end = None
    # "USB sticks are not allowed on company computers" → "USB sticks": a frame holding a
    # negation is not cut, the answer would say the opposite (a question's own "not" may go)
    if not _NEGATION.search(question):
        start = 0 if _NEGATION.search(body[:start]) else start
        end = None if end is not None and _NEGATION.search(body[_clause_start(body, end) :]) else end
    added = [t for t in tokens if t.kind == "word" and t.start >= start and (end is None or t.start < end)]
    if not added or (start == 0 and end is None):
        return _Cut(answer, max((t.end for t in tokens if not t.framing), default=0))
    kept = body[start : len(body) if end is None else end]
    offset = start + len(kept) - len(kept.lstrip(_EDGE + " "))
    kept = kept.strip(_EDGE).strip() + ("." if _ABBREVIATED.search(kept.rstrip()) else "")
    if start:
        kept = kept[:1].upper() + kept[1:]
    settled_end = max(t.end for t in tokens if not t.framing and t.start >= start) - offset
    return _Cut(f"{kept} {tail}" if tail else kept, max(0, settled_end))


#: where a clause begins: after a sentence's or clause's punctuation, or a citation marker
_CLAUSE_BREAK = re.compile(rf"[;:.!?\n]|{MARKER}")


def _clause_start(body: str, end: int) -> int:
    """Where the clause holding ``end`` begins: a trailing frame after a negation leaves it
    without its object ("the documents do not mention | a pet fee" cut to "…do not mention")."""
    breaks = [match.end() for match in _CLAUSE_BREAK.finditer(body, 0, end)]
    return breaks[-1] if breaks else 0


_MIRROR = str.maketrans(_CLOSING_QUOTES + _OPENING_QUOTES, _OPENING_QUOTES + _CLOSING_QUOTES)


def _quoted(text: str) -> bool:
    """Whether a quotation opened in ``text`` is still open at its end (straight quotes: an odd
    number of them)."""
    depth = 0
    for char in text:
        depth += (char in _OPENING_QUOTES) - (char in _CLOSING_QUOTES)
    return depth > 0 or text.count('"') % 2 == 1


def _qualifies_an_item(kept: str, tokens: list[_Token], end: int) -> bool:
    """Whether the trailing frame qualifies the last of several items, as the same word does an
    earlier one: "30 days for in-store purchases, 14 days | for online purchases" cut to "…, 14
    days" read as if 14 days held for both."""
    opener = next(token.word for token in tokens if token.start == end)
    separators = list(_ITEM_SEPARATOR.finditer(kept))
    earlier = kept[: separators[-1].start()] if separators else ""
    return re.search(rf"(?<!\w){re.escape(opener)}(?!\w)", earlier, re.IGNORECASE) is not None


def _tokens(body: str, question: str, language: Language) -> list[_Token]:
    head = {term for noun in _ASKED_FOR.findall(question) for term in analyze(noun, language)}
    asked_terms, asked_numbers = set(analyze(question, language)) - head, number_readings(question)
    stop = stopwords(language)
    timed = {at for time in _TIME_OF_DAY.finditer(body) for at in range(time.start(), time.end())}
    tokens = []
    for match in _TOKEN.finditer(body):
        word, plain = match.group(), strip_accents(match.group().lower())
        if word.startswith("["):
            tokens.append(_Token(match.start(), match.end(), "marker"))
            continue
        if match.start() in timed:  # the "am" of "10 am" is the number's
            tokens.append(_Token(match.start(), match.end(), "word", word.lower()))
            continue
        terms = analyze(word, language)
        if (
            _repeats_number(word, asked_numbers)
            if word.isdigit()
            else bool(terms) and set(terms) <= asked_terms
        ):
            tokens.append(_Token(match.start(), match.end(), "repeated", word.lower(), word[:1].isupper()))
            continue
        elided = body[match.end() : match.end() + 1] in ("'", "’") and len(word) <= 3
        filler = elided or (not word.isdigit() and (plain in stop or not terms))
        kind = "filler" if filler else "word"
        auxiliary = filler and word.lower() in _AUXILIARIES[language]
        tokens.append(_Token(match.start(), match.end(), kind, word.lower(), word[:1].isupper(), auxiliary))
    return tokens


def _repeats_number(word: str, asked: list[frozenset[str]]) -> bool:
    """Whether a number repeats one of the question's, each of those once: in "The price of
    the AquaPure 300 is 300 euros" the second 300 is the answer (it was cut, leaving "Euros")."""
    repeated = next((values for values in asked if word in values), None)
    if repeated is not None:
        asked.remove(repeated)
    return repeated is not None


def _frame_end(tokens: list[_Token]) -> int:
    """Where the answer starts once a leading frame is cut: after its last repeated word, and
    the verb of being or having right after it. Without such a verb the frame must end where a
    stopword starts the answer ("Le père a offert | un chevreau"), so that a noun phrase is not
    cut ("time and space | hierarchy theorems"); never inside the subject of a verb that follows
    ("Les pays conquis par les sultans | ottomans sont…"), nor before a first cited item, nor
    within a name or title ("On the Computational Complexity | of Algorithms", "Farooq Leghari
    | est élu…")."""
    repeated, names, verb, cut, cut_index, after = 0, 0, False, 0, -1, len(tokens)
    for index, token in enumerate(tokens):
        if not token.framing:
            after = index
            break
        if token.kind == "repeated":
            repeated, cut, cut_index = repeated + 1, token.end, index
            names += token.capitalized and index > 0
        elif token.auxiliary and repeated:
            verb, cut, cut_index = True, token.end, index
    if any(token.auxiliary for token in tokens[after : after + 2]) or (
        after < len(tokens) and tokens[after].kind == "marker"
    ):
        return 0
    if repeated >= MIN_REPEATED and names >= repeated - (tokens[0].kind == "repeated"):
        return 0
    if verb and _another_clause(tokens[after:]):
        return 0  # "Parental leave is | 16 weeks and sick leave is 12 days": cut, one part lost its name
    stopword_follows = cut_index + 1 < after  # the run goes on with stopwords after the cut
    return cut if verb or (repeated >= MIN_REPEATED and stopword_follows) else 0


def _another_clause(tokens: list[_Token]) -> bool:
    """Whether the answer goes on, after "and"/"et", with another of the question's items and
    what it is ("and sick leave is 12 days", "et le congé maladie de 12 jours"): the frame
    names the first of several answers, each named by its own."""
    joined, run = False, 0
    for token in tokens:
        if token.kind == "repeated":
            run += joined
        elif token.word in _CONJUNCTIONS:
            joined, run = True, 0
        elif joined and run and (token.auxiliary or (token.kind == "word" and run >= MIN_REPEATED)):
            return True
        elif token.kind != "filler":
            run = 0
    return False


def _frame_start(tokens: list[_Token]) -> int | None:
    """Where the answer ends once a trailing frame is cut: before the frame's first word; None
    when it has none. A frame opens a phrase (a preposition or a verb: "à son fils aîné",
    "if graph isomorphism is…"; not "and": that is a list's last item), so "The integer
    factorization problem" keeps its noun; nor is a cited item cut whole ("X [1] and Y [2]")."""
    repeated, index = 0, len(tokens)
    while index and tokens[index - 1].framing:
        index -= 1
        repeated += tokens[index].kind == "repeated"
    if repeated < MIN_REPEATED or index == len(tokens) or tokens[index].kind != "filler":
        return None
    if tokens[index].word in _CONJUNCTIONS:  # "analysis of algorithms | and computability theory"
        return None
    if index and tokens[index - 1].kind == "marker":
        return None
    return tokens[index].start


#: a sentence ends at . ! ? before a space or the end, or at a line end: "$9.99", "2.5" and
#: "e.g.x" go on (split there, "99 per month" of "$14.99 per month" repeated "$9.99 per month")
_SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?](?![\s]|$))+(?:[.!?]+(?=\s|$)|\n|$)")
_MARKER = re.compile(r"\[\d+\]")


#: a line where the model goes on writing its prompt's template ("Khalkhorum.\n\nQuestion: …"),
#: matched from the last line break before the word: "\n\s*" was tried at every break of a run
#: of them, quadratic (an answer ending in 255 tokens of "\n\n\n\n" took 4.5 s to stream)
_TEMPLATE_ECHO = re.compile(
    r"\n[^\S\n]*(?:Question|Sources?|Answer|Réponse|Context|Contexte)\s*(?::|(?P<end>$))", re.IGNORECASE
)


def template_echo(text: str, finished: bool = True) -> int | None:
    """Where the answer's text goes on with a line of the prompt's template (a new "Question:"
    after the answer, which SmolLM2 writes), None when it does not. A last line that is only
    the word ("…\n\nQuestion", its colon a stop string) counts once the text is ``finished``:
    while it streams, that line may be "Sources of funding: …"."""
    for match in _TEMPLATE_ECHO.finditer(text):
        if finished or match.group("end") is None:
            return match.start()
    return None


def undecided_template_line(text: str) -> int | None:
    """Where ``text``, still streaming, goes on with a line of the template, or with a last line
    that may still become one ("…\n\nQues", "…\n\nQuestion", a line not begun yet): shown, "850
    euros [1].\n\nQuestion : " flowed, then the answer ended before it. None when neither."""
    cut = template_echo(text, finished=False)
    if cut is None and (line_start := text.rfind("\n")) >= 0:
        line = text[line_start + 1 :].strip().casefold()
        cut = line_start if any(word.startswith(line) for word in _TEMPLATE_WORDS) else None
    return None if cut is None else len(text[:cut].rstrip())  # the line breaks before it too


_TEMPLATE_WORDS = ("question", "sources", "answer", "réponse", "context", "contexte")


def first_repeat(text: str, streaming: bool = False) -> int | None:
    """Where the first sentence that says an earlier one again begins (three words at least,
    markers and case aside), None without one: small models loop ("La batterie lithium-ion de
    500 Wh." a dozen times) until their token limit. A right answer never says a sentence twice.
    While ``streaming``, so does a last sentence not ended yet that says the start of an earlier
    one ("C'est 850 euros. C'est 85"): shown, the loop flowed, then the answer was cut before it."""
    seen: set[str] = set()
    for sentence in _SENTENCE.finditer(text):
        said = " ".join(_MARKER.sub("", sentence.group()).casefold().split()).rstrip(".!?")
        if streaming and not sentence.group().endswith((".", "!", "?", "\n")):  # the last one
            return sentence.start() if said and any(earlier.startswith(said) for earlier in seen) else None
        if len(said.split()) < 3:
            continue
        if said in seen:
            return sentence.start()
        seen.add(said)
    return None
