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
    """SQuAD JSON (``{"data": [...]}``), JSONL (``{"question", "answers"[, "source"]}`` per line)
    or a JSON array of those objects."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"test set {path} is a folder: give the JSON or JSONL file of questions")
    if not path.is_file():
        raise ConfigError(f"test set {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM (Windows editors) is not part of the JSON
    except UnicodeDecodeError as exc:
        raise ConfigError(f"test set {path} is not UTF-8 text (byte {exc.start})") from None
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return _unique_ids(_jsonl(path.stem, path.name, text))
    if path.suffix.lower() in (".csv", ".tsv", ".xlsx"):
        raise ConfigError(
            f"test set {path}: {path.suffix} is not read; write one JSON object per line in a .jsonl file: "
            '{"question": "…", "answers": ["…"]} (see docs/bench.md)'
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = " (one question per line is JSONL: name the file .jsonl)" if exc.msg == "Extra data" else ""
        raise ConfigError(f"test set {path} is not valid JSON ({exc.msg}, line {exc.lineno}){hint}") from None
    if isinstance(data, list):  # the JSONL rows as one JSON array
        rows = [(str(n), f"item {n} of {path.name}", row) for n, row in enumerate(data, start=1)]
        return _unique_ids(_cases(path.stem, rows))
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ConfigError(
            f"test set {path} is neither SQuAD format (a top-level 'data' list) nor a list of questions"
        )
    return _unique_ids(_squad(path.stem, data))


def _unique_ids(dataset: Dataset) -> Dataset:
    """Answers are saved and resumed by case id: two questions sharing one would be one."""
    seen: set[str] = set()
    for case in dataset.cases:
        if case.id in seen:
            raise ConfigError(
                f"test set {dataset.name}: the id {case.id!r} is used by two questions (one without"
                " an id takes its line, item or place as its id)"
            )
        seen.add(case.id)
    return dataset


def _squad(name: str, data: dict) -> Dataset:  # type: ignore[type-arg]
    """Each article one document. Titles are made unique ("Title (2)"): articles without one, or
    sharing one, would otherwise overwrite each other and their questions lose their text."""
    dataset = Dataset(name=name, cases=[])
    for a, article in enumerate(data["data"], start=1):
        where = f"{name}: article {a}"
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs", []), list):
            raise ConfigError(f"{where} is not SQuAD format (expected an object with a 'paragraphs' list)")
        title = _unique(str(article.get("title") or "untitled").replace("_", " ").strip(), dataset.documents)
        paragraphs = article.get("paragraphs", [])
        contexts = [_text(p, "context", f"{where}, paragraph {n}") for n, p in enumerate(paragraphs, 1)]
        dataset.documents[title] = f"# {title}\n\n" + "\n\n".join(c.strip() for c in contexts) + "\n"
        for n, paragraph in enumerate(paragraphs, start=1):
            if not isinstance(paragraph.get("qas", []), list):
                raise ConfigError(f"{where}, paragraph {n}: 'qas' must be a list")
            for q, qa in enumerate(paragraph.get("qas", []), start=1):
                dataset.cases.append(_squad_case(qa, title, f"{where}, paragraph {n}, question {q}"))
    if not dataset.cases:
        raise ConfigError(f"test set {name} has no questions")
    return dataset


def _squad_case(qa: object, title: str, where: str) -> Case:
    question = _text(qa, "question", where)
    assert isinstance(qa, dict)  # _text checked it
    answers = _answers(qa.get("answers", []), where)
    impossible = _impossible(qa, answers, where)
    return Case(
        _case_id(qa.get("id"), where, where), question, [] if impossible else answers, impossible, title
    )


def _case_id(raw: object, fallback: str, where: str) -> str:
    """A question's id as results save it: a missing or null id falls back to where the question is;
    anything but a string or an integer would save as a different id than the file shows."""
    if raw is None or raw == "":
        return fallback
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise ConfigError(f"{where}: 'id' must be a string or an integer, not {raw!r:.60}")
    return str(raw)


def _text(row: object, key: str, where: str) -> str:
    """``row[key]``, a non-empty string, or a ConfigError saying where it is missing."""
    value = row.get(key) if isinstance(row, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: needs a non-empty '{key}' string")
    return value


def _answers(raw: object, where: str) -> list[str]:
    """Gold answers as SQuAD (``[{"text": ...}]``) or JSONL (``["..."]``, or one string) write them."""
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list):
        raise ConfigError(f"{where}: 'answers' must be a list")
    answers = []
    for item in items:
        text = item.get("text") if isinstance(item, dict) else item
        if not isinstance(text, str | int | float) or isinstance(text, bool):
            raise ConfigError(f"{where}: each answer must be a string or {{'text': ...}}, not {item!r:.60}")
        if not str(text).strip():  # read as "no answer", it would turn the question into one to abstain on
            raise ConfigError(
                f"{where}: an answer is blank; a question the documents do not answer has 'answers': []"
            )
        answers.append(str(text).strip())
    return list(dict.fromkeys(answers))


def _flag(row: dict, where: str) -> bool:  # type: ignore[type-arg]
    """``is_impossible`` (or ``impossible``): true or false. A string ("false") was read as true,
    turning a question with answers into one to abstain on."""
    for key in ("is_impossible", "impossible"):
        value = row.get(key)
        if value is not None and not isinstance(value, bool):
            raise ConfigError(f"{where}: '{key}' must be true or false, not {value!r:.40}")
    return bool(row.get("is_impossible") or row.get("impossible"))


def _impossible(row: dict, answers: list[str], where: str) -> bool:  # type: ignore[type-arg]
    """Flagged, or no gold answer: the documents do not answer it (the flag wins over answers a
    converted set kept, as SQuAD 2.0's plausible answers)."""
    if row.get("is_impossible", row.get("impossible")) is False and not answers:
        raise ConfigError(f"{where}: 'is_impossible' is false but there is no answer: give its answers")
    return _flag(row, where) or not answers


def _unique(title: str, taken: dict[str, str]) -> str:
    candidate, number = title, 1
    while candidate in taken:
        number += 1
        candidate = f"{title} ({number})"
    return candidate


def _jsonl(name: str, file_name: str, text: str) -> Dataset:
    rows = []
    # lines end at "\n" only: splitlines() also cut at U+2028, U+0085… that JSON strings may hold
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"line {number} of {file_name}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where} is not valid JSON ({exc.msg})") from None
        if isinstance(row, dict) and "data" in row and "question" not in row:
            raise ConfigError(f"{where} is a SQuAD file (a top-level 'data' list): name it .json")
        rows.append((str(number), where, row))
    return _cases(name, rows)


