"""`petitrag demo`: ingest the bundled sample corpus, then search it in French and English.

The sample is small on purpose (five files, five formats) so the demo runs in seconds
on a laptop and shows every part: parsing, chunking, hybrid retrieval, citations.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from rich.console import Console

from petitrag.app import open_app
from petitrag.config import Settings
from petitrag.ingest import ProgressHook
from petitrag.report import print_hits, print_ingest_report

QUESTIONS = (
    "Combien de temps faut-il pour recharger complètement la batterie du vélo ?",
    "How often should I turn my compost pile?",
)


def sample_corpus() -> Path:
    """The folder of the bundled sample documents."""
    return Path(str(resources.files("petitrag") / "sample"))


def run_demo(settings: Settings, out: Console, err: Console, progress: ProgressHook | None = None) -> None:
    with open_app(settings) as app:
        out.rule(f"Ingesting the sample corpus into '{settings.collection}' ({settings.home})")
        report = app.ingestor(progress).run([sample_corpus()], settings.collection, prune=True)
        print_ingest_report(out, report, settings.collection)
        retriever = app.retriever()
        for question in QUESTIONS:
            out.rule(question)
            result = retriever.search(question, k=3)
            print_hits(out, result)
            for warning in result.warnings:
                err.print(f"warning: {warning}")
    out.rule()
    out.print("Try your own documents: petitrag ingest ~/Documents/notes && petitrag search 'your question'")
