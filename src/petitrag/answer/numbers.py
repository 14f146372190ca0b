"""Numbers as values: the answer's "09h00", "6 pm", "4 March", "quinze jours" are the "9 h",
"18:00", "04/03", "15 jours" of a passage. Answers are checked against their passages by the
numbers they give (citations.py), so a number read two ways is an answer wrongly refused.
"""

from __future__ import annotations

import re
from decimal import Decimal

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_GROUPED_DECIMAL = re.compile(r"\b(\d{1,3}(?:,\d{3})+)\.(?=\d)")  # English "7,200.50": commas group
#: a time: "09h00", "9:00" and "18 h 30" are the "9 h" and "18 h 30" of a passage
_CLOCK = re.compile(r"\b(\d{1,2})\s?([h:])\s?(\d{2}\b)?")
#: a 12-hour time: "6 pm", "2:30 p.m.", "8.30am"
_TWELVE_HOUR = re.compile(r"\b(\d{1,2})(?:[:.h](\d{2}))?\s?([ap])\.?\s?m\b\.?", re.IGNORECASE)
_NOON = re.compile(r"\b(?:noon|midday|(?<![-\w])midi(?!-))\b", re.IGNORECASE)  # not "après-midi"
_MIDNIGHT = re.compile(r"\b(?:midnight|minuit)\b", re.IGNORECASE)
_THOUSANDS = re.compile(r"\b\d{1,3}(?:,\d{3}){2,}\b")  # two groups or more: only thousands

#: numbers written out, as digits: a passage's "quatre" is the answer's "4" (also the bench's
#: normalisation of answers, docs/bench.md: kept as it is, scores depend on it)
NUMBER_WORDS = {
    "zero": "0", "un": "1", "une": "1", "one": "1", "deux": "2", "two": "2", "trois": "3", "three": "3",
    "quatre": "4", "four": "4", "cinq": "5", "five": "5", "six": "6", "sept": "7", "seven": "7",
    "huit": "8", "eight": "8", "neuf": "9", "nine": "9", "dix": "10", "ten": "10", "onze": "11",
    "eleven": "11", "douze": "12", "twelve": "12", "vingt": "20", "twenty": "20", "cent": "100",
    "hundred": "100", "mille": "1000", "thousand": "1000",
}  # fmt: skip
#: and up to 99, for passages: "quinze jours", "thirty days", "vingt-cinq", "soixante et onze"
_MORE_WORDS = {
    "treize": 13, "thirteen": 13, "quatorze": 14, "fourteen": 14, "quinze": 15, "fifteen": 15,
    "seize": 16, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "trente": 30,
    "thirty": 30, "quarante": 40, "forty": 40, "cinquante": 50, "fifty": 50, "soixante": 60,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "vingts": 20,
}  # fmt: skip
_UNDER_100 = {word: int(value) for word, value in NUMBER_WORDS.items() if int(value) < 100} | _MORE_WORDS
_TENS = (
    r"(?:quatre-vingts?|vingt|trente|quarante|cinquante|soixante|twenty|thirty|forty|fifty|sixty|seventy"
    r"|eighty|ninety)"
)
_UNITS = (
    r"(?:dix-sept|dix-huit|dix-neuf|un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|treize"
    r"|quatorze|quinze|seize|one|two|three|four|five|six|seven|eight|nine)"
)
_ANY_WORD = "|".join(sorted(_UNDER_100, key=len, reverse=True))
#: a tens word and its unit ("vingt-cinq", "twenty five", "soixante et onze", "quatre-vingt-dix"),
#: else one word: "deux et trois" is 2 and 3, not 5
_SPELLED = re.compile(
    rf"\b(?:{_TENS}(?:[- ]{_UNITS}|(?:\s+et\s+|-et-)(?:un|une|onze))?|{_ANY_WORD})\b", re.IGNORECASE
)
DETERMINERS = frozenset({"un", "une", "one"})  # "une batterie" says nothing of a 1


