"""Structured extraction: a document to JSON that validates against the user's schema.

The model's output is constrained by a grammar built from the JSON schema (llama.cpp;
``response_format`` on OpenAI-compatible servers), then parsed and validated with
jsonschema. Invalid output is retried with the validation error as feedback, then
reported — never returned as if it were valid.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    attempts: int
    errors: list[str] = field(default_factory=list)  # validation errors of failed attempts


def load_schema(path: Path) -> dict[str, Any]:
    """Read and check a JSON schema file, with one clear error for each way it can be wrong."""
    import jsonschema

    try:
        schema = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"schema file {path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"schema file {path} is not valid JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise ConfigError(f"schema file {path} must contain a JSON object")
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ConfigError(f"schema file {path} is not a valid JSON schema: {exc.message}") from None
    return schema


class Extractor:
    def __init__(self, settings: Settings, store: Store, generator: Generator, retries: int = 2) -> None:
        self.settings = settings
        self.store = store
        self.generator = generator
        self.retries = retries

    def extract(self, collection: str, source: str, schema: dict[str, Any]) -> Extraction:
        import jsonschema

        document = self.store.find_document(collection, source)
        text = self._document_text(document.id, schema)
        base: list[Message] = [
            {"role": "system", "content": SYSTEM},
            {
                "role": "user",
                "content": f"JSON schema:\n{json.dumps(schema, ensure_ascii=False)}\n\nDocument:\n{text}",
            },
        ]
        errors: list[str] = []
        messages = list(base)
        for attempt in range(1, self.retries + 2):
            params = GenerationParams(
                max_tokens=self.settings.max_tokens * 2, json_schema=schema, seed=attempt
            )
            output = self.generator.complete(messages, params).text.strip()
            problem = _problem(output, schema, jsonschema)
            if problem is None:
                return Extraction(document.path, json.loads(output), self.generator.name, attempt, errors)
            errors.append(problem)
            feedback = f"That output is invalid: {problem}. Output corrected JSON only."
            messages = [
                *base,
                {"role": "assistant", "content": output},
                {"role": "user", "content": feedback},
            ]
        raise ExtractionError(
            f"no valid JSON after {len(errors)} attempts for {document.path}; last problem: {errors[-1]}"
        )

    def _document_text(self, document_id: int, schema: dict[str, Any]) -> str:
        """The document's chunks in order, up to the budget (the beginning holds most fields)."""
        overhead = (
            self.generator.count_tokens(SYSTEM + json.dumps(schema)) + self.settings.max_tokens * 2 + 64
        )
        budget = max(64, min(self.settings.prompt_budget * 2, self.generator.context_size - overhead))
        parts, used = [], 0
        for chunk in self.store.document_chunks(document_id):
            tokens = self.generator.count_tokens(chunk.text)
            if used + tokens > budget:
                break
            parts.append(chunk.text)
            used += tokens
        return "\n\n".join(parts)


def _problem(output: str, schema: dict[str, Any], jsonschema: Any) -> str | None:
    """None when ``output`` is JSON valid against ``schema``, else why not (one line)."""
    try:
        data = json.loads(output)
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg} at character {exc.pos})"
    error = jsonschema.exceptions.best_match(
        jsonschema.validators.validator_for(schema)(schema).iter_errors(data)
    )
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path) or "the top level"
    return f"at {where}: {error.message}"
