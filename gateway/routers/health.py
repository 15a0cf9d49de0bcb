"""Liveness, readiness (each dependency) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from gateway.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(rt: RuntimeDep) -> JSONResponse:
    checks: dict[str, str] = {}

    def probe(name: str, fn) -> None:  # type: ignore[no-untyped-def]
        try:
            fn()
            checks[name] = "ok"
        except Exception as exc:  # readiness reports, it does not raise
            checks[name] = f"unavailable: {type(exc).__name__}: {str(exc)[:200]}"

    def run() -> None:
        probe("catalog", rt.catalog.ping)
        probe("index", lambda: rt.index.ping())
        probe("embedder", lambda: rt.embedder.dimension)
        probe("queue", rt.queue.ping)

    await run_in_threadpool(run)
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ready" if ready else "degraded", "checks": checks}, 200 if ready else 503)


@router.get("/metrics")
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
