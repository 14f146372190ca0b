"""Merging the answers of a document's parts, each extracted in its own prompt.

A document longer than one prompt is read whole, window by window (its chunks in reading
order), and the windows' answers are merged: for a value, the first one found in the text
of the window that gave it (small models fill fields a window does not mention), else the
first given; a yes/no from the part that names the field's most telling words; lists are
joined without repeats, their objects checked against their part's text and the same entity
read in two parts merged into one.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from petitrag.answer.numbers import month_numbers, numbers_in, spelled_numbers
from petitrag.language import stopwords, strip_accents


def follow_ref(ref: str, root: dict[str, Any]) -> Any:
    """The sub-schema a local ``$ref`` ("#/$defs/item", "#") names, None when it names nothing."""
    if not ref.startswith("#"):
        return None
    target: Any = root
    for part in [part for part in ref[1:].split("/") if part]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(target, dict) and part in target:
            target = target[part]
        elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
            target = target[int(part)]
        else:
            return None
    return target


def _loosely(value: Any) -> Any:
    """``value`` with its texts compared as people read them: "Claire  Fontaine" and "claire
    fontaine" are one tenant, not three."""
    if isinstance(value, str):
        return " ".join(value.split()).casefold()
    if isinstance(value, list):
        return [_loosely(item) for item in value]
    if isinstance(value, dict):
        return {key: _loosely(item) for key, item in value.items()}
    return value


def merge_found(
    found: list[tuple[Any, str]],
    schema: Any = None,
    root: dict[str, Any] | None = None,
    key: str = "",
    described: str = "",
) -> Any:
    """Merge the windows' answers (each with its window's text), in document order; joined lists
    keep to their schema's ``maxItems`` (the first items, in document order). ``root``: the whole
    schema, for ``$ref``; ``key``: the property's name, which a window that states a value
    names; ``described``: its title and description, read when no window names the key (a
    French document read with English keys): their generic words ("the lease") are in every
    part, so they come second. A yes/no comes from the part naming the key's and description's
    most telling words (``_most_telling``); a list's objects are checked against their part and
    merged when they are one entity (``_written_items``, ``_same_entities_joined``)."""
    root = root if root is not None else schema if isinstance(schema, dict) else {}
    # a part without the value answers null (as it is told to): it must not stop the others'
    # lists from being joined or their objects merged (a nullable list kept the first part's)
    some = [(value, text) for value, text in found if value is not None]
    if some and len(some) < len(found) and all(isinstance(value, dict | list) for value, _ in some):
        found = some
    values = [value for value, _ in found]
    if all(isinstance(value, dict) for value in values):
        properties = _shaped(schema, root, "properties").get("properties", {})
        keys = list(dict.fromkeys(name for value in values for name in value))
        return {
            name: merge_found(
                [(value[name], text) for value, text in found if name in value],
                properties.get(name),
                root,
                name,
                " ".join(_described(properties.get(name), root)),
            )
            for name in keys
        }
    if all(isinstance(value, list) for value in values):
        items = [
            (part, item, text)
            for part, (value, text) in enumerate(found)
            for item in value
            if not _placeholder_item(item)
        ]
        if len(found) > 1:
            items = _same_entities_joined(_written_items(items))
        joined: dict[str, Any] = {}  # the first of items that differ only by case or spacing
        for _, item, _ in items:
            joined.setdefault(json.dumps(_loosely(item), sort_keys=True, ensure_ascii=False), item)
        return list(joined.values())[: _shaped(schema, root, "maxItems").get("maxItems")]
    given = [(value, text) for value, text in found if not _no_value(value)]  # "not specified" too
    if not given:
        return values[0]
    if isinstance(given[0][0], bool) and (best := _most_telling(given, key, described)) is not None:
        return given[best][0]
    for words in dict.fromkeys([words for words in (key, described) if words] or [""]):
        if not isinstance(given[0][0], bool):  # the part saying it beside the most of these words
            scores = [_said_with(value, text, words) for value, text in given]
            if max(scores) > 0:
                return given[scores.index(max(scores))][0]
        stated = [value for value, text in given if _stated_in(value, text, words)]
        if stated:
            return stated[0]
    return given[0][0]


