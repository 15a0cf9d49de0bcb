"""Re-enqueues documents stuck in queued/processing past their lease (lost messages, dead workers)."""

from __future__ import annotations

import logging

from enclave.runtime import Runtime

log = logging.getLogger(__name__)


def reconcile_once(rt: Runtime) -> int:
    ids = rt.lifecycle.stuck()
    for doc_id in ids:
        rt.queue.enqueue(doc_id)
    if ids:
        log.info("reconciler re-enqueued %d stuck documents", len(ids))
    return len(ids)
