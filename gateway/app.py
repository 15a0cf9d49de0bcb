"""The FastAPI application: routers per domain, one error mapper, metrics, and the web UI at /."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse

from enclave.metrics import REQUEST_LATENCY, StateCollector, register_state
from enclave.runtime import Runtime
from gateway import errors
from gateway.routers import admin, documents, health, search

STATIC_DIR = Path(__file__).resolve().parent / "static"
# The UI loads nothing from other hosts (air-gapped sites) and may not be framed.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; "
    "style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _route_of(request: Request) -> str:
    # The route template, not the raw path, so ids do not explode the label set.
    route = request.scope.get("route")
    return getattr(route, "path", "unmatched") if route is not None else "unmatched"


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="Enclave",
        version="0.1.0",
        description="Private retrieval-augmented generation with per-tenant access control.",
    )
    app.state.runtime = runtime
    errors.install(app)
    for module in (health, admin, documents, search):
        app.include_router(module.router)
    _mount_extra_routers(app)

    register_state(
        StateCollector(runtime.documents_by_status, lambda: runtime.queue.depth() if runtime.queue else 0)
    )

    @app.middleware("http")
    async def _observe(request: Request, call_next):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        response: Response = await call_next(request)
        REQUEST_LATENCY.labels(request.method, _route_of(request), str(response.status_code)).observe(
            time.perf_counter() - start
        )
        return response

    _mount_web(app)
    return app


def _mount_extra_routers(app: FastAPI) -> None:
    """Routers of later capabilities (answering) join here when their package is present."""
    try:
        from gateway.routers import chat
    except ImportError:
        return
    app.include_router(chat.router)


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
