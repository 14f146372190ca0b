"""Merging the answers of a document read in parts, a summary's repeated lines, and a schema
sent to a model server: cases a QA pass found on real documents (a lease, a service agreement).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from petitrag.answer.bullets import drop_repeats
from petitrag.answer.extract import merge_found
from petitrag.config import load_settings
from petitrag.generation import catalog
from petitrag.generation.base import GenerationParams
from petitrag.generation.grammar_schema import unenforced, without_unenforced

MODEL = "smollm2-135m"


# -- a yes/no from the part about it ----------------------------------------------------------


def test_a_yes_no_comes_from_the_part_naming_what_it_is_about() -> None:
    """``pets_allowed`` was taken from the house rules ("Subletting is not allowed"): any of the
    key's words was enough, "allowed" too; the part about animals said yes."""
    rules = "3. House rules\nSmoking is not allowed anywhere. Subletting is not allowed without consent."
    rent = "2. Term and rent\nMonthly rent is USD 1,650."
    animals = "5. Pets\nCats and small dogs under 20 kg are welcome, with a one-time fee of USD 300."
    parts = [
        ({"pets_allowed": False, "smoking_allowed": False}, rent),
        ({"pets_allowed": False, "smoking_allowed": False}, rules),
        ({"pets_allowed": True, "smoking_allowed": True}, animals),
    ]
    assert merge_found(parts) == {"pets_allowed": True, "smoking_allowed": False}
    # no part names pets ("Animals", "cats"): "allowed" alone does not make the rules the source
    unnamed = [({"pets_allowed": True}, rent), ({"pets_allowed": False}, rules)]
    assert merge_found(unnamed) == {"pets_allowed": True}  # the first given, as for any value
    french = [
        ({"animaux_autorises": False, "sous_location_autorisee": False},
         "Article 6 — Obligations du locataire. La sous-location n'est pas autorisée."),
        ({"animaux_autorises": True, "sous_location_autorisee": True},
         "Article 8 — Animaux. Les animaux domestiques sont acceptés."),
    ]  # fmt: skip
    assert merge_found(french) == {"animaux_autorises": True, "sous_location_autorisee": False}
    # a word every part names tells nothing: the part that also names the rarer one wins
    everywhere = [
        ({"pets_allowed": False}, "Pets: see the rules. Rent is 900."),
        ({"pets_allowed": True}, "Pets: cats are welcome in the flat."),
    ]
    assert merge_found(everywhere, {"properties": {"pets_allowed": {"description": "cats welcome"}}}) == {
        "pets_allowed": True
    }


def test_the_key_s_words_weigh_more_than_its_description_s() -> None:
    """``pets_allowed`` described "Are pets allowed in the apartment?" came from the part about
    the apartment's rooms: its "apartment" weighed as much as the other part's "pets"."""
    schema = {
        "properties": {
            "pets_allowed": {"type": "boolean", "description": "Are pets allowed in the apartment?"}
        }
    }
    parts = [
        ({"pets_allowed": False}, "The apartment has two bedrooms and a balcony."),
        ({"pets_allowed": True}, "Pets: cats and small dogs are welcome."),
    ]
    assert merge_found(parts, schema) == {"pets_allowed": True}
    furnished = {"properties": {"furnished": {"type": "boolean", "description": "Is the flat furnished?"}}}
    flat = [
        ({"furnished": False}, "The flat is on the third floor, with a lift."),
        ({"furnished": True}, "Furniture: the lease comes furnished with beds and a sofa."),
    ]
    assert merge_found(flat, furnished) == {"furnished": True}


def test_a_number_comes_from_the_part_stating_it_in_words_not_from_a_time() -> None:
    """``notice_months`` 22 came from "Quiet hours start at 22:00" over "three months of notice":
    the hour was read as a count, the spelled number not at all."""
    parts = [
        ({"notice_months": 22}, "Quiet hours start at 22:00 and end at 07:00."),
        ({"notice_months": 3}, "Either party may end this agreement with three months of written notice."),
    ]
    assert merge_found(parts) == {"notice_months": 3}
    french = [
        ({"preavis_mois": 22}, "Le silence est de rigueur à partir de 22h30."),
        ({"preavis_mois": 3}, "Le locataire donne congé avec un préavis de trois mois."),
    ]
    assert merge_found(french) == {"preavis_mois": 3}


def test_placeholders_are_no_values() -> None:
    """A model wrote "not specified", "N/A", "inconnu" where a part had no value: the fee stayed
    "not specified" beside the part giving it, and "N/A" was a name in the list."""
    schema = {"properties": {"fee": {"type": ["number", "null"]}}}
    fees = [({"fee": "not specified"}, "Rent is due monthly."), ({"fee": 1250}, "The fee is 1,250 dollars.")]
    assert merge_found(fees, schema) == {"fee": 1250}
    names = [
        ({"names": ["Alpha", "Beta"]}, "Alpha Beta"),
        ({"names": ["alpha", "N/A", "Gamma", "-"]}, "alpha Gamma"),
    ]
    assert merge_found(names) == {"names": ["Alpha", "Beta", "Gamma"]}
    sites = [
        (
            {"sites": [{"name": "non précisé", "city": "inconnu"}, {"name": "Alta", "city": "Boulder"}]},
            "Alta, Boulder.",
        )
    ]
    assert merge_found(sites) == {"sites": [{"name": "Alta", "city": "Boulder"}]}


