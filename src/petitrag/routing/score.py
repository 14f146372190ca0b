"""The combined confidence score: signals → P(the small model's answer is right), in [0, 1].

A logistic model over standardised signals. Uncalibrated, it uses hand-set weights that
follow what the dev sets showed (confident tokens and a grounded answer are right more
often); `petitrag bench --route` fits the weights and the threshold on the user's own test
set, and the result is saved next to the index and used by `ask` and the server.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from petitrag.errors import ConfigError
from petitrag.routing.signals import SIGNAL_NAMES, Signals

#: what a missing signal (e.g. no logprobs over HTTP) counts as: neutral, not alarming
NEUTRAL: dict[str, float] = {
    "mean_logprob": -0.5,
    "min_logprob": -3.0,
    "mean_entropy": 0.5,
    "abstained": 0.0,
    "top_score": 0.1,
    "score_margin": 0.0,
    "grounding": 0.5,
    "answer_tokens": 8.0,
    "has_number": 0.0,
    "comparison": 0.0,
    "multi_part": 0.0,
    "self_check": 0.8,  # the middle of the band the checks fall in (0.6–0.95 on the dev sets)
    "abstain_logprob": -4.5,  # about the median of the 0.5B and 1.5B models' on the dev sets
}

#: hand-set weights on raw signals, used until a calibration exists
DEFAULT_WEIGHTS: dict[str, float] = {
    "mean_logprob": 3.0,
    "min_logprob": 0.3,
    "mean_entropy": -1.0,
    "grounding": 2.0,
    "answer_tokens": -0.02,
}
DEFAULT_BIAS = 0.5
DEFAULT_THRESHOLD = 0.5


@dataclass
class ConfidenceModel:
    """sigmoid(bias + Σ weight × (signal − mean) / scale) over ``SIGNAL_NAMES``."""

    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    bias: float = DEFAULT_BIAS
    means: dict[str, float] = field(default_factory=dict)  # empty: raw signals
    scales: dict[str, float] = field(default_factory=dict)

    def features(self, signals: Signals) -> list[float]:
        """The signals as numbers, missing ones replaced by their neutral value."""
        values = []
        for name in SIGNAL_NAMES:
            value = signals.get(name)
            values.append(NEUTRAL[name] if value is None else float(value))
        return values

    def score(self, signals: Signals) -> float:
        total = self.bias
        for name, value in zip(SIGNAL_NAMES, self.features(signals), strict=True):
            weight = self.weights.get(name, 0.0)
            if weight:
                total += weight * (value - self.means.get(name, 0.0)) / (self.scales.get(name) or 1.0)
        return sigmoid(total)


@dataclass
class Calibration:
    """A confidence model and the threshold chosen for one (small, large) pair."""

    small: str
    large: str
    threshold: float = DEFAULT_THRESHOLD
    model: ConfidenceModel = field(default_factory=ConfidenceModel)
    calibrated: bool = False
    details: dict[str, Any] = field(default_factory=dict)  # dataset, n, margin, curve, AUCs
    #: the hybrid fusion the retrieval signals were measured with: top_score and score_margin
    #: mean nothing on another fusion's scale
    fusion: str = "coverage"

    def score(self, signals: Signals) -> float:
        return self.model.score(signals)

    def require_fusion(self, fusion: str, route: str) -> None:
        """Refuse a calibration whose retrieval-score weights were fitted on another scale."""
        if self.calibrated and self.fusion != fusion:
            raise ConfigError(
                f"the routing calibration of {self.small} → {self.large} was fitted with {self.fusion} "
                f"fusion, but search uses {fusion}; re-run `petitrag bench --route {route}` "
                f'or set fusion = "{self.fusion}"'
            )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        model = ConfidenceModel(**data.pop("model"))
        data.setdefault("fusion", "rrf")  # saved before fusion was recorded: the only one there was
        return cls(model=model, **data)

    def save(self, path: Path) -> None:
        """Write atomically: a crash never leaves a half-written calibration."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False), encoding="utf-8")
        partial.replace(path)


def calibration_path(home: Path, small: str, large: str) -> Path:
    return home / "routing" / f"{_slug(small)}__{_slug(large)}.json"


def load_calibration(home: Path, small: str, large: str) -> Calibration:
    """The saved calibration of this pair, or the uncalibrated default."""
    path = calibration_path(home, small, large)
    if not path.exists():
        return Calibration(small, large)
    try:
        saved = Calibration.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError(
            f"routing calibration {path} is unreadable ({exc}); delete it or re-run "
            f"`petitrag bench --route {small},{large}`"
        ) from exc
    if (saved.small, saved.large) != (small, large):  # another pair's, never applied to this one
        return Calibration(small, large)
    return saved


def sigmoid(value: float) -> float:
    if value >= 0:
        return 1.0 / (1.0 + math.exp(-value))
    exp = math.exp(value)
    return exp / (1.0 + exp)


def _slug(name: str) -> str:
    """A file-name part for a model spec: a catalog name as it is; a path or ``name@url`` by its
    model name and a hash of the whole spec (the same model on two servers, or two models on one,
    once shared "…__v1.json")."""
    model = name.split("@", 1)[0].rsplit("/", 1)[-1] or "model"
    readable = "".join(c if c.isalnum() or c in ".-_" else "_" for c in model)
    if readable == name:
        return readable
    return f"{readable}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
