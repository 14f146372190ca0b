"""The model worker: one thread owns the models and the index; requests wait in a bounded queue.

llama.cpp contexts are not re-entrant and a SQLite connection belongs to the thread that
opened it, so everything that generates, embeds or searches runs on one thread with its
own ``App``. A full queue answers 429 at once; a request that waits and runs past its
deadline answers 503 (its generation is stopped at the next token): a client is always
told, never left hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from starlette.requests import Request

from petitrag.app import App
from petitrag.config import Settings
from petitrag.errors import GenerationError, PetitragError
from petitrag.generation.base import Generator, interruptible
from petitrag.retrieval.hybrid import Retriever
from petitrag.server.errors import Abandoned, ApiError

T = TypeVar("T")
log = logging.getLogger("petitrag.server")


@dataclass(eq=False)  # hashed by identity: tickets live in a set
class Ticket:
    """What a job gets: the worker's App, its cached answerers, and its cancellation flag."""

    worker: ModelWorker
    enqueued: float = field(default_factory=time.monotonic)
    started: float | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    #: what makes the job long, said by the job ("summarising 'x.pdf' takes at least 66 model
    #: calls"): a timeout then says that, not "shorten it, lower max_tokens", which it cannot
    task: str | None = None

    @property
    def app(self) -> App:
        return self.worker.app

    @property
    def queue_s(self) -> float:
        return (self.started or time.monotonic()) - self.enqueued

    def answerer(self, collection: str) -> Any:
        return self.worker.answerer(collection)

    @property
    def holds_place(self) -> bool:
        """Running, or waiting for a client still there. A client that left while it waited
        frees its place at once: 8 SDK requests that timed out in the queue kept theirs, and
        the next client got 429 "9 requests queued or running" from a model answering one."""
        return self.started is not None or not self.cancelled.is_set()

    def check(self) -> None:
        if self.cancelled.is_set():
            if self.worker.stopping:
                raise shutting_down()
            raise Abandoned("the request was abandoned (client gone or deadline passed)")


class ModelWorker:
    """A single model thread behind a queue of at most ``queue_size`` waiting requests."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.timeout_s = settings.serve_timeout_s
        self.capacity = settings.serve_queue_size + 1  # the running request + those waiting
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="petitrag-model")
        self._lock = threading.RLock()  # stop() runs in a signal handler, maybe while held
        self._in_flight: set[Ticket] = set()
        self._app: App | None = None  # created and used on the worker thread only
        self._answerers: dict[str, Any] = {}  # Answerer, or Router when routing is configured
        self.model_name: str | None = None
        self.load_seconds: dict[str, float] = {}
        self.load_error: str | None = None
        self.stopping = False

    # -- on the worker thread ------------------------------------------------------------

    @property
    def app(self) -> App:
        if self._app is None:
            self._app = App(self.settings)
        return self._app

    def answerer(self, collection: str) -> Any:
        """One answerer per collection, kept: its retriever keeps the search indexes warm."""
        if collection not in self._answerers:
            try:
                self._answerers[collection] = self.app.answerer(collection)
            except GenerationError as exc:  # the server's model, not the client's request: 503, not 404
                raise ApiError(503, f"the answer model is unavailable: {exc}", "model_unavailable") from None
        return self._answerers[collection]

    def retriever(self, collection: str) -> Retriever:
        """The answerer's own retriever: search and answers share one set of warm indexes."""
        return self.answerer(collection).retriever

    @property
    def generator(self) -> Generator:
        """The model that answers first: the configured one, or the small one of a route."""
        return self.answerer(self.settings.collection).generator

    def _load(self) -> None:
        """Load the answer model and the embedder now, timing each, so requests find them warm."""
        try:
            started = time.perf_counter()
            name = self.generator.name
            self.load_seconds[name] = time.perf_counter() - started
            started = time.perf_counter()
            self.app.embedder.embed_query("warm-up")
            self.load_seconds[self.app.embedder.identity] = time.perf_counter() - started
            self.model_name = name
        except PetitragError as exc:
            self.load_error = str(exc)
            log.error("petitrag serve: %s", exc)

    def _run(self, job: Callable[[Ticket], T], ticket: Ticket) -> T:
        ticket.check()  # before it counts as started: a ticket left behind takes no place again
        ticket.started = time.monotonic()
        with interruptible(ticket.check):  # long prompt reads stop between batches too
            return job(ticket)

    # -- on the event loop ---------------------------------------------------------------

    @property
    def depth(self) -> int:
        """Requests waiting or running, not those whose client left while they waited (their
        jobs end at once when their turn comes)."""
        with self._lock:
            return sum(1 for ticket in self._in_flight if ticket.holds_place)

    def warm_up(self) -> Future[None]:
        return self._executor.submit(self._load)

    def stop(self) -> None:
        """The server received its stop signal: running generations end at their next token and
        queued requests at once, each with a 503 (a stream with that error event): they were
        left to run for the 5 s grace period, then cut without a word, and queued requests got
        a plain-text 500 or a dropped connection."""
        self.stopping = True
        with self._lock:
            for ticket in self._in_flight:
                ticket.cancelled.set()

    def require_room(self) -> None:
        """429 now when the queue is full, before a request costs anything else."""
        if self.stopping:
            raise shutting_down()
        if (depth := self.depth) >= self.capacity:
            raise ApiError(
                429,
                f"the model is busy ({depth} requests queued or running); retry shortly",
                "queue_full",
                {"Retry-After": "2"},
            )

    def submit(self, job: Callable[[Ticket], T]) -> tuple[Future[T], Ticket]:
        """Queue a job, or refuse at once with 429 when the queue is full."""
        ticket = Ticket(self)
        with self._lock:
            self.require_room()
            self._in_flight.add(ticket)
        future = self._executor.submit(self._run, job, ticket)
        future.add_done_callback(lambda _: self._forget(ticket))
        return future, ticket

    def _forget(self, ticket: Ticket) -> None:
        with self._lock:
            self._in_flight.discard(ticket)

    async def call(self, job: Callable[[Ticket], T], request: Request | None = None) -> T:
        """Run a job and wait for its result; 503 after the deadline (queue wait included).

        With ``request``, a client that hangs up stops the job: Starlette does not cancel a
        handler whose client is gone, and a 1,500-token answer went on for a minute, for
        nobody, ahead of every queued request (the SDKs' retries tripled it)."""
        future, ticket = self.submit(job)
        try:
            async with _watching(request, ticket):
                return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout_s)
        except TimeoutError:
            raise timeout_error(self.timeout_s, ticket) from None
        finally:
            ticket.cancelled.set()  # served, timed out or gone: a job still running stops

    async def stream(
        self,
        job: Callable[[Ticket, Callable[[str], None]], T],
        before: Callable[[Ticket], None] | None = None,
        request: Request | None = None,
    ) -> TokenStream[T]:
        """Queue a generating job; returns once it has started (429 when full, 503 if it never does).

        ``before`` runs first on the model thread: what it raises (a prompt that cannot fit: 400)
        is raised here, while the response can still say it with its HTTP status."""
        stream: TokenStream[T] = TokenStream(asyncio.get_running_loop(), self.timeout_s)

        def run(ticket: Ticket) -> T:
            def emit(text: str) -> None:
                ticket.check()  # a gone client or a passed deadline stops the generation here
                stream.push(text)

            if before is not None:
                before(ticket)
            stream.push(None)  # started
            return job(ticket, emit)

        stream.future, stream.ticket = self.submit(run)
        stream.future.add_done_callback(lambda _: stream.push(None))
        # while it waits its turn, a client that leaves frees its place (the response, which
        # watches for that itself, has not begun)
        async with _watching(request, stream.ticket):
            await stream.started()
        return stream

    def close(self) -> None:
        """Stop running generations at their next token and drop what waits; free the index."""
        with self._lock:
            for ticket in self._in_flight:
                ticket.cancelled.set()  # queued jobs then end at once, before starting
        self._executor.submit(self._close_app)
        self._executor.shutdown(wait=False)

    def _close_app(self) -> None:
        if self._app is not None:
            self._app.close()


