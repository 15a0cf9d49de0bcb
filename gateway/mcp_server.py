"""Enclave as an MCP server at /mcp (Streamable HTTP, the official `mcp` SDK): tools `search`, `ask`,
`list_documents`, `get_document`, and the caller's collections as resources.

The credential goes through the same `get_principal` as every REST route, before any MCP handling (no
credential: 401 with the REST sentence). The tools call the same services as the REST routes, so they are
scoped by the caller's tenant, role and ACLs and audited with the same records; a refusal comes back as
an MCP tool error carrying the sentence the REST API would answer. Stateless transport: any gateway
replica can serve any request, with no sticky sessions.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import FastAPI
from fastapi.security import HTTPBearer
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import CallToolResult, Resource, TextContent
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from enclave.audit.events import request_source
from enclave.errors import EnclaveError, NotFound
from enclave.inference.errors import ModelRequestError, ModelUnavailable
from enclave.runtime import Runtime
from enclave.search.service import SearchResult
from enclave.tenancy.principal import Principal
from gateway import openai_wire as wire
from gateway.deps import client_address, get_principal
from gateway.errors import AnsweringUnavailable
from gateway.schemas import DocumentOut, DocumentPage, SearchOut

PATH = "/mcp"
COLLECTIONS_URI = "enclave://collections"
T = TypeVar("T")
_bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True)
class Caller:
    principal: Principal
    source: str | None


# The caller of the MCP message being handled, set by `_bind_caller` (SDK middleware) from the HTTP
# request that carried it; the tools and resources read it from here.
_caller: ContextVar[Caller | None] = ContextVar("enclave_mcp_caller", default=None)


class AnswerOut(BaseModel):
    answer: str
    citations: list[dict[str, Any]]  # document_id, filename, page, snippet, score, cited
    conversation_id: str


def _sentence(exc: Exception) -> str | None:
    """The sentence the REST API answers for `exc` (gateway/errors.py), or None for an unexpected error."""
    if isinstance(exc, EnclaveError):
        return exc.message
    if isinstance(exc, ModelUnavailable):
        return str(AnsweringUnavailable(exc))
    if isinstance(exc, AnsweringUnavailable | ModelRequestError):
        return str(exc)
    return None


def _failure(exc: Exception) -> CallToolResult:
    sentence = _sentence(exc)
    if sentence is None:
        raise exc  # the SDK logs it and tells the client only that the tool failed
    return CallToolResult(content=[TextContent(type="text", text=sentence)], is_error=True)


def _current() -> Caller:
    caller = _caller.get()
    if caller is None:  # unreachable over HTTP: the endpoint refuses a request without a principal
        raise RuntimeError("An MCP message arrived without an authenticated caller.")
    request_source.set(caller.source)  # stamps the audit records of this call with the client address
    return caller


async def _guarded(work: Callable[[Principal], Awaitable[T]]) -> T | CallToolResult:
    try:
        return await work(_current().principal)
    except Exception as exc:  # known errors become tool errors; _failure re-raises the rest
        return _failure(exc)


def _in_thread(fn: Callable[..., T], *args: Any) -> Awaitable[T]:
    return run_in_threadpool(fn, *args)


class EnclaveMcp(MCPServer):
    """The SDK's server, with the caller's own collections added to resources/list."""

    def __init__(self, rt: Runtime) -> None:
        super().__init__(
            "enclave",
            title="Enclave",
            instructions="Search and ask over the documents your key may see; answers cite their sources.",
            middleware=[_bind_caller],
        )
        self.rt = rt

    async def list_resources(self) -> list[Resource]:
        names = await _in_thread(self.rt.documents.collections, _current().principal)
        mine = [
            Resource(uri=f"{COLLECTIONS_URI}/{n}", name=f"collection {n}", mime_type="application/json")
            for n in names
        ]
        return [*await super().list_resources(), *mine]


def build_server(rt: Runtime) -> MCPServer:
    server = EnclaveMcp(rt)
    _add_search_tools(server, rt)
    _add_document_tools(server, rt)
    _add_resources(server, rt)
    return server


def _add_search_tools(server: MCPServer, rt: Runtime) -> None:
    @server.tool(description="Hybrid search over your documents: passages with document, page and score.")
    async def search(
        query: Annotated[str, Field(max_length=4000)], collection: str | None = None, top_k: int = 5
    ) -> SearchOut:
        async def work(p: Principal) -> SearchOut:
            rt.rate_limiter.check(p.tenant_id)
            results: list[SearchResult] = await _in_thread(rt.search.search, p, query, collection, top_k)
            return SearchOut(results=results)

        return await _guarded(work)  # type: ignore[return-value]  # a CallToolResult passes through

    @server.tool(description="A grounded answer from your documents, with citations (document, page).")
    async def ask(
        question: Annotated[str, Field(max_length=4000)], collection: str | None = None
    ) -> AnswerOut:
        return await _guarded(lambda p: _answer(rt, p, question, collection))  # type: ignore[return-value]


async def _answer(rt: Runtime, p: Principal, question: str, collection: str | None) -> AnswerOut:
    """What POST /v1/chat/completions does for one non-streamed question, through the same services."""
    rt.rate_limiter.check(p.tenant_id)
    model = f"{wire.DEFAULT_MODEL}:{collection}" if collection else wire.DEFAULT_MODEL
    req = wire.ChatRequest(model=model, messages=[{"role": "user", "content": question}])
    scoped = wire.collection_of(req.model, await _in_thread(rt.documents.collections, p))
    params = req.sampling_params()
    prep = await _in_thread(
        rt.answers.prepare, p, req.messages, scoped, None, params["max_tokens"], rt.settings.answer_top_k
    )
    try:
        text, usage = await rt.answers.complete(prep, params)
    except ModelUnavailable as exc:
        raise AnsweringUnavailable(exc) from exc
    citations = await _in_thread(rt.answers.finish, prep, text, usage, req.model)
    return AnswerOut(answer=text, citations=citations, conversation_id=prep.conversation_id)


def _add_document_tools(server: MCPServer, rt: Runtime) -> None:
    @server.tool(description="Your documents, newest first; filter by collection, status or filename.")
    async def list_documents(
        collection: str | None = None,
        status: str | None = None,
        q: str | None = None,
        limit: Annotated[int, Field(ge=1, le=500)] = 50,
        offset: Annotated[int, Field(ge=0)] = 0,
    ) -> DocumentPage:
        async def work(p: Principal) -> DocumentPage:
            docs, total = await _in_thread(rt.documents.list, p, collection, status, q, limit, offset)
            return DocumentPage(
                documents=[DocumentOut.of(d) for d in docs], total=total, limit=limit, offset=offset
            )

        return await _guarded(work)  # type: ignore[return-value]

    @server.tool(description="One document by id: status, pages, chunks, error, metadata.")
    async def get_document(document_id: str) -> DocumentOut:
        async def work(p: Principal) -> DocumentOut:
            return DocumentOut.of(await _in_thread(rt.documents.get, p, document_id))

        return await _guarded(work)  # type: ignore[return-value]


def _collection_listing(rt: Runtime, p: Principal, name: str) -> str:
    docs, total = rt.documents.list(p, name, None, None, 500, 0)
    if not docs:
        raise NotFound(f"No collection named {name!r}; read {COLLECTIONS_URI} for the ones you can use.")
    items = [
        {"id": d.id, "filename": d.filename, "status": d.status, "pages": d.pages, "title": d.title}
        for d in docs
    ]
    return json.dumps({"collection": name, "total": total, "documents": items})


def _add_resources(server: MCPServer, rt: Runtime) -> None:
    @server.resource(COLLECTIONS_URI, name="collections", mime_type="application/json")
    async def collections() -> str:
        names = await _in_thread(rt.documents.collections, _current().principal)
        return json.dumps({"collections": [{"name": n, "uri": f"{COLLECTIONS_URI}/{n}"} for n in names]})

    @server.resource(f"{COLLECTIONS_URI}/{{name}}", name="collection", mime_type="application/json")
    async def collection(name: str) -> str:
        try:
            return await _in_thread(_collection_listing, rt, _current().principal, name)
        except EnclaveError as exc:
            raise ResourceNotFoundError(exc.message) from exc


# --- SDK middleware: who calls ---------------------------------------------------------------------
async def _bind_caller(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    request = ctx.request
    principal = getattr(getattr(request, "state", None), "principal", None)
    token = _caller.set(Caller(principal, request.state.mcp_source) if principal else None)
    try:
        return await call_next(ctx)
    finally:
        _caller.reset(token)


# --- the HTTP endpoint ----------------------------------------------------------------------------
class McpEndpoint:
    """Authenticates like the REST API, then hands the request to the SDK's session manager."""

    def __init__(self, rt: Runtime, server: MCPServer) -> None:
        self.rt = rt
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        source = client_address(scope, self.rt.settings.trusted_proxies)
        try:
            creds = await _bearer(request)
            await run_in_threadpool(get_principal, request, self.rt, creds, source)  # sets state.principal
        except EnclaveError as exc:
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
            await JSONResponse({"detail": exc.message}, exc.status, headers)(scope, receive, send)
            return
        request.state.mcp_source = source
        await self.server.session_manager.handle_request(scope, receive, send)


def install(app: FastAPI, rt: Runtime) -> None:
    """Mounts /mcp and runs the SDK's session manager for the app's lifetime (a fresh one per start)."""
    server = build_server(rt)
    app.router.routes.append(Route(PATH, McpEndpoint(rt, server), methods=["GET", "POST", "DELETE"]))
    previous = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        server.streamable_http_app(
            streamable_http_path=PATH,
            stateless_http=True,
            max_request_body_size=rt.settings.max_request_kb * 1024,
            # The credential is a bearer header that a browser never adds on its own, so a rebinding
            # page cannot use it; host checks would only break deployments behind a hostname.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        async with server.session_manager.run(), previous(a) as state:
            yield state

    app.router.lifespan_context = lifespan
