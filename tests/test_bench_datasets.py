"""Test sets as users write them: SQuAD JSON and JSONL, including the malformed ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from petitrag.bench.datasets import load_dataset, write_corpus
from petitrag.errors import ConfigError


def _squad(tmp_path: Path, articles: list[object]) -> Path:
    path = tmp_path / "set.json"
    path.write_text(json.dumps({"data": articles}), encoding="utf-8")
    return path


def _article(context: str, question: str, answer: str | None, qid: str, title: str | None = None) -> dict:
    qa = {"id": qid, "question": question, "answers": [{"text": answer, "answer_start": 0}] if answer else []}
    article: dict[str, object] = {"paragraphs": [{"context": context, "qas": [qa]}]}
    if title is not None:
        article["title"] = title
    return article


def test_articles_without_or_sharing_a_title_each_keep_their_text(tmp_path: Path) -> None:
    path = _squad(
        tmp_path,
        [
            _article("Alpha is red.", "What colour is alpha?", "red", "1"),
            _article("Beta is blue.", "What colour is beta?", "blue", "2"),
            _article("Gamma is green.", "What colour is gamma?", "green", "3", title="Colours"),
            _article("Delta is black.", "What colour is delta?", None, "4", title="Colours"),
        ],
    )
    dataset = load_dataset(path)
    assert list(dataset.documents) == ["untitled", "untitled (2)", "Colours", "Colours (2)"]
    assert [case.source for case in dataset.cases] == list(dataset.documents)
    assert "Beta is blue." in dataset.documents["untitled (2)"]
    assert [case.impossible for case in dataset.cases] == [False, False, False, True]
    files = write_corpus(dataset, tmp_path / "corpus")
    assert len({path.name for path in files.values()}) == 4
    assert "Alpha is red." in files["untitled"].read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("articles", "message"),
    [
        ([{"paragraphs": [{"qas": []}]}], "article 1, paragraph 1: needs a non-empty 'context'"),
        ([{"paragraphs": [{"context": "x", "qas": [{"id": "1", "answers": []}]}]}], "question 1: needs"),
        ([_article("x", "q?", "x", "1"), _article("y", "r?", "y", "1")], "the id '1' is used by two"),
        ([{"paragraphs": "nope"}], "article 1 is not SQuAD format"),
        ([{"paragraphs": [{"context": "x", "qas": [{"question": "q?", "answers": 3}]}]}], "must be a list"),
        ([], "has no questions"),
    ],
)
def test_a_malformed_squad_file_says_where(tmp_path: Path, articles: list[object], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("?", r"\?")):
        load_dataset(_squad(tmp_path, articles))


def test_jsonl_answers_may_be_one_string_squad_objects_or_numbers(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    rows = [
        {"question": "Capital of France?", "answers": "Paris"},
        {"question": "Year?", "answers": [{"text": "1965"}, 1965]},
        {"question": "Unknown?", "answers": []},
        {"question": "Flagged?", "answers": ["x"], "is_impossible": True},
        {"id": None, "question": "Null id?", "answers": ["y"]},
        {"id": 70, "question": "Number id?", "answers": ["z"]},
        {"question": "Singular key?", "answer": "w"},
        {"question": "Flagged, no answers key?", "is_impossible": True},
        {"question": "Line\u2028separator?", "answers": ["a\u0085b"]},  # not line ends in JSONL
    ]
    text = "\n".join(json.dumps(row, ensure_ascii=False) for row in rows)
    path.write_text("\ufeff" + text + "\n\n", encoding="utf-8")
    cases = load_dataset(path).cases
    assert [case.answers for case in cases] == [
        ["Paris"],
        ["1965"],
        [],
        [],
        ["y"],
        ["z"],
        ["w"],
        [],
        ["a\x85b"],
    ]
    assert [case.impossible for case in cases] == [False, False, True, True, False, False, False, True, False]
    assert [case.id for case in cases] == ["1", "2", "3", "4", "5", "70", "7", "8", "9"]
    ndjson = tmp_path / "mine.ndjson"
    ndjson.write_text('{"question": "q?", "answers": ["a"]}\n{"question": ', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"line 2 of mine\.ndjson is not valid JSON"):
        load_dataset(ndjson)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            {"question": "a?", "answers": ["x"], "is_impossible": "false"},
            "'is_impossible' must be true or false",
        ),
        ({"question": "a?", "answers": ["x"], "impossible": "no"}, "'impossible' must be true or false"),
        ({"question": "a?", "answers": ""}, "an answer is blank"),
        ({"question": "a?", "answers": ["  "]}, "an answer is blank"),
        (
            {"question": "a?", "answers": [], "is_impossible": False},
            "'is_impossible' is false but there is no answer",
        ),
    ],
)
def test_what_would_silently_make_a_question_one_to_abstain_on_is_refused(
    tmp_path: Path, row: dict, message: str
) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_dataset(path)


def test_a_json_array_of_questions_reads_like_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "mine.json"
    rows = [{"question": "Capital?", "answer": "Paris"}, {"id": "x", "question": "Moon?", "answers": []}]
    path.write_text(json.dumps(rows), encoding="utf-8")
    dataset = load_dataset(path)
    assert [(case.id, case.answers, case.impossible) for case in dataset.cases] == [
        ("1", ["Paris"], False),
        ("x", [], True),
    ]
    assert dataset.documents == {}  # asked of an existing collection, as JSONL is
    path.write_text(json.dumps([rows[0], {"question": ""}]), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"item 2 of mine.json: needs a non-empty 'question'"):
        load_dataset(path)
    path.write_text('"just a string"', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"neither SQuAD format .* nor a list of questions"):
        load_dataset(path)
    path.write_text('{"question": "q?", "answers": ["a"]}\n{"question": "r?", "answers": ["b"]}\n')
    with pytest.raises(ConfigError, match=r"\(Extra data, line 2\) \(one question per line is JSONL"):
        load_dataset(path)
    ndjson = path.with_suffix(".ndjson")
    ndjson.write_text(path.read_text())
    assert [case.question for case in load_dataset(ndjson).cases] == ["q?", "r?"]
    with pytest.raises(ConfigError, match="is a folder: give the JSON or JSONL file"):
        load_dataset(tmp_path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"question": "q?", "answers": ["a"]}\n{"answers": ["b"]}\n', "line 2 of mine.jsonl: needs a"),
        ('{"question": "q?", "answers": [["a"]]}\n', "each answer must be a string"),
        ("{not json}\n", "line 1 of mine.jsonl is not valid JSON"),
        ("\n\n", "has no questions"),
        (
            '{"question": "q?", "answers": ["a"]}\n{"id": [1], "question": "r?"}\n',
            "line 2 of mine.jsonl: 'id' must",
        ),
        ('{"id": true, "question": "q?"}\n', "line 1 of mine.jsonl: 'id' must be a string or an integer"),
        (
            '{"question": "q?", "gold": "a"}\n',
            "line 1 of mine.jsonl: needs 'answers' .* \\(keys found: 'question', 'gold'\\)",
        ),
        ('{"question": "q?", "answer": "a", "answers": ["a"]}\n', "has both 'answers' and 'answer'"),
        ('{"version": "v2.0", "data": []}\n', "line 1 of mine.jsonl is a SQuAD file .*: name it .json"),
    ],
)
def test_a_malformed_jsonl_file_says_which_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_dataset(path)


def test_a_file_that_is_not_utf8_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"question": "Qu\'est-ce qu\'un été ?", "answers": []}'.encode("latin-1"))
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_dataset(path)


def test_a_spreadsheet_export_says_what_to_write_instead(tmp_path: Path) -> None:
    path = tmp_path / "questions.csv"
    path.write_text("question,answer\nCapital?,Paris\n", encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"\.csv is not read; write one JSON object per line in a \.jsonl file"
    ):
        load_dataset(path)