@contextlib.asynccontextmanager
async def _watching(request: Request | None, ticket: Ticket) -> AsyncIterator[None]:
    """Within the block, a client of ``request`` that disconnects cancels ``ticket``."""
    watcher = asyncio.ensure_future(_watch_disconnect(request, ticket)) if request else None
    try:
        yield
    finally:
        if watcher is not None:
            watcher.cancel()


async def _watch_disconnect(request: Request, ticket: Ticket, every_s: float = 0.25) -> None:
    """Cancel ``ticket`` once the client of ``request`` has disconnected."""
    while not ticket.cancelled.is_set():
        if await request.is_disconnected():
            ticket.cancelled.set()
            return
        await asyncio.sleep(every_s)


def shutting_down() -> ApiError:
    return ApiError(503, "the server is shutting down; retry once it is back", "server_shutting_down")


def timeout_error(seconds: float, ticket: Ticket) -> ApiError:
    """Busy when the request spent most of its time waiting for others; else it is itself too
    long for the timeout, which "retry later" (said to a request alone on the model) hid."""
    if ticket.started is None or ticket.queue_s > seconds / 2:
        return ApiError(503, f"no answer within {seconds:g} s (the model is busy); retry later", "timeout")
    if ticket.task:
        message = (
            f"no answer within {seconds:g} s: {ticket.task}; raise the server's --timeout (now {seconds:g} s)"
        )
        return ApiError(503, message, "timeout")
    return ApiError(
        503,
        f"no answer within {seconds:g} s: the prompt or answer is too long for this timeout; "
        "shorten it, lower max_tokens, or raise the server's --timeout",
        "timeout",
    )


class TokenStream(Generic[T]):
    """Tokens from the worker thread to the event loop, in order, then the job's outcome.

    The worker pushes ``None`` once when the job starts and once when it ends (whatever
    the outcome); text in between is tokens.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout_s: float) -> None:
        self._loop = loop
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._deadline = time.monotonic() + timeout_s
        self._timeout_s = timeout_s
        self.future: Future[T]
        self.ticket: Ticket

    def push(self, text: str | None) -> None:
        """Called from the worker thread."""
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody listens any more
            self._loop.call_soon_threadsafe(self._queue.put_nowait, text)

    async def _next(self) -> str | None:
        remaining = self._deadline - time.monotonic()
        try:
            return await asyncio.wait_for(self._queue.get(), max(remaining, 0.001))
        except TimeoutError:
            self.cancel()
            raise timeout_error(self._timeout_s, self.ticket) from None

    async def started(self) -> None:
        try:
            if await self._next() is None and self.future.done():  # ended before it started
                self.future.result()
        except BaseException:
            self.cancel()
            raise

    async def tokens(self) -> AsyncIterator[str]:
        while (text := await self._next()) is not None:
            yield text

    def result(self) -> T:
        """The job's result once ``tokens()`` is exhausted; raises the job's error."""
        return self.future.result(timeout=0)

    def cancel(self) -> None:
        self.ticket.cancelled.set()
        self.future.cancel()
