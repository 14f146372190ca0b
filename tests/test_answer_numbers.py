"""Numbers an answer gives, checked against the passages it read (numbers.py, citations.py):
a right answer refused is as bad as an invented number kept. Real components, scripted replies."""

from __future__ import annotations

from petitrag.answer.citations import Evidence, draws_on, recited
from petitrag.answer.numbers import numbers_in, spelled_numbers
from petitrag.answer.pipeline import Answerer
from petitrag.config import Settings
from petitrag.retrieval.hybrid import Hit
from tests.test_answer_pipeline import ScriptedGenerator


def test_a_table_rows_columns_are_numbers_apart() -> None:
    """ "2022 580 410" (a text or PDF table) was read 2022580410 and 2022: its 580 and 410, the
    right answers, were refused."""
    table = [Evidence.of("Année Chiffre d'affaires Charges\n2022 580 410\n2023 612 540", "fr")]
    assert draws_on("410 [1]", "Quelles ont été les charges en 2022 ?", table, "fr") is True
    assert draws_on("580 [1]", "Quel chiffre d'affaires en 2022 ?", table, "fr") is True
    assert draws_on("612 [1]", "Quel chiffre d'affaires en 2023 ?", table, "fr") is True
    assert draws_on("413 [1]", "Quelles ont été les charges en 2022 ?", table, "fr") is False
    labelled = [Evidence.of("T2 580 410", "fr")]  # a label's digit is no group of the row
    assert draws_on("410 [1]", "Quelles charges au T2 ?", labelled, "fr") is True
    # a number's groups stay one number: "1 250" holds no 250, "45 000" no 45 or 000
    assert numbers_in("Le loyer est de 1 250 euros.", both_ways=True) == {"1250"}
    assert numbers_in("45 000 euros", both_ways=True) == {"45000"}
    assert numbers_in("2022 45 000 38 500", both_ways=True) == {"2022", "45000", "38500"}
    assert numbers_in("612 540", both_ways=True) == {"612540", "612", "540"}


def answered(reply: str, question: str, passages: list[str], language: str, reading: str = "best-first"):  # type: ignore[no-untyped-def]
    """The checked answer of a model replying ``reply`` over these passages."""
    hits = [
        Hit(rank=number, score=1.0 / number, source=f"doc{number}.md", page=None, section=None,
            chunk_id=f"c{number}", text=text, language=language)
        for number, text in enumerate(passages, start=1)
    ]  # fmt: skip
    settings = Settings(reading=reading)
    return Answerer(settings, None, ScriptedGenerator(reply)).answer(question, language, hits)  # type: ignore[arg-type]


def test_hundreds_and_thousands_written_out_are_one_number() -> None:
    """ "deux cents salariés" was read 2 and 100: the right "200 salariés" was refused, an
    invented "100 employees" kept."""
    result = answered(
        "200 salariés [1]", "Combien de salariés ?", ["L'entreprise emploie deux cents salariés."], "fr"
    )
    assert result.answer == "200 salariés [1]" and not result.abstained
    sold = [Evidence.of("Trois mille exemplaires ont été vendus.", "fr")]
    assert draws_on("3000 exemplaires [1]", "Combien d'exemplaires ?", sold, "fr") is True
    staff = [Evidence.of("The company has two hundred and fifty employees, three thousand users.", "en")]
    assert draws_on("250 employees [1]", "How many employees?", staff, "en") is True
    assert draws_on("3,000 users [1]", "How many users?", staff, "en") is True
    assert draws_on("100 employees [1]", "How many employees?", staff, "en") is False
    assert spelled_numbers("deux cent cinquante, deux mille cinq cents, cent vingt") == {"250", "2500", "120"}
    assert spelled_numbers("deux et trois, cinq pour cent") == {"2", "3", "5", "100"}


def test_an_uncited_answer_need_not_find_a_1_or_its_lists_numbering() -> None:
    """Uncited answers were judged without the exemptions ``draws_on`` makes: "1 mois." over
    "un mois", a numbered list of steps, "850 euros (1)." became the abstention sentence."""
    month = answered(
        "1 mois.", "Quel est le délai de préavis ?", ["Le préavis est d'un mois pour un meublé."], "fr"
    )
    assert month.answer == "1 mois." and [citation.number for citation in month.citations] == [1]
    steps = "1. Unplug the device\n2. Open the cover\n3. Replace the filter"
    listed = answered(
        steps, "What are the steps?", ["Steps: unplug the device, open the cover, replace the filter."], "en"
    )
    assert listed.answer == steps and [citation.number for citation in listed.citations] == [1]
    rent = answered("850 euros (1).", "What is the rent?", ["Rent: 850 euros."], "en")
    assert rent.answer == "850 euros (1)." and [citation.number for citation in rent.citations] == [1]
    invented = answered("900 euros (1).", "What is the rent?", ["Rent: 850 euros."], "en")
    assert invented.abstained


