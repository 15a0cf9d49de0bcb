"""OpenAI-compatible answering: /v1/models, /v1/chat/completions (stream and non-stream), conversations."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from enclave.inference.errors import ModelUnavailable
from enclave.errors import NotFound, TooLarge
from gateway.deps import PrincipalDep, RuntimeDep

router = APIRouter(prefix="/v1", tags=["chat"])
DEFAULT_MODEL = "enclave"
MAX_MESSAGES = 200


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")  # unknown OpenAI fields are ignored, as clients expect
    model: str = DEFAULT_MODEL
    messages: list[dict[str, Any]] = Field(min_length=1)
    stream: bool = False
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    max_tokens: int | None = Field(None, ge=1, le=8192)
    max_completion_tokens: int | None = Field(None, ge=1, le=8192)
    stop: str | list[str] | None = None
    user: str | None = None
    stream_options: dict[str, Any] | None = None
    conversation_id: str | None = None


class RenameIn(BaseModel):
    title: str = Field(min_length=1, max_length=300)


def _collection_of(model: str, collections: list[str]) -> str | None:
    if model.startswith(f"{DEFAULT_MODEL}:"):
        name = model.split(":", 1)[1]
        if name not in collections:
            raise NotFound(f"No collection named {name!r}; GET /v1/models lists the ones you can use.")
        return name
    return None  # "enclave" or any other name: all of the caller's collections


@router.get("/models")
def models(principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    created = int(time.time())
    data = [{"id": DEFAULT_MODEL, "object": "model", "created": created, "owned_by": "enclave"}]
    data += [
        {"id": f"{DEFAULT_MODEL}:{c}", "object": "model", "created": created, "owned_by": principal.tenant_id}
        for c in rt.documents.collections(principal)
    ]
    return {"object": "list", "data": data}


def _params(req: ChatRequest) -> dict[str, Any]:
    params = {
        "temperature": req.temperature,
        "top_p": req.top_p,
        "max_tokens": req.max_completion_tokens or req.max_tokens or 512,
        "stop": req.stop,
    }
    return {k: v for k, v in params.items() if v is not None}  # unset stays the model server's default


def _unavailable(exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": f"The answering model is unavailable right now; search still works. ({exc})"},
        status_code=503,
        headers={"Retry-After": "10"},
    )


@router.post("/chat/completions", response_model=None)
async def chat_completions(
    request: Request, req: ChatRequest, principal: PrincipalDep, rt: RuntimeDep
) -> Response:
    size = int(request.headers.get("content-length") or 0)
    if size > rt.settings.max_request_kb * 1024 or len(req.messages) > MAX_MESSAGES:
        raise TooLarge(
            f"The chat request is too large (limit {rt.settings.max_request_kb} KiB and {MAX_MESSAGES} "
            "messages). Start a new conversation or shorten the history."
        )
    rt.rate_limiter.check(principal.tenant_id)
    collection = _collection_of(req.model, await run_in_threadpool(rt.documents.collections, principal))
    params = _params(req)
    prep = await run_in_threadpool(
        rt.answers.prepare,
        principal,
        req.messages,
        collection,
        req.conversation_id,
        params["max_tokens"],
        rt.settings.answer_top_k,
    )
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())

    if not req.stream:
        try:
            text, usage = await rt.answers.complete(prep, params)
        except ModelUnavailable as exc:
            return _unavailable(exc)
        citations = await run_in_threadpool(rt.answers.finish, prep, text, usage, req.model)
        body = {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": req.model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": usage,
            "citations": citations,
            "conversation_id": prep.conversation_id,
        }
        headers = {
            "x-enclave-citations": json.dumps(citations_header(citations)),
            "x-enclave-conversation-id": prep.conversation_id,
        }
        return JSONResponse(body, headers=headers)

    pieces = rt.answers.stream(prep, params)
    try:
        first = await anext(pieces, "")  # fail with 503 before any byte is sent if the model is down
    except ModelUnavailable as exc:
        return _unavailable(exc)

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        return (
            "data: "
            + json.dumps(
                {
                    "id": completion_id,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": req.model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
            )
            + "\n\n"
        )

    async def events() -> AsyncIterator[str]:
        text = first
        yield chunk({"role": "assistant", "content": ""})
        if first:
            yield chunk({"content": first})
        try:
            async for piece in pieces:
                text += piece
                yield chunk({"content": piece})
        except ModelUnavailable as exc:
            yield (
                "data: "
                + json.dumps(
                    {
                        "error": {
                            "message": f"The answering model failed mid-answer: {exc}",
                            "type": "model_unavailable",
                        }
                    }
                )
                + "\n\n"
            )
            return
        finally:
            await pieces.aclose()  # a client that went away stops the generation
        yield chunk({}, "stop")
        usage = await run_in_threadpool(rt.answers.estimate_usage, prep, text)
        citations = await run_in_threadpool(rt.answers.finish, prep, text, usage, req.model)
        yield (
            "data: "
            + json.dumps(
                {
                    "id": completion_id,
                    "object": "enclave.citations",
                    "created": created,
                    "model": req.model,
                    "choices": [],
                    "citations": citations,
                    "conversation_id": prep.conversation_id,
                }
            )
            + "\n\n"
        )
        if (req.stream_options or {}).get("include_usage"):
            yield (
                "data: "
                + json.dumps(
                    {
                        "id": completion_id,
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": req.model,
                        "choices": [],
                        "usage": usage,
                    }
                )
                + "\n\n"
            )
        yield "data: [DONE]\n\n"

    headers = {
        "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no",
        "x-enclave-sources": json.dumps(
            citations_header(
                [
                    {"index": s.index, "document_id": s.document_id, "filename": s.filename, "page": s.page}
                    for s in prep.sources
                ]
            )
        ),
        "x-enclave-conversation-id": prep.conversation_id,
    }
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


def citations_header(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Headers carry the pointers only (no snippets), for clients that cannot read extra body fields."""
    return [{k: c.get(k) for k in ("index", "document_id", "filename", "page")} for c in items]


# --- conversations ---------------------------------------------------------------------------------


def _conv(c: Any) -> dict[str, Any]:
    return {
        "id": c.id,
        "title": c.title,
        "created_at": c.created_at.isoformat(),
        "updated_at": c.updated_at.isoformat(),
    }


@router.get("/conversations")
def list_conversations(principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    return {"conversations": [_conv(c) for c in rt.conversations.list(principal)]}


@router.get("/conversations/{conversation_id}")
def get_conversation(conversation_id: str, principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    conv = rt.conversations.get(principal, conversation_id)
    msgs = rt.conversations.messages(principal, conversation_id)
    return {
        **_conv(conv),
        "messages": [
            {
                "role": m.role,
                "content": m.content,
                "citations": m.citations,
                "created_at": m.created_at.isoformat(),
            }
            for m in msgs
        ],
    }


@router.patch("/conversations/{conversation_id}")
def rename_conversation(
    conversation_id: str, body: RenameIn, principal: PrincipalDep, rt: RuntimeDep
) -> dict[str, Any]:
    return _conv(rt.conversations.rename(principal, conversation_id, body.title))


@router.delete("/conversations/{conversation_id}", status_code=204)
def delete_conversation(conversation_id: str, principal: PrincipalDep, rt: RuntimeDep) -> Response:
    rt.conversations.delete(principal, conversation_id)
    return Response(status_code=204)