# -- lists of objects --------------------------------------------------------------------------

SERVICE_SCHEMA = {
    "type": "object",
    "properties": {
        "sites": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "city": {"type": "string"},
                    "monthly_fee_usd": {"type": ["number", "null"]},
                },
            },
        }
    },
}
SITES_TEXT = (
    "2. Services\nMaintenance at the following sites:\nAlta store, 15 Pine Avenue, Boulder\n"
    "Alta store, 230 Main Street, Fort Collins\nAlta warehouse, 7 Industrial Way, Aurora"
)
FEES_TEXT = (
    "3. Fees\n| Site | Monthly fee (USD) |\n| Boulder | 1,250 |\n| Fort Collins | 980 |\n| Aurora | 2,400 |"
)
LIABILITY_TEXT = "5. Liability\nThe Provider's liability is capped at USD 50,000 per incident."


def site(name: str, city: str, fee: float | None) -> dict[str, Any]:
    return {"name": name, "city": city, "monthly_fee_usd": fee}


def test_a_list_s_objects_are_checked_against_their_part_and_merged_when_the_same() -> None:
    """7 sites for 3: each site once from the list of sites (no fee) and once from the table of
    fees (its city as its name), and {"name": "null", "city": "null"} from the liability part."""
    parts = [
        ({"sites": [site("Alta store", "Boulder", None), site("Alta store", "Fort Collins", None),
                    site("Alta warehouse", "Aurora", None)]}, SITES_TEXT),
        ({"sites": [site("Boulder", "Boulder", 1250), site("Fort Collins", "Fort Collins", 980),
                    site("Aurora", "Aurora", 2400)]}, FEES_TEXT),
        ({"sites": [site("null", "null", None), site("N/A", "", None)]}, LIABILITY_TEXT),
    ]  # fmt: skip
    assert merge_found(parts, SERVICE_SCHEMA) == {
        "sites": [
            site("Alta store", "Boulder", 1250),
            site("Alta store", "Fort Collins", 980),
            site("Alta warehouse", "Aurora", 2400),
        ]
    }
    # an invented site (written nowhere in its part) goes; one its part states stays
    invented = [
        ({"sites": [site("Alta store", "Boulder", None)]}, SITES_TEXT),
        ({"sites": [site("Main office", "Denver", 500)]}, LIABILITY_TEXT),
    ]
    assert merge_found(invented, SERVICE_SCHEMA) == {"sites": [site("Alta store", "Boulder", None)]}


def test_different_entities_are_never_merged() -> None:
    """Two sites of one name in two cities, a fee that differs, a name that could be either of
    two sites, and sites named by their city in both parts stay apart."""
    unplaced = {"name": "Alta store", "city": None, "monthly_fee_usd": 980}
    parts = [
        ({"sites": [site("Alta store", "Boulder", None), site("Alta store", "Fort Collins", None)]},
         SITES_TEXT),
        ({"sites": [site("Alta store", "Boulder", 980), unplaced]}, f"{FEES_TEXT} Alta store"),
    ]  # fmt: skip
    merged = merge_found(parts, SERVICE_SCHEMA)["sites"]
    assert merged == [
        site("Alta store", "Boulder", 980),  # the same site: its fee filled in
        site("Alta store", "Fort Collins", None),
        unplaced,  # Boulder or Fort Collins?
    ]
    cities = [
        ({"sites": [site("Boulder", "Boulder", 1250)]}, FEES_TEXT),
        ({"sites": [site("Aurora", "Aurora", 1250), site("Boulder", "Boulder", 980)]}, FEES_TEXT),
    ]
    assert merge_found(cities, SERVICE_SCHEMA)["sites"] == [
        site("Boulder", "Boulder", 1250),
        site("Aurora", "Aurora", 1250),  # the same fee, another city
        site("Boulder", "Boulder", 980),  # the same city, another fee
    ]
    # two people of one family: neither name holds the other's
    people = [({"people": [{"name": "Marie Dupont", "role": "tenant"}]}, "Marie Dupont, tenant."),
              ({"people": [{"name": "Jean Dupont", "role": "tenant"}]}, "Jean Dupont, tenant.")]  # fmt: skip
    assert len(merge_found(people)["people"]) == 2
    short = [({"people": [{"name": "Marie Dupont", "role": None}]}, "Marie Dupont signs."),
             ({"people": [{"name": "Dupont", "role": "tenant"}]}, "Mme Dupont, tenant.")]  # fmt: skip
    assert merge_found(short) == {"people": [{"name": "Marie Dupont", "role": "tenant"}]}
    # a first name is not one of the longer names
    jean = {"name": "Jean", "role": "tenant"}
    jean_pierre = {"name": "Jean-Pierre Martin", "role": "tenant"}
    tenants = [
        ({"people": [jean]}, "Jean, tenant."),
        ({"people": [jean_pierre]}, "Jean-Pierre Martin, tenant."),
    ]
    assert merge_found(tenants) == {"people": [jean, jean_pierre]}


