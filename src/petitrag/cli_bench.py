"""``petitrag bench``: which of these models is the smallest that is good enough on MY questions?"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from petitrag.bench.verdict import DEFAULT_MAX_COST, DEFAULT_MAX_P95_S, DEFAULT_MIN_ABSTAIN, DEFAULT_MIN_F1
from petitrag.cli import cli, err, out, settings_from
from petitrag.cli_answer import min_score_option, reading_option, reread_option

_COST_FLAGS = [
    ("--hardware-eur", "cost_hardware_eur", "Price of the machine running local models, € [default: 800]."),
    ("--hardware-hours", "cost_hardware_hours", "Hours it is amortised over [default: 26280, 3 years]."),
    ("--watts", "cost_watts", "Power drawn while answering, W [default: 35]."),
    ("--eur-per-kwh", "cost_eur_per_kwh", "Electricity price, €/kWh [default: 0.25]."),
    (
        "--api-eur-per-mtok-in",
        "cost_api_eur_per_mtok_in",
        "API € per 1M prompt tokens [default: 0 = by time].",
    ),
    ("--api-eur-per-mtok-out", "cost_api_eur_per_mtok_out", "API € per 1M completion tokens [default: 0]."),
]


def _cost_options(command: Any) -> Any:
    for flag, name, text in reversed(_COST_FLAGS):
        above_zero = name == "cost_hardware_hours"  # divides: 0 is refused, so the help says so
        kind = click.FloatRange(min=0, min_open=above_zero)
        command = click.option(flag, name, type=kind, help=text)(command)
    return command


@cli.command()
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option(
    "--models",
    required=True,
    help="Candidates, comma-separated: catalog names, .gguf paths, or NAME@http://host:port/v1 endpoints.",
)
@click.option("--topline", help="A larger model or an API that sets the ceiling (judged, never chosen).")
@click.option(
    "--min-f1",
    default=DEFAULT_MIN_F1,
    show_default=True,
    help="F1 bar: a number, N% of the topline's F1, or none.",
)
@click.option(
    "--min-abstain",
    default=DEFAULT_MIN_ABSTAIN,
    show_default=True,
    help="Share of unanswerable questions abstained on, or none.",
)
@click.option(
    "--max-p95-s",
    default=DEFAULT_MAX_P95_S,
    show_default=True,
    help="End-to-end latency p95 in seconds, or none.",
)
@click.option(
    "--max-cost", default=DEFAULT_MAX_COST, show_default=True, help="€ per 1,000 questions, or none."
)
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N questions.")
@click.option("--sample", type=click.IntRange(min=1), help="A seeded random sample of N questions.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --sample.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("bench-out"),
    show_default=True,
    help="Output folder; a run there with the same test set and settings is resumed.",
)
@click.option(
    "--home",
    type=click.Path(path_type=Path),
    help="Data directory holding the collection [env PETITRAG_HOME].",
)
@click.option(
    "-c",
    "--collection",
    help="Collection to answer from [default: bench-<test set> for SQuAD, else default].",
)
@click.option("-k", "--k", "search_k", type=int, help="Passages retrieved per question [default: 5].")
@click.option(
    "--timeout-s",
    type=click.FloatRange(min=0, min_open=True),
    default=180.0,
    show_default=True,
    help="Per question; slower answers are recorded as timeouts.",
)
@click.option("--threads", type=int, help="CPU threads for the models.")
@click.option("--max-tokens", type=int, help="Longest answer, in tokens [default: 256].")
@click.option(
    "--self-check/--no-self-check",
    default=True,
    show_default=True,
    help="Ask each model, after each answer, whether its sources give it; the report suggests abstain_below "
    "(and, from every reading's abstention log-probability, abstain_above).",
)
@min_score_option
@reading_option
@reread_option
@_cost_options
@click.option(
    "--route",
    help="'small,large': also calibrate routing (small first, large when unsure) and save it for ask/serve.",
)
@click.option(
    "--route-margin",
    type=click.FloatRange(0, 1),
    default=0.03,
    show_default=True,
    help="Routed quality may be this much below the large model's (0.03 = within 3 %).",
)
@click.option("--fresh", is_flag=True, help="Discard the results already in --out and start over.")
@click.option("--report-only", is_flag=True, help="Rebuild the report from --out without answering.")
@click.pass_context
def bench(
    ctx: click.Context,
    dataset: Path,
    models: str,
    topline: str | None,
    min_f1: str,
    min_abstain: str,
    max_p95_s: str,
    max_cost: str,
    limit: int | None,
    sample: int | None,
    seed: int,
    out_dir: Path,
    collection: str | None,
    timeout_s: float,
    route: str | None,
    route_margin: float,
    fresh: bool,
    report_only: bool,
    **flags: Any,
) -> None:  # fmt: skip
    """Answer DATASET's questions with each model and name the smallest that passes the bar.

    DATASET is SQuAD-format JSON (each article becomes a document, ingested once; questions
    marked is_impossible must be abstained on) or JSONL lines {"question", "answers": [...]}
    (or a JSON array of them) asked of an existing collection. Writes report.md, pareto.png,
    results.json and predictions.jsonl to --out. See docs/bench.md.
    """
    from petitrag.bench.suite import BenchOptions, run_bench
    from petitrag.bench.verdict import Bar

    settings = settings_from(ctx, **flags)
    bar = Bar.parse(min_f1, min_abstain, max_p95_s, max_cost, has_topline=bool(topline))
    options = BenchOptions(
        dataset, models, out_dir, topline, bar, limit, sample, seed, collection, timeout_s, fresh,
        report_only, route, route_margin,
    )  # fmt: skip
    results = run_bench(settings, options, err)
    out.print(escape(results["verdict"]["text"]), highlight=False)
    if "routing" in results:
        out.print(escape(routing_summary(results["routing"])), highlight=False)
    err.print(
        f"[dim]report: {escape(str(out_dir / 'report.md'))} · plot: {escape(str(out_dir / 'pareto.png'))} · "
        f"results: {escape(str(out_dir / 'results.json'))}[/]",
        highlight=False,
    )
    verdict = results["verdict"]
    if verdict["smallest"] is None and verdict["closest"] is None:  # no candidate could be loaded
        ctx.exit(1)


def routing_summary(routing: dict[str, Any]) -> str:
    if "error" in routing:
        return f"routing {routing['route']}: not calibrated: {routing['error']}"
    chosen = routing["chosen"]
    unmet = (
        ""
        if routing.get("bar_met")
        else " (the routing bar, 97 % of its quality at 60 % of its latency, is not met)"
    )
    line = (
        f"routing {routing['route']}: threshold {routing['threshold']:.3f}, escalates "
        f"{100 * chosen['escalation_rate']:.0f} % of questions, mean latency "
        f"{100 * (routing['latency_ratio'] or 0):.0f} % of the large model's{unmet}; "
        f"saved to {routing['saved_to']}"
    )
    return f"{line}\n{routing['partial']}" if routing.get("partial") else line
