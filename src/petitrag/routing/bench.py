"""``petitrag bench --route small,large``: calibrate routing from the benchmark's own predictions.

Both models answer every case in the normal benchmark run (same passages), so routing
needs no extra generation: the calibration replays the two prediction sets. The result is
saved where ``ask --route small,large`` and the server look for it, and reported next to
the model table (report.md section, routing.png, ``routing`` in results.json).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from petitrag.bench.models import ModelSpec
from petitrag.bench.rundir import append_report, load_predictions, write_json
from petitrag.errors import ConfigError, PetitragError
from petitrag.routing.calibrate import calibrate
from petitrag.routing.report import bar_met, routing_lines, write_routing_plot
from petitrag.routing.router import RouteSpec, parse_route
from petitrag.routing.score import calibration_path

ROUTING_JSON = "routing.json"
ROUTING_PLOT = "routing.png"


def _partial_note(paired: int, questions: int) -> str | None:
    """Routing replays questions both models answered; a resumed or failed run may hold fewer."""
    if paired >= questions:
        return None
    return (
        f"Routing calibrated on {paired} of {questions} questions: the others were not answered by both"
        " models (run the bench again to finish them)."
    )


def models_with_route(models: str, topline: str | None, route: str | None) -> str:
    """--models plus the route's models that are not already candidates (or the topline)."""
    if not route:
        return models
    spec = parse_route(route)
    present = {name.strip() for name in models.split(",")} | {topline}
    extra = [name for name in (spec.small, spec.large) if name not in present]
    return ",".join([models, *extra]) if extra else models


def route_specs(route: str, specs: list[ModelSpec]) -> tuple[RouteSpec, ModelSpec, ModelSpec]:
    spec = parse_route(route)
    by_name = {s.spec: s for s in specs} | {s.key: s for s in specs}
    missing = [name for name in (spec.small, spec.large) if name not in by_name]
    if missing:
        raise ConfigError(f"--route names {', '.join(missing)}, which is not among the benchmarked models")
    return spec, by_name[spec.small], by_name[spec.large]


def calibrate_route(
    out: Path,
    home: Path,
    route: str,
    specs: list[ModelSpec],
    case_ids: list[str],
    margin: float,
    dataset: str,
    fusion: str,
) -> dict[str, Any]:
    """Calibrate, save for `ask`, write the report parts; a failure is reported, not raised."""
    spec, small, large = route_specs(route, specs)
    try:
        calibration = calibrate(
            [p for p in load_predictions(out, small.key, case_ids) if p.error is None],
            [p for p in load_predictions(out, large.key, case_ids) if p.error is None],
            margin,
            dataset,
        )
    except PetitragError as exc:
        summary = {"route": route, "error": str(exc)}
        append_report(out, [f"## Routing: {spec.small} → {spec.large}", "", f"Not calibrated: {exc}"])
        write_json(out / ROUTING_JSON, summary)
        (out / ROUTING_PLOT).unlink(missing_ok=True)  # an earlier calibration's: no longer this run's
        return summary
    calibration.small, calibration.large = spec.small, spec.large  # the names `ask --route` is given
    calibration.fusion = fusion
    saved = calibration_path(home, spec.small, spec.large)
    calibration.save(saved)
    write_json(out / ROUTING_JSON, calibration.to_json())
    write_routing_plot(out / ROUTING_PLOT, calibration)
    details = calibration.details
    partial = _partial_note(details["n"], len(case_ids))
    append_report(
        out,
        [*routing_lines(calibration), *(["", partial] if partial else []), "",
         f"Saved for `ask --route {route}`: `{saved}`"],
    )  # fmt: skip
    return {
        "route": route,
        "threshold": calibration.threshold,
        "saved_to": str(saved),
        "questions": len(case_ids),
        "partial": partial,
        "bar_met": bar_met(details)[2],
        **{
            key: details[key]
            for key in ("n", "margin", "small_alone", "large_alone", "chosen", "latency_ratio")
        },
        "signal_auc": details["signal_auc"],
        "score_auc": details["score_auc"],
    }
