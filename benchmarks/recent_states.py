"""Benchmark: time to first token of questions whose top passage was read recently, with the
RAM cache of recent KV states (``kv_cache_mb``) off and on.

Two ways a warm process meets a passage it read a moment ago, after reading something else:

- chat: each follow-up is first rewritten into a standalone question (another prompt), then
  answered; the follow-ups here stay on the first answer's passage.
- serve: two people ask in turn about two different documents (A1, B1, A2, B2, ...).

The sample corpus must be ingested in the collection (``petitrag demo`` does it). Rounds
alternate off / on in one process (same loaded model), so the machine's drift hits both.

    .venv/bin/python benchmarks/recent_states.py [--model qwen2.5-coder-1.5b] [--threads 2] [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

from petitrag.answer.conversation import Conversation
from petitrag.app import open_app
from petitrag.config import load_settings

CHATS = [
    [
        "Quand faut-il remplacer les plaquettes de frein ?",
        "Et à quelle fréquence faut-il contrôler leur usure ?",
        "Avec quoi faut-il nettoyer les disques ?",
    ],
    [
        "How often should I turn my compost pile?",
        "How damp should the pile be?",
        "What temperature does the centre of an active pile reach?",
    ],
    [
        "Combien de temps prend une recharge complète de la batterie ?",
        "Et pour atteindre 80 % de la capacité ?",
        "À quelle température faut-il recharger la batterie ?",
    ],
]
TWO_USERS = [  # (user A, user B) turns, asked A, B, A, B, ...
    ("Quand faut-il remplacer les plaquettes de frein ?", "How often should I turn my compost pile?"),
    ("Faut-il contrôler l'usure des plaquettes chaque mois ?", "How damp should the compost pile be?"),
    ("Tous les combien faut-il purger le circuit hydraulique ?", "What temperature does a pile reach?"),
]


def top_passage(result: Any) -> str | None:
    """The chunk read first (passage [1]), whatever the answer cited."""
    return result.context.hits[0].chunk_id if result.context and result.context.hits else None


def chat_round(app: Any) -> list[dict[str, Any]]:
    rows = []
    for turns in CHATS:
        conversation = Conversation(app.answerer())
        top = None
        for index, question in enumerate(turns):
            standalone = conversation.standalone(question)
            result = conversation.answer(question, standalone)
            first = top_passage(result)
            if index:
                rows.append({"ttft": result.timings["ttft_s"], "same_top": first == top and top is not None})
            top = first
    return rows


def serve_round(app: Any) -> list[dict[str, Any]]:
    answerer, rows, tops = app.answerer(), [], {}
    for index, pair in enumerate(TWO_USERS):
        for user, question in zip("AB", pair, strict=True):
            result = answerer.ask(question)
            first = top_passage(result)
            if index:
                rows.append({"ttft": result.timings["ttft_s"], "same_top": first == tops.get(user)})
            tops[user] = first
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--collection", default="sample")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--megabytes", type=int, default=128, help="kv_cache_mb when on")
    args = parser.parse_args()
    overrides: dict[str, Any] = {"threads": args.threads, "collection": args.collection}
    if args.model:
        overrides["model"] = args.model
    settings = load_settings(**overrides)
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with open_app(settings) as app:
        generator = app.generator
        loaded = generator._model
        app.answerer().ask("Quelle est la date de la prochaine réunion ?")  # warm-up: load, prefix
        for _ in range(args.rounds):
            for label, megabytes in (("off", 0), ("on", args.megabytes)):
                for scenario, run in (("chat", chat_round), ("serve", serve_round)):
                    loaded.keep_recent_states(megabytes)
                    results.setdefault((scenario, label), []).extend(run(app))
    print(f"model {generator.name}, threads {args.threads}, {args.rounds} rounds; answer TTFT, seconds")
    print("| scenario | kv_cache_mb | questions | same top passage as before | TTFT p50 | TTFT mean |")
    print("|---|---:|---:|---:|---:|---:|")
    for (scenario, label), rows in results.items():
        ttfts = [row["ttft"] for row in rows]
        same = sum(row["same_top"] for row in rows)
        megabytes = 0 if label == "off" else args.megabytes
        print(
            f"| {scenario} | {megabytes} | {len(rows)} | {same} | {statistics.median(ttfts):.2f} | "
            f"{statistics.fmean(ttfts):.2f} |"
        )
        same_rows = [row["ttft"] for row in rows if row["same_top"]]
        if 0 < len(same_rows) < len(rows):
            print(f"|   same top only | {megabytes} | {len(same_rows)} | {len(same_rows)} | "
                  f"{statistics.median(same_rows):.2f} | {statistics.fmean(same_rows):.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
