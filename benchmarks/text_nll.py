"""How well GGUF files predict French and English text: mean negative log-likelihood per token.

Two files of the same model differ only by their quantisation (and the kernels that run it), so
the one that predicts real text better has lost less. The text: paragraphs of the dev sets
(PIAF for French, SQuAD2 for English), up to 512 tokens each, read with teacher forcing.
Used to check that ``requantize = "auto"``'s Q4_1 copy of a Q4_K_M file loses nothing
(BENCHMARKS "Session 22").

Run: .venv/bin/python benchmarks/text_nll.py ~/.local/share/petitrag/models/qwen2.5-coder-1.5b.gguf \
       --convert q4_1 q4_0 q8_0
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from petitrag.generation.llama_cpp import import_llama_cpp
from petitrag.generation.requantize import TARGETS, convert

DATA = Path("../shared/data")  # from the repository root, as the other benchmarks


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument(
        "--convert", nargs="*", default=[], choices=sorted(TARGETS), help="Copies of the 1st."
    )
    parser.add_argument("--fr", type=Path, default=DATA / "piaf-fr-dev.json", help="French SQuAD-format.")
    parser.add_argument("--en", type=Path, default=DATA / "squad2-en-dev.json", help="English SQuAD-format.")
    parser.add_argument("--paragraphs", type=int, default=12, help="Per language.")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    sets = {"fr": args.fr, "en": args.en}
    texts = {language: paragraphs(path, args.paragraphs) for language, path in sets.items()}
    for model in args.models:
        report(model, texts, args.threads)
    with tempfile.TemporaryDirectory() as folder:
        for kind in args.convert:
            copy = Path(folder) / f"{args.models[0].stem}.{kind}.gguf"
            convert(args.models[0], copy, kind, args.threads)
            report(copy, texts, args.threads)
            copy.unlink()


def paragraphs(path: Path, count: int) -> list[str]:
    """Spread over the articles: the first two paragraphs of every n-th article (all of them from
    a set of one article)."""
    articles = json.loads(path.read_text(encoding="utf-8"))["data"]
    per_article = 2 if len(articles) > count // 2 else count
    step = max(1, len(articles) // max(1, count // per_article))
    chosen = [p["context"] for article in articles[::step] for p in article["paragraphs"][:per_article]]
    return chosen[:count]


def report(path: Path, texts: dict[str, list[str]], threads: int) -> None:
    llama_cpp = import_llama_cpp()
    llm = llama_cpp.Llama(str(path), n_ctx=1024, n_threads=threads, logits_all=True, verbose=False)
    scores = {language: mean_nll(llm, items) for language, items in texts.items()}
    llm.close()
    shown = " · ".join(f"{language} {nll:.4f} ({count} tokens)" for language, (nll, count) in scores.items())
    print(f"{path.name} ({path.stat().st_size / 1e6:.0f} MB): {shown}", flush=True)


def mean_nll(llm: object, texts: list[str]) -> tuple[float, int]:
    total, count = 0.0, 0
    for text in texts:
        tokens = llm.tokenize(text.encode())[:512]  # type: ignore[attr-defined]
        llm.reset()  # type: ignore[attr-defined]
        llm.eval(tokens)  # type: ignore[attr-defined]
        logits = np.array(llm.scores[: len(tokens) - 1], dtype=np.float64)  # type: ignore[attr-defined]
        logits -= logits.max(axis=1, keepdims=True)
        log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        total -= log_probs[np.arange(len(tokens) - 1), tokens[1:]].sum()
        count += len(tokens) - 1
    return total / count, count


if __name__ == "__main__":
    main()
