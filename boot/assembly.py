"""Builds a Runtime for every caller — `enclave serve`, the gateway, a Celery worker, tests, benchmarks —
choosing its queue by mode and taking any part the caller provides."""

from __future__ import annotations

import os
import socket
from enum import StrEnum

from enclave.catalog.db import Catalog, migrate
from enclave.documents.lifecycle import Lifecycle
from enclave.documents.queue import TaskQueue
from enclave.documents.storage import FileStorage
from enclave.runtime import Parts, Runtime
from enclave.settings import Settings
from ingest.celery_app import make_celery
from ingest.celery_queue import CeleryQueue
from ingest.local_queue import LocalQueue


class Mode(StrEnum):
    EMBEDDED = "embedded"  # one process: ingestion on a local pool, whatever the environment says
    GATEWAY = "gateway"  # uploads go to Celery when a broker is set (else the local pool)
    WORKER = "worker"  # a Celery worker process; its queue re-enqueues through the broker


def _queue(settings: Settings, mode: Mode) -> TaskQueue:
    if mode is Mode.EMBEDDED or not settings.broker_url:
        return LocalQueue(settings.ingest_threads, settings.ingest_record_batch)
    return CeleryQueue(make_celery(settings), settings.ingest_record_batch)


def build_runtime(
    settings: Settings,
    mode: Mode,
    parts: Parts | None = None,
    *,
    queue: TaskQueue | None = None,
    run_migrations: bool = True,
) -> Runtime:
    """The runtime of one process. `queue` replaces the one the mode would pick (tests); a LocalQueue is
    started against the new runtime."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url()
    if run_migrations:
        migrate(url)
    catalog = Catalog(url)
    queue = queue or _queue(settings, mode)
    rt = Runtime(
        settings,
        catalog,
        FileStorage(settings.resolved_storage_dir()),
        queue,
        Lifecycle(catalog, settings.lease_s, socket.gethostname(), settings.ingest_max_attempts),
        parts,
    )
    if isinstance(queue, LocalQueue):
        queue.start(rt)
    return rt
