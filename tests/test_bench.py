"""`petitrag bench` end to end with the real SmolLM2 GGUF (greedy), through the CLI.

A tiny English SQuAD-format set (2 articles, 4 questions, one unanswerable) is benchmarked
with --limit 2 then --limit 3 in the same folder (the second run must answer only the new
question); outputs are checked against their contract and re-scored by an independent
implementation (tests/rescore_bench.py).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from petitrag.bench.rundir import load_predictions, locked
from petitrag.cli import cli
from tests.conftest import petitrag_env
from tests.rescore_bench import rescore

MODEL = "smollm2-135m"
SQUAD = {
    "version": "v2.0",
    "data": [
        {
            "title": "Eiffel_Tower",
            "paragraphs": [{
                "context": "The Eiffel Tower is a wrought-iron lattice tower in Paris. It was built for the "
                "1889 World's Fair and is 330 metres tall. It was designed by the company of Gustave Eiffel.",
                "qas": [
                    {"id": "e1", "question": "When was the Eiffel Tower built?",
                     "answers": [{"text": "1889", "answer_start": 0}], "is_impossible": False},
                    {"id": "e2", "question": "How many lifts does the Eiffel Tower have?", "answers": [],
                     "plausible_answers": [{"text": "330", "answer_start": 0}], "is_impossible": True},
                ],
            }],
        },
        {
            "title": "Honey_bee",
            "paragraphs": [{
                "context": "A honey bee colony has one queen, a few hundred drones and thousands of worker "
                "bees. Worker bees collect nectar and turn it into honey, which they store in wax combs.",
                "qas": [
                    {"id": "h1", "question": "What do worker bees turn nectar into?",
                     "answers": [{"text": "honey", "answer_start": 0}], "is_impossible": False},
                    {"id": "h2", "question": "Where do bees store honey?",
                     "answers": [{"text": "in wax combs", "answer_start": 0}], "is_impossible": False},
                ],
            }],
        },
    ],
}  # fmt: skip
RESULT_KEYS = {"schema_version", "petitrag_version", "created", "run", "selection", "retrieval", "bar",
               "cost_model", "models", "verdict", "self_check", "abstain_logprob", "top_score"}  # fmt: skip
MODEL_KEYS = {"spec", "kind", "model", "base_url", "path", "file_bytes", "params", "topline", "cases",
              "load_error", "quality", "speed", "resources", "cost", "errors", "bar"}  # fmt: skip


def invoke(*args: str, expect: int = 0) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == expect, result.stdout + result.stderr
    return result


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def bench_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("bench-home")
    with petitrag_env(home / "data"):
        (home / "tiny.json").write_text(json.dumps(SQUAD), encoding="utf-8")
        yield home


@pytest.fixture(scope="module")
def resumed(bench_home: Path) -> dict[str, object]:
    """--limit 2, then --limit 3 in the same folder: what each run left behind."""
    data, out = bench_home / "tiny.json", bench_home / "out"
    first = invoke("bench", str(data), "--models", MODEL, "--out", str(out), "--limit", "2")
    after_first = lines(out / "predictions.jsonl")
    second = invoke("bench", str(data), "--models", MODEL, "--out", str(out), "--limit", "3")
    metas = [json.loads(p.read_text()) for p in sorted((out / "meta").glob("*.json"))]
    return {"out": out, "first": first, "second": second, "after_first": after_first, "metas": metas}


def test_resume_answers_only_the_new_question(resumed: dict) -> None:
    out: Path = resumed["out"]  # type: ignore[assignment]
    after_second = lines(out / "predictions.jsonl")
    assert len(resumed["after_first"]) == 2 and len(after_second) == 3
    assert after_second[:2] == resumed["after_first"]  # untouched, not recomputed
    assert sorted(meta["cases"] for meta in resumed["metas"]) == [1, 2]  # one worker per run
    assert [json.loads(line)["case_id"] for line in after_second] == ["e1", "e2", "h1"]


def test_outputs_follow_their_contract(resumed: dict) -> None:
    out: Path = resumed["out"]  # type: ignore[assignment]
    results = json.loads((out / "results.json").read_text())
    assert set(results) == RESULT_KEYS and results["schema_version"] == 1
    assert results["selection"]["cases"] == ["e1", "e2", "h1"] and results["selection"]["unanswerable"] == 1
    model = results["models"][MODEL]
    assert set(model) == MODEL_KEYS and model["cases"]["predicted"] == 3 and model["load_error"] is None
    for stat in model["quality"].values():
        assert {"mean", "n", "ci_low", "ci_high"} <= set(stat)
        if stat["n"]:
            assert stat["ci_low"] <= stat["mean"] <= stat["ci_high"]
    assert model["quality"]["abstain_correct"]["n"] == 1 and model["quality"]["f1"]["n"] == 2
    total = model["speed"]["total_s"]
    assert total["n"] == 3 and 0 < total["p50"] <= total["p95"] and len(total["p95_ci"]) == 2
    assert model["resources"]["file_bytes"] > 50e6 and model["resources"]["peak_rss_mb"]["max"] > 50
    assert model["resources"]["load_s"]["n"] == 2 and model["cost"]["eur_per_1k"]["mean"] > 0
    assert model["resources"]["machine"]["cpus"] >= 1 and model["resources"]["machine"]["memory_gib"] > 0
    assert model["resources"]["engine"].startswith("llama-cpp-python 0.3.")  # its CPU features follow
    assert model["errors"]["count"] == 0 and results["retrieval"]["gold_in_passages"]["n"] == 2
    verdict = results["verdict"]
    assert verdict["text"].startswith(("smallest model that passes: ", "none passes; closest: smollm2-135m"))
    assert verdict["text"] in resumed["second"].stdout  # type: ignore[attr-defined]
    report = (out / "report.md").read_text()
    for heading in ("## The bar", "## Quality", "## Speed", "## Resources", "## Cost", "## Errors"):
        assert heading in report
    assert verdict["text"] in report and "(pareto.png)" in report
    assert f"CPUs, {model['resources']['machine']['memory_gib']:g} GiB; llama-cpp-python 0.3." in report
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = [json.loads(line) for line in lines(out / "predictions.jsonl")]
    for row in rows:
        assert {"question", "gold", "prediction", "abstained", "citations", "timings", "signals"} <= set(row)
    assert [p.case_id for p in load_predictions(out, MODEL)] == ["e1", "e2", "h1"]
    checked = [row["signals"]["self_check"] for row in rows if not row["abstained"]]
    assert checked and all(0 < check < 1 for check in checked)  # bench self-checks every answer
    suggestion = results["self_check"][MODEL]
    assert suggestion["n"] == 3 and suggestion["ungated"]["abstain_accuracy"] is not None
    assert "## Abstaining when the self-check fails" in report and results["run"]["self_check"] is True
    likely = results["abstain_logprob"][MODEL]  # recorded with the self-check, for abstain_above
    assert likely["n"] == 3 and likely["curve"][0]["threshold"] == 0.0
    assert "## Abstaining when the model nearly abstained (`abstain_above`)" in report
    scored = results["top_score"][MODEL]  # the min_score gate, replayed on the best passages' scores
    assert scored["n"] == 3 and scored["curve"][0]["threshold"] == 0.0
    assert "## Abstaining when search finds little (`min_score`)" in report


def test_rescoring_predictions_reproduces_results(resumed: dict) -> None:
    assert_rescored(resumed["out"])  # type: ignore[arg-type]


def assert_rescored(out: Path) -> None:
    results = json.loads((out / "results.json").read_text())
    for key, again in rescore(out).items():
        model = results["models"][key]
        for metric, stat in model["quality"].items():
            mine = again["quality"].get(metric, {"mean": None, "n": 0})
            assert stat["n"] == mine["n"], metric
            if stat["n"]:
                assert stat["mean"] == pytest.approx(mine["mean"], abs=1e-4), metric
                assert stat["ci_low"] == pytest.approx(mine["ci_low"], abs=1e-4), metric
                assert stat["ci_high"] == pytest.approx(mine["ci_high"], abs=1e-4), metric
        total = model["speed"]["total_s"]
        assert total["n"] == again["total_s"]["n"]
        assert total["p50"] == pytest.approx(again["total_s"]["p50"], abs=1e-3)
        assert total["p95"] == pytest.approx(again["total_s"]["p95"], abs=1e-3)
        assert model["speed"]["ttft_s"]["p50"] == pytest.approx(again["ttft_s_p50"], abs=1e-3)
        assert model["errors"]["count"] == again["errors"]
        assert model["cost"]["eur_per_1k"]["mean"] == pytest.approx(again["eur_per_1k_time"], abs=1e-4)


def test_killed_run_mid_write_resumes_cleanly(resumed: dict, tmp_path: Path) -> None:
    """A run killed while writing leaves half a line: the next run drops it and redoes that case."""
    original: Path = resumed["out"]  # type: ignore[assignment]
    out = tmp_path / "out"
    shutil.copytree(original, out)
    text = (out / "predictions.jsonl").read_text().rstrip("\n")
    last = text.rsplit("\n", 1)[-1]
    (out / "predictions.jsonl").write_text(text[: len(text) - len(last) // 2])  # half of the last line
    invoke("bench", str(original.parent / "tiny.json"), "--models", MODEL, "--out", str(out), "--limit", "3")
    rows = [json.loads(line) for line in lines(out / "predictions.jsonl")]
    assert [row["case_id"] for row in rows] == ["e1", "e2", "h1"]
    newest = max((out / "meta").glob("*.json"), key=lambda p: p.stat().st_mtime)
    assert json.loads(newest.read_text())["cases"] == 1


def test_timeouts_are_recorded_not_dropped(bench_home: Path) -> None:
    out = bench_home / "out-timeout"
    invoke("bench", str(bench_home / "tiny.json"), "--models", MODEL, "--out", str(out), "--limit", "1",
           "--timeout-s", "0.05")  # fmt: skip
    (row,) = [json.loads(line) for line in lines(out / "predictions.jsonl")]
    assert row["error_kind"] == "timeout" and row["case_id"] == "e1" and row["prediction"] == ""
    results = json.loads((out / "results.json").read_text())
    errors = results["models"][MODEL]["errors"]
    assert errors["by_kind"]["timeout"] == 1 and errors["rate"]["mean"] == 1.0
    assert results["models"][MODEL]["quality"]["f1"]["mean"] == 0.0  # counted as wrong, not skipped
    assert_rescored(out)
    invoke("bench", str(bench_home / "tiny.json"), "--models", MODEL, "--out", str(out), "--limit", "1",
           "--timeout-s", "0.05")  # fmt: skip
    assert len(lines(out / "predictions.jsonl")) == 1  # a timeout is kept: resuming does not ask again


def test_questions_that_failed_with_an_error_are_asked_again_on_resume(bench_home: Path) -> None:
    """A model server down for the first run: its errors stayed, and only --fresh (deleting every
    model's answers) could retry them."""
    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        down = f"served@http://127.0.0.1:{unused.getsockname()[1]}/v1"
    out = bench_home / "out-down"
    for run in (1, 2):
        invoke("bench", str(bench_home / "tiny.json"), "--models", down, "--out", str(out), "--limit", "1")
        rows = [json.loads(line) for line in lines(out / "predictions.jsonl")]
        assert len(rows) == run and rows[-1]["error_kind"] == "error"
    assert_rescored(out)


def one_line_error(run: Callable[..., Result], *args: str) -> str:
    result = run(*args, expect=1)
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(SQUAD), encoding="utf-8")
    return path


