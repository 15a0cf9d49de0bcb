"""The Celery worker application: `enclave worker` runs it; `celery -A boot.worker inspect ping` (the
Compose healthcheck) reads it. Each worker process builds its runtime on its first task."""

from __future__ import annotations

from boot.assembly import Mode, build_runtime
from enclave.settings import Settings, get_settings
from ingest.celery_app import IngestApp, make_celery


def worker_app(settings: Settings) -> IngestApp:
    # The worker command migrated the catalog before starting; its processes need not again.
    return make_celery(settings, runtime=lambda: build_runtime(settings, Mode.WORKER, run_migrations=False))


app = worker_app(get_settings())
