"""JSON schemas as llama-cpp-python's grammar converter reads them, and what it leaves out.

The converter (``LlamaGrammar.from_json_schema``) reads every sub-schema as an object and an
empty ``items`` as none, so valid schemas failed with messages such as "'bool' object has no
attribute 'get'": ``for_llama_grammar`` rewrites them into what it reads. It also compiles
schemas whose numeric bounds and a few other keywords it does not enforce; ``unenforced`` names
them, so that a caller with no validation after generation (the server's ``response_format``)
can refuse them rather than return JSON that breaks its schema. ``json_grammar`` gives the
converter's grammar with strings that cannot hold raw control characters.
"""

from __future__ import annotations

import json
from typing import Any

#: a sub-schema that allows anything, in the converter's terms
_ANYTHING = {"type": ["object", "array", "string", "number", "boolean", "null"]}
_SUB_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")
_SUB_SCHEMAS = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames")
_SUB_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
#: keywords the converter compiles without enforcing them (llama_grammar.py's TODO list)
_UNENFORCED = frozenset(
    {
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "uniqueItems",
        "minProperties", "maxProperties", "not", "if", "then", "else", "contains", "minContains",
        "maxContains", "dependentRequired", "dependentSchemas", "propertyNames", "patternProperties",
        "unevaluatedItems", "unevaluatedProperties",
    }
)  # fmt: skip
#: the converter's string character and pattern "." let raw control characters into a string
#: (a newline: invalid JSON, with finish_reason "stop"); llama.cpp's own converter excludes them
_LOOSE_RULES = {
    r'char ::= [^"\\] |': r'char ::= [^"\\\x7F\x00-\x1F] |',
    r"dot ::= [^\x0A\x0D]": r'dot ::= [^"\\\x7F\x00-\x1F]',
}
_FORMATS = frozenset({"date", "time", "date-time", "uuid", "uuid1", "uuid2", "uuid3", "uuid4", "uuid5"})


def for_llama_grammar(schema: Any) -> Any:
    """``schema`` with ``true`` and ``{}`` sub-schemas as an explicit "any value", and
    properties that must not exist (``false``) left out."""
    if schema is True or schema == {}:
        return dict(_ANYTHING)
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    if isinstance(out.get("pattern"), str):
        out["pattern"] = anchored(out["pattern"])
    for key in _SUB_SCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {name: for_llama_grammar(sub) for name, sub in out[key].items() if sub is not False}
    for key in _SUB_SCHEMAS:
        if (key in out and key != "additionalProperties") or isinstance(out.get(key), dict):
            out[key] = for_llama_grammar(out[key])
    for key in _SUB_SCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [for_llama_grammar(sub) for sub in out[key]]
    return out


def json_grammar(schema: Any) -> str:
    """The GBNF grammar of ``schema`` (``for_llama_grammar``'s reading), whose strings hold no
    raw control character, nor, from a pattern's ".", a raw quote or backslash: JSON allows
    them escaped only."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    grammar = json_schema_to_gbnf(json.dumps(for_llama_grammar(schema)))
    for loose, strict in _LOOSE_RULES.items():
        grammar = grammar.replace(loose, strict)
    return grammar


def anchored(pattern: str) -> str:
    """``pattern`` matching the whole value: llama.cpp's converter refuses one without ^…$ ("a
    schema with "pattern": "[A-Z]{3}" failed extraction). JSON Schema patterns search anywhere
    in the value; the whole value matching them is one valid reading, the one meant for a field."""
    if pattern.startswith("^") and pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern
    core = pattern.removeprefix("^")
    core = core[:-1] if core.endswith("$") and not core.endswith("\\$") else core
    return f"^({core})$"


def unenforced(schema: Any, where: str = "") -> list[str]:
    """Each keyword of ``schema`` the converter does not enforce, with where it is
    ("maximum at properties.n")."""
    if not isinstance(schema, dict):
        return []
    found = [f"{key} at {where or 'the top'}" for key in schema if key in _UNENFORCED]
    if isinstance(schema.get("format"), str) and schema["format"] not in _FORMATS:
        found.append(f"format {schema['format']!r} at {where or 'the top'}")
    for key in _SUB_SCHEMA_MAPS:
        if isinstance(schema.get(key), dict):
            for name, sub in schema[key].items():
                found += unenforced(sub, f"{where}.{key}.{name}".lstrip("."))
    for key in ("items", "additionalProperties"):
        found += unenforced(schema.get(key), f"{where}.{key}".lstrip("."))
    for key in _SUB_SCHEMA_LISTS:
        if isinstance(schema.get(key), list):
            for index, sub in enumerate(schema[key]):
                found += unenforced(sub, f"{where}.{key}.{index}".lstrip("."))
    return found


def without_unenforced(schema: Any) -> Any:
    """``schema`` without the keywords ``unenforced`` names, at the places it looks: what a
    server that refuses them (petitrag's own) accepts, while the caller validates against the
    whole schema (extraction with ``minimum`` failed on a petitrag server with a 400)."""
    if not isinstance(schema, dict):
        return schema
    out = {key: value for key, value in schema.items() if key not in _UNENFORCED}
    if isinstance(out.get("format"), str) and out["format"] not in _FORMATS:
        del out["format"]
    for key in _SUB_SCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {name: without_unenforced(sub) for name, sub in out[key].items()}
    for key in ("items", "additionalProperties"):
        if key in out:
            out[key] = without_unenforced(out[key])
    for key in _SUB_SCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [without_unenforced(sub) for sub in out[key]]
    return out
