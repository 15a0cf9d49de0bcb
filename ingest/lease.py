"""Keeps a document's lease alive while a long parse runs, so the reconciler does not hand the same
document to a second worker. A dead worker stops renewing, and the lease runs out as designed."""

from __future__ import annotations

import logging
import threading

from enclave.documents.lifecycle import Lifecycle

log = logging.getLogger(__name__)


class LeaseKeeper:
    def __init__(self, lifecycle: Lifecycle, doc_id: str) -> None:
        self.lifecycle, self.doc_id = lifecycle, doc_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"lease-{doc_id[:8]}")

    def _run(self) -> None:
        interval = max(1.0, self.lifecycle.lease_s / 3)
        while not self._stop.wait(interval):
            try:
                if not self.lifecycle.renew(self.doc_id):
                    return
            except Exception:  # the next beat tries again; the lease is a safety net, not a lock
                log.warning("could not renew the lease of %s", self.doc_id)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
