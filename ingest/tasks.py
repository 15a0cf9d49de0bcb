"""Celery tasks: ingest one document, and reconcile stuck work. Each worker process owns one Runtime."""

from __future__ import annotations

import logging

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_shutdown

from enclave.runtime import Runtime
from enclave.settings import get_settings
from ingest.celery_app import app
from ingest.queue import backoff_s

log = logging.getLogger(__name__)
_runtime: Runtime | None = None


def runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        from ingest.queue import CeleryQueue

        _runtime = Runtime(get_settings(), run_migrations=False)
        _runtime.attach_queue(CeleryQueue(get_settings().broker_url))
    return _runtime


@worker_process_shutdown.connect
def _close(**_kwargs: object) -> None:
    if _runtime is not None:
        _runtime.close()


@app.task(name="ingest.document", bind=True, max_retries=None)
def ingest_document(self: Task, document_id: str) -> str:
    from ingest.pipeline import LeaseHeld, Transient, give_up, process_document

    rt = runtime()
    try:
        return process_document(rt, document_id).status
    except LeaseHeld as held:
        raise self.retry(countdown=held.seconds + 1) from None
    except Transient as exc:
        if self.request.retries >= rt.settings.task_max_retries:
            give_up(rt, document_id, str(exc))
            return "failed"
        log.warning("document %s: transient fault, retry %d: %s", document_id, self.request.retries + 1, exc)
        raise self.retry(countdown=backoff_s(self.request.retries + 1)) from None
    except SoftTimeLimitExceeded:
        from enclave.catalog.models import Document
        from ingest.pipeline import _fail

        with rt.catalog.session() as s:
            doc = s.get(Document, document_id)
            if doc is not None:
                s.expunge(doc)
        if doc is not None:
            _fail(
                rt,
                doc,
                f"Processing took longer than the {rt.settings.task_time_limit_s}s limit; "
                "split the document into smaller files.",
            )
        return "failed"


@app.task(name="ingest.reconcile")
def reconcile() -> int:
    from ingest.reconciler import reconcile_once

    return reconcile_once(runtime())