def number_readings(
    text: str, groups: bool = True, as_answer: bool = False, scale_apart: bool = False
) -> list[frozenset[str]]:
    """Each whole number of a text with the values it can be read as, written one way:
    "45 000" and "45000" are one number, "3,5" is "3.5", and the "8" of "18" or "80 %" is not
    an 8; "09h00", "9 am" and "9:00" are the "9 h" of a passage, "6 pm" its "18 h", "midi"
    its "12 h"; "04" is also 4 (dates: "04/03/2025" is the 4 March of an answer). A comma
    before exactly three digits is ambiguous across the two languages: "3,200" is 3200 in
    English and 3.2 in French, so it is read both ways ("3 200" in a French answer is the
    "3,200" of an English passage); "2,000" only as 2000. Without ``groups``, a table row's
    "612 540" is the 612 and the 540 of two columns. An outline number ("Article 3") reads only
    as "§3", a numeric date's day and month also as "month:4" (``_tags``). A number with a
    scale ("3.2 million", "45k", "1,5 M€") is also its scaled value, and so is every number of a
    passage whose table says "(M€)" or "in thousands"; ``as_answer``, a million or more is its
    scaled value only ("3.2 billion" is no 3.2: over "$3.2 million" it was kept). With
    ``scale_apart`` (a passage's), a scaled number's own value is "~" and it ("~850" of "850
    k€"), which an answer's number without scale or currency also is (``_bare_apart``)."""
    text = _TWELVE_HOUR.sub(_twelve_hour, text)
    text = _MIDNIGHT.sub("0 h", _NOON.sub("12 h", text))
    text = _CLOCK.sub(_on_the_clock, text)
    grouped = _GROUPED_DECIMAL.sub(lambda match: match[1].replace(",", "") + ".", text)  # "7,200.50"
    if not groups:  # a column's "612" before another's "540" (not "1 250", not "45 000")
        grouped = _DIGIT_CHAIN.sub(_columns_apart, grouped)
    grouped = re.sub(r"(?<=\d)[ .\u202f\xa0](?=\d{3}\b)", "", grouped)
    grouped = _THOUSANDS.sub(lambda match: match.group().replace(",", ""), grouped)  # "1,250,000"
    tagged = _tags(grouped)
    header = None if as_answer else _HEADER_SCALE.search(grouped)
    readings = []
    for match in _NUMBER.finditer(grouped):
        number = match.group()
        value = _decimal(number.replace(",", "."))
        values = {value}
        if re.fullmatch(r"\d{1,3},\d{3}", number):
            values.add(number.replace(",", ""))
        if number.endswith(",000") and len(values) > 1:  # "2,000" is two thousand: no one writes
            values.discard(value)  # 2 so (read as 2, any "two" of a passage held it)
        if len(value) > 1 and value.startswith("0") and value.isdigit():
            values.add(value.lstrip("0") or "0")
        scale = _SCALE.match(grouped, match.end())
        values = _bare_apart(values, scale, header, _in_currency(grouped, match), as_answer, scale_apart)
        tag = tagged.get(match.start())
        readings.append(frozenset(_tag(tag, value) if tag == "§" else values | _tag(tag, value)))
    return readings


#: a scale after a number: "3.2 million", "2 milliards", "$4bn", "1,5 M€", "45k" (not "5 MB", "3 km")
_SCALE = re.compile(
    r"[ \xa0\u202f]?(?:(?i:(?P<million>millions?)|(?P<billion>billions?|milliards?|bn|mds?))"
    r"|(?P<M>M)|(?P<k>[kK]))(?![^\W\d_])"
)
_CURRENCY = r"(?:€|\$|£|eur|usd|gbp|euros?|dollars?|pounds?)"
_SCALE_WORD = r"(?:'?000|thousands?|milliers?|millions?|milliards?|billions?)"
#: a table's scale, said once for all its numbers: "(k€)", "(M€)", "€m", "en milliers d'euros",
#: "in millions", "(EUR million)", "(€ millions)", "(millions d'euros)", "(£000)", "(€'000)": a
#: header it did not know refused "EUR 48.6 million" over its table's 48.6
_HEADER_SCALE = re.compile(
    r"(?<![\d\s])\s*\(?(?:(?P<k>[kK])|(?P<M>M)|(?P<billion>Mds?|Md))[€$£]|[€$£](?:(?P<m>m)|bn|k)\b"
    rf"|(?i:(?P<words>\(\s*(?:(?:en|in)\s+)?{_CURRENCY}\s*'?\s*{_SCALE_WORD}(?![^\W_])"
    rf"|\(\s*(?:(?:en|in)\s+)?{_SCALE_WORD}(?:\s+(?:d'|de\s+|of\s+)?{_CURRENCY}(?![^\W\d_])|\s*\))"
    rf"|\b(?:en|in)\s+(?:{_CURRENCY}\s+)?{_SCALE_WORD}(?![^\W_])))"
)


