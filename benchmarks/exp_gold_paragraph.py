"""Experiment: the issue's reference — the answer model given only the gold paragraph — with a naive
prompt and with petitrag's own prompt, on a SQuAD-format set.

The issue quotes "naive prompting gives 43 % / 79 %" (SQuAD2 dev, 1.5B model: abstains when
unanswerable / correct and answered). This measures both prompts on the same paragraphs, so that
the gap between the bench's end-to-end figures and the reference splits into what retrieval costs
and what the prompt costs. One JSON line per question and prompt, then a summary per prompt.

    .venv/bin/python benchmarks/exp_gold_paragraph.py ../shared/data/squad2-en-dev.json \
        --out benchmarks/out/gold/squad2.jsonl [--limit N] [--prompts naive,petitrag,remind,remind-all]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from petitrag.answer.prompts import (
    _EXAMPLE_SOURCES,
    ABSTAIN,
    PLAIN_ABSTAIN,
    SYSTEM,
    build_messages,
    is_abstention,
    user_message,
)
from petitrag.bench.metrics import contains_gold, token_f1
from petitrag.config import Settings
from petitrag.generation import create_generator
from petitrag.generation.base import GenerationParams, Message
from petitrag.language import detect_language

_NAIVE = {
    "en": (
        "Context:\n{context}\n\nQuestion: {question}\n\nAnswer the question using only the context, "
        'as briefly as possible. If the context does not contain the answer, reply "unanswerable".'
    ),
    "fr": (
        "Contexte :\n{context}\n\nQuestion : {question}\n\nRéponds à la question en utilisant "
        "uniquement le contexte, le plus brièvement possible. Si le contexte ne contient pas la "
        "réponse, réponds « sans réponse »."
    ),
}


# Variants of petitrag's prompt. "remind": the abstention rule said again after the question,
# where the naive prompt has its instruction; "remind-all": in the worked examples' turns too;
# "balanced": remind-all plus a second abstention example (a question about a look-alike
# entity, as SQuAD2's unanswerable questions are written); "noex": remind without examples.
_REMIND = {
    "en": "If the sources do not give the answer, write exactly: {abstain}",
    "fr": "Si les sources ne donnent pas la réponse, écris exactement : {abstain}",
}
_LOOKALIKE = {
    "en": "Who chose the colour of the Brooklyn Bridge?",
    "fr": "Combien de visiteurs la tour Montparnasse reçoit-elle par an ?",
}


def petitrag_messages(question: str, context: str, title: str, language: str, prompt: str) -> list[Message]:
    messages = build_messages(question, language, [f"({title})\n{context}"])
    if prompt == "balanced":
        example = user_message(_LOOKALIKE[language], language, _EXAMPLE_SOURCES[language])
        extra: list[Message] = [
            {"role": "user", "content": example},
            {"role": "assistant", "content": ABSTAIN[language]},
        ]
        messages[3:3] = extra  # after the first worked example
    if prompt == "noex":
        messages = [messages[0], messages[-1]]
    reminder = "\n\n" + _REMIND[language].format(abstain=ABSTAIN[language])
    everywhere = prompt in ("remind-all", "balanced")
    for index, message in enumerate(messages):
        last = index == len(messages) - 1
        if message["role"] == "user" and (everywhere or (prompt != "petitrag" and last)):
            messages[index] = {**message, "content": message["content"] + reminder}
    return messages


# Variants of the naive prompt, one change each, to find which part of it makes the model abstain:
# "naive-numbered": the context as petitrag numbers a source ("[1] (title)\n…");
# "naive-sentence": petitrag's abstention sentence instead of the one word;
# "naive-system": petitrag's system rules before it (a constant prefix whose KV is reused).
_NAIVE_WORD = {"en": ('"unanswerable".', "exactly: "), "fr": ("« sans réponse ».", "exactement : ")}


def naive_messages(question: str, context: str, title: str, language: str, prompt: str) -> list[Message]:
    template = _NAIVE[language]
    if prompt == "naive-numbered":
        context = f"[1] ({title})\n{context}"
    if prompt == "naive-sentence":
        word, exactly = _NAIVE_WORD[language]
        template = template.replace(word, exactly + ABSTAIN[language])
    messages: list[Message] = [
        {"role": "user", "content": template.format(context=context, question=question)}
    ]
    if prompt == "naive-system":
        messages.insert(0, {"role": "system", "content": SYSTEM[language]})
    return messages


def naive_reply(prompt: str, language: str) -> str:
    """The abstention a naive prompt asks for, whose log-probability the gate would read."""
    if prompt == "naive-sentence":
        return ABSTAIN[language]
    return PLAIN_ABSTAIN[language]


def naive_abstained(answer: str) -> bool:
    folded = answer.casefold()
    return "unanswerable" in folded or "sans réponse" in folded or is_abstention(answer)


def questions(path: Path) -> list[dict]:  # type: ignore[type-arg]
    found = []
    for article in json.loads(path.read_text())["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                golds = [a["text"] for a in qa.get("answers", [])]
                found.append({"id": qa["id"], "question": qa["question"].strip(), "title": article["title"],
                              "context": paragraph["context"], "golds": golds,
                              "impossible": bool(qa.get("is_impossible")) or not golds})  # fmt: skip
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prompts", default="naive,petitrag")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--abstain-above", type=float, default=-3.75, help="the gate replayed in the summary")
    parser.add_argument("--summary-only", action="store_true", help="summarise --out without running")
    args = parser.parse_args()
    if args.summary_only:
        rows = [json.loads(line) for line in args.out.read_text().splitlines()]
        summarize(rows, args.prompts.split(","), args.abstain_above)
        return
    items = questions(args.dataset)
    random.Random(args.seed).shuffle(items)
    if args.limit:
        items = items[: args.limit]
    extra = {"home": args.home} if args.home else {}
    generator = create_generator(Settings(model=args.model, threads=args.threads, **extra))
    params = GenerationParams(max_tokens=48, logprobs=False)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    with args.out.open("w") as out:
        for item in items:
            language = detect_language(item["question"])
            for prompt in args.prompts.split(","):
                naive = prompt.startswith("naive")
                if naive:
                    messages = naive_messages(
                        item["question"], item["context"], item["title"], language, prompt
                    )
                    params.prefix_messages = len(messages) - 1
                else:
                    messages = petitrag_messages(
                        item["question"], item["context"], item["title"], language, prompt
                    )
                    params.prefix_messages = len(messages) - 1
                started = time.perf_counter()
                answer = generator.complete(messages, params).text.strip()
                reply = naive_reply(prompt, language) if naive else ABSTAIN[language]
                # what the production gate (abstain_above) reads
                likely = generator.reply_logprob(messages, reply, len(messages) - 1)
                abstained = naive_abstained(answer) if naive else is_abstention(answer)
                f1 = 0.0 if abstained or not item["golds"] else token_f1(answer, item["golds"])
                contains = bool(item["golds"]) and not abstained and contains_gold(answer, item["golds"])
                seconds = round(time.perf_counter() - started, 2)
                row = {"id": item["id"], "prompt": prompt, "impossible": item["impossible"], "answer": answer,
                       "abstained": abstained, "f1": f1, "contains": contains, "abstain_logprob": likely,
                       "seconds": seconds}  # fmt: skip
                rows.append(row)
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                out.flush()
    summarize(rows, args.prompts.split(","), args.abstain_above)


def gated(rows: list[dict], prompt: str, threshold: float) -> list[dict]:  # type: ignore[type-arg]
    """A petitrag prompt's rows as the production gate would leave them: abstained when
    log P(abstention sentence) is above ``threshold``."""
    name, out = f"{prompt}, gate {threshold}", []
    for row in (r for r in rows if r["prompt"] == prompt):
        likely = row["abstain_logprob"]
        gate = likely is not None and likely > threshold
        out.append(
            {**row, "prompt": name, **({"abstained": True, "f1": 0.0, "contains": False} if gate else {})}
        )
    return out


def summarize(rows: list[dict], prompts: list[str], threshold: float) -> None:  # type: ignore[type-arg]
    for prompt in list(prompts):
        rows = rows + gated(rows, prompt, threshold)
        prompts = [*prompts, f"{prompt}, gate {threshold}"]
    for prompt in prompts:
        mine = [r for r in rows if r["prompt"] == prompt]
        unanswerable = [r for r in mine if r["impossible"]]
        answerable = [r for r in mine if not r["impossible"]]
        abstains = sum(r["abstained"] for r in unanswerable) / max(1, len(unanswerable))
        correct = sum((r["f1"] >= 0.5 or r["contains"]) and not r["abstained"] for r in answerable)
        f1 = sum(r["f1"] for r in answerable) / max(1, len(answerable))
        print(f"{prompt}: {len(unanswerable)} unanswerable, abstains {abstains:.2f}; "
              f"{len(answerable)} answerable, correct & answered {correct / max(1, len(answerable)):.2f}, "
              f"F1 {f1:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
