"""Test sets the user owns: SQuAD-format JSON (articles become documents) or JSONL questions."""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from petitrag.errors import ConfigError


@dataclass
class Case:
    """One test question. ``answers`` empty + ``impossible`` → the right output is to abstain."""

    id: str
    question: str
    answers: list[str]
    impossible: bool = False
    source: str | None = None  # document (path) that holds the answer, when known
    extra: dict[str, object] = field(default_factory=dict)


@dataclass
class Dataset:
    name: str
    cases: list[Case]
    documents: dict[str, str] = field(default_factory=dict)  # title → Markdown text (SQuAD only)

    def sample(self, size: int | None, seed: int = 0, limit: int | None = None) -> list[Case]:
        """The first ``limit`` cases, or a seeded random sample of ``size`` (stable across runs)."""
        if limit:
            return self.cases[:limit]
        if size and size < len(self.cases):
            return random.Random(seed).sample(self.cases, size)
        return list(self.cases)


def load_dataset(path: Path) -> Dataset:
    """SQuAD JSON (``{"data": [...]}``) or JSONL (``{"question", "answers"[, "source"]}`` per line)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"test set {path} does not exist")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".jsonl":
        return _jsonl(path.stem, text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"test set {path} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ConfigError(f"test set {path} is not SQuAD format (expected a top-level 'data' list)")
    return _squad(path.stem, data)


def _squad(name: str, data: dict) -> Dataset:  # type: ignore[type-arg]
    dataset = Dataset(name=name, cases=[])
    for article in data["data"]:
        title = str(article.get("title", "untitled")).replace("_", " ")
        paragraphs = [p["context"].strip() for p in article.get("paragraphs", [])]
        dataset.documents[title] = f"# {title}\n\n" + "\n\n".join(paragraphs) + "\n"
        for paragraph in article.get("paragraphs", []):
            for qa in paragraph.get("qas", []):
                answers = list(dict.fromkeys(a["text"] for a in qa.get("answers", []) if a["text"].strip()))
                impossible = bool(qa.get("is_impossible")) or not answers
                dataset.cases.append(Case(str(qa["id"]), qa["question"], answers, impossible, title))
    return dataset


def _jsonl(name: str, text: str) -> Dataset:
    cases = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            question, answers = row["question"], list(row.get("answers", []))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"line {number} of {name}.jsonl: needs {{'question', 'answers'}} ({exc})"
            ) from None
        cases.append(Case(str(row.get("id", number)), question, answers, not answers, row.get("source")))
    return Dataset(name=name, cases=cases)


def write_corpus(dataset: Dataset, folder: Path) -> dict[str, Path]:
    """One Markdown file per article (rewritten only when changed); returns title → path."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for number, (title, text) in enumerate(dataset.documents.items()):
        slug = re.sub(r"[^\w-]+", "-", title)[:60]
        path = folder / f"{number:03d}-{slug}.md"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        paths[title] = path.resolve()
    return paths