def _with_scale(
    values: set[str], scale: re.Match[str] | None, header: re.Match[str] | None, as_answer: bool
) -> set[str]:
    """A number's values and, with a scale, its scaled values; an answer's millions and
    billions only scaled, its thousands both ways ("612 k€" of a table's "612" whose header the
    passage lost)."""
    factor = _factor(scale) if scale else _factor(header) if header else 1
    if factor == 1:
        return values
    scaled = {_decimal(format(Decimal(value) * factor, "f")) for value in values if _PLAIN.fullmatch(value)}
    return scaled if as_answer and scale and factor >= 10**6 else values | scaled


_PLAIN = re.compile(r"\d+(?:\.\d+)?")
_CURRENCY_BEFORE = re.compile(r"(?i:[€$£]|\b(?:eur|usd|gbp))\s?$")
_CURRENCY_AFTER = re.compile(r"[ \xa0\u202f]?(?:[€$£]|(?i:eur|usd|gbp|euros?|dollars?|pounds?)\b)")


def _in_currency(text: str, number: re.Match[str]) -> bool:
    """Whether a number is an amount: "850 €", "€3,100", "EUR 48.6", "12 euros"."""
    before = text[max(0, number.start() - 5) : number.start()]
    return bool(_CURRENCY_BEFORE.search(before) or _CURRENCY_AFTER.match(text, number.end()))


def _bare_apart(
    values: set[str],
    scale: re.Match[str] | None,
    header: re.Match[str] | None,
    in_currency: bool,
    as_answer: bool,
    scale_apart: bool,
) -> set[str]:
    """``_with_scale``, and a scaled number's own value only for an answer that gives no
    currency ("850" of "850 k€") or the same scale: "850 € [1]." was kept over "850 k€", "7 020 €"
    over a table "(en milliers d'euros)", 1000 times the amount. A passage's number with its own
    currency is no number of its table's scale ("loyer : 850 €" under "(k€)")."""
    header = None if in_currency and not scale else header
    with_scale = _with_scale(values, scale, header, as_answer)
    plain = {value for value in values if _PLAIN.fullmatch(value)}
    if as_answer and not scale and not in_currency:
        return with_scale | {f"~{value}" for value in plain}
    if scale_apart and with_scale != values:
        return (with_scale - plain) | {f"~{value}" for value in plain}
    return with_scale


def _factor(scale: re.Match[str]) -> int:
    """A scale's multiplier: "k" 1000, "M" and "millions" a million, "Md" and "bn" a billion."""
    if scale.groupdict().get("words"):
        return _word_factor(scale["words"].lower())
    if scale["k"]:
        return 1000
    if scale["M"] or scale.groupdict().get("million") or scale.groupdict().get("m"):
        return 10**6
    return 10**9


def _word_factor(header: str) -> int:
    """The multiplier a table header's words say: "(EUR million)", "(£000)", "en milliers"."""
    if "milliard" in header or "billion" in header:
        return 10**9
    return 10**6 if "million" in header else 1000


#: digit groups one space apart: one grouped number ("1 250 000") or a table row's columns
_DIGIT_CHAIN = re.compile(r"(?<![\d.,])\d+(?:[ \u202f\xa0]\d+)+(?![.,]?\d)")


def _columns_apart(chain: re.Match[str]) -> str:
    """A row's columns as numbers apart ("|" between them): "2022 580 410" was read 2022580410
    and 2022 only, its 580 and 410 refused. Columns are where the groups cannot be one number
    (after a group of 4+ digits, before one not of 3 digits, after a label's digit: "T2 580"),
    and a 3-digit group before another that is no "000" ("612 540" is also 612 and 540); but
    "1 250" holds no 250 and "45 000" is one number."""
    groups = re.split(r"[ \u202f\xa0]", chain.group())
    labelled = chain.string[chain.start() - 1 : chain.start()].isalpha()
    row, piece = groups[0], [groups[0]]
    for index, group in enumerate(groups[1:], start=1):
        apart = (
            (index == 1 and labelled)
            or len(piece[-1]) >= 4
            or len(group) != 3
            or (len(piece) == 1 and len(piece[0]) == 3 and group != "000")
        )
        piece = [group] if apart else [*piece, group]
        row += ("|" if apart else " ") + group
    return row