def test_bad_inputs_give_one_clear_line(petitrag: Callable[..., Result], data: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    assert "does not exist" in one_line_error(
        petitrag, "bench", str(tmp_path / "nope.json"), "--models", MODEL
    )
    broken = tmp_path / "broken.json"
    broken.write_text('{"data": [')
    assert "not valid JSON" in one_line_error(petitrag, "bench", str(broken), "--models", MODEL, "--out", out)
    assert "no-such-model" in one_line_error(petitrag, "bench", str(data), "--models", "no-such-model")
    assert "at least one model" in one_line_error(petitrag, "bench", str(data), "--models", " , ")
    assert "not both" in one_line_error(petitrag, "bench", str(data), "--models", MODEL, "--limit", "1",
                                        "--sample", "2", "--out", out)  # fmt: skip
    assert "--topline" in one_line_error(petitrag, "bench", str(data), "--models", MODEL, "--min-f1", "90%")
    assert "not a number" in one_line_error(
        petitrag, "bench", str(data), "--models", MODEL, "--max-cost", "x"
    )


def test_out_dir_of_another_run_is_refused(
    petitrag: Callable[..., Result], data: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other-run"
    other.mkdir()
    (other / "run.json").write_text(json.dumps({"dataset": "piaf-fr-dev.json", "dataset_sha256": "0"}))
    message = one_line_error(petitrag, "bench", str(data), "--models", MODEL, "--out", str(other))
    assert "holds another benchmark run" in message and "--fresh" in message
    stranger = tmp_path / "not-a-run"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    assert "holds no benchmark run" in one_line_error(
        petitrag, "bench", str(data), "--models", MODEL, "--out", str(stranger)
    )
    assert (stranger / "notes.txt").read_text() == "mine"


def test_report_only_rejudges_a_locked_run_without_answering(resumed: dict) -> None:
    out: Path = resumed["out"]  # type: ignore[assignment]
    before = lines(out / "predictions.jsonl")
    data = str(out.parent / "tiny.json")
    saved = (out / "run.json").read_text()
    run = json.loads(saved)
    run.pop("requantize")  # a run made before that setting existed: its report can be rebuilt
    (out / "run.json").write_text(json.dumps(run))
    with locked(out):  # as if the run were still going on
        result = invoke("bench", data, "--models", MODEL, "--out", str(out), "--limit", "3", "--report-only",
                        "--min-f1", "0", "--min-abstain", "none", "--max-p95-s", "none")  # fmt: skip
        refused = invoke("bench", data, "--models", MODEL, "--out", str(out), "--limit", "3", expect=1)
    (out / "run.json").write_text(saved)
    assert result.stdout.startswith("smallest model that passes: smollm2-135m")
    assert "another benchmark run is using" in refused.stderr
    assert lines(out / "predictions.jsonl") == before
    results = json.loads((out / "results.json").read_text())
    assert results["bar"]["min_abstain"] is None and results["verdict"]["smallest"] == MODEL
    empty = out.parent / "empty-out"
    empty.mkdir()
    message = invoke("bench", data, "--models", MODEL, "--out", str(empty), "--report-only", expect=1).stderr
    assert "holds no benchmark run to report on" in message
    # the run's own answer settings are reported: a shell's PETITRAG_SEARCH_K no longer refuses it
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PETITRAG_SEARCH_K", "9")
        again = invoke("bench", data, "--models", MODEL, "--out", str(out), "--limit", "3", "--report-only",
                       "--min-f1", "0", "--min-abstain", "none", "--max-p95-s", "none")  # fmt: skip
    assert (
        again.stdout.startswith("smallest model that passes") and lines(out / "predictions.jsonl") == before
    )
    assert json.loads((out / "results.json").read_text())["run"]["search_k"] == run["search_k"]
    other = out.parent / "other.json"
    other.write_text((out.parent / "tiny.json").read_text() + " ")
    message = invoke(
        "bench", str(other), "--models", MODEL, "--out", str(out), "--report-only", expect=1
    ).stderr
    assert "give the test set it ran on" in message


def test_an_edited_set_is_answered_from_its_own_articles_only(bench_home: Path) -> None:
    """The corpus was only ever added to: a set whose article was removed (or another set of
    the same file name) was still answered from the removed article."""
    invoke("bench", str(bench_home / "tiny.json"), "--models", MODEL, "--out", str(bench_home / "out-whole"),
           "--limit", "1")  # fmt: skip
    edited = bench_home / "edited" / "tiny.json"
    edited.parent.mkdir()
    edited.write_text(json.dumps({**SQUAD, "data": SQUAD["data"][1:]}), encoding="utf-8")  # no Eiffel Tower
    out = bench_home / "out-edited"
    invoke("bench", str(edited), "--models", MODEL, "--out", str(out), "--limit", "1")
    sources = {
        hit["source"] for row in map(json.loads, lines(out / "retrieval.jsonl")) for hit in row["hits"]
    }
    assert sources and all(source.endswith("000-Honey-bee.md") for source in sources)
    assert [path.name for path in sorted((bench_home / "data" / "corpus" / "tiny").iterdir())] == [
        "000-Honey-bee.md"
    ]


def test_a_name_that_now_means_another_model_does_not_resume(bench_home: Path, tmp_path: Path) -> None:
    """A registered name pointed at another file resumed its answers: the report mixed the
    135M model's quality with the other file's size, under one name."""
    from petitrag.config import load_settings
    from petitrag.generation.catalog import resolve_model

    data, out = bench_home / "tiny.json", tmp_path / "out"
    first, second = tmp_path / "a" / "swap.gguf", tmp_path / "b" / "swap.gguf"
    model = resolve_model(load_settings(), MODEL)
    for copy in (first, second):  # two files (a link would be resolved to the same one)
        copy.parent.mkdir()
        try:
            os.link(model, copy)
        except OSError:
            shutil.copyfile(model, copy)
    invoke("models", "pull", str(first), "--name", "swap")
    invoke("bench", str(data), "--models", "swap", "--out", str(out), "--limit", "1")
    invoke("models", "pull", str(second), "--name", "swap")
    refused = invoke("bench", str(data), "--models", "swap", "--out", str(out), "--limit", "2", expect=1)
    assert f"swap answered in {out} as {first}, but now names {second}" in refused.stderr
    assert "--fresh" in refused.stderr and len(lines(out / "predictions.jsonl")) == 1


def test_a_model_file_named_relative_then_absolute_resumes(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`--home home` after `--home /abs/home` was refused as another model, suggesting --fresh."""
    from petitrag.bench.suite import _moved

    monkeypatch.chdir(tmp_path)
    (tmp_path / "home" / "models").mkdir(parents=True)
    (tmp_path / "home" / "models" / "m.gguf").write_bytes(b"GGUF")
    assert not _moved(str(tmp_path / "home" / "models" / "m.gguf"), "home/models/m.gguf")
    assert _moved("home/models/m.gguf", "home/models/other.gguf") and _moved(None, "m.gguf")


def test_a_mistyped_collection_does_not_claim_the_output_folder(bench_home: Path, tmp_path: Path) -> None:
    """The next run, with the right collection, was refused: "holds another benchmark run"."""
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "When was the tower built?", "answers": ["1889"]}\n')
    out = tmp_path / "out"
    refused = invoke(
        "bench", str(questions), "--models", MODEL, "--out", str(out), "-c", "nosuchcoll", expect=1
    )
    assert "collection 'nosuchcoll' does not exist" in refused.stderr
    assert not (out / "run.json").exists()
