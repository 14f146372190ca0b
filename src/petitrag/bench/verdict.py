"""The user's bar and the verdict: the smallest model that passes it, or the closest one.

A model passes when every criterion of the bar holds for its point estimate (the mean, or
the p95 for latency); a criterion that cannot apply (no unanswerable question in the set)
is skipped. Checks whose 95 % interval straddles the threshold are flagged as uncertain:
with a hundred questions, 0.51 vs a bar of 0.50 is not a result. The topline is judged
too but never chosen: it is the ceiling the candidates are compared with.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from petitrag.bench.models import ModelSpec
from petitrag.errors import ConfigError

DEFAULT_MIN_F1 = "0.5"
DEFAULT_MIN_ABSTAIN = "0.8"
DEFAULT_MAX_P95_S = "60"
DEFAULT_MAX_COST = "none"


@dataclass(frozen=True)
class Bar:
    min_f1: float | None = 0.5
    min_f1_of_topline: float | None = None  # "90%": the bar is 0.9 × the topline's F1
    min_abstain: float | None = 0.8
    max_p95_s: float | None = 60.0
    max_cost: float | None = None  # € per 1,000 questions

    @classmethod
    def parse(
        cls,
        min_f1: str = DEFAULT_MIN_F1,
        min_abstain: str = DEFAULT_MIN_ABSTAIN,
        max_p95_s: str = DEFAULT_MAX_P95_S,
        max_cost: str = DEFAULT_MAX_COST,
        has_topline: bool = False,
    ) -> Bar:
        """Flag values: a number, ``none`` (no limit), or for --min-f1 a share of the topline."""
        relative = None
        if min_f1.strip().endswith("%"):
            if not has_topline:
                raise ConfigError(f"--min-f1 {min_f1} is relative to the topline: give --topline MODEL")
            relative = _number("--min-f1", min_f1.strip()[:-1], 0, 1000, unit="%") / 100
        return cls(
            min_f1=None if relative is not None else _optional("--min-f1", min_f1, 0, 1),
            min_f1_of_topline=relative,
            min_abstain=_optional("--min-abstain", min_abstain, 0, 1),
            max_p95_s=_optional("--max-p95-s", max_p95_s, 0, None),
            max_cost=_optional("--max-cost", max_cost, 0, None),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Check:
    criterion: str  # "f1", "abstain", "p95_s", "cost"
    threshold: float | None
    value: float | None
    passes: bool
    uncertain: bool = False  # the 95 % interval contains the threshold
    note: str = ""

    def describe(self) -> str:
        """'F1 0.41 < 0.50' — what failed, by how much."""
        label, unit, fmt = _LABELS[self.criterion]
        if self.value is None or self.threshold is None:
            return f"{label} {self.note or 'not measured'}"
        signs = ("≥", "<") if self.criterion in _MINIMA else ("≤", ">")
        sign = signs[0] if self.passes else signs[1]
        return f"{label} {self.value:{fmt}}{unit} {sign} {self.threshold:{fmt}}{unit}"

    def shortfall(self) -> float:
        """Relative distance to the threshold (0 when passing): how far from passing."""
        if self.passes:
            return 0.0
        if self.value is None or self.threshold is None:
            return 1.0
        gap = self.threshold - self.value if self.criterion in _MINIMA else self.value - self.threshold
        return gap / self.threshold if self.threshold else gap


_MINIMA = ("f1", "abstain")
_LABELS = {"f1": ("F1", "", ".2f"), "abstain": ("abstention", "", ".2f"),
           "p95_s": ("p95 latency", " s", ".1f"), "cost": ("cost", " €/1k", ".3g")}  # fmt: skip
# cost: ".3g", as a bar of 0.0001 €/1k showed "0.018 > 0.000"


@dataclass
class Verdict:
    passing: list[str] = field(default_factory=list)
    smallest: str | None = None
    closest: str | None = None
    fails_on: list[str] = field(default_factory=list)
    topline: str | None = None
    topline_passes: bool | None = None
    #: models that have not answered every question yet ("small 2/6"): the verdict is provisional
    incomplete: list[str] = field(default_factory=list)
    #: models that could not be loaded (their error is in the results): judged on nothing
    not_loaded: list[str] = field(default_factory=list)
    text: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def checks(bar: Bar, model: dict[str, Any], topline_f1: float | None) -> list[Check]:
    """Judge one model's results entry (see results.py) against the bar."""
    quality, speed, cost = model["quality"], model["speed"], model["cost"]["eur_per_1k"]
    found: list[Check] = []
    f1_bar = bar.min_f1
    if bar.min_f1_of_topline is not None:
        f1_bar = None if topline_f1 is None else round(bar.min_f1_of_topline * topline_f1, 4)
    wants_f1 = bar.min_f1 is not None or bar.min_f1_of_topline is not None
    if wants_f1 and model["cases"]["answerable"] > 0:  # a set of unanswerable questions only: no F1
        found.append(_check("f1", f1_bar, quality["f1"], minimum=True))
    if bar.min_abstain is not None and model["cases"]["unanswerable"] > 0:  # else it cannot apply
        found.append(_check("abstain", bar.min_abstain, quality["abstain_correct"], minimum=True))
    if bar.max_p95_s is not None:
        p95 = speed["total_s"]
        found.append(_check("p95_s", bar.max_p95_s, {"mean": p95["p95"], "interval": p95["p95_ci"]}))
    if bar.max_cost is not None:
        found.append(_check("cost", bar.max_cost, cost))
    return found


