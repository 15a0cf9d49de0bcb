"""The audit log's hash chain: `enclave audit verify` passes an intact log and names the row where one
was altered, deleted or reordered; rows from before the migration are chained; two gateways writing for
one tenant on PostgreSQL keep one unbroken chain."""

from __future__ import annotations

import itertools
import logging
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from enclave.audit.chain import GENESIS, digest
from enclave.audit.events import Outcome
from enclave.audit.service import AuditLog
from enclave.audit.verify import verify
from enclave.catalog.db import MIGRATIONS_DIR, Catalog, migrate
from enclave.catalog.tables import AuditChain, AuditEvent
from enclave.tenancy.principal import Principal, Role
from tests.support import REPO

ALICE = Principal("tenant-a", "key-alice", Role.MEMBER)
BOB = Principal("tenant-b", "key-bob", Role.ADMIN)


def _log(tmp_path: Path) -> tuple[AuditLog, str]:
    url = f"sqlite:///{tmp_path / 'enclave.db'}"
    migrate(url)
    return AuditLog(Catalog(url)), url


def _written(log: AuditLog, n: int = 6) -> None:
    for i in range(n):
        log.record(ALICE, "search", query=f"alice {i}", document_ids=[f"d{i}"], top_k=5)
        log.record(BOB, "document.download", target=f"doc-{i}")
    log.flush()


