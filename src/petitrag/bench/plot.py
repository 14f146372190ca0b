"""pareto.png: quality against latency and against size, with the Pareto frontier.

A model is on the frontier when no other model is at least as good (F1) and at least as
cheap (latency, or size) with one of the two strictly better: the only models worth
choosing between. Rendered with matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple


class Point(NamedTuple):
    x: float  # lower is better (seconds, megabytes)
    y: float  # higher is better (F1)
    label: str


def pareto_frontier(points: list[Point]) -> list[Point]:
    """The non-dominated points, by increasing x."""
    frontier: list[Point] = []
    for point in sorted(points, key=lambda p: (p.x, -p.y)):
        if not frontier or point.y > frontier[-1].y:
            frontier.append(point)
    return frontier


def write_pareto(path: Path, results: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = {key: m for key, m in results["models"].items() if m["quality"]["f1"]["mean"] is not None}
    figure, (by_latency, by_size) = plt.subplots(1, 2, figsize=(11, 4.4), dpi=110)
    latency = [_point(key, m, m["speed"]["total_s"]["p95"]) for key, m in models.items()]
    size = [_point(key, m, (m["file_bytes"] or 0) / 1e6 or None) for key, m in models.items()]
    limit = results["bar"]["max_p95_s"]
    _panel(by_latency, [p for p in latency if p], models, "end-to-end latency p95 (s)", limit)
    _panel(by_size, [p for p in size if p], models, "model file size (MB)")
    f1_bar = _f1_threshold(results)
    for axis in (by_latency, by_size):
        if f1_bar is not None:
            axis.axhline(
                f1_bar, color="tab:red", linestyle="--", linewidth=1, label=f"bar: F1 ≥ {f1_bar:.2f}"
            )
    if limit is not None:
        by_latency.axvline(
            limit, color="tab:orange", linestyle="--", linewidth=1, label=f"bar: p95 ≤ {limit:g} s"
        )
    for axis in (by_latency, by_size):
        if axis.get_legend_handles_labels()[0]:  # none: no F1 (unanswerable-only set) and no bar lines
            axis.legend(loc="lower right", fontsize=8)
    selection = results["selection"]
    figure.suptitle(
        f"{results['run']['dataset']} · {selection['selected']} questions · F1 with 95 % interval",
        fontsize=11,
    )
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _point(key: str, model: dict[str, Any], x: float | None) -> Point | None:
    return Point(float(x), float(model["quality"]["f1"]["mean"]), key) if x is not None else None


def _panel(
    axis: Any, points: list[Point], models: dict[str, Any], xlabel: str, bar_x: float | None = None
) -> None:
    for point in points:
        f1 = models[point.label]["quality"]["f1"]
        errors = [[point.y - (f1["ci_low"] or point.y)], [(f1["ci_high"] or point.y) - point.y]]
        topline = models[point.label]["topline"]
        axis.errorbar(
            point.x,
            point.y,
            yerr=errors,
            fmt="*" if topline else "o",
            markersize=11 if topline else 7,
            capsize=3,
            color="tab:purple" if topline else "tab:blue",
        )
        axis.annotate(
            point.label + (" (topline)" if topline else ""),
            (point.x, point.y),
            textcoords="offset points",
            xytext=(6, 6),
            fontsize=8,
        )
    frontier = pareto_frontier(points)
    if frontier:
        axis.step(
            [p.x for p in frontier],
            [p.y for p in frontier],
            where="post",
            color="tab:green",
            linewidth=1.5,
            alpha=0.7,
            label="Pareto frontier",
        )
    axis.set_xlabel(xlabel)
    axis.set_ylabel("F1")
    axis.set_ylim(0, 1)
    axis.set_xlim(left=0, right=max([p.x for p in points] + [bar_x or 0], default=1) * 1.2 or 1)
    axis.grid(alpha=0.3)


def _f1_threshold(results: dict[str, Any]) -> float | None:
    """The F1 bar actually applied (absolute, or the share of the topline's F1)."""
    for model in results["models"].values():
        for check in model.get("bar", {}).get("checks", []):
            if check["criterion"] == "f1" and check["threshold"] is not None:
                return float(check["threshold"])
    return None
