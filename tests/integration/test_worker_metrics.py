"""A Celery worker serves the Prometheus metrics of all its pool processes (ingestion outcomes and stage
durations happen there, not in the gateway), summed over the processes."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests.conftest import Stack
from tests.procs import free_port
from tests.support import Api, kill_group, wait_until

pytestmark = pytest.mark.integration


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        m = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if m and all(part in m.group(1).split(",") for part in want.split(",") if part):
            return float(m.group(2))
    return 0.0


def test_a_worker_serves_the_ingestion_metrics_of_its_processes(stack: Stack) -> None:
    port = free_port()
    proc = stack.start_worker(
        f"m{uuid.uuid4().hex[:4]}", concurrency=2, ENCLAVE_WORKER_METRICS_PORT=str(port)
    )
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        api: Api = stack.api.with_key(stack.api.create_tenant(f"t-{uuid.uuid4().hex[:6]}")["admin_key"])

        def scrape() -> str:
            try:
                return httpx.get(url, timeout=5).text
            except httpx.HTTPError:
                return ""

        wait_until(lambda: scrape() != "", timeout=120, what="the worker serves its metrics")
        before = scrape()
        ready_before = _sample(before, "enclave_ingest_documents_total", outcome="ready")
        docs = [
            api.upload_text(f"Metrics note {i}: the {i} pallets left dock {i}.", title=f"n{i}")
            for i in range(3)
        ]
        done = api.wait_done([d["id"] for d in docs], timeout=300)
        assert {d["status"] for d in done.values()} == {"ready"}, done

        def counted() -> bool:
            text = scrape()
            return _sample(text, "enclave_ingest_documents_total", outcome="ready") >= ready_before + 3

        wait_until(counted, timeout=30, what="three more ready documents counted")
        text = scrape()
        for stage in ("parse", "embed", "index"):
            assert _sample(text, "enclave_ingest_stage_duration_seconds_count", stage=stage) >= 1, stage
    finally:
        kill_group(proc)
