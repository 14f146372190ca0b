"""Chat completions: OpenAI's request and response shapes around petitrag's answers.

``model: "petitrag:<collection>"`` (or ``"petitrag"``, or an extra ``collection`` field)
answers the last user message with RAG over that collection; the response carries the
answer where every OpenAI client looks for it and the citations, checks and timings in
an extra ``petitrag`` field. Any other served model name is a plain passthrough to the
answer model, without retrieval.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from petitrag.answer.conversation import Conversation
from petitrag.answer.result import AnswerResult
from petitrag.config import Settings
from petitrag.errors import GenerationError, QueryError
from petitrag.generation.base import MAX_CHARS_PER_TOKEN, Completion, GenerationParams, Generator, Message
from petitrag.server.errors import ApiError, checked_collection
from petitrag.server.worker import Ticket

RAG_PREFIX = "petitrag"
TIMING_KEYS = ("ttft_s", "total_s", "prompt_tokens", "completion_tokens", "tokens_per_s")
#: tokens a chat template adds to each message, at the fewest (ChatML's role markers are 5)
MESSAGE_TOKENS = 2
#: llama.cpp's seeds are 32 bits, and 2**32 - 1 means "a random one": larger seeds wrapped
#: (4294967296 repeated seed 0) and 4294967295 or -1 varied on every request
MAX_SEED = 2**32 - 2


def encodable(text: str) -> str:
    """``text``, if it is valid Unicode: JSON lets a string hold a lone surrogate ("\\ud800"),
    which the tokenizers (UTF-8) and the JSON of an error naming it cannot encode: a 500."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"the text holds a lone surrogate ({text[exc.start]!a}), not valid Unicode"
        ) from None
    return text


