"""HTTP errors in one shape, OpenAI's: ``{"error": {"message", "type", "code", "param"}}``.

Clients written for OpenAI (the official SDKs, Open WebUI) read that shape to show a
message, so every route — native ones included — answers errors with it.
"""

from __future__ import annotations

from typing import Any

from petitrag.config import Settings
from petitrag.errors import (
    AmbiguousDocumentError,
    CollectionNotFoundError,
    ConfigError,
    DocumentError,
    DocumentNotFoundError,
    ModelNotFoundError,
    PetitragError,
    QueryError,
    StoreError,
)

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "request_too_large",
    415: "invalid_request_error",
    429: "rate_limit_error",
    503: "overloaded_error",
}


class ApiError(PetitragError):
    """An error with its HTTP status, raised by routes and turned into a JSON answer."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers = headers or {}
        self.param = param


def checked_collection(name: str) -> str:
    """A collection name from a request, valid by the configuration's rule, else 400."""
    try:
        return Settings._collection_name(name)  # NFC there: "café" typed as e + ́ is "café"
    except ValueError as exc:
        raise ApiError(400, f"invalid collection '{name}': {exc}", "invalid_collection") from None


def error_body(
    status: int, message: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """Other 4xx (405 on a wrong method...) are the client's to fix too, not the server's.

    ``param`` (the request field at fault, or null) is always there, as in OpenAI's errors:
    typed clients (Go, TypeScript) read it."""
    kind = _TYPES.get(status, "invalid_request_error" if status < 500 else "server_error")
    return {"error": {"message": message, "type": kind, "code": code, "param": param}}


def body_of(exc: PetitragError) -> dict[str, Any]:
    """The error body for a domain error, with its code and param when it has them."""
    message = exc.for_api if isinstance(exc, CollectionNotFoundError) else str(exc)
    return error_body(status_of(exc), message, getattr(exc, "code", None), getattr(exc, "param", None))


class Abandoned(PetitragError):
    """The request's client is gone or its deadline passed: the job stops early."""


def status_of(exc: PetitragError) -> int:
    """The HTTP status for a domain error: what the client can fix is 4xx, the rest 500."""
    if isinstance(exc, ApiError):
        return exc.status
    if isinstance(exc, Abandoned):  # the client left: nginx's 499, for nobody to read
        return 499
    if isinstance(exc, AmbiguousDocumentError):  # "give more of the path": the client's to fix
        return 400
    if isinstance(exc, CollectionNotFoundError | DocumentNotFoundError | ModelNotFoundError):
        return 404
    if isinstance(exc, StoreError):  # empty collection, embedder mismatch: the index state conflicts
        return 409
    if isinstance(exc, DocumentError | ConfigError | QueryError):
        return 400
    return 500