#: a numeric date's day and month: "01/04/2025" (the month is either, read both ways)
_NUMERIC_DATE = re.compile(r"(?<![\d/.-])(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})\b")
#: a date whose month is known: "2025-04-15", "04/2025" (the April of an answer's "April 2025")
_MONTH_FIRST_DATE = re.compile(
    r"(?<![\d/.-])(?:\d{4}-(?P<iso>\d{1,2})-\d{1,2}(?!\d)|(?P<month>\d{1,2})/\d{4}(?![\d/]))"
)
#: an outline number: "Article 3", "chapter 12", "section 4"
_OUTLINE = re.compile(r"\b(?:article|art\.|chapitre|chapter|section|annexe|appendix)\s+(?=\d)", re.IGNORECASE)


def _tags(text: str) -> dict[int, str]:
    """Where a number is a date's day or month ("month:"), or an outline number ("§"): an
    article's 3 is no "3 mois", a date's April no "4 mois", but "l'article 3" and "01/04" are."""
    tags = {match.end(): "§" for match in _OUTLINE.finditer(text)}
    for date in _NUMERIC_DATE.finditer(text):
        tags.update({date.start(1): "month:", date.start(2): "month:"})
    tags.update(
        {date.start("iso" if date["iso"] else "month"): "month:" for date in _MONTH_FIRST_DATE.finditer(text)}
    )
    return tags


def _tag(tag: str | None, value: str) -> set[str]:
    return {f"{tag}{value.lstrip('0') or '0'}"} if tag else set()


def numbers_in(text: str, both_ways: bool = False, scale_apart: bool = False) -> frozenset[str]:
    """Every value the numbers of a text can be read as (``number_readings``); ``both_ways``,
    digits apart also as numbers apart (a passage's "612 540" holds 612540, 612 and 540)."""
    readings = number_readings(text, scale_apart=scale_apart)
    if both_ways:
        readings += number_readings(text, groups=False, scale_apart=scale_apart)
    if both_ways and (regrouped := _DIGIT_CHAIN.sub(_regroupings, text)) != text:
        readings += number_readings(regrouped, scale_apart=scale_apart)
    return frozenset().union(*readings)


def _regroupings(chain: re.Match[str]) -> str:
    """A row of grouped numbers as each way its groups make numbers of two groups or more, "|"
    between them: "141 200 148 600" (k€) is also 141200 and 148600 (read as columns 141, 200,
    148 and 600 or one 141200148600, its right "148 600" was refused); "1 250" stays one."""
    groups = re.split(r"[ \u202f\xa0]", chain.group())
    if not 4 <= len(groups) <= _MOST_GROUPS or any(len(group) != 3 for group in groups[1:]):
        return chain.group()
    numbers = {" ".join(part) for parts in _splits(groups) for part in parts}
    return "|".join(sorted(numbers)) if numbers else chain.group()


_MOST_GROUPS = 12  # a row's numbers are read in every way: a longer chain is no table row


def _splits(groups: list[str]) -> list[list[list[str]]]:
    """The ways to cut groups into several numbers of two groups or more, none led by a 0."""
    splits = []
    for cut in range(2, len(groups) - 1):
        head, rest = groups[:cut], groups[cut:]
        if rest[0].startswith("0"):
            continue
        splits += [[head, rest]] + [[head, *more] for more in _splits(rest)]
    return splits


