"""Summary quality: how faithful and how informative `petitrag summarize` is, per document.

For each document: its summary (the real Summarizer, default settings unless flags say), then
- bullets: its outermost bullet points (sub-bullets belong to theirs);
- claims: the summary's sentences that state something (as ``cite_sentences`` counts them);
- supported: the share of claims that some chunk of the document supports (most of their
  content words and all of their numbers; across languages, their numbers and a word as written);
- invented numbers: numbers of the summary that the document does not hold (markers aside);
- numbers kept: the share of the document's distinct numbers that the summary states (a proxy
  for how much of its substance survives: facts in these documents are mostly figures);
- marked: the share of claims that end with a page or section marker; calls and seconds.

Documents: the bundled sample corpus, plus the first N articles of a SQuAD-format set already
ingested by `petitrag bench` (``--set-collection``). ``--prompt-budget 150`` forces map-reduce.

Run: .venv/bin/python benchmarks/summary_quality.py --home benchmarks/out/recall-home \
       --set-collection bench-piaf-fr-dev --articles 8 [--prompt-budget 150] [--out FILE]

``--measure FILE`` scores summaries made elsewhere instead (JSON lines, each the output of
`petitrag summarize --json` plus its "collection"): e.g. an older version's, run from a git worktree.
``--uncapped`` keeps every bullet the model writes (before session 13: ~8 for "3 to 5").
``--list`` prints the documents (collection, path) the run would summarise, one per line.
``--other-language`` summarises each document in the other language (French for English ones and
back), and scores "copied": the share of the claims' lowercase words of 4 letters or more written as
in the document — words left untranslated ("Rinse les panels avec soft water").
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path
from types import SimpleNamespace

from petitrag.answer import summarize
from petitrag.answer.bullets import LIST_ITEM
from petitrag.answer.citations import SUPPORT_THRESHOLD, number_readings, numbers_in, support_each
from petitrag.answer.summarize import (
    _PAGE_MARKER,
    _SENTENCE_END,
    Summarizer,
    _bullet_groups,
    _evidence,
    _is_claim,
    marker,
)
from petitrag.app import open_app
from petitrag.config import load_settings
from petitrag.demo import sample_corpus
from petitrag.language import detect_language

_ANY_MARKER = re.compile(r"\((?:p\.\s*\d+[^()]*|[^()]{2,80})\)\s*[.!?…]*\s*$")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, default=Path("benchmarks/out/recall-home"))
    parser.add_argument("--set-collection", default="bench-piaf-fr-dev")
    parser.add_argument("--articles", type=int, default=8)
    parser.add_argument("--model", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--prompt-budget", type=int, default=None)
    parser.add_argument("--length", choices=["short", "long"], default="short")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--measure", type=Path, default=None, help="Score these summaries (JSON lines).")
    parser.add_argument("--list", action="store_true", help="Only list the documents.")
    parser.add_argument(
        "--uncapped", action="store_true", help="Keep every bullet the model writes (no MAX_BULLETS cap)."
    )
    parser.add_argument(
        "--other-language", action="store_true", help="Summarise each document in the other language."
    )
    args = parser.parse_args()
    flags = {
        "home": args.home,
        "threads": args.threads,
        "prompt_budget": args.prompt_budget,
        "model": args.model,
    }
    if args.uncapped:
        summarize.MAX_BULLETS.update(dict.fromkeys(summarize.MAX_BULLETS, 10**6))
    settings = load_settings(**{key: value for key, value in flags.items() if value is not None})
    rows = []
    with open_app(settings) as app:
        app.ingestor().run([sample_corpus()], "summary-sample")
        documents = [("summary-sample", doc.path) for doc in app.store.documents("summary-sample")]
        documents += [
            (args.set_collection, doc.path)
            for doc in app.store.documents(args.set_collection)[: args.articles]
        ]
        if args.list:
            print("\n".join(f"{collection}\t{path}" for collection, path in documents))
            return
        if args.measure:
            made = [
                json.loads(line) for line in args.measure.read_text(encoding="utf-8").splitlines() if line
            ]
            summaries = [(item["collection"], SimpleNamespace(**item)) for item in made]
        else:
            summarizer = Summarizer(settings, app.store, app.generator)

            def language(collection: str, path: str) -> str | None:
                return other(app, collection, path) if args.other_language else None

            summaries = (
                (collection, summarizer.summarize(collection, path, args.length, language(collection, path)))  # type: ignore[arg-type]
                for collection, path in documents
            )  # fmt: skip
        for collection, summary in summaries:
            chunks = app.store.document_chunks(app.store.find_document(collection, summary.source).id)
            rows.append(measure(summary, chunks))
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    print_table(rows)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")


def other(app, collection: str, path: str) -> str:  # type: ignore[no-untyped-def]
    """The language a document is not written in."""
    chunks = app.store.document_chunks(app.store.find_document(collection, path).id)
    return "en" if detect_language(" ".join(chunk.text for chunk in chunks[:20])) == "fr" else "fr"


def copied(claims: list[str], chunks, language: str) -> float | None:  # type: ignore[no-untyped-def]
    """Across languages, the share of the claims' lowercase words (4+ letters) written as in the
    document: untranslated words. None when the summary is in the document's language."""
    text = " ".join(chunk.text for chunk in chunks)
    if detect_language(text[:4000]) == language:
        return None
    document_words = set(re.findall(r"\b[a-zà-ÿ]{4,}\b", text.casefold()))
    words = [word for claim in claims for word in re.findall(r"\b[a-zà-ÿ]{4,}\b", claim)]
    return sum(word in document_words for word in words) / max(len(words), 1)


