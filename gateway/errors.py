"""The one place that maps exceptions to HTTP errors: `{"detail": "<a sentence>"}`."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from enclave.errors import EnclaveError, RateLimited
from enclave.inference.errors import ModelRequestError, ModelUnavailable

log = logging.getLogger(__name__)


class AnsweringUnavailable(Exception):
    """The chat model is down: chat says so, and that search (which does not need it) still works."""

    def __init__(self, cause: ModelUnavailable) -> None:
        super().__init__(f"The answering model is unavailable right now; search still works. ({cause})")


def install(app: FastAPI) -> None:
    @app.exception_handler(EnclaveError)
    async def _domain(_req: Request, exc: EnclaveError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
        return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=headers)

    @app.exception_handler(ModelUnavailable)
    @app.exception_handler(AnsweringUnavailable)
    async def _model(_req: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "10"})

    @app.exception_handler(ModelRequestError)
    async def _model_refused(_req: Request, exc: ModelRequestError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=502)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_req: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        return JSONResponse(
            {"detail": "The request is not valid: " + "; ".join(parts) + "."}, status_code=422
        )

    @app.exception_handler(Exception)
    async def _unexpected(req: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", req.method, req.url.path)
        return JSONResponse(
            {"detail": "Something went wrong on our side; the error was logged. Try again shortly."},
            status_code=500,
        )
