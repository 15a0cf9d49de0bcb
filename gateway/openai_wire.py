"""The OpenAI chat wire format: the request, completion bodies, SSE chunk frames and Enclave's extras.

Everything a client of `/v1/chat/completions` sees on the wire is built here; the router only decides
which of these to send.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from enclave.audit.events import Outcome
from enclave.chat.prompt import Source
from enclave.chat.service import AnswerService, Prepared
from enclave.errors import NotFound
from enclave.inference.errors import ModelUnavailable

DEFAULT_MODEL = "enclave"
MAX_MESSAGES = 200
SSE_DONE = "data: [DONE]\n\n"
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


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

    def sampling_params(self) -> dict[str, Any]:
        """What is passed on to the model server; unset stays the model server's default."""
        params = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_completion_tokens or self.max_tokens or 512,
            "stop": self.stop,
        }
        return {k: v for k, v in params.items() if v is not None}

    @property
    def include_usage(self) -> bool:
        return bool((self.stream_options or {}).get("include_usage"))


def collection_of(model: str, collections: list[str]) -> str | None:
    """`enclave:<collection>` answers from that collection; any other model name from all of them."""
    if model.startswith(f"{DEFAULT_MODEL}:"):
        name = model.split(":", 1)[1]
        if name not in collections:
            raise NotFound(f"No collection named {name!r}; GET /v1/models lists the ones you can use.")
        return name
    return None


def model_list(collections: list[str], tenant_id: str) -> dict[str, Any]:
    created = int(time.time())
    data = [{"id": DEFAULT_MODEL, "object": "model", "created": created, "owned_by": "enclave"}]
    data += [
        {"id": f"{DEFAULT_MODEL}:{c}", "object": "model", "created": created, "owned_by": tenant_id}
        for c in collections
    ]
    return {"object": "list", "data": data}


def sse(obj: dict[str, Any]) -> str:
    """One server-sent event frame."""
    return "data: " + json.dumps(obj) + "\n\n"


def error_frame(exc: ModelUnavailable) -> dict[str, Any]:
    """Sent in place of the rest of a stream whose model fails after the first bytes went out."""
    return {
        "error": {"message": f"The answering model failed mid-answer: {exc}", "type": "model_unavailable"}
    }


def citations_header(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Headers carry the pointers only (no snippets), for clients that cannot read extra body fields."""
    return [{k: c.get(k) for k in ("index", "document_id", "filename", "page")} for c in items]


def completion_headers(citations: list[dict[str, Any]], conversation_id: str) -> dict[str, str]:
    return {
        "x-enclave-citations": json.dumps(citations_header(citations)),
        "x-enclave-conversation-id": conversation_id,
    }


def stream_headers(sources: list[Source], conversation_id: str) -> dict[str, str]:
    """A stream's citations are only known at its end, so its headers list the sources it was given."""
    pointers = [
        {"index": s.index, "document_id": s.document_id, "filename": s.filename, "page": s.page}
        for s in sources
    ]
    return {
        **STREAM_HEADERS,
        "x-enclave-sources": json.dumps(citations_header(pointers)),
        "x-enclave-conversation-id": conversation_id,
    }


@dataclass(frozen=True)
class Reply:
    """The id, creation time and model name that every body and frame of one answer carries."""

    id: str
    created: int
    model: str

    @classmethod
    def new(cls, model: str) -> Reply:
        return cls(f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), model)

    def _head(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}

    def completion(
        self, text: str, usage: dict[str, int], citations: list[dict[str, Any]], conversation_id: str
    ) -> dict[str, Any]:
        return {
            **self._head("chat.completion"),
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": usage,
            "citations": citations,
            "conversation_id": conversation_id,
        }

    def chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            **self._head("chat.completion.chunk"),
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    def citations_event(self, citations: list[dict[str, Any]], conversation_id: str) -> dict[str, Any]:
        """Enclave's extra event after the last chunk: OpenAI clients skip it (no choices)."""
        return {
            **self._head("enclave.citations"),
            "choices": [],
            "citations": citations,
            "conversation_id": conversation_id,
        }

    def usage_frame(self, usage: dict[str, int]) -> dict[str, Any]:
        """The final chunk that `stream_options.include_usage` asks for."""
        return {**self._head("chat.completion.chunk"), "choices": [], "usage": usage}


async def stream_events(
    answers: AnswerService,
    prep: Prepared,
    reply: Reply,
    first: str,
    pieces: AsyncGenerator[str, None],
    include_usage: bool,
) -> AsyncIterator[str]:
    """The SSE body of a streamed answer whose first piece (`first`) the model already produced. A model
    failure is audited by the answer service; a client that leaves before the end, here, as aborted."""
    text, audited = first, False
    try:
        yield sse(reply.chunk({"role": "assistant", "content": ""}))
        if first:
            yield sse(reply.chunk({"content": first}))
        try:
            async for piece in pieces:
                text += piece
                yield sse(reply.chunk({"content": piece}))
        except ModelUnavailable as exc:
            audited = True
            yield sse(error_frame(exc))
            return
        finally:
            await pieces.aclose()  # a client that went away stops the generation
        yield sse(reply.chunk({}, "stop"))
        usage = await run_in_threadpool(answers.estimate_usage, prep, text)
        audited = True  # from here on `finish` records the answer, even if the client leaves meanwhile
        citations = await run_in_threadpool(answers.finish, prep, text, usage, reply.model)
        yield sse(reply.citations_event(citations, prep.conversation_id))
        if include_usage:
            yield sse(reply.usage_frame(usage))
        yield SSE_DONE
    except (GeneratorExit, asyncio.CancelledError):
        if not audited:
            answers.unfinished(prep, text, Outcome.ABORTED, "The client disconnected before the end.")
        raise
