"""Prometheus metrics, in a registry of their own per application (tests start several apps).

Histograms give Prometheus what it needs for any quantile; the p95 gauges are computed
over the last requests for people who read ``/metrics`` without a Prometheus server.
Routes are labelled by their template (``/api/jobs/{job_id}``), never the raw path, so
the number of series stays bounded.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300)
RECENT = 1000  # requests per route kept for the p95 gauges


class Metrics:
    """Every metric of one server."""

    def __init__(self, queue_depth: Callable[[], float]) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "petitrag_requests", "HTTP requests by route, method and status.", ["route", "method", "status"],
            registry=r,
        )  # fmt: skip
        self.errors = Counter(
            "petitrag_errors", "HTTP answers with status >= 400, by route and status.", ["route", "status"],
            registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "petitrag_request_latency_seconds",
            "Time to the end of the response (streams included); outcome: ok (status < 400) or error.",
            ["route", "outcome"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.ttft = Histogram(
            "petitrag_ttft_seconds", "Time to first token of answers (retrieval included for RAG).",
            ["kind"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.queue_wait = Histogram(
            "petitrag_queue_wait_seconds", "Time requests waited for the model.", buckets=LATENCY_BUCKETS,
            registry=r,
        )  # fmt: skip
        self.tokens_per_s = Histogram(
            "petitrag_tokens_per_second", "Decode speed of answers.", ["kind"],
            buckets=(1, 2, 5, 10, 15, 20, 30, 50, 75, 100, 200), registry=r,
        )  # fmt: skip
        self.completion_tokens = Counter(
            "petitrag_completion_tokens", "Tokens generated.", ["kind"], registry=r
        )
        self.prompt_tokens = Counter(
            "petitrag_prompt_tokens", "Prompt tokens processed.", ["kind"], registry=r
        )
        self.cached_prompt_tokens = Counter(
            "petitrag_cached_prompt_tokens",
            "Of the prompt tokens, those whose KV was reused (constant prefix, recent passage), not read.",
            ["kind"], registry=r,
        )  # fmt: skip
        self.routed = Counter(
            "petitrag_routed_answers",
            "Answers of a route, by outcome: kept (the small model's), escalated, escalation_failed.",
            ["outcome"], registry=r,
        )  # fmt: skip
        self.queue_depth = Gauge(
            "petitrag_queue_depth", "Requests waiting for or using the model.", registry=r
        )
        self.queue_depth.set_function(queue_depth)
        self.model_load = Gauge(
            "petitrag_model_load_seconds", "Time to load each model at start-up.", ["model"], registry=r
        )
        ProcessCollector(registry=r)  # process_resident_memory_bytes (RSS), CPU seconds, open fds
        self._recent: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=RECENT))
        r.register(_RecentQuantiles(self._recent))

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        if status >= 400:
            self.errors.labels(route, str(status)).inc()
        self.latency.labels(route, "error" if status >= 400 else "ok").observe(seconds)
        if status < 400:  # instant 429s would hide how long answers take
            self._recent[f"{method} {route}"].append(seconds)

    def observe_generation(self, kind: str, timings: dict[str, float], answer: dict[str, Any]) -> None:
        """Record one answer's timings (``kind``: "rag" or "passthrough"), its wait in the queue
        and, when a route chose its model, what it did (``answer``: the ``petitrag`` extension)."""
        route = answer.get("route")
        if route is not None:
            escalated = answer.get("escalated")
            self.routed.labels(
                "escalated"
                if escalated
                else "escalation_failed"
                if route.get("escalation_failed")
                else "kept"
            ).inc()
        self.queue_wait.observe(answer["timings"]["queue_s"])
        if timings.get("completion_tokens"):
            self.ttft.labels(kind).observe(timings.get("ttft_s", 0.0))
            self.tokens_per_s.labels(kind).observe(timings.get("tokens_per_s", 0.0))
            self.completion_tokens.labels(kind).inc(timings["completion_tokens"])
        self.prompt_tokens.labels(kind).inc(timings.get("prompt_tokens", 0))
        self.cached_prompt_tokens.labels(kind).inc(timings.get("cached_tokens", 0))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _RecentQuantiles(Collector):
    """p95 latency over the last requests of each route, computed when scraped."""

    def __init__(self, recent: dict[str, deque[float]]) -> None:
        self.recent = recent

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "petitrag_request_latency_p95_seconds",
            f"95th percentile latency of the last {RECENT} successful requests per route.",
            labels=["route"],
        )
        for route, values in list(self.recent.items()):
            if values:
                family.add_metric([route], float(np.percentile(list(values), 95)))
        yield family


class MetricsMiddleware:
    """Times every HTTP request to the end of its body, so streamed answers count in full."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe_request(route, scope["method"], status, time.perf_counter() - started)