def _check(criterion: str, threshold: float | None, stat: dict[str, Any], minimum: bool = False) -> Check:
    value = stat.get("mean")
    interval = stat.get("interval") or [stat.get("ci_low"), stat.get("ci_high")]
    if value is None or threshold is None:
        note = "not measured" if value is None else "has no topline F1 to compare with"
        return Check(criterion, threshold, value, passes=False, note=note)
    passes = value >= threshold if minimum else value <= threshold
    low, high = interval
    uncertain = low is not None and high is not None and low <= threshold <= high
    return Check(criterion, threshold, value, passes, uncertain)


def decide(bar: Bar, specs: list[ModelSpec], models: dict[str, dict[str, Any]]) -> Verdict:
    """Smallest passing candidate (by file size, then parameters), else the closest one."""
    topline = next((spec for spec in specs if spec.topline), None)
    topline_f1 = _reference_f1(models[topline.key]) if topline else None
    judged = {spec.key: checks(bar, models[spec.key], topline_f1) for spec in specs}
    for key, found in judged.items():
        models[key]["bar"] = {"passes": all(c.passes for c in found), "checks": [asdict(c) for c in found]}
    not_loaded = [spec.key for spec in specs if models[spec.key].get("load_error")]
    candidates = [spec for spec in specs if not spec.topline]
    verdict = Verdict(
        passing=[s.key for s in candidates if models[s.key]["bar"]["passes"]], not_loaded=not_loaded
    )
    if not_loaded and all(spec.key in not_loaded for spec in candidates):
        verdict.text = (
            f"no model could be loaded: {', '.join(not_loaded)} (the report's Errors table says why)"
        )
        return verdict
    candidates = [spec for spec in candidates if spec.key not in not_loaded]
    if topline:
        verdict.topline, verdict.topline_passes = topline.key, models[topline.key]["bar"]["passes"]
    if verdict.passing:
        smallest = min((s for s in candidates if s.key in verdict.passing), key=lambda s: s.size_key())
        verdict.smallest = smallest.key
        doubts = [c.describe() for c in judged[smallest.key] if c.uncertain]
        verdict.text = f"smallest model that passes: {smallest.key}"
        if doubts:
            verdict.text += f" (within the 95 % interval of the bar: {'; '.join(doubts)})"
    else:
        closest = min(candidates, key=lambda s: (sum(c.shortfall() for c in judged[s.key]), s.size_key()))
        verdict.closest = closest.key
        verdict.fails_on = [c.describe() for c in judged[closest.key] if not c.passes]
        verdict.text = f"none passes; closest: {closest.key}, fails on {', '.join(verdict.fails_on)}"
        doubts = [c.describe() for c in judged[closest.key] if c.uncertain and not c.passes]
        if doubts:  # a miss within the interval is no more proof than a pass within it
            verdict.text += f" (within the 95 % interval of the bar: {'; '.join(doubts)})"
    if topline:
        verdict.text += f". Topline {topline.key} {'passes' if verdict.topline_passes else 'fails'} the bar"
    verdict.incomplete = [
        line
        for spec in specs
        if spec.key not in not_loaded and (line := _answered(spec.key, models[spec.key]["cases"]))
    ]
    if verdict.incomplete:  # models judged on different questions, or on a few of them
        verdict.text = f"incomplete run ({', '.join(verdict.incomplete)} answered), so far: {verdict.text}"
    if not_loaded:  # not "incomplete": running again changes nothing until the error is fixed
        verdict.text += f". Not loaded: {', '.join(not_loaded)} (the report's Errors table says why)"
    return verdict


def _reference_f1(topline: dict[str, Any]) -> float | None:
    """The topline's F1 as a reference for ``--min-f1 N%``; none when half of its questions or
    more failed (a server down): its F1 of 0 made a bar of 0 that every model passed."""
    answered = topline["cases"]["predicted"]
    if not answered or topline["errors"]["count"] * 2 >= answered:
        return None
    return topline["quality"]["f1"]["mean"]


def _answered(key: str, cases: dict[str, Any]) -> str:
    """'small 2/6' for a model that has not answered every question, else ''."""
    missing = cases.get("missing", 0)
    return f"{key} {cases['predicted']}/{cases['predicted'] + missing}" if missing else ""


def _optional(flag: str, text: str, low: float, high: float | None) -> float | None:
    """'none' or 'off' drops the limit; an empty value is refused: a shell variable that expanded
    to nothing must not silently drop a criterion from the bar."""
    if not text.strip():
        raise ConfigError(f"{flag} is empty: give a number, or 'none' for no limit")
    return None if text.strip().lower() in ("none", "off") else _number(flag, text, low, high)


def _number(flag: str, text: str, low: float, high: float | None, unit: str = "") -> float:
    """A finite number within the limits: 'nan' compares false with everything (no model could
    pass, silently) and 'inf' breaks results.json and the plot; 'none' is how to drop a limit."""
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{flag} {text + unit!r} is not a number (or 'none')") from None
    if not math.isfinite(value):
        raise ConfigError(f"{flag} {text}{unit} must be a finite number (or 'none' for no limit)")
    if value < low or (high is not None and value > high):
        limits = (
            f"between {low:g}{unit} and {high:g}{unit}" if high is not None else f"at least {low:g}{unit}"
        )
        raise ConfigError(f"{flag} {text}{unit} must be {limits}")
    return value