def test_a_yes_or_no_answer_adding_a_number_no_passage_holds_is_refused() -> None:
    """An answer opening with yes/no was never checked: "Yes, a deposit of 2,000 euros is
    required [1]." over "1,700 euros" was kept, and "Yes, 2,000 euros." with no source."""
    deposit = ["A deposit of 1,700 euros is required at signing."]
    question = "Is a deposit required?"
    assert answered("Yes, a deposit of 2,000 euros is required [1].", question, deposit, "en").abstained
    assert answered("Yes, 2,000 euros.", question, deposit, "en").abstained
    kept = answered("Yes, a deposit of 1,700 euros is required [1].", question, deposit, "en")
    assert kept.answer == "Yes, a deposit of 1,700 euros is required [1]." and not kept.abstained
    rent = [Evidence.of("Le loyer est payable le 5 de chaque mois.", "fr")]
    assert draws_on("Non, il est payable le 15 [1].", "Le loyer est-il payable le 10 ?", rent, "fr") is False
    assert draws_on("Non, pas le 10 [1].", "Le loyer est-il payable le 10 ?", rent, "fr") is None  # asked
    assert (
        draws_on("Oui, une fois [1].", "Le loyer est-il payable le 10 ?", rent, "fr") is None
    )  # words unjudged


def test_a_dates_month_name_must_be_in_a_passage() -> None:
    """Month names were not compared: "On 15 June 2025 [1]." was kept over "15 April 2025", "En
    juin 2024 [1]." over "mars 2024"."""
    lease = [Evidence.of("The lease starts on 15 April 2025.", "en")]
    assert draws_on("On 15 June 2025 [1].", "When does the lease start?", lease, "en") is False
    assert draws_on("On 15 April 2025 [1].", "When does the lease start?", lease, "en") is True
    stock = "L'inventaire a lieu en mars 2024."
    assert answered("En juin 2024 [1].", "Quand a lieu l'inventaire ?", [stock], "fr").abstained
    assert draws_on("En mars 2024 [1].", "Quand ?", [Evidence.of(stock, "fr")], "fr") is True
    # a month in either language, or a numeric date's month; "may" the verb is no month
    assert draws_on("In March 2024 [1].", "When?", [Evidence.of(stock, "fr")], "en") is True
    assert draws_on("In March 2024 [1].", "When?", [Evidence.of("Le 12/03/2024.", "fr")], "en") is True
    assert draws_on("In May 2025 [1].", "When?", [Evidence.of("Signed on 2025-05-12.", "en")], "en") is True
    returns = [Evidence.of("Returns are accepted within 14 days.", "en")]
    assert draws_on("You may return it within 14 days [1].", "Can I return it?", returns, "en") is True


def test_a_number_with_a_scale_is_its_scaled_value() -> None:
    """Scale words were ignored: "$3.2 billion [1]." was kept over "$3.2 million"."""
    revenue = [Evidence.of("Revenue reached $3.2 million in 2023.", "en")]
    question = "What was revenue?"
    assert answered("$3.2 billion [1].", question, ["Revenue reached $3.2 million in 2023."], "en").abstained
    assert draws_on("$3.2 million [1].", question, revenue, "en") is True
    assert draws_on("$3,200,000 [1].", question, revenue, "en") is True
    assert draws_on("3.2 [1].", question, revenue, "en") is True
    assert draws_on("45k per year [1]", "What is the salary?", [Evidence.of("Salary: 45,000.", "en")], "en")
    budget = [Evidence.of("Le budget est de 1 500 000 €.", "fr")]
    assert draws_on("1,5 M€ [1]", "Quel est le budget ?", budget, "fr") is True
    assert draws_on("1,5 Md€ [1]", "Quel est le budget ?", budget, "fr") is False
    # a table's scale said once, a scale written out
    table = [Evidence.of("Chiffre d'affaires (M€)\n2023 3,2", "fr")]
    assert draws_on("3,2 millions d'euros [1]", "Quel chiffre d'affaires ?", table, "fr") is True
    town = [Evidence.of("La ville compte deux millions d'habitants.", "fr")]
    assert draws_on("2 millions d'habitants [1]", "Combien d'habitants ?", town, "fr") is True
    assert numbers_in("5 MB, 3 km, 10 kg") == {"5", "3", "10"}


