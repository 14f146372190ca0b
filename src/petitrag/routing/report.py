"""The routing part of a bench report: the chosen threshold, the curve, which signals help."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from petitrag.routing.score import Calibration


def routing_lines(
    calibration: Calibration, target_quality: float = 0.97, target_latency: float = 0.6
) -> list[str]:
    """Markdown: verdict against the bar, the chosen point, a thinned curve, per-signal AUC."""
    details = calibration.details
    small, large, chosen = details["small_alone"], details["large_alone"], details["chosen"]
    lines = [
        f"## Routing: {calibration.small} → {calibration.large}",
        "",
        f"Calibrated on {details['n']} questions of {details['dataset'] or 'the test set'}; the small model "
        f"was right on {_pct(details['small_right_rate'])} of them. Threshold chosen: "
        f"**{calibration.threshold:.3f}** — the cheapest whose quality stays within "
        f"{_pct(details['margin'])} of {calibration.large} alone (confidence scores cross-fitted over "
        f"5 folds, so the curve is not flattered by over-fitting).",
        "",
        "| | F1 | abstention accuracy | mean latency (s) | escalated |",
        "|---|---|---|---|---|",
        f"| {calibration.small} alone | {decimals(small['f1'])} | {decimals(small['abstain_accuracy'])} | "
        f"{decimals(small['mean_latency_s'], 1)} | 0 % |",
        f"| {calibration.large} alone | {decimals(large['f1'])} | {decimals(large['abstain_accuracy'])} | "
        f"{decimals(large['mean_latency_s'], 1)} | — |",
        f"| routed (threshold {calibration.threshold:.3f}) | {decimals(chosen['f1'])} | "
        f"{decimals(chosen['abstain_accuracy'])} | {decimals(chosen['mean_latency_s'], 1)} | "
        f"{_pct(chosen['escalation_rate'])} |",
        "",
        _bar_sentence(details, target_quality, target_latency),
        "",
        "How well each signal alone separates the small model's right answers from its wrong ones "
        "(ROC AUC; 0.5 = no better than chance, below 0.5 = inversely related):",
        "",
        "| signal | AUC |",
        "|---|---|",
        *(f"| {name} | {decimals(value)} |" for name, value in _by_strength(details["signal_auc"])),
        f"| **combined score** | **{decimals(details['score_auc'])}** |",
        "",
        "Quality/latency over thresholds (every few points of the sweep):",
        "",
        "| threshold | escalated | F1 | abstention accuracy | mean latency (s) |",
        "|---|---|---|---|---|",
        *(
            f"| {p['threshold']:.3f} | {_pct(p['escalation_rate'])} | {decimals(p['f1'])} | "
            f"{decimals(p['abstain_accuracy'])} | {decimals(p['mean_latency_s'], 1)} |"
            for p in _thinned(details["curve"])
        ),
    ]
    return lines


def write_routing_plot(path: Path, calibration: Calibration) -> None:
    """Routed quality vs mean latency over thresholds, both models alone, the chosen point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    details = calibration.details
    curve = details["curve"]
    quality = [_quality(point) for point in curve]
    latency = [point["mean_latency_s"] for point in curve]
    figure, axis = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    axis.plot(latency, quality, "-o", markersize=3, color="tab:blue", label="routed, by threshold")
    for name, point, colour in (
        (calibration.small, details["small_alone"], "tab:green"),
        (calibration.large, details["large_alone"], "tab:red"),
    ):
        axis.scatter([point["mean_latency_s"]], [_quality(point)], s=60, color=colour, label=f"{name} alone")
    chosen = details["chosen"]
    axis.scatter([chosen["mean_latency_s"]], [_quality(chosen)], s=140, marker="*", color="black",
                 label=f"chosen threshold {calibration.threshold:.2f}", zorder=5)  # fmt: skip
    axis.set_xlabel("mean end-to-end latency (s)")
    axis.set_ylabel("quality (mean of F1 and abstention accuracy)")
    axis.set_title(f"Routing {calibration.small} → {calibration.large}")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)


def bar_met(
    details: dict[str, Any], target_quality: float = 0.97, target_latency: float = 0.6
) -> tuple[float | None, float | None, bool]:
    """The issue's bar: ≥ 97 % of the large model's quality at ≤ 60 % of its latency; returns
    (quality ratio, latency ratio, met)."""
    chosen, large = details["chosen"], details["large_alone"]
    ratios = [chosen[m] / large[m] for m in ("f1", "abstain_accuracy") if large[m] and chosen[m] is not None]
    quality_ratio = min(ratios) if ratios else None
    latency_ratio = details["latency_ratio"]
    met = quality_ratio is not None and latency_ratio is not None
    return (
        quality_ratio,
        latency_ratio,
        met and quality_ratio >= target_quality and latency_ratio <= target_latency,
    )


def _bar_sentence(details: dict[str, Any], target_quality: float, target_latency: float) -> str:
    quality_ratio, latency_ratio, met = bar_met(details, target_quality, target_latency)
    return (
        f"Routed quality is {_pct(quality_ratio)} of the large model's at {_pct(latency_ratio)} of its mean "
        f"latency: the bar (≥ {_pct(target_quality)} quality at ≤ {_pct(target_latency)} latency) is "
        f"**{'met' if met else 'not met'}**."
    )


def _quality(point: dict[str, Any]) -> float:
    values = [v for v in (point["f1"], point["abstain_accuracy"]) if v is not None]
    return sum(values) / len(values) if values else 0.0


def _thinned(curve: list[dict[str, Any]], rows: int = 12) -> list[dict[str, Any]]:
    step = max(1, len(curve) // rows)
    picked = curve[::step]
    return picked if picked[-1] is curve[-1] else [*picked, curve[-1]]


def _by_strength(aucs: dict[str, float | None]) -> list[tuple[str, float | None]]:
    return sorted(aucs.items(), key=lambda item: -abs((item[1] if item[1] is not None else 0.5) - 0.5))


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f} %"


def decimals(value: float | None, digits: int = 3) -> str:
    """A number for a report table, "—" when unknown."""
    return "—" if value is None else f"{value:.{digits}f}"
