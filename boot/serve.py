"""Serving HTTP: `enclave serve` (embedded) and `enclave gateway` (distributed)."""

from __future__ import annotations

import logging
import threading

from boot.assembly import Mode, build_runtime
from enclave import tracing
from enclave.runtime import Runtime
from enclave.settings import Settings
from ingest.reconciler import reconcile_once

log = logging.getLogger(__name__)


def _reconcile_loop(rt: Runtime, interval: float, stop: threading.Event) -> None:
    while not stop.wait(interval):
        try:
            reconcile_once(rt)
        except Exception:
            log.exception("reconciler pass failed")


def _resume_local_work(rt: Runtime, stop: threading.Event) -> None:
    """This process is the only one ingesting: after a restart every unfinished document is orphaned, so
    all are picked up again, and a reconciler thread replaces Celery beat."""
    for doc_id in rt.lifecycle.release_all():
        rt.queue.enqueue(doc_id)
    threading.Thread(
        target=_reconcile_loop, args=(rt, rt.settings.reconcile_interval_s, stop), daemon=True
    ).start()


def serve_http(settings: Settings, mode: Mode) -> int:
    import uvicorn

    from gateway.app import create_app

    tracing.configure_tracing("gateway")  # only with OTEL_EXPORTER_OTLP_ENDPOINT set
    rt = build_runtime(settings, mode)
    stop = threading.Event()
    if mode is Mode.EMBEDDED or not settings.broker_url:
        _resume_local_work(rt, stop)
    app = create_app(rt)
    log.info(
        "Enclave listening on http://%s:%d (%s mode, data in %s)",
        settings.host,
        settings.port,
        mode,
        settings.data_dir.resolve(),
    )
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    finally:
        stop.set()
        rt.close()
        tracing.shutdown()
    return 0