def _cases(name: str, rows: list[tuple[str, str, object]]) -> Dataset:
    """Questions written one object each (JSONL lines or a JSON array's items), as (id if the row
    has none: its line or item number, where it is for errors, row)."""
    cases = []
    for fallback, where, row in rows:
        question = _text(row, "question", where)
        assert isinstance(row, dict)  # _text checked it
        case_id = _case_id(row.get("id"), fallback, where)
        flagged = _flag(row, where)
        answers = _answers(_gold(row, flagged, where), where)
        impossible = _impossible(row, answers, where)
        source = str(row["source"]) if row.get("source") else None
        cases.append(Case(case_id, question, [] if impossible else answers, impossible, source))
    if not cases:
        raise ConfigError(f"test set {name} has no questions")
    return Dataset(name=name, cases=cases)


def _gold(row: dict, flagged: bool, where: str) -> object:  # type: ignore[type-arg]
    """``answers`` (or ``answer``, as many hand-written sets say). Neither, on a question not
    flagged impossible, is refused: read as "must abstain", a misnamed key would silently turn
    every question of the set into one the documents do not answer."""
    if "answers" in row and "answer" in row:
        raise ConfigError(f"{where}: has both 'answers' and 'answer'; keep one")
    if "answers" in row or "answer" in row:
        return row.get("answers", row.get("answer"))
    if flagged:
        return []
    keys = ", ".join(repr(key) for key in row) or "none"
    raise ConfigError(
        f"{where}: needs 'answers' (a list, empty when the documents do not answer it) or "
        f"'is_impossible': true (keys found: {keys})"
    )


def write_corpus(dataset: Dataset, folder: Path) -> dict[str, Path]:
    """One Markdown file per article (rewritten only when changed); returns title → path. The
    articles of an earlier version of the set (or of another set of that name) are deleted."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for number, (title, text) in enumerate(dataset.documents.items()):
        slug = re.sub(r"[^\w-]+", "-", title)[:60]
        path = folder / f"{number:03d}-{slug}.md"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        paths[title] = path.resolve()
    written = set(paths.values())
    for old in folder.glob("[0-9][0-9][0-9]-*.md"):
        if old.resolve() not in written:
            old.unlink()
    return paths
