"""The ingestion job bodies, shared by Celery workers and the embedded pool: one document, or a group of
JSON records.

parse → chunk → embed (batches) → sparse → upsert with deterministic ids. Every status change goes through
`rt.lifecycle`. A document's own problem fails it with a readable reason; a dependency that is down puts it
back to `queued` and raises Transient, and `ingest.runner` decides with `ingest.retry` what happens next.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass

from enclave import tracing
from enclave.catalog.tables import Document
from enclave.documents.formats import RECORD_MEDIA_TYPE
from enclave.documents.lifecycle import Retired, Status
from enclave.metrics import INGEST_OUTCOMES, INGEST_STAGE
from enclave.runtime import Runtime
from ingest.chunk import Chunk, Chunker
from ingest.guards import GuardLimits
from ingest.indexing import (
    Batch,
    DocumentSummary,
    Indexer,
    embed_and_upsert,
    settle_access,
    upsert_summaries,
)
from ingest.lease import LeaseKeeper
from ingest.parse import DocumentError, OcrOptions, Window, explain, open_document
from ingest.parser_pool import ParseLimits, ParserCrashed, shared_pool
from ingest.retry import TIME_LIMITS, TimeLimitExceeded, Transient, is_transient

log = logging.getLogger(__name__)
NO_TEXT = (
    "No text was found in the document. It may be empty, hold only whitespace, or only pictures without "
    "words (scanned pages and images are read with OCR)."
)


@dataclass
class Outcome:
    status: str
    chunks: int = 0
    error: str | None = None


@dataclass
class BatchOutcome:
    outcomes: dict[str, Outcome]
    # documents for the single-document path, each after a delay in seconds (another worker holds its
    # lease, or it is a file, not a record)
    later: dict[str, float]


class _Deadline:
    """The task time limit, checked between windows and batches (Celery's soft limit also interrupts a
    worker process mid-call; the embedded pool has only this check)."""

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self.at = time.monotonic() + limit_s

    def check(self) -> None:
        if time.monotonic() > self.at:
            raise TimeLimitExceeded(self.limit_s)


def _chunker(rt: Runtime) -> Chunker:
    st = rt.settings
    return Chunker(st.chunk_chars, st.chunk_overlap, st.chunk_min_chars)


def _parse(rt: Runtime, doc: Document) -> tuple[int | None, Iterator[Window]]:
    """A file is parsed in a child process under the parse limits; a record (JSON that Enclave itself
    wrote from a validated request) is read here."""
    path, st = rt.storage.path(doc.storage_key), rt.settings
    if doc.media_type == RECORD_MEDIA_TYPE:
        return open_document(path, doc.media_type, st.max_pages, limits=GuardLimits.from_settings(st))
    limits = ParseLimits(
        st.parse_max_memory_mb,
        st.parse_timeout_s,
        st.max_pages,
        GuardLimits.from_settings(st),
        OcrOptions.from_settings(st),
    )
    return shared_pool(st.parse_concurrency).parse(path, doc.media_type, limits)


def _index_windows(rt: Runtime, doc: Document, indexer: Indexer, deadline: _Deadline) -> int | None:
    """Parses, chunks and indexes the document window by window; returns its page count, or -1 when the
    document was deleted meanwhile."""
    chunker = _chunker(rt)
    t0 = time.perf_counter()
    with tracing.span("parse", **{"enclave.media_type": doc.media_type}):  # the child's first answer
        pages, windows = _parse(rt, doc)
    for window in tracing.spanned_steps("parse", windows):  # each window the child sends
        INGEST_STAGE.labels("parse").observe(time.perf_counter() - t0)
        deadline.check()
        with tracing.span("chunk"):
            chunks = list(chunker.chunks(window.blocks))
        for chunk in chunks:
            indexer.add(chunk)
            deadline.check()
        indexer.flush()
        if window.done < 1.0 and not rt.lifecycle.progress(doc.id, 0.05 + 0.9 * window.done):
            return -1
        t0 = time.perf_counter()
    return pages


def process_document(rt: Runtime, document_id: str) -> Outcome:
    try:
        doc = rt.lifecycle.claim(document_id)
    except Retired as retired:  # points of the crashed attempts must not stay searchable
        drop_points(rt, retired.tenant_id, document_id)
        INGEST_OUTCOMES.labels("failed").inc()
        return Outcome("failed", error=retired.reason)
    if doc is None:
        return Outcome("skipped")
    indexer = Indexer(rt, doc)
    deadline = _Deadline(rt.settings.task_time_limit_s)
    file = doc.media_type != RECORD_MEDIA_TYPE
    try:
        if doc.attempts > 1:  # a retry starts clean: points of an interrupted attempt go first
            rt.index.delete_document(doc.tenant_id, doc.id)
        # Parsing a file keeps its lease alive; a record is too quick to need it.
        with LeaseKeeper(rt.lifecycle, doc.id) if file else nullcontext():
            pages = _index_windows(rt, doc, indexer, deadline)
        if pages == -1:
            rt.index.delete_document(doc.tenant_id, doc.id)
            return Outcome("deleted")
        if indexer.count == 0:
            raise DocumentError(NO_TEXT)
        indexer.finish()
        settle_access(rt, [doc])
    except DocumentError as exc:
        return fail(rt, doc, str(exc))
    except (*TIME_LIMITS, ParserCrashed):
        raise  # not the document's own problem: the retry policy decides
    except Exception as exc:
        if is_transient(exc):
            rt.lifecycle.requeue(doc.id, f"{type(exc).__name__}: {exc}")
            raise Transient(str(exc)) from exc
        log.exception("document %s failed while parsing", doc.id)
        return fail(rt, doc, explain(exc, doc.media_type))
    return _ready(rt, doc, indexer.count, pages or (indexer.max_page or None))


def _ready(rt: Runtime, doc: Document, chunks: int, pages: int | None) -> Outcome:
    if not rt.lifecycle.settle(doc.id, Status.READY, chunks=chunks, pages=pages):
        rt.index.delete_document(doc.tenant_id, doc.id)  # deleted while it was being indexed
        return Outcome("deleted")
    INGEST_OUTCOMES.labels("ready").inc()
    log.info("document %s ready: %d chunks", doc.id, chunks)
    if doc.supersedes:
        retire_superseded(rt, doc)
    return Outcome("ready", chunks=chunks)


def _parse_record(rt: Runtime, doc: Document, chunker: Chunker) -> list[Chunk] | str:
    """A record's chunks, or the reason it fails on its own. Transient faults propagate."""
    try:
        _, windows = open_document(rt.storage.path(doc.storage_key), doc.media_type, rt.settings.max_pages)
        chunks = [c for w in windows for c in chunker.chunks(w.blocks)]
    except DocumentError as exc:
        return str(exc)
    except Exception as exc:
        if is_transient(exc):
            raise
        log.exception("record %s failed while parsing", doc.id)
        return explain(exc, doc.media_type)
    return chunks or "No text was found in the record; send its content in 'text'."


