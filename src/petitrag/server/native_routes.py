"""petitrag's own routes under ``/api``: collections, documents, uploads, jobs, search, summaries.

Every route that names a collection checks that the caller's key may use it (403
otherwise). Reads and deletes use a connection of their own and never wait behind a
generation; search and summaries need the models and take their turn in the queue.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, field_validator

from petitrag import __version__
from petitrag.answer.summarize import Summarizer
from petitrag.app import delete_collection, remove_documents
from petitrag.config import SearchMode
from petitrag.errors import without_password
from petitrag.server.auth import Caller
from petitrag.server.errors import ApiError, checked_collection
from petitrag.server.jobs import IngestJob
from petitrag.server.state import Server
from petitrag.server.uploads import save_uploads
from petitrag.server.worker import Ticket

router = APIRouter(prefix="/api", tags=["petitrag"])
#: the upload route alone: it is included with a body size limit of its own
uploads = APIRouter(prefix="/api", tags=["petitrag"])

#: multipart overhead allowed above the file size limit before the body is cut off
MULTIPART_MARGIN = 64 * 1024


def allowed_collection(collection: str, who: Caller) -> str:
    """Path dependency: the collection in the URL, valid and allowed for this key, composed
    (NFC): "cafe\u0301" made a second collection beside "café", which its key could not use."""
    name = checked_collection(collection)
    who.require(name)
    return name


Collection = Annotated[str, Depends(allowed_collection)]


@router.get("/info", summary="Version, model, default collection and limits (for the web UI)")
def info(server: Server, who: Caller) -> dict[str, Any]:
    settings = server.settings
    return {
        "version": __version__,
        "model": server.worker.model_name or settings.model,
        "route": without_password(settings.route) if settings.route else None,
        # a key limited to other collections must not learn its name
        "default_collection": settings.collection if who.allows(settings.collection) else None,
        "collections": [name for name in server.collection_names() if who.allows(name)],
        # a limited key's collections, made or not yet (the page offers them); null: any
        "may_use": None if who.allows_all else sorted(who.collections),
        "max_upload_mb": settings.serve_max_upload_mb,
        "auth": server.keys is not None,
    }


@router.get("/collections", summary="Collections this key may use, with their size")
def collections(server: Server, who: Caller) -> list[dict[str, Any]]:
    store = server.store()
    return [
        {"name": c.name, "embedder": c.embedder, **store.stats(c.name)}
        for c in store.collections()
        if who.allows(c.name)
    ]


@router.delete("/collections/{collection}", summary="Delete a collection (and the files uploaded to it)")
def delete_collection_route(collection: Collection, server: Server) -> dict[str, Any]:
    """Its index, search caches and uploaded files; refused while an upload to it is saved or
    ingested (here, or by another process's ingest)."""
    with server.jobs.deleting(collection):
        held = delete_collection(server.store(), server.settings, collection)
    return {"deleted": collection, **held}


@router.get("/collections/{collection}/documents", summary="Documents of a collection")
def documents(collection: Collection, server: Server) -> list[dict[str, Any]]:
    store = server.store()
    store.require_collection(collection)
    return [
        {"id": doc.id, "name": Path(doc.path).name, "source": doc.path, "size": doc.size}
        for doc in store.documents(collection)
    ]


@router.delete("/collections/{collection}/documents/{document_id}", summary="Remove a document")
def delete_document(collection: Collection, document_id: int, server: Server) -> dict[str, Any]:
    """Removes the document from the index, and its file when it was uploaded here."""
    store = server.store()
    store.require_collection(collection)
    found = next((doc for doc in store.documents(collection) if doc.id == document_id), None)
    if found is None:
        raise ApiError(404, f"no document {document_id} in collection '{collection}'", "document_not_found")
    if server.jobs.ingesting(collection, found.path):  # its job would report it added, yet gone
        raise ApiError(
            409, f"'{Path(found.path).name}' is still being ingested; retry when done", "collection_busy"
        )
    remove_documents(store, server.settings, collection, [found.path])
    return {"deleted": found.id, "name": Path(found.path).name}


@uploads.post(
    "/collections/{collection}/documents",
    status_code=202,
    summary="Upload documents (multipart field 'files'); they are ingested in a background job",
)
async def upload(
    collection: Collection, server: Server, files: Annotated[list[UploadFile], File()]
) -> dict[str, Any]:
    limit = int(server.settings.serve_max_upload_mb * 1024 * 1024)
    directory = server.uploads_dir(collection).absolute()
    named = [(file.file, file.filename or "") for file in files]

    def save_and_submit() -> tuple[list[Path], IngestJob]:
        server.refuse_upload_target(collection)
        with server.jobs.receiving(collection):
            stored = save_uploads(named, directory, limit)
            return stored, server.jobs.submit(collection, stored)

    stored, job = await run_in_threadpool(save_and_submit)
    return {
        "job": job.to_json(),
        "files": [
            {"filename": file.filename, "stored_as": path.name}
            for file, path in zip(files, stored, strict=True)
        ],
    }


@router.get("/jobs/{job_id}", summary="Progress of an ingest job")
def job_status(job_id: str, server: Server, who: Caller) -> dict[str, Any]:
    job = server.jobs.get(job_id)
    who.require(job.collection)
    return job.to_json()


class SearchRequest(BaseModel):
    query: str = Field(min_length=1)
    k: int | None = Field(None, ge=1, le=100)
    mode: SearchMode | None = None


@router.post("/collections/{collection}/search", summary="Hybrid search (the `search --json` result)")
async def search(
    collection: Collection, body: SearchRequest, server: Server, request: Request
) -> dict[str, Any]:
    def run(ticket: Ticket) -> dict[str, Any]:
        return ticket.worker.retriever(collection).search(body.query, body.k, body.mode).to_json()

    return await server.worker.call(run, request)


class SummarizeRequest(BaseModel):
    source: str = Field(
        min_length=1, description="Document name or path suffix, as `petitrag documents` shows."
    )
    length: Literal["short", "long"] = "short"
    language: Literal["fr", "en"] | None = None

    @field_validator("length", "language", mode="before")
    @classmethod
    def _any_case(cls, value: Any) -> Any:
        """ "FR" as the CLI takes it."""
        return value.lower() if isinstance(value, str) else value


@router.post("/collections/{collection}/summarize", summary="Summarise a whole document (map-reduce)")
async def summarize(
    collection: Collection, body: SummarizeRequest, server: Server, request: Request
) -> dict[str, Any]:
    def run(ticket: Ticket) -> dict[str, Any]:
        app = ticket.app
        summarizer = Summarizer(server.settings, app.store, app.generator)
        progress = summary_progress(ticket, body.source)
        summary = summarizer.summarize(collection, body.source, body.length, body.language, progress)
        return summary.__dict__

    return await server.worker.call(run, request)


def summary_progress(ticket: Ticket, source: str) -> Callable[[str, int, int], None]:
    """The summary's progress hook: a gone client stops it between model calls, and its
    number of calls is what a timeout says (a 65-part document was told "shorten it, lower
    max_tokens", which no summary request can do)."""

    def progress(stage: str, done: int, total: int) -> None:
        ticket.check()
        if stage == "map":
            ticket.task = f"summarising '{source}' takes {_calls(total)} ({done} done)"

    return progress


def _calls(parts: int) -> str:
    """The model calls of a summary of ``parts`` parts: one per part, then at least one to
    merge their notes, unless the document fits one prompt."""
    if parts == 1:
        return "1 model call"
    return f"at least {parts + 1} model calls"