def test_a_citation_moves_only_to_a_passage_sharing_a_word_of_the_answer() -> None:
    """The cited passage held the number in a form the checks missed ("four and a half hours"):
    "4.5 hours [1]." was moved to "The cable is 4.5 metres long", that held the bare number."""
    passages = ["Charging takes four and a half hours.", "The cable is 4.5 metres long."]
    kept = answered("4.5 hours [1].", "How long does charging take?", passages, "en", reading="all")
    assert kept.answer == "4.5 hours [1]." and [citation.number for citation in kept.citations] == [1]
    evidence = [Evidence.of(passage, "en") for passage in passages]
    evidence.append(Evidence.of("A full charge takes 4.5 hours.", "en"))
    assert recited("4.5 hours [1].", "How long?", evidence, "en") == "4.5 hours [3]."  # it shares "hours"
    assert recited("4.5 [1].", "How long?", evidence[:2], "en") == "4.5 [2]."  # a bare number: moved


def test_a_tables_scale_header_is_read_in_its_usual_forms() -> None:
    """Headers "(EUR million)", "(millions d'euros)", "(€ millions)", "(£000)" were not known:
    "Revenue was EUR 48.6 million in 2024 [1]." over the table's 48.6 became the abstention."""
    row = "| Indicator | 2023 | 2024 |\n|---|---|---|\n| Revenue | 41.2 | 48.6 |"
    question = "What was revenue in 2024?"
    for header in ("Key figures (EUR million)", "Key figures (€ millions)", "Chiffres (millions d'euros)"):
        table = [Evidence.of(f"{header}\n{row}", "en")]
        assert draws_on("EUR 48.6 million in 2024 [1].", question, table, "en") is True
        assert draws_on("EUR 48.6 billion in 2024 [1].", question, table, "en") is False
    accounts = [Evidence.of("Income statement (£000)\n| Turnover | 2,350 | 2,100 |", "en")]
    assert draws_on("£2.35 million [1].", "What was turnover?", accounts, "en") is True
    kept = [Evidence.of("Charges (€'000)\n| Rent | 7,020 |", "en")]
    assert draws_on("€7.02 million [1].", "What was rent?", kept, "en") is True


def test_a_rows_numbers_of_several_groups_are_read_apart() -> None:
    """ "Chiffre d'affaires 141 200 148 600" (k€) was read as columns 141, 200, 148, 600 or as
    one 141200148600: the right "148 600 [1]" was refused."""
    table = [Evidence.of("Résultats (en milliers d'euros)\nChiffre d'affaires 141 200 148 600", "fr")]
    question = "Quel est le chiffre d'affaires 2024 ?"
    assert draws_on("148 600 [1]", question, table, "fr") is True
    assert draws_on("200 148 [1]", question, table, "fr") is False
    assert numbers_in("141 200 148 600", both_ways=True) == {
        "141200148600", "141", "200", "148", "600", "141200", "148600"
    }  # fmt: skip
    assert numbers_in("1 250 000 000", both_ways=True) == {"1250000000"}  # no "000 000" number


def test_an_amount_that_drops_its_passages_scale_is_refused() -> None:
    """ "850 € [1]." was kept over "850 k€", "7 020 €" over a table "(en milliers d'euros)":
    1000 times less than the documents say. A bare "850" or the same scale still holds."""
    budget = [Evidence.of("Le budget d'investissement est fixé à 850 k€ ; 12,8 M€ de charges.", "fr")]
    question = "Quel est le budget ?"
    assert draws_on("850 € [1].", question, budget, "fr") is False
    assert draws_on("12,8 k€ [1].", question, budget, "fr") is False
    assert draws_on("850 [1].", question, budget, "fr") is True
    assert draws_on("850 k€ [1].", question, budget, "fr") is True
    assert draws_on("850 000 € [1].", question, budget, "fr") is True
    table = [Evidence.of("Charges (en milliers d'euros)\nLoyers 7 020\nCaution : 900 €", "fr")]
    assert draws_on("7 020 € [1].", "Quels loyers ?", table, "fr") is False
    assert draws_on("7 020 k€ [1].", "Quels loyers ?", table, "fr") is True
    assert draws_on("900 € [1].", "Quelle caution ?", table, "fr") is True  # its own currency
    bare = [Evidence.of("Charges\n2023 612 540", "fr")]  # a table whose scale the passage lost
    assert draws_on("612 k€ [1]", "Quelles charges en 2023 ?", bare, "fr") is True
