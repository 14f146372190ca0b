"""Chat completions: OpenAI's request and response shapes around petitrag's answers.

``model: "petitrag:<collection>"`` (or ``"petitrag"``, or an extra ``collection`` field)
answers the last user message with RAG over that collection; the response carries the
answer where every OpenAI client looks for it and the citations, checks and timings in
an extra ``petitrag`` field. Any other served model name is a plain passthrough to the
answer model, without retrieval.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from petitrag.answer.conversation import Conversation
from petitrag.answer.result import AnswerResult
from petitrag.config import Settings
from petitrag.generation.base import Completion, GenerationParams, Message
from petitrag.server.errors import ApiError, checked_collection
from petitrag.server.worker import Ticket

RAG_PREFIX = "petitrag"
TIMING_KEYS = ("ttft_s", "total_s", "prompt_tokens", "completion_tokens", "tokens_per_s")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """The message text; of multi-part content, the text parts."""
        if isinstance(self.content, list):
            return "\n".join(str(part.get("text", "")) for part in self.content if part.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    """OpenAI's chat request; fields petitrag does not use are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(examples=["petitrag:default"])
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    collection: str | None = Field(None, description="petitrag: answer with RAG over this collection.")
    k: int | None = Field(None, ge=1, le=50, description="petitrag: passages retrieved for RAG.")


@dataclass
class Target:
    """What a request asks for: RAG over a collection, or the bare model (collection None)."""

    collection: str | None
    model: str


def resolve_target(request: ChatRequest, settings: Settings, served_models: set[str]) -> Target:
    if request.collection:
        return Target(checked_collection(request.collection), request.model)
    if request.model == RAG_PREFIX:
        return Target(settings.collection, request.model)
    if request.model.startswith(RAG_PREFIX + ":"):
        return Target(checked_collection(request.model.split(":", 1)[1]), request.model)
    if request.model in served_models:
        return Target(None, request.model)
    served = ", ".join(sorted(served_models))
    raise ApiError(
        404,
        f"model '{request.model}' is not served here: use 'petitrag:<collection>' for answers from your "
        f"documents, or {served} without retrieval (GET /v1/models lists them)",
        "model_not_found",
    )


def last_question(request: ChatRequest) -> str:
    for message in reversed(request.messages):
        if message.role == "user" and message.text().strip():
            return message.text().strip()
    raise ApiError(400, "no user message with text to answer", "no_question")


def earlier_turns(request: ChatRequest) -> list[tuple[str, str]]:
    """(question, answer) pairs before the last user message: the context of a follow-up."""
    turns: list[tuple[str, str]] = []
    question: str | None = None
    last_user = max(i for i, m in enumerate(request.messages) if m.role == "user" and m.text().strip())
    for message in request.messages[:last_user]:
        if message.role == "user" and message.text().strip():
            question = message.text().strip()
        elif message.role == "assistant" and question is not None:
            turns.append((question, message.text().strip()))
            question = None
    return turns


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


def rag_job(
    collection: str, question: str, k: int | None, history: list[tuple[str, str]] | None = None
) -> Job:
    """Answer ``question``; after earlier turns, first rewrite it to stand alone (as `petitrag chat`)."""

    def run(ticket: Ticket, emit: Callable[[str], None]) -> Outcome:
        answerer = ticket.answerer(collection)
        standalone = question
        if history:
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


def passthrough_job(request: ChatRequest, settings: Settings) -> Job:
    stops = [request.stop] if isinstance(request.stop, str) else list(request.stop or [])
    params = GenerationParams(
        max_tokens=request.max_completion_tokens or request.max_tokens or settings.max_tokens,
        temperature=request.temperature if request.temperature is not None else 0.0,
        top_p=request.top_p or 1.0,
        stop=stops,
        seed=request.seed or 0,
        logprobs=False,
    )
    messages: list[Message] = [
        {"role": "system" if m.role == "developer" else m.role, "content": m.text()} for m in request.messages
    ]

    def run(ticket: Ticket, emit: Callable[[str], None]) -> Outcome:
        completion: Completion = ticket.worker.generator.complete(messages, params, emit)
        timings = {
            "ttft_s": completion.ttft_s, "total_s": completion.total_s,
            "prompt_tokens": completion.prompt_tokens, "completion_tokens": completion.completion_tokens,
            "tokens_per_s": completion.tokens_per_s,
        }  # fmt: skip
        rounded = {key: round(value, 4) for key, value in timings.items()}
        extension = {
            "rag": False,
            "model": completion.model,
            "timings": {**rounded, "queue_s": round(ticket.queue_s, 4)},
        }
        return Outcome(
            completion.text, completion.finish_reason or "stop", _usage(timings), extension, timings
        )

    return run


def _usage(timings: dict[str, float]) -> dict[str, int]:
    prompt, completion = int(timings.get("prompt_tokens", 0)), int(timings.get("completion_tokens", 0))
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


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
        body = {
            "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
            **extra,
        }  # fmt: skip
        return sse(body)

    def last_chunk(self, outcome: Outcome) -> bytes:
        """Finish reason, usage and the ``petitrag`` extension (with the checked answer)."""
        return self.chunk({}, outcome.finish_reason, usage=outcome.usage, petitrag=outcome.extension)


def sse(body: dict[str, Any] | str) -> bytes:
    data = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return f"data: {data}\n\n".encode()
