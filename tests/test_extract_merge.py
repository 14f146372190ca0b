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
from petitrag.config import load_settings
from petitrag.generation import catalog
from petitrag.generation.base import GenerationParams
from petitrag.generation.grammar_schema import unenforced, without_unenforced

MODEL = "smollm2-135m"


# -- a summary's repeated lines ----------------------------------------------------------------


def test_a_summary_drops_repeats_that_differ_in_small_details() -> None:
    """A repeat kept for a leading quote, another section's marker, or being cut short."""
    quoted = '"Le loyer est fixé à 890 euros.\nLe loyer est fixé à 890 euros.'
    assert drop_repeats(quoted) == '"Le loyer est fixé à 890 euros.'
    sections = (
        "- Le loyer est révisé chaque année (Article 2).\n\n- Le loyer est révisé chaque année (Article 3)."
    )
    assert drop_repeats(sections) == "- Le loyer est révisé chaque année (Article 2)."
    titled = "- Rent is due monthly (2. Term and rent).\n- Rent is due monthly (p. 4)."
    assert drop_repeats(titled) == "- Rent is due monthly (2. Term and rent)."
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
