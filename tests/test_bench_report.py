"""Verdict, cost model, Pareto frontier and the report, on hand-made numbers (no model runs)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from petitrag.bench.cost import CostModel
from petitrag.bench.datasets import Case
from petitrag.bench.models import ModelSpec, parse_models, parse_params
from petitrag.bench.plot import Point, pareto_frontier, write_pareto
from petitrag.bench.results import model_results
from petitrag.bench.rundir import META_DIR, append_prediction, prepare, write_json
from petitrag.bench.runner import Prediction
from petitrag.bench.suite import BenchOptions, finish, run_identity
from petitrag.bench.verdict import Bar, Check, decide
from petitrag.config import Settings
from petitrag.errors import ConfigError
from tests.rescore_bench import rescore


def spec(key: str, megabytes: float | None, topline: bool = False) -> ModelSpec:
    size = int(megabytes * 1e6) if megabytes else None
    return ModelSpec(
        key, key, key, base_url=None if size else "http://x/v1", file_bytes=size, topline=topline
    )


def entry(f1: float, abstain: float | None = 0.9, p95: float = 10.0, cost: float = 0.1, ci: float = 0.02,
          unanswerable: int = 20) -> dict[str, Any]:  # fmt: skip
    """The parts of a results.json model entry that the verdict reads."""
    return {
        "quality": {"f1": {"mean": f1, "n": 80, "ci_low": f1 - ci, "ci_high": f1 + ci},
                    "abstain_correct": {"mean": abstain, "n": unanswerable,
                                        "ci_low": abstain and abstain - ci,
                                        "ci_high": abstain and abstain + ci}},
        "speed": {"total_s": {"p95": p95, "p95_ci": [p95 - 1, p95 + 1]}},
        "cost": {"eur_per_1k": {"mean": cost, "n": 100, "ci_low": cost, "ci_high": cost}},
        "cases": {"answerable": 80, "unanswerable": unanswerable, "predicted": 80 + unanswerable},
        "errors": {"count": 0},
    }  # fmt: skip


def test_smallest_passing_model_is_chosen_by_size_not_order() -> None:
    specs = [spec("big", 1100), spec("small", 490), spec("tiny", 98)]
    models = {"big": entry(0.70), "small": entry(0.61), "tiny": entry(0.30)}
    verdict = decide(Bar(), specs, models)
    assert verdict.passing == ["big", "small"] and verdict.smallest == "small"
    assert verdict.text == "smallest model that passes: small"
    assert models["tiny"]["bar"]["passes"] is False and models["small"]["bar"]["passes"] is True


def test_none_passes_names_the_closest_and_why() -> None:
    specs = [spec("a", 100), spec("b", 500)]
    models = {"a": entry(0.20, p95=5.0), "b": entry(0.45, p95=70.0)}
    verdict = decide(Bar(min_f1=0.5, max_p95_s=60.0), specs, models)
    # shortfalls: a (0.5 − 0.2) / 0.5 = 0.6; b 0.05 / 0.5 + 10 / 60 ≈ 0.27 → b is closer
    assert verdict.smallest is None and verdict.closest == "b"
    assert verdict.fails_on == ["F1 0.45 < 0.50", "p95 latency 70.0 s > 60.0 s"]
    assert verdict.text == "none passes; closest: b, fails on F1 0.45 < 0.50, p95 latency 70.0 s > 60.0 s"


def test_a_verdict_on_an_unfinished_run_says_it_is_provisional() -> None:
    """An interrupted run named its smallest passing model as if every question had been asked."""
    specs = [spec("small", 100), spec("big", 1000)]
    models = {"small": entry(0.70), "big": entry(0.80)}
    models["small"]["cases"].update(predicted=2, missing=4)
    verdict = decide(Bar(), specs, models)
    assert verdict.incomplete == ["small 2/6"] and verdict.smallest == "small"
    assert verdict.text == "incomplete run (small 2/6 answered), so far: smallest model that passes: small"


def test_a_model_that_did_not_load_is_named_not_awaited() -> None:
    """It read "incomplete run (bad 0/4 answered)", as if running again would finish it."""
    specs = [spec("bad", 100), spec("good", 1000)]
    models = {"bad": entry(0.0), "good": entry(0.70)}
    models["bad"]["cases"].update(predicted=0, missing=100)
    models["bad"]["load_error"] = "cannot load model bad.gguf: not a valid GGUF file"
    verdict = decide(Bar(), specs, models)
    assert verdict.smallest == "good" and verdict.not_loaded == ["bad"] and verdict.incomplete == []
    assert (
        verdict.text
        == "smallest model that passes: good. Not loaded: bad (the report's Errors table says why)"
    )
    alone = decide(Bar(), specs[:1], {"bad": models["bad"]})
    assert alone.smallest is None and alone.closest is None
    assert alone.text == "no model could be loaded: bad (the report's Errors table says why)"


def test_topline_is_judged_but_never_chosen() -> None:
    specs = [spec("small", 100), spec("large", 1100, topline=True)]
    models = {"small": entry(0.40), "large": entry(0.80)}
    verdict = decide(Bar(), specs, models)
    assert verdict.closest == "small" and verdict.topline == "large" and verdict.topline_passes is True
    assert verdict.text.endswith(". Topline large passes the bar")


def test_bar_relative_to_the_topline() -> None:
    bar = Bar.parse(min_f1="90%", has_topline=True)
    assert bar.min_f1 is None and bar.min_f1_of_topline == 0.9
    specs = [spec("a", 100), spec("b", 200), spec("top", 1000, topline=True)]
    models = {"a": entry(0.70), "b": entry(0.75), "top": entry(0.80)}
    verdict = decide(bar, specs, models)  # the bar is 0.9 × 0.80 = 0.72
    assert verdict.smallest == "b"
    assert models["a"]["bar"]["checks"][0]["threshold"] == pytest.approx(0.72)
    down = entry(0.0)  # a topline whose server was down: its F1 of 0 made a bar of 0
    down["errors"]["count"] = down["cases"]["predicted"]
    verdict = decide(bar, specs, {**models, "top": down})
    assert verdict.smallest is None and "fails on F1 has no topline F1 to compare with" in verdict.text


def test_uncertain_pass_is_flagged_and_inapplicable_criteria_skipped() -> None:
    models = {"a": entry(0.51, abstain=None, ci=0.05, unanswerable=0)}
    verdict = decide(Bar(), [spec("a", 100)], models)
    assert verdict.smallest == "a" and "within the 95 % interval of the bar: F1 0.51 ≥ 0.50" in verdict.text
    assert [c["criterion"] for c in models["a"]["bar"]["checks"]] == ["f1", "p95_s"]  # no unanswerable


def test_set_of_unanswerable_questions_only_is_judged_on_abstention() -> None:
    """No answerable question: F1 cannot apply (as abstention cannot without unanswerable ones)."""
    models = {"a": entry(0.0, abstain=1.0, ci=0.1, unanswerable=5)}
    models["a"]["cases"]["answerable"] = 0
    models["a"]["quality"]["f1"] = {"mean": None, "n": 0, "ci_low": None, "ci_high": None}
    verdict = decide(Bar(), [spec("a", 100)], models)
    assert verdict.smallest == "a"
    assert [c["criterion"] for c in models["a"]["bar"]["checks"]] == ["abstain", "p95_s"]


def test_uncertain_miss_is_flagged_too() -> None:
    """With a handful of questions, F1 0.45 against 0.50 is no more a result than 0.51 is."""
    models = {"a": entry(0.45, ci=0.1)}
    verdict = decide(Bar(), [spec("a", 100)], models)
    assert verdict.text == (
        "none passes; closest: a, fails on F1 0.45 < 0.50 "
        "(within the 95 % interval of the bar: F1 0.45 < 0.50)"
    )


def test_unmeasured_model_fails() -> None:
    failed = entry(0.0)
    failed["quality"]["f1"] = {"mean": None, "n": 0, "ci_low": None, "ci_high": None}
    verdict = decide(Bar(), [spec("broken", 100)], {"broken": failed})
    assert verdict.text == "none passes; closest: broken, fails on F1 not measured"


@pytest.mark.parametrize(
    ("flags", "message"),
    [({"min_f1": "90%"}, "--topline"), ({"min_f1": "1.5"}, "between 0 and 1"),
     ({"max_cost": "cheap"}, "not a number"), ({"max_p95_s": "-1"}, "at least 0"),
     ({"min_f1": "nan"}, "finite"), ({"max_p95_s": "inf"}, "finite"), ({"max_cost": "1e400"}, "finite"),
     ({"min_f1": "nan%", "has_topline": True}, "finite"),
     ({"min_f1": "1001%", "has_topline": True}, r"1001% must be between 0% and 1000%"),
     ({"min_f1": ""}, "empty"), ({"max_cost": " "}, "empty")],
)  # fmt: skip
def test_bar_flags_are_validated(flags: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Bar.parse(**flags)


def test_bar_none_disables_a_criterion() -> None:
    bar = Bar.parse(min_abstain="none", max_p95_s="off", max_cost="0.5")
    assert (bar.min_f1, bar.min_abstain, bar.max_p95_s, bar.max_cost) == (0.5, None, None, 0.5)


def test_cost_model_hand_computed() -> None:
    cost = CostModel(hardware_eur=876, hardware_hours=8760, watts=100, eur_per_kwh=0.2)
    assert cost.eur_per_hour == pytest.approx(0.1 + 0.02)  # 876/8760 + 0.1 kW × 0.2
    answer = Prediction("c", "m", "q", ["a"], False, timings={"total_s": 30.0, "prompt_tokens": 1000,
                                                               "completion_tokens": 100})  # fmt: skip
    assert cost.per_question(answer, "time") == pytest.approx(0.12 * 30 / 3600)  # €0.001
    priced = CostModel(api_eur_per_mtok_in=1.0, api_eur_per_mtok_out=2.0)
    assert priced.per_question(answer, "tokens") == pytest.approx((1000 * 1 + 100 * 2) / 1e6)
    assert priced.basis(spec("api", None)) == "tokens" and priced.basis(spec("local", 100)) == "time"
    assert CostModel().basis(spec("self-hosted", None)) == "time"  # no price: costed by time
    assert CostModel.from_settings(Settings()) == CostModel()  # config defaults = documented defaults


def test_failed_priced_api_calls_are_not_free(tmp_path: Path) -> None:
    """A dead paid API (every call failed, no tokens counted) cost €0 and met any --max-cost."""
    priced = CostModel(api_eur_per_mtok_in=1.0, api_eur_per_mtok_out=2.0)
    cases = [Case("a", "q?", ["x"]), Case("b", "q?", ["x"])]
    failed = {
        case.id: Prediction(case.id, "api", "q?", ["x"], False, timings={"total_s": 30.0},
                            error="connection refused", error_kind="unreachable")
        for case in cases
    }  # fmt: skip
    (tmp_path / META_DIR).mkdir()
    dead = model_results(tmp_path, spec("api", None), cases, failed, priced)
    assert dead["cost"]["basis"] == "tokens" and dead["cost"]["eur_per_1k"]["mean"] is None
    verdict = decide(Bar(min_f1=None, max_cost=1.0), [spec("api", None)], {"api": dead})
    assert verdict.passing == [] and "cost not measured" in verdict.text
    tokens = {"total_s": 1.0, "prompt_tokens": 1000, "completion_tokens": 100}
    answered = Prediction("a", "api", "q?", ["x"], False, "x", timings=tokens)
    half = model_results(tmp_path, spec("api", None), cases, {**failed, "a": answered}, priced)
    assert half["cost"]["eur_per_1k"]["mean"] == pytest.approx(1000 * (1000 + 200) / 1e6)  # over the answered
    # a question search abstained on costs nothing, but is no call that returned
    unasked = Prediction("b", "api", "q?", ["x"], True, "", timings={"total_s": 0.01, "prompt_tokens": 0})
    still_dead = model_results(tmp_path, spec("api", None), cases, {**failed, "b": unasked}, priced)
    assert still_dead["cost"]["eur_per_1k"]["mean"] is None


def test_pareto_frontier_keeps_only_undominated_models() -> None:
    points = [Point(1, 0.5, "A"), Point(2, 0.4, "B"), Point(3, 0.7, "C"), Point(3, 0.6, "D"),
              Point(0.5, 0.3, "E"), Point(4, 0.7, "F")]  # fmt: skip
    assert [p.label for p in pareto_frontier(points)] == ["E", "A", "C"]  # B<A, D<C, F ties C but slower
    assert pareto_frontier([]) == []


def test_parse_params() -> None:
    assert parse_params("135M") == 135e6 and parse_params("1.5B") == 1.5e9 and parse_params("?") is None


# --- report and results from hand-made predictions --------------------------------------------

CASES = [
    Case("c1", "Quand la tour Eiffel a-t-elle été construite ?", ["en 1889"]),
    Case("c2", "Qui a conçu la tour Eiffel ?", ["Gustave Eiffel"]),
    Case("c3", "Combien d'ascenseurs la tour compte-t-elle ?", [], impossible=True),
    Case("c4", "How long does the visit take?", ["2 heures", "two hours"]),
]
ANSWERS = {  # model → case → (answer, abstained, total_s, error_kind)
    "small": {"c1": ("En 1889 [1].", False, 2.0, None),
              "c2": ("L'ingénieur Gustave Eiffel", False, 3.0, None),
              "c3": ("Les documents ne contiennent pas la réponse.", True, 1.0, None),
              "c4": ("", False, 10.0, "crash")},
    "large": {"c1": ("1889", False, 20.0, None), "c2": ("Gustave Eiffel", False, 25.0, None),
              "c3": ("Les documents ne contiennent pas la réponse.", True, 15.0, None),
              "c4": ("Two hours.", False, 22.0, None)},
}  # fmt: skip


@pytest.fixture
def finished(tmp_path: Path) -> dict[str, Any]:
    """A complete output folder written without any model, then finished into a report."""
    out, dataset = tmp_path / "out", tmp_path / "tour.json"
    dataset.write_text('{"data": []}')
    (out / META_DIR).mkdir(parents=True)
    specs = [spec("small", 490), spec("large", 1100, topline=True)]
    for model, answers in ANSWERS.items():
        for case in CASES:
            text, abstained, seconds, kind = answers[case.id]
            language = "en" if case.id == "c4" else "fr"
            read = 0 if abstained and model == "small" else 500  # 0: search abstained without the model
            citations = (
                [{"text": "Construite pour 1889 par Gustave Eiffel."}] if text and not abstained else []
            )
            append_prediction(out, Prediction(
                case.id, model, case.question, case.answers, case.impossible, text, abstained, language,
                language if kind is None else "", citations,
                {"total_s": seconds, "ttft_s": seconds / 2, "prompt_tokens": read},
                error=kind and "the worker died", error_kind=kind))  # fmt: skip
        meta = {"model": model, "load_s": 1.0, "rss_before_load_mb": 80, "peak_rss_mb": 300.0, "cases": 4,
                "machine": {"cpu": "Test CPU", "cpus": 2, "memory_gib": 8.0}}  # fmt: skip
        if model == "small":  # a local model: the llama.cpp build is said; "large" is a server's
            meta["engine"] = "llama-cpp-python 0.3.36 (AVX2, FMA)"
            meta["model_file"] = "small.0badcafe-12345678.q4_1.gguf"  # a copy made by requantize
        write_json(out / META_DIR / f"{model}-1.json", meta)
    options = BenchOptions(dataset, "small", out, topline="large", limit=4)
    identity = run_identity(dataset, Settings(home=tmp_path))
    hits = [{"text": "construite en 1889 par Gustave Eiffel"}]
    retrieval = {case.id: {"hits": hits, "retrieval_s": 0.01} for case in CASES}
    retrieval[CASES[0].id] = {"hits": [{"text": "la tour mesure 330 m"}, *hits], "retrieval_s": 0.01}
    return finish(options, identity, CASES, retrieval, specs, CostModel())


def test_results_hand_checked(finished: dict[str, Any]) -> None:
    small = finished["models"]["small"]
    # F1 over answerable: c1 1.0, c2 [ingenieur gustave eiffel] vs [gustave eiffel] 0.8, c4 crash 0.0
    assert small["quality"]["f1"]["mean"] == pytest.approx(0.6)
    assert small["quality"]["exact_match"]["mean"] == pytest.approx(1 / 3, abs=1e-4)
    assert small["quality"]["abstain_correct"] == {"mean": 1.0, "n": 1, "ci_low": 0.2065, "ci_high": 1.0}
    assert small["speed"]["total_s"]["p95"] == pytest.approx(8.95)  # [1, 2, 3, 10]: 3 + 0.85 × 7
    assert small["speed"]["ttft_s"]["n"] == 2  # no TTFT for the crash, nor for c3: search abstained alone
    assert small["speed"]["prompt_tokens"]["mean"] == 500
    assert small["errors"]["by_kind"]["crash"] == 1 and small["errors"]["count"] == 1
    assert small["cost"]["eur_per_1k"]["mean"] == pytest.approx(
        1000 * 4 / 3600 * CostModel().eur_per_hour, 1e-3
    )
    # large: "1889" vs "en 1889" ("en" is no article) → 2/3; "Gustave Eiffel" 1; "Two hours." = "two hours" 1
    assert finished["models"]["large"]["quality"]["f1"]["mean"] == pytest.approx(8 / 9, abs=1e-4)
    assert finished["retrieval"]["gold_in_passages"]["mean"] == pytest.approx(2 / 3, abs=1e-4)  # not c4
    assert finished["retrieval"]["gold_in_first"]["mean"] == pytest.approx(1 / 3, abs=1e-4)  # nor c1
    assert finished["verdict"]["smallest"] == "small" and finished["verdict"]["topline_passes"] is True
    assert "within the 95 % interval" in finished["verdict"]["text"]  # 0.6 over 3 answers is no proof


def test_report_and_plot(finished: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = (out / "report.md").read_text()
    assert report.startswith("# Benchmark: tour.json\n\n**smallest model that passes: small")
    assert "| small | 0.33 [0.06, 0.79] | 0.60 [" in report  # EM, F1 with intervals
    assert "| 67% |" in report  # F1 relative to the topline: 0.6 / (8/9) = 0.675 (float: 0.67499…)
    assert "| small | 4/4 | 0.25 [0.05, 0.70] | 0 | 1 | 0 | 0 | 0 | — |" in report
    assert (out / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    assert "- Machine for small: Test CPU, 2 CPUs, 8 GiB; llama-cpp-python 0.3.36 (AVX2, FMA).\n" in report
    assert "- Machine for large: Test CPU, 2 CPUs, 8 GiB.\n" in report
    assert "- small ran as a Q4_1 copy of its file, made for AMX (`requantize = auto`).\n" in report
    assert "large ran as" not in report
    assert json.loads((out / "results.json").read_text())["verdict"] == finished["verdict"]


def test_independent_rescoring_agrees_on_hand_made_predictions(
    finished: dict[str, Any], tmp_path: Path
) -> None:
    again = rescore(tmp_path / "out")
    for model, numbers in again.items():
        for metric, stat in numbers["quality"].items():
            assert finished["models"][model]["quality"][metric]["mean"] == pytest.approx(
                stat["mean"], abs=1e-4
            )
        assert finished["models"][model]["speed"]["total_s"]["p95"] == pytest.approx(
            numbers["total_s"]["p95"]
        )


def test_model_specs_name_any_backend(tmp_path: Path) -> None:
    local = tmp_path / "my-model.Q4.gguf"
    local.write_bytes(b"GGUF" + bytes(60))
    settings = Settings(home=tmp_path)
    specs = parse_models(settings, " smollm2-135m , phi3@http://127.0.0.1:11434/v1", topline=str(local))
    assert [(s.key, s.kind, s.topline) for s in specs] == [
        ("smollm2-135m", "local", False), ("phi3", "api", False), ("my-model.Q4", "local", True)
    ]  # fmt: skip
    assert specs[0].params == 135e6 and specs[0].file_bytes and specs[2].file_bytes == 64
    assert specs[1].model == "phi3" and specs[1].base_url == "http://127.0.0.1:11434/v1"
    assert specs[2].size_key() < specs[0].size_key() < specs[1].size_key()  # 64 B < 98 MB < unknown (API)
    with pytest.raises(ConfigError, match="same name"):
        parse_models(settings, f"{local},{local}")
    with pytest.raises(ConfigError, match="NAME@http"):
        parse_models(settings, "phi3@localhost:11434")


def test_fresh_deletes_every_file_of_the_run_and_nothing_else(tmp_path: Path) -> None:
    """Left over, an old run's routing.json/png or worker.log would sit next to the new report."""
    out = tmp_path / "out"
    out.mkdir()
    prepare(out, {"dataset": "a"}, fresh=False)
    for name in ("predictions.jsonl", "worker.log", "routing.json", "routing.png", "mine.txt"):
        (out / name).write_text("old")
    prepare(out, {"dataset": "b"}, fresh=True)
    assert sorted(path.name for path in out.iterdir()) == ["meta", "mine.txt", "run.json"]


def test_plot_without_any_f1_warns_nothing(tmp_path: Path) -> None:
    """A set of unanswerable questions only has no F1 to plot: an empty plot, not a stray warning."""
    model = {"quality": {"f1": {"mean": None}}, "bar": {"checks": []}}
    results = {"models": {"a": model}, "bar": {"max_p95_s": None}, "selection": {"selected": 2},
               "run": {"dataset": "x.jsonl"}}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_pareto(tmp_path / "pareto.png", results)
    assert (tmp_path / "pareto.png").read_bytes()[:4] == b"\x89PNG"


def test_a_small_cost_bar_is_shown_as_given() -> None:
    """With --max-cost 0.0001 the verdict read "cost 0.018 €/1k > 0.000 €/1k"."""
    assert Check("cost", 0.0001, 0.018, False).describe() == "cost 0.018 €/1k > 0.0001 €/1k"
