"""The FastAPI application: routers per domain, one error mapper, metrics, and the web UI at /."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import FastAPI, Response
from fastapi.responses import FileResponse, JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from enclave import tracing
from enclave.metrics import REQUEST_LATENCY, StateCollector, register_state
from enclave.runtime import Runtime
from gateway import errors, mcp_server
from gateway.body_guard import BodyGuard
from gateway.routers import admin, audit, auth, chat, conversations, documents, health, search, users

STATIC_DIR = Path(__file__).resolve().parent / "static"
# The UI loads nothing from other hosts (air-gapped sites) and may not be framed.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; "
    "style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class LatencyMiddleware:
    """Request latency by method, route template and status: a plain ASGI wrapper (no body buffering, no
    extra task per request, unlike a `@app.middleware("http")` function)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def observe_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observe_send)
        finally:
            # The route template, not the raw path, so ids do not explode the label set.
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUEST_LATENCY.labels(scope["method"], route, str(status)).observe(time.perf_counter() - start)


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="Enclave",
        version="0.1.0",
        description="Private retrieval-augmented generation with per-tenant access control.",
    )
    app.state.runtime = runtime
    errors.install(app)
    for module in (health, admin, auth, users, documents, search, chat, conversations, audit):
        app.include_router(module.router)

    register_state(StateCollector(runtime.documents_by_status, lambda: runtime.queue.depth()))

    app.add_middleware(BodyGuard, runtime=lambda: runtime)  # inner: auth and size before any body is read
    app.add_middleware(LatencyMiddleware)
    tracing.instrument_app(app)  # a server span per request when tracing is on (outermost)
    mcp_server.install(app, runtime)  # /mcp, before the web UI's catch-all route
    _mount_web(app)
    return app


def _mount_web(app: FastAPI) -> None:
    @app.get("/{path:path}", include_in_schema=False)
    def web(path: str) -> Response:
        if path.startswith(("v1/", "v1")):
            return JSONResponse({"detail": "No such API endpoint."}, status_code=404)
        index = STATIC_DIR / "index.html"
        candidate = (STATIC_DIR / path).resolve()
        if path and candidate.is_file() and STATIC_DIR.resolve() in candidate.parents:
            return FileResponse(candidate, headers={"X-Content-Type-Options": "nosniff"})
        if index.is_file():
            return FileResponse(index, headers={"Cache-Control": "no-cache", **PAGE_HEADERS})
        return JSONResponse(
            {"detail": "The web UI is not built. Run `cd web && npm ci && npm run build`."}, status_code=404
        )
