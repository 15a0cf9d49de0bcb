"""Celery tasks: ingest one document, a group of records, and reconcile stuck work.

Each is a thin shell around `ingest.runner.run`: the follow-ups it returns (a retry after a delay, records
handed to the one-document path) are sent as new tasks before this one is acknowledged.
"""

from __future__ import annotations

from celery import Task, shared_task
from celery.signals import worker_process_shutdown

from enclave import tracing
from ingest.celery_app import IngestApp
from ingest.celery_queue import send
from ingest.reconciler import reconcile_once
from ingest.runner import DOCUMENT, RECORDS, Job, run


def _run(task: Task, job: Job) -> None:
    app = task.app
    assert isinstance(app, IngestApp), "ingest tasks run in an IngestApp worker (boot.worker)"
    # Message headers are attributes of the request: the trace of the upload (or the retry) goes on.
    with tracing.continued(lambda header: getattr(task.request, header, None)):
        for f in run(app.runtime(), job):
            send(app, f.job, f.delay_s, queue=app.conf.task_default_queue)


@shared_task(name="ingest.document", bind=True)
def ingest_document(self: Task, document_id: str, retries: int = 0) -> None:
    _run(self, Job(DOCUMENT, (document_id,), retries))


@shared_task(name="ingest.records", bind=True)
def ingest_records(self: Task, document_ids: list[str], retries: int = 0) -> None:
    """A group of JSON records from one bulk upload; each still ends ready or failed on its own."""
    _run(self, Job(RECORDS, tuple(document_ids), retries))


@shared_task(name="ingest.reconcile", bind=True)
def reconcile(self: Task) -> int:
    app = self.app
    assert isinstance(app, IngestApp)
    return reconcile_once(app.runtime())


@worker_process_shutdown.connect
def _close(sender: object = None, **_kwargs: object) -> None:
    from celery import current_app

    if isinstance(current_app, IngestApp):
        current_app.close_runtime()