def spelled_numbers(text: str) -> set[str]:
    """The numbers a text writes out, as digits ("vingt-cinq" 25, "thirty" 30, "deux cents" 200,
    "three thousand" 3000), the hundreds and thousands words alone as 100 and 1000; "un", "une",
    "one" alone are determiners, no numbers."""
    compounds = list(_HUNDREDS_AND_THOUSANDS.finditer(text)) if _HUNDRED_OR_THOUSAND.search(text) else []
    found = {
        value
        for match in compounds
        for value in _spelled_scaled(_spelled_value(re.split(r"[\s-]+", match.group().lower())), match)
    }
    rest = text  # "deux cents" is no 2 and no 100
    for match in reversed(compounds):
        rest = f"{rest[: match.start()]} {rest[match.end() :]}"
    for match in _SPELLED.finditer(rest):
        parts = re.split(r"\s+et\s+|-et-|[- ]+", match.group().lower())
        scaled = _spelled_scaled(_combined(parts), match)
        if len(parts) > 1 or parts[0] not in DETERMINERS or len(scaled) > 1:  # "un million"
            found |= scaled
    found |= {value for word, value in NUMBER_WORDS.items() if int(value) >= 100 and _word_in(word, rest)}
    return found


_SPELLED_SCALE = re.compile(
    r"\s+(?:(?P<million>millions?)|(?P<billion>milliards?|billions?))\b", re.IGNORECASE
)


def _spelled_scaled(value: int, spelled: re.Match[str]) -> set[str]:
    """A number written out and, before a scale, its scaled value: "deux millions" 2 and 2000000."""
    scale = _SPELLED_SCALE.match(spelled.string, spelled.end())
    factor = 10**6 if scale and scale["million"] else 10**9 if scale else 1
    return {str(value), str(value * factor)}


def _below_100(tens: str, units: str) -> str:
    return rf"(?:(?:{tens})(?:[- ](?:{units})|(?:\s+et\s+|-et-)(?:un|une|onze))?|{units})"


_FRENCH_BELOW_100 = _below_100(
    "quatre-vingts?|vingt|trente|quarante|cinquante|soixante",
    "dix-sept|dix-huit|dix-neuf|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|treize|quatorze"
    "|quinze|seize|une?",
)
_ENGLISH_BELOW_100 = _below_100(
    "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety",
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen"
    "|seventeen|eighteen|nineteen",
)
#: a multiple of a hundred, or a hundred and more: "deux cents", "cent vingt", "two hundred and fifty"
_FRENCH_HUNDREDS = (
    rf"(?:{_FRENCH_BELOW_100}[- ]cents?(?:[- ]{_FRENCH_BELOW_100})?|cent[- ]{_FRENCH_BELOW_100})"
)
_ENGLISH_HUNDREDS = (
    rf"(?:(?:{_ENGLISH_BELOW_100}|a)[- ]hundred|hundred(?=\s+and\s|[- ]{_ENGLISH_BELOW_100}))"
    rf"(?:(?:\s+and\s+|[- ]){_ENGLISH_BELOW_100})?"
)
_FRENCH_UP_TO_999 = rf"(?:{_FRENCH_HUNDREDS}|cent|{_FRENCH_BELOW_100})"
_ENGLISH_UP_TO_999 = rf"(?:{_ENGLISH_HUNDREDS}|(?:a|one)\s+hundred|{_ENGLISH_BELOW_100})"
_HUNDRED_OR_THOUSAND = re.compile(r"\b(?:cents?|hundred|mille|thousand)\b", re.IGNORECASE)
#: "trois mille", "deux mille cinq cents", "three thousand two hundred", "deux cents" (one value);
#: only where such a word follows (read at every word, it made reading a passage 8 times slower)
_HUNDREDS_AND_THOUSANDS = re.compile(
    rf"\b(?=[\w\s,-]{{0,80}}?{_HUNDRED_OR_THOUSAND.pattern})"
    rf"(?:(?:{_FRENCH_UP_TO_999}[- ])?mille(?:[- ]{_FRENCH_UP_TO_999})?|{_FRENCH_HUNDREDS}"
    rf"|(?:(?:{_ENGLISH_UP_TO_999}|a)[- ])?thousand(?:(?:,?\s+and\s+|,?[- ]){_ENGLISH_UP_TO_999})?"
    rf"|{_ENGLISH_HUNDREDS})\b",
    re.IGNORECASE,
)


