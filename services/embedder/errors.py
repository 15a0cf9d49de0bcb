"""The embedder's errors in the OpenAI shape `{"error": {"message", "type", "code"}}`, mapped in one place."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


class ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


def error_response(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "code": status}}, status_code=status)


def require_model(requested: str | None, served: str) -> None:
    """A request may name the model it wants; a name other than the one served here is a 404."""
    if requested and requested != served:
        raise ApiError(
            404,
            f"Model {requested!r} is not served here; this service serves {served!r}.",
            "model_not_found",
        )


async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.message, exc.kind)


async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
    parts = [f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors()]
    return error_response(400, "Invalid request: " + "; ".join(parts))


def install(app: FastAPI) -> None:
    app.exception_handler(ApiError)(_api_error)
    app.exception_handler(RequestValidationError)(_invalid)
