"""Any OpenAI-compatible chat server (llama.cpp, vLLM, Ollama, LM Studio, OpenAI...) over SSE.

Servers differ in what they accept, so the generator adapts instead of failing: a server
that rejects ``logprobs`` is asked again without them (and never again with them), one that
rejects ``response_format: json_schema`` gets llama-cpp-python's ``json_object`` + schema
dialect, and usage is counted locally when the server does not report it.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from typing import Any

import httpx

from petitrag.errors import ConfigError, GenerationError, ModelNotFoundError, hidden
from petitrag.generation.base import (
    GenerationParams,
    Generator,
    Message,
    Token,
    Usage,
    entropy_of,
    interruption_point,
    watched,
)
from petitrag.generation.grammar_schema import without_unenforced
from petitrag.urls import checked_base_url

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
        self.base_url = checked_base_url(base_url, "model_base_url", ConfigError)
        self.name = model
        self.context_size = context_size
        self.retries = retries
        self.backoff_s = backoff_s
        self.timeout = timeout
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._key = api_key or ""
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)), headers=headers, transport=transport
        )
        self.logprobs_supported = True  # until the server says otherwise
        self.schema_dialect = "json_schema"  # or "json_object" (llama-cpp-python's server)
        self.stream_options_supported = True  # stream_options.include_usage: usage from the server
        self.max_tokens_field = "max_tokens"  # OpenAI's reasoning models: "max_completion_tokens"
        self._probing_logprobs = False

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def stream(self, messages: list[Message], params: GenerationParams) -> Iterator[Token]:
        # this call's own usage: a reading given up in the server (``watched``) may end later,
        # and must not count as the next request's
        self.usage = usage = Usage()
        try:
            yield from watched(self._requests(messages, params, usage))
        except GenerationError as exc:  # every message quoting the server: never with our key
            if self._key and self._key in str(exc):
                raise type(exc)(hidden(str(exc), self._key)) from None
            raise

    def _requests(self, messages: list[Message], params: GenerationParams, usage: Usage) -> Iterator[Token]:
        """The request, sent again after adapting it to the server or after a retryable failure."""
        self._probing_logprobs = False
        attempt = 0
        while True:
            interruption_point()  # a request given up is not sent again
            body = self._body(messages, params)
            try:
                yield from self._stream_once(body, messages, usage)
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
            self.max_tokens_field: params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed,
        }
        if self.stream_options_supported:
            body["stream_options"] = {"include_usage": True}
        if params.stop:
            body["stop"] = params.stop[:4]  # the OpenAI API allows at most 4
        if params.logprobs and self.logprobs_supported:
            body["logprobs"] = True
            if params.top_logprobs > 0:
                body["top_logprobs"] = min(params.top_logprobs, 20)
        if params.json_schema is not None:
            # the bounds a grammar cannot enforce are left to the caller's validation: petitrag's
            # own server refuses a schema with them (extraction with "minimum" failed on a 400)
            sent = without_unenforced(params.json_schema)
            if self.schema_dialect == "json_schema":
                schema = {"name": "extract", "schema": sent}
                body["response_format"] = {"type": "json_schema", "json_schema": schema}
            else:
                body["response_format"] = {"type": "json_object", "schema": sent}
        return body

    def _stream_once(self, body: dict[str, Any], messages: list[Message], usage: Usage) -> Iterator[Token]:
        """One request. Raises _Retry only while nothing has been yielded yet."""
        streamed = False
        try:
            with self._client.stream("POST", self.url, json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    self._on_http_error(response, body)
                self._refuse_redirect(response)
                kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if kind == "application/json":  # a server that ignores "stream": one whole completion
                    yield from self._whole_completion(response, messages, usage)
                    return
                if kind == "text/html":
                    raise GenerationError(
                        f"model server at {self.base_url} answered with a web page, not a chat stream: "
                        "is the base URL that of an OpenAI-compatible API (usually ending in /v1)?"
                    )
                for token in self._read_events(response, messages, usage):
                    streamed = True
                    yield token
        except httpx.ConnectError as exc:
            raise _Retry(f"cannot reach model server at {self.base_url}: {_reason(exc)}") from None
        except httpx.ConnectTimeout:
            raise _Retry(f"cannot reach model server at {self.base_url}: connection timed out") from None
        except httpx.TimeoutException:
            what = "stopped answering mid-answer" if streamed else f"gave no answer within {self.timeout:g} s"
            raise GenerationError(f"model server at {self.base_url} {what}") from None
        except httpx.LocalProtocolError as exc:  # the request itself cannot be sent: retrying will not help
            raise GenerationError(f"cannot send the request to {self.base_url}: {_reason(exc)}") from None
        except httpx.TransportError as exc:
            if streamed:
                raise GenerationError(
                    f"connection to {self.base_url} lost mid-answer: {_reason(exc)}"
                ) from None
            raise _Retry(f"cannot reach model server at {self.base_url}: {_reason(exc)}") from None

    def _on_http_error(self, response: httpx.Response, body: dict[str, Any]) -> None:
        """Raise _Resend after adapting the request to the server, or the right error."""
        status, full = response.status_code, _server_message(response)  # the key: hidden by stream()
        lowered, message = full.lower(), _shorten(full)
        schema_rejected = "response_format" in lowered or "json_schema" in lowered
        if schema_rejected and "response_format" in body and self.schema_dialect == "json_schema":
            self.schema_dialect = "json_object"  # llama-cpp-python's server: json_object + schema
            raise _Resend
        if status in (400, 422) and "stream_options" in lowered and "stream_options" in body:
            self.stream_options_supported = False  # usage is then counted locally
            raise _Resend
        if (
            status in (400, 422)
            and "max_completion_tokens" in lowered
            and self.max_tokens_field == "max_tokens"
        ):
            self.max_tokens_field = "max_completion_tokens"
            raise _Resend
        if status in (400, 422) and "logprobs" in body and self.logprobs_supported:
            self.logprobs_supported = False  # kept only if the request then succeeds
            self._probing_logprobs = True
            raise _Resend
        if self._probing_logprobs:  # logprobs were not the problem
            self.logprobs_supported, self._probing_logprobs = True, False
        if status == 404 and "model" in lowered:
            raise ModelNotFoundError(f"model {self.name!r} is not served at {self.base_url}: {message}")
        if status == 404 and ((len(full) < 60 and "not found" in lowered) or "<html" in lowered):
            raise GenerationError(
                f"{self.url} not found (404): is the base URL right? It usually ends in /v1"
            )
        if status == 404:  # the server's own reason ("collection 'default' does not exist…")
            raise GenerationError(f"model server at {self.base_url} answered 404: {message}")
        if status in (401, 403) and not self._key:
            raise GenerationError(
                f"model server at {self.base_url} needs an API key ({status}): set model_api_key "
                f"(env PETITRAG_MODEL_API_KEY or config.toml); it said: {message}"
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

    def _refuse_redirect(self, response: httpx.Response) -> None:
        """httpx does not follow redirects: the 301 body was read as an empty stream."""
        if response.is_redirect:
            where = response.headers.get("location", "?")
            raise GenerationError(
                f"model server at {self.base_url} redirects to {where} ({response.status_code}): "
                "use that address as the base URL"
            )

    def _whole_completion(
        self, response: httpx.Response, messages: list[Message], usage: Usage
    ) -> Iterator[Token]:
        """A non-streamed ``chat.completion`` (a server that ignores ``stream``) as one token."""
        response.read()
        try:
            data = response.json()
            if isinstance(data, dict) and "error" in data:
                raise GenerationError(
                    f"model server at {self.base_url} failed: {_shorten(_error_text(data))}"
                )
            choice = data["choices"][0]
            text = choice["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError):
            raise GenerationError(
                f"model server at {self.base_url} answered with JSON that is not a chat completion: "
                f"{_shorten(response.text, 200)}"
            ) from None
        counts = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        usage.prompt_tokens = _count(counts.get("prompt_tokens")) or self._prompt_estimate(messages)
        usage.completion_tokens = _count(counts.get("completion_tokens")) or self.count_tokens(text)
        usage.finish_reason = choice.get("finish_reason") or "stop"
        self._check_answered(bool(text), usage.finish_reason)
        if text:
            yield Token(text)

    def _read_events(
        self, response: httpx.Response, messages: list[Message], usage: Usage
    ) -> Iterator[Token]:
        """Parse the SSE stream: ``data: {json}`` lines until ``data: [DONE]``.

        httpx's timeout is per read, so a server that sends keep-alive comments and no tokens
        would be waited for forever: ``timeout`` also bounds the wait for each next token."""
        sent, counted, events, ended = Usage(), 0, 0, False  # this attempt's: a retried one starts afresh
        deadline = time.monotonic() + self.timeout
        for line in response.iter_lines():
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout("no token within the timeout")
            if not line.startswith("data:"):
                continue
            payload = line[5:].strip()
            if payload == "[DONE]":
                ended = True
                break
            event = self._event(payload)
            events += 1
            if event.get("usage"):
                _read_usage(event["usage"], sent)
            for choice in event.get("choices") or []:
                if not isinstance(choice, dict):
                    continue
                sent.finish_reason = choice.get("finish_reason") or sent.finish_reason
                tokens, count = _tokens_of(choice)
                counted += count
                if tokens:
                    deadline = time.monotonic() + self.timeout
                yield from tokens
        self._check_end(events, ended or bool(sent.finish_reason), counted, sent.finish_reason)
        # servers that ignore stream_options: count locally (prompt: the 4-chars estimate)
        usage.prompt_tokens = sent.prompt_tokens or self._prompt_estimate(messages)
        usage.completion_tokens = sent.completion_tokens or counted
        usage.finish_reason, usage.cached_tokens = sent.finish_reason, sent.cached_tokens

    def _event(self, payload: str) -> dict[str, Any]:
        """One ``data:`` payload as a chunk, or the error it reports."""
        try:
            event = json.loads(payload)
        except ValueError:
            raise GenerationError(
                f"model server at {self.base_url} sent invalid JSON: {payload[:200]}"
            ) from None
        if not isinstance(event, dict):
            raise GenerationError(
                f"model server at {self.base_url} sent an unexpected event: {payload[:200]}"
            )
        if "error" in event:
            raise GenerationError(
                f"model server at {self.base_url} failed mid-answer: {_shorten(_error_text(event))}"
            )
        return event

    def _check_end(self, events: int, ended: bool, counted: int, finish_reason: str | None) -> None:
        """A stream must say it is over: without ``[DONE]`` or a finish reason, the connection
        was closed mid-answer, and a cut answer must not pass for a whole one."""
        if not events:
            raise GenerationError(
                f"model server at {self.base_url} sent no chat stream: is it OpenAI-compatible "
                "(a base URL usually ending in /v1)?"
            )
        if not ended:
            raise GenerationError(f"connection to {self.base_url} ended mid-answer")
        if finish_reason == "tool_calls" and not counted:
            raise GenerationError(
                f"model {self.name!r} at {self.base_url} called a tool instead of answering"
            )
        self._check_answered(bool(counted), finish_reason)

    def _check_answered(self, answered: bool, finish_reason: str | None) -> None:
        """Nothing said before the token limit is no answer (it was shown as an abstention): a
        reasoning model (vLLM, Ollama) spends its tokens on ``reasoning_content`` first."""
        if finish_reason == "length" and not answered:
            raise GenerationError(
                f"model {self.name!r} at {self.base_url} reached its token limit without a word of "
                "answer (a reasoning model thinking first?): raise max_tokens"
            )

    def _prompt_estimate(self, messages: list[Message]) -> int:
        return sum(self.count_tokens(message.get("content", "")) for message in messages)

    def close(self) -> None:
        self._client.close()


def _tokens_of(choice: dict[str, Any]) -> tuple[list[Token], int]:
    """One chunk's text as Tokens (with logprobs when sent), and how many model tokens it holds."""
    delta = choice.get("delta")
    text = delta.get("content") if isinstance(delta, dict) else None
    text = text if isinstance(text, str) else ""
    logprobs = choice.get("logprobs")
    entries = logprobs.get("content") if isinstance(logprobs, dict) else None
    entries = entries if isinstance(entries, list) else []
    if not text:
        return [], 0
    # logprobs in another shape (a null or string logprob, a non-object entry) are no logprobs:
    # read as certain, a made-up confidence of 1.0; read as objects, a traceback
    if not entries or not all(
        isinstance(entry, dict) and _is_number(entry.get("logprob")) for entry in entries
    ):
        return [Token(text)], max(1, len(entries))
    pieces = [entry.get("token") if isinstance(entry.get("token"), str) else "" for entry in entries]
    if len(entries) > 1 and "".join(pieces) == text:
        return [_token(piece, [entry]) for piece, entry in zip(pieces, entries, strict=True)], len(entries)
    return [_token(text, entries)], len(entries)


