"""Fixtures: an in-process embedded Enclave, a real `enclave serve`, and the distributed stack
(PostgreSQL, Redis, Celery worker processes, a FAKE Qdrant REST server)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

from tests.support import OPERATOR_KEY, Api, free_port, kill_group, start, wait_http

PG_ADMIN_URL = os.environ.get("ENCLAVE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_BASE = os.environ.get("ENCLAVE_TEST_REDIS", "redis://127.0.0.1:6379")


class _SharedEmbedder:
    """One model load per test session; runtimes must not close it."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def close(self) -> None:
        pass


@pytest.fixture(scope="session")
def local_embedder() -> Iterator[Any]:
    from enclave.inference.embeddings import LocalEmbedder

    emb = LocalEmbedder()
    yield _SharedEmbedder(emb)
    emb.close()


@pytest.fixture
def make_runtime(tmp_path: Path, local_embedder: Any) -> Iterator[Callable[..., Any]]:
    """An embedded runtime (SQLite, Qdrant Edge, local ingestion pool) under tmp_path."""
    from boot.assembly import Mode, build_runtime
    from enclave.runtime import Parts
    from enclave.settings import Settings

    made: list[Any] = []

    def make(embedder: Any = None, queue: Any = None, **overrides: Any) -> Any:
        settings = Settings(
            data_dir=tmp_path / f"enclave-{len(made)}",
            operator_key=OPERATOR_KEY,
            broker_url="",
            ingest_threads=2,
            **overrides,
        )
        rt = build_runtime(settings, Mode.EMBEDDED, Parts(embedder=embedder or local_embedder), queue=queue)
        made.append(rt)
        return rt

    yield make
    for rt in made:
        rt.close()


@pytest.fixture
def embedded(make_runtime: Callable[..., Any]) -> Iterator[Api]:
    """An Api speaking to an in-process gateway over an embedded runtime, no key yet."""
    from fastapi.testclient import TestClient

    from gateway.app import create_app

    rt = make_runtime()
    with TestClient(create_app(rt)) as http:
        api = Api(http, None)
        api.runtime = rt  # type: ignore[attr-defined]
        yield api


@pytest.fixture
def tenant(embedded: Api) -> Api:
    """An admin of a fresh tenant."""
    t = embedded.create_tenant(f"tenant-{uuid.uuid4().hex[:6]}")
    api = embedded.with_key(t["admin_key"])
    api.tenant_id = t["id"]  # type: ignore[attr-defined]
    return api


# --- a real `enclave serve` process ---------------------------------------------------------------


@dataclass
class Server:
    url: str
    operator_key: str
    data_dir: Path
    log: Path


@pytest.fixture(scope="session")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("serve")
    port = free_port()
    log = data / "serve.log"
    env = {
        "ENCLAVE_OPERATOR_KEY": OPERATOR_KEY,
        # Nothing listens on port 9: if `serve` touched Redis at all, it would fail.
        "ENCLAVE_BROKER_URL": "redis://127.0.0.1:9/0",
        "ENCLAVE_REDIS_URL": "redis://127.0.0.1:9/0",
        "ENCLAVE_DATABASE_URL": "",
    }
    proc = start(
        [
            "-m",
            "boot.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data / "data"),
        ],
        env,
        log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/healthz", timeout=180, proc=proc)
        yield Server(url=url, operator_key=OPERATOR_KEY, data_dir=data / "data", log=log)
    finally:
        kill_group(proc)


# --- the distributed stack ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    import sqlalchemy as sa

    name = f"enclave_test_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with admin.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    import redis

    db = 11
    url = f"{REDIS_BASE}/{db}"
    r = redis.Redis.from_url(url)
    r.flushdb()
    yield url
    r.flushdb()


@pytest.fixture(scope="session")
def fake_qdrant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The FAKE Qdrant REST server (see tests/fakes/qdrant_rest.py)."""
    port = free_port()
    log = tmp_path_factory.mktemp("qdrant") / "qdrant.log"
    proc = start(["-m", "tests.fakes.qdrant_rest", "--port", str(port)], {}, log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/healthz", timeout=60, proc=proc)
        yield url
    finally:
        kill_group(proc)


@dataclass
class Stack:
    api: Api
    runtime: Any
    env: dict[str, str]
    logs: Path

    def start_worker(self, name: str, concurrency: int = 1, beat: bool = False, **env: str) -> Any:
        args = ["-m", "boot.cli", "worker", "--concurrency", str(concurrency), "--hostname", f"{name}@%h"]
        if beat:
            args.append("--beat")
        proc = start(args, {**self.env, **env}, self.logs / f"{name}.log")
        return proc


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    pg_url: str,
    redis_url: str,
    fake_qdrant: str,
    local_embedder: Any,
) -> Iterator[Stack]:
    from fastapi.testclient import TestClient

    from boot.assembly import Mode, build_runtime
    from enclave.runtime import Parts
    from enclave.settings import Settings
    from gateway.app import create_app

    data = tmp_path_factory.mktemp("stack")
    env = {
        "ENCLAVE_DATA_DIR": str(data / "data"),
        "ENCLAVE_DATABASE_URL": pg_url,
        "ENCLAVE_BROKER_URL": redis_url,
        "ENCLAVE_INDEX_BACKEND": "qdrant",
        "ENCLAVE_QDRANT_URL": fake_qdrant,
        "ENCLAVE_OPERATOR_KEY": OPERATOR_KEY,
        "ENCLAVE_LEASE_S": "20",
        "ENCLAVE_VISIBILITY_TIMEOUT_S": "15",
        "ENCLAVE_RECONCILE_INTERVAL_S": "3",
        "ENCLAVE_TASK_MAX_RETRIES": "6",
        "ENCLAVE_LOG_LEVEL": "INFO",
    }
    settings = Settings(**{k.removeprefix("ENCLAVE_").lower(): v for k, v in env.items()})
    rt = build_runtime(settings, Mode.GATEWAY, Parts(embedder=local_embedder))
    with TestClient(create_app(rt)) as http:
        yield Stack(api=Api(http, None), runtime=rt, env=env, logs=data)
    rt.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Cheap tests first, the heavy distributed and browser tests last.
    order = {"unit": 0, "integration": 1, "services": 1, "deploy": 0, "e2e": 3}
    items.sort(key=lambda it: order.get(Path(str(it.fspath)).parent.name, 2))
