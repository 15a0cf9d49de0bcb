"""The Celery worker application: `enclave worker` runs it; `celery -A boot.worker inspect ping` (the
Compose healthcheck) reads it. Each worker process builds its runtime on its first task."""

from __future__ import annotations

import os
from typing import Any

from celery.signals import worker_init, worker_process_init, worker_process_shutdown

from boot import worker_metrics
from boot.assembly import Mode, build_runtime
from enclave import tracing
from enclave.settings import Settings, get_settings
from ingest.celery_app import IngestApp, make_celery


def worker_app(settings: Settings) -> IngestApp:
    # The worker command migrated the catalog before starting; its processes need not again.
    return make_celery(settings, runtime=lambda: build_runtime(settings, Mode.WORKER, run_migrations=False))


@worker_process_init.connect
def _start_tracing(**_kwargs: Any) -> None:
    # In each process after the prefork fork: the exporter's thread would not survive it.
    tracing.configure_tracing("worker")


@worker_process_shutdown.connect
def _flush_traces(pid: int | None = None, **_kwargs: Any) -> None:
    tracing.shutdown()
    worker_metrics.process_exited(pid or os.getpid())


@worker_init.connect
def _serve_metrics(**_kwargs: Any) -> None:
    # In the main process, before the pool forks (ENCLAVE_WORKER_METRICS_PORT; off by default).
    worker_metrics.serve(get_settings().worker_metrics_port)


app = worker_app(get_settings())
