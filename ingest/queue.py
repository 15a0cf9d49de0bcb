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

    def enqueue_records(self, document_ids: list[str]) -> None: ...

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

    def enqueue_records(self, document_ids: list[str], retries: int = 0) -> None:
        """JSON records ingest in groups (one embedding call, one index write, one catalog commit each)."""
        size = max(1, self.rt.settings.ingest_record_batch)
        for i in range(0, len(document_ids), size):
            if self._closed:
                return
            with self._lock:
                self._pending += 1
            self.pool.submit(self._run_records, document_ids[i : i + size], retries)

    def _run_records(self, document_ids: list[str], retries: int) -> None:
        from ingest.pipeline import Transient, give_up, process_records

        with self._lock:
            self._pending -= 1
        try:
            result = process_records(self.rt, document_ids)
        except Transient as exc:
            if retries >= self.rt.settings.task_max_retries:
                for doc_id in document_ids:
                    give_up(self.rt, doc_id, str(exc))
            else:
                timer = threading.Timer(
                    backoff_s(retries + 1), self.enqueue_records, args=(document_ids, retries + 1)
                )
                self._start(timer)
            return
        except Exception:
            log.exception("ingestion of records %s… crashed", document_ids[:3])
            return
        for doc_id, delay in result.later.items():
            self._later(delay + 1 if delay else 0, doc_id, retries)

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
        self._start(threading.Timer(delay, self._fire, args=(document_id, retries)))

    def _start(self, timer: threading.Timer) -> None:
        timer.daemon = True
        with self._lock:
            self._timers = {t for t in self._timers if t.is_alive()}
            self._timers.add(timer)
        timer.start()

    def _fire(self, document_id: str, retries: int) -> None:
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

    def __init__(self, broker_url: str, record_batch: int = 32) -> None:
        from ingest.celery_app import QUEUE, make_celery

        self.app = make_celery(broker_url)
        self.queue_name = QUEUE
        self.record_batch = max(1, record_batch)

    def enqueue(self, document_id: str) -> None:
        self.app.send_task("ingest.document", args=[document_id], queue=self.queue_name)

    def enqueue_records(self, document_ids: list[str]) -> None:
        for i in range(0, len(document_ids), self.record_batch):
            self.app.send_task(
                "ingest.records", args=[document_ids[i : i + self.record_batch]], queue=self.queue_name
            )

    def depth(self) -> int:
        with self.app.connection_for_write() as conn:
            return int(conn.default_channel.client.llen(self.queue_name))

    def ping(self) -> None:
        with self.app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1)

    def close(self) -> None:
        self.app.close()
