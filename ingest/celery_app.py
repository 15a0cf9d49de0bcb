"""The Celery application: Redis broker, late acks, one task at a time per process, bounded retries."""

from __future__ import annotations

from celery import Celery

from enclave.settings import get_settings

QUEUE = "enclave.ingest"


def make_celery(broker_url: str | None = None) -> Celery:
    settings = get_settings()
    app = Celery("enclave", broker=broker_url or settings.broker_url, include=["ingest.tasks"])
    app.conf.update(
        task_default_queue=QUEUE,
        task_acks_late=True,  # a task is acknowledged only when it finished…
        task_reject_on_worker_lost=True,  # …and goes back to the queue if its worker dies
        worker_prefetch_multiplier=1,
        task_time_limit=settings.task_time_limit_s,
        task_soft_time_limit=max(30, settings.task_time_limit_s - 30),
        task_ignore_result=True,
        broker_transport_options={"visibility_timeout": settings.visibility_timeout_s},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        task_serializer="json",
        accept_content=["json"],
    )
    app.conf.beat_schedule = {
        "reconcile": {"task": "ingest.reconcile", "schedule": float(settings.reconcile_interval_s)}
    }
    return app


app = make_celery()