# -- a summary's repeated lines ----------------------------------------------------------------


def test_a_summary_drops_repeats_that_differ_in_small_details() -> None:
    """A repeat kept for a leading quote, another section's marker, or being cut short."""
    quoted = '"Le loyer est fixé à 890 euros.\nLe loyer est fixé à 890 euros.'
    assert drop_repeats(quoted) == '"Le loyer est fixé à 890 euros.'
    sections = (
        "- Le loyer est révisé chaque année (Article 2).\n\n- Le loyer est révisé chaque année (Article 3)."
    )
    assert (
        drop_repeats(sections, {"(Article 2)", "(Article 3)"})
        == "- Le loyer est révisé chaque année (Article 2)."
    )
    titled = "- Rent is due monthly (2. Term and rent).\n- Rent is due monthly (p. 4)."
    assert drop_repeats(titled, {"(2. Term and rent)"}) == "- Rent is due monthly (2. Term and rent)."
    long = "- Le loyer sera révisé chaque année à la date anniversaire du contrat (Article 3 — Loyer)."
    assert drop_repeats(f"{long}\n- Le loyer sera révisé chaque année à la date anniv") == long
    # a short line that starts a longer one says something of its own: a heading, a brief point
    assert drop_repeats("- Rent is due monthly.\n- Rent") == "- Rent is due monthly.\n- Rent"
    seven = "- The tenant pays the rent every month.\n- The tenant pays the rent every"
    assert drop_repeats(seven) == seven  # 7 words: too short to be taken for a cut repeat
    assert drop_repeats("- Rent is 900.\n- Rent is 950.") == "- Rent is 900.\n- Rent is 950."


# -- a schema sent to an OpenAI-compatible server ---------------------------------------------

BOUNDED = {
    "type": "object",
    "properties": {
        "rooms": {"type": "integer", "minimum": 1, "maximum": 9},
        "email": {"type": "string", "format": "email"},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
    },
    "required": ["rooms"],
    "not": {"required": ["email"]},
}


def test_the_schema_sent_keeps_only_what_a_grammar_enforces() -> None:
    assert without_unenforced(BOUNDED) == {
        "type": "object",
        "properties": {
            "rooms": {"type": "integer"},
            "email": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["rooms"],
    }
    assert unenforced(without_unenforced(BOUNDED)) == []
    assert BOUNDED["properties"]["rooms"]["minimum"] == 1  # the caller's schema is left whole


@pytest.fixture(scope="module")
def petitrag_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """petitrag's own server, in this process (Starlette's TestClient), and its API key."""
    if catalog.installed_member(catalog.CATALOG[MODEL].parts[0].member) is None:
        pytest.skip(f"{MODEL} is not installed")
    from starlette.testclient import TestClient

    from petitrag.server.app import create_app

    key = "merge-test-key"
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("PETITRAG_")]:
            patch.delenv(name)
        settings = load_settings(home=tmp_path_factory.mktemp("serve-home"), model=MODEL, threads=1)
        settings = settings.model_copy(update={"serve_api_keys": {key: ["*"]}})
        with TestClient(create_app(settings)) as client:
            yield client, key


def test_a_schema_with_bounds_is_answered_by_petitrag_s_own_server(petitrag_server: Any) -> None:
    """`extract --model-base-url` at a petitrag server: "rejected the request (400): the JSON
    schema has keywords constrained generation cannot enforce: minimum at …"."""
    from petitrag.generation.openai_http import OpenAIChatGenerator

    client, key = petitrag_server

    def forward(request: httpx.Request) -> httpx.Response:  # the SSE stream arrives whole
        answer = client.request(
            request.method, request.url.path, content=request.content, headers=request.headers
        )
        return httpx.Response(answer.status_code, headers={"content-type": answer.headers["content-type"]},
                              content=answer.content)  # fmt: skip

    transport = httpx.MockTransport(forward)
    generator = OpenAIChatGenerator(
        "http://testserver/v1", MODEL, api_key=key, transport=transport, retries=0
    )
    ask = [{"role": "user", "content": "The flat has 3 rooms. Give them as JSON."}]
    params = GenerationParams(max_tokens=24, temperature=0.0, json_schema=BOUNDED, seed=1)
    answer = json.loads(generator.complete(ask, params).text)  # type: ignore[arg-type]
    assert isinstance(answer["rooms"], int)
