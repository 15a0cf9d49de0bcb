"""Prometheus metrics shared by gateway and workers."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from enclave.documents.lifecycle import Status

REQUEST_LATENCY = Histogram(
    "enclave_http_request_duration_seconds",
    "Gateway request latency by route.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
INGEST_STAGE = Histogram(
    "enclave_ingest_stage_duration_seconds",
    "Time spent in each ingestion stage (parse, chunk, embed, index) per document or batch.",
    ["stage"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
SEARCH_STAGE = Histogram(
    "enclave_search_stage_duration_seconds",
    "Search time by stage.",
    ["stage"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
INGEST_OUTCOMES = Counter("enclave_ingest_documents_total", "Finished ingestion attempts.", ["outcome"])
TIME_TO_FIRST_TOKEN = Histogram(
    "enclave_chat_time_to_first_token_seconds",
    "Streamed answers: time from the grounded prompt being ready to the first answer text sent.",
    buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30),
)


class StateCollector(Collector):
    """Reads documents-by-status and queue depth at scrape time, so the numbers are never stale."""

    def __init__(self, by_status: Callable[[], dict[str, int]], queue_depth: Callable[[], int]) -> None:
        self._by_status = by_status
        self._queue_depth = queue_depth

    def collect(self):  # type: ignore[no-untyped-def]
        g = GaugeMetricFamily("enclave_documents", "Documents by ingestion status.", labels=["status"])
        try:
            counts = self._by_status()
        except Exception:
            counts = {}
        for status in Status:
            g.add_metric([status], counts.get(status, 0))
        yield g
        q = GaugeMetricFamily("enclave_ingest_queue_depth", "Ingestion tasks waiting in the queue.")
        try:
            q.add_metric([], self._queue_depth())
        except Exception:
            q.add_metric([], -1)
        yield q


_registered: list[StateCollector] = []


def register_state(collector: StateCollector) -> None:
    for old in _registered:
        REGISTRY.unregister(old)
    _registered[:] = [collector]
    REGISTRY.register(collector)
