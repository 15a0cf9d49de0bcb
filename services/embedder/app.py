"""The embedder service: OpenAI `/v1/embeddings`, NIM `/v1/ranking`, models, health and Prometheus metrics.

`create_app` wires the pieces: the routes (services/embedder/routers/), the error mapping (errors.py) and
the loaded models (state.py), which the routes receive through a FastAPI dependency.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import Response

from enclave import tracing
from services.embedder import errors
from services.embedder.config import EmbedderSettings
from services.embedder.metrics import Metrics
from services.embedder.routers import embeddings, health, models, ranking
from services.embedder.state import EmbedderState


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: EmbedderState = app.state.embedder
    threading.Thread(target=state.load, name="load-models", daemon=True).start()
    yield
    state.close()


async def _authorize_and_count(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """With an API key configured, every /v1/ route but health needs it; every request is counted."""
    state: EmbedderState = request.app.state.embedder
    path = request.url.path
    key = state.settings.api_key.get_secret_value() if state.settings.api_key else ""
    protected = key and path.startswith("/v1/") and not path.startswith("/v1/health")
    if protected and request.headers.get("authorization", "") != f"Bearer {key}":
        response: Response = errors.error_response(
            401, "Missing or wrong API key: send 'Authorization: Bearer <key>'.", "authentication_error"
        )
        state.metrics.requests.labels(path, "401").inc()
        return response
    response = await call_next(request)
    if path != "/metrics":
        state.metrics.requests.labels(path, str(response.status_code)).inc()
    return response


def create_app(settings: EmbedderSettings | None = None) -> FastAPI:
    settings = settings or EmbedderSettings()
    app = FastAPI(title="Enclave embedder", lifespan=_lifespan)
    app.state.embedder = EmbedderState(settings, Metrics())
    errors.install(app)
    app.middleware("http")(_authorize_and_count)
    for module in (embeddings, ranking, models, health):
        app.include_router(module.router)
    tracing.instrument_app(app)  # continues the caller's trace (traceparent) when tracing is on
    return app
