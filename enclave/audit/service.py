"""Audit log: every search and answer is recorded with who, tenant, when and what came back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from enclave.catalog.db import Catalog
from enclave.catalog.models import AuditEvent
from enclave.tenancy.principal import Principal


class AuditLog:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def record(
        self,
        principal: Principal,
        action: str,
        query: str | None = None,
        document_ids: list[str] | None = None,
        **details: Any,
    ) -> None:
        with self.catalog.session() as s:
            s.add(
                AuditEvent(
                    tenant_id=principal.tenant_id,
                    key_id=principal.key_id,
                    action=action,
                    query=query,
                    document_ids=list(dict.fromkeys(document_ids or [])),
                    details=details,
                )
            )

    def events(self, principal: Principal, limit: int = 100, action: str | None = None) -> list[AuditEvent]:
        stmt = select(AuditEvent).where(AuditEvent.tenant_id == principal.tenant_id)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        with self.catalog.session() as s:
            return list(s.scalars(stmt.order_by(AuditEvent.id.desc()).limit(limit)).all())
