"""Experiment: a prompt variant against the default, on the passages a bench run retrieved.

Answers the first N cases of a bench run directory with the default pipeline (best-first reading,
self-check recorded), after swapping in a variant of the worked examples, and writes one JSON line
per case with its F1 so that the variant can be compared, paired, with the run's own predictions.

    python benchmarks/exp_prompt.py RUN_DIR MODEL VARIANT OUT.jsonl THREADS LIMIT
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from replay import replay_answerer, replayed_cases, scored

from petitrag.answer import prompts

# Examples whose natural answer would restate the question ("La tour était rouge-brun"), answered
# with the bare span instead: the failure seen most in PIAF answers that contain the gold span.
_CONCISE_SOURCES = {
    "fr": [
        "(Tour Eiffel > Construction)\nLa tour Eiffel a été construite par l'entreprise de Gustave Eiffel "
        "pour l'Exposition universelle de 1889. Elle mesurait alors 312 mètres et était peinte en "
        "rouge-brun ; elle est aujourd'hui d'un brun dégradé.",
        "(Tour Eiffel > Visites)\nPrès de sept millions de personnes la visitent chaque année, "
        "ce qui en fait le monument payant le plus visité au monde.",
    ],
    "en": [
        "(Golden Gate Bridge > History)\nThe Golden Gate Bridge opened in 1937. Its chief engineer was "
        "Joseph Strauss, and its orange colour was chosen by the architect Irving Morrow because it "
        "stands out in the fog.",
        "(Golden Gate Bridge > Traffic)\nAbout 112,000 vehicles cross the bridge every day.",
    ],
}
_CONCISE = {
    "fr": [
        ("De quelle couleur la tour Eiffel était-elle peinte en 1889 ?", "Rouge-brun [1]"),
        ("Combien de personnes visitent la tour Eiffel chaque année ?", "Près de sept millions [2]"),
        ("Combien a coûté la construction de la tour Eiffel ?", prompts.ABSTAIN["fr"]),
    ],
    "en": [
        ("Why was the bridge painted orange?", "Because it stands out in the fog [1]"),
        ("How many vehicles cross the bridge daily?", "About 112,000 [2]"),
        ("How long did it take to build the Golden Gate Bridge?", prompts.ABSTAIN["en"]),
    ],
}
# SQuAD2's unanswerable questions are near misses: another entity, attribute or time than the one
# the passage talks about. The default examples only abstain on a question about something absent.
_NEAR_MISS = {
    "fr": [
        (
            "Pour quel événement la tour Eiffel a-t-elle été construite ?",
            "L'Exposition universelle de 1889 [1]",
        ),
        ("Pour quel événement l'Arc de triomphe a-t-il été construit ?", prompts.ABSTAIN["fr"]),
        ("Combien de visiteurs la tour Eiffel reçoit-elle par an ?", "Près de sept millions [2]"),
        ("Combien de visiteurs la tour Eiffel recevait-elle en 1889 ?", prompts.ABSTAIN["fr"]),
        ("Combien a coûté la construction de la tour Eiffel ?", prompts.ABSTAIN["fr"]),
    ],
    "en": [
        ("Who chose the colour of the Golden Gate Bridge?", "Irving Morrow [1]"),
        ("Who chose the colour of the Bay Bridge?", prompts.ABSTAIN["en"]),
        ("How many vehicles cross the bridge daily?", "About 112,000 [2]"),
        ("How many bicycles cross the bridge daily?", prompts.ABSTAIN["en"]),
        ("How long did it take to build the Golden Gate Bridge?", prompts.ABSTAIN["en"]),
    ],
}
VARIANTS = {
    "default": None,
    "concise": (_CONCISE_SOURCES, _CONCISE),
    "near-miss": (prompts._EXAMPLE_SOURCES, _NEAR_MISS),
}


def main(run_dir: str, model: str, variant: str, out_path: str, threads: int, limit: int) -> None:
    if VARIANTS[variant]:
        prompts._EXAMPLE_SOURCES, prompts._EXAMPLES = VARIANTS[variant]
    answerer = replay_answerer(Path(run_dir), model, threads, self_check=True)
    with Path(out_path).open("w") as sink:
        for item in replayed_cases(Path(run_dir), limit):
            started = time.perf_counter()
            result = answerer.answer(item.question, item.language, item.hits)
            sink.write(scored(item.case, result, started))
            sink.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
