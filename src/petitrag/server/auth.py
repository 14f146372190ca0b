"""API keys: who may call the server, and which collections each key may read and write.

Keys are compared as SHA-256 digests with ``hmac.compare_digest`` against every known
key (no early exit), so response time says nothing about how much of a key was right.
Serving without keys is allowed only on a loopback address and only when asked for
explicitly: a server reachable from the network never runs open by accident.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from petitrag.config import Settings
from petitrag.errors import ConfigError
from petitrag.server.errors import ApiError, error_body

ALL = "*"

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key> (what OpenAI SDKs send)")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The API key, as a header")


@dataclass(frozen=True)
class Principal:
    """The caller: a key (by its position in the configuration, never its value) and its rights."""

    name: str
    collections: frozenset[str]

    @property
    def allows_all(self) -> bool:
        return ALL in self.collections

    def allows(self, collection: str) -> bool:
        return self.allows_all or collection in self.collections

    def require(self, collection: str, default: bool = False) -> None:
        """``default``: the server's default collection, not named by the request: its name is
        not told to a key that may not use it (/api/info and /v1/models hide it too)."""
        if self.allows(collection):
            return
        if default:
            message = "this API key may not use the default collection: ask 'petitrag:<collection>'"
            raise ApiError(403, message, "collection_forbidden")
        raise ApiError(403, f"this API key may not use collection '{collection}'", "collection_forbidden")


ANONYMOUS = Principal("anonymous", frozenset({ALL}))


class KeyRing:
    """The configured keys; ``None`` in ``ServerState.keys`` means authentication is off."""

    def __init__(self, keys: dict[str, list[str]]) -> None:
        self._entries = [
            (_digest(key), Principal(f"key-{number}", frozenset(collections)))
            for number, (key, collections) in enumerate(keys.items(), start=1)
        ]

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, presented: str) -> Principal | None:
        digest = _digest(presented)
        found = None
        for known, principal in self._entries:  # always compare with every key
            if hmac.compare_digest(digest, known):
                found = principal
        return found


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def keyring_from(settings: Settings) -> KeyRing | None:
    """Check the key configuration against the bind address; None when serving without keys."""
    keys = settings.serve_api_keys
    if settings.serve_no_auth:
        if keys:
            raise ConfigError("API keys are configured and --no-auth is given: choose one")
        if not is_loopback(settings.serve_host):
            raise ConfigError(
                f"--no-auth is refused on {settings.serve_host}: without keys, serve only on 127.0.0.1"
            )
        return None
    if not keys:
        raise ConfigError(
            "no API key: give --api-key KEY (or serve_api_keys in the configuration), "
            "or --no-auth to serve without keys on 127.0.0.1"
        )
    checked: dict[str, list[str]] = {}
    for key, collections in keys.items():
        if len(key) < 8:
            raise ConfigError("API keys must be at least 8 characters long")
        # a header carries Latin-1 at most, clients send ASCII (httpx refuses "é"), and a space
        # at either end is stripped: no request could ever match such a key
        unsendable = sorted({char for char in key if not "!" <= char <= "~"})
        if unsendable:
            shown = ", ".join(repr(char) for char in unsendable)
            raise ConfigError(
                f"an API key holds {shown}, which requests cannot carry as it is: use ASCII letters, "
                "digits and punctuation, no spaces (a paste may have made a quote or a dash typographic)"
            )
        # names as checked, so composed (NFC) as requests' are: "café" typed e + ́ is "café"
        checked[key] = [_key_collection(name) for name in collections]
    return KeyRing(checked)


def _key_collection(name: str) -> str:
    if name == ALL:
        return name
    try:
        return Settings._collection_name(name)
    except ValueError as exc:
        raise ConfigError(f"invalid collection '{name}' for an API key: {exc}") from None


def parse_key_flag(value: str) -> tuple[str, list[str]]:
    """``KEY`` (every collection) or ``KEY:coll1,coll2`` (only those), as given to --api-key."""
    key, separator, names = value.rpartition(":")
    if not separator:
        return value, [ALL]
    collections = [name.strip() for name in names.split(",") if name.strip()]
    if not key or not collections:
        raise ConfigError(f"--api-key takes KEY or KEY:collection1,collection2, not '{value}'")
    return key, collections


def keys_from_flags(values: tuple[str, ...] | list[str]) -> dict[str, list[str]]:
    """The keys of --api-key flags; a key given twice may use the collections of both
    ("--api-key K:alpha --api-key K:beta" kept beta alone, without a word)."""
    keys: dict[str, list[str]] = {}
    for value in values:
        key, collections = parse_key_flag(value)
        keys.setdefault(key, [])
        keys[key] += [name for name in collections if name not in keys[key]]
    return {key: [ALL] if ALL in collections else collections for key, collections in keys.items()}


def principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> Principal:
    """FastAPI dependency: the caller, or 401 when the key is missing or unknown."""
    keys: KeyRing | None = request.app.state.petitrag.keys
    if keys is None:
        return ANONYMOUS
    return _caller(keys, bearer.credentials if bearer is not None else header)


def _caller(keys: KeyRing, presented: str | None) -> Principal:
    found = keys.lookup(presented) if presented else None
    if found is None:
        message = "invalid API key" if presented else "missing API key (Authorization: Bearer KEY)"
        raise ApiError(401, message, "invalid_api_key", {"WWW-Authenticate": "Bearer"})
    return found


OPEN_PATHS = ("/health", "/", "/openapi.json")


class KeyGate:
    """401 before a request's body is read: the routes' key check runs after FastAPI has read
    the body (a 50 MB upload, written to a temporary file) to solve the route's parameters."""

    def __init__(self, app: ASGIApp, keys: KeyRing) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] == "OPTIONS"
            or path in OPEN_PATHS
            or path.startswith("/static/")
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        presented = credentials.strip() if scheme.lower() == "bearer" else headers.get("x-api-key")
        try:
            _caller(self.keys, presented)
        except ApiError as exc:
            response = JSONResponse(error_body(401, str(exc), exc.code), 401, headers=exc.headers)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class LoopbackOnly:
    """Without keys, what other web sites make a browser send is refused. Any page could post
    a form to ``http://127.0.0.1:8080/api/…`` (a "simple" request: no preflight asks the
    server first) and add documents to a collection; a DNS name rebound to 127.0.0.1 let a
    page read every answer. A request must name a loopback host, and a page's origin must be
    this server's own or one of ``serve_cors_origins``. Any loopback address is named as
    ``--no-auth`` allows (127.0.0.2, ``[::1]``): a page's DNS name never is one."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.origins = set(origins)  # as the configuration writes them: without a trailing "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host, origin = headers.get("host", ""), headers.get("origin")
        refused = None
        if host and not is_loopback(_host_name(host)):
            refused = (
                f"host '{host}' is not this server's: without API keys it answers a loopback address "
                "(127.0.0.1, ::1) or localhost only"
            )
        elif origin is not None and origin.rstrip("/") not in {f"http://{host}", *self.origins}:
            refused = f"requests from pages of {origin} are refused (see serve_cors_origins)"
        if refused is None:
            await self.app(scope, receive, send)
            return
        await JSONResponse(error_body(403, refused, "origin_forbidden"), 403)(scope, receive, send)


def _host_name(host: str) -> str:
    """The name of a Host header, without its port: "localhost:8080" → "localhost", "[::1]:80" → "::1"."""
    if host.startswith("["):
        return host[1 : host.find("]")].lower()
    return host.rsplit(":", 1)[0].lower()


#: a route parameter of this type gets the authenticated caller
Caller = Annotated[Principal, Depends(principal)]
