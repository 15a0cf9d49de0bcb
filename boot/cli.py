"""The `enclave` command: serve (embedded), gateway, worker, beat, migrate, admin, audit, ingest, ask,
models."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from boot.assembly import Mode
from enclave.settings import Settings, get_settings


def _setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def cmd_serve(args: argparse.Namespace) -> int:
    """Everything in one process: SQLite, Qdrant Edge, in-process models, a local ingestion pool."""
    overrides = {"host": args.host, "port": args.port}
    if args.data_dir:
        overrides["data_dir"] = Path(args.data_dir)
    settings = get_settings().model_copy(update={k: v for k, v in overrides.items() if v is not None})
    # Embedded means embedded: no broker and no Redis, whatever the environment says.
    settings = settings.model_copy(update={"broker_url": "", "redis_url": ""})
    return _serve(settings, Mode.EMBEDDED)


def cmd_gateway(args: argparse.Namespace) -> int:
    settings = get_settings().model_copy(
        update={k: v for k, v in {"host": args.host, "port": args.port}.items() if v is not None}
    )
    return _serve(settings, Mode.GATEWAY)


def _serve(settings: Settings, mode: Mode) -> int:
    from boot.serve import serve_http

    _setup_logging(settings)
    return serve_http(settings, mode)


def cmd_worker(args: argparse.Namespace) -> int:
    settings = get_settings()
    _setup_logging(settings)
    if not settings.broker_url:
        print("enclave worker needs ENCLAVE_BROKER_URL (e.g. redis://localhost:6379/0).", file=sys.stderr)
        return 2
    from boot.worker_metrics import multiprocess_env

    env = multiprocess_env(settings.worker_metrics_port)
    if env is not None:  # prometheus_client picks its multiprocess mode at import: start afresh
        os.execve(sys.executable, [sys.executable, "-m", "boot.cli", *sys.argv[1:]], env)
    from boot.worker import app
    from enclave.catalog.db import migrate

    migrate(settings.resolved_database_url())
    argv = [
        "worker",
        "-Q",
        app.conf.task_default_queue,
        "--concurrency",
        str(args.concurrency),
        "--loglevel",
        settings.log_level,
    ]
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
    from boot.worker import app

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


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Exit 0 when every audit chain (or the tenant's) is intact; 1 naming the first break of each."""
    from enclave.audit.verify import verify
    from enclave.catalog.db import Catalog

    catalog = Catalog(get_settings().resolved_database_url())
    try:
        report = verify(catalog, args.tenant)
    finally:
        catalog.dispose()
    for broken in report.breaks:
        print(f"audit chain broken: {broken}")
    if report.intact:
        print(f"audit log intact: {report.rows} records in {report.tenants} chain(s)")
    return 0 if report.intact else 1


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

    au = sub.add_parser("audit", help="the audit log")
    ausub = au.add_subparsers(dest="audit_cmd", required=True)
    v = ausub.add_parser("verify", help="check the audit hash chains; non-zero naming the first broken row")
    v.add_argument("--tenant", help="only this tenant's chain ('' is the chain of unknown callers)")
    v.set_defaults(fn=cmd_audit_verify)

    _add_client_commands(sub)

    m = sub.add_parser("models", help="model files for air-gapped sites")
    msub = m.add_subparsers(dest="models_cmd", required=True)
    pull = msub.add_parser("pull", help="download the configured models into a folder")
    pull.add_argument("rest", nargs=argparse.REMAINDER)
    pull.set_defaults(fn=cmd_models_pull)
    return p


def _add_client_commands(sub: argparse._SubParsersAction) -> None:
    """Commands that talk to a running Enclave over HTTP (boot/bulk_ingest.py, boot/ask.py)."""
    from boot import ask, bulk_ingest

    i = sub.add_parser("ingest", help="load files and folders into a running Enclave, with progress")
    bulk_ingest.configure(i)
    i.set_defaults(fn=bulk_ingest.main)
    q = sub.add_parser("ask", help="ask a running Enclave a question; prints the answer and its sources")
    ask.configure(q)
    q.set_defaults(fn=ask.main)


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