def encodable_json(value: Any) -> Any:
    """``value`` if every string in it, keys included, is valid Unicode: a JSON schema's
    property named "\ud800" was compiled into the grammar and answered with mojibake."""
    if isinstance(value, str):
        encodable(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            encodable_json(key)
            encodable_json(item)
    elif isinstance(value, list):
        for item in value:
            encodable_json(item)
    return value


#: a request string that the models and the responses can encode
Text = Annotated[str, AfterValidator(encodable)]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _encodable(self) -> ChatMessage:
        encodable(self.text())
        return self

    def text(self) -> str:
        """The message text; of multi-part content, the text parts."""
        if isinstance(self.content, list):
            return "\n".join(str(part.get("text", "")) for part in self.content if part.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    """OpenAI's chat request; fields petitrag does not use are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: Text = Field(examples=["petitrag:default"])
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: dict[str, Any] | None = Field(
        None,
        description="{'include_usage': true}: a last chunk with no choices carries the usage, as OpenAI's.",
    )
    n: int | None = Field(None, ge=1, le=1, description="One choice per request: one model, one answer.")
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2, allow_inf_nan=False)  # NaN read "≤ 2"
    top_p: float | None = Field(None, gt=0, le=1, allow_inf_nan=False)
    stop: Text | list[Text] | None = None
    seed: int | None = Field(
        None, ge=0, le=MAX_SEED, description="Without one, sampling (temperature > 0) varies per request."
    )
    logprobs: bool | None = Field(None, description="Not available: true is refused (400).")
    top_logprobs: int | None = Field(None, description="Not available: a value above 0 is refused (400).")
    response_format: Annotated[dict[str, Any], AfterValidator(encodable_json)] | None = Field(
        None, description="json_object / json_schema: the model's output is constrained to JSON (no RAG)."
    )
    tools: list[dict[str, Any]] | None = Field(
        None, description="Not available: refused unless tool_choice is 'none'."
    )
    tool_choice: str | dict[str, Any] | None = None
    collection: Text | None = Field(None, description="petitrag: answer with RAG over this collection.")
    k: int | None = Field(None, ge=1, le=50, description="petitrag: passages retrieved for RAG.")


@dataclass
class Target:
    """What a request asks for: RAG over a collection, or the bare model (collection None)."""

    collection: str | None
    model: str


def resolve_target(
    request: ChatRequest, settings: Settings, served_models: set[str], listed: set[str] | None = None
) -> Target:
    """RAG on a collection, or a served model as it is; ``listed`` are the names a 404 may show."""
    if request.collection:
        return Target(checked_collection(request.collection), request.model)
    if request.model == RAG_PREFIX:
        return Target(settings.collection, request.model)
    if request.model.startswith(RAG_PREFIX + ":"):
        return Target(checked_collection(request.model.split(":", 1)[1]), request.model)
    if request.model in served_models:
        return Target(None, request.model)
    served = ", ".join(sorted(listed if listed is not None else served_models))
    raise ApiError(
        404,
        f"model '{request.model}' is not served here: use 'petitrag:<collection>' for answers from your "
        f"documents, or {served} without retrieval (GET /v1/models lists them)",
        "model_not_found",
    )


def refuse_unsupported(request: ChatRequest, rag: bool) -> None:
    """400 for what a client asks for and would silently not get: token logprobs, tool calls,
    images or other non-text parts (the models read text only), JSON output from a RAG answer."""
    if request.logprobs or request.top_logprobs:
        raise _unsupported("logprobs", "token logprobs are not returned by this server")
    if request.tools and request.tool_choice != "none":
        raise _unsupported("tools", "tool calls are not supported: the answer is always text")
    extra = request.model_extra or {}
    if extra.get("functions") and extra.get("function_call") != "none":  # tools' older name
        raise _unsupported("functions", "function calls are not supported: the answer is always text")
    if any(kind != "text" for kind in extra.get("modalities") or []):
        raise _unsupported("modalities", "only text is written by this server")
    if extra.get("logit_bias"):
        raise _unsupported("logit_bias", "token biases are not applied by this server")
    for penalty in ("presence_penalty", "frequency_penalty"):
        if extra.get(penalty):
            raise _unsupported(penalty, "not applied by this server: send 0 or leave it out")
    for m, message in enumerate(request.messages):
        for p, part in enumerate(message.content if isinstance(message.content, list) else []):
            if part.get("type") != "text":
                where = f"messages.{m}.content.{p}.type"
                raise _unsupported(where, f"content part type {part.get('type')!r}: only text is read")
    if rag and json_schema_of(request) is not None:
        raise _unsupported("response_format", "answers from documents are text with citations, not JSON")


def _unsupported(param: str, message: str) -> ApiError:
    return ApiError(400, f"{param}: {message}", "unsupported_parameter", param=param)


def json_schema_of(request: ChatRequest) -> dict[str, Any] | None:
    """The JSON schema ``response_format`` asks for (``json_object``: any object), None for text."""
    wanted = request.response_format or {"type": "text"}
    kind = wanted.get("type")
    if kind == "json_object":
        return {"type": "object"}
    if kind == "json_schema":
        holder = wanted.get("json_schema")
        if not isinstance(holder, dict):
            raise _unsupported("response_format.json_schema", "an object with a 'schema' is required")
        schema = holder.get("schema")
        if not isinstance(schema, dict):
            raise _unsupported("response_format.json_schema.schema", "a JSON schema object is required")
        return schema
    if kind != "text":
        raise _unsupported("response_format.type", f"{kind!r}: use text, json_object or json_schema")
    return None


def last_question(request: ChatRequest) -> str:
    """The last user message, which must hold text: an empty one after earlier turns answered
    the question before it again."""
    users = [message for message in request.messages if message.role == "user"]
    if not users or not users[-1].text().strip():
        what = "the last user message is empty" if users else "no user message"
        raise ApiError(400, f"{what}: there is no question to answer", "no_question", param="messages")
    return users[-1].text().strip()


def earlier_turns(request: ChatRequest) -> list[tuple[str, str]]:
    """(question, answer) pairs before the last user message: the context of a follow-up. A
    question with no reply after it (two user messages in a row) is a turn with an empty answer:
    it was left out, and "What about managers?" lost what it was about."""
    turns: list[tuple[str, str]] = []
    question: str | None = None
    last_user = max(i for i, message in enumerate(request.messages) if message.role == "user")
    for message in request.messages[:last_user]:
        text = message.text().strip()
        if message.role == "user" and text:
            if question is not None:
                turns.append((question, ""))
            question = text
        elif message.role == "assistant" and question is not None:
            turns.append((question, text))
            question = None
    return turns + ([(question, "")] if question is not None else [])


# -- jobs (run on the model thread) ------------------------------------------------------------


@dataclass
class Outcome:
    """A finished answer, RAG or not, in the terms the response needs."""

    text: str
    finish_reason: str
    usage: dict[str, int]
    extension: dict[str, Any]
    timings: dict[str, float]


#: a generating job: runs on the model thread and passes each token's text to the callback
Job = Callable[[Ticket, Callable[[str], None]], "Outcome"]
#: runs on the model thread before a job: what it raises is still a real HTTP status for a stream
Check = Callable[[Ticket], None]


def too_long(tokens: int, generator: Generator, what: str) -> ApiError:
    return ApiError(
        400,
        f"{what} has {tokens} tokens: with room for the answer, more than the "
        f"{generator.context_size}-token context of {generator.name} holds; send a shorter one",
        "context_length_exceeded",
    )


def far_too_long(texts: list[str], tokens: int, what: str, per_text: int = 0) -> None:
    """400 at once for text no tokenizer fits in ``tokens``: counting a 15 MB message's tokens
    held the model thread, and every client queued behind it, for 20-45 s. ``per_text``: the
    tokens each text costs however short (a chat template's role markers): 40,000 empty
    messages, rendered and counted, held it for 86 s."""
    characters = sum(len(text) for text in texts)
    if characters / MAX_CHARS_PER_TOKEN + per_text * len(texts) > tokens:
        counted = f"{len(texts):,} messages and " if per_text else ""
        raise ApiError(
            400,
            f"{what} has {counted}{characters:,} characters: far more than {tokens:,} tokens can hold; "
            "send a shorter one",
            "context_length_exceeded",
        )


def rag_check(collection: str, question: str) -> Check:
    """400 for a question that leaves no room for one passage and the answer (the pipeline's own
    check, ``Answerer.require_room``), before the stream starts and before any retrieval."""

    def check(ticket: Ticket) -> None:
        answerer = ticket.answerer(collection)
        try:
            answerer.require_room(question)
        except QueryError:
            raise too_long(
                answerer.generator.count_tokens(question), answerer.generator, "the question"
            ) from None

    return check


def passthrough_check(
    messages: list[Message], schema: dict[str, Any] | None = None, asked_tokens: int | None = None
) -> Check:
    """400 for messages that do not fit the context — with the ``max_tokens`` the client asked
    for, as OpenAI does, rather than an answer cut short — or a ``response_format`` schema the
    model cannot follow (the backend would fail with a 500, in a stream after it started)."""

    def check(ticket: Ticket) -> None:
        generator = ticket.worker.generator
        tokens = prompt_size(generator, messages)
        if tokens >= generator.context_size:
            raise too_long(tokens, generator, "the prompt")
        if asked_tokens is not None and tokens + asked_tokens > generator.context_size:
            raise ApiError(
                400,
                f"the prompt has {tokens} tokens and max_tokens asks for {asked_tokens}: more than "
                f"the {generator.context_size}-token context of {generator.name} holds; lower max_tokens",
                "context_length_exceeded",
                param="max_tokens",
            )
        if schema is not None:
            grammar_check(generator, schema)

    return check


def grammar_check(generator: Generator, schema: dict[str, Any]) -> None:
    """Refuse a schema the backend cannot follow before anything streams (the in-process
    backend compiles, and keeps, its grammar now; a remote one leaves the check to its server)."""
    try:
        generator.check_json_schema(schema)
    except GenerationError as exc:
        raise ApiError(400, str(exc), "invalid_json_schema", param="response_format.json_schema") from None


def prompt_size(generator: Generator, messages: list[Message]) -> int:
    """The prompt's tokens with the model's chat template when the backend renders it here,
    else the backend's estimate of the messages' text."""
    render = getattr(generator, "prompt_tokens", None)
    if render is None:
        return sum(generator.count_tokens(message["content"]) for message in messages)
    try:
        return len(render(messages))
    except GenerationError as exc:  # the template refuses these messages (e.g. a role order)
        raise ApiError(400, str(exc), "invalid_messages") from None


def rag_job(
    collection: str, question: str, k: int | None, history: list[tuple[str, str]] | None = None
) -> Job:
    """Answer ``question``; after earlier turns, first rewrite it to stand alone (as `petitrag chat`)."""

    def run(ticket: Ticket, emit: Callable[[str], None]) -> Outcome:
        answerer = ticket.answerer(collection)
        standalone = question
        if history:  # the turns that fit are chosen by the rewrite, as in `petitrag chat`
            conversation = Conversation(answerer)
            conversation.history = list(history)
            standalone = conversation.standalone(question)
        result: AnswerResult = answerer.ask(standalone, k=k, on_token=emit)
        data = result.to_json()
        data["timings"]["queue_s"] = round(ticket.queue_s, 4)
        extension = {"rag": True, "collection": collection, "question": standalone, **data}
        # what the prompt budget shortened or left out (null: answered without the model)
        extension["prompt"] = result.context.to_json() if result.context is not None else None
        finish = result.completion.finish_reason if result.completion else None
        return Outcome(result.answer, finish or "stop", _usage(result.timings), extension, result.timings)

    return run


def passthrough_messages(request: ChatRequest) -> list[Message]:
    return [
        {"role": "system" if m.role == "developer" else m.role, "content": m.text()} for m in request.messages
    ]


def passthrough_job(request: ChatRequest, messages: list[Message], settings: Settings) -> Job:
    """The request's ``messages`` (``passthrough_messages``) sent to the model as they are."""
    stops = [request.stop] if isinstance(request.stop, str) else list(request.stop or [])
    params = GenerationParams(
        max_tokens=request.max_completion_tokens or request.max_tokens or settings.max_tokens,
        temperature=request.temperature if request.temperature is not None else 0.0,
        top_p=request.top_p or 1.0,
        stop=stops,
        seed=request.seed if request.seed is not None else secrets.randbelow(2**31),
        logprobs=False,
        json_schema=json_schema_of(request),
    )

    def run(ticket: Ticket, emit: Callable[[str], None]) -> Outcome:
        completion: Completion = ticket.worker.generator.complete(messages, params, emit)
        timings = {
            "ttft_s": completion.ttft_s, "total_s": completion.total_s,
            "prompt_tokens": completion.prompt_tokens, "completion_tokens": completion.completion_tokens,
            "tokens_per_s": completion.tokens_per_s, "cached_tokens": completion.cached_tokens,
        }  # fmt: skip
        rounded = {key: round(timings[key], 4) for key in TIMING_KEYS}  # as a RAG answer's
        extension = {
            "rag": False,
            "model": completion.model,
            "timings": {**rounded, "queue_s": round(ticket.queue_s, 4)},
        }
        return Outcome(
            completion.text, completion.finish_reason or "stop", _usage(timings), extension, timings
        )

    return run


def _usage(timings: dict[str, float]) -> dict[str, Any]:
    """OpenAI's usage object; ``prompt_tokens_details.cached_tokens``: prompt tokens whose KV
    was reused (a constant prefix, a recent passage) rather than read."""
    prompt, completion = int(timings.get("prompt_tokens", 0)), int(timings.get("completion_tokens", 0))
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": int(timings.get("cached_tokens", 0))}}  # fmt: skip


# -- responses ---------------------------------------------------------------------------------


class ChatResponse:
    """Builds the JSON of one completion and of its stream chunks (same id, same timestamp)."""

    def __init__(self, model: str) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model

    def completion(self, outcome: Outcome) -> dict[str, Any]:
        return {
            "id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
            "choices": [{
                "index": 0, "message": {"role": "assistant", "content": outcome.text},
                "finish_reason": outcome.finish_reason, "logprobs": None,
            }],
            "usage": outcome.usage,
            "petitrag": outcome.extension,
        }  # fmt: skip

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        return self._chunk([choice], **extra)

    def _chunk(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        body = {
            "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "choices": choices, **extra,
        }  # fmt: skip
        return sse(body)

    def last_chunks(self, outcome: Outcome, usage_apart: bool) -> list[bytes]:
        """Finish reason, usage and the ``petitrag`` extension (with the checked answer).

        With ``usage_apart`` (``stream_options.include_usage``) the usage comes alone after it, in a
        chunk with no choices, as OpenAI sends it: clients that add up the usage of every chunk
        (LangChain) would count it twice on both."""
        if not usage_apart:
            return [self.chunk({}, outcome.finish_reason, usage=outcome.usage, petitrag=outcome.extension)]
        return [
            self.chunk({}, outcome.finish_reason, usage=None, petitrag=outcome.extension),
            self._chunk([], usage=outcome.usage),
        ]


def sse(body: dict[str, Any] | str) -> bytes:
    data = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return f"data: {data}\n\n".encode()
