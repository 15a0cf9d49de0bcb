"""`enclave` command line: serve (embedded), gateway, worker, migrate, admin, models."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from pathlib import Path

from enclave.settings import Settings, get_settings


def _setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def _runtime(settings: Settings, embedded: bool):  # type: ignore[no-untyped-def]
    from enclave.runtime import Runtime
    from ingest.queue import CeleryQueue, LocalQueue

    rt = Runtime(settings)
    if settings.broker_url and not embedded:
        rt.attach_queue(CeleryQueue(settings.broker_url, settings.ingest_record_batch))
    else:
        rt.attach_queue(LocalQueue(rt, settings.ingest_threads))
    return rt


def _reconcile_loop(rt, interval: float, stop: threading.Event) -> None:  # type: ignore[no-untyped-def]
    from ingest.reconciler import reconcile_once

    while not stop.wait(interval):
        try:
            reconcile_once(rt)
        except Exception:
            logging.getLogger(__name__).exception("reconciler pass failed")


def cmd_serve(args: argparse.Namespace) -> int:
    """Everything in one process: SQLite, Qdrant Edge, in-process models, a local ingestion pool."""
    overrides = {"host": args.host, "port": args.port}
    if args.data_dir:
        overrides["data_dir"] = Path(args.data_dir)
    settings = get_settings().model_copy(update={k: v for k, v in overrides.items() if v is not None})
    # Embedded means embedded: no broker and no Redis, whatever the environment says.
    settings = settings.model_copy(update={"broker_url": "", "redis_url": ""})
    return _serve_http(settings, embedded=True)


def cmd_gateway(args: argparse.Namespace) -> int:
    settings = get_settings().model_copy(
        update={k: v for k, v in {"host": args.host, "port": args.port}.items() if v is not None}
    )
    return _serve_http(settings, embedded=False)


def _serve_http(settings: Settings, embedded: bool) -> int:
    import uvicorn

    from gateway.app import create_app

    _setup_logging(settings)
    rt = _runtime(settings, embedded)
    stop = threading.Event()
    if embedded or not settings.broker_url:
        # After a restart every unfinished document is orphaned: pick them all up again.
        from sqlalchemy import update

        from enclave.catalog.tables import Document

        with rt.catalog.session() as s:
            s.execute(
                update(Document)
                .where(Document.status == "processing")
                .values(status="queued", lease_until=None)
            )
        from sqlalchemy import select

        with rt.catalog.session() as s:
            pending = s.scalars(select(Document.id).where(Document.status == "queued")).all()
        for doc_id in pending:
            rt.queue.enqueue(doc_id)
        threading.Thread(
            target=_reconcile_loop, args=(rt, settings.reconcile_interval_s, stop), daemon=True
        ).start()
    app = create_app(rt)
    logging.getLogger(__name__).info(
        "Enclave listening on http://%s:%d (%s mode, data in %s)",
        settings.host,
        settings.port,
        "embedded" if embedded else "distributed",
        settings.data_dir.resolve(),
    )
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    finally:
        stop.set()
        rt.close()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    settings = get_settings()
    _setup_logging(settings)
    if not settings.broker_url:
        print("enclave worker needs ENCLAVE_BROKER_URL (e.g. redis://localhost:6379/0).", file=sys.stderr)
        return 2
    from enclave.catalog.db import migrate
    from ingest.celery_app import QUEUE, app

    migrate(settings.resolved_database_url())
    argv = ["worker", "-Q", QUEUE, "--concurrency", str(args.concurrency), "--loglevel", settings.log_level]
    if args.beat:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        argv += ["--beat", "--schedule", str(settings.data_dir / "celerybeat-schedule")]
    if args.hostname:
        argv += ["--hostname", args.hostname]
    app.worker_main(argv)
    return 0


def cmd_beat(args: argparse.Namespace) -> int:
    """The periodic scheduler (reconciler); run exactly one per stack."""
    settings = get_settings()
    _setup_logging(settings)
    if not settings.broker_url:
        print("enclave beat needs ENCLAVE_BROKER_URL (e.g. redis://localhost:6379/0).", file=sys.stderr)
        return 2
    from ingest.celery_app import app

    app.start(["beat", "--schedule", args.schedule, "--loglevel", settings.log_level])
    return 0


def cmd_migrate(_args: argparse.Namespace) -> int:
    from enclave.catalog.db import migrate

    migrate(get_settings().resolved_database_url())
    print("catalog schema is up to date")
    return 0


def _keys():  # type: ignore[no-untyped-def]
    from enclave.catalog.db import Catalog, migrate
    from enclave.tenancy.keys import KeyService

    s = get_settings()
    s.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(s.resolved_database_url())
    return KeyService(Catalog(s.resolved_database_url()), None)


def cmd_create_tenant(args: argparse.Namespace) -> int:
    tenant, key = _keys().create_tenant(args.name)
    print(json.dumps({"id": tenant.id, "name": tenant.name, "admin_key": key.key}))
    return 0


def cmd_create_key(args: argparse.Namespace) -> int:
    key = _keys().create_key(args.tenant, args.name or args.role, args.role)
    print(json.dumps({"id": key.id, "key": key.key, "role": key.role}))
    return 0


def cmd_models_pull(args: argparse.Namespace) -> int:
    from services.models_pull import main as pull

    return pull(args.rest)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="enclave", description="Private retrieval-augmented generation.")
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("serve", help="run everything in one process (embedded mode)")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.add_argument("--data-dir", help="where state lives (ENCLAVE_DATA_DIR)")
    s.set_defaults(fn=cmd_serve)

    g = sub.add_parser("gateway", help="run the HTTP gateway (distributed mode)")
    g.add_argument("--host")
    g.add_argument("--port", type=int)
    g.set_defaults(fn=cmd_gateway)

    w = sub.add_parser("worker", help="run a Celery ingestion worker")
    w.add_argument("--concurrency", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    w.add_argument("--beat", action="store_true", help="also run the periodic reconciler")
    w.add_argument("--hostname")
    w.set_defaults(fn=cmd_worker)

    b = sub.add_parser("beat", help="run the periodic scheduler (reconciler); one per stack")
    b.add_argument("--schedule", default="/tmp/celerybeat-schedule")
    b.set_defaults(fn=cmd_beat)

    sub.add_parser("migrate", help="apply catalog migrations").set_defaults(fn=cmd_migrate)

    a = sub.add_parser("admin", help="bootstrap tenants and keys without HTTP")
    asub = a.add_subparsers(dest="admin_cmd", required=True)
    t = asub.add_parser("create-tenant")
    t.add_argument("name")
    t.set_defaults(fn=cmd_create_tenant)
    k = asub.add_parser("create-key")
    k.add_argument("--tenant", required=True)
    k.add_argument("--role", required=True, choices=["admin", "member", "reader"])
    k.add_argument("--name", default="")
    k.set_defaults(fn=cmd_create_key)

    m = sub.add_parser("models", help="model files for air-gapped sites")
    msub = m.add_subparsers(dest="models_cmd", required=True)
    pull = msub.add_parser("pull", help="download the configured models into a folder")
    pull.add_argument("rest", nargs=argparse.REMAINDER)
    pull.set_defaults(fn=cmd_models_pull)
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:2] == ["models", "pull"]:  # its own options (--dest …) belong to services.models_pull
        from services.models_pull import main as pull

        return pull(argv[2:])
    args = build_parser().parse_args(argv)
    return int(args.fn(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
