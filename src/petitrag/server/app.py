"""The FastAPI application: routes, errors in one shape, metrics, the web UI, start and stop."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import AsyncIterator
from concurrent.futures import Future
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from petitrag import __version__
from petitrag.config import Settings
from petitrag.errors import PetitragError
from petitrag.server import native_routes, openai_routes
from petitrag.server.auth import Caller, KeyGate, LoopbackOnly, keyring_from
from petitrag.server.errors import ApiError, body_of, error_body, status_of
from petitrag.server.jobs import IngestJobs
from petitrag.server.metrics import Metrics, MetricsMiddleware
from petitrag.server.state import Server, ServerState
from petitrag.server.worker import ModelWorker

STATIC = Path(__file__).parent / "static"
JSON_BODY_LIMIT = 16 * 1024 * 1024  # every route but uploads
#: the levels of arrays and objects a JSON body may not reach (json.loads itself gives up near 990)
JSON_NESTING_LIMIT = 500
TOO_DEEP = (
    f"the JSON is nested too deeply: send objects and arrays nested less than {JSON_NESTING_LIMIT} levels"
)
log = logging.getLogger("petitrag.server")

#: the page may load its own script, style and images, and talk to this server only
UI_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_app(settings: Settings) -> FastAPI:
    """The server for these settings; refuses (ConfigError) to run without keys off loopback."""
    keys = keyring_from(settings)
    worker = ModelWorker(settings)
    server = ServerState(settings, keys, worker, IngestJobs(settings), Metrics(lambda: worker.depth))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        server.worker.warm_up().add_done_callback(lambda future: _after_warm_up(future, server))
        for job in server.jobs.resume(server.store()):
            what = (
                f"ingesting {len(job.files)} uploaded file(s) into"
                if job.files
                else "finishing the vectors of"
            )
            log.info("petitrag serve: %s %s (job %s)", what, job.collection, job.id)
        yield
        server.worker.close()
        server.jobs.close()

    app = FastAPI(
        title="petitrag",
        version=__version__,
        summary="Answers from your documents with small local models; OpenAI-compatible.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI and ReDoc load their code from a CDN: not in a private tool
        redoc_url=None,
    )
    app.state.petitrag = server
    # Limits per router (not app-wide): their 413s then pass through TooLargeAsJson.
    nesting = [Depends(json_nesting_limit)]
    app.include_router(openai_routes.router, max_body_size=JSON_BODY_LIMIT, dependencies=nesting)
    app.include_router(native_routes.router, max_body_size=JSON_BODY_LIMIT, dependencies=nesting)
    upload_limit = int(settings.serve_max_upload_mb * 1024 * 1024) + native_routes.MULTIPART_MARGIN
    app.include_router(native_routes.uploads, max_body_size=upload_limit)
    _add_service_routes(app)
    _add_error_handlers(app, settings)
    if keys is not None:
        app.add_middleware(KeyGate, keys=keys)
    else:
        app.add_middleware(LoopbackOnly, origins=settings.serve_cors_origins)
    if settings.serve_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.serve_cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["*"],  # the OpenAI SDKs send x-stainless-* headers on every request
        )
    app.add_middleware(TooLargeAsJson, message=_too_large(settings))
    app.add_middleware(MetricsMiddleware, metrics=server.metrics)
    return app


async def json_nesting_limit(request: Request) -> None:
    """400 for a body nested 500 levels or more, as the docs and the message say: 500 and 600
    levels were answered 200, and only ~990 (where ``json.loads`` gives up) was refused."""
    body = await request.body()  # read already by FastAPI: its bytes, kept
    if body.count(b"[") + body.count(b"{") < JSON_NESTING_LIMIT:  # nearly every body: no walk
        return
    try:
        parsed = await request.json()  # parsed already by FastAPI when sent as JSON
    except (ValueError, RecursionError):  # not JSON: FastAPI says so
        return
    if json_nesting(parsed, JSON_NESTING_LIMIT) >= JSON_NESTING_LIMIT:
        raise ApiError(400, TOO_DEEP, "invalid_body")


def json_nesting(value: Any, limit: int) -> int:
    """The levels of arrays and objects in parsed JSON, counted up to ``limit``: one level at a
    time, each value looked at once (no recursion, which is what fails at ~990)."""
    level = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level and depth < limit:
        depth += 1
        level = [
            child
            for container in level
            for child in (container.values() if isinstance(container, dict) else container)
            if isinstance(child, dict | list)
        ]
    return depth


def _too_large(settings: Settings) -> str:
    """One message for both limits: a 413 sent before any route runs cannot tell which applied."""
    json_mb = JSON_BODY_LIMIT // (1024 * 1024)
    return (
        f"request too large (JSON bodies are limited to {json_mb} MB, "
        f"uploads to {settings.serve_max_upload_mb:g} MB)"
    )


class TooLargeAsJson:
    """Re-says Starlette's plain-text 413 (sent before any route runs) in the API's JSON shape."""

    def __init__(self, app: ASGIApp, message: str) -> None:
        self.app = app
        self.body = json.dumps(error_body(413, message, "too_large")).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        replacing = False

        async def send_json(message: Message) -> None:
            nonlocal replacing
            if message["type"] == "http.response.start" and message["status"] == 413:
                headers = dict(message.get("headers", []))
                replacing = headers.get(b"content-type", b"").startswith(b"text/plain")
                if replacing:
                    json_headers = [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(self.body)).encode()),
                    ]
                    await send({**message, "headers": json_headers})
                    await send({"type": "http.response.body", "body": self.body})
                    return
            if not replacing:
                await send(message)

        await self.app(scope, receive, send_json)


def _after_warm_up(future: Future[None], server: ServerState) -> None:
    if future.exception() is not None:  # a bug, not a missing model (that is load_error)
        log.error("model warm-up failed", exc_info=future.exception())
        server.worker.load_error = f"unexpected error while loading: {future.exception()}"
    for model, seconds in server.worker.load_seconds.items():
        server.metrics.model_load.labels(model).set(seconds)


def _add_service_routes(app: FastAPI) -> None:
    # HEAD too: uptime checkers often probe with it (405 read as down)
    @app.api_route(
        "/health",
        methods=["GET", "HEAD"],
        tags=["service"],
        summary="Liveness and model status (no key needed)",
    )
    def health(server: Server) -> dict[str, Any]:
        worker = server.worker
        loaded = worker.model_name is not None
        status = (
            "stopping"
            if worker.stopping
            else "degraded"
            if worker.load_error
            else "ok"
            if loaded
            else "loading"
        )
        return {
            "status": status, "version": __version__, "model": worker.model_name, "model_loaded": loaded,
            "error": worker.load_error, "queue_depth": worker.depth,
        }  # fmt: skip

    @app.get("/metrics", tags=["service"], summary="Prometheus metrics")
    def metrics(_: Caller, server: Server) -> Response:
        return Response(server.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=UI_HEADERS)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")


def _add_error_handlers(app: FastAPI, settings: Settings) -> None:
    @app.exception_handler(PetitragError)
    async def domain_error(request: Request, exc: PetitragError) -> JSONResponse:
        status = status_of(exc)
        if status >= 500 and getattr(exc, "code", "") != "server_shutting_down":  # said once, at the stop
            log.error("%s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            body_of(exc),
            status_code=status,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        """A bug: the traceback goes to the log, the client gets the usual error shape."""
        return JSONResponse(
            error_body(500, f"internal error ({type(exc).__name__}); see the server log"), 500
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        message = _too_large(settings) if exc.status_code == 413 else _http_message(request, exc)
        code = HTTP_CODES.get(exc.status_code)
        return JSONResponse(error_body(exc.status_code, message, code), exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        body = error_body(400, _validation_message(first), "invalid_request", _field(first) or None)
        return JSONResponse(body, 400)


#: FastAPI's words for a JSON body its ``json.loads`` raised on (other than a syntax error)
_UNPARSED_BODY = "There was an error parsing the body"


def _http_message(request: Request, exc: HTTPException) -> str:
    """Starlette's and FastAPI's own errors, said in the request's terms: "Not Found" for a
    legacy OpenAI route (``/v1/completions``), "There was an error parsing the body" for JSON
    in Latin-1."""
    path = request.url.path
    if exc.status_code == 404 and path.startswith("/v1/"):
        return (
            f"{request.method} {path} is not served here: only /v1/chat/completions answers "
            "(send a prompt as a user message), with /v1/embeddings and /v1/models"
        )
    if exc.detail == _UNPARSED_BODY:
        return _unparsed_body(exc.__cause__)
    return str(exc.detail)


def _unparsed_body(cause: BaseException | None) -> str:
    """Why ``json.loads`` gave up on a body, from the exception FastAPI chained: JSON nested
    ~990 deep (RecursionError) and a 5,000-digit number (ValueError) were both told "not UTF-8"."""
    if isinstance(cause, UnicodeDecodeError):  # a ValueError too: tested first
        return "the body is not UTF-8: send JSON encoded in UTF-8"
    if isinstance(cause, RecursionError):
        return TOO_DEEP
    if isinstance(cause, ValueError) and "digits" in str(cause):
        most = sys.get_int_max_str_digits()
        return f"a number in the JSON is too long: send numbers of at most {most:,} digits"
    return f"the body could not be read as JSON ({type(cause).__name__}: {cause})"


#: a machine-readable code for the errors Starlette raises itself (no route, wrong method, body)
HTTP_CODES = {400: "invalid_body", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}
#: parts of a validation error's location that name pydantic's types, not the request's fields
#: ("stop.function-after[encodable(), str]", "messages.0.content.str")
_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "list", "dict", "none", "literal"})


def _validation_message(error: dict[str, Any]) -> str:
    """Pydantic's first complaint, said in the request's terms.

    A body that is not JSON, or JSON sent without ``Content-Type: application/json`` (what
    ``curl -d`` does), would otherwise read "9: JSON decode error" or "request: Input should be
    a valid dictionary"."""
    if error.get("type") == "json_invalid":
        reason = error.get("ctx", {}).get("error", "decode error")
        return f"the body is not valid JSON ({reason}, at character {error['loc'][-1]})"
    if tuple(error["loc"]) == ("body",) and error.get("type") in ("model_attributes_type", "missing"):
        return "the body must be a JSON object, sent with Content-Type: application/json"
    if "Expected UploadFile" in error["msg"]:  # a part without filename="…" (RFC 5987's filename* alone)
        return (
            f"{_field(error)}: this part is not a file: send it with Content-Disposition: form-data; "
            'name="files"; filename="…" (a filename* alone is not read)'
        )
    return f"{_field(error) or 'request'}: {error['msg']}"


def _field(error: dict[str, Any]) -> str:
    """The field a validation error is about (``messages.0.content``), '' for the whole body."""
    if error.get("type") == "json_invalid":
        return ""
    parts = [str(part) for part in error["loc"] if part != "body"]
    return ".".join(part for part in parts if "[" not in part and part not in _TYPE_TAGS)
