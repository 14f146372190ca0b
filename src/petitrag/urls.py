"""Base URLs of OpenAI-compatible servers (chat and embeddings), checked before any request."""

from __future__ import annotations

import httpx

from petitrag.errors import PetitragError


def checked_base_url(base_url: str, setting: str, error: type[PetitragError]) -> str:
    """``base_url`` without its trailing slash; one that is not http(s)://host… raises ``error``
    naming ``setting`` at once (it was retried, then reported as unreachable, or failed later
    with a vaguer message)."""
    url = base_url.strip().rstrip("/")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise error(f"invalid {setting} {base_url!r}: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise error(f"invalid {setting} {base_url!r}: expected e.g. http://localhost:11434/v1")
    return url
