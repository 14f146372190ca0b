"""`petitrag serve`: an OpenAI-compatible API, native document routes, metrics and a web UI.

``create_app(settings)`` builds the FastAPI application; the ``serve`` command runs it
with uvicorn. See docs/serve.md for the routes, API keys and the ``petitrag`` extension
field of chat completions.
"""

from petitrag.server.app import create_app

__all__ = ["create_app"]
