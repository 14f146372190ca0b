"""Means, percentiles and their 95 % confidence intervals, without numpy or scipy.

Benchmarks here are small (tens to hundreds of questions, because one answer costs seconds
on a CPU), so every number is reported with an interval: Wilson for rates (well-behaved
near 0 and 1), a normal approximation for other means, and distribution-free
order-statistic intervals for percentiles (latency p50/p95).
"""

from __future__ import annotations

import math
import statistics

Z95 = 1.96

Summary = dict[str, float | int | list[float] | None]


def mean_ci(values: list[float], bounds: tuple[float, float] | None = (0.0, 1.0), digits: int = 4) -> Summary:
    """Mean, n and a 95 % interval; Wilson when every value is 0 or 1.

    ``bounds`` clips the normal interval (scores live in [0, 1]); None for unbounded
    quantities such as seconds, tokens or euros. ``digits``: decimals kept (euros need more).
    """
    n = len(values)
    if n == 0:
        return {"mean": None, "n": 0, "ci_low": None, "ci_high": None}
    mean = statistics.fmean(values)
    if bounds == (0.0, 1.0) and all(v in (0.0, 1.0) for v in values):
        low, high = wilson(mean, n)
    else:
        half = Z95 * (statistics.stdev(values) / math.sqrt(n) if n > 1 else 0.0)
        low, high = mean - half, mean + half
        if bounds is not None:
            low, high = max(bounds[0], low), min(bounds[1], high)
    return {"mean": round(mean, digits), "n": n, "ci_low": round(low, digits), "ci_high": round(high, digits)}


def wilson(p: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion p observed over n trials."""
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def percentile(ordered: list[float], q: float) -> float:
    """Linear-interpolated percentile of sorted values (numpy's default method)."""
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def percentile_ci(ordered: list[float], q: float) -> list[float]:
    """Distribution-free 95 % interval of the q-th percentile (Conover's normal approximation):
    the order statistics of ranks n·p ∓ 1.96·√(n·p·(1−p)) (+1 above), rounded, within the sample.
    For n = 20 and the median it gives ranks 6 and 15, as the exact binomial table does."""
    n = len(ordered)
    p = q / 100
    spread = Z95 * math.sqrt(n * p * (1 - p))
    low = min(n, max(1, round(n * p - spread)))
    high = min(n, max(1, round(n * p + spread + 1)))
    return [round(ordered[low - 1], 4), round(ordered[high - 1], 4)]


def distribution(values: list[float]) -> Summary:
    """Mean (with interval), p50 and p95 (with intervals) of a timing or a count."""
    if not values:
        return {"mean": None, "n": 0, "ci_low": None, "ci_high": None,
                "p50": None, "p50_ci": None, "p95": None, "p95_ci": None}  # fmt: skip
    ordered = sorted(values)
    summary = mean_ci(ordered, bounds=(0.0, math.inf))
    summary.update(
        p50=round(percentile(ordered, 50), 4),
        p50_ci=percentile_ci(ordered, 50),
        p95=round(percentile(ordered, 95), 4),
        p95_ci=percentile_ci(ordered, 95),
    )
    return summary
