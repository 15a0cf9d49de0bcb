"""Liveness (the process, and whether loading failed), readiness (models loaded) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from services.embedder.errors import error_response
from services.embedder.state import StateDep

router = APIRouter()


@router.get("/v1/health/live")
async def live(state: StateDep) -> Response:
    if state.error:
        return error_response(503, state.error, "service_unavailable")
    return JSONResponse({"status": "live"})


@router.get("/v1/health/ready")
async def ready(state: StateDep) -> Response:
    if not state.ready.is_set():
        return error_response(503, state.error or "loading", "service_unavailable")
    return JSONResponse({"status": "ready"})


@router.get("/metrics")
async def prometheus(state: StateDep) -> Response:
    return Response(state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
