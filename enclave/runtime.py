"""The shared components of one process (gateway, worker, `enclave serve`), held together.

A Runtime is given its parts; it builds nothing it was given. What it was not given and is heavy (the
embedding model, the index, the chat model) is built from settings on first use, by the factories in
`enclave.inference.factory` and `enclave.index.factory`. `boot.assembly.build_runtime` is the one place that
decides the parts for every caller (CLI, Celery worker, tests, benchmarks).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from enclave.audit.service import AuditLog
from enclave.catalog.db import Catalog
from enclave.chat.conversations import ConversationService
from enclave.chat.service import AnswerService
from enclave.chat.tokens import default_counter
from enclave.documents.archives import ArchiveLimits
from enclave.documents.lifecycle import Lifecycle
from enclave.documents.queue import TaskQueue
from enclave.documents.service import DocumentService
from enclave.documents.storage import FileStorage
from enclave.index.base import VectorIndex
from enclave.index.factory import build_index
from enclave.index.sparse import SparseEncoder
from enclave.inference.embeddings import Embedder
from enclave.inference.factory import build_chat_model, build_embedder, build_ranker
from enclave.metrics import SEARCH_STAGE
from enclave.ratelimit import RateLimiter
from enclave.search.service import SearchService
from enclave.settings import Settings
from enclave.tenancy.authenticator import Authenticator
from enclave.tenancy.keys import KeyService
from enclave.tenancy.oidc import OidcConfig, Provider
from enclave.tenancy.sso_users import SsoSignIn
from enclave.tenancy.users import UserService

log = logging.getLogger(__name__)


@dataclass
class Parts:
    """Components a caller provides instead of the ones settings would build (None: build from settings)."""

    embedder: Embedder | None = None
    index: VectorIndex | None = None
    chat_model: Any = None
    ranker: Any = None


class Runtime:
    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        storage: FileStorage,
        queue: TaskQueue,
        lifecycle: Lifecycle,
        parts: Parts | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.storage = storage
        self.queue = queue
        self.lifecycle = lifecycle
        self._given = parts or Parts()
        # One lock per part: the index can be opened while another thread is still loading the
        # embedding model (an ACL change must not wait for a model load).
        self._locks = {name: threading.Lock() for name in ("embedder", "chat_model", "ranker", "index")}
        self.sparse = SparseEncoder()
        self.audit = AuditLog(catalog)
        operator = settings.operator_key.get_secret_value() if settings.operator_key else None
        self.keys = KeyService(catalog, operator)
        oidc = OidcConfig.from_settings(settings)
        self.sso = SsoSignIn(catalog, Provider(oidc)) if oidc else None
        self.auth = Authenticator(self.keys, self.sso)  # API keys, and OIDC tokens when configured
        self.users = UserService(catalog)
        self.documents = DocumentService(
            catalog,
            storage,
            lambda: self.index,
            queue,
            settings.max_upload_mb,
            ArchiveLimits.from_settings(settings),
        )
        self.search = SearchService(
            lambda: self.index,
            lambda: self.embedder,
            self.sparse,
            self.audit,
            settings.search_candidates,
            observe=lambda stage, s: SEARCH_STAGE.labels(stage).observe(s),
            document_weight=settings.search_document_weight,
            fusion=settings.search_fusion,
        )
        self.conversations = ConversationService(catalog)
        self.rate_limiter = RateLimiter(settings.rate_limit_per_minute, settings.resolved_redis_url())

    def _part(self, name: str, build: Callable[[], Any]) -> Any:
        given = getattr(self._given, name)
        if given is not None:
            return given
        with self._locks[name]:
            if name in self.__dict__:  # built by the thread we waited for
                return self.__dict__[name]
            return build()

    @cached_property
    def embedder(self) -> Embedder:
        return self._part("embedder", lambda: build_embedder(self.settings))

    @cached_property
    def chat_model(self) -> Any:
        """The answering LLM: an OpenAI-compatible server, or llama.cpp in-process (embedded)."""
        return self._part("chat_model", lambda: build_chat_model(self.settings))

    @cached_property
    def ranker(self) -> Any:
        return self._part("ranker", lambda: build_ranker(self.settings))

    @cached_property
    def index(self) -> VectorIndex:
        def build() -> VectorIndex:
            idx = build_index(self.settings)
            idx.ensure_collection(self.settings.embedding_dim)
            return idx

        return self._part("index", build)

    @cached_property
    def answers(self) -> AnswerService:
        return AnswerService(
            self.settings,
            self.search,
            self.conversations,
            self.audit,
            llm=lambda: self.chat_model,
            counter=default_counter,
            ranker=(lambda: self.ranker) if self.settings.rerank_url else None,
        )

    def documents_by_status(self) -> dict[str, int]:
        return self.lifecycle.counts()

    def close(self) -> None:
        """Closes what this runtime built or was given, queue first so no new work starts."""
        self.queue.close()
        for name in ("embedder", "index", "chat_model", "ranker"):
            if name in self.__dict__:
                try:
                    self.__dict__[name].close()
                except Exception:  # closing is best effort at shutdown
                    log.exception("closing %s failed", name)
        if self.sso is not None:
            self.sso.provider.close()
        try:
            self.audit.close()  # drains the records not yet written
        except Exception:
            log.exception("closing the audit log failed")
        self.catalog.dispose()