#: words that say what is asked about a thing, not which thing: "pets_allowed" is about pets,
#: and a house-rules part ("Smoking is not allowed") gave the lease's pets false
_GENERIC_WORDS = frozenset(
    {
        "allow", "allowed", "allows", "permitted", "authorized", "authorised", "accepted", "included",
        "required", "enabled", "available", "possible", "provided", "mandatory", "needed", "present",
        "autorise", "autorises", "autorisee", "autorisees", "accepte", "acceptes", "acceptee",
        "acceptees", "admis", "admise", "admises", "inclus", "incluse", "incluses", "compris",
        "comprise", "permis", "obligatoire", "obligatoires", "requis", "requise", "prevu", "prevue",
        "disponible", "disponibles",
    }
)  # fmt: skip


def _most_telling(given: list[tuple[Any, str]], key: str, described: str = "") -> int | None:
    """The part naming the most telling of the key's words, then of its description's; None
    when no part names one: a word named by every part tells nothing, and one named by fewer
    parts tells more. A yes/no is no word to find, so the part that names what it is about
    gives it ("Pets: cats and small dogs are welcome" for ``pets_allowed``, not the house rules'
    "Smoking is not allowed"). The key's words come first: ``pets_allowed`` described "Are pets
    allowed in the apartment?" was taken from "The apartment has two bedrooms", its "apartment"
    as telling as the other part's "pets"; ties go to the part naming more of the key's words."""
    key_named = [_named(key, text) - _GENERIC_WORDS for _, text in given]
    described_named = [_named(described, text) - _GENERIC_WORDS - _named(key, described) for _, text in given]
    scores = [
        (_telling(key_named, index), len(key_named[index]), _telling(described_named, index))
        for index in range(len(given))
    ]
    best = max(scores)
    return scores.index(best) if best[0] > 0 or best[2] > 0 else None


def _telling(named: list[set[str]], index: int) -> float:
    """How telling the words part ``index`` names are: each weighs more for fewer parts naming it."""
    return sum(math.log(len(named) / sum(word in some for some in named)) for word in named[index])


#: (part number, item, the part's text) of a list's items, in document order
_Item = tuple[int, Any, str]
#: strings a model writes where it has no value: an item made of them names nothing
_PLACEHOLDERS = frozenset(
    {
        "", "null", "none", "n/a", "na", "unknown", "-", "—", "not specified", "not stated", "not mentioned",
        "non précisé", "non precise", "non précisée", "non spécifié", "non specifie", "inconnu", "inconnue",
    }
)  # fmt: skip


def _no_value(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().casefold() in _PLACEHOLDERS)


def _placeholder_item(item: Any) -> bool:
    """Whether a list item is only what a model writes where it has no value: "N/A" in a list of
    names, a site ``{"name": "not specified", "fee": null}``; an empty list is no item either."""
    if isinstance(item, dict | list):
        return all(_no_value(leaf) for leaf in _leaves(item))
    return _no_value(item)


