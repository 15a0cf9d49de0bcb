"""Prometheus metrics of an ingestion worker. Celery forks its pool processes, and each process counts its
own documents and stage durations, so they use prometheus_client's multiprocess mode: every process
writes its samples to files in PROMETHEUS_MULTIPROC_DIR and the worker's main process serves their sum
on ENCLAVE_WORKER_METRICS_PORT. The mode is chosen when prometheus_client is first imported, which is
why `enclave worker` re-executes itself with the folder set (`multiprocess_env`)."""

from __future__ import annotations

import logging
import os
import tempfile

log = logging.getLogger(__name__)
DIR_VAR = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_env(port: int) -> dict[str, str] | None:
    """The environment to re-execute the worker with, or None when no re-execution is needed (metrics
    off, or the folder is already set)."""
    if not port or os.environ.get(DIR_VAR):
        return None
    folder = tempfile.mkdtemp(prefix="enclave-worker-metrics-")
    return {**os.environ, DIR_VAR: folder}


def serve(port: int) -> bool:
    """In the worker's main process, before the pool forks: the sum of every process's samples on
    `port`. Returns whether it serves."""
    if not port:
        return False
    if not os.environ.get(DIR_VAR):
        log.warning("worker metrics need %s; not serving them on port %d", DIR_VAR, port)
        return False
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    start_http_server(port, registry=registry)
    log.info("worker metrics on port %d", port)
    return True


def process_exited(pid: int) -> None:
    """A pool process ended: its live gauges go (counters and histograms keep their samples)."""
    if os.environ.get(DIR_VAR):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