def _cli_verify(data_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ENCLAVE_DATA_DIR": str(data_dir), "ENCLAVE_DATABASE_URL": "", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "boot.cli", "audit", "verify", *extra],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _ids(log: AuditLog, tenant: str) -> list[int]:
    with log.catalog.engine.connect() as conn:
        q = sa.select(AuditEvent.id).where(AuditEvent.tenant_id == tenant).order_by(AuditEvent.seq)
        return [r[0] for r in conn.execute(q)]


def test_each_row_is_linked_to_the_one_before_it_per_tenant(tmp_path: Path) -> None:
    log, _ = _log(tmp_path)
    _written(log, 4)
    with log.catalog.engine.connect() as conn:
        rows = conn.execute(sa.select(AuditEvent).order_by(AuditEvent.tenant_id, AuditEvent.seq)).all()
    for tenant in ("tenant-a", "tenant-b"):
        chain = [dict(r._mapping) for r in rows if r.tenant_id == tenant]
        assert [r["seq"] for r in chain] == [1, 2, 3, 4]
        assert chain[0]["prev_hash"] == GENESIS
        for before, row in itertools.pairwise(chain):
            assert row["prev_hash"] == before["hash"]
        assert all(digest(r) == r["hash"] for r in chain)
    assert verify(log.catalog).intact


def test_the_hash_covers_every_field_and_the_previous_hash(tmp_path: Path) -> None:
    log, _ = _log(tmp_path)
    _written(log, 1)
    with log.catalog.engine.connect() as conn:
        one = conn.execute(sa.select(AuditEvent).where(AuditEvent.tenant_id == "tenant-a")).one()
    row = dict(one._mapping)
    assert digest(row) == row["hash"]
    changes = {"key_id": "key-eve", "outcome": "denied", "source": "10.9.9.9", "target": "x", "seq": 2}
    changes |= {"query": "other", "document_ids": ["d9"], "details": {"top_k": 6}, "prev_hash": "1" * 64}
    for name, value in changes.items():
        assert digest({**row, name: value}) != row["hash"], name


def test_an_intact_log_verifies_with_exit_code_zero(tmp_path: Path) -> None:
    log, _ = _log(tmp_path)
    _written(log)
    run = _cli_verify(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "intact: 12 records in 2 chain(s)" in run.stdout


def _edit(conn: sa.Connection, ids: list[int]) -> int:
    conn.execute(sa.update(AuditEvent).where(AuditEvent.id == ids[2]).values(query="nothing to see"))
    return ids[2]


def _delete(conn: sa.Connection, ids: list[int]) -> int:
    conn.execute(sa.delete(AuditEvent).where(AuditEvent.id == ids[2]))
    return ids[3]  # the row after the gap is the first that no longer follows


def _swap(conn: sa.Connection, ids: list[int]) -> int:
    pair = sa.select(AuditEvent.id, AuditEvent.seq).where(AuditEvent.id.in_(ids[2:4]))
    seqs = dict(conn.execute(pair).all())
    conn.execute(sa.update(AuditEvent).where(AuditEvent.id == ids[2]).values(seq=-1))
    conn.execute(sa.update(AuditEvent).where(AuditEvent.id == ids[3]).values(seq=seqs[ids[2]]))
    conn.execute(sa.update(AuditEvent).where(AuditEvent.id == ids[2]).values(seq=seqs[ids[3]]))
    return ids[3]  # now third in chain order, and it does not follow the second


def _delete_newest(conn: sa.Connection, ids: list[int]) -> int:
    conn.execute(sa.delete(AuditEvent).where(AuditEvent.id == ids[-1]))
    return ids[-2]


@pytest.mark.parametrize(
    ("tamper", "says"),
    [
        (_edit, "do not match its hash"),
        (_delete, "missing (seq 3 was deleted)"),
        (_swap, "does not follow the row before it"),
        (_delete_newest, "the rows after it are missing (seq 6 was deleted)"),
    ],
    ids=["edited", "deleted", "swapped", "newest-deleted"],
)
def test_tampering_makes_verify_fail_naming_the_row(
    tmp_path: Path, tamper: Callable[[sa.Connection, list[int]], int], says: str
) -> None:
    log, _ = _log(tmp_path)
    _written(log)
    with log.catalog.engine.begin() as conn:
        named = tamper(conn, _ids(log, "tenant-a"))
    run = _cli_verify(tmp_path)
    assert run.returncode != 0
    assert f"tenant 'tenant-a', row id {named} " in run.stdout and says in run.stdout, run.stdout
    assert "tenant-b" not in run.stdout  # the other tenant's chain is intact
    assert _cli_verify(tmp_path, "--tenant", "tenant-b").returncode == 0


def test_the_tenantless_chain_of_unknown_callers_is_verified_too(tmp_path: Path) -> None:
    log, _ = _log(tmp_path)
    log.record(None, "authenticate", outcome=Outcome.DENIED, reason="The API key is not valid.")
    _written(log, 1)
    with log.catalog.engine.begin() as conn:
        conn.execute(sa.update(AuditEvent).where(AuditEvent.tenant_id == "").values(source="10.0.0.1"))
    report = verify(log.catalog)
    assert [b.tenant_id for b in report.breaks] == [""] and report.tenants == 3


def test_rows_written_before_the_chain_existed_are_chained_by_the_migration(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url)
    command.upgrade(cfg, "0001")
    engine = sa.create_engine(url)
    old = sa.table(
        "audit_events",
        *(sa.column(c) for c in ("tenant_id", "key_id", "action", "at", "query", "document_ids", "details")),
    )
    with engine.begin() as conn:
        for i in range(3):
            conn.execute(
                old.insert().values(
                    tenant_id="t-old",
                    key_id="k",
                    action="search",
                    at=f"2024-05-0{i + 1} 10:00:00.000000",
                    query=f"q{i}",
                    document_ids="[]",
                    details='{"top_k": 5}',
                )
            )
    engine.dispose()
    migrate(url)
    catalog = Catalog(url)
    report = verify(catalog)
    assert report.intact and report.rows == 3
    with catalog.session() as s:
        assert s.get(AuditChain, "t-old").last_seq == 3  # type: ignore[union-attr]
    log = AuditLog(catalog)  # and new rows continue that chain
    log.record(Principal("t-old", "k", Role.MEMBER), "search", query="after")
    log.flush()
    newest = log.events(Principal("t-old", "k", Role.ADMIN), limit=1)[0]
    assert verify(catalog).intact and newest.seq == 4 and newest.query == "after"


def test_two_gateways_writing_for_one_tenant_on_postgres_keep_one_chain(
    make_runtime: Callable[..., Any], pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    one, two = make_runtime(database_url=pg_url), make_runtime(database_url=pg_url)
    assert one.catalog is not two.catalog
    who = Principal(f"t-pg-{uuid.uuid4().hex[:12]}", "k-shared", Role.MEMBER)
    caplog.set_level(logging.WARNING, logger="enclave.audit")

    def burst(rt: Any, name: str) -> None:
        for i in range(150):
            rt.audit.record(who, "search", query=f"{name} {i}", writer=name)
            if i % 10 == 0:
                rt.audit.flush()  # many small batches, so the two writers interleave

    threads = [threading.Thread(target=burst, args=(rt, n)) for rt, n in ((one, "one"), (two, "two"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    one.audit.flush()
    two.audit.flush()

    report = verify(one.catalog, who.tenant_id)
    assert report.intact and report.rows == 300, report.breaks
    with one.catalog.engine.connect() as conn:
        q = sa.select(AuditEvent.details).where(AuditEvent.tenant_id == who.tenant_id)
        writers = [d["writer"] for (d,) in conn.execute(q.order_by(AuditEvent.seq))]
    switches = sum(a != b for a, b in itertools.pairwise(writers))
    assert switches >= 2, "the two writers did not interleave; the test proved nothing"
    # The chain head lock serialises them: no write had to be retried after a clash on (tenant, seq).
    assert not [r for r in caplog.records if "audit log" in r.getMessage()]
