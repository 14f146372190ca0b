"""CLI command ``serve``: the OpenAI-compatible API, native routes and web UI (docs/serve.md)."""

from __future__ import annotations

import copy
from typing import Any

import click
from rich.markup import escape

from petitrag.cli import cli, err, settings_from
from petitrag.cli_answer import with_model_options
from petitrag.config import Settings


def _default(setting: str) -> Any:
    """The setting's default, for --help (options default to None so that env and file win)."""
    return Settings.model_fields[setting].default


@cli.command()
@click.option("--host", "serve_host", help="Address to bind [default: 127.0.0.1].")
@click.option("--port", "serve_port", type=int, help="Port to listen on [default: 8000].")
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    metavar="KEY[:COLL,...]",
    help="Accept this key (repeatable); ':c1,c2' limits it to those collections.",
)
@click.option("--no-auth", is_flag=True, help="Serve without API keys (only on a loopback address).")
@click.option(
    "--queue-size",
    "serve_queue_size",
    type=int,
    help=f"Requests that may wait for the model [default: {_default('serve_queue_size')}].",
)
@click.option(
    "--timeout",
    "serve_timeout_s",
    type=float,
    help=f"Seconds a request may wait + run; then 503 [default: {_default('serve_timeout_s'):g}].",
)
@click.option(
    "--max-upload-mb", "serve_max_upload_mb", type=float,
    help=f"Largest upload accepted, in MB [default: {_default('serve_max_upload_mb'):g}].",
)  # fmt: skip
@click.option("--cors-origin", "cors_origins", multiple=True, help="Allow this browser origin (repeatable).")
@with_model_options
@click.pass_context
def serve(
    ctx: click.Context, api_keys: tuple[str, ...], no_auth: bool, cors_origins: tuple[str, ...], **flags: Any
) -> None:
    """Serve the OpenAI-compatible API (/v1), the native API (/api), metrics and the web UI (/)."""

    from petitrag.errors import without_password
    from petitrag.server import create_app
    from petitrag.server.auth import keys_from_flags

    settings = settings_from(ctx, **flags, serve_no_auth=True if no_auth else None)
    # flags win whole values, as everywhere: the configured keys are replaced, not added to
    updates: dict[str, Any] = {}
    if api_keys and no_auth:
        raise click.UsageError("--api-key and --no-auth: choose one")
    if api_keys or no_auth:
        updates["serve_api_keys"] = keys_from_flags(api_keys)
    if api_keys:
        updates["serve_no_auth"] = False
    if cors_origins:
        updates["serve_cors_origins"] = Settings._origins(list(cors_origins))
    settings = settings.model_copy(update=updates)
    app = create_app(settings)  # refuses a keyless server off loopback before binding
    # a home that cannot be made or read: one line now, not a traceback under "warm-up failed"
    app.state.petitrag.store()
    keys = app.state.petitrag.keys
    answering = f"route {settings.route}" if settings.route else f"model {settings.model}"
    base = base_url(settings.serve_host, settings.serve_port)
    err.print(
        f"petitrag serve: web UI {base}/ · OpenAI API {base}/v1 · spec {base}/openapi.json · "
        f"{f'{len(keys)} API key(s)' if keys else 'no API key (loopback only)'} · "
        f"{escape(without_password(answering))} · "
        f"data {escape(str(settings.home))}",
        highlight=False,
    )
    _serve_until_stopped(app, settings)


def base_url(host: str, port: int) -> str:
    """The address to open: an IPv6 literal goes in brackets (RFC 3986), since
    "http://::1:18733/" is no address a browser or client can open."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _serve_until_stopped(app: Any, settings: Any) -> None:
    """uvicorn, telling the model worker at the stop signal (Ctrl-C, SIGTERM): answers in
    progress end at once with a 503 instead of being cut after the grace period."""
    import uvicorn

    worker = app.state.petitrag.worker

    class StoppingServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            worker.stop()
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        app,
        host=settings.serve_host,
        port=settings.serve_port,
        log_level="info",
        log_config=_log_config(),
        timeout_graceful_shutdown=5,
    )
    StoppingServer(config).run()


def _log_config() -> dict[str, Any]:
    """uvicorn's logging, and petitrag.server's lines (jobs resumed at start, failures) through
    the same handler: uvicorn sets up only its own loggers, and Python's fallback prints
    warnings and errors only, so the documented "finishing the vectors … (job …)" never showed."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["petitrag"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config
