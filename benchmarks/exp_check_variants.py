"""Experiment: which wording of the self-check separates right answers from wrong ones best?

Answers the first N cases of a bench run directory with the default pipeline (best-first
reading), then asks several check questions after the same answer, each reusing the answer's KV
(so each costs one short prompt evaluation), and records P(yes) or P(no) per variant. Offline,
compare ROC AUCs (right vs wrong, answerable vs unanswerable) per variant.

    python benchmarks/exp_check_variants.py RUN_DIR MODEL OUT.jsonl THREADS LIMIT
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from replay import Replayed, replay_answerer, replayed_cases, scored

from petitrag.answer.prompts import YES_NO, build_messages, check_messages
from petitrag.answer.result import AnswerResult
from petitrag.generation.base import Generator

# besides the default check (prompts.check_messages):
# (wording, True when "yes" means the answer is good); {s}: "source [1]" or "the sources"
VARIANTS: dict[str, dict[str, tuple[str, bool]]] = {
    "explicit": {
        "en": (
            'Check every word of the question "{q}": does {s} say that the answer is "{a}"? Reply Yes or No.',
            True,
        ),
        "fr": (
            "Vérifie chaque mot de la question « {q} » : {s} dit-elle que la réponse est « {a} » ? "
            "Réponds Oui ou Non.",
            True,
        ),
    },
    "mismatch": {
        "en": (
            'Does the question "{q}" ask about something {s} does not say (a different person, thing, '
            "time or detail)? Reply Yes or No.",
            False,
        ),
        "fr": (
            "La question « {q} » porte-t-elle sur quelque chose que {s} ne dit pas (une autre personne, "
            "chose, date ou détail) ? Réponds Oui ou Non.",
            False,
        ),
    },
}
SOURCES = {"en": ("source [1]", "the sources"), "fr": ("la source [1]", "les sources")}


def main(run_dir: str, model: str, out_path: str, threads: int, limit: int) -> None:
    answerer = replay_answerer(Path(run_dir), model, threads)
    with Path(out_path).open("w") as sink:
        for item in replayed_cases(Path(run_dir), limit):
            started = time.perf_counter()
            result = answerer.answer(item.question, item.language, item.hits)
            checks = variant_checks(answerer.generator, item, result)
            sink.write(scored(item.case, result, started, checks=checks))
            sink.flush()


def variant_checks(generator: Generator, item: Replayed, result: AnswerResult) -> dict[str, float | None]:
    """P(the answer is good) per check wording, each asked right after the answer (KV reused)."""
    if result.abstained or not result.context or not result.completion:
        return {}
    question, language = item.question, item.language
    asked = build_messages(question, language, result.context.sources)
    answer = result.completion.text.strip()
    count = len(result.context.sources)
    default = check_messages(asked, answer, question, language, count)
    checks = {"default": generator.yes_probability(default, *YES_NO[language])}
    which = SOURCES[language][0 if count == 1 else 1]
    for name, wordings in VARIANTS.items():
        template, yes_is_good = wordings[language]
        turn = {"role": "user", "content": template.format(s=which, q=question, a=answer)}
        yes = generator.yes_probability(
            [*asked, {"role": "assistant", "content": answer}, turn], *YES_NO[language]
        )
        checks[name] = yes if yes is None or yes_is_good else 1 - yes
    return checks


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
