"""FAKE Qdrant server, for tests only: the REST endpoints Enclave uses, backed by qdrant-client's local mode.

A real Qdrant server cannot run on the development machines, yet the distributed tests need one index that
a gateway and separate Celery worker processes share. This process serves the subset of the Qdrant REST
API that `QdrantServerIndex` calls, so the production code path (QdrantClient(url=...)) is exercised
unchanged. Run: python -m tests.fakes.qdrant_rest --port P
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from qdrant_client import QdrantClient, models

app = FastAPI(title="FAKE qdrant for tests")
client = QdrantClient(location=":memory:")
lock = threading.Lock()
# Every write the fake was asked for (method, path, query parameters, JSON body), for tests to inspect
# through GET /fake/requests: what a real cluster would have been told (shards, replicas, wait, ordering).
recorded: list[dict[str, Any]] = []


READS = ("/points/query", "/points/query/batch", "/points/count")


def _is_write(method: str, path: str) -> bool:
    if method not in {"PUT", "POST", "DELETE"} or not path.startswith("/collections/"):
        return False
    return not path.endswith(READS) and not (method == "POST" and path.endswith("/points"))  # retrieve


@app.middleware("http")
async def record(request: Request, call_next: Any) -> Any:
    if _is_write(request.method, request.url.path):
        raw = await request.body()
        entry = {"method": request.method, "path": request.url.path, "query": dict(request.query_params)}
        entry["body"] = json.loads(raw) if raw else None
        with lock:
            recorded.append(entry)
    return await call_next(request)


@app.get("/fake/requests")
def requests_seen(collection: str = "") -> list[dict[str, Any]]:
    with lock:
        return [r for r in recorded if not collection or r["path"].split("/")[2].startswith(collection)]


def ok(result: Any) -> dict[str, Any]:
    return {"result": result, "status": "ok", "time": 0.0}


def _dump(obj: Any) -> Any:
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json", exclude_none=True)
    if isinstance(obj, list):
        return [_dump(o) for o in obj]
    return obj


@app.get("/")
def root() -> dict[str, str]:
    return {"title": "qdrant - FAKE for tests", "version": "1.20.0"}


@app.get("/healthz")
@app.get("/readyz")
def healthz() -> str:
    return "ok"


@app.get("/collections")
def collections() -> dict[str, Any]:
    with lock:
        return ok(_dump(client.get_collections()))


@app.get("/collections/{name}/exists")
def exists(name: str) -> dict[str, Any]:
    with lock:
        return ok({"exists": client.collection_exists(name)})


@app.put("/collections/{name}")
async def create(name: str, request: Request) -> dict[str, Any]:
    body = models.CreateCollection.model_validate(await request.json())
    with lock:
        client.create_collection(name, vectors_config=body.vectors, sparse_vectors_config=body.sparse_vectors)
    return ok(True)


@app.put("/collections/{name}/index")
async def index(name: str, request: Request) -> dict[str, Any]:
    body = models.CreateFieldIndex.model_validate(await request.json())
    with lock:
        client.create_payload_index(name, body.field_name, field_schema=body.field_schema)
    return ok({"operation_id": 0, "status": "completed"})


@app.put("/collections/{name}/points")
async def upsert(name: str, request: Request) -> dict[str, Any]:
    body = models.PointsList.model_validate(await request.json())
    with lock:
        client.upsert(name, points=body.points)
    return ok({"operation_id": 0, "status": "completed"})


@app.post("/collections/{name}/points/delete")
async def delete(name: str, request: Request) -> dict[str, Any]:
    body = models.FilterSelector.model_validate(await request.json())
    with lock:
        client.delete(name, points_selector=body)
    return ok({"operation_id": 0, "status": "completed"})


@app.post("/collections/{name}/points/payload")
async def set_payload(name: str, request: Request) -> dict[str, Any]:
    body = models.SetPayload.model_validate(await request.json())
    with lock:
        selector = body.filter if body.filter is not None else body.points
        client.set_payload(name, payload=body.payload, points=selector, key=body.key)
    return ok({"operation_id": 0, "status": "completed"})


@app.post("/collections/{name}/points/count")
async def count(name: str, request: Request) -> dict[str, Any]:
    body = models.CountRequest.model_validate(await request.json())
    with lock:
        return ok({"count": client.count(name, count_filter=body.filter, exact=True).count})


def _query(name: str, body: models.QueryRequest) -> Any:
    return client.query_points(
        name,
        query=body.query,
        prefetch=body.prefetch,
        using=body.using,
        query_filter=body.filter,
        limit=body.limit or 10,
        with_payload=body.with_payload if body.with_payload is not None else True,
        with_vectors=body.with_vector if body.with_vector is not None else False,
    )


@app.post("/collections/{name}/points/query")
async def query(name: str, request: Request) -> dict[str, Any]:
    started = time.perf_counter()
    body = models.QueryRequest.model_validate(await request.json())
    with lock:
        res = _query(name, body)
    out = ok(_dump(res))
    out["time"] = time.perf_counter() - started
    return out


@app.post("/collections/{name}/points/query/batch")
async def query_batch(name: str, request: Request) -> dict[str, Any]:
    body = models.QueryRequestBatch.model_validate(await request.json())
    with lock:
        return ok([_dump(_query(name, q)) for q in body.searches])


@app.post("/collections/{name}/points")
async def retrieve(name: str, request: Request) -> dict[str, Any]:
    body = models.PointRequest.model_validate(await request.json())
    with lock:
        records = client.retrieve(
            name,
            ids=body.ids,
            with_payload=body.with_payload if body.with_payload is not None else True,
            with_vectors=body.with_vector if body.with_vector is not None else False,
        )
    return ok(_dump(records))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    a = p.parse_args()
    uvicorn.run(app, host=a.host, port=a.port, log_level="warning")


if __name__ == "__main__":
    main()
