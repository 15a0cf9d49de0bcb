"""Request bodies are limited before any work: the credential is checked before a byte of the body is
read, and the bytes actually received (chunked or not) are counted per route, answering 413 as soon as
the limit is passed. A plain ASGI wrapper, so nothing buffers the body ahead of it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from enclave.audit.actor import Actor
from enclave.errors import EnclaveError, Unauthorized
from enclave.runtime import Runtime
from gateway.deps import client_address

WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
# Routes that take a body before the caller has a credential (the single sign-on code exchange); their
# bodies are still counted against the limit.
PUBLIC = ("/v1/auth/",)


@dataclass(frozen=True)
class Limit:
    bytes: int
    what: str  # for the sentence: "An upload", "A request"
    setting: str


def route_limit(rt: Runtime, path: str) -> Limit:
    """The most a request body on `path` may carry."""
    st = rt.settings
    if path.rstrip("/") == "/v1/documents":
        return Limit(
            st.max_upload_request_mb * 1024 * 1024, "An upload request", "ENCLAVE_MAX_UPLOAD_REQUEST_MB"
        )
    if path.rstrip("/") == "/v1/documents/text":
        return Limit(
            st.max_records_request_mb * 1024 * 1024, "A records request", "ENCLAVE_MAX_RECORDS_REQUEST_MB"
        )
    return Limit(st.max_request_kb * 1024, "A request", "ENCLAVE_MAX_REQUEST_KB")


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyGuard:
    def __init__(self, app: ASGIApp, runtime: Callable[[], Runtime]) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in WITH_BODY
            or not scope["path"].startswith("/v1/")
        ):
            await self.app(scope, receive, send)
            return
        rt = self.runtime()
        try:
            if not scope["path"].startswith(PUBLIC):
                await self._authenticate(rt, scope)
        except EnclaveError as exc:
            await _answer(send, exc.status, exc.message, {"WWW-Authenticate": "Bearer"})
            return
        limit = route_limit(rt, scope["path"])
        declared = _declared_length(scope)
        if declared is not None and declared > limit.bytes:
            await _answer(send, 413, _too_large(limit), {"Connection": "close"})
            return
        await self._counted(scope, receive, send, limit)

    async def _authenticate(self, rt: Runtime, scope: Scope) -> None:
        """A missing or unknown credential is refused before the body is read. The principal is kept for
        the route's dependency, so a request is authenticated once."""
        token = _bearer(scope)
        if token is None:
            raise Unauthorized("Send your API key as 'Authorization: Bearer <key>'.")
        if rt.keys.is_operator(token):
            return
        actor = Actor(rt.audit, source=client_address(scope, rt.settings.trusted_proxies))
        principal = await run_in_threadpool(rt.auth.authenticate, token, actor)  # a refusal is audited
        scope.setdefault("state", {})["principal"] = principal

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: Limit) -> None:
        """Past the limit, 413 goes out at once and the app is told the client left, so it stops reading;
        whatever it answers after that is dropped. (An exception would not do: FastAPI turns any error
        while it reads a body into a 400.)"""
        received = 0
        started = answered = False

        async def counting_receive() -> Message:
            nonlocal received, answered
            if answered:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.bytes and not started:
                    answered = True
                    await _answer(send, 413, _too_large(limit), {"Connection": "close"})
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if answered:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counting_receive, tracking_send)


def _too_large(limit: Limit) -> str:
    size = (
        f"{limit.bytes // (1024 * 1024)} MB" if limit.bytes >= 1024 * 1024 else f"{limit.bytes // 1024} KiB"
    )
    return f"{limit.what} may carry at most {size} ({limit.setting}); send less at a time."


async def _answer(send: Send, status: int, detail: str, headers: dict[str, str]) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
