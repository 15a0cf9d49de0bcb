"""Where new documents are handed to be ingested, as the core sees it.

Implementations live above the core (`ingest.local_queue`, `ingest.celery_queue`); the runtime is given
one when it is built, so uploads enqueue from the first request on.
"""

from __future__ import annotations

from typing import Protocol


class TaskQueue(Protocol):
    def enqueue(self, document_id: str) -> None:
        """Ingest one document (a file, or a record another worker held)."""

    def enqueue_records(self, document_ids: list[str]) -> None:
        """Ingest JSON records, in groups (one embedding call and one index write each)."""

    def depth(self) -> int:
        """Jobs waiting (for metrics)."""

    def ping(self) -> None:
        """Raises if the queue cannot take work (readiness)."""

    def close(self) -> None: ...
