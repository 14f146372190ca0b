"""Load on a running ``petitrag serve``: N concurrent clients streaming RAG answers for a bounded time.

Each client asks the sample-corpus questions in turn (streamed chat completions on
``petitrag:<collection>``) until ``--seconds`` have passed; a 429 (queue full) is counted and
the client waits ``--retry-wait`` seconds before its next request, as a polite client would.
Reported: requests by status, latency p50/p95/max of answered requests (request sent → last
byte), time to first token p95 as the client sees it (queue wait included), answers per minute.
Exit status 1 when any answer is neither 200 nor 429, or a request fails (timeout, connection).

Run (server first, in another terminal, with the sample corpus ingested):
  PETITRAG_HOME=/tmp/load PETITRAG_MODEL=smollm2-135m PETITRAG_MAX_TOKENS=48 \
    .venv/bin/petitrag ingest src/petitrag/sample
  PETITRAG_HOME=/tmp/load PETITRAG_MODEL=smollm2-135m PETITRAG_MAX_TOKENS=48 \
    .venv/bin/petitrag serve --api-key load-test-key --queue-size 8
  .venv/bin/python benchmarks/serve_load.py --url http://127.0.0.1:8000 --key load-test-key \
    --clients 20 --seconds 60
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

QUESTIONS = (
    "How often should I turn my compost pile?",
    "When does the inverter need replacing?",
    "Combien de temps faut-il pour recharger la batterie du vélo ?",
    "Combien de jours de télétravail par semaine ?",
    "What should not go in the compost?",
)


@dataclass
class Results:
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    ttfts: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def ask(client: httpx.Client, collection: str, question: str, results: Results) -> int:
    """One streamed answer; returns the HTTP status (0 when the request itself failed)."""
    messages = [{"role": "user", "content": question}]
    body = {"model": f"petitrag:{collection}", "stream": True, "messages": messages}
    started = time.perf_counter()
    ttft = None
    try:
        with client.stream("POST", "/v1/chat/completions", json=body) as response:
            status = response.status_code
            for event in server_events(response):
                if "error" in event:
                    raise RuntimeError(event["error"]["message"])
                if ttft is None and event["choices"][0]["delta"].get("content"):
                    ttft = time.perf_counter() - started
    except (httpx.HTTPError, RuntimeError) as exc:
        with results.lock:
            results.failures.append(f"{type(exc).__name__}: {exc}")
        return 0
    with results.lock:
        results.statuses[str(status)] += 1
        if status == 200:
            results.latencies.append(time.perf_counter() - started)
            if ttft is not None:
                results.ttfts.append(ttft)
    return status


def server_events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """The JSON events of an SSE answer, up to ``[DONE]``; nothing for an error status."""
    if response.status_code != 200:
        response.read()
        return
    for line in response.iter_lines():
        if line.startswith("data: "):
            if line == "data: [DONE]":
                return
            yield json.loads(line[6:])


def client_loop(args: argparse.Namespace, number: int, deadline: float, results: Results) -> None:
    headers = {"Authorization": f"Bearer {args.key}"}
    with httpx.Client(base_url=args.url, headers=headers, timeout=args.request_timeout) as client:
        turn = number
        while time.monotonic() < deadline:
            status = ask(client, args.collection, QUESTIONS[turn % len(QUESTIONS)], results)
            turn += 1
            if status == 429:
                time.sleep(args.retry_wait)
            elif status != 200:
                return


def summary(args: argparse.Namespace, results: Results, wall_s: float) -> dict[str, Any]:
    def quantile(values: list[float], q: float) -> float | None:
        return round(float(np.percentile(values, q)), 2) if values else None

    answered = results.statuses.get("200", 0)
    return {
        "clients": args.clients, "seconds": round(wall_s, 1), "requests": sum(results.statuses.values()),
        "statuses": dict(results.statuses), "failures": results.failures[:5], "answered": answered,
        "latency_p50_s": quantile(results.latencies, 50), "latency_p95_s": quantile(results.latencies, 95),
        "latency_max_s": quantile(results.latencies, 100), "ttft_p95_s": quantile(results.ttfts, 95),
        "answers_per_min": round(answered * 60 / wall_s, 1),
    }  # fmt: skip


def markdown(data: dict[str, Any]) -> str:
    statuses = ", ".join(f"{code}: {count}" for code, count in sorted(data["statuses"].items()))
    return (
        f"| {data['clients']} | {data['seconds']} | {data['requests']} ({statuses}) | "
        f"{data['latency_p50_s']} | {data['latency_p95_s']} | {data['latency_max_s']} | "
        f"{data['ttft_p95_s']} | {data['answers_per_min']} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", required=True)
    parser.add_argument("--collection", default="default")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0, help="No new request after this.")
    parser.add_argument("--retry-wait", type=float, default=1.0, help="Pause after a 429.")
    parser.add_argument("--request-timeout", type=float, default=300.0)
    parser.add_argument("--json", action="store_true", help="Print the JSON summary too.")
    args = parser.parse_args()
    results = Results()
    started = time.monotonic()
    deadline = started + args.seconds
    with ThreadPoolExecutor(max_workers=args.clients) as pool:
        for number in range(args.clients):
            pool.submit(client_loop, args, number, deadline, results)
    data = summary(args, results, time.monotonic() - started)
    print("| clients | s | requests (by status) | p50 s | p95 s | max s | TTFT p95 s | answers/min |")
    print("|---|---|---|---|---|---|---|---|")
    print(markdown(data))
    if args.json:
        print(json.dumps(data))
    unexpected = set(data["statuses"]) - {"200", "429"}
    return 1 if unexpected or results.failures else 0


if __name__ == "__main__":
    sys.exit(main())
