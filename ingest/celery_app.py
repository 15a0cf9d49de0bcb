"""The Celery application: Redis broker, late acks, one task at a time per process.

Retries are not Celery's: each job carries its retry count and `ingest.retry` decides, as in the
embedded pool. A worker process builds its runtime on its first task (after the prefork fork), with the
factory the program that started the worker passed in (`boot.worker`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from celery import Celery

from enclave.runtime import Runtime
from enclave.settings import Settings

QUEUE = "enclave.ingest"
# Past the soft limit the task is interrupted and its document fails with a reason; the hard limit, this
# much later, kills a process that did not stop (its task then goes back to the queue).
HARD_LIMIT_GRACE_S = 30


class IngestApp(Celery):
    def __init__(self, settings: Settings, runtime: Callable[[], Runtime] | None, queue: str) -> None:
        super().__init__("enclave", broker=settings.broker_url, include=["ingest.tasks"])
        self._build_runtime = runtime
        self._runtime: Runtime | None = None
        self._lock = threading.Lock()
        self.conf.update(
            task_default_queue=queue,
            task_acks_late=True,  # a task is acknowledged only when it finished…
            task_reject_on_worker_lost=True,  # …and goes back to the queue if its worker dies
            worker_prefetch_multiplier=1,
            task_soft_time_limit=settings.task_time_limit_s,
            task_time_limit=settings.task_time_limit_s + HARD_LIMIT_GRACE_S,
            task_ignore_result=True,
            broker_transport_options={"visibility_timeout": settings.visibility_timeout_s},
            broker_connection_retry_on_startup=True,
            worker_hijack_root_logger=False,
            task_serializer="json",
            accept_content=["json"],
        )
        self.conf.beat_schedule = {
            "reconcile": {"task": "ingest.reconcile", "schedule": float(settings.reconcile_interval_s)}
        }

    def runtime(self) -> Runtime:
        """This worker process's runtime, built on first use."""
        with self._lock:
            if self._runtime is None:
                if self._build_runtime is None:
                    raise RuntimeError(
                        "this Celery app only sends tasks; it was given no runtime to run them"
                    )
                self._runtime = self._build_runtime()
            return self._runtime

    def close_runtime(self) -> None:
        with self._lock:
            if self._runtime is not None:
                self._runtime.close()
                self._runtime = None


def make_celery(
    settings: Settings, runtime: Callable[[], Runtime] | None = None, queue: str = QUEUE
) -> IngestApp:
    """A sender (no runtime: the gateway) or a worker app (with the factory of its runtime)."""
    return IngestApp(settings, runtime, queue)
