"""Small first, big when unsure: the router with real models, the calibration on known data.

The real-model tests route SmolLM2 to itself under another name (its GGUF path): what is
checked is the policy (who answers, what is shown, what is logged), not answer quality.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from petitrag.bench.models import ModelSpec
from petitrag.bench.rundir import append_prediction, load_predictions
from petitrag.bench.runner import Prediction
from petitrag.cli import cli
from petitrag.cli_bench import routing_summary
from petitrag.config import load_settings
from petitrag.demo import sample_corpus
from petitrag.errors import ConfigError, PetitragError
from petitrag.generation.base import Completion, Token
from petitrag.generation.catalog import resolve_model
from petitrag.routing.bench import calibrate_route, models_with_route
from petitrag.routing.calibrate import auc, calibrate
from petitrag.routing.router import parse_route
from petitrag.routing.score import Calibration, ConfidenceModel, calibration_path, load_calibration
from petitrag.routing.signals import SIGNAL_NAMES, compute_signals, content_tokens
from tests.conftest import ASK_JSON_KEYS, petitrag_env

SMALL = "smollm2-135m"
QUESTION = "When does the inverter need replacing?"  # SmolLM2 answers it, citing its passage


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("route-home")
    with petitrag_env(home, max_tokens="48"):
        shutil.copytree(sample_corpus(), home / "corpus")
        result = CliRunner().invoke(cli, ["ingest", str(home / "corpus")], catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        yield home


@pytest.fixture(scope="module")
def large(indexed: Path) -> str:
    """SmolLM2 again, named by its path: a second model as far as routing is concerned."""
    return str(resolve_model(load_settings(), SMALL))


def ask_json(*args: str) -> dict:  # type: ignore[type-arg]
    result = CliRunner().invoke(cli, ["ask", QUESTION, "--json", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_confident_small_answer_is_kept_and_equals_the_unrouted_one(indexed: Path, large: str) -> None:
    ask_json("-m", SMALL)  # both compared runs then start with this prompt in the KV cache
    routed = ask_json("--route", f"{SMALL},{large}", "--route-threshold", "0")
    plain = ask_json("-m", SMALL)
    assert list(routed)[: len(ASK_JSON_KEYS)] == ASK_JSON_KEYS
    assert routed["answer"] == plain["answer"] and routed["citations"] == plain["citations"]
    assert routed["escalated"] is False and routed["model"] == SMALL
    route = routed["route"]
    assert route["first_model"] == route["answered_by"] == SMALL
    assert route["threshold"] == 0 and route["calibrated"] is False
    assert set(route["signals"]) == set(SIGNAL_NAMES)
    assert route["signals"]["mean_logprob"] < 0  # llama.cpp gives logprobs
    assert route["signals"]["self_check"] is None  # the default score does not use it: not asked
    assert route["signals"]["abstain_logprob"] is None  # nor this (SmolLM2 has no abstain_above)
    assert 0 <= routed["confidence"] <= 1 and routed["confidence"] == route["confidence"]


def test_unsure_small_answer_escalates_to_the_large_model(indexed: Path, large: str) -> None:
    routed = ask_json("--route", f"{SMALL},{large}", "--route-threshold", "1")
    assert routed["escalated"] is True
    assert routed["route"]["answered_by"] == Path(large).stem == routed["model"]
    assert routed["route"]["first_model"] == SMALL and "first_answer" in routed["route"]
    timings = routed["timings"]
    assert timings["retrieval_s"] < timings["ttft_s"] <= timings["total_s"]


def test_unreachable_large_model_returns_the_small_answer_marked_low(indexed: Path) -> None:
    routed = ask_json("--route", f"{SMALL},big@http://127.0.0.1:9/v1", "--route-threshold", "1")
    assert routed["escalated"] is False and routed["model"] == SMALL and routed["answer"]
    assert routed["route"]["escalation_failed"] is True
    assert "cannot reach" in routed["route"]["reason"] or "failed" in routed["route"]["reason"]
    result = CliRunner().invoke(cli, ["ask", QUESTION, "--json", "--route", f"{SMALL},big@http://127.0.0.1:9/v1",
                                      "--route-threshold", "1"])  # fmt: skip
    assert result.stderr.startswith(f"warning: answered by {SMALL} (")  # the JSON reader's log shows it too
    alone = CliRunner().invoke(cli, ["ask", QUESTION, "--route-threshold", "0.5"])  # was silently ignored
    assert (
        alone.exit_code == 1
        and alone.stderr == "error: --route-threshold needs a route: add --route SMALL,LARGE (or set route)\n"
    )
    configured = CliRunner().invoke(
        cli, ["ask", QUESTION, "--json", "-m", SMALL], env={"PETITRAG_ROUTE_THRESHOLD": "0.5"}
    )
    assert configured.exit_code == 0, configured.stderr
    assert "warning: route_threshold is set but no route" in configured.stderr


def test_a_large_model_failing_mid_answer_is_replaced_not_continued(indexed: Path) -> None:
    """Its words went out, then the small answer was streamed right after them: OpenAI clients
    showed the two answers as one."""
    from petitrag.answer.pipeline import Answerer
    from petitrag.app import open_app
    from petitrag.errors import GenerationError
    from petitrag.routing.router import Router
    from petitrag.routing.score import Calibration

    class FailingMidAnswer(Answerer):
        def __init__(self) -> None:  # nothing to load: it only fails
            pass

        def answer(self, question, language, hits, waited_s, on_token=None):  # type: ignore[no-untyped-def]
            on_token("In Lyon [1]. Also")
            raise GenerationError("connection to the large model lost mid-answer")

    streamed: list[str] = []
    with open_app(load_settings(model=SMALL)) as app:
        router = Router(app.answerer(), FailingMidAnswer(), Calibration(SMALL, "big", threshold=1.0))
        result = router.ask(QUESTION, on_token=streamed.append)
    assert result.extra["route"]["escalation_failed"] is True and not result.escalated
    assert streamed[0] == "In Lyon [1]. Also" and streamed[1].startswith("\n→ ")
    assert result.timings["ttft_s"] < result.timings["total_s"]  # the large model's words came first


def test_a_kept_small_answer_streams_as_checked_not_as_generated(indexed: Path) -> None:
    """The router streamed the small model's raw text: numbers the checks refused flowed, and an
    abstention showed twice (the model's words, then "→ " and the sentence)."""
    from petitrag.answer.pipeline import Answerer
    from petitrag.answer.prompts import ABSTAIN
    from petitrag.app import open_app
    from petitrag.routing.router import Router
    from petitrag.routing.score import Calibration

    streamed: list[str] = []
    with open_app(load_settings(model=SMALL)) as app:
        small = app.answerer()

        class Checked(Answerer):  # the checks turned its answer into the abstention
            def __init__(self) -> None:
                pass

            def answer(self, question, language, hits, waited_s, on_token=None):  # type: ignore[no-untyped-def]
                result = small.answer(question, language, hits, waited_s)
                result.answer, result.abstained = ABSTAIN[language], True
                return result

            def retrieve(self, question, k=None):  # type: ignore[no-untyped-def]
                return small.retrieve(question, k)

        router = Router(Checked(), small, Calibration(SMALL, "big", threshold=0.0))
        result = router.ask(QUESTION, on_token=streamed.append)
    assert result.completion is not None and result.completion.text.strip() != result.answer
    assert "".join(streamed) == result.answer


def test_streamed_route_says_who_answered(indexed: Path, large: str) -> None:
    result = CliRunner().invoke(
        cli, ["ask", QUESTION, "--route", f"{SMALL},{large}", "--route-threshold", "1"]
    )
    assert result.exit_code == 0, result.stderr
    assert f"escalated from {SMALL} to {Path(large).stem}" in result.stderr


def test_saved_calibration_is_used_by_ask(indexed: Path, large: str) -> None:
    """A calibration that weighs the self-check makes the small model check its answer."""
    model = ConfidenceModel(weights={"self_check": 1.0})
    calibration = Calibration(SMALL, large, threshold=0.0, model=model, calibrated=True)
    calibration.save(calibration_path(indexed, SMALL, large))
    try:
        routed = ask_json("--route", f"{SMALL},{large}")
        assert routed["route"]["calibrated"] is True and routed["escalated"] is False
        assert 0 < routed["route"]["signals"]["self_check"] < 1
    finally:
        calibration_path(indexed, SMALL, large).unlink()


def test_saved_calibration_weighing_the_abstention_likelihood_measures_it(indexed: Path, large: str) -> None:
    model = ConfidenceModel(weights={"abstain_logprob": -1.0})
    calibration = Calibration(SMALL, large, threshold=0.0, model=model, calibrated=True)
    calibration.save(calibration_path(indexed, SMALL, large))
    try:
        routed = ask_json("--route", f"{SMALL},{large}")
        signals = routed["route"]["signals"]
        assert signals["abstain_logprob"] < 0 and signals["self_check"] is None
        assert routed["confidence"] == pytest.approx(calibration.score(signals))
    finally:
        calibration_path(indexed, SMALL, large).unlink()


def test_calibration_from_another_fusion_is_refused(indexed: Path, large: str) -> None:
    """Its retrieval-score weights were fitted on another scale: using them would mis-route."""
    calibration = Calibration(SMALL, large, threshold=0.0, calibrated=True, fusion="rrf")
    calibration.save(calibration_path(indexed, SMALL, large))
    try:
        result = CliRunner().invoke(cli, ["ask", QUESTION, "--route", f"{SMALL},{large}"])
        assert result.exit_code == 1
        assert "fitted with rrf fusion, but search uses coverage" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        with petitrag_env(indexed, max_tokens="48", fusion="rrf"):
            assert ask_json("--route", f"{SMALL},{large}")["route"]["calibrated"] is True
    finally:
        calibration_path(indexed, SMALL, large).unlink()


def test_bad_route_is_one_clear_line(indexed: Path) -> None:
    result = CliRunner().invoke(cli, ["ask", QUESTION, "--route", SMALL])
    assert result.exit_code != 0
    assert result.stderr.strip().startswith("error: route must be 'small,large'")
    assert len(result.stderr.strip().splitlines()) == 1
    # a large model that names nothing: one error now, not a fallback inside every answer
    result = CliRunner().invoke(cli, ["ask", QUESTION, "--json", "--route", f"{SMALL},nosuch-model"])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: unknown model 'nosuch-model'")


def test_the_route_line_goes_by_the_result_not_by_model_names() -> None:
    """A local model routed to the same name on a server: "answered by m (0.05 ≥ 0.99)" was wrong."""
    from petitrag.report import route_line

    route = {"first_model": "m", "answered_by": "m", "confidence": 0.05, "threshold": 0.99, "reason": "low"}
    assert route_line(route, escalated=True) == "escalated from m to m: confidence 0.05 < 0.99"
    kept = route_line({**route, "confidence": 0.999}, escalated=False)
    assert kept == "answered by m (confidence 1.00 ≥ 0.99, not escalated)"


def test_parse_route() -> None:
    spec = parse_route(" a , b@http://h:1/v1 ")
    assert (spec.small, spec.large) == ("a", "b@http://h:1/v1")
    for bad in ("a", "a,b,c", "a,", "a,a"):
        with pytest.raises(ConfigError):
            parse_route(bad)


def test_citation_markers_do_not_count_as_answer_tokens() -> None:
    tokens = [Token(text, logprob=-1.0) for text in ["4", "5", " km", " [", "1", "]", "."]]
    assert [t.text for t in content_tokens(tokens)] == ["4", "5", " km", "."]


def test_signals_of_a_grounded_and_an_ungrounded_answer() -> None:
    completion = Completion("45 km [1]", [Token("45", -0.1, 0.2), Token(" km", -0.3, 0.4)], "m")
    grounded = compute_signals("How far?", "45 km [1]", False, completion, [], ["It rides 45 km."], "en")
    assert grounded["grounding"] == 1.0 and grounded["mean_logprob"] == pytest.approx(-0.2)
    assert grounded["min_logprob"] == pytest.approx(-0.3) and grounded["answer_tokens"] == 2
    wrong_number = compute_signals("How far?", "50 km", False, completion, [], ["It rides 45 km."], "en")
    assert wrong_number["grounding"] == 0.0  # a number the passage does not contain
    question = compute_signals("Which is bigger, A or B?", "A", False, None, [], [], "en")
    assert question["comparison"] == 1.0 and question["mean_logprob"] is None


def test_auc_by_hand() -> None:
    assert auc([0.9, 0.8, 0.1], [True, True, False]) == 1.0
    assert auc([0.1, 0.9], [True, False]) == 0.0
    assert auc([0.5, 0.5], [True, False]) == 0.5
    assert auc([0.5], [True]) is None


def _prediction(case: int, model: str, right: bool, logprob: float, seconds: float) -> Prediction:
    return Prediction(
        case_id=str(case), model=model, question="q", gold=["paris"], impossible=False,
        prediction="Paris" if right else "Lyon", timings={"total_s": seconds, "retrieval_s": 0.1},
        signals={"mean_logprob": logprob},
    )  # fmt: skip


def test_calibration_escalates_exactly_the_cases_the_small_model_gets_wrong() -> None:
    """A signal that separates perfectly: routed quality = large's, at a fraction of its time."""
    small = [
        _prediction(i, "s", right=i % 3 != 0, logprob=-0.1 if i % 3 else -2.5, seconds=1) for i in range(30)
    ]
    large = [_prediction(i, "l", right=True, logprob=-0.1, seconds=10) for i in range(30)]
    calibration = calibrate(small, large, margin=0.0)
    details = calibration.details
    assert calibration.calibrated and details["n"] == 30
    assert details["large_alone"]["f1"] == 1.0 and details["small_alone"]["f1"] == pytest.approx(20 / 30)
    assert details["chosen"]["f1"] == 1.0
    assert details["chosen"]["escalation_rate"] == pytest.approx(10 / 30)
    assert details["latency_ratio"] == pytest.approx((30 + 10 * 9.9) / 300)
    assert details["signal_auc"]["mean_logprob"] == 1.0
    # no self-check in the run: its neutral 0.8 everywhere (std 1e-16, not 0) weighs nothing;
    # scaled by that std, its rounding noise decided every route
    assert calibration.model.weights["self_check"] == 0.0 and calibration.model.scales["self_check"] == 1.0
    assert (
        calibration.score({"mean_logprob": -0.1})
        > calibration.threshold
        > calibration.score({"mean_logprob": -2.5})
    )


def test_calibration_learns_the_self_check_when_it_separates() -> None:
    small = [_prediction(i, "s", right=i % 3 != 0, logprob=-0.5, seconds=1) for i in range(30)]
    for prediction in small:
        prediction.signals["self_check"] = 0.9 if prediction.prediction == "Paris" else 0.6
    large = [_prediction(i, "l", right=True, logprob=-0.5, seconds=10) for i in range(30)]
    calibration = calibrate(small, large, margin=0.0)
    assert calibration.details["signal_auc"]["self_check"] == 1.0
    assert calibration.model.weights["self_check"] > 0
    assert calibration.details["chosen"]["escalation_rate"] == pytest.approx(10 / 30)


def test_calibration_learns_the_abstention_likelihood_when_it_separates() -> None:
    """Wrong small answers are those where the model nearly abstained: a negative weight."""
    small = [_prediction(i, "s", right=i % 3 != 0, logprob=-0.5, seconds=1) for i in range(30)]
    for prediction in small:
        prediction.signals["abstain_logprob"] = -6.0 if prediction.prediction == "Paris" else -2.5
    large = [_prediction(i, "l", right=True, logprob=-0.5, seconds=10) for i in range(30)]
    calibration = calibrate(small, large, margin=0.0)
    assert calibration.details["signal_auc"]["abstain_logprob"] == 0.0  # higher = wrong
    assert calibration.model.weights["abstain_logprob"] < 0
    assert calibration.details["chosen"]["escalation_rate"] == pytest.approx(10 / 30)


def test_calibration_escalates_everything_when_no_signal_helps() -> None:
    small = [_prediction(i, "s", right=i % 2 == 0, logprob=-0.5, seconds=1) for i in range(20)]
    large = [_prediction(i, "l", right=True, logprob=-0.5, seconds=5) for i in range(20)]
    chosen = calibrate(small, large, margin=0.0).details["chosen"]
    assert chosen["escalation_rate"] == 1.0 and chosen["f1"] == 1.0


def test_calibration_needs_enough_paired_cases(tmp_path: Path) -> None:
    small = [_prediction(i, "s", True, -0.1, 1) for i in range(5)]
    with pytest.raises(PetitragError, match="at least 10 cases"):
        calibrate(small, small)


def test_calibration_round_trip_and_unreadable_file(tmp_path: Path) -> None:
    small = [
        _prediction(i, "s", right=i % 3 != 0, logprob=-0.1 if i % 3 else -2.5, seconds=1) for i in range(30)
    ]
    large = [_prediction(i, "l", right=True, logprob=-0.1, seconds=10) for i in range(30)]
    calibration = calibrate(small, large)
    calibration.save(calibration_path(tmp_path, "s", "l"))
    loaded = load_calibration(tmp_path, "s", "l")
    assert loaded.threshold == calibration.threshold and loaded.model == calibration.model
    assert load_calibration(tmp_path, "x", "y").calibrated is False
    older = calibration.to_json()
    del older["fusion"]  # saved before the fusion was recorded: rank fusion was the only one
    calibration_path(tmp_path, "s", "l").write_text(json.dumps(older))
    assert load_calibration(tmp_path, "s", "l").fusion == "rrf"
    calibration_path(tmp_path, "s", "l").write_text("{not json")
    with pytest.raises(ConfigError, match="unreadable"):
        load_calibration(tmp_path, "s", "l")


def test_each_pair_of_served_models_has_its_own_calibration(tmp_path: Path) -> None:
    """ "llama3.2@http://localhost:11434/v1" and "gpt-4o@https://api.openai.com/v1" both saved to
    "s__v1.json": one pair's calibration was applied to the other."""
    llama, gpt = "llama3.2@http://localhost:11434/v1", "gpt-4o@https://api.openai.com/v1"
    paths = {
        calibration_path(tmp_path, "s", large) for large in (llama, gpt, "mistral@http://localhost:11434/v1")
    }
    assert len(paths) == 3 and all(path.name.startswith("s__") for path in paths)
    assert calibration_path(tmp_path, "s", "l").name == "s__l.json"  # catalog names: as before
    calibration = Calibration("s", llama, threshold=0.4, calibrated=True)
    calibration.save(calibration_path(tmp_path, "s", gpt))  # a file of another pair under this name
    assert load_calibration(tmp_path, "s", gpt).calibrated is False


# --- bench --route ------------------------------------------------------------------------------


def test_models_with_route_adds_only_missing_models() -> None:
    assert models_with_route("a,b", None, "a,c") == "a,b,c"
    assert models_with_route("a", "c", "a,c") == "a"
    assert models_with_route("a", None, None) == "a"


def test_bench_route_calibrates_saves_and_reports(tmp_path: Path) -> None:
    out, home = tmp_path / "out", tmp_path / "home"
    out.mkdir()
    (out / "report.md").write_text("# Benchmark\n")
    small = [
        _prediction(i, "s", right=i % 3 != 0, logprob=-0.1 if i % 3 else -2.5, seconds=1) for i in range(30)
    ]
    large = [_prediction(i, "l", right=True, logprob=-0.1, seconds=10) for i in range(30)]
    for prediction in [*small, *large]:
        append_prediction(out, prediction)
    specs = [ModelSpec(key="s", spec="s", model="s"), ModelSpec(key="l", spec="l", model="l")]
    summary = calibrate_route(
        out, home, "s,l", specs, [str(i) for i in range(30)], 0.03, "synthetic", "relative"
    )
    assert summary["n"] == 30 and summary["chosen"]["escalation_rate"] == pytest.approx(1 / 3)
    report = (out / "report.md").read_text()
    assert report.startswith("# Benchmark") and "## Routing: s → l" in report and "**met**" in report
    assert (out / "routing.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "routing.json").read_text())["threshold"] == summary["threshold"]
    saved = load_calibration(home, "s", "l")
    assert saved.calibrated and saved.threshold == summary["threshold"] and saved.fusion == "relative"
    assert summary["partial"] is None and "calibrated on" not in report


def test_bench_route_on_a_partial_run_says_how_many_questions_it_used(tmp_path: Path) -> None:
    """A stopped run: the large model answered 20 of 30 questions; routing replays those 20 and says so."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").write_text("# Benchmark\n")
    for i in range(30):
        append_prediction(
            out, _prediction(i, "s", right=i % 3 != 0, logprob=-0.1 if i % 3 else -2.5, seconds=1)
        )
        if i < 20:
            append_prediction(out, _prediction(i, "l", right=True, logprob=-0.1, seconds=10))
    specs = [ModelSpec(key="s", spec="s", model="s"), ModelSpec(key="l", spec="l", model="l")]
    summary = calibrate_route(out, tmp_path, "s,l", specs, [str(i) for i in range(30)], 0.03, "x", "rrf")
    assert summary["n"] == 20 and summary["questions"] == 30
    assert summary["partial"].startswith("Routing calibrated on 20 of 30 questions")
    assert summary["partial"] in (out / "report.md").read_text()
    assert routing_summary(summary).splitlines()[1] == summary["partial"]
    said_unmet = "(the routing bar, 97 % of its quality at 60 % of its latency, is not met)"
    assert (said_unmet in routing_summary(summary)) is not summary["bar_met"]
    assert ("**not met**" in (out / "report.md").read_text()) is not summary["bar_met"]


def test_bench_route_end_to_end_explains_when_it_cannot_calibrate(indexed: Path, large: str) -> None:
    """Two real models, two questions: too few to calibrate — said in the report, not a crash."""
    data = indexed / "tiny.jsonl"
    data.write_text(
        '{"question": "How often should I turn my compost pile?", "answers": ["every two to three weeks"]}\n'
        '{"question": "When does the inverter need replacing?", "answers": ["after 10 to 15 years"]}\n'
    )
    out = indexed / "bench-out"
    args = ["bench", str(data), "--models", SMALL, "--route", f"{SMALL},{large}", "--out", str(out)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"routing {SMALL},{large}: not calibrated" in result.stdout
    models = {p.model for p in load_predictions(out, SMALL)} | {
        p.model for p in load_predictions(out, Path(large).stem)
    }
    assert models == {SMALL, Path(large).stem}  # the route's second model was benchmarked too
    assert "## Routing" in (out / "report.md").read_text()
    assert "at least 10 cases" in json.loads((out / "routing.json").read_text())["error"]


def test_served_routes_are_counted_by_outcome() -> None:
    """Nothing told an operator how often the large model was needed."""
    from petitrag.server.metrics import Metrics

    metrics = Metrics(lambda: 0)
    timings = {"ttft_s": 0.1, "completion_tokens": 3, "prompt_tokens": 10}
    kept, failed = (
        {"route": {}, "escalated": False},
        {"route": {"escalation_failed": True}, "escalated": False},
    )
    for answer in ({"route": {}, "escalated": True}, failed, kept, kept, {"escalated": False}):
        metrics.observe_generation("rag", timings, {**answer, "timings": {"queue_s": 0.0}})
    text = metrics.render().decode()
    for outcome, count in (("escalated", 1), ("escalation_failed", 1), ("kept", 2)):
        assert f'petitrag_routed_answers_total{{outcome="{outcome}"}} {count}.0' in text
