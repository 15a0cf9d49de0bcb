"""Distributed mode's queue: tasks on Redis, consumed by `enclave worker` processes (ingest.tasks)."""

from __future__ import annotations

from celery import Celery

from enclave import tracing
from ingest.celery_app import QUEUE
from ingest.runner import DOCUMENT, RECORDS, Job

TASKS = {DOCUMENT: "ingest.document", RECORDS: "ingest.records"}


def send(app: Celery, job: Job, countdown: float = 0.0, queue: str = QUEUE) -> None:
    """Sends one job; its retry count travels with it (the policy, not Celery, counts retries)."""
    args = [job.ids[0]] if job.kind == DOCUMENT else [list(job.ids)]
    with tracing.span(f"send {TASKS[job.kind]}", kind="producer"):
        app.send_task(
            TASKS[job.kind],
            args=args,
            kwargs={"retries": job.retries},
            countdown=countdown or None,
            queue=queue,
            headers=tracing.message_headers(),  # `traceparent`: the worker continues this trace
        )


class CeleryQueue:
    def __init__(self, app: Celery, record_batch: int = 32) -> None:
        self.app = app
        self.queue_name: str = app.conf.task_default_queue
        self.record_batch = max(1, record_batch)

    def enqueue(self, document_id: str) -> None:
        send(self.app, Job(DOCUMENT, (document_id,)), queue=self.queue_name)

    def enqueue_records(self, document_ids: list[str]) -> None:
        for i in range(0, len(document_ids), self.record_batch):
            send(
                self.app, Job(RECORDS, tuple(document_ids[i : i + self.record_batch])), queue=self.queue_name
            )

    def depth(self) -> int:
        with self.app.connection_for_write() as conn:
            return int(conn.default_channel.client.llen(self.queue_name))

    def ping(self) -> None:
        with self.app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1)

    def close(self) -> None:
        self.app.close()
