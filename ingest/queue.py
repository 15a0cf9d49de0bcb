"""Where uploads go to be ingested: Celery on Redis (distributed) or a local thread pool (embedded).

Both run the same `process_document`, with the same retry policy.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from enclave.runtime import Runtime

log = logging.getLogger(__name__)


def backoff_s(attempt: int) -> float:
    """Exponential backoff for transient faults: 2, 4, 8 … capped at 5 minutes."""
    return float(min(300, 2 ** max(1, attempt)))


class TaskQueue(Protocol):
    def enqueue(self, document_id: str) -> None: ...

    def depth(self) -> int: ...

    def ping(self) -> None: ...

    def close(self) -> None: ...


class LocalQueue:
    """Embedded mode: a thread pool in this process; retries are scheduled with timers."""

    def __init__(self, rt: Runtime, threads: int) -> None:
        self.rt = rt
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ingest")
        self._pending = 0
        self._lock = threading.Lock()
        self._timers: set[threading.Timer] = set()
        self._closed = False

    def enqueue(self, document_id: str, retries: int = 0) -> None:
        if self._closed:
            return
        with self._lock:
            self._pending += 1
        self.pool.submit(self._run, document_id, retries)

    def _run(self, document_id: str, retries: int) -> None:
        from ingest.pipeline import LeaseHeld, Transient, give_up, process_document

        with self._lock:
            self._pending -= 1
        try:
            process_document(self.rt, document_id)
        except LeaseHeld as held:
            self._later(held.seconds + 1, document_id, retries)
        except Transient as exc:
            if retries >= self.rt.settings.task_max_retries:
                give_up(self.rt, document_id, str(exc))
            else:
                self._later(backoff_s(retries + 1), document_id, retries + 1)
        except Exception:
            log.exception("ingestion of %s crashed", document_id)

    def _later(self, delay: float, document_id: str, retries: int) -> None:
        timer = threading.Timer(delay, self._fire, args=(document_id, retries))
        timer.daemon = True
        with self._lock:
            self._timers.add(timer)
        timer.start()

    def _fire(self, document_id: str, retries: int) -> None:
        with self._lock:
            self._timers = {t for t in self._timers if t.is_alive()}
        self.enqueue(document_id, retries)

    def depth(self) -> int:
        return self._pending

    def ping(self) -> None:
        if self._closed:
            raise RuntimeError("the ingestion pool is shut down")

    def close(self) -> None:
        self._closed = True
        for t in list(self._timers):
            t.cancel()
        self.pool.shutdown(wait=False, cancel_futures=True)


class CeleryQueue:
    """Distributed mode: a Celery task on Redis, consumed by `enclave worker` processes."""

    def __init__(self, broker_url: str) -> None:
        from ingest.celery_app import QUEUE, make_celery

        self.app = make_celery(broker_url)
        self.queue_name = QUEUE

    def enqueue(self, document_id: str) -> None:
        self.app.send_task("ingest.document", args=[document_id], queue=self.queue_name)

    def depth(self) -> int:
        with self.app.connection_for_write() as conn:
            return int(conn.default_channel.client.llen(self.queue_name))

    def ping(self) -> None:
        with self.app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1)

    def close(self) -> None:
        self.app.close()
