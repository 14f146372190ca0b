"""What 1,000 answers cost, in euros: a documented, configurable model (docs/bench.md).

Local models (and endpoints without a token price, i.e. self-hosted servers) cost the
machine-time a question occupies:

    € per question = total_s / 3600 × (hardware_eur / hardware_hours + watts / 1000 × eur_per_kwh)

API models with a price cost their tokens:

    € per question = (prompt_tokens × api_eur_per_mtok_in + completion_tokens × api_eur_per_mtok_out) / 1e6

and the report shows the mean over the cases × 1,000. Failed cases count with the time they
took (a timeout costs its full wait): errors are not free. A failed priced call's tokens are
unknown: token costs are the mean over the calls that returned.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from petitrag.bench.models import ModelSpec
from petitrag.bench.runner import Prediction
from petitrag.config import Settings

PER = 1000  # questions


@dataclass(frozen=True)
class CostModel:
    hardware_eur: float = 800.0  # a small always-on machine (mini PC / small server)
    hardware_hours: float = 3 * 365 * 24  # amortised over 3 years of 24 h
    watts: float = 35.0  # drawn while answering
    eur_per_kwh: float = 0.25
    api_eur_per_mtok_in: float = 0.0  # set for a paid API; 0 = cost the endpoint by time
    api_eur_per_mtok_out: float = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> CostModel:
        return cls(
            settings.cost_hardware_eur, settings.cost_hardware_hours, settings.cost_watts,
            settings.cost_eur_per_kwh, settings.cost_api_eur_per_mtok_in, settings.cost_api_eur_per_mtok_out,
        )  # fmt: skip

    @property
    def eur_per_hour(self) -> float:
        """Amortisation plus energy for one hour of the machine answering."""
        return self.hardware_eur / self.hardware_hours + self.watts / 1000 * self.eur_per_kwh

    @property
    def api_priced(self) -> bool:
        return self.api_eur_per_mtok_in > 0 or self.api_eur_per_mtok_out > 0

    def basis(self, model: ModelSpec) -> str:
        """'tokens' for a priced API model, else 'time' (local, or a self-hosted endpoint)."""
        return "tokens" if model.kind == "api" and self.api_priced else "time"

    def per_question(self, prediction: Prediction, basis: str) -> float:
        """Euros for this one answer (or failed attempt)."""
        timings = prediction.timings
        if basis == "tokens":
            tokens_in = timings.get("prompt_tokens", 0.0)
            tokens_out = timings.get("completion_tokens", 0.0)
            return (tokens_in * self.api_eur_per_mtok_in + tokens_out * self.api_eur_per_mtok_out) / 1e6
        return timings.get("total_s", 0.0) / 3600 * self.eur_per_hour

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "eur_per_hour": round(self.eur_per_hour, 6),
            "formula_time": "total_s / 3600 * (hardware_eur / hardware_hours + watts / 1000 * eur_per_kwh)",
            "formula_tokens": "(prompt_tokens * api_eur_per_mtok_in"
            " + completion_tokens * api_eur_per_mtok_out) / 1e6",
            "per_questions": PER,
        }
