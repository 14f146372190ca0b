"""How often `ask` abstains on questions the documents do not answer at all, with and without
`grounded_only`.

SQuAD2's unanswerable questions are near misses written against the very paragraph retrieval
returns; users also ask things their documents never mention, which a small model answers from
its own knowledge ("Melbourne [1]" for the capital of Australia). This ingests the bundled sample
corpus (an e-bike guide, a composting page, a remote-work policy, a solar-panel PDF, meeting
minutes) and asks general-knowledge questions in French and English that none of it answers,
plus a few on-topic ones it does not answer either (the price of the e-bike, the brand of the
solar panels), three ways: with neither check, with `grounded_only` alone, and with the defaults
(`grounded_only` and the automatic `min_score`). Answerable questions are measured by the PIAF
and SQuAD2 bench runs (BENCHMARKS "Grounded answers").

Run: .venv/bin/python benchmarks/off_corpus.py --home benchmarks/out/recall-home
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from petitrag.app import open_app
from petitrag.config import load_settings
from petitrag.demo import sample_corpus

OFF_TOPIC = {
    "fr": [
        "Quelle est la capitale de l'Australie ?",
        "Qui a écrit Les Misérables ?",
        "En quelle année a eu lieu la prise de la Bastille ?",
        "Quel est le plus long fleuve de France ?",
        "Combien de joueurs compte une équipe de football sur le terrain ?",
        "Qui a peint la Joconde ?",
        "Quelle est la hauteur du mont Blanc ?",
        "Quelle est la monnaie du Japon ?",
        "Combien de temps faut-il pour cuire un œuf dur ?",
        "Quelle est la vitesse de la lumière ?",
    ],
    "en": [
        "What is the capital of Australia?",
        "Who wrote Hamlet?",
        "In which year did the Second World War end?",
        "How many planets are there in the solar system?",
        "Who painted the Mona Lisa?",
        "What is the tallest mountain in the world?",
        "Which company makes the iPhone?",
        "How many legs does a spider have?",
        "Who invented the telephone?",
        "What is the boiling point of water in Fahrenheit?",
    ],
}
NEAR_TOPIC = {
    "fr": [
        "Combien coûte le vélo électrique neuf ?",
        "Quelle marque fabrique le moteur du vélo ?",
        "Qui est le maire de la commune ?",
        "Combien de salariés compte l'entreprise ?",
    ],
    "en": [
        "Which brand are the solar panels?",
        "How much does a compost bin cost?",
        "Who installed the solar panels?",
        "What is the name of the company's CEO?",
    ],
}

# (grounded_only, min_score): min_score 0 is off, None the automatic gate of coverage fusion
CHECKS = {"neither": (False, 0.0), "grounded_only": (True, 0.0), "defaults": (True, None)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, default=Path("benchmarks/out/recall-home"))
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/off-corpus.jsonl"))
    args = parser.parse_args()
    settings = load_settings(
        home=args.home, model=args.model, threads=args.threads, collection="off-corpus-sample"
    )
    rows = []
    with open_app(settings) as app:
        app.ingestor(None).run([sample_corpus()], settings.collection, prune=True)
        answerer = app.answerer()
        for kind, questions in (("off-topic", OFF_TOPIC), ("near-topic", NEAR_TOPIC)):
            for language, asked in questions.items():
                for question in asked:
                    row = {"kind": kind, "language": language, "question": question}
                    for key, (grounded, min_score) in CHECKS.items():
                        settings.grounded_only, settings.min_score = grounded, min_score
                        result = answerer.ask(question)
                        row[key] = {"answer": result.answer, "abstained": result.abstained,
                                    "total_s": round(result.timings["total_s"], 2)}  # fmt: skip
                    rows.append(row)
                    print(json.dumps(row, ensure_ascii=False), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    summarize(rows)


def summarize(rows: list[dict]) -> None:  # type: ignore[type-arg]
    print("\n| questions | language | n | abstains: " + " | ".join(CHECKS) + " |")
    print("|---|---|---:|" + "---:|" * len(CHECKS))
    for kind in ("off-topic", "near-topic"):
        for language in ("fr", "en"):
            group = [row for row in rows if row["kind"] == kind and row["language"] == language]
            counts = [f"{sum(row[key]['abstained'] for row in group)}/{len(group)}" for key in CHECKS]
            print(f"| {kind} | {language} | {len(group)} | " + " | ".join(counts) + " |")


if __name__ == "__main__":
    main()