def _leaves(value: Any) -> list[Any]:
    """The values an item holds, at any depth."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def _written_items(items: list[_Item]) -> list[_Item]:
    """The objects written in their part's text: a part without the list fills it with invented
    ones (a service agreement's liability section gave a site ``{"name": "null", "city": "null"}``).
    An object is kept when one of its texts or numbers is in its part, or when it holds only
    yes/no values (nothing to look for); when no object is stated in its part (texts unknown),
    none is judged, but one made only of nulls and placeholders never names anything."""
    verdicts = [_written(item, text) for _, item, text in items]
    dropped = {"empty", "unstated"} if "stated" in verdicts else {"empty"}
    return [entry for entry, verdict in zip(items, verdicts, strict=True) if verdict not in dropped]


def _written(item: Any, text: str) -> str:
    """ "stated" when one of an object's values is in ``text``, "unstated" when none is, "empty"
    when it holds no value, "unjudged" when it is no object or holds only yes/no values."""
    if not isinstance(item, dict):
        return "unjudged"
    leaves = [leaf for leaf in _leaves(item) if not _no_value(leaf)]
    checked = [leaf for leaf in leaves if not isinstance(leaf, bool)]
    if not leaves or not checked:
        return "unjudged" if leaves else "empty"
    return "stated" if any(_stated_in(leaf, text) for leaf in checked) else "unstated"


def _same_entities_joined(items: list[_Item]) -> list[_Item]:
    """The items with each object merged into the one object of another part that is the same
    entity (``_same_entity``), its nulls filled in: a site read in the list of sites ("Alta
    store", Boulder, fee null) and again in the table of fees ("Boulder", Boulder, 1,250) was
    two sites. An object that could be several is left as it is."""
    kept: list[tuple[set[int], Any, str]] = []
    for part, item, text in items:
        same = [
            index
            for index, (_, other, _) in enumerate(kept)
            if isinstance(item, dict) and isinstance(other, dict) and _same_entity(other, item)
        ]
        if len(same) == 1 and part not in kept[same[0]][0]:  # one part's objects are all its own
            parts, other, first_text = kept[same[0]]
            kept[same[0]] = (parts | {part}, _filled(other, item), first_text)
        else:
            kept.append(({part}, item, text))
    return [(min(parts), item, text) for parts, item, text in kept]


def _same_entity(first: dict[str, Any], second: dict[str, Any]) -> bool:
    """Whether two objects describe one thing: some field both give agrees, and every other
    field both give agrees too or only repeats, in one of them, a field that agrees (the table
    of fees named its sites by their city: {"name": "Boulder", "city": "Boulder"})."""
    shared = [
        key for key in first if key in second and not _no_value(first[key]) and not _no_value(second[key])
    ]
    agreeing = [key for key in shared if _agree(first[key], second[key])]
    return bool(agreeing) and all(
        key in agreeing or _repeats(first, key, agreeing) or _repeats(second, key, agreeing) for key in shared
    )


def _agree(first: Any, second: Any) -> bool:
    """Equal as people read them, or a text whose words are among the other's, in order ("Alta
    store" and "Alta store Boulder"); one word only as the other's last, a family name ("Dupont"
    and "Marie Dupont"): "Jean" and "Jean-Pierre Martin" are two tenants, "Lyon" and "Lyon
    Part-Dieu" two stations."""
    if isinstance(first, str) and isinstance(second, str):
        short, long = sorted((_words(first), _words(second)), key=len)
        if len(short) == 1 < len(long):
            return short[0] == long[-1]
        return bool(short) and any(
            long[start : start + len(short)] == short for start in range(len(long) - len(short) + 1)
        )
    return _loosely(first) == _loosely(second) and type(first) is type(second)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def _repeats(item: dict[str, Any], key: str, others: list[str]) -> bool:
    """Whether ``item[key]`` only repeats the item's value of one of the ``others`` fields."""
    return any(other != key and _loosely(item[other]) == _loosely(item[key]) for other in others)


def _filled(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """The first object with what it lacks from the second: its nulls and placeholders, and a
    field that only repeats another where the second gives its own ("Alta store", not the
    name "Boulder" copied from the city)."""
    merged = dict(first)
    for key, value in second.items():
        missing = key not in merged or (_no_value(merged[key]) and not _no_value(value))
        copied = (
            key in merged
            and not _no_value(value)
            and not _agree(merged[key], value)
            and _repeats(first, key, list(first))
            and not _repeats(second, key, list(second))
        )
        if missing or copied:
            merged[key] = value
    return merged


def _said_with(value: Any, text: str, key: str) -> int:
    """How many of the key's words the best sentence of ``text`` stating ``value`` names: a
    part that names the works fund beside its own figure is no source for the budget ("budget
    prévisionnel 2025 : 98 500 €" is)."""
    sentences = re.split(r"(?<=[.!?;])\s+|\n+", text)
    return max(
        (len(_named(key, sentence)) for sentence in sentences if _stated_in(value, sentence)), default=0
    )


def _described(schema: Any, root: dict[str, Any]) -> list[str]:
    """A property's title and description: the words a French document uses for what an
    English key names ("pets_allowed", described "Animaux acceptés ?")."""
    return [str(_shaped(schema, root, word).get(word, "")) for word in ("title", "description")]


def _shaped(schema: Any, root: dict[str, Any], keyword: str, depth: int = 0) -> dict[str, Any]:
    """The sub-schema that holds ``keyword``, behind ``$ref`` and ``anyOf``/``oneOf``/``allOf``
    (what Pydantic writes for ``Optional[conlist(...)]`` and nested models); {} when none does."""
    if not isinstance(schema, dict) or depth > 8:  # `true`, absent, or refs in a loop
        return {}
    if keyword in schema:
        return schema
    if isinstance(schema.get("$ref"), str):
        found = _shaped(follow_ref(schema["$ref"], root), root, keyword, depth + 1)
        if found:
            return found
    for alternatives in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(alternatives) or []:
            found = _shaped(sub, root, keyword, depth + 1)
            if found:
                return found
    return {}


def _stated_in(value: Any, text: str, key: str = "") -> bool:
    """Whether a value is written in the text: a string as whole words (case and spacing
    aside), a number as a whole number read the way citations read them (``numbers_in``: "4"
    is not in "2024", 4.5 may be written 4,5, "7,200.50" is 7200.5; the sign aside); a yes/no,
    or a word as short as "no", when the text also names what it is about (``key``)."""
    if isinstance(value, bool):  # "allowed" is in the house rules too: it names no field
        return bool(_named(key, text) - _GENERIC_WORDS)
    if isinstance(value, str) and (date := _ISO_DATE.fullmatch(value)):  # "mardi 11 juin 2024"
        held = numbers_in(text, both_ways=True) | month_numbers(text)
        year, month, day = (int(part) for part in date.groups())
        return str(year) in held and str(day) in held and bool({str(month), f"month:{month}"} & held)
    if isinstance(value, int | float):
        size = abs(value)
        written = str(int(size)) if float(size).is_integer() else str(size)
        return written in _numbers_stated(text)
    wanted = re.sub(r"\s+", " ", str(value)).strip().casefold()
    spaced = re.sub(r"\s+", " ", text).casefold()
    whole = re.search(rf"(?<!\w){re.escape(wanted)}(?!\w)", spaced) is not None
    return whole and (len(wanted) > 3 or not key or _mentions(key, text))


_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
#: a time of day, whose hour counts nothing: "22:00", "22h30", "9 h 15"
_TIME_OF_DAY = re.compile(r"(?<![\d.,])\d{1,2}\s*(?::|h\s*)\d{2}(?!\d)", re.IGNORECASE)


def _numbers_stated(text: str) -> frozenset[str]:
    """The numbers a text states, in digits or words ("three months of notice"), times of day
    aside: ``notice_months`` 22 was taken from "Quiet hours start at 22:00"."""
    plain = _TIME_OF_DAY.sub(" ", text)
    return numbers_in(plain, both_ways=True) | frozenset(spelled_numbers(plain))


def _mentions(key: str, text: str) -> bool:
    """The text names one of the key's words ("pets_allowed", "warrantyIncluded": pets, warranty…;
    with its title and description's: "animaux acceptés")."""
    return bool(_named(key, text))


def _named(key: str, text: str) -> set[str]:
    """The key's words the text names, by their first letters ("allowed" is "allows" too),
    accents aside ("generale" is "générale")."""
    words = re.findall(r"[^\W\d_]+", re.sub(r"(?<=[a-z])(?=[A-Z])", "_", key).casefold())
    function_words = stopwords("en") | stopwords("fr")  # "whether", "dans": any text has them
    words = [strip_accents(word) for word in words if len(word) > 3]
    folded = strip_accents(text.casefold())
    return {
        word
        for word in words
        if word not in function_words and re.search(rf"\b{re.escape(word[:5])}", folded)
    }
