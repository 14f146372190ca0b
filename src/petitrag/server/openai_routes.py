"""The OpenAI-compatible routes: ``/v1/models``, ``/v1/chat/completions``, ``/v1/embeddings``.

Existing clients (the official SDKs, Open WebUI, LangChain...) work unchanged with
``base_url=http://host:port/v1`` and a petitrag API key.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, field_validator

from petitrag.errors import PetitragError
from petitrag.server.auth import Caller, Principal
from petitrag.server.chat import (
    MESSAGE_TOKENS,
    RAG_PREFIX,
    ChatRequest,
    ChatResponse,
    Outcome,
    earlier_turns,
    encodable,
    far_too_long,
    json_schema_of,
    last_question,
    passthrough_check,
    passthrough_job,
    passthrough_messages,
    rag_check,
    rag_job,
    refuse_unsupported,
    resolve_target,
    sse,
)
from petitrag.server.errors import ApiError, body_of
from petitrag.server.state import Server, ServerState
from petitrag.server.worker import Ticket, TokenStream

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])

MAX_EMBEDDING_INPUTS = 2048
MAX_EMBEDDING_TOKENS = 8192  # per input: 16 windows of the e5 model's 512 tokens, a few seconds
#: token ids are another model's (tiktoken's): this embedder cannot read them back as text
TOKEN_IDS_REFUSED = (
    "input: token ids are not accepted, send the texts themselves "
    "(LangChain: OpenAIEmbeddings(..., check_embedding_ctx_length=False))"
)


@router.get("/models", summary="Models: petitrag:<collection> (RAG) and the answer model (no RAG)")
def list_models(who: Caller, server: Server) -> dict[str, Any]:
    return {"object": "list", "data": _models(who, server)}


@router.get("/models/{model_id:path}", summary="One model of the list (OpenAI's models.retrieve)")
def retrieve_model(model_id: str, who: Caller, server: Server) -> dict[str, Any]:
    """Clients (the SDKs' ``models.retrieve``, IDE plugins) check a model this way before using it."""
    listed = _models(who, server)
    if model_id == RAG_PREFIX and who.allows(server.settings.collection):  # the default collection's
        # shorthand in chat; a key that may not use it must get the 404 its chat gets a 403 for
        listed.append({**listed[0], "id": RAG_PREFIX} if listed else {"id": RAG_PREFIX, "object": "model"})
    found = next((model for model in listed if model["id"] == model_id), None)
    if found is None:
        message = f"model '{model_id}' is not served here (GET /v1/models lists them)"
        raise ApiError(404, message, "model_not_found")
    return found


def _models(who: Principal, server: ServerState) -> list[dict[str, Any]]:
    created = int(server.started_at)
    ids = [f"{RAG_PREFIX}:{name}" for name in server.collection_names() if who.allows(name)]
    ids += sorted(server.listed_models())
    return [{"id": id_, "object": "model", "created": created, "owned_by": "petitrag"} for id_ in ids]


@router.post("/chat/completions", summary="Chat completion, streamed (SSE) or not", response_model=None)
async def chat_completions(
    body: ChatRequest, who: Caller, server: Server, request: Request
) -> dict[str, Any] | StreamingResponse:
    server.worker.require_room()
    target = resolve_target(body, server.settings, server.served_models(), server.listed_models())
    refuse_unsupported(body, rag=target.collection is not None)
    context = server.settings.context_size
    if target.collection is not None:
        who.require(target.collection, default=not body.collection and body.model == RAG_PREFIX)
        question = last_question(body)
        await run_in_threadpool(server.require_collection, target.collection)
        far_too_long([question], context, "the question")
        check = rag_check(target.collection, question)
        job = rag_job(target.collection, question, body.k, earlier_turns(body))
    else:
        messages = passthrough_messages(body)
        far_too_long([message["content"] for message in messages], context, "the prompt", MESSAGE_TOKENS)
        check = passthrough_check(
            messages, json_schema_of(body), body.max_completion_tokens or body.max_tokens
        )
        job = passthrough_job(body, messages, server.settings)
    kind = "rag" if target.collection is not None else "passthrough"
    response = ChatResponse(body.model)
    if not body.stream:

        def run(ticket: Ticket) -> Outcome:
            check(ticket)
            return job(ticket, lambda _text: ticket.check())

        outcome = await server.worker.call(run, request)
        server.metrics.observe_generation(kind, outcome.timings, outcome.extension)
        return response.completion(outcome)
    stream = await server.worker.stream(job, check, request)  # 400/429/503 here are still HTTP statuses
    return StreamingResponse(
        _events(stream, response, server, kind, bool((body.stream_options or {}).get("include_usage"))),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(
    stream: TokenStream[Outcome], response: ChatResponse, server: ServerState, kind: str, usage_apart: bool
) -> AsyncIterator[bytes]:
    """Role, content deltas, a last chunk with the ``petitrag`` extension, then ``[DONE]``.

    A failure after the stream started can no longer change the status: it is sent as an
    ``{"error": ...}`` event, which the OpenAI SDKs raise as an exception.
    """
    try:
        yield response.chunk({"role": "assistant", "content": ""})
        streamed = False
        async for text in stream.tokens():
            streamed = streamed or bool(text)
            yield response.chunk({"content": text})
        outcome = stream.result()
        if not streamed and outcome.text:  # answered without the model (search found too little)
            yield response.chunk({"content": outcome.text})
        server.metrics.observe_generation(kind, outcome.timings, outcome.extension)
        for chunk in response.last_chunks(outcome, usage_apart):
            yield chunk
    except PetitragError as exc:
        yield sse(body_of(exc))
    finally:
        stream.cancel()  # no-op when finished; stops the generation when the client went away
    yield sse("[DONE]")


class EmbeddingRequest(BaseModel):
    model: str = Field(description="Any name: the collection embedder answers (its id is echoed back).")
    input: str | list[str] | list[int] | list[list[int]]  # token ids are refused in the route
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, description="Only the embedder's own size is available.")
    input_type: Literal["passage", "query"] = Field(
        "passage", description="petitrag: 'query' for search queries (e5 models embed them differently)."
    )

    @field_validator("input")
    @classmethod
    def _encodable(cls, value: Any) -> Any:
        for text in [value] if isinstance(value, str) else value:
            if isinstance(text, str):
                encodable(text)
        return value


@router.post("/embeddings", summary="Embeddings with the index's embedder")
async def embeddings(body: EmbeddingRequest, who: Caller, server: Server, request: Request) -> dict[str, Any]:
    texts = [body.input] if isinstance(body.input, str) else body.input
    if any(not isinstance(text, str) for text in texts):
        raise ApiError(400, TOKEN_IDS_REFUSED, "unsupported_parameter", param="input")
    if not texts or len(texts) > MAX_EMBEDDING_INPUTS or not all(text.strip() for text in texts):
        raise ApiError(400, f"input must be 1 to {MAX_EMBEDDING_INPUTS} non-empty strings", "invalid_input")
    for index, text in enumerate(texts):
        far_too_long([text], MAX_EMBEDDING_TOKENS, f"input {index}")

    def run(ticket: Ticket) -> tuple[np.ndarray, str, int]:
        embedder = ticket.app.embedder
        size = getattr(embedder, "dim", None)  # known before embedding for the local backends
        if body.dimensions is not None and size is not None and body.dimensions != size:
            raise _other_dimensions(embedder.identity, size, body.dimensions)
        counts = [embedder.count_tokens(text) for text in texts]
        longest = max(range(len(texts)), key=counts.__getitem__)
        if counts[longest] > MAX_EMBEDDING_TOKENS:  # a 100 KB input held the model thread for minutes
            raise ApiError(
                400,
                f"input {longest} has {counts[longest]} tokens; at most {MAX_EMBEDDING_TOKENS} per input",
                "input_too_long",
                param="input",
            )
        if body.input_type == "query":
            vectors = np.stack([embedder.embed_query(text) for text in texts])
        else:
            vectors = embedder.embed_passages(texts)
        return vectors, embedder.identity, sum(counts)

    vectors, identity, tokens = await server.worker.call(run, request)
    if body.dimensions is not None and body.dimensions != vectors.shape[1]:
        raise _other_dimensions(identity, vectors.shape[1], body.dimensions)
    data = [
        {"object": "embedding", "index": index, "embedding": _encode(vector, body.encoding_format)}
        for index, vector in enumerate(vectors)
    ]
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return {"object": "list", "data": data, "model": identity, "usage": usage}


def _other_dimensions(identity: str, size: int, asked: int) -> ApiError:
    """Refused, not ignored: a vector store sized for the asked size would fail later, far from here."""
    return ApiError(
        400, f"dimensions: {identity} gives {size}-dimensional vectors, not {asked}", "unsupported_parameter",
        param="dimensions",
    )  # fmt: skip


def _encode(vector: np.ndarray, encoding: str) -> list[float] | str:
    if encoding == "base64":  # what the OpenAI Python SDK asks for by default
        return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
    return [float(value) for value in vector]
