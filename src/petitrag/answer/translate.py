"""A finished summary put into another language, its page and section markers kept.

Asked to summarise an English document in French, the 1.5B model writes franglais ("Rinse les
panels avec soft water", "6 kW rooftop photovoltaic system"), and its sentences then match no
passage well enough to be given a marker. Summarised in the document's own language and then
translated, the bullets read as French and keep the markers found in the original language
(BENCHMARKS "Session 16"). Markers travel as ``[1]``, ``[2]`` references, which small models
copy unchanged, and are put back afterwards; a line whose reference the model dropped gets its
marker back at its end.
"""

from __future__ import annotations

import re
from collections import Counter

from petitrag.answer.bullets import LIST_ITEM, unlisted, with_marker
from petitrag.generation.base import GenerationParams, Generator, Message
from petitrag.language import Language

LANGUAGE_NAMES: dict[Language, dict[Language, str]] = {
    "fr": {"fr": "français", "en": "anglais"},
    "en": {"fr": "French", "en": "English"},
}
#: per target language: (system prompt, instruction after the text); the text comes first, as in
#: every summary prompt
_PROMPTS: dict[Language, tuple[str, str]] = {
    "fr": (
        "Tu traduis fidèlement de l'{source} vers le français, sans rien ajouter ni retirer.",
        "Traduis ce texte en français. Garde les puces, les chiffres et les références [1], [2]… "
        "telles quelles. Écris uniquement la traduction.",
    ),
    "en": (
        "You translate faithfully from {source} into English, adding and removing nothing.",
        "Translate this text into English. Keep the bullets, the figures and the references [1], "
        "[2]… as they are. Output only the translation.",
    ),
}
_REFERENCE = re.compile(r"\[(\d+)\]")
_OWN_REFERENCE = re.compile(r"\s*\[(\d+)\]")


def translate_summary(
    generator: Generator, text: str, source: Language, target: Language, markers: list[str]
) -> tuple[str | None, int]:
    """``text`` (lines of bullets) in ``target``, each of ``markers`` ("(p. 3)", "(La batterie)")
    where it was, and the calls it took: one for the whole text, then one per line when the
    lines do not match up. None when a translation was cut by its token limit: kept, it ended
    the summary mid-sentence ("… # Invitations # In"), or wrongly ("… est de 12 (p. 3)")."""
    coded, codes, first = _encode(text, markers)
    lines = [line for line in coded.splitlines() if line.strip()]
    whole = _call(generator, "\n".join(lines), source, target)
    translated = [line for line in (whole or "").splitlines() if line.strip()]
    calls = 1
    if whole is None or len(translated) != len(lines):
        each = [_call(generator, line, source, target) for line in lines]
        calls += len(lines)
        if any(line is None for line in each):
            return None, calls
        translated = [" ".join((one or "").split()) or line for one, line in zip(each, lines, strict=True)]
    decoded = [
        _decode(original, line, codes, first) for original, line in zip(lines, translated, strict=True)
    ]
    return "\n".join(decoded), calls


def _encode(text: str, markers: list[str]) -> tuple[str, list[str], int]:
    """The text with each marker it holds replaced by a numbered reference, those markers, and
    the first reference's number: above any ``[n]`` the text holds already (a document's own
    citations, "Smith et al. [2]"), which stay as they are."""
    codes: list[str] = []
    first = 1 + max(map(int, _REFERENCE.findall(text)), default=0)
    present = [marker for marker in sorted(set(markers), key=len, reverse=True) if marker and marker in text]
    if not present:
        return text, codes, first
    pattern = re.compile("|".join(re.escape(marker) for marker in present))

    def code(match: re.Match[str]) -> str:
        if match.group(0) not in codes:
            codes.append(match.group(0))
        return f"[{codes.index(match.group(0)) + first}]"

    return pattern.sub(code, text), codes, first


def _decode(original: str, translated: str, codes: list[str], first: int) -> str:
    """The translated line with its markers back, its bullet as the original's, and the markers
    of the original line the model dropped added at its end: each line keeps exactly its own."""
    bullet = LIST_ITEM.match(original)
    body = unlisted(translated).lstrip()
    if bullet:
        body = bullet.group(0) + body
    ours = range(first, first + len(codes))
    wanted = [n for n in map(int, _REFERENCE.findall(original)) if n in ours]
    missing = [codes[n - first] for n in wanted if f"[{n}]" not in translated]
    left = Counter(wanted)  # as many times as the line held it: two sentences of one page

    def restore(match: re.Match[str]) -> str:
        """A reference the original line did not hold is another line's; one more time than it
        held it is dropped; a number that is no marker's is the document's own, kept."""
        number = int(match.group(1))
        if number not in ours:
            return match.group(0)
        if not left[number]:
            return ""
        left[number] -= 1
        return f" {codes[number - first]}"

    body = _OWN_REFERENCE.sub(restore, body)
    return with_marker(body, " ".join(missing)).rstrip()


def _call(generator: Generator, text: str, source: Language, target: Language) -> str | None:
    """The translation, None when the token limit cut it."""
    system, instruction = _PROMPTS[target]
    messages: list[Message] = [
        {"role": "system", "content": system.format(source=LANGUAGE_NAMES[target][source])},
        {"role": "user", "content": f'"""\n{text}\n"""\n\n{instruction}'},
    ]
    budget = generator.count_tokens(text) * 2 + 32  # French runs longer than English
    completion = generator.complete(messages, GenerationParams(max_tokens=budget))
    if completion.finish_reason == "length":
        return None
    return completion.text.strip().removeprefix('"""').removesuffix('"""').strip("\n")
