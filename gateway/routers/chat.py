"""OpenAI-compatible answering: /v1/models and /v1/chat/completions (stream and non-stream)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from enclave.chat.service import Prepared
from enclave.errors import TooLarge
from enclave.inference.errors import ModelUnavailable
from enclave.runtime import Runtime
from gateway import openai_wire as wire
from gateway.deps import PrincipalDep, RuntimeDep
from gateway.errors import AnsweringUnavailable
from gateway.openai_wire import ChatRequest, Reply

router = APIRouter(prefix="/v1", tags=["chat"])


@router.get("/models")
def models(principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    return wire.model_list(rt.documents.collections(principal), principal.tenant_id)


@router.post("/chat/completions", response_model=None)
async def chat_completions(
    request: Request, req: ChatRequest, principal: PrincipalDep, rt: RuntimeDep
) -> Response:
    _check_size(
        int(request.headers.get("content-length") or 0), len(req.messages), rt.settings.max_request_kb
    )
    rt.rate_limiter.check(principal.tenant_id)
    collection = wire.collection_of(req.model, await run_in_threadpool(rt.documents.collections, principal))
    params = req.sampling_params()
    prep = await run_in_threadpool(
        rt.answers.prepare,
        principal,
        req.messages,
        collection,
        req.conversation_id,
        params["max_tokens"],
        rt.settings.answer_top_k,
    )
    reply = Reply.new(req.model)
    if req.stream:
        return await _streamed(rt, prep, params, reply, req.include_usage)
    return await _completed(rt, prep, params, reply)


def _check_size(size: int, messages: int, limit_kb: int) -> None:
    if size > limit_kb * 1024 or messages > wire.MAX_MESSAGES:
        raise TooLarge(
            f"The chat request is too large (limit {limit_kb} KiB and {wire.MAX_MESSAGES} "
            "messages). Start a new conversation or shorten the history."
        )


async def _completed(rt: Runtime, prep: Prepared, params: dict[str, Any], reply: Reply) -> JSONResponse:
    try:
        text, usage = await rt.answers.complete(prep, params)
    except ModelUnavailable as exc:
        raise AnsweringUnavailable(exc) from exc
    citations = await run_in_threadpool(rt.answers.finish, prep, text, usage, reply.model)
    return JSONResponse(
        reply.completion(text, usage, citations, prep.conversation_id),
        headers=wire.completion_headers(citations, prep.conversation_id),
    )


async def _streamed(
    rt: Runtime, prep: Prepared, params: dict[str, Any], reply: Reply, include_usage: bool
) -> StreamingResponse:
    pieces = rt.answers.stream(prep, params)
    try:
        first = await anext(pieces, "")  # fail with 503 before any byte is sent if the model is down
    except ModelUnavailable as exc:
        raise AnsweringUnavailable(exc) from exc
    return StreamingResponse(
        wire.stream_events(rt.answers, prep, reply, first, pieces, include_usage),
        media_type="text/event-stream",
        headers=wire.stream_headers(prep.sources, prep.conversation_id),
    )
