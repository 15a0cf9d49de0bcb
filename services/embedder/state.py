"""What the embedder serves once its models are loaded, and the FastAPI dependency that hands it out."""

from __future__ import annotations

import logging
import threading
from typing import Annotated

from fastapi import Depends, Request

from enclave.inference.batching import DynamicBatcher
from services.embedder.config import EmbedderSettings
from services.embedder.encoder import Embedded, Encoder, Ranker, load_encoder, load_ranker, resolve_device
from services.embedder.errors import ApiError
from services.embedder.metrics import Metrics

log = logging.getLogger("services.embedder")


class EmbedderState:
    """The models, their batchers and readiness. Loaded in a thread, so /v1/health/live answers at once."""

    def __init__(self, settings: EmbedderSettings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.encoder: Encoder | None = None
        self.ranker: Ranker | None = None
        self.embed_batcher: DynamicBatcher[str, Embedded] | None = None
        self.rank_batcher: DynamicBatcher[tuple[str, str], float] | None = None
        self.error: str | None = None
        self.ready = threading.Event()
        self.rerank_name = settings.rerank_served_name or (
            settings.rerank_model.rstrip("/").rsplit("/", 1)[-1] if settings.rerank_model else ""
        )

    def load(self) -> None:
        s = self.settings
        try:
            if s.torch_threads:
                import torch

                torch.set_num_threads(s.torch_threads)
            device = resolve_device(s.device)
            self.encoder = load_encoder(s.model, s.cache_dir, device, s.batch_size, s.max_seq_length, s.fp16)
            self.embed_batcher = DynamicBatcher(
                self.encoder.encode,
                s.max_batch,
                s.max_wait_ms,
                "embed",
                on_batch=self.metrics.batch_observer(s.served_name),
            )
            if s.rerank_model:
                self.ranker = load_ranker(s.rerank_model, s.cache_dir, device, s.batch_size or 32, s.fp16)
                self.rank_batcher = DynamicBatcher(
                    self.ranker.score,
                    s.max_batch,
                    s.max_wait_ms,
                    "rank",
                    on_batch=self.metrics.batch_observer(self.rerank_name),
                )
            log.info("embedder ready: %s on %s (dimension %d)", s.served_name, device, self.encoder.dimension)
            self.ready.set()
        except Exception as exc:
            log.exception("loading the models failed")
            self.error = f"{type(exc).__name__}: {exc}"

    def require_ready(self) -> None:
        if not self.ready.is_set():
            raise ApiError(
                503,
                self.error or "The model is still loading; retry in a few seconds.",
                "service_unavailable",
            )

    def close(self) -> None:
        for b in (self.embed_batcher, self.rank_batcher):
            if b is not None:
                b.close()
        if self.encoder is not None:
            self.encoder.close()


async def get_state(request: Request) -> EmbedderState:
    return request.app.state.embedder


StateDep = Annotated[EmbedderState, Depends(get_state)]
