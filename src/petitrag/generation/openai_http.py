"""Any OpenAI-compatible chat server (llama.cpp, vLLM, Ollama, LM Studio, OpenAI...) over SSE.

Servers differ in what they accept, so the generator adapts instead of failing: a server
that rejects ``logprobs`` is asked again without them (and never again with them), one that
rejects ``response_format: json_schema`` gets llama-cpp-python's ``json_object`` + schema
dialect, and usage is counted locally when the server does not report it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx

from petitrag.errors import GenerationError, ModelNotFoundError
from petitrag.generation.base import GenerationParams, Generator, Message, Token, Usage, entropy_of

RETRYABLE_STATUS = {429, 500, 502, 503, 504}


class _Retry(Exception):
    """Internal: the request failed before any token and may be sent again after a pause."""

    def __init__(self, reason: str, delay: float = 0.0) -> None:
        super().__init__(reason)
        self.delay = delay


class _Resend(Exception):
    """Internal: the request was adapted to what the server accepts; send it again now."""


class OpenAIChatGenerator(Generator):
    """Streams ``POST {base_url}/chat/completions``; ``base_url`` usually ends with ``/v1``."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 120.0,
        retries: int = 2,
        *,
        context_size: int = 4096,
        backoff_s: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.name = model
        self.context_size = context_size
        self.retries = retries
        self.backoff_s = backoff_s
        self.timeout = timeout
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)), headers=headers, transport=transport
        )
        self.logprobs_supported = True  # until the server says otherwise
        self.schema_dialect = "json_schema"  # or "json_object" (llama-cpp-python's server)
        self._probing_logprobs = False

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def stream(self, messages: list[Message], params: GenerationParams) -> Iterator[Token]:
        self.usage = Usage()
        self._probing_logprobs = False
        attempt = 0
        while True:
            body = self._body(messages, params)
            try:
                yield from self._stream_once(body, messages)
                return
            except _Resend:
                continue
            except _Retry as retry:
                if attempt >= self.retries:
                    raise GenerationError(str(retry)) from None
                attempt += 1
                time.sleep(max(retry.delay, self.backoff_s * 2 ** (attempt - 1)))

    def _body(self, messages: list[Message], params: GenerationParams) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.name,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed,
        }
        if params.stop:
            body["stop"] = params.stop[:4]  # the OpenAI API allows at most 4
        if params.logprobs and self.logprobs_supported:
            body["logprobs"] = True
            if params.top_logprobs > 0:
                body["top_logprobs"] = min(params.top_logprobs, 20)
        if params.json_schema is not None:
            if self.schema_dialect == "json_schema":
                schema = {"name": "extract", "schema": params.json_schema}
                body["response_format"] = {"type": "json_schema", "json_schema": schema}
            else:
                body["response_format"] = {"type": "json_object", "schema": params.json_schema}
        return body

    def _stream_once(self, body: dict[str, Any], messages: list[Message]) -> Iterator[Token]:
        """One request. Raises _Retry only while nothing has been yielded yet."""
        streamed = False
        try:
            with self._client.stream("POST", self.url, json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    self._on_http_error(response, body)
                for token in self._read_events(response, messages):
                    streamed = True
                    yield token
        except httpx.ConnectError as exc:
            raise _Retry(f"cannot reach model server at {self.base_url}: {_reason(exc)}") from None
        except httpx.ConnectTimeout:
            raise _Retry(f"cannot reach model server at {self.base_url}: connection timed out") from None
        except httpx.TimeoutException:
            what = "stopped answering mid-answer" if streamed else f"gave no answer within {self.timeout:g} s"
            raise GenerationError(f"model server at {self.base_url} {what}") from None
        except httpx.TransportError as exc:
            if streamed:
                raise GenerationError(
                    f"connection to {self.base_url} lost mid-answer: {_reason(exc)}"
                ) from None
            raise _Retry(f"cannot reach model server at {self.base_url}: {_reason(exc)}") from None

    def _on_http_error(self, response: httpx.Response, body: dict[str, Any]) -> None:
        """Raise _Resend after adapting the request to the server, or the right error."""
        status, full = response.status_code, _server_message(response)
        lowered, message = full.lower(), _shorten(full)
        schema_rejected = "response_format" in lowered or "json_schema" in lowered
        if schema_rejected and "response_format" in body and self.schema_dialect == "json_schema":
            self.schema_dialect = "json_object"  # llama-cpp-python's server: json_object + schema
            raise _Resend
        if status in (400, 422) and "logprobs" in body and self.logprobs_supported:
            self.logprobs_supported = False  # kept only if the request then succeeds
            self._probing_logprobs = True
            raise _Resend
        if self._probing_logprobs:  # logprobs were not the problem
            self.logprobs_supported, self._probing_logprobs = True, False
        if status == 404 and "model" in lowered:
            raise ModelNotFoundError(f"model {self.name!r} is not served at {self.base_url}: {message}")
        if status == 404:
            raise GenerationError(
                f"{self.url} not found (404): is the base URL right? It usually ends in /v1"
            )
        if status in (401, 403):
            raise GenerationError(
                f"model server at {self.base_url} refused the API key ({status}): {message}"
            )
        if status in RETRYABLE_STATUS:
            raise _Retry(
                f"model server at {self.base_url} failed ({status}): {message}", _retry_after(response)
            )
        raise GenerationError(f"model server at {self.base_url} rejected the request ({status}): {message}")

    def _read_events(self, response: httpx.Response, messages: list[Message]) -> Iterator[Token]:
        """Parse the SSE stream: ``data: {json}`` lines until ``data: [DONE]``."""
        usage, counted = Usage(), 0
        for line in response.iter_lines():
            if not line.startswith("data:"):
                continue
            payload = line[5:].strip()
            if payload == "[DONE]":
                break
            try:
                event = json.loads(payload)
            except ValueError:
                raise GenerationError(
                    f"model server at {self.base_url} sent invalid JSON: {payload[:200]}"
                ) from None
            if "error" in event:
                raise GenerationError(
                    f"model server at {self.base_url} failed mid-answer: {_shorten(_error_text(event))}"
                )
            if event.get("usage"):
                usage.prompt_tokens = int(event["usage"].get("prompt_tokens") or 0)
                usage.completion_tokens = int(event["usage"].get("completion_tokens") or 0)
                details = event["usage"].get("prompt_tokens_details") or {}  # OpenAI, vLLM
                usage.cached_tokens = int(details.get("cached_tokens") or 0)
            for choice in event.get("choices") or []:
                usage.finish_reason = choice.get("finish_reason") or usage.finish_reason
                tokens, count = _tokens_of(choice)
                counted += count
                yield from tokens
        # servers that ignore stream_options: count locally (prompt: the 4-chars estimate)
        prompt = usage.prompt_tokens or sum(
            self.count_tokens(message.get("content", "")) for message in messages
        )
        completion = usage.completion_tokens or counted
        self.usage = Usage(prompt, completion, usage.finish_reason, usage.cached_tokens)

    def close(self) -> None:
        self._client.close()


def _tokens_of(choice: dict[str, Any]) -> tuple[list[Token], int]:
    """One chunk's text as Tokens (with logprobs when sent), and how many model tokens it holds."""
    text = (choice.get("delta") or {}).get("content") or ""
    entries = ((choice.get("logprobs") or {}).get("content")) or []
    if not text:
        return [], 0
    if not entries:
        return [Token(text)], 1
    pieces = [entry.get("token", "") for entry in entries]
    if len(entries) > 1 and "".join(pieces) == text:
        return [_token(piece, [entry]) for piece, entry in zip(pieces, entries, strict=True)], len(entries)
    return [_token(text, entries)], len(entries)


def _token(text: str, entries: list[dict[str, Any]]) -> Token:
    logprob = sum(float(entry.get("logprob", 0.0)) for entry in entries)
    alternatives = [
        [float(top["logprob"]) for top in entry.get("top_logprobs") or [] if "logprob" in top]
        for entry in entries
    ]
    entropy = max((entropy_of(top) for top in alternatives if top), default=None)
    return Token(text, min(logprob, 0.0), entropy)


def _server_message(response: httpx.Response) -> str:
    try:
        return _error_text(response.json())
    except ValueError:
        return response.text or response.reason_phrase


def _error_text(data: Any) -> str:
    """The human message in the various error shapes servers use."""
    error = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(error, dict):
        error = error.get("message") or error.get("detail") or json.dumps(error)
    return str(error)


def _shorten(text: str, limit: int = 300) -> str:
    """One line for the user: whitespace collapsed, at most ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(float(response.headers.get("retry-after", 0)), 30.0)
    except ValueError:
        return 0.0


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__