def _spelled_value(parts: list[str]) -> int:
    """ "deux mille cinq cents" 2500, "two hundred and fifty" 250, "cent quatre-vingts" 180."""
    total = current = 0
    for index, part in enumerate(parts):
        if part in ("cent", "cents", "hundred"):
            current = max(current, 1) * 100
        elif part in ("mille", "thousand"):
            total, current = total + max(current, 1) * 1000, 0
        elif part in ("vingt", "vingts") and index and parts[index - 1] == "quatre":
            current += 80 - 4
        else:
            current += _UNDER_100.get(part, 0)  # "a", "and", "et": nothing
    return total + current


_MONTHS = {
    name: index
    for index, names in enumerate(
        [("janvier", "january", "jan"), ("février", "fevrier", "february", "feb"), ("mars", "march", "mar"),
         ("avril", "april", "apr"), ("mai", "may"), ("juin", "june", "jun"), ("juillet", "july", "jul"),
         ("août", "aout", "august", "aug"), ("septembre", "september", "sept", "sep"),
         ("octobre", "october", "oct"), ("novembre", "november", "nov"),
         ("décembre", "decembre", "december", "dec")],
        start=1,
    )
    for name in names
}  # fmt: skip
_FRENCH_MONTHS = frozenset(
    "janvier février fevrier mars avril mai juin juillet août aout septembre octobre novembre décembre "
    "decembre".split()
)
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
#: a month in a date: "1er avril 2025", "April 1", "mars 2024" ("may" alone is no month)
_DATED_MONTH = re.compile(
    rf"(?<=\d)(?:er|st|nd|rd|th)?\s+({_MONTH})\.?(?!\w)|(?<!\w)({_MONTH})\.?\s+(?=\d)", re.IGNORECASE
)


def month_numbers(text: str) -> set[str]:
    """The months of a text's dates, as numbers: its "1er avril 2025" is the "01/04/2025" of
    an answer (the 4 was in no passage: a right answer was refused)."""
    names = (match[1] or match[2] for match in _DATED_MONTH.finditer(text))
    # English writes its months capitalised: "you may 3 times" holds no May; "month:4" is only
    # a numeric date's month to an answer (April is no "4 mois")
    return {
        f"month:{_MONTHS[name.lower()]}"
        for name in names
        if name[0].isupper() or name.lower() in _FRENCH_MONTHS
    }


_ANY_MONTH = re.compile(rf"(?<!\w)({_MONTH})\.?(?!\w)", re.IGNORECASE)


def month_names(text: str) -> set[str]:
    """The months a text names, dated or not ("Le bail d'avril"), as ``month_numbers`` writes
    them: what an answer's dated month ("15 June 2025") must be found among."""
    names = (match[1] for match in _ANY_MONTH.finditer(text))
    return {
        f"month:{_MONTHS[name.lower()]}"
        for name in names
        if name[0].isupper() or name.lower() in _FRENCH_MONTHS
    }


def _combined(parts: list[str]) -> int:
    """ "vingt-cinq" 25, "soixante et onze" 71, "quatre-vingt-dix" 90, "twenty-one" 21."""
    total = 0
    for index, part in enumerate(parts):
        if part in ("vingt", "vingts") and index and parts[index - 1] == "quatre":
            total += 80 - 4
        else:
            total += _UNDER_100.get(part, 0)
    return total


def _word_in(word: str, text: str) -> bool:
    return re.search(rf"\b{word}s?\b", text, re.IGNORECASE) is not None


def _twelve_hour(time: re.Match[str]) -> str:
    """ "6 pm" as "18 h", "8.30am" as "8 h 30", "12 am" as "0 h"."""
    hour = int(time[1]) % 12 + (12 if time[3].lower() == "p" else 0)
    return f"{hour} h {time[2]}" if time[2] and time[2] != "00" else f"{hour} h"


def _on_the_clock(time: re.Match[str]) -> str:
    """A time written one way: the hour without its leading zero, minutes only when not 00."""
    hour, minutes = time[1].lstrip("0") or "0", time[3] if time[3] not in (None, "00") else ""
    return f"{hour} {time[2]} {minutes}" if minutes else f"{hour} {time[2]}"


def _decimal(number: str) -> str:
    """ "3.50" and "3.5" are one value; whole numbers keep their digits ("007", "2026")."""
    whole, dot, fraction = number.partition(".")
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole if dot else number