def process_records(rt: Runtime, document_ids: list[str]) -> BatchOutcome:
    """JSON records ingested together: claimed in one transaction, embedded in one call, upserted in one
    write, finished in one transaction. Each record still ends `ready` or `failed` on its own, and a
    transient fault puts every unsettled record of the group back to `queued`."""
    group = rt.lifecycle.claim_group(document_ids, RECORD_MEDIA_TYPE)
    outcomes: dict[str, Outcome] = {i: Outcome("skipped") for i in group.skipped}
    if not group.claimed:
        return BatchOutcome(outcomes, group.later)
    chunker = _chunker(rt)
    work: list[Batch] = []
    try:
        t0 = time.perf_counter()
        with tracing.span("parse", **{"enclave.records": len(group.claimed)}):
            for doc in group.claimed:
                if doc.attempts > 1:  # a retry starts clean
                    rt.index.delete_document(doc.tenant_id, doc.id)
                parsed = _parse_record(rt, doc, chunker)
                if isinstance(parsed, str):
                    outcomes[doc.id] = fail(rt, doc, parsed)
                else:
                    work.append(Batch(doc, parsed, 0, DocumentSummary()))
        INGEST_STAGE.labels("parse").observe(time.perf_counter() - t0)
        if work:
            embed_and_upsert(rt, work)
            upsert_summaries(rt, [(b.doc, b.summary) for b in work])
            settle_access(rt, [b.doc for b in work])
    except Exception as exc:
        _settle_unsettled(rt, [d for d in group.claimed if d.id not in outcomes], exc, outcomes)
        return BatchOutcome(outcomes, group.later)
    _records_ready(rt, work, outcomes)
    return BatchOutcome(outcomes, group.later)


def _settle_unsettled(
    rt: Runtime, docs: list[Document], exc: Exception, outcomes: dict[str, Outcome]
) -> None:
    """A fault of the whole group: transient → every record not settled yet goes back to the queue (and
    Transient is raised); anything else → each fails with a reason instead of staying `processing`."""
    if not is_transient(exc):
        log.exception("records %s… failed", [d.id for d in docs[:3]])
        for doc in docs:
            outcomes[doc.id] = fail(rt, doc, explain(exc, doc.media_type))
        return
    for doc in docs:
        rt.lifecycle.requeue(doc.id, f"{type(exc).__name__}: {exc}")
    raise Transient(str(exc)) from exc


def _records_ready(rt: Runtime, work: list[Batch], outcomes: dict[str, Outcome]) -> None:
    settled = rt.lifecycle.settle_many(
        {b.doc.id: (Status.READY, None, {"chunks": len(b.chunks)}) for b in work}
    )
    for b in work:
        if b.doc.id not in settled:  # deleted while it was being embedded
            rt.index.delete_document(b.doc.tenant_id, b.doc.id)
            outcomes[b.doc.id] = Outcome("deleted")
            continue
        outcomes[b.doc.id] = Outcome("ready", chunks=len(b.chunks))
        INGEST_OUTCOMES.labels("ready").inc()
        if b.doc.supersedes:
            retire_superseded(rt, b.doc)


def fail(rt: Runtime, doc: Document, reason: str) -> Outcome:
    """The document's own problem: its points go, and it ends `failed` with the reason."""
    drop_points(rt, doc.tenant_id, doc.id)
    rt.lifecycle.settle(doc.id, Status.FAILED, reason)
    INGEST_OUTCOMES.labels("failed").inc()
    return Outcome("failed", error=reason)


def drop_points(rt: Runtime, tenant_id: str, document_id: str) -> None:
    """Removes a failed document's points; best effort (the index may be what is down, and the failure
    reason matters more than the cleanup)."""
    try:
        rt.index.delete_document(tenant_id, document_id)
    except Exception:
        log.warning("could not remove points of failed document %s", document_id)


def retire_superseded(rt: Runtime, doc: Document) -> None:
    """The new version of an external id is ready: the old one goes."""
    with rt.catalog.session() as s:
        old = s.get(Document, doc.supersedes)
        if old is None or old.tenant_id != doc.tenant_id:
            return
        s.expunge(old)
    rt.documents.purge(old)
