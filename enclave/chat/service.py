"""Answering: rewrite → retrieve (access-filtered) → optional rerank → grounded prompt → LLM → citations.

When nothing relevant is retrieved the answer says so and the LLM is not called.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from enclave import tracing
from enclave.audit.events import ANSWER, Outcome
from enclave.audit.service import AuditLog
from enclave.chat.citations import CitationFilter, cited_indices, strip_invalid
from enclave.chat.conversations import ConversationService
from enclave.chat.prompt import Source, build_messages
from enclave.chat.rewrite import standalone_query
from enclave.chat.tokens import TokenCounter
from enclave.errors import Invalid
from enclave.inference.errors import ModelRequestError, ModelUnavailable
from enclave.metrics import TIME_TO_FIRST_TOKEN
from enclave.search.service import SearchService
from enclave.settings import Settings
from enclave.tenancy.principal import Principal

NOT_COVERED = (
    "I could not find this in your documents. None of the passages I can access is relevant enough to "
    "answer it, so I will not guess. Try rephrasing, or upload a document that covers it."
)


@dataclass
class Prepared:
    principal: Principal
    question: str
    query: str
    collection: str | None
    conversation_id: str
    sources: list[Source]
    messages: list[dict[str, str]] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    @property
    def covered(self) -> bool:
        return bool(self.sources)


def citation_dicts(sources: list[Source], text: str) -> list[dict[str, Any]]:
    """The sources the answer cites; if it cites none, the sources it was given, marked as not cited."""
    idx = cited_indices(text, len(sources))
    chosen = [sources[i - 1] for i in idx] if idx else sources
    return [
        {
            "index": s.index,
            "document_id": s.document_id,
            "filename": s.filename,
            "page": s.page,
            "snippet": s.text[:400],
            "score": round(s.score, 4),
            "cited": bool(idx),
        }
        for s in chosen
    ]


class AnswerService:
    def __init__(
        self,
        settings: Settings,
        search: SearchService,
        conversations: ConversationService,
        audit: AuditLog,
        llm: Callable[[], Any],
        counter: Callable[[], TokenCounter],
        ranker: Callable[[], Any] | None = None,
    ) -> None:
        self.settings = settings
        self.search = search
        self.conversations = conversations
        self.audit = audit
        self._llm = llm
        self._counter = counter
        self._ranker = ranker

    @property
    def llm(self) -> Any:
        return self._llm()

    def prepare(
        self,
        principal: Principal,
        messages: list[dict[str, Any]],
        collection: str | None,
        conversation_id: str | None,
        answer_tokens: int,
        top_k: int = 6,
    ) -> Prepared:
        turns = [m for m in messages if m.get("role") in ("user", "assistant")]
        if not turns or turns[-1]["role"] != "user" or not str(turns[-1].get("content") or "").strip():
            raise Invalid("The last message must be a non-empty user message with the question.")
        question = _text(turns[-1]["content"])
        history = [{"role": m["role"], "content": _text(m.get("content"))} for m in turns[:-1]]
        if conversation_id:
            stored = self.conversations.history(principal, conversation_id)
            if not history:
                history = stored
        else:
            conversation_id = self.conversations.create(principal, question[:80]).id

        rewriter = self.llm if self.settings.query_rewrite == "llm" else None
        query = standalone_query(question, history, rewriter)
        k = top_k * 4 if self._ranker else top_k
        results = self.search.retrieve(principal, query, collection, top_k=k, with_relevance=True)
        if self._ranker and results:
            with tracing.span("rerank"):
                order = self._ranker().rank(query, [r.text for r in results])
            results = [results[i] for i, _ in order][:top_k]
        relevant = [r for r in results if (r.relevance or 0.0) >= self.settings.answer_min_score]
        sources = [
            Source(i + 1, r.document_id, r.filename, r.page, r.text, r.relevance or r.score)
            for i, r in enumerate(relevant)
        ]
        prep = Prepared(principal, question, query, collection, conversation_id, sources)
        if sources:
            prep.messages, prep.sources = build_messages(
                question, sources, history, self._counter(), self.settings.llm_context_tokens, answer_tokens
            )
        return prep

    # --- generation ------------------------------------------------------------------------------
    async def complete(self, prep: Prepared, params: dict[str, Any]) -> tuple[str, dict[str, int]]:
        if not prep.covered:
            return NOT_COVERED, {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        try:
            with tracing.span("llm"):
                out = await self.llm.acomplete(prep.messages, **params)
        except Exception as exc:
            self.unfinished(prep, "", *_failure(exc))
            raise
        text = strip_invalid(out["choices"][0]["message"].get("content") or "", len(prep.sources))
        usage = out.get("usage") or {}
        return text, {k: int(usage.get(k, 0)) for k in ("prompt_tokens", "completion_tokens", "total_tokens")}

    async def stream(self, prep: Prepared, params: dict[str, Any]) -> AsyncIterator[str]:
        if not prep.covered:
            yield NOT_COVERED
            return
        filt = CitationFilter(len(prep.sources))
        sent = ""
        try:
            async for chunk in tracing.spanned_stream("llm", self.llm.astream(prep.messages, **params)):
                choices = chunk.get("choices") or []
                delta = (choices[0].get("delta") or {}).get("content") if choices else None
                if delta:
                    text = filt.feed(delta)
                    if text:
                        if not sent:
                            TIME_TO_FIRST_TOKEN.observe(time.perf_counter() - prep.started)
                        sent += text
                        yield text
        except Exception as exc:  # before the first piece or mid-stream; a client that left is not this
            self.unfinished(prep, sent, *_failure(exc))
            raise
        tail = filt.flush()
        if tail:
            yield tail

    def estimate_usage(self, prep: Prepared, text: str) -> dict[str, int]:
        """Token counts for a streamed answer (stream chunks from the model server carry none)."""
        counter = self._counter()
        prompt = sum(counter.count(m["content"]) for m in prep.messages)
        completion = counter.count(text)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def finish(self, prep: Prepared, text: str, usage: dict[str, int], model: str) -> list[dict[str, Any]]:
        citations = citation_dicts(prep.sources, text) if prep.covered else []
        self.conversations.append(prep.principal, prep.conversation_id, "user", prep.question)
        self.conversations.append(prep.principal, prep.conversation_id, "assistant", text, citations)
        self.audit.record(
            prep.principal,
            "answer",
            query=prep.question,
            document_ids=[c["document_id"] for c in citations],
            search_query=prep.query,
            model=model,
            llm_called=prep.covered,
            latency_ms=round((time.perf_counter() - prep.started) * 1000, 1),
            prompt_tokens=usage.get("prompt_tokens", 0),
            completion_tokens=usage.get("completion_tokens", 0),
            conversation_id=prep.conversation_id,
        )
        return citations

    def unfinished(self, prep: Prepared, text: str, outcome: Outcome, reason: str) -> None:
        """Records an answer that did not complete: the model failed, or the client went away. Nothing
        is added to the conversation."""
        cited = citation_dicts(prep.sources, text) if prep.covered and text else []
        self.audit.record(
            prep.principal,
            ANSWER,
            query=prep.question,
            document_ids=[c["document_id"] for c in cited if c["cited"]],
            outcome=outcome,
            reason=reason,
            search_query=prep.query,
            llm_called=prep.covered,
            latency_ms=round((time.perf_counter() - prep.started) * 1000, 1),
            answered_chars=len(text),
            conversation_id=prep.conversation_id,
        )


def _failure(exc: Exception) -> tuple[Outcome, str]:
    """The outcome of an answer whose model call raised `exc`, and a reason (no prompt, no URL)."""
    if isinstance(exc, ModelUnavailable):
        return Outcome.FAILED, f"The {exc.service} model was unavailable: {exc.reason}"[:300]
    if isinstance(exc, ModelRequestError):
        return Outcome.FAILED, f"The {exc.service} model refused the request (HTTP {exc.status})."
    return Outcome.ERROR, type(exc).__name__


def _text(content: Any) -> str:
    """OpenAI content is a string or a list of parts; only text parts matter here."""
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content or "")
