"""Celery tasks: ingest one document, and reconcile stuck work. Each worker process owns one Runtime."""

from __future__ import annotations

import logging

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_shutdown

from enclave.runtime import Runtime
from enclave.settings import get_settings
from ingest.celery_app import QUEUE, app
from ingest.queue import backoff_s

log = logging.getLogger(__name__)
_runtime: Runtime | None = None


def runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        from ingest.queue import CeleryQueue

        _runtime = Runtime(get_settings(), run_migrations=False)
        _runtime.attach_queue(CeleryQueue(get_settings().broker_url, get_settings().ingest_record_batch))
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
        from enclave.catalog.tables import Document
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


@app.task(name="ingest.records", bind=True, max_retries=None)
def ingest_records(self: Task, document_ids: list[str]) -> dict[str, str]:
    """A group of JSON records from one bulk upload; each still ends ready or failed on its own."""
    from ingest.pipeline import Transient, give_up, process_records

    rt = runtime()
    try:
        result = process_records(rt, document_ids)
    except Transient as exc:
        if self.request.retries >= rt.settings.task_max_retries:
            for doc_id in document_ids:
                give_up(rt, doc_id, str(exc))
            return dict.fromkeys(document_ids, "failed")
        log.warning("records: transient fault, retry %d: %s", self.request.retries + 1, exc)
        raise self.retry(countdown=backoff_s(self.request.retries + 1)) from None
    for doc_id, delay in result.later.items():  # held by another worker, or a file: the one-document task
        ingest_document.apply_async(args=[doc_id], countdown=delay + 1 if delay else 0, queue=QUEUE)
    return {doc_id: o.status for doc_id, o in result.outcomes.items()}


@app.task(name="ingest.reconcile")
def reconcile() -> int:
    from ingest.reconciler import reconcile_once

    return reconcile_once(runtime())
