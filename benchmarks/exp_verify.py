"""Experiment: does a yes/no self-check after a best-first answer separate answerable questions
from unanswerable ones (and right answers from wrong)? Reads a bench run directory, answers each
case from passage [1] alone, then asks the same model whether source [1] states the answer and
records P(yes) from the logits of its first reply token. The check reuses the KV of the answer.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from petitrag.answer.packing import pack
from petitrag.answer.pipeline import Answerer
from petitrag.answer.prompts import build_messages
from petitrag.bench.retrieval import ReplayRetriever
from petitrag.bench.rundir import read_cases, read_jsonl
from petitrag.config import Settings
from petitrag.generation import create_generator
from petitrag.index.store import Store
from petitrag.language import detect_language
from petitrag.retrieval.hybrid import Hit

CHECK = {
    "en": 'Check: does source [1] state the answer to the question "{q}"? Reply Yes or No.',
    "fr": "Vérifie : la source [1] donne-t-elle la réponse à la question « {q} » ? Réponds Oui ou Non.",
}
WORDS = {"en": ("Yes", "No"), "fr": ("Oui", "Non")}


def main(run_dir: str, model: str, out_path: str, threads: int, limit: int) -> None:
    out = Path(run_dir)
    run = json.loads((out / "run.json").read_text())
    settings = Settings(
        home=Path(run["home"]), model=model, threads=threads, context_size=run["context_size"],
        max_tokens=run["max_tokens"], prompt_budget=run["prompt_budget"], reading="all",
    )  # fmt: skip
    rows = {r["case_id"]: r for r in read_jsonl(out / "retrieval.jsonl")}
    generator = create_generator(settings)
    store = Store(settings.db_path)
    answerer = Answerer(settings, ReplayRetriever(settings, store, run["collection"], []), generator)
    llama, lib = generator.llama, generator._llama_cpp
    with Path(out_path).open("w") as sink:
        for case in read_cases(out)[:limit]:
            language = detect_language(case.question)
            hit = Hit(**rows[case.id]["hits"][0])
            started = time.perf_counter()
            result = answerer.answer(case.question.strip(), language, [hit])
            context = pack([hit], case.question.strip(), language, 1200, generator.count_tokens)
            messages = build_messages(case.question.strip(), language, context.sources)
            check = CHECK[language].format(q=case.question.strip())
            messages += [{"role": "assistant", "content": result.completion.text},
                         {"role": "user", "content": check}]  # fmt: skip
            tokens = generator.prompt_tokens(messages)
            steps = llama.generate(tokens, temp=0.0)
            next(steps)
            steps.close()
            pointer = lib.llama_get_logits_ith(llama.ctx, -1)
            logits = np.ctypeslib.as_array(pointer, shape=(llama.n_vocab(),))
            yes, no = (llama.tokenize(w.encode(), add_bos=False, special=False)[0] for w in WORDS[language])
            p_yes = 1 / (1 + math.exp(float(logits[no]) - float(logits[yes])))
            sink.write(json.dumps({
                "case_id": case.id, "impossible": case.impossible, "gold": case.answers,
                "answer": result.answer, "abstained": result.abstained, "p_yes": p_yes,
                "confidence": result.confidence,
                "seconds": time.perf_counter() - started,
            }, ensure_ascii=False) + "\n")  # fmt: skip
            sink.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
