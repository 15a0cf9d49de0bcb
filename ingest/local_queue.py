"""Embedded mode's queue: a thread pool in this process; retries wait on timers.

It runs the same `ingest.runner.run` as the Celery tasks, so a fault ends the same way in both modes.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from enclave import tracing
from enclave.runtime import Runtime
from ingest.runner import DOCUMENT, RECORDS, FollowUp, Job, run

log = logging.getLogger(__name__)


class LocalQueue:
    def __init__(self, threads: int, record_batch: int) -> None:
        self.pool = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="ingest")
        self.record_batch = max(1, record_batch)
        self._rt: Runtime | None = None
        self._pending = 0
        self._lock = threading.Lock()
        self._timers: set[threading.Timer] = set()
        self._closed = False

    def start(self, rt: Runtime) -> None:
        """Binds the consumer: jobs run against `rt` (the runtime this queue was built into)."""
        self._rt = rt

    # --- TaskQueue ------------------------------------------------------------------------------------
    def enqueue(self, document_id: str) -> None:
        self.submit(Job(DOCUMENT, (document_id,)))

    def enqueue_records(self, document_ids: list[str]) -> None:
        for i in range(0, len(document_ids), self.record_batch):
            self.submit(Job(RECORDS, tuple(document_ids[i : i + self.record_batch])))

    def depth(self) -> int:
        return self._pending

    def ping(self) -> None:
        if self._closed:
            raise RuntimeError("the ingestion pool is shut down")

    def close(self) -> None:
        self._closed = True
        with self._lock:
            timers = list(self._timers)
        for t in timers:
            t.cancel()
        self.pool.shutdown(wait=False, cancel_futures=True)

    # --- running ----------------------------------------------------------------------------------
    def submit(self, job: Job) -> None:
        if self._closed:
            return
        with self._lock:
            self._pending += 1
        self.pool.submit(tracing.bind(self._run), job)  # in the trace of the upload that enqueued it

    def _run(self, job: Job) -> None:
        with self._lock:
            self._pending -= 1
        if self._rt is None:
            raise RuntimeError("LocalQueue.start was not called")
        try:
            follow_ups = run(self._rt, job)
        except Exception:  # run() decides every fault; this is only a last line against a bug in it
            log.exception("ingestion job %s crashed", job)
            return
        for f in follow_ups:
            self._later(f)

    def _later(self, f: FollowUp) -> None:
        if f.delay_s <= 0:
            self.submit(f.job)
            return
        timer = threading.Timer(f.delay_s, self.submit, args=(f.job,))
        timer.daemon = True
        with self._lock:
            self._timers = {t for t in self._timers if t.is_alive()}
            self._timers.add(timer)
        timer.start()
