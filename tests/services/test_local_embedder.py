"""The in-process embedder: a lone query skips the batching wait; concurrent queries share batches."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from enclave.inference.embeddings import LocalEmbedder


@pytest.fixture(scope="module")
def embedder() -> Iterator[LocalEmbedder]:
    emb = LocalEmbedder()
    yield emb
    emb.close()


def _record_batches(emb: LocalEmbedder, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sizes: list[int] = []
    real = emb._encode_locked

    def recording(texts: list[str]) -> Any:
        sizes.append(len(texts))
        return real(texts)

    monkeypatch.setattr(emb, "_encode_locked", recording)
    return sizes


def test_a_lone_query_runs_at_once_and_matches_the_batched_vector(
    embedder: LocalEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = _record_batches(embedder, monkeypatch)
    submitted: list[int] = []
    real_submit = embedder._batcher.submit
    monkeypatch.setattr(
        embedder._batcher, "submit", lambda items: submitted.append(len(items)) or real_submit(items)
    )
    q = embedder.embed_query("vitamin D and bone density")
    assert sizes == [1] and submitted == []  # straight to the model, not through the batcher
    d = embedder.embed_documents(["vitamin D and bone density"])[0]
    assert submitted == [1]
    assert float(np.dot(q, d)) > 0.9999


def test_concurrent_queries_share_batches(embedder: LocalEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    sizes = _record_batches(embedder, monkeypatch)
    texts = [f"question number {i} about protein folding and enzymes" for i in range(48)]
    expected = {t: embedder.embed_documents([t])[0] for t in texts}
    sizes.clear()
    start = threading.Barrier(16)
    out: dict[str, np.ndarray] = {}

    def worker(chunk: list[str]) -> None:
        start.wait()
        for t in chunk:
            out[t] = embedder.embed_query(t)

    threads = [threading.Thread(target=worker, args=(texts[i::16],)) for i in range(16)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sum(sizes) == len(texts) and max(sizes) > 1 and len(sizes) < len(texts)
    assert all(float(np.dot(out[t], expected[t])) > 0.9999 for t in texts)
