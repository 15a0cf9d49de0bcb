"""The audit log's writer thread: nothing recorded is lost, reads see their own records, failures retry."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select

from enclave.catalog.tables import AuditEvent
from enclave.tenancy.principal import Principal, Role


def _count(rt: Any) -> int:
    with rt.catalog.session() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def test_concurrent_records_are_all_written_and_close_drains_the_queue(make_runtime: Any) -> None:
    rt = make_runtime()
    who = Principal("t-audit", "k1", Role.MEMBER)

    def burst(n: int) -> None:
        for i in range(50):
            rt.audit.record(who, "search", query=f"q{n}-{i}", document_ids=["d1", "d1", "d2"], top_k=5)

    threads = [threading.Thread(target=burst, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rt.audit.close()
    assert _count(rt) == 400
    after = rt.audit.events(who, limit=1)[0]  # written through once closed
    assert after.document_ids == ["d1", "d2"] and after.details == {"top_k": 5}


def test_a_reader_sees_its_own_record_at_once(make_runtime: Any) -> None:
    rt = make_runtime()
    who = Principal("t-audit", "k2", Role.ADMIN)
    rt.audit.record(who, "answer", query="what is the rate?", document_ids=["d9"], model="m")
    events = rt.audit.events(who, action="answer")
    assert [(e.query, e.document_ids, e.key_id) for e in events] == [("what is the rate?", ["d9"], "k2")]


def test_a_failed_write_is_retried(make_runtime: Any, monkeypatch: Any) -> None:
    rt = make_runtime()
    real = rt.audit._write
    failures = []

    def flaky(rows: list[dict[str, Any]]) -> None:
        if len(failures) < 2:
            failures.append(len(rows))
            raise OSError("database is locked")
        real(rows)

    monkeypatch.setattr(rt.audit, "_write", flaky)
    rt.audit.record(Principal("t-audit", "k3", Role.MEMBER), "search", query="retry me")
    rt.audit.flush()
    assert len(failures) == 2 and _count(rt) == 1
