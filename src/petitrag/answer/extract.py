"""Structured extraction: a document to JSON that validates against the user's schema.

The model's output is constrained by a grammar built from the JSON schema (llama.cpp;
``response_format`` on OpenAI-compatible servers), then parsed and validated with
jsonschema. Invalid output is retried with the validation error as feedback, then
reported — never returned as if it were valid.

A document longer than one prompt is read whole, window by window (its chunks in reading
order), and the windows' answers are merged (``extract_merge``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from petitrag.answer.extract_merge import follow_ref, merge_found
from petitrag.answer.packing import windows
from petitrag.chunking import SECTION_SEPARATOR
from petitrag.config import Settings
from petitrag.errors import ConfigError, ExtractionError
from petitrag.generation.base import GenerationParams, Generator, Message
from petitrag.index.store import Store

SYSTEM = (
    "You extract information from a document into JSON that follows the given JSON schema. "
    "Use only what the document says; use null when a value is absent and the schema allows it. "
    "Output only the JSON object."
)


@dataclass
class Extraction:
    source: str
    data: Any
    model: str
    attempts: int  # model calls, over all windows
    errors: list[str] = field(default_factory=list)  # validation errors of failed attempts
    windows: int = 1  # parts of the document read, each in its own prompt
    failed_windows: list[int] = field(default_factory=list)  # 1-based: no valid JSON from them
    merge_problem: str | None = None  # the merged windows broke the schema: the first valid one is kept
    warnings: list[str] = field(default_factory=list)  # the file changed since it was ingested, or is gone


#: progress hook: (stage, done, total), stage "extract"
ExtractProgress = Callable[[str, int, int], None]


def load_schema(path: Path) -> dict[str, Any]:
    """Read and check a JSON schema file, with one clear error for each way it can be wrong."""
    import jsonschema

    try:
        schema = json.loads(Path(path).read_text(encoding="utf-8-sig"))  # Notepad writes a BOM
    except FileNotFoundError:
        raise ConfigError(f"schema file {path} does not exist") from None
    except UnicodeDecodeError:
        raise ConfigError(f"schema file {path} is not UTF-8 text: save it as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"schema file {path} is not valid JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise ConfigError(f"schema file {path} must contain a JSON object")
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ConfigError(f"schema file {path} is not a valid JSON schema: {exc.message}") from None
    for ref in _refs(schema):
        if follow_ref(ref, schema) is None:  # checked now, not after the model's answer (a traceback)
            raise ConfigError(
                f"schema file {path}: $ref {ref!r} names nothing in the file (only '#/…' references "
                "to the file itself are read: put the schema it names inline)"
            )
    if missing := _required_undefined(schema):
        raise ConfigError(  # the grammar writes only the keys of "properties": three calls, then a failure
            f'schema file {path}: {", ".join(map(repr, missing))} required but not in "properties": '
            "the model could never write it; define it there"
        )
    return schema


#: sub-schemas that add rules to their parent's object ("one of: requires siret, or vat")
_COMBINATORS = frozenset({"oneOf", "anyOf", "allOf", "not", "if", "then", "else", "dependentSchemas"})


def _required_undefined(schema: Any) -> list[str]:
    """The names an object schema requires without defining them in its ``properties`` (its
    combinators' ``required`` may name the parent's properties: they are not looked into)."""
    if isinstance(schema, list):
        return [name for value in schema for name in _required_undefined(value)]
    if not isinstance(schema, dict):
        return []
    properties, required = schema.get("properties"), schema.get("required")
    own = []
    if isinstance(properties, dict) and isinstance(required, list):
        own = [name for name in required if isinstance(name, str) and name not in properties]
    inner = [value for key, value in schema.items() if key not in _COMBINATORS]
    return own + [name for value in inner for name in _required_undefined(value)]


def _refs(schema: Any) -> list[str]:
    """Every ``$ref`` in a schema, at any depth."""
    if isinstance(schema, dict):
        own = [schema["$ref"]] if isinstance(schema.get("$ref"), str) else []
        return own + [ref for value in schema.values() for ref in _refs(value)]
    if isinstance(schema, list):
        return [ref for value in schema for ref in _refs(value)]
    return []


class Extractor:
    def __init__(self, settings: Settings, store: Store, generator: Generator, retries: int = 2) -> None:
        self.settings = settings
        self.store = store
        self.generator = generator
        self.retries = retries

    def extract(
        self, collection: str, source: str, schema: dict[str, Any], progress: ExtractProgress | None = None
    ) -> Extraction:
        document = self.store.find_document(collection, source)
        parts = self._document_windows(document.id, schema)
        extraction = Extraction(document.path, None, self.generator.name, 0, windows=len(parts))
        extraction.warnings = document.stale_warnings()
        found: list[tuple[Any, str]] = []
        if progress is not None:  # shown while the first part is read, not only after it
            progress("extract", 0, len(parts))
        for number, text in enumerate(parts, start=1):
            data = self._extract_window(text, schema, extraction)
            if data is None:
                extraction.failed_windows.append(number)
            else:
                found.append((data, text))
            if progress is not None:
                progress("extract", number, len(parts))
        if not found:
            raise ExtractionError(
                f"no valid JSON after {extraction.attempts} attempts for {document.path}; "
                f"last problem: {extraction.errors[-1]}"
            )
        extraction.data = merge_found(found, schema)
        problem = _problem(json.dumps(extraction.data), schema)
        if problem is not None:  # e.g. joined lists over maxItems: keep the first valid window's
            extraction.merge_problem = problem
            extraction.data = found[0][0]
        return extraction

    def _extract_window(self, text: str, schema: dict[str, Any], extraction: Extraction) -> Any:
        """One window's valid JSON, or None after the retries (their errors are kept)."""
        base: list[Message] = [
            {"role": "system", "content": SYSTEM},
            {
                "role": "user",
                "content": f"JSON schema:\n{json.dumps(schema, ensure_ascii=False)}\n\nDocument:\n{text}",
            },
        ]
        messages = list(base)
        for attempt in range(1, self.retries + 2):
            params = GenerationParams(
                max_tokens=self.settings.max_tokens * 2, json_schema=schema, seed=attempt
            )
            completion = self.generator.complete(messages, params)
            output = completion.text.strip()
            extraction.attempts += 1
            problem = _problem(output, schema)
            if problem is None:
                return tidy_numbers(json.loads(output, strict=False))
            if completion.finish_reason == "length":
                if not _looping(output):  # no correction makes it shorter: say why
                    raise ExtractionError(
                        f"the JSON was cut at {params.max_tokens} tokens (twice max_tokens): raise "
                        f"max_tokens (PETITRAG_MAX_TOKENS, now {self.settings.max_tokens}) for this schema"
                    )
                # a loop ("null null null…"): another seed, not a correction
                extraction.errors.append(f"{self.generator.name} repeated itself until the token limit")
                messages = list(base)
                continue
            extraction.errors.append(problem)
            feedback = f"That output is invalid: {problem}. Output corrected JSON only."
            messages = [
                *base,
                {"role": "assistant", "content": output},
                {"role": "user", "content": feedback},
            ]
        return None

    def _document_windows(self, document_id: int, schema: dict[str, Any]) -> list[str]:
        """The document's chunks in reading order, packed into windows that fit one prompt."""
        overhead = (
            self.generator.count_tokens(SYSTEM + json.dumps(schema)) + self.settings.max_tokens * 2 + 64
        )
        budget = max(64, min(self.settings.prompt_budget * 2, self.generator.context_size - overhead))
        return windows(
            _with_headings(self.store.document_chunks(document_id)), budget, self.generator.count_tokens
        )


