"""Assembles the shared components from settings: one Runtime per process (gateway, worker, serve)."""

from __future__ import annotations

import logging
import os
import threading
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from enclave.audit.service import AuditLog
from enclave.catalog.db import Catalog, migrate
from enclave.catalog.tables import Document
from enclave.chat.conversations import ConversationService
from enclave.ratelimit import RateLimiter
from enclave.chat.service import AnswerService
from enclave.documents.service import DocumentService
from enclave.documents.storage import FileStorage
from enclave.index.base import VectorIndex
from enclave.index.sparse import SparseEncoder
from enclave.metrics import SEARCH_STAGE
from enclave.inference.embeddings import Embedder
from enclave.search.service import SearchService
from enclave.settings import Settings
from enclave.tenancy.keys import KeyService

if TYPE_CHECKING:
    from ingest.queue import TaskQueue

log = logging.getLogger(__name__)


def build_index(settings: Settings) -> VectorIndex:
    if settings.index_backend == "qdrant":
        from enclave.index.qdrant_server import QdrantServerIndex

        api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        path = settings.qdrant_path or str(settings.data_dir / "qdrant-local")
        return QdrantServerIndex(settings.collection, url=settings.qdrant_url, api_key=api_key, path=path)
    if settings.index_backend == "edge":
        from enclave.index.edge import EdgeIndex

        return EdgeIndex(settings.data_dir / "index" / settings.collection)
    raise ValueError(f"ENCLAVE_INDEX_BACKEND must be 'edge' or 'qdrant', not {settings.index_backend!r}")


def build_embedder(settings: Settings) -> Embedder:
    if settings.embedder_url:
        from enclave.inference.http_clients import HttpEmbedder

        key = settings.embedder_api_key.get_secret_value() if settings.embedder_api_key else None
        return HttpEmbedder(
            settings.embedder_url, settings.embedder_model, api_key=key, timeout_s=settings.model_timeout_s
        )
    from enclave.inference.embeddings import LocalEmbedder

    return LocalEmbedder(batch_size=settings.embed_batch_size)


class Runtime:
    """Lazily built components; heavy ones (model, index) are created on first use."""

    def __init__(self, settings: Settings, run_migrations: bool = True) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("DO_NOT_TRACK", "1")
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        url = settings.resolved_database_url()
        if run_migrations:
            migrate(url)
        self.catalog = Catalog(url)
        self.storage = FileStorage(settings.resolved_storage_dir())
        self.sparse = SparseEncoder()
        self.audit = AuditLog(self.catalog)
        operator = settings.operator_key.get_secret_value() if settings.operator_key else None
        self.keys = KeyService(self.catalog, operator)
        self.documents = DocumentService(
            self.catalog, self.storage, lambda: self.index, settings.max_upload_mb
        )
        self.search = SearchService(
            lambda: self.index,
            lambda: self.embedder,
            self.sparse,
            self.audit,
            settings.search_candidates,
            observe=lambda stage, s: SEARCH_STAGE.labels(stage).observe(s),
            document_weight=settings.search_document_weight,
        )
        self.conversations = ConversationService(self.catalog)
        self.rate_limiter = RateLimiter(settings.rate_limit_per_minute, settings.resolved_redis_url())
        self._lock = threading.RLock()
        self.queue: TaskQueue | None = None
        # Parsing a large file takes hundreds of MB; records are cheap. Threads are many, parsers few.
        self.parse_slots = threading.BoundedSemaphore(max(1, settings.parse_concurrency))

    def attach_queue(self, queue: TaskQueue) -> None:
        """Uploads enqueue through this (Celery in distributed mode, a thread pool when embedded)."""
        self.queue = queue
        self.documents.enqueue = queue.enqueue
        self.documents.enqueue_records = queue.enqueue_records

    @cached_property
    def embedder(self) -> Embedder:
        with self._lock:
            return build_embedder(self.settings)

    @cached_property
    def chat_model(self) -> Any:
        """The answering LLM: an OpenAI-compatible server, or llama.cpp in-process (embedded)."""
        with self._lock:
            st = self.settings
            if st.llm_url:
                from enclave.inference.http_clients import ChatClient

                key = st.llm_api_key.get_secret_value() if st.llm_api_key else None
                return ChatClient(st.llm_url, st.llm_model, api_key=key, timeout_s=st.llm_timeout_s)
            from enclave.inference.local_chat import LocalChatModel

            return LocalChatModel(context_tokens=st.llm_context_tokens)

    @cached_property
    def ranker(self) -> Any:
        from enclave.inference.http_clients import RankingClient

        st = self.settings
        return RankingClient(st.rerank_url, st.rerank_model, timeout_s=st.model_timeout_s)

    @cached_property
    def answers(self) -> AnswerService:
        from enclave.chat.tokens import default_counter

        return AnswerService(
            self.settings,
            self.search,
            self.conversations,
            self.audit,
            llm=lambda: self.chat_model,
            counter=default_counter,
            ranker=(lambda: self.ranker) if self.settings.rerank_url else None,
        )

    @cached_property
    def index(self) -> VectorIndex:
        with self._lock:
            idx = build_index(self.settings)
            idx.ensure_collection(self.settings.embedding_dim)
            return idx

    def documents_by_status(self) -> dict[str, int]:
        with self.catalog.session() as s:
            rows = s.execute(select(Document.status, func.count()).group_by(Document.status)).all()
        return {status: int(n) for status, n in rows}

    def close(self) -> None:
        if self.queue is not None:
            self.queue.close()
        for name in ("embedder", "index", "chat_model", "ranker"):
            if name in self.__dict__:
                try:
                    self.__dict__[name].close()
                except Exception:  # closing is best effort at shutdown
                    log.exception("closing %s failed", name)
        try:
            self.audit.close()  # drains the records not yet written
        except Exception:
            log.exception("closing the audit log failed")
        self.catalog.dispose()