def measure(summary, chunks) -> dict[str, object]:  # type: ignore[no-untyped-def]
    language = summary.language
    evidence = _evidence(chunks, language)
    claims = []
    for line in summary.text.splitlines():
        item = LIST_ITEM.match(line)
        body = line[item.end() :] if item else line
        claims += [sentence for sentence in _SENTENCE_END.split(body) if _is_claim(sentence, language)]
    plain = [_PAGE_MARKER.sub("", re.sub(_ANY_MARKER, "", claim)) for claim in claims]
    supported = [
        max(support_each(claim, evidence, language), default=0.0) >= SUPPORT_THRESHOLD for claim in plain
    ]
    document_numbers = numbers_in(" ".join(c.text for c in chunks))
    stated = [values for claim in plain for values in number_readings(claim)]
    invented = [values for values in stated if not values & document_numbers]
    distinct = {min(values) for values in number_readings(" ".join(c.text for c in chunks))}
    kept = {value for value in distinct if any(value in values for values in stated)}
    markers = {marker(c) for c in chunks} - {""}
    return {
        "document": Path(summary.source).name, "language": language, "chunks": len(chunks),
        "bullets": len(_bullet_groups(summary.text.splitlines())),
        "claims": len(claims), "supported": sum(supported) / max(len(claims), 1),
        "invented_numbers": len(invented), "numbers_kept": len(kept) / len(distinct) if distinct else None,
        "marked": sum(any(m in claim for m in markers) for claim in claims) / max(len(claims), 1)
        if markers
        else None,  # a text file: no page, no section
        "copied": copied(plain, chunks, language),
        "calls": summary.map_calls + summary.reduce_calls, "seconds": round(summary.seconds, 1),
        "text": summary.text,
    }  # fmt: skip


def print_table(rows: list[dict[str, object]]) -> None:
    print(
        "\n| document | chunks | bullets | claims | supported | invented numbers | numbers kept"
        " | marked | copied | calls | s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        kept = "—" if row["numbers_kept"] is None else f"{row['numbers_kept']:.2f}"
        marked = "—" if row["marked"] is None else f"{row['marked']:.2f}"
        print(
            f"| {row['document'][:40]} | {row['chunks']} | {row['bullets']} | {row['claims']} | "
            f"{row['supported']:.2f} | "
            f"{row['invented_numbers']} | {kept} | {marked} | {_rate(row['copied'])} | {row['calls']} | "
            f"{row['seconds']} |"
        )
    kept_values = [float(row["numbers_kept"]) for row in rows if row["numbers_kept"] is not None]  # type: ignore[arg-type]
    print(
        f"| **mean** | | {statistics.mean(float(r['bullets']) for r in rows):.1f} | "  # type: ignore[arg-type]
        f"{statistics.mean(float(r['claims']) for r in rows):.1f} | "  # type: ignore[arg-type]
        f"{statistics.mean(float(r['supported']) for r in rows):.2f} | "  # type: ignore[arg-type]
        f"{sum(int(r['invented_numbers']) for r in rows)} (total) | "  # type: ignore[arg-type]
        f"{statistics.mean(kept_values):.2f} | "
        f"{statistics.mean(float(r['marked']) for r in rows if r['marked'] is not None):.2f} | "  # type: ignore[arg-type]
        f"{_rate(_mean([r['copied'] for r in rows]))} | | "
        f"{statistics.mean(float(r['seconds']) for r in rows):.1f} |"  # type: ignore[arg-type]
    )


def _mean(values: list[object]) -> float | None:
    known = [float(value) for value in values if value is not None]  # type: ignore[arg-type]
    return statistics.mean(known) if known else None


def _rate(value: object) -> str:
    return "—" if value is None else f"{float(value):.2f}"  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