def _with_headings(chunks: list[Any]) -> list[str]:
    """The chunks' texts, each new section's heading path before its first one, the title
    first: a lease's type ("logement vide") given only in its title was never read, and the
    model answered from the body ("mobilité")."""
    texts: list[str] = []
    shown: str | None = None
    for chunk in chunks:
        heading = chunk.section or chunk.title
        if not texts and chunk.title and chunk.title not in (heading or ""):
            heading = f"{chunk.title}{SECTION_SEPARATOR}{heading}" if heading else chunk.title
        new = (
            heading
            and heading != shown
            and not chunk.text.lstrip().startswith(heading.split(SECTION_SEPARATOR)[-1])
        )
        texts.append(f"{heading}\n{chunk.text}" if new else chunk.text)
        shown = chunk.section or chunk.title
    return texts


#: the end of a text that repeats a short piece five times or more: a small model looping
_LOOP = re.compile(r"(\S.{0,39}?)(?:\s*\1){4,}\s*$", re.DOTALL)
_LOOP_SPAN = 40  # characters at least: a cut in indentation or in "1000000" is no loop


def _looping(output: str) -> bool:
    """Whether a cut output ends in a loop (``["type", "type", …``, ``"null null null…``): more
    tokens would only repeat it, and the advice to raise ``max_tokens`` cannot help."""
    found = _LOOP.search(output[-400:])
    return found is not None and len(found.group().strip()) >= _LOOP_SPAN


def tidy_numbers(value: Any) -> Any:
    """Numbers as a person writes them: the JSON grammar lets a small model write
    ``7200.0000000000004999e+0`` for 7,200, which is 7200 (15 significant digits are kept:
    12345678901.25 stays as it is)."""
    if isinstance(value, dict):
        return {key: tidy_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [tidy_numbers(item) for item in value]
    if isinstance(value, float) and math.isfinite(value):
        rounded = float(f"{value:.15g}")
        return int(rounded) if rounded.is_integer() and abs(rounded) < 2**53 else rounded
    return value


def _problem(output: str, schema: dict[str, Any]) -> str | None:
    """None when ``output`` is JSON valid against ``schema``, else why not (one line)."""
    import jsonschema

    try:  # not strict: the grammar lets a string hold a raw newline, which no retry can undo
        data = json.loads(output, strict=False)
    except json.JSONDecodeError as exc:
        return f"not valid JSON (character {exc.pos}: {exc.msg})"
    validator = jsonschema.validators.validator_for(schema)
    # with "format" checked ("date", "email"...): the grammar does not enforce those
    error = jsonschema.exceptions.best_match(
        validator(schema, format_checker=validator.FORMAT_CHECKER).iter_errors(data)
    )
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path) or "the top level"
    return f"at {where}: {error.message}"