def _token(text: str, entries: list[dict[str, Any]]) -> Token:
    logprob = sum(_number(entry.get("logprob")) for entry in entries)
    alternatives = [_top_logprobs(entry.get("top_logprobs")) for entry in entries]
    entropy = max((entropy_of(top) for top in alternatives if top), default=None)
    return Token(text, min(logprob, 0.0), entropy)


def _top_logprobs(top: Any) -> list[float]:
    """The alternatives' log-probabilities: a list of {token, logprob} (chat completions) or
    a {token: logprob} object (legacy completions); anything else gives none."""
    if isinstance(top, dict):
        values = list(top.values())
    elif isinstance(top, list):
        values = [item.get("logprob") for item in top if isinstance(item, dict)]
    else:
        values = []
    return [float(value) for value in values if _is_number(value)]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _number(value: Any) -> float:
    """A log-probability as sent; a null or odd one counts as certain (0)."""
    return float(value) if _is_number(value) else 0.0


def _count(value: Any) -> int:
    """A token count from a usage object; servers send null, strings, floats."""
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def _read_usage(data: Any, usage: Usage) -> None:
    if not isinstance(data, dict):
        return
    usage.prompt_tokens = _count(data.get("prompt_tokens"))
    usage.completion_tokens = _count(data.get("completion_tokens"))
    details = data.get("prompt_tokens_details")  # OpenAI, vLLM
    usage.cached_tokens = _count(details.get("cached_tokens")) if isinstance(details, dict) else 0


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
