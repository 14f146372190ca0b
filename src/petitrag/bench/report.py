"""report.md: the verdict first, then one table per metric family, all from results.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from petitrag.bench.rundir import PARETO, PREDICTIONS
from petitrag.generation.requantize import copy_kind

_QUALITY = [
    ("exact_match", "EM"),
    ("f1", "F1"),
    ("contains_gold", "contains gold"),
    ("correct_answered", "correct & answered"),
    ("abstain_correct", "abstains when unanswerable"),
    ("false_abstention", "false abstention"),
    ("citation_correct", "citation correct"),
    ("language_match", "answer language = question"),
]
_CRITERIA = {
    "f1": "F1 ≥",
    "abstain": "abstention ≥",
    "p95_s": "p95 latency (s) ≤",
    "cost": "€ / 1k questions ≤",
}


def write_report(path: Path, results: dict[str, Any]) -> None:
    path.write_text("\n".join(report_lines(results)) + "\n", encoding="utf-8")


def report_lines(results: dict[str, Any]) -> list[str]:
    models = results["models"]
    return [
        f"# Benchmark: {results['run']['dataset']}",
        "",
        f"**{results['verdict']['text']}.**",
        "",
        *_context(results),
        "",
        "## The bar",
        "",
        *_bar_table(results),
        "",
        f"![F1 against latency and size, Pareto frontier]({PARETO})",
        "",
        "## Quality (mean [95 % interval])",
        "",
        *_table(
            ["model", *(label for _, label in _QUALITY), "F1 / topline"],
            [
                [
                    key,
                    *(_stat(m["quality"][k], n=k == "citation_correct") for k, _ in _QUALITY),
                    _relative(m, results),
                ]
                for key, m in models.items()
            ],
        ),
        "",
        "## Speed",
        "",
        *_speed(models),
        "",
        "## Resources",
        "",
        *_resources(models),
        "",
        "## Cost (€ per 1,000 questions)",
        "",
        *_cost(results),
        "",
        "## Errors",
        "",
        *_errors(models),
        "",
        "## Re-scoring",
        "",
        f"Every number above is computed from `{PREDICTIONS}` (one line per model and question: question,",
        "gold answers, prediction, abstention, cited passages, timings, error) — see docs/bench.md.",
    ]


def _context(results: dict[str, Any]) -> list[str]:
    run, selection, retrieval = results["run"], results["selection"], results["retrieval"]
    if selection.get("limit"):
        how = f"the first {selection['limit']} questions"
    elif selection.get("sample"):
        how = f"a seeded sample of the questions (seed {selection['seed']})"
    else:
        how = "all questions"
    unfinished = [f"{key} {m['cases']['predicted']}/{m['cases']['selected']}"
                  for key, m in results["models"].items() if m["cases"]["missing"]]  # fmt: skip
    return [
        *([f"- **Incomplete run** — answered so far: {', '.join(unfinished)}."] if unfinished else []),
        f"- Test set `{run['dataset']}` (sha256 `{run['dataset_sha256'][:12]}`): {how}, "
        f"{selection['selected']} in all — {selection['answerable']} answerable, "
        f"{selection['unanswerable']} unanswerable.",
        f"- Retrieval: collection `{run['collection']}`, embedder `{run['embedder']}`, {run['search_mode']}, "
        f"k = {run['search_k']}; retrieved once, the same passages for every model. They hold a gold "
        f"answer for {_stat(retrieval['gold_in_passages'])} of answerable questions (the ceiling), "
        f"the first passage alone for {_stat(retrieval['gold_in_first'])} "
        "(what best-first reading answers from first); "
        f"search p50 {_num(retrieval['latency_s']['p50'], 3)} s.",
        f"- Generation: greedy, threads = {run['threads']}, max_tokens = {run['max_tokens']}, "
        f"prompt budget = {run['prompt_budget']} tokens, context = {run['context_size']}, "
        f"reading = {run.get('reading', 'all')}.",
        *_machine_lines(results["models"]),
        f"- petitrag {results['petitrag_version']}, {results['created']}; "
        f"results.json schema {results['schema_version']}.",
    ]


def _machine_lines(models: dict[str, Any]) -> list[str]:
    """Where the models ran and on which llama.cpp build: speeds compare only between the same."""
    seen: dict[str, list[str]] = {}
    for key, entry in models.items():
        resources = entry.get("resources", {})
        box = resources.get("machine")
        if not box:
            continue  # a run from before machines were recorded, or a model that never loaded
        memory = f", {box['memory_gib']:g} GiB" if box.get("memory_gib") else ""
        where = f"{box.get('cpu') or 'unknown CPU'}, {box.get('cpus')} CPUs{memory}"
        engine = resources.get("engine")
        seen.setdefault(f"{where}; {engine}" if engine else where, []).append(key)
    lines = (
        [f"- Machine: {next(iter(seen))}."]
        if len(seen) == 1
        else [f"- Machine for {', '.join(keys)}: {where}." for where, keys in seen.items()]
    )
    for key, entry in models.items():
        kind = copy_kind(entry.get("resources", {}).get("model_file") or "")
        if kind:
            lines.append(f"- {key} ran as a {kind} copy of its file, made for AMX (`requantize = auto`).")
    return lines


def _bar_table(results: dict[str, Any]) -> list[str]:
    models = results["models"]
    criteria = [c["criterion"] for m in models.values() for c in m["bar"]["checks"]]
    rows = []
    for criterion in dict.fromkeys(criteria):
        threshold = next(
            c["threshold"] for m in models.values() for c in m["bar"]["checks"] if c["criterion"] == criterion
        )
        cells = [_check_cell(m, criterion) for m in models.values()]
        rows.append([_CRITERIA[criterion], _num(threshold, 3), *cells])
    rows.append(["**passes**", "", *("**yes**" if m["bar"]["passes"] else "no" for m in models.values())])
    headers = ["criterion", "threshold", *(_model_label(k, m) for k, m in models.items())]
    note = "(✔ pass, ✘ fail, ~ the 95 % interval contains the threshold; the topline is judged, never chosen)"
    return [*_table(headers, rows), "", note]


def _check_cell(model: dict[str, Any], criterion: str) -> str:
    check = next((c for c in model["bar"]["checks"] if c["criterion"] == criterion), None)
    if check is None:
        return "—"
    mark = "✔" if check["passes"] else "✘"
    return f"{mark} {_num(check['value'], 3)}{' ~' if check['uncertain'] else ''}"


def _speed(models: dict[str, Any]) -> list[str]:
    rows = []
    for key, m in models.items():
        s = m["speed"]
        rows.append(
            [
                key,
                _pct(s["ttft_s"], "p50"),
                _pct(s["ttft_s"], "p95"),
                _stat(s["tokens_per_s"], 1),
                _pct(s["total_s"], "p50"),
                _pct(s["total_s"], "p95"),
                _stat(s["prompt_tokens"], 0),
                _stat(s["completion_tokens"], 1),
            ]
        )
    headers = [
        "model",
        "TTFT p50 (s)",
        "TTFT p95 (s)",
        "decode tok/s",
        "end-to-end p50 (s)",
        "end-to-end p95 (s)",
        "prompt tokens",
        "completion tokens",
    ]
    return _table(headers, rows)


def _resources(models: dict[str, Any]) -> list[str]:
    rows = []
    for key, m in models.items():
        r = m["resources"]
        size = f"{r['file_bytes'] / 1e6:,.0f} MB" if r["file_bytes"] else "— (API)"
        params = f"{r['params'] / 1e9:g} B" if r["params"] else "?"
        peak = r["peak_rss_mb"]
        rss = f"{peak['max']:,.0f} (n = {peak['n']})" if peak["max"] else "—"
        rows.append([key, m["kind"], params, size, rss, _stat(r["load_s"], 2)])
    return [
        *_table(["model", "backend", "params", "file", "peak RSS MB", "load s"], rows),
        "",
        "(peak RSS: the worker process that answers — model, llama.cpp context and Python; "
        "n = worker processes)",
    ]


def _cost(results: dict[str, Any]) -> list[str]:
    c = results["cost_model"]
    rows = [
        [key, m["cost"]["basis"], _stat(m["cost"]["eur_per_1k"], 4)] for key, m in results["models"].items()
    ]
    return [
        *_table(["model", "basis", "€ / 1,000 questions"], rows),
        "",
        f"time basis: end-to-end seconds / 3600 × (€{c['hardware_eur']:g} / {c['hardware_hours']:g} h "
        f"+ {c['watts']:g} W × €{c['eur_per_kwh']:g}/kWh) = €{c['eur_per_hour']:.4f} per hour of answering; "
        f"tokens basis: €{c['api_eur_per_mtok_in']:g} / €{c['api_eur_per_mtok_out']:g} per million "
        "prompt / completion tokens.",
    ]


def _errors(models: dict[str, Any]) -> list[str]:
    rows = []
    for key, m in models.items():
        e, cases = m["errors"], m["cases"]
        kinds = e["by_kind"]
        rows.append(
            [
                key,
                f"{cases['predicted']}/{cases['selected']}",
                _stat(e["rate"]),
                str(kinds["timeout"]),
                str(kinds["crash"]),
                str(kinds["invalid_output"]),
                str(kinds["error"]),
                str(e["truncated"]),
                m["load_error"] or "—",
            ]
        )
    headers = [
        "model",
        "answered",
        "error rate",
        "timeouts",
        "crashes",
        "invalid output",
        "other errors",
        "hit max_tokens",
        "load error",
    ]
    return [*_table(headers, rows), "", "(failed cases count as wrong answers, and in latency and cost)"]


def _relative(model: dict[str, Any], results: dict[str, Any]) -> str:
    topline = results["verdict"]["topline"]
    if not topline:
        return "—"
    mine, best = model["quality"]["f1"]["mean"], results["models"][topline]["quality"]["f1"]["mean"]
    return f"{mine / best:.0%}" if mine is not None and best else "—"


def _model_label(key: str, model: dict[str, Any]) -> str:
    return f"{key} (topline)" if model["topline"] else key


def _stat(stat: dict[str, Any], digits: int = 2, n: bool = False) -> str:
    if stat["mean"] is None:
        return "—"
    text = f"{stat['mean']:.{digits}f} [{stat['ci_low']:.{digits}f}, {stat['ci_high']:.{digits}f}]"
    return f"{text} n={stat['n']}" if n else text


def _pct(stat: dict[str, Any], which: str) -> str:
    if stat[which] is None:
        return "—"
    low, high = stat[f"{which}_ci"]
    return f"{stat[which]:.2f} [{low:.2f}, {high:.2f}]"


def _num(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}g}"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return lines + ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
