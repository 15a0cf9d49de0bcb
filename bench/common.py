"""Shared by the benchmarks: SciFact loading, an embedded Enclave, ingestion through the API."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ENCLAVE_SHARED_DATA", REPO.parent / "shared" / "data"))
SCIFACT = DATA / "beir" / "scifact"
OPERATOR = "bench-operator-key"


@dataclass(frozen=True)
class Doc:
    id: str
    title: str
    text: str


def load_corpus(limit: int | None = None, root: Path = SCIFACT) -> list[Doc]:
    """A BEIR-format corpus (`corpus.jsonl`); SciFact unless `root` names another BEIR folder."""
    out = []
    with (root / "corpus.jsonl").open() as f:
        for line in f:
            d = json.loads(line)
            out.append(Doc(str(d["_id"]), d.get("title", ""), d.get("text", "")))
            if limit and len(out) >= limit:
                break
    return out


def load_queries(split: str, root: Path = SCIFACT) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """The queries judged in `qrels/{split}.tsv` of a BEIR folder, and their graded judgements."""
    qrels: dict[str, dict[str, int]] = {}
    with (root / "qrels" / f"{split}.tsv").open() as f:
        next(f)
        for line in f:
            qid, did, score = line.rstrip("\n").split("\t")
            qrels.setdefault(qid, {})[did] = int(score)
    queries = {}
    with (root / "queries.jsonl").open() as f:
        for line in f:
            q = json.loads(line)
            if str(q["_id"]) in qrels:
                queries[str(q["_id"])] = q["text"]
    return queries, qrels


@contextmanager
def embedded_api(data_dir: Path, **overrides: Any) -> Iterator[Any]:
    """An in-process gateway over an embedded runtime (the same app `enclave serve` runs)."""
    from fastapi.testclient import TestClient

    from boot.assembly import Mode, build_runtime
    from enclave.settings import Settings
    from gateway.app import create_app

    overrides.setdefault("rate_limit_per_minute", 0)  # a benchmark is not abuse
    settings = Settings(data_dir=data_dir, operator_key=OPERATOR, broker_url="", **overrides)
    rt = build_runtime(settings, Mode.EMBEDDED)
    try:
        with TestClient(create_app(rt)) as http:
            yield http, rt
    finally:
        rt.close()


def admin_key(http: Any, data_dir: Path) -> str:
    marker = data_dir / "bench-key.txt"
    if marker.exists():
        return marker.read_text().strip()
    r = http.post(
        "/v1/admin/tenants", json={"name": "bench"}, headers={"Authorization": f"Bearer {OPERATOR}"}
    )
    r.raise_for_status()
    key = r.json()["admin_key"]
    marker.write_text(key)
    return key


def ingest_corpus(
    http: Any, key: str, docs: list[Doc], timeout: float = 3600, collection: str = "scifact"
) -> float:
    """Uploads every doc as one JSON record (bulk requests of 250) and waits until all are ready; returns
    the wall time."""
    h = {"Authorization": f"Bearer {key}"}
    t0 = time.perf_counter()
    for i in range(0, len(docs), 250):
        records = [
            {"title": d.title, "text": d.text, "external_id": d.id, "collection": collection}
            for d in docs[i : i + 250]
        ]
        http.post("/v1/documents/text", headers=h, json=records).raise_for_status()
    while time.perf_counter() - t0 < timeout:
        failed = http.get("/v1/documents", headers=h, params={"status": "failed", "limit": 5}).json()
        if failed["total"]:
            raise RuntimeError(f"ingestion failures: {failed['documents']}")
        # Done when nothing of the collection waits: a record whose content is already stored is not a new
        # document (a corpus may hold duplicates), so counting ready documents could wait forever.
        waiting = sum(
            http.get(
                "/v1/documents", headers=h, params={"collection": collection, "status": st, "limit": 1}
            ).json()["total"]
            for st in ("queued", "processing")
        )
        if not waiting:
            return time.perf_counter() - t0
        time.sleep(0.25)
    raise TimeoutError("ingestion did not finish")


def ensure_scifact_index(data_dir: Path, limit: int | None = None) -> str:
    """Builds (once) an embedded SciFact index under data_dir; returns the tenant admin key."""
    return ensure_beir_index(data_dir, SCIFACT, "scifact", limit)


def ensure_beir_index(data_dir: Path, root: Path, collection: str, limit: int | None = None) -> str:
    """Builds (once) an embedded index of the BEIR corpus in `root` under data_dir, as collection
    `collection`; returns the tenant admin key."""
    done = data_dir / f"{collection}.done"
    with embedded_api(data_dir) as (http, _rt):
        key = admin_key(http, data_dir)
        if not done.exists():
            secs = ingest_corpus(http, key, load_corpus(limit, root), collection=collection)
            done.write_text(f"{secs:.1f}\n")
    return key


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


CACHE = Path.home() / ".cache" / "enclave" / "bench"  # cached retriever lists (bench/fusion_tuning.py)


@dataclass(frozen=True)
class BeirSet:
    """A BEIR-format folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv) and where its index lives."""

    name: str
    root: Path
    data_dir: Path

    @property
    def collection(self) -> str:
        return self.name

    def ensure_index(self) -> str:
        return ensure_beir_index(self.data_dir, self.root, self.collection)


def beir_set(root: Path) -> BeirSet:
    """SciFact keeps the index the other benchmarks use; any other folder gets one of its own."""
    name = root.resolve().name
    return BeirSet(name, root, Path(f"/tmp/enclave-bench-{name}"))


def default_sets() -> list[BeirSet]:
    return [beir_set(SCIFACT), beir_set(DATA / "beir" / "msmarco-subset")]
