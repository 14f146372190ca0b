"""Experiment: how well does the answer model rewrite a chat follow-up into a standalone question?

``petitrag chat`` retrieves with the rewritten question, so a rewrite that drops the topic
("Et pour la révision ?" → "Combien de temps faut-il pour charger la batterie ? Et pour la
révision ?") retrieves the previous turn's passages again. Each case gives the last turns, the
follow-up, terms the rewrite must hold (one of each group), terms it must not hold, and its
language; a rewrite passes when it is one question, in the follow-up's language, with them.

    python benchmarks/exp_rewrite.py [--model qwen2.5-coder-1.5b] [--threads 2] [--zero-shot | --examples N]
"""

from __future__ import annotations

import argparse
import time

from petitrag.answer import conversation
from petitrag.answer.conversation import standalone_question
from petitrag.config import Settings
from petitrag.generation import create_generator
from petitrag.language import detect_language

# (history, follow-up, required term groups (any of each), forbidden terms)
CASES: list[tuple[list[tuple[str, str]], str, list[list[str]], list[str]]] = [
    ([("Combien de temps faut-il pour charger la batterie ?", "Environ 4 heures et demie [1]")],
     "Et pour la révision ?", [["révision"]], ["batterie"]),
    ([("How often should I turn my compost pile?", "Every two to three weeks [1]")],
     "And what temperature does it reach?", [["compost", "pile"], ["temperature"]], []),
    ([("Qui a écrit Les Misérables ?", "Victor Hugo [1]")],
     "Quand est-il né ?", [["hugo"], ["né", "naissance"]], ["misérables"]),
    ([("What is the remote work policy?", "Two days per week, with the manager's approval [1]")],
     "Does it apply to interns?", [["remote"], ["intern"]], []),
    ([("Quelle pression faut-il dans les pneus ?", "Entre 3 et 4 bars [2]")],
     "Quelle est la capitale du Pérou ?", [["capitale"], ["pérou"]], ["pneu", "pression"]),
    ([("Where was Marie Curie born?", "In Warsaw [1]")],
     "What did she discover?", [["curie"], ["discover"]], ["warsaw"]),
    ([("Quel est le prix d'un panneau solaire ?", "Environ 300 euros [1]")],
     "Et sa durée de vie ?", [["panneau"], ["durée", "vie"]], ["prix", "300"]),
    ([("Who founded the company?", "Jane Smith, in 1998 [1]"), ("Where is it based?", "In Lyon [2]")],
     "How many employees does it have?", [["company", "jane smith"], ["employees"]], []),
    ([("Combien de jours de télétravail par semaine ?", "Deux jours [1]")],
     "Faut-il l'accord du manager ?", [["télétravail"], ["accord", "manager"]], []),
    ([("What are the opening hours of the library?", "9 am to 6 pm on weekdays [1]")],
     "What about Saturdays?", [["library"], ["saturday"]], ["weekday"]),
    ([("Quels documents faut-il pour la demande de visa ?", "Un passeport et une photo [1]")],
     "Combien de temps prend-elle ?", [["visa", "demande"], ["temps", "durée", "délai"]], ["passeport"]),
    ([("How do I reset the router?", "Hold the reset button for 10 seconds [1]")],
     "Where is that button?", [["reset"], ["button"]], ["10 seconds"]),
    ([("Quelle est la date limite d'inscription ?", "Le 15 mars [1]")],
     "Et pour les étudiants étrangers ?", [["inscription"], ["étranger"]], []),
    ([("How much does the premium plan cost?", "$20 per month [1]")],
     "Is there a discount for students?", [["premium", "plan"], ["student"]], []),
    ([("Qui est le maire de Lyon ?", "Grégory Doucet [1]")],
     "Quel est son parti ?", [["doucet", "maire"], ["parti"]], []),
    ([("When does the train to Paris leave?", "At 8:15 [1]")],
     "And the next one?", [["train"], ["paris"], ["next"]], []),
    ([("Comment nettoyer la chaîne du vélo ?", "Avec un chiffon et du dégraissant [1]")],
     "À quelle fréquence ?", [["chaîne"], ["fréquence", "souvent"]], ["chiffon"]),
    ([("What causes error 404?", "The page was not found [1]")],
     "How can I fix it?", [["404"], ["fix"]], []),
    ([("Quel est le délai de livraison ?", "3 à 5 jours ouvrés [1]")],
     "Et à l'étranger ?", [["livraison"], ["étranger"]], ["3 à 5"]),
    ([("Who is the CEO of the company?", "Anna Lopez [1]")],
     "What is the company's revenue?", [["revenue"], ["company"]], ["anna", "ceo"]),
    ([("Combien de jours de congés payés par an ?", "25 jours [1]")],
     "Peut-on les reporter ?", [["congé"], ["report"]], []),
    ([("How long is the warranty on the laptop?", "Two years [1]")],
     "Does it cover the battery?", [["warranty"], ["battery"]], []),
    ([("Où se trouve la mairie ?", "Place de la République [1]"),
      ("Quels sont ses horaires ?", "De 8 h 30 à 17 h [1]")],
     "Est-elle ouverte le samedi ?", [["mairie"], ["samedi"]], []),
    ([("What is the boiling point of water?", "100 °C at sea level [1]")],
     "And at the top of Everest?", [["boil"], ["everest"]], ["sea level"]),
]  # fmt: skip
#: the rewrite prompt before session 16: rules only, no worked examples
ZERO_SHOT = (
    "Rewrite the user's last question so that it can be understood without the conversation: "
    "replace pronouns and implicit references with what they refer to. Keep the language of the "
    "question (French stays French). Output only the rewritten question, nothing else."
)


def passes(rewritten: str, follow_up: str, required: list[list[str]], forbidden: list[str]) -> bool:
    text = rewritten.casefold()
    one_question = text.count("?") <= 1 and "\n" not in text
    same_language = detect_language(rewritten, default="en") == detect_language(follow_up, default="en")
    holds = all(any(term in text for term in group) for group in required)
    return one_question and same_language and holds and not any(term in text for term in forbidden)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--examples", type=int, default=None, help="keep only the first N worked examples")
    parser.add_argument("--zero-shot", action="store_true", help="the rewrite prompt before session 16")
    args = parser.parse_args()
    if args.zero_shot:
        conversation.REWRITE_SYSTEM, conversation.REWRITE_EXAMPLES = ZERO_SHOT, ()
    elif args.examples is not None:
        conversation.REWRITE_EXAMPLES = conversation.REWRITE_EXAMPLES[: args.examples]
    settings = Settings(model=args.model, threads=args.threads)
    generator = create_generator(settings)
    passed = 0
    started = time.perf_counter()
    for history, follow_up, required, forbidden in CASES:
        rewritten = standalone_question(generator, history, follow_up)
        ok = passes(rewritten, follow_up, required, forbidden)
        passed += ok
        print(f"{'✔' if ok else '✘'} {follow_up!r} → {rewritten!r}")
    seconds = (time.perf_counter() - started) / len(CASES)
    print(f"{passed}/{len(CASES)} rewrites pass · {seconds:.1f} s per rewrite")


if __name__ == "__main__":
    main()
